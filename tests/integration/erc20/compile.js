// Compiles TestToken.sol with solc-js (the npm package `solc`, installed by
// build/install-deps.sh in /opt/solc-js; no download at run time) and prints
// {"abi": [...], "bytecode": "0x..."} on stdout.
//   node compile.js [SOLC_MODULE_DIR]
const fs = require("fs");
const path = require("path");
const solc = require(process.argv[2] || "/opt/solc-js/node_modules/solc");
const src = fs.readFileSync(path.join(__dirname, "TestToken.sol"), "utf8");
const input = {
  language: "Solidity",
  sources: { "TestToken.sol": { content: src } },
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "paris",
              outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  process.stderr.write(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const c = out.contracts["TestToken.sol"].TestToken;
process.stdout.write(JSON.stringify({ abi: c.abi, bytecode: "0x" + c.evm.bytecode.object,
                                      methods: c.evm.methodIdentifiers,
                                      version: solc.version() }));
