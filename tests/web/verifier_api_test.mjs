// The report and helpers of web/verifier.js that the web page relies on
// (web/README.md), beyond the verdict line that verifier_agreement_test
// compares: block, checkpoint and attachment entries, failure positions, the
// input kinds, and the helpers against published test vectors (FIPS 180-4,
// RFC 8785, RFC 9162).
//
// Usage: node verifier_api_test.mjs VERIFIER_JS MLCTL
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { webcrypto } from 'node:crypto';

// Node 18: WebCrypto is under node:crypto only (verifier.js uses globalThis.crypto).
globalThis.crypto ??= webcrypto;

const [verifierPath, mlctl] = process.argv.slice(2);
const {
  verifyBundle, formatVerdict, jcsCanonicalize, merkleRoot, decodeMultibase, sha256,
} = createRequire(import.meta.url)(resolve(verifierPath));

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const bytesOf = (text) => new TextEncoder().encode(text);

// SHA-256 (FIPS 180-4 examples: one block, two blocks, a million bytes).
assert.equal(hex(await sha256(bytesOf('abc'))),
  'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
assert.equal(hex(await sha256(bytesOf('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
  '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
assert.equal(hex(await sha256(new Uint8Array(1000000).fill(0x61))),
  'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');

// RFC 8785 §3.2.2 and §3.2.3 examples.
assert.equal(jcsCanonicalize(JSON.parse(
  '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
  '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
  '"literals":[null,true,false]}')),
  '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
  '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
assert.equal(jcsCanonicalize({ '\u20ac': 1, '\r': 2, '\ufb33': 3, 1: 4, '\ud83d\ude00': 5,
  '\u0080': 6, '\u00f6': 7 }),
  '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\ud83d\ude00":5,"\ufb33":3}');

// RFC 9162 roots: the empty tree, one empty leaf, and two leaves.
assert.equal(hex(merkleRoot([])),
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
assert.equal(hex(merkleRoot([new Uint8Array(0)])),
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
const leaf = async (data) => sha256(Uint8Array.of(0, ...data));
const node = async (left, right) => sha256(Uint8Array.of(1, ...left, ...right));
assert.equal(hex(merkleRoot([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)])),
  hex(await node(await node(await leaf([1]), await leaf([2])), await leaf([3]))));

// Multibase: canonical base64url only.
assert.deepEqual([...decodeMultibase('uYQ')], [0x61]);
assert.deepEqual([...decodeMultibase('u')], []);
for (const bad of ['YQ', 'uYR', 'uYQ=', 'uY', 'u+w']) {
  assert.throws(() => decodeMultibase(bad), undefined, bad);
}

// A sample bundle: 5 blocks, a checkpoint, an attachment.
const work = mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), 'verifier-api-'));
try {
  const path = join(work, 'sample.jsonl');
  execFileSync(mlctl, ['sample', '--blocks=5', `--out=${path}`], { stdio: 'ignore', timeout: 60000 });
  const bytes = readFileSync(path);
  const text = bytes.toString('utf8');
  const lines = text.trimEnd().split('\n');
  const ledger = JSON.parse(lines[0]).bundle.ledger;
  const progress = [];
  const report = await verifyBundle(new Uint8Array(bytes), { onProgress: (n) => progress.push(n) });
  assert.equal(report.ok, true);
  assert.equal(report.verdict, `OK ${ledger} 5 blocks`);
  assert.equal(formatVerdict(report), report.verdict);
  assert.equal(report.ledger, ledger);
  assert.equal(report.failure, null);
  assert.equal(progress.at(-1), lines.length);
  assert.deepEqual(report.blocks.map((block) => [block.position, block.number, block.verified]),
    [[1, 1, true], [2, 2, true], [3, 3, true], [4, 4, true], [5, 5, true]]);
  const genesis = report.blocks[0];
  assert.equal(genesis.event.event, 'opened document');
  assert.equal(genesis.controllers.threshold, 1);
  assert.deepEqual(genesis.owners, genesis.controllers.keys);
  assert.equal(`jlinx:${genesis.host}`, ledger);
  assert.deepEqual(report.blocks[2].event, { event: 'sample event', n: 3 });
  assert.equal(report.blocks[2].controllers, null);
  assert.match(report.blocks[2].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(report.blocks[2].fingerprint, JSON.parse(lines[3]).block.fingerprint);
  const root = merkleRoot(report.blocks.map((block) => decodeMultibase(block.fingerprint)));
  assert.deepEqual(report.checkpoints, [
    { size: 5, root: Buffer.from(root).toString('base64'), verified: true }]);
  const attachment = JSON.parse(lines.at(-1)).attachment;
  assert.equal(report.attachments.length, 1);
  assert.equal(report.attachments[0].seal, attachment.seal);
  assert.equal(report.attachments[0].name, attachment.name);
  assert.deepEqual(report.attachments[0].bytes, decodeMultibase(attachment.data));
  assert.equal(report.attachments[0].verified, true);
  assert.ok(report.blocks.some((block) => block.seals.includes(attachment.seal)));

  // The same bytes as a string and as an ArrayBuffer.
  assert.equal((await verifyBundle(text)).verdict, report.verdict);
  assert.equal((await verifyBundle(new Uint8Array(bytes).buffer)).verdict, report.verdict);

  // A tampered event: block 3 (line 4) fails; it and the blocks after it are
  // listed, unverified; nothing after the failing line is checked.
  const tampered = [...lines];
  tampered[3] = tampered[3].replace('"n":3', '"n":9');
  const failed = await verifyBundle(`${tampered.join('\n')}\n`);
  assert.equal(failed.ok, false);
  assert.equal(failed.verdict,
    "FAIL block 3: fingerprint: is not the sha2-256 digest of the block body's JCS bytes");
  assert.deepEqual(failed.failure, { block: 3,
    rule: "fingerprint: is not the sha2-256 digest of the block body's JCS bytes", line: 4 });
  assert.deepEqual(failed.blocks.map((block) => [block.position, block.verified]),
    [[1, true], [2, true], [3, false], [4, false], [5, false]]);
  assert.deepEqual(failed.blocks[2].event, { event: 'sample event', n: 9 });
  assert.deepEqual(failed.checkpoints, []);

  // A failure outside the blocks is at block 0 with its line number.
  const noHeader = await verifyBundle(`${lines.slice(1).join('\n')}\n`);
  assert.deepEqual(noHeader.failure, { block: 0,
    rule: 'header: the bundle must begin with its header (line 1)', line: 1 });
  assert.equal(noHeader.ledger, null);
  assert.equal((await verifyBundle(new Uint8Array(0))).verdict,
    'FAIL block 0: header: the bundle is empty; it must begin with its header');
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log('PASS: verifier API');
