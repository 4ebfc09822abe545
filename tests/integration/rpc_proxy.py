#!/usr/bin/python3
"""A JSON-RPC proxy in front of anvil for the chain watcher tests: forwards POSTs to the
node and counts calls per method, or plays an outage or a hostile node.
    rpc_proxy.py LISTEN_PORT UPSTREAM_URL
Control (same port): GET /_ctl/mode/<up|down|error500|huge|junk|chain|bignum|nohex|nofield|nullblock|
missing|bigvalue|badvalue|logs_huge|logs_notarray|logs_bigvalue|logs_nohex|logs_missing|
logs_foreign|logs_range|logs_index>,
GET /_ctl/stats (calls per method, JSON), GET /_ctl/paths (calls per request path: nodes
given different paths tell who asks), GET /_ctl/reset."""
import json, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM = int(sys.argv[1]), sys.argv[2]
state = {"mode": "up", "calls": {}, "paths": {}}
lock = threading.Lock()


def upstream(body):
    req = urllib.request.Request(UPSTREAM, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def hostile(mode, method, body):
    """A bad answer for the method, or None to forward it."""
    if mode == "huge":
        return b'{"jsonrpc":"2.0","id":1,"result":"' + b"a" * (10 * 1024 * 1024) + b'"}'
    if mode == "junk":
        return b"<html>not json</html>"
    if method == "eth_chainId" and mode == "chain":
        return b'{"jsonrpc":"2.0","id":1,"result":"0x1"}'
    if method == "eth_blockNumber" and mode == "bignum":
        return b'{"jsonrpc":"2.0","id":1,"result":"0xffffffffffffffffffffffffffffffffffffffff"}'
    if method == "eth_blockNumber" and mode == "nohex":
        return b'{"jsonrpc":"2.0","id":1,"result":"12abz"}'
    if method == "eth_blockNumber" and mode == "nofield":
        return b'{"jsonrpc":"2.0","id":1}'
    if method == "eth_getBlockByNumber" and mode == "nullblock":
        return b'{"jsonrpc":"2.0","id":1,"result":null}'
    if method == "eth_getBlockByNumber" and mode in ("missing", "bigvalue", "badvalue"):
        blk = json.loads(upstream(body))["result"]
        if blk:
            if mode == "missing":
                blk.pop("hash", None)
            for tx in blk.get("transactions", []):
                if mode == "bigvalue":
                    tx["value"] = "0x" + "f" * 64
                elif mode == "badvalue":
                    tx["value"] = "0xzz"
        return json.dumps({"jsonrpc": "2.0", "id": 1, "result": blk}).encode()
    if method == "eth_getLogs" and mode.startswith("logs_"):
        return hostile_logs(mode, body)
    return None


def hostile_logs(mode, body):
    """eth_getLogs answers that lie: None forwards the node's."""
    if mode == "logs_huge":
        return b'{"jsonrpc":"2.0","id":1,"result":[' + b'{"x":"' + b"a" * (10 * 1024 * 1024) + b'"}]}'
    if mode == "logs_notarray":
        return b'{"jsonrpc":"2.0","id":1,"result":{"logs":[]}}'
    logs = json.loads(upstream(body))["result"]
    for log in logs:
        if mode == "logs_bigvalue":
            log["data"] = "0x" + "f" * 64
        elif mode == "logs_nohex":
            log["data"] = "0x" + "zz" * 32
        elif mode == "logs_missing":
            log.pop("topics", None)
            log.pop("blockHash", None)
        elif mode == "logs_foreign":
            log["address"] = "0x" + "ab" * 20
        elif mode == "logs_range":
            log["blockNumber"] = "0xffffffff"
        elif mode == "logs_index":
            log["logIndex"] = "-1"
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": logs}).encode()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, data, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def do_GET(self):
        p = self.path.split("/")
        if self.path.startswith("/_ctl/mode/"):
            state["mode"] = p[3]
            return self.send(200, b"ok")
        if self.path == "/_ctl/stats":
            with lock:
                return self.send(200, json.dumps(state["calls"]).encode())
        if self.path == "/_ctl/paths":
            with lock:
                return self.send(200, json.dumps(state["paths"]).encode())
        if self.path == "/_ctl/reset":
            with lock:
                state["calls"] = {}
                state["paths"] = {}
            return self.send(200, b"ok")
        self.send(404, b"")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            method = json.loads(body).get("method", "?")
        except ValueError:
            method = "?"
        with lock:
            state["calls"][method] = state["calls"].get(method, 0) + 1
            state["paths"][self.path] = state["paths"].get(self.path, 0) + 1
        mode = state["mode"]
        if mode == "down":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        if mode == "error500":
            return self.send(500, b"upstream down")
        try:
            data = hostile(mode, method, body) or upstream(body)
        except Exception as e:  # noqa: BLE001 (the node itself is down)
            return self.send(502, str(e).encode())
        self.send(200, data)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
