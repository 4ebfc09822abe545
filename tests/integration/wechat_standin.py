#!/usr/bin/python3
"""A local stand-in for WeChat Pay API v3 (Native pay), loopback only, for the tests.

    wechat_standin.py keys DIR           merchant key + certificate, platform key +
                                         certificate, a second platform key, APIv3 key
    wechat_standin.py serve DIR PORT     POST /v3/pay/transactions/native on 127.0.0.1:PORT
    wechat_standin.py notify DIR INVOICE send the payment notification of that order

serve implements the documented request: the Authorization header
WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",
serial_no="…" is checked (scheme, mchid, serial of the merchant certificate, timestamp
within 5 minutes, SHA256-RSA over "POST\\n<path>\\n<timestamp>\\n<nonce>\\n<body>\\n" with
the merchant's public key), then the JSON body (appid, mchid, description, out_trade_no,
notify_url, amount {total, currency}); it answers {"code_url": "weixin://…"} and keeps the
order in DIR/orders/<out_trade_no>.json. Notifications are signed with the platform key
(Wechatpay-Signature over "<timestamp>\\n<nonce>\\n<body>\\n") and their resource is
encrypted with the APIv3 key (AEAD_AES_256_GCM, tag appended, base64)."""
import base64, datetime, json, os, re, secrets, ssl, string, sys, time
import http.server, urllib.error, urllib.request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

MCHID = "1900000109"
APPID = "wxd930ea5d5a258f4f"


def _cert(key, cn):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    serial = int.from_bytes(bytes([0x10 + secrets.randbelow(0x60)]) + secrets.token_bytes(19), "big")
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))


def keys(d):
    os.makedirs(d, exist_ok=True)
    for who in ("merchant", "platform", "other"):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        open(os.path.join(d, who + ".key"), "wb").write(k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        c = _cert(k, "WeChat Pay test " + who)
        open(os.path.join(d, who + ".pem"), "wb").write(c.public_bytes(serialization.Encoding.PEM))
        open(os.path.join(d, who + ".serial"), "w").write("%X\n" % c.serial_number)
    alphabet = string.ascii_letters + string.digits
    open(os.path.join(d, "apiv3.key"), "w").write("".join(secrets.choice(alphabet) for _ in range(32)) + "\n")
    os.makedirs(os.path.join(d, "orders"), exist_ok=True)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o755 if f == "orders" else 0o644)


class Config:
    def __init__(self, d):
        self.dir = d
        rd = lambda f: open(os.path.join(d, f), "rb").read()
        self.merchant_pub = x509.load_pem_x509_certificate(rd("merchant.pem")).public_key()
        self.merchant_serial = rd("merchant.serial").decode().strip()
        self.platform_key = serialization.load_pem_private_key(rd("platform.key"), None)
        self.platform_serial = rd("platform.serial").decode().strip()
        self.other_key = serialization.load_pem_private_key(rd("other.key"), None)
        self.apiv3 = rd("apiv3.key").strip()

    def order(self, invoice):
        return json.load(open(os.path.join(self.dir, "orders", invoice + ".json")))


AUTH_RE = re.compile(r'^WECHATPAY2-SHA256-RSA2048 (.*)$')


