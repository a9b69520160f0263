#!/usr/bin/env node
// Checks that the functions of one of our artifacts have exactly the ABI of a reference interface.
//
// Usage: node crates/sdk/testkit/check-abi.mjs [--allow-extra] <ourArtifact.json> <referenceAbi.json>
//
// Either file may be a bare ABI array or an object with an `abi` field. For every function of ours
// whose name exists in the reference, the following must be identical to one reference overload:
//   - the canonical signature (name + input types, tuples expanded),
//   - the output types, tuples expanded recursively,
//   - struct layout: component names and their order, and the struct names (`internalType`),
//   - the names of the outputs (alloy turns them into the fields of the return struct),
//   - the state mutability.
// Selectors alone would not catch a wrong struct layout (Aave changed UiPoolDataProviderV3's
// structs across releases without changing selectors), hence the recursive comparison.
//
// Functions of ours that the reference lacks fail the check, except seeding helpers named
// `fixture...` (reported as EXTRA) and, with --allow-extra, any other function (e.g. the
// `latestAnswer()` a Chainlink fixture adds to AggregatorV3Interface).
//
// Prints one line per function and exits non-zero on any mismatch.

import fs from 'node:fs';

function loadAbi(file) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const abi = Array.isArray(json) ? json : json.abi;
  if (!Array.isArray(abi)) throw new Error(`${file}: neither an ABI array nor an object with "abi"`);
  return abi.filter((e) => e.type === 'function');
}

// `tuple[2][]` -> `(a,b)[2][]`
function canonicalType(param) {
  if (!param.type.startsWith('tuple')) return param.type;
  const suffix = param.type.slice('tuple'.length);
  return `(${param.components.map(canonicalType).join(',')})${suffix}`;
}

// Full description of a parameter: type, struct name and, recursively, component names.
function describe(param) {
  const base = { type: param.type };
  if (param.type.startsWith('tuple')) {
    base.internalType = param.internalType ?? null;
    base.components = param.components.map((c) => ({ name: c.name, ...describe(c) }));
  }
  return base;
}

function signature(fn) {
  return `${fn.name}(${fn.inputs.map(canonicalType).join(',')})`;
}

function outputsKey(fn) {
  return `(${(fn.outputs ?? []).map(canonicalType).join(',')})`;
}

// Returns a list of human-readable differences between two functions with the same signature.
function differences(ours, ref) {
  const diffs = [];
  if (outputsKey(ours) !== outputsKey(ref)) {
    diffs.push(`output types ${outputsKey(ours)} != ${outputsKey(ref)}`);
  }
  const cmp = (kind, a, b) => {
    a.forEach((pa, i) => {
      const pb = b[i];
      if (!pb) return;
      const da = JSON.stringify(describe(pa));
      const db = JSON.stringify(describe(pb));
      if (da !== db) diffs.push(`${kind}[${i}] struct layout/name differs:\n      ours ${da}\n      ref  ${db}`);
    });
  };
  cmp('input', ours.inputs, ref.inputs);
  cmp('output', ours.outputs ?? [], ref.outputs ?? []);
  const names = (fn) => (fn.outputs ?? []).map((o) => o.name).join(',');
  if (names(ours) !== names(ref)) diffs.push(`output names [${names(ours)}] != [${names(ref)}]`);
  if (ours.stateMutability !== ref.stateMutability) {
    diffs.push(`stateMutability ${ours.stateMutability} != ${ref.stateMutability}`);
  }
  return diffs;
}

function main() {
  const args = process.argv.slice(2);
  const allowExtra = args[0] === '--allow-extra';
  const [oursFile, refFile] = allowExtra ? args.slice(1) : args;
  if (!oursFile || !refFile) {
    process.stderr.write('usage: node check-abi.mjs [--allow-extra] <ourArtifact.json> <referenceAbi.json>\n');
    process.exit(2);
  }
  const ours = loadAbi(oursFile);
  const ref = loadAbi(refFile);

  let failures = 0;
  let checked = 0;
  const sorted = [...ours].sort((a, b) => signature(a).localeCompare(signature(b)));
  for (const fn of sorted) {
    const sig = signature(fn);
    const candidates = ref.filter((r) => r.name === fn.name);
    if (candidates.length === 0) {
      if (fn.name.startsWith('fixture')) {
        console.log(`EXTRA     ${sig} (fixture seeding/inspection helper)`);
      } else if (allowExtra) {
        console.log(`EXTRA     ${sig} (not in reference; allowed by --allow-extra)`);
      } else {
        console.log(`MISSING   ${sig} is not in the reference ABI`);
        failures++;
      }
      continue;
    }
    checked++;
    const sameSig = candidates.find((r) => signature(r) === sig);
    if (!sameSig) {
      console.log(`MISMATCH  ${sig}: reference has ${candidates.map(signature).join(' | ')}`);
      failures++;
      continue;
    }
    const diffs = differences(fn, sameSig);
    if (diffs.length === 0) {
      console.log(`OK        ${sig} -> ${outputsKey(fn)}`);
    } else {
      console.log(`MISMATCH  ${sig}`);
      for (const d of diffs) console.log(`    ${d}`);
      failures++;
    }
  }
  console.log(`${checked} checked, ${failures} failed (${oursFile} vs ${refFile})`);
  process.exit(failures === 0 ? 0 : 1);
}

main();
