"""A deliberately low-level ACME client for protocol tests: every part of a request
(alg, nonce, url, jwk/kid, body) can be bent to build the malformed requests a real
client never sends. Uses only the Python standard library and `cryptography`."""
import base64, datetime, hashlib, http.client, ipaddress, json, os, socket, ssl, subprocess, tempfile, \
    threading, time, urllib.parse, urllib.request, urllib.error

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, padding, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography import x509
from cryptography.x509.oid import NameOID


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return b64(n.to_bytes(length, "big"))


class Key:
    def __init__(self, kind="ec256", bits=2048):
        self.kind = kind
        if kind == "ec256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
        elif kind == "ec384":
            self.priv = ec.generate_private_key(ec.SECP384R1())
        elif kind == "rsa":
            self.priv = rsa.generate_private_key(65537, bits)
        elif kind == "ed25519":
            self.priv = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(kind)

    @property
    def alg(self):
        return {"ec256": "ES256", "ec384": "ES384", "rsa": "RS256", "ed25519": "EdDSA"}[self.kind]

    def jwk(self):
        pub = self.priv.public_key()
        if self.kind.startswith("ec"):
            nums = pub.public_numbers()
            size = 32 if self.kind == "ec256" else 48
            crv = "P-256" if self.kind == "ec256" else "P-384"
            return {"crv": crv, "kty": "EC", "x": _int_b64(nums.x, size), "y": _int_b64(nums.y, size)}
        if self.kind == "rsa":
            nums = pub.public_numbers()
            return {"e": _int_b64(nums.e), "kty": "RSA", "n": _int_b64(nums.n)}
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64(raw)}

    def thumbprint(self):
        j = self.jwk()
        return b64(hashlib.sha256(json.dumps(j, sort_keys=True, separators=(",", ":")).encode()).digest())

    def sign(self, data, alg=None):
        alg = alg or self.alg
        if self.kind.startswith("ec"):
            h = hashes.SHA256() if self.kind == "ec256" else hashes.SHA384()
            r, s = decode_dss_signature(self.priv.sign(data, ec.ECDSA(h)))
            size = 32 if self.kind == "ec256" else 48
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if self.kind == "rsa":
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.priv.sign(data)


