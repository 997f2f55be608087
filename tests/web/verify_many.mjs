// Verifies many bundle files in one Node process with web/verifier.js, for
// the agreement test (one process per file would spend its time starting
// Node). For each FILE prints one line: FILE, a tab, the exit code that
// web/verify_cli.mjs would give (0 OK, 1 FAIL, 2 unreadable), a tab, and the
// verdict line (empty when unreadable).
//
// Usage: node verify_many.mjs VERIFIER_JS FILE...
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { webcrypto } from 'node:crypto';

// Node 18: WebCrypto is under node:crypto only (verifier.js uses globalThis.crypto).
globalThis.crypto ??= webcrypto;

const [verifierPath, ...files] = process.argv.slice(2);
const { verifyBundle } = createRequire(import.meta.url)(resolve(verifierPath));
for (const file of files) {
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (error) {
    process.stdout.write(`${file}\t2\t\n`);
    continue;
  }
  const report = await verifyBundle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  process.stdout.write(`${file}\t${report.ok ? 0 : 1}\t${report.verdict}\n`);
}
