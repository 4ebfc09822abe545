#!/usr/bin/python3
"""A hostile DNS server for test_152: bigtxt_dns.py PORTFILE VALUEDIR

Listens on 127.0.0.1, UDP and TCP on the same ephemeral port (written to PORTFILE).
- TXT _acme-challenge.big-*: over UDP a truncated (TC) reply, so the resolver retries over
  TCP; over TCP one TXT record of as many one-byte strings as fit in a 64 KB message
  (~32,600): the record that made the validator rebuild its value string by string.
- TXT _acme-challenge.<name> with a file VALUEDIR/<name>: that value (one string).
- A for any name: 127.0.0.1. Anything else: NXDOMAIN.
Runs until killed."""
import os, socket, struct, sys, threading

portfile, valuedir = sys.argv[1], sys.argv[2]


def parse_question(msg):
    off, labels = 12, []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    qtype, _ = struct.unpack(">HH", msg[off + 1:off + 5])
    return ".".join(labels).lower(), qtype, msg[12:off + 5]


def answer(msg, tcp):
    qid = struct.unpack(">H", msg[:2])[0]
    name, qtype, question = parse_question(msg)
    flags, rrs = 0x8400, []         # QR, AA
    if qtype == 16 and name.startswith("_acme-challenge.big-"):
        if not tcp:
            flags |= 0x0200         # TC: ask again over TCP
        else:
            room = 65535 - 12 - len(question) - 12
            n = room // 2
            rrs.append((16, b"\x01x" * n))
    elif qtype == 16 and name.startswith("_acme-challenge."):
        path = os.path.join(valuedir, name[len("_acme-challenge."):])
        if os.path.exists(path):
            v = open(path).read().strip().encode()
            rrs.append((16, bytes([len(v)]) + v))
        else:
            flags |= 3
    elif qtype == 1:
        rrs.append((1, socket.inet_aton("127.0.0.1")))
    elif qtype != 28:
        flags |= 3                  # NXDOMAIN
    out = struct.pack(">HHHHHH", qid, flags, 1, len(rrs), 0, 0) + question
    for typ, rdata in rrs:
        out += struct.pack(">HHHIH", 0xC00C, typ, 1, 0, len(rdata)) + rdata
    return out


def serve_udp(s):
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(msg, False), peer)
        except Exception:
            pass


def serve_tcp_conn(c):
    try:
        c.settimeout(10)
        while True:
            hdr = c.recv(2)
            if len(hdr) < 2:
                return
            ln = struct.unpack(">H", hdr)[0]
            msg = b""
            while len(msg) < ln:
                chunk = c.recv(ln - len(msg))
                if not chunk:
                    return
                msg += chunk
            out = answer(msg, True)
            c.sendall(struct.pack(">H", len(out)) + out)
    except Exception:
        pass
    finally:
        c.close()


def serve_tcp(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_tcp_conn, args=(c,), daemon=True).start()


for _ in range(20):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind(("127.0.0.1", port))
        break
    except OSError:
        u.close()
        t.close()
else:
    sys.exit("no free port")
t.listen(16)
threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
os.rename(portfile + ".tmp", portfile)
serve_tcp(t)