def make_csr(names, key=None, cn=None, ips=()):
    """A CSR for the DNS names (dNSName SANs, CN the first unless cn is given) and the IP
    addresses ips (iPAddress SANs)."""
    key = key or Key("ec256")
    builder = x509.CertificateSigningRequestBuilder()
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, cn if cn is not None else names[0])] if (cn or names) else []
    builder = builder.subject_name(x509.Name(subject))
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    algo = None if key.kind == "ed25519" else hashes.SHA256()
    csr = builder.sign(key.priv, algo)
    return csr.public_bytes(serialization.Encoding.DER), key


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body.decode())

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Acme:
    def __init__(self, directory=None, trust=None, user_agent="acp-tests/1"):
        self.directory_url = directory or os.environ["ACME_DIRECTORY"]
        self.ctx = ssl.create_default_context(cafile=trust or os.environ.get("ACME_TRUST"))
        self.ua = user_agent
        self.dir = self.request("GET", self.directory_url).json()
        self.key = None
        self.kid = None

    def request(self, method, url, body=None, ctype="application/jose+json", headers=None):
        h = {"User-Agent": self.ua}
        if body is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        req = urllib.request.Request(url, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return Response(r.status, list(r.headers.items()), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, list(e.headers.items()), e.read())

    def nonce(self):
        return self.request("HEAD", self.dir["newNonce"]).header("Replay-Nonce")

    def jws(self, url, payload, key=None, kid=None, use_jwk=None, alg=None, nonce=None,
            protected_extra=None, jws_url=None):
        key = key or self.key
        kid = kid if kid is not None else self.kid
        prot = {"alg": alg or key.alg, "nonce": nonce if nonce is not None else self.nonce(),
                "url": jws_url or url}
        if use_jwk or (use_jwk is None and not kid):
            prot["jwk"] = key.jwk()
        else:
            prot["kid"] = kid
        if protected_extra:
            prot.update(protected_extra)
        prot_b64 = b64(json.dumps(prot))
        pay_b64 = "" if payload is None else b64(json.dumps(payload) if not isinstance(payload, (bytes, str)) else payload)
        sig = key.sign((prot_b64 + "." + pay_b64).encode())
        return {"protected": prot_b64, "payload": pay_b64, "signature": b64(sig)}

    def post(self, url, payload, raw=None, **kw):
        body = raw if raw is not None else json.dumps(self.jws(url, payload, **kw)).encode()
        return self.request("POST", url, body)

    def new_account(self, key=None, payload=None):
        self.key = key or self.key or Key()
        r = self.post(self.dir["newAccount"], payload or {"termsOfServiceAgreed": True},
                      use_jwk=True, kid="")
        if r.status in (200, 201):
            self.kid = r.header("Location")
        return r

    def new_order(self, names, extra=None, ips=()):
        """newOrder for the dns names and the ip identifiers ips (values sent as given)."""
        payload = {"identifiers": [{"type": "dns", "value": n} for n in names] +
                   [{"type": "ip", "value": a} for a in ips]}
        payload.update(extra or {})
        return self.post(self.dir["newOrder"], payload)

    def get(self, url):
        return self.post(url, None)

    def poll(self, url, until=("valid", "invalid"), timeout=30):
        end = time.time() + timeout
        while True:
            r = self.get(url)
            if r.status != 200 or r.json().get("status") in until or time.time() > end:
                return r
            time.sleep(0.2)

    def answer_http01(self, authz_url, webroot):
        authz = self.get(authz_url).json()
        ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
        d = os.path.join(webroot, ".well-known", "acme-challenge")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, ch["token"]), "w") as f:
            f.write(ch["token"] + "." + self.key.thumbprint())
        os.chmod(os.path.join(d, ch["token"]), 0o644)
        r = self.post(ch["url"], {})
        return ch, r

    def authorize_http01(self, order, webroot):
        """Answers http-01 for each authorization of order (a newOrder response) that is
        not valid yet; asserts each becomes valid."""
        for az in order.json()["authorizations"]:
            if self.get(az).json()["status"] != "valid":
                self.answer_http01(az, webroot)
                assert self.poll(az).json()["status"] == "valid"

    def issue(self, names, webroot, csr_key=None):
        """Full flow with http-01; returns (order json, pem)."""
        o = self.new_order(names)
        assert o.status == 201, o
        order_url = o.header("Location")
        for az in o.json()["authorizations"]:
            ch, r = self.answer_http01(az, webroot)
            assert r.status == 200, r
            a = self.poll(az)
            assert a.json()["status"] == "valid", a
        der, _ = make_csr(names, csr_key)
        r = self.post(o.json()["finalize"], {"csr": b64(der)})
        assert r.status == 200, r
        r = self.poll(order_url)
        order = r.json()
        assert order["status"] == "valid", r
        cert = self.get(order["certificate"])
        assert cert.status == 200, cert
        return order, cert.body.decode()


class AcmeAt(Acme):
    """The same URLs, answered by the node listening on address ip (a second node behind a
    load balancer: connects there, TLS name unchanged)."""
    def __init__(self, ip, **kw):
        self.ip = ip
        Acme.__init__(self, **kw)

    def request(self, method, url, body=None, ctype="application/jose+json", headers=None):
        u = urllib.parse.urlsplit(url)
        ctx, ip = self.ctx, self.ip

        class Conn(http.client.HTTPSConnection):
            def connect(self):
                sock = socket.create_connection((ip, self.port), self.timeout)
                self.sock = ctx.wrap_socket(sock, server_hostname=self.host)
        h = {"User-Agent": self.ua}
        if body is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        c = Conn(u.hostname, u.port, context=ctx, timeout=30)
        try:
            c.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=h)
            r = c.getresponse()
            return Response(r.status, list(r.getheaders()), r.read())
        finally:
            c.close()