def check_request(cfg, method, path, headers, body):
    """The documented Authorization check: None when good, else the refusal."""
    m = AUTH_RE.match(headers.get("Authorization", ""))
    if not m:
        return "Authorization is not WECHATPAY2-SHA256-RSA2048"
    fields = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
    for k in ("mchid", "nonce_str", "signature", "timestamp", "serial_no"):
        if k not in fields:
            return "Authorization lacks " + k
    if fields["mchid"] != MCHID:
        return "mchid does not match"
    if fields["serial_no"] != cfg.merchant_serial:
        return "serial_no is not the merchant certificate's"
    if abs(int(fields["timestamp"]) - time.time()) > 300:
        return "timestamp is stale"
    msg = "%s\n%s\n%s\n%s\n" % (method, path, fields["timestamp"], fields["nonce_str"])
    try:
        cfg.merchant_pub.verify(base64.b64decode(fields["signature"], validate=True),
                                msg.encode() + body + b"\n", padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # noqa: BLE001 (any failure is a bad signature)
        return "signature does not verify"
    if not headers.get("User-Agent"):
        return "User-Agent missing"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    cfg = None

    def log_message(self, fmt, *args):
        sys.stderr.write("standin: " + (fmt % args) + "\n")

    def answer(self, status, obj):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v3/pay/transactions/native":
            return self.answer(404, {"code": "NOT_FOUND", "message": self.path})
        why = check_request(self.cfg, "POST", self.path, self.headers, body)
        if why:
            return self.answer(401, {"code": "SIGN_ERROR", "message": why})
        try:
            o = json.loads(body)
            order = {"appid": o["appid"], "mchid": o["mchid"], "description": o["description"],
                     "out_trade_no": o["out_trade_no"], "notify_url": o["notify_url"],
                     "total": o["amount"]["total"], "currency": o["amount"]["currency"]}
            assert order["appid"] == APPID and order["mchid"] == MCHID
            assert isinstance(order["total"], int) and order["total"] > 0
            assert 6 <= len(order["out_trade_no"]) <= 32 and len(order["description"].encode()) <= 127
            assert order["notify_url"].startswith("https://")
        except Exception as e:  # noqa: BLE001
            return self.answer(400, {"code": "PARAM_ERROR", "message": repr(e)})
        order["code_url"] = "weixin://wxpay/bizpayurl?pr=" + secrets.token_urlsafe(9)
        path = os.path.join(self.cfg.dir, "orders", order["out_trade_no"] + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(order, f)
        os.replace(path + ".tmp", path)
        return self.answer(200, {"code_url": order["code_url"]})


def serve(d, port):
    Handler.cfg = Config(d)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    srv.serve_forever()


def transaction(order, txid, **over):
    t = {"mchid": MCHID, "appid": APPID, "out_trade_no": order["out_trade_no"],
         "transaction_id": txid, "trade_type": "NATIVE", "trade_state": "SUCCESS",
         "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
         "success_time": "2026-12-01T20:00:00+08:00", "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
         "amount": {"total": order["total"], "payer_total": order["total"],
                    "currency": order["currency"], "payer_currency": order["currency"]}}
    t.update(over)
    return t


def notification(cfg, plain, event="TRANSACTION.SUCCESS", ts=None, key=None, serial=None,
                 tamper=False, apiv3=None):
    """(headers, raw body) of a notification carrying plain (a dict) encrypted."""
    nonce = secrets.token_hex(6)
    ad = "transaction"
    ct = AESGCM(apiv3 or cfg.apiv3).encrypt(nonce.encode(), json.dumps(plain).encode(), ad.encode())
    if tamper:
        ct = bytes([ct[0] ^ 1]) + ct[1:]
    body = json.dumps({"id": "EV-" + secrets.token_hex(8), "create_time": "2026-12-01T20:00:00+08:00",
                       "resource_type": "encrypt-resource", "event_type": event, "summary": "支付成功",
                       "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                                    "ciphertext": base64.b64encode(ct).decode(),
                                    "associated_data": ad, "nonce": nonce}},
                      ensure_ascii=False).encode()
    ts = str(int(time.time()) if ts is None else ts)
    hn = secrets.token_hex(16).upper()
    sig = (key or cfg.platform_key).sign(("%s\n%s\n" % (ts, hn)).encode() + body + b"\n",
                                         padding.PKCS1v15(), hashes.SHA256())
    return {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": hn,
            "Wechatpay-Signature": base64.b64encode(sig).decode(),
            "Wechatpay-Serial": serial or cfg.platform_serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Content-Type": "application/json"}, body


def send(url, headers, body, trust=None):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    ctx = ssl.create_default_context(cafile=trust or os.environ.get("ACME_TRUST"))
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


if __name__ == "__main__":
    if sys.argv[1] == "keys":
        keys(sys.argv[2])
    elif sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "notify":
        cfg = Config(sys.argv[2])
        order = cfg.order(sys.argv[3])
        txid = "42000" + str(int(time.time() * 1000))
        status, raw = send(order["notify_url"], *notification(cfg, transaction(order, txid)))
        print(status, raw.decode(errors="replace"), txid)
        sys.exit(0 if status in (200, 204) else 1)
