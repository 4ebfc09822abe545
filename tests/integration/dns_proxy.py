#!/usr/bin/python3
"""A UDP DNS proxy in front of pebble-challtestsrv for the CAA tests: forwards every query
and its answer, except
  - a CAA query for a name whose first label begins with "timeout-": never answered (the
    server's lookup must time out and refuse);
  - a CAA query for a name whose first label begins with "crit-": the answer's CAA records
    get the issuer critical flag (128), which challtestsrv's add-caa cannot set.
    dns_proxy.py LISTEN_PORT UPSTREAM_PORT        (both on 127.0.0.1)
Counts the dropped queries in LISTEN_PORT's log line per drop (stdout)."""
import socket, sys, threading

PORT, UPSTREAM = int(sys.argv[1]), int(sys.argv[2])
CAA = 257


def read_name(msg, off):
    """(lowercase name, offset after it) of the name at off; follows pointers (bounded)."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels).lower(), (end if end is not None else off + 1)
        if n & 0xC0 == 0xC0:
            hops += 1
            if hops > 64:
                raise ValueError("pointer loop")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            continue
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n


def question(msg):
    name, off = read_name(msg, 12)
    return name, int.from_bytes(msg[off:off + 2], "big")


def set_critical(msg):
    """The answer with the flags octet of every CAA record in its answer section set to 128."""
    b = bytearray(msg)
    qd, an = int.from_bytes(b[4:6], "big"), int.from_bytes(b[6:8], "big")
    off = 12
    for _ in range(qd):
        _, off = read_name(b, off)
        off += 4
    for _ in range(an):
        _, off = read_name(b, off)
        rtype = int.from_bytes(b[off:off + 2], "big")
        rdlen = int.from_bytes(b[off + 8:off + 10], "big")
        off += 10
        if rtype == CAA and rdlen > 0:
            b[off] = 128
        off += rdlen
    return bytes(b)


def handle(sock, data, client):
    try:
        name, qtype = question(data)
    except (IndexError, ValueError):
        return
    first = name.split(".", 1)[0]
    if qtype == CAA and first.startswith("timeout-"):
        print("dropped CAA query for %s" % name, flush=True)
        return
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.settimeout(5)
    try:
        up.sendto(data, ("127.0.0.1", UPSTREAM))
        answer, _ = up.recvfrom(65535)
    except OSError:
        return
    finally:
        up.close()
    if qtype == CAA and first.startswith("crit-"):
        answer = set_critical(answer)
    sock.sendto(answer, client)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", PORT))
    print("dns proxy on 127.0.0.1:%d -> 127.0.0.1:%d" % (PORT, UPSTREAM), flush=True)
    while True:
        data, client = sock.recvfrom(65535)
        threading.Thread(target=handle, args=(sock, data, client), daemon=True).start()


if __name__ == "__main__":
    main()
