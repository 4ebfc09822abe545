#!/usr/bin/python3
"""JSON-RPC to a local Ethereum node (anvil) for the chain watcher tests, and the ERC-20
test token (erc20/TestToken.sol, compiled by solc-js through erc20/compile.js).
    evm.py deploy NODE_URL DECIMALS SUPPLY   prints {"address": ..., "methods": {...}}"""
import json, os, subprocess, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PAYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"   # anvil's first funded account


def rpc(url, method, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        a = json.loads(r.read())
    assert "error" not in a, a
    return a["result"]


def receipt(url, h, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        rc = rpc(url, "eth_getTransactionReceipt", h)
        if rc:
            return rc
        time.sleep(0.1)
    raise AssertionError("no receipt for %s after %ss" % (h, timeout))


def word(v):
    """An ABI word: an int or an address as 64 hex digits."""
    if isinstance(v, str):
        return v[2:].lower().rjust(64, "0")
    return "%064x" % v


def compile_token():
    out = subprocess.run(["node", os.path.join(HERE, "erc20", "compile.js")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def deploy(url, decimals, supply):
    c = compile_token()
    h = rpc(url, "eth_sendTransaction", {"from": PAYER, "data": c["bytecode"] + word(decimals) + word(supply),
                                        "gas": hex(3000000)})
    rc = receipt(url, h)
    assert rc["status"] == "0x1" and rc["contractAddress"], rc
    return {"address": rc["contractAddress"], "methods": c["methods"], "solc": c["version"]}


def call_data(methods, signature, *args):
    return "0x" + methods[signature] + "".join(word(a) for a in args)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "deploy":
        print(json.dumps(deploy(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        sys.exit(__doc__)
