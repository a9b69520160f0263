#!/usr/bin/env node
// Compiles every `*.sol` under <srcDir> with solc-js and writes one Foundry-style artifact per
// contract, interface and library to <outDir>/<Name>.json:
//
//   {"abi": [...], "bytecode": {"object": "0x..."}, "deployedBytecode": {"object": "0x..."}}
//
// which is the shape alloy's `sol!(Name, "path.json")` loads.
//
// Usage: node crates/sdk/testkit/compile.mjs <srcDir> <outDir>
//
// The output is deterministic: sources are keyed by their path relative to <srcDir> (so the
// metadata hash embedded in the bytecode does not depend on where the checkout lives), object keys
// are sorted, and files are pretty-printed with a trailing newline. Re-running on unchanged
// sources therefore produces no diff. Stale `*.json` files in <outDir> are removed first, so a
// renamed contract does not leave an orphan artifact behind.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const solc = require('solc');

// Pinned here (and in package.json) so a different solc-js cannot silently change the bytecode.
const EXPECTED_SOLC = '0.8.37';

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // The Aave UI data provider returns 40-field structs; the legacy pipeline runs out of stack.
  viaIR: true,
  evmVersion: 'cancun',
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};

function die(msg) {
  process.stderr.write(`compile.mjs: ${msg}\n`);
  process.exit(1);
}

function listSolFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.sol')) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

// Recursively sorts object keys. Arrays keep their order: tuple components and parameters are
// positional, and solc already emits ABI entries in a deterministic order.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const sorted = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
    return sorted;
  }
  return value;
}

function main() {
  const [srcArg, outArg] = process.argv.slice(2);
  if (!srcArg || !outArg) die('usage: node compile.mjs <srcDir> <outDir>');

  const version = solc.version();
  if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
    die(`expected solc ${EXPECTED_SOLC}, got ${version} (run npm ci in crates/sdk/testkit)`);
  }

  const srcDir = path.resolve(srcArg);
  const outDir = path.resolve(outArg);
  if (!fs.existsSync(srcDir) || !fs.statSync(srcDir).isDirectory()) die(`not a directory: ${srcDir}`);

  const files = listSolFiles(srcDir);
  if (files.length === 0) die(`no .sol files under ${srcDir}`);

  // Source unit names are POSIX paths relative to srcDir; relative imports resolve against them.
  const sources = {};
  for (const file of files) {
    const unit = path.relative(srcDir, file).split(path.sep).join('/');
    sources[unit] = { content: fs.readFileSync(file, 'utf8') };
  }

  // Imports that are not part of the initial set (e.g. `../x.sol` escaping srcDir) are refused:
  // fixtures must be self-contained so a fresh clone can rebuild them.
  const findImports = (unit) => ({ error: `import not found under ${srcDir}: ${unit}` });

  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  // formattedMessage already starts with the severity ("Warning: ...", "ParserError: ...").
  for (const d of diagnostics.filter((d) => d.severity !== 'error')) {
    process.stderr.write(`${d.formattedMessage ?? `${d.type}: ${d.message}`}\n`);
  }
  if (errors.length > 0) {
    for (const d of errors) process.stderr.write(`${d.formattedMessage ?? `${d.type}: ${d.message}`}\n`);
    die(`${errors.length} compile error(s)`);
  }

  const artifacts = new Map();
  for (const unit of Object.keys(output.contracts ?? {}).sort()) {
    for (const name of Object.keys(output.contracts[unit]).sort()) {
      if (artifacts.has(name)) {
        die(`contract name ${name} defined in both ${artifacts.get(name).unit} and ${unit}`);
      }
      const c = output.contracts[unit][name];
      const bytecode = c.evm?.bytecode?.object ?? '';
      const deployed = c.evm?.deployedBytecode?.object ?? '';
      // Unlinked external libraries leave `__$...$__` placeholders that cannot be deployed as is.
      if (bytecode.includes('__$') || deployed.includes('__$')) {
        die(`${name} needs library linking; fixtures must only use internal library functions`);
      }
      artifacts.set(name, {
        unit,
        json: sortKeys({
          abi: c.abi,
          bytecode: { object: `0x${bytecode}` },
          deployedBytecode: { object: `0x${deployed}` },
        }),
      });
    }
  }

  fs.mkdirSync(outDir, { recursive: true });
  for (const entry of fs.readdirSync(outDir)) {
    if (entry.endsWith('.json')) fs.rmSync(path.join(outDir, entry));
  }
  for (const name of [...artifacts.keys()].sort()) {
    const file = path.join(outDir, `${name}.json`);
    fs.writeFileSync(file, `${JSON.stringify(artifacts.get(name).json, null, 2)}\n`);
  }
  process.stdout.write(
    `compiled ${files.length} file(s) with solc ${version}: ${artifacts.size} artifact(s) -> ${path.relative(process.cwd(), outDir) || '.'}\n`,
  );
}

main();