def cert_id_of(pem):
    """RFC 9773 certID of the leaf of a PEM chain."""
    c = x509.load_pem_x509_certificate(pem.split("-----END CERTIFICATE-----")[0].encode() +
                                       b"-----END CERTIFICATE-----\n")
    aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    n = c.serial_number
    ser = n.to_bytes((n.bit_length() + 8) // 8, "big")   # DER content: room for the sign bit
    return b64(aki) + "." + b64(ser), c, n.to_bytes((n.bit_length() + 7) // 8, "big").hex()


class TlsAlpnResponder:
    """A tls-alpn-01 responder (RFC 8737; RFC 8738 §6 for IP identifiers) on (host, port):
    answers ALPN acme-tls/1 with a self-signed certificate whose one SAN is the identifier
    (an iPAddress for an address) and whose critical acmeIdentifier extension holds
    SHA-256(key authorization). Records the SNI of every handshake in .snis. Use as a
    context manager; serves until closed (bounded by the caller's timeout)."""
    OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")

    def __init__(self, host, port, ident, key_authz):
        self.snis = []
        pk = ec.generate_private_key(ec.SECP256R1())
        try:
            san = x509.IPAddress(ipaddress.ip_address(ident))
        except ValueError:
            san = x509.DNSName(ident)
        digest = hashlib.sha256(key_authz.encode()).digest()
        now = time.time()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-tls-alpn")]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-tls-alpn")]))
                .public_key(pk.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(datetime.datetime.utcfromtimestamp(now - 60))
                .not_valid_after(datetime.datetime.utcfromtimestamp(now + 3600))
                .add_extension(x509.SubjectAlternativeName([san]), False)
                .add_extension(x509.UnrecognizedExtension(self.OID, b"\x04\x20" + digest), True)
                .sign(pk, hashes.SHA256()))
        self.dir = tempfile.mkdtemp(prefix="acp-alpn-")
        cf, kf = os.path.join(self.dir, "c.pem"), os.path.join(self.dir, "k.pem")
        with open(cf, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kf, "wb") as f:
            f.write(pk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cf, kf)
        self.ctx.set_alpn_protocols(["acme-tls/1"])
        self.ctx.sni_callback = lambda sock, name, ctx: self.snis.append(name)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(5)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as t:
                    t.recv(1)           # until the validator closes
            except (ssl.SSLError, OSError):
                pass
            finally:
                conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop = True
        self.thread.join(5)
        self.sock.close()
        for n in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, n))
        os.rmdir(self.dir)


def db_count(table):
    """Row count of a table in the test database (sqlite3 or psql CLI)."""
    drv = os.environ.get("ACME_DB_DRIVER", "sqlite3")
    params = os.environ["ACME_DB_PARAMS"]
    sql = "SELECT COUNT(*) FROM %s" % table
    if drv == "sqlite3":
        out = subprocess.run(["sqlite3", params, sql], capture_output=True, text=True, check=True).stdout
    else:
        out = subprocess.run(["psql", params, "-tAc", sql], capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def db_sql(q):
    """One statement against the test database (sqlite3 or psql CLI); its output, stripped."""
    drv, params = os.environ.get("ACME_DB_DRIVER", "sqlite3"), os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def db_sql_owner(q):
    """One statement against the test database the way lib.sh's db_query runs it: sqlite3
    -batch as the SQLite file's owner (when run as root), psql -X -q with ON_ERROR_STOP;
    its output, stripped."""
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    if drv == "sqlite3":
        owner = subprocess.run(["stat", "-c", "%U", params], capture_output=True, text=True).stdout.strip()
        cmd = ["sqlite3", "-batch", params, q]
        if owner and owner != "root" and os.geteuid() == 0:
            cmd = ["runuser", "-u", owner, "--"] + cmd
    else:
        cmd = ["psql", "-X", "-q", params, "-v", "ON_ERROR_STOP=1", "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def pay_webhook(body, secret, t=None, sig=None):
    """POST a payment webhook signed with secret (bytes) the way a provider does
    (AcmePay-Signature: t=<unix>,v1=<HMAC-SHA256(secret, t "." body)>), or with the
    AcmePay-Signature value sig when given; (status, body)."""
    import hmac
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret, str(t).encode() + b"." + raw, hashlib.sha256).hexdigest()
    hdr = sig if sig is not None else "t=%d,v1=%s" % (t, mac)
    url = os.environ["ACME_DIRECTORY"].rsplit("/", 1)[0] + "/pay/webhook"
    req = urllib.request.Request(url, data=raw, method="POST", headers={
        "Content-Type": "application/json", "AcmePay-Signature": hdr})
    ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
