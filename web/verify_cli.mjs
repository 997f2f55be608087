#!/usr/bin/env node
// Command-line front of web/verifier.js, for tests and comparisons:
//   node web/verify_cli.mjs FILE
// prints the verdict line of `mlctl verify FILE` ("OK <ledger> <n> blocks" or
// "FAIL block <k>: <rule>") on stdout and exits 0 when it holds, 1 when it
// does not, and 2 with one line on stderr (nothing on stdout) when FILE cannot
// be read. Single-threaded; one run per process.
import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

// Node 18 has WebCrypto only under node:crypto unless run with
// --experimental-global-webcrypto; verifier.js uses globalThis.crypto.
globalThis.crypto ??= webcrypto;
const { verifyBundle } = createRequire(import.meta.url)('./verifier.js');

const EXIT_OK = 0;
const EXIT_VERIFY_FAILED = 1;
const EXIT_USAGE_OR_INPUT = 2;

async function main(args) {
  if (args.length !== 1) {
    process.stderr.write('usage: node web/verify_cli.mjs FILE\n');
    return EXIT_USAGE_OR_INPUT;
  }
  const path = args[0];
  let bytes;
  try {
    bytes = await readFile(path);
  } catch (error) {
    process.stderr.write(`verify: cannot open ${path}: ${error.message}\n`);
    return EXIT_USAGE_OR_INPUT;
  }
  const report = await verifyBundle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  process.stdout.write(`${report.verdict}\n`);
  return report.ok ? EXIT_OK : EXIT_VERIFY_FAILED;
}

process.exitCode = await main(process.argv.slice(2));
