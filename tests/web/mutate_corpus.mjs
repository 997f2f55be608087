// Writes deterministic mutations of valid bundles, for the verifier agreement
// test: each output file is one input bundle with one line changed by one edit
// (a byte flipped, cut, inserted or deleted, or a fragment that exercises a
// JSON, encoding or checkpoint rule spliced in), so that both verifiers meet
// failures in every part of a line.
//
// Usage: node mutate_corpus.mjs OUT_DIR COUNT SEED BUNDLE...
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const [outDir, countText, seedText, ...inputs] = process.argv.slice(2);
const count = Number(countText);
let state = Number(seedText) >>> 0 || 1;

// xorshift32: the same files for the same seed on every machine.
function random(limit) {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state % limit;
}

const FRAGMENTS = [
  '"', '\\', '\\u', '\\ud800', '\\udc00x', '\\ud800\\u0041', '\\uZZZZ', '\\q', '\u0001',
  '\u007f', '\u00e9', '\ud83d\ude00', ' ', '\t', ',', ':', '{', '}', '[', ']', '[[[[[[[[', 'tru',
  'true', 'nul', 'fals', '-', '-0', '01', '1.', '1.5e', '1e+', '1e999', '-1e999', '1e-999',
  '123456789012345678901234567890', '0.1', 'NaN', '/*', '//', '\ufeff', 'u', '=', '==', '+',
  '"a":1,"a":2', '{"a":1,"a":2}', '\u2014 ', '\\n', '\\r', '\\t', '\\u0000', '\\u2028',
  '"signature":"x",', '"controllers":{"keys":[],"threshold":1},', '"seals":["u"],',
];
const SPECIAL_BYTES = [0x00, 0x0d, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];

// Edits of a checkpoint's note text (SPEC §7), written back as a canonical
// line, so that the note rules are reached past the JSON ones.
const NOTE_FRAGMENTS = [
  '\n', '\n\n', '\u2014 ', ' ', '+', '0', '=', 'A', '\u00a0', '\u2003', '\u0085', '\u007f',
  '\u2014 w.example/w1 AAAAAAA=\n', '\u2014 w.example/w1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n',
  '\u2014 \n', '\u2014 a+b AAAAAAA=\n', '\u2014 name AAAA\n', 'extension\n',
  '18446744073709551615', '18446744073709551616', '\u2014 ',
];

function mutateNote(line) {
  const note = JSON.parse(new TextDecoder().decode(line)).checkpoint;
  if (typeof note !== 'string') return line;
  const at = random(note.length + 1);
  let changed;
  if (random(3) === 0) {
    changed = note.slice(0, at) + note.slice(at + 1 + random(8));
  } else {
    changed = note.slice(0, at) + NOTE_FRAGMENTS[random(NOTE_FRAGMENTS.length)] + note.slice(at);
  }
  return new TextEncoder().encode(`{"checkpoint":${JSON.stringify(changed)}}`);
}

function mutateLine(line) {
  const at = random(line.length + 1);
  if (new TextDecoder().decode(line.subarray(0, 14)) === '{"checkpoint":' && random(2) === 0) {
    return mutateNote(line);
  }
  switch (random(6)) {
    case 0: {  // flip one byte
      if (line.length === 0) return line;
      const copy = Uint8Array.from(line);
      copy[at % line.length] ^= 1 << random(8);
      return copy;
    }
    case 1:  // cut
      return line.subarray(0, at);
    case 2: {  // delete a few bytes
      const copy = [...line];
      copy.splice(at, 1 + random(4));
      return Uint8Array.from(copy);
    }
    case 3: {  // insert a special byte
      const copy = [...line];
      copy.splice(at, 0, SPECIAL_BYTES[random(SPECIAL_BYTES.length)]);
      return Uint8Array.from(copy);
    }
    default: {  // splice in a fragment
      const fragment = new TextEncoder().encode(FRAGMENTS[random(FRAGMENTS.length)]);
      return Uint8Array.from([...line.subarray(0, at), ...fragment, ...line.subarray(at)]);
    }
  }
}

function splitLines(bytes) {
  const lines = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

const bundles = inputs.map((path) => splitLines(readFileSync(path)));
for (let i = 0; i < count; i++) {
  const lines = [...bundles[random(bundles.length)]];
  const target = random(lines.length);
  lines[target] = mutateLine(lines[target]);
  const parts = [];
  for (const line of lines) parts.push(Buffer.from(line), Buffer.from('\n'));
  const bytes = Buffer.concat(parts);
  const name = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(`${outDir}/${name}`, bytes);
}
