// Micro Ledger bundle verifier (SPEC §8 applied to a SPEC §9 bundle), in plain
// modern JavaScript with no dependencies, no build step and no download at run
// time. It runs in browsers and in Node >= 18.19 and gives the same verdict
// line as `mlctl verify FILE`, byte for byte:
//   "OK <ledger> <n> blocks"  or  "FAIL block <k>: <rule>".
// The C++ verifier (common/bundle.cc and the files it uses) is the reference:
// every rule is checked in the same order with the same message, so the first
// failure reported is the same.
//
// Loading: one self-contained script. In a page, <script src="verifier.js">
// defines globalThis.MicroLedgerVerifier (a classic script, not an ES module,
// so that the page also works opened as a local file: Chromium refuses module
// scripts from file:// URLs); in Node, require('./verifier.js') (or a default
// import from an ES module) gives the same object.
//
// API (the members of that object)
//   verifyBundle(input, options = {}) -> Promise<report>
//     input: Uint8Array | ArrayBuffer | string (a whole bundle file's bytes; a
//     string is taken as its UTF-8 encoding). Never rejects for bad input.
//     options.onProgress(linesDone): called now and then.
//     options.maxLineBytes: the longest line read (default 16 MiB, as mlctl).
//     report = {
//       ok, verdict,            // verdict: mlctl verify's line without "\n"
//       ledger,                 // the header's ledger id, or null
//       failure,                // null | { block, rule, line } (line: 1-based)
//       blocks: [{ position, number, time, fingerprint, event, controllers,
//                  seals, owners, host, verified }],
//       checkpoints: [{ size, root, verified }],   // root: standard base64
//       attachments: [{ seal, name, bytes, verified }],
//     }
//   formatVerdict(report) -> string      the same string as report.verdict
//   jcsCanonicalize(value) -> string     RFC 8785 text of a parsed JSON value
//   merkleRoot(leaves) -> Uint8Array(32) RFC 9162 root of leaf data
//   decodeMultibase(text) -> Uint8Array  "u" + canonical base64url (throws)
//   sha256(bytes) -> Promise<Uint8Array>
//
// Cryptography: SHA-256 is computed here (FIPS 180-4), synchronously, so that
// Merkle roots need no round trips; Ed25519 goes through WebCrypto
// (globalThis.crypto.subtle) after the checks libsodium's
// crypto_sign_verify_detached makes and WebCrypto engines may not: S < L, the
// public key canonical and neither the key nor R of small order (SPEC §5).
//
// Thread-safety: the module keeps no state between calls except a cache of
// imported public keys; concurrent verifyBundle calls are independent.

(function (root) {
  'use strict';

  const MAX_LINE_BYTES = 16 * 1024 * 1024;
  const MAX_JSON_DEPTH = 32;
  const MAX_LINE_DEPTH = MAX_JSON_DEPTH + 1;
  const MAX_QUOTED_INPUT_BYTES = 200;
  const BUNDLE_FORMAT = 'microledger-bundle-v1';
  const SIGNED_MESSAGE_PREFIX = 'microledger-block-v1 ';
  const MAX_BLOCK_NUMBER = 2 ** 53;
  const WINDOW_LINES = 256;
  const PROGRESS_LINES = 1000;

  const textEncoder = new TextEncoder();
  // ignoreBOM: a string that starts with U+FEFF keeps it.
  const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const BLOCK_LINE_PREFIX = utf8('{"block":');

  function utf8(text) {
    return textEncoder.encode(text);
  }

  // A failed rule: its message is the C++ status message.
  class RuleError extends Error {}

  function broke(rule, detail) {
    return new RuleError(`${rule}: ${detail}`);
  }

  function bytesEqual(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function concatBytes(...parts) {
    let length = 0;
    for (const part of parts) length += part.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  function hex2(value) {
    return value.toString(16).toUpperCase().padStart(2, '0');
  }

  // ---------------------------------------------------------------- UTF-8 text

  // Decodes the UTF-8 sequence at bytes[pos]: [codePoint, next] or null when it
  // is ill-formed (common/utf8.cc).
  function decodeUtf8At(bytes, pos) {
    const lead = bytes[pos];
    let length;
    let value;
    let smallest;
    if (lead < 0x80) return [lead, pos + 1];
    if ((lead & 0xe0) === 0xc0) {
      length = 2; value = lead & 0x1f; smallest = 0x80;
    } else if ((lead & 0xf0) === 0xe0) {
      length = 3; value = lead & 0x0f; smallest = 0x800;
    } else if ((lead & 0xf8) === 0xf0) {
      length = 4; value = lead & 0x07; smallest = 0x10000;
    } else {
      return null;
    }
    if (bytes.length - pos < length) return null;
    for (let i = 1; i < length; i++) {
      const continuation = bytes[pos + i];
      if ((continuation & 0xc0) !== 0x80) return null;
      value = (value << 6) | (continuation & 0x3f);
    }
    if (value < smallest || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
      return null;
    }
    return [value, pos + length];
  }

  // QuoteForError (common/error_text.cc): at most maxBytes bytes of the input,
  // cut at a character boundary, control characters, DEL and invalid UTF-8 as
  // \xNN, then "… (N bytes)" when cut.
  function quoteForError(input, maxBytes = MAX_QUOTED_INPUT_BYTES) {
    const bytes = typeof input === 'string' ? utf8(input) : input;
    const out = [];
    let pos = 0;
    while (pos < bytes.length) {
      const decoded = decodeUtf8At(bytes, pos);
      if (decoded === null) {
        if (pos + 1 > maxBytes) break;
        out.push(`\\x${hex2(bytes[pos])}`);
        pos += 1;
        continue;
      }
      const [codePoint, next] = decoded;
      if (next > maxBytes) break;
      if (codePoint < 0x20 || codePoint === 0x7f) {
        out.push(`\\x${hex2(codePoint)}`);
      } else {
        out.push(String.fromCodePoint(codePoint));
      }
      pos = next;
    }
    let text = out.join('');
    if (pos < bytes.length) text += `\u2026 (${bytes.length} bytes)`;
    return text;
  }

  // The byte order of UTF-8 strings (what std::map orders member names by).
  function compareCodePoints(a, b) {
    if (!/[\ud800-\udfff]/.test(a) && !/[\ud800-\udfff]/.test(b)) {
      return a < b ? -1 : a > b ? 1 : 0;
    }
    const left = utf8(a);
    const right = utf8(b);
    const length = Math.min(left.length, right.length);
    for (let i = 0; i < length; i++) {
      if (left[i] !== right[i]) return left[i] - right[i];
    }
    return left.length - right.length;
  }

  // ---------------------------------------------------------------- SHA-256

  const SHA256_K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);

  // SHA-256 (FIPS 180-4) of `bytes`, synchronously.
  function sha256Sync(bytes) {
    const bitLength = bytes.length * 8;
    const padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6);
    padded.set(bytes);
    padded[bytes.length] = 0x80;
    const view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, Math.floor(bitLength / 2 ** 32));
    view.setUint32(padded.length - 4, bitLength >>> 0);
    const h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    const w = new Uint32Array(64);
    for (let block = 0; block < padded.length; block += 64) {
      for (let t = 0; t < 16; t++) w[t] = view.getUint32(block + t * 4);
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15];
        const y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (let t = 0; t < 64; t++) {
        const sum1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const choose = (e & f) ^ (~e & g);
        const t1 = (k + sum1 + choose + SHA256_K[t] + w[t]) | 0;
        const sum0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const majority = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (sum0 + majority) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
    }
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
    return out;
  }

  async function sha256(bytes) {
    return sha256Sync(toBytes(bytes));
  }

  function sha256Multihash(bytes) {
    return concatBytes(Uint8Array.of(0x12, 0x20), sha256Sync(bytes));
  }

  // ---------------------------------------------------------------- base64

  const STD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  function alphabetValues(alphabet) {
    const values = new Int8Array(128).fill(-1);
    for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
    return values;
  }
  const STD_VALUES = alphabetValues(STD_ALPHABET);
  const URL_VALUES = alphabetValues(URL_ALPHABET);

  // libsodium's sodium_base642bin with no ignored characters, after the
  // alphabet check of common/encoding.cc: canonical base64 only (zero unused
  // bits; with padding for the standard variant, none for base64url). Returns
  // null when `text` is not canonical.
  function decodeBase64(text, url) {
    const values = url ? URL_VALUES : STD_VALUES;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128 || (values[c] < 0 && (url || c !== 0x3d))) return null;
    }
    const out = new Uint8Array(Math.floor(text.length / 4) * 3 + 3);
    let length = 0;
    let acc = 0;
    let accLength = 0;
    let pos = 0;
    while (pos < text.length) {
      const value = values[text.charCodeAt(pos)];
      if (value < 0) break;
      acc = ((acc << 6) | value) & 0xfff;
      accLength += 6;
      if (accLength >= 8) {
        accLength -= 8;
        out[length++] = (acc >> accLength) & 0xff;
      }
      pos++;
    }
    if (accLength > 4 || (acc & ((1 << accLength) - 1)) !== 0) return null;
    if (!url) {
      for (let padding = accLength / 2; padding > 0; padding--) {
        if (pos >= text.length || text[pos] !== '=') return null;
        pos++;
      }
    }
    if (pos !== text.length) return null;
    return out.slice(0, length);
  }

  function encodeBase64(bytes, url) {
    const alphabet = url ? URL_ALPHABET : STD_ALPHABET;
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
    }
    if (i + 1 === bytes.length) {
      const n = bytes[i] << 16;
      out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (url ? '' : '==');
    } else if (i + 2 === bytes.length) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
      out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (url ? '' : '=');
    }
    return out;
  }

  function encodeMultibase(bytes) {
    return `u${encodeBase64(bytes, true)}`;
  }

  function decodeMultibaseOrError(text) {
    if (text.length === 0 || text[0] !== 'u') {
      return new RuleError(
        `multibase text must start with 'u' (base64url): "${quoteForError(text)}"`);
    }
    const rest = text.slice(1);
    const bytes = decodeBase64(rest, true);
    if (bytes === null) return new RuleError(`not canonical base64url: "${quoteForError(rest)}"`);
    return bytes;
  }

  function decodeMultibase(text) {
    const bytes = decodeMultibaseOrError(text);
    if (bytes instanceof RuleError) throw bytes;
    return bytes;
  }

  function decodeDigestOrError(text) {
    const bytes = decodeMultibaseOrError(text);
    if (bytes instanceof RuleError) return bytes;
    let code = 0n;
    let pos = 0;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= bytes.length || shift > 56n) {
        return new RuleError('digest: truncated multihash code');
      }
      const byte = bytes[pos++];
      code |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    code &= (1n << 64n) - 1n;
    if (code !== 0x12n) {
      return new RuleError(
        `digest: unknown multihash code 0x${code.toString(16)} (v1 knows 0x12 sha2-256 only)`);
    }
    if (pos !== 1 || bytes.length !== 34 || bytes[1] !== 32) {
      return new RuleError('digest: sha2-256 multihash must be 0x12 0x20 and 32 bytes');
    }
    return bytes;
  }

  function decodePublicKeyText(text) {
    const bytes = decodeMultibaseOrError(text);
    if (bytes instanceof RuleError || bytes.length !== 32) return null;
    return bytes;
  }

  // The public key text inside a ledger id, or a RuleError.
  function publicKeyTextFromLedgerId(ledgerId) {
    const bytes = utf8(ledgerId);
    if (!bytesEqual(bytes.subarray(0, 6), utf8('jlinx:'))) {
      return new RuleError(
        `ledger id must start with "jlinx:": "${quoteForError(bytes)}"`);
    }
    const keyText = ledgerId.slice(6);
    const key = decodeMultibaseOrError(keyText);
    if (key instanceof RuleError || key.length !== 32) {
      return new RuleError(
        `ledger id must hold a 32-byte Ed25519 public key: "${quoteForError(bytes)}"`);
    }
    return keyText;
  }

  // ---------------------------------------------------------------- Ed25519

  const SMALL_ORDER_ENCODINGS = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ].map((text) => Uint8Array.from(text.match(/../g).map((byte) => parseInt(byte, 16))));

  const GROUP_ORDER_L = Uint8Array.from(
    'edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010'
      .match(/../g).map((byte) => parseInt(byte, 16)));

  // libsodium 1.0.18: the encoding is one of the small-order points, the sign
  // bit ignored.
  function hasSmallOrder(point) {
    return SMALL_ORDER_ENCODINGS.some((bad) => {
      for (let i = 0; i < 31; i++) if (point[i] !== bad[i]) return false;
      return (point[31] & 0x7f) === bad[31];
    });
  }

  // The y coordinate is below p = 2^255 - 19.
  function isCanonicalPoint(point) {
    if ((point[31] & 0x7f) !== 0x7f) return true;
    for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true;
    return point[0] < 0xed;
  }

  // S < L (little-endian).
  function isCanonicalScalar(scalar) {
    for (let i = 31; i >= 0; i--) {
      if (scalar[i] !== GROUP_ORDER_L[i]) return scalar[i] < GROUP_ORDER_L[i];
    }
    return false;
  }

  const importedKeys = new Map();

  function importEd25519Key(publicKey) {
    const id = encodeBase64(publicKey, true);
    let key = importedKeys.get(id);
    if (key === undefined) {
      key = globalThis.crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false,
        ['verify']);
      if (importedKeys.size > 4096) importedKeys.clear();
      importedKeys.set(id, key);
    }
    return key;
  }

  // crypto_sign_verify_detached's answer: true when `signature` (64 bytes) by
  // `publicKey` (32 bytes) over `message` verifies.
  async function verifyEd25519(publicKey, message, signature) {
    if (!isCanonicalScalar(signature.subarray(32)) || hasSmallOrder(signature.subarray(0, 32))) {
      return false;
    }
    if (!isCanonicalPoint(publicKey) || hasSmallOrder(publicKey)) return false;
    try {
      const key = await importEd25519Key(publicKey);
      return await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    } catch (error) {
      return false;
    }
  }

  // ---------------------------------------------------------------- strict JSON

  // JSON values: objects are Maps (member name -> value), arrays are arrays,
  // strings, numbers, booleans and null are themselves.

  const CONTROL_NAMES = ['NUL', 'SOH', 'STX', 'ETX', 'EOT', 'ENQ', 'ACK', 'BEL', 'BS', 'HT',
    'LF', 'VT', 'FF', 'CR', 'SO', 'SI', 'DLE', 'DC1', 'DC2', 'DC3', 'DC4', 'NAK', 'SYN',
    'ETB', 'CAN', 'EM', 'SUB', 'ESC', 'FS', 'GS', 'RS', 'US'];
  const STRING_ESCAPES = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a,
    0x72: 0x0d, 0x74: 0x09 };
  const CONTROL_SHORT_ESCAPES = { 8: 'b', 9: 't', 10: 'n', 12: 'f', 13: 'r' };

  const T = {
    uninitialized: '<uninitialized>', true: 'true literal', false: 'false literal',
    null: 'null literal', string: 'string literal', number: 'number literal',
    float: 'number literal', beginArray: "'['", beginObject: "'{'", endArray: "']'",
    endObject: "'}'", nameSeparator: "':'", valueSeparator: "','",
    parseError: '<parse error>', end: 'end of input',
    literalOrValue: "'[', '{', or a literal",
  };

  // The strict parser of common/json.cc, whose error texts it reproduces: its
  // lexer and parser follow the state machine of nlohmann::json 3.11.2 (the
  // C++ parser's engine), position counting and "last read" text included.
  class JsonParser {
    constructor(bytes, maxDepth) {
      this.bytes = bytes;
      this.maxDepth = maxDepth;
      this.pos = 0;
      this.current = -1;
      this.nextUnget = false;
      this.charsRead = 0;
      // The token string (nlohmann's raw text of the current token, for error
      // messages) is always the input bytes from tokenStart to the read
      // position, less a character read again after unget().
      this.tokenStart = 0;
      this.tokenBuffer = new Uint8Array(bytes.length);
      this.tokenLength = 0;
      this.tokenAscii = true;
      this.errorMessage = '';
      this.numberValue = 0;
      this.lastToken = 'uninitialized';
    }

    get() {
      this.charsRead++;
      if (this.nextUnget) {
        this.nextUnget = false;
      } else {
        this.current = this.pos < this.bytes.length ? this.bytes[this.pos++] : -1;
      }
      return this.current;
    }

    unget() {
      this.nextUnget = true;
      this.charsRead--;
    }

    reset() {
      this.tokenLength = 0;
      this.tokenAscii = true;
      this.tokenStart = this.pos - 1;
    }

    tokenText() {
      const end = this.pos - (this.nextUnget && this.current !== -1 ? 1 : 0);
      let text = '';
      for (const byte of this.bytes.subarray(this.tokenStart, end)) {
        text += byte <= 0x1f ? `<U+${byte.toString(16).toUpperCase().padStart(4, '0')}>`
          : String.fromCharCode(byte);
      }
      return text;  // One char per byte (Latin-1 form of the bytes).
    }

    fail(message) {
      this.errorMessage = message;
      return 'parseError';
    }

    scan() {
      if (this.charsRead === 0) {
        let bomOk = true;
        if (this.get() === 0xef) {
          bomOk = this.get() === 0xbb && this.get() === 0xbf;
        } else {
          this.unget();
        }
        if (!bomOk) return this.fail('invalid BOM; must be 0xEF 0xBB 0xBF if given');
      }
      do {
        this.get();
      } while (this.current === 0x20 || this.current === 0x09 || this.current === 0x0a ||
               this.current === 0x0d);
      switch (this.current) {
        case 0x5b: return 'beginArray';
        case 0x5d: return 'endArray';
        case 0x7b: return 'beginObject';
        case 0x7d: return 'endObject';
        case 0x3a: return 'nameSeparator';
        case 0x2c: return 'valueSeparator';
        case 0x74: return this.scanLiteral('true', 'true');
        case 0x66: return this.scanLiteral('false', 'false');
        case 0x6e: return this.scanLiteral('null', 'null');
        case 0x22: return this.scanString();
        case 0x2d: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
        case 0x36: case 0x37: case 0x38: case 0x39:
          return this.scanNumber();
        case -1:
          return 'end';
        default:
          return this.fail('invalid literal');
      }
    }

    scanLiteral(text, type) {
      for (let i = 1; i < text.length; i++) {
        if (this.get() !== text.charCodeAt(i)) return this.fail('invalid literal');
      }
      return type;
    }

    add(byte) {
      this.tokenBuffer[this.tokenLength++] = byte;
    }

    nextByteInRange(ranges) {
      this.tokenAscii = false;
      this.add(this.current);
      for (let i = 0; i < ranges.length; i += 2) {
        this.get();
        if (ranges[i] <= this.current && this.current <= ranges[i + 1]) {
          this.add(this.current);
        } else {
          this.errorMessage = 'invalid string: ill-formed UTF-8 byte';
          return false;
        }
      }
      return true;
    }

    codepoint() {
      let codepoint = 0;
      for (const factor of [12, 8, 4, 0]) {
        const c = this.get();
        if (c >= 0x30 && c <= 0x39) codepoint += (c - 0x30) << factor;
        else if (c >= 0x41 && c <= 0x46) codepoint += (c - 0x37) << factor;
        else if (c >= 0x61 && c <= 0x66) codepoint += (c - 0x57) << factor;
        else return -1;
      }
      return codepoint;
    }

    addCodepoint(codepoint) {
      if (codepoint < 0x80) {
        this.add(codepoint);
        return;
      }
      this.tokenAscii = false;
      if (codepoint <= 0x7ff) {
        this.add(0xc0 | (codepoint >> 6));
      } else {
        if (codepoint <= 0xffff) {
          this.add(0xe0 | (codepoint >> 12));
        } else {
          this.add(0xf0 | (codepoint >> 18));
          this.add(0x80 | ((codepoint >> 12) & 0x3f));
        }
        this.add(0x80 | ((codepoint >> 6) & 0x3f));
      }
      this.add(0x80 | (codepoint & 0x3f));
    }

    scanString() {
      this.reset();
      const escapes = STRING_ESCAPES;
      for (;;) {
        const c = this.get();
        if (c === -1) return this.fail('invalid string: missing closing quote');
        if (c === 0x22) return 'string';
        if (c === 0x5c) {
          const e = this.get();
          if (e in escapes) {
            this.add(escapes[e]);
            continue;
          }
          if (e !== 0x75) return this.fail('invalid string: forbidden character after backslash');
          const first = this.codepoint();
          let codepoint = first;
          if (first === -1) return this.fail("invalid string: '\\u' must be followed by 4 hex digits");
          if (first >= 0xd800 && first <= 0xdbff) {
            if (this.get() === 0x5c && this.get() === 0x75) {
              const second = this.codepoint();
              if (second === -1) {
                return this.fail("invalid string: '\\u' must be followed by 4 hex digits");
              }
              if (second >= 0xdc00 && second <= 0xdfff) {
                codepoint = ((first - 0xd800) << 10) + (second - 0xdc00) + 0x10000;
              } else {
                return this.fail(
                  'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF');
              }
            } else {
              return this.fail(
                'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF');
            }
          } else if (first >= 0xdc00 && first <= 0xdfff) {
            return this.fail('invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF');
          }
          this.addCodepoint(codepoint);
          continue;
        }
        if (c < 0x20) {
          const code = c.toString(16).toUpperCase().padStart(4, '0');
          const short = CONTROL_SHORT_ESCAPES[c];
          return this.fail(`invalid string: control character U+${code} (${CONTROL_NAMES[c]}) ` +
            `must be escaped to \\u${code}${short === undefined ? '' : ` or \\${short}`}`);
        }
        if (c < 0x80) {
          this.add(c);
          continue;
        }
        let ranges;
        if (c >= 0xc2 && c <= 0xdf) ranges = [0x80, 0xbf];
        else if (c === 0xe0) ranges = [0xa0, 0xbf, 0x80, 0xbf];
        else if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) ranges = [0x80, 0xbf, 0x80, 0xbf];
        else if (c === 0xed) ranges = [0x80, 0x9f, 0x80, 0xbf];
        else if (c === 0xf0) ranges = [0x90, 0xbf, 0x80, 0xbf, 0x80, 0xbf];
        else if (c >= 0xf1 && c <= 0xf3) ranges = [0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf];
        else if (c === 0xf4) ranges = [0x80, 0x8f, 0x80, 0xbf, 0x80, 0xbf];
        else return this.fail('invalid string: ill-formed UTF-8 byte');
        if (!this.nextByteInRange(ranges)) return 'parseError';
      }
    }

    scanNumber() {
      this.reset();
      let text = '';
      let isFloat = false;
      const isDigit = (c) => c >= 0x30 && c <= 0x39;
      const add = (c) => { text += String.fromCharCode(c); };
      let c = this.current;
      add(c);
      let state;
      if (c === 0x2d) state = 'minus';
      else if (c === 0x30) state = 'zero';
      else state = 'any1';
      for (;;) {
        if (state === 'minus') {
          c = this.get();
          if (c === 0x30) { add(c); state = 'zero'; continue; }
          if (isDigit(c)) { add(c); state = 'any1'; continue; }
          return this.fail("invalid number; expected digit after '-'");
        }
        if (state === 'zero' || state === 'any1' || state === 'decimal2') {
          c = this.get();
          if (state !== 'zero' && isDigit(c)) { add(c); continue; }
          if (c === 0x2e && state !== 'decimal2') { add(c); state = 'decimal1'; continue; }
          if (c === 0x65 || c === 0x45) { add(c); state = 'exponent'; continue; }
          break;
        }
        if (state === 'decimal1') {
          isFloat = true;
          c = this.get();
          if (isDigit(c)) { add(c); state = 'decimal2'; continue; }
          return this.fail("invalid number; expected digit after '.'");
        }
        if (state === 'exponent') {
          isFloat = true;
          c = this.get();
          if (c === 0x2b || c === 0x2d) { add(c); state = 'sign'; continue; }
          if (isDigit(c)) { add(c); state = 'any2'; continue; }
          return this.fail("invalid number; expected '+', '-', or digit after exponent");
        }
        if (state === 'sign') {
          c = this.get();
          if (isDigit(c)) { add(c); state = 'any2'; continue; }
          return this.fail('invalid number; expected digit after exponent sign');
        }
        // any2
        c = this.get();
        if (isDigit(c)) { add(c); continue; }
        break;
      }
      this.unget();
      const value = Number(text);
      if (isFloat || !Number.isFinite(value)) {
        this.numberValue = value;
        return 'float';
      }
      this.numberValue = value === 0 ? 0 : value;
      return 'number';
    }

    nextToken() {
      this.lastToken = this.scan();
      return this.lastToken;
    }

    // nlohmann's parser exception_message.
    exceptionMessage(expected, context) {
      let message = 'syntax error ';
      if (context) message += `while parsing ${context} `;
      message += '- ';
      if (this.lastToken === 'parseError') {
        message += `${this.errorMessage}; last read: '${this.tokenText()}'`;
      } else {
        message += `unexpected ${T[this.lastToken]}`;
      }
      if (expected !== 'uninitialized') message += `; expected ${T[expected]}`;
      return message;
    }

    // common/json.cc DescribeParseError for a parse_error.101.
    syntaxError(expected, context) {
      const detail = this.exceptionMessage(expected, context);
      const position = this.charsRead;
      if (detail.includes('ill-formed UTF-8')) {
        return new RuleError(`invalid UTF-8 at byte ${position}`);
      }
      if (detail.includes('surrogate U+')) {
        return new RuleError(`lone surrogate at byte ${position}`);
      }
      return new RuleError(`invalid JSON at byte ${position}: ${asciiOnly(detail)}`);
    }

    // Returns the parsed value or a RuleError.
    parse() {
      const open = [];  // [container, isArray]
      let root;
      let memberName = null;
      const place = (value) => {
        if (open.length === 0) {
          root = value;
          return;
        }
        const [container, isArray] = open[open.length - 1];
        if (isArray) container.push(value);
        else container.set(memberName, value);
      };
      const openContainer = (container, isArray) => {
        if (open.length >= this.maxDepth) {
          return new RuleError(`nesting deeper than ${this.maxDepth} levels`);
        }
        place(container);
        open.push([container, isArray]);
        return null;
      };
      const takeString = () => {
        const bytes = this.tokenBuffer.subarray(0, this.tokenLength);
        if (this.tokenAscii && bytes.length < 4096) return String.fromCharCode.apply(null, bytes);
        return textDecoder.decode(bytes);
      };
      const key = () => {
        const name = takeString();
        const members = open[open.length - 1][0];
        if (members.has(name)) return duplicateMemberError(name);
        members.set(name, undefined);
        memberName = name;
        return null;
      };

      this.nextToken();
      let skipToStateEvaluation = false;
      for (;;) {
        if (!skipToStateEvaluation) {
          switch (this.lastToken) {
            case 'beginObject': {
              const failure = openContainer(new Map(), false);
              if (failure) return failure;
              if (this.nextToken() === 'endObject') {
                open.pop();
                break;
              }
              if (this.lastToken !== 'string') return this.syntaxError('string', 'object key');
              const duplicate = key();
              if (duplicate) return duplicate;
              if (this.nextToken() !== 'nameSeparator') {
                return this.syntaxError('nameSeparator', 'object separator');
              }
              this.nextToken();
              continue;
            }
            case 'beginArray': {
              const failure = openContainer([], true);
              if (failure) return failure;
              if (this.nextToken() === 'endArray') {
                open.pop();
                break;
              }
              continue;
            }
            case 'float':
              if (!Number.isFinite(this.numberValue)) {
                return new RuleError(`number overflows to infinity at byte ${this.charsRead}: ` +
                  quoteForError(latin1Bytes(this.tokenText())));
              }
              place(this.numberValue);
              break;
            case 'number':
              place(this.numberValue);
              break;
            case 'true': place(true); break;
            case 'false': place(false); break;
            case 'null': place(null); break;
            case 'string': place(takeString()); break;
            case 'parseError':
              return this.syntaxError('uninitialized', 'value');
            default:
              return this.syntaxError('literalOrValue', 'value');
          }
        } else {
          skipToStateEvaluation = false;
        }
        if (open.length === 0) break;
        const [, isArray] = open[open.length - 1];
        if (isArray) {
          if (this.nextToken() === 'valueSeparator') {
            this.nextToken();
            continue;
          }
          if (this.lastToken === 'endArray') {
            open.pop();
            skipToStateEvaluation = true;
            continue;
          }
          return this.syntaxError('endArray', 'array');
        }
        if (this.nextToken() === 'valueSeparator') {
          if (this.nextToken() !== 'string') return this.syntaxError('string', 'object key');
          const duplicate = key();
          if (duplicate) return duplicate;
          if (this.nextToken() !== 'nameSeparator') {
            return this.syntaxError('nameSeparator', 'object separator');
          }
          this.nextToken();
          continue;
        }
        if (this.lastToken === 'endObject') {
          open.pop();
          skipToStateEvaluation = true;
          continue;
        }
        return this.syntaxError('endObject', 'object');
      }
      if (this.nextToken() !== 'end') return this.syntaxError('end', 'value');
      return root;
    }
  }

  function latin1Bytes(text) {
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // common/json.cc AsciiOnly over a Latin-1 form of bytes: at most 200 bytes,
  // bytes outside ASCII as \xNN, then "... (N bytes)".
  function asciiOnly(text) {
    const quoted = text.slice(0, MAX_QUOTED_INPUT_BYTES);
    let ascii = '';
    for (let i = 0; i < quoted.length; i++) {
      const byte = quoted.charCodeAt(i);
      ascii += byte < 0x80 ? quoted[i] : `\\x${hex2(byte)}`;
    }
    if (quoted.length < text.length) ascii += `... (${text.length} bytes)`;
    return ascii;
  }

  function duplicateMemberError(name) {
    const bytes = utf8(name);
    let shown = bytes;
    if (bytes.length > MAX_QUOTED_INPUT_BYTES) {
      let cut = MAX_QUOTED_INPUT_BYTES;
      while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
      shown = bytes.subarray(0, cut);
    }
    let message = `duplicate member name ${JSON.stringify(textDecoder.decode(shown))}`;
    if (shown.length < bytes.length) message += `\u2026 (${bytes.length} bytes)`;
    return new RuleError(message);
  }

  // ParseJson of common/json.cc: the value, or a RuleError.
  function parseJson(bytes, maxDepth) {
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      return new RuleError('byte-order mark not allowed');
    }
    const nul = bytes.indexOf(0);
    if (nul !== -1) return new RuleError(`invalid JSON at byte ${nul + 1}: raw NUL byte`);
    return new JsonParser(bytes, maxDepth).parse();
  }

  function isObject(value) {
    return value instanceof Map;
  }

  // RFC 8785 (JCS) text of a value parsed here (Maps for objects) or of plain
  // JavaScript JSON values.
  function jcsCanonicalize(value) {
    if (value === null) return 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError('JCS: a non-finite number is not JSON');
      return String(value);
    }
    if (typeof value === 'string') return JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map(jcsCanonicalize).join(',')}]`;
    const entries = isObject(value) ? [...value.entries()] : Object.entries(value);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${entries.map(([name, member]) => `${JSON.stringify(name)}:${jcsCanonicalize(member)}`).join(',')}}`;
  }

  // The JCS of an object, whole and without the members named in `omitted`,
  // from one pass (CanonicalJsonWithout of common/json.cc).
  function jcsSplit(object, omitted) {
    const entries = [...object.entries()];
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const whole = [];
    const without = [];
    for (const [name, member] of entries) {
      const text = `${JSON.stringify(name)}:${jcsCanonicalize(member)}`;
      whole.push(text);
      if (!omitted.includes(name)) without.push(text);
    }
    return { whole: `{${whole.join(',')}}`, without: `{${without.join(',')}}` };
  }

  function toPlain(value) {
    if (isObject(value)) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
    if (Array.isArray(value)) return value.map(toPlain);
    return value;
  }

  // Member names of an object in byte order (nlohmann's std::map order).
  function namesInByteOrder(object) {
    return [...object.keys()].sort(compareCodePoints);
  }

  // ---------------------------------------------------------------- Merkle

  function leafHash(leaf) {
    return sha256Sync(concatBytes(Uint8Array.of(0), leaf));
  }

  function nodeHash(left, right) {
    return sha256Sync(concatBytes(Uint8Array.of(1), left, right));
  }

  // RFC 9162 root of the leaf hashes [begin, end).
  function rootOfHashes(hashes, begin, end) {
    const size = end - begin;
    if (size === 1) return hashes[begin];
    let split = 1;
    while (split * 2 < size) split *= 2;
    return nodeHash(rootOfHashes(hashes, begin, begin + split),
      rootOfHashes(hashes, begin + split, end));
  }

  function merkleRoot(leaves) {
    if (leaves.length === 0) return sha256Sync(new Uint8Array(0));
    return rootOfHashes(leaves.map((leaf) => leafHash(toBytes(leaf))), 0, leaves.length);
  }

  // ---------------------------------------------------------------- timestamps

  const TIME_TEMPLATE = 'dddd-dd-ddTdd:dd:dd.dddZ';

  function daysFromCivil(year, month, day) {
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yearOfEra = y - era * 400;
    const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
    const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
      dayOfYear;
    return era * 146097 + dayOfEra - 719468;
  }

  function parseTimestampMillis(text) {
    const malformed = (why) => new RuleError(
      `time "${quoteForError(text, 40)}" ${why} (want YYYY-MM-DDTHH:MM:SS.mmmZ)`);
    const bytes = utf8(text);
    if (bytes.length !== TIME_TEMPLATE.length) return malformed('has the wrong length');
    for (let i = 0; i < TIME_TEMPLATE.length; i++) {
      const want = TIME_TEMPLATE.charCodeAt(i);
      const ok = want === 0x64 ? bytes[i] >= 0x30 && bytes[i] <= 0x39 : bytes[i] === want;
      if (!ok) return malformed('is not in the required form');
    }
    const digits = (pos, count) => Number(text.slice(pos, pos + count));
    const year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
    const hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
    const millis = digits(20, 3);
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if (month < 1 || month > 12 || day < 1 || day > monthDays[month - 1]) {
      return malformed('is not a calendar date');
    }
    if (hour > 23 || minute > 59 || second > 59) return malformed('is not a time of day');
    return daysFromCivil(year, month, day) * 86400000 +
      ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  }

  // ---------------------------------------------------------------- blocks

  function wholeNumber(value, min, max) {
    if (typeof value !== 'number') return 'not a number';
    if (Math.floor(value) !== value || value < min || value > max) {
      return `not a whole number from ${min} to ${max}`;
    }
    return null;
  }

  function stringMember(object, name, rule) {
    if (!object.has(name)) throw broke(rule, `member "${name}" is missing`);
    const value = object.get(name);
    if (typeof value !== 'string') throw broke(rule, `member "${name}" must be a string`);
    return value;
  }

  function checkMemberSet(object, allowed, rule, what) {
    for (const name of namesInByteOrder(object)) {
      if (!allowed.includes(name)) {
        throw broke(rule, `${what} has an unknown member "${quoteForError(name)}"`);
      }
    }
  }

  function unwrap(result, rule) {
    if (result instanceof RuleError) throw broke(rule, result.message);
    return result;
  }

  function parseControllers(value) {
    if (!isObject(value)) throw broke('controllers', 'must be an object');
    checkMemberSet(value, ['threshold', 'keys'], 'controllers', 'controllers');
    if (!value.has('keys') || !value.has('threshold')) {
      throw broke('controllers', 'needs exactly "threshold" and "keys"');
    }
    const keys = value.get('keys');
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > 16) {
      throw broke('controllers', 'keys must be an array of 1 to 16 owner keys');
    }
    const distinct = new Set();
    for (const key of keys) {
      if (typeof key !== 'string' || decodePublicKeyText(key) === null) {
        throw broke('controllers', 'every key must be an Ed25519 public key text');
      }
      if (distinct.has(key)) throw broke('controllers', 'keys must be distinct');
      distinct.add(key);
    }
    const threshold = value.get('threshold');
    if (wholeNumber(threshold, 1, keys.length) !== null) {
      throw broke('controllers', 'threshold must be a whole number from 1 to the number of keys');
    }
    return { threshold, keys: [...keys] };
  }

  function parseSeals(value) {
    if (!Array.isArray(value) || value.length > 64) {
      throw broke('seals', 'must be an array of at most 64 digests');
    }
    const distinct = new Set();
    for (const seal of value) {
      if (typeof seal !== 'string') throw broke('seals', 'every seal must be a digest');
      unwrap(decodeDigestOrError(seal), 'seals');
      if (distinct.has(seal)) throw broke('seals', 'seals must be distinct');
      distinct.add(seal);
    }
    return [...value];
  }

  function parseSignature(value) {
    if (!isObject(value) || value.size !== 4) {
      throw broke('signatures', 'a signature is an object with exactly role, alg, key, sig');
    }
    const signature = {};
    for (const name of ['role', 'alg', 'key', 'sig']) {
      signature[name] = stringMember(value, name, 'signatures');
    }
    if (signature.alg !== 'Ed25519') {
      throw broke('alg', `unsupported signature algorithm "${quoteForError(signature.alg)}" ` +
        '(v1 accepts Ed25519 only)');
    }
    const key = decodePublicKeyText(signature.key);
    if (key === null) throw broke('signatures', 'key is not an Ed25519 public key text');
    const sig = decodeMultibaseOrError(signature.sig);
    if (sig instanceof RuleError || sig.length !== 64) {
      throw broke('signatures', 'sig is not an Ed25519 signature text');
    }
    signature.rawKey = key;
    signature.rawSig = sig;
    return signature;
  }

  // BlockFromJson of common/block.cc with SignatureStage::kComplete: the block,
  // or throws a RuleError. A block whose form is right but whose fingerprint is
  // not its body's digest is also kept in `formed.block`, for the report.
  function blockFromJson(value, bodyJcs, formed) {
    if (!isObject(value)) throw broke('members', 'a block is a JSON object');
    checkMemberSet(value, ['ledger', 'number', 'previous', 'time', 'controllers', 'seals', 'event',
      'fingerprint', 'signatures'], 'members', 'the block');
    const block = {};
    block.ledger = stringMember(value, 'ledger', 'ledger');
    unwrap(publicKeyTextFromLedgerId(block.ledger), 'ledger');

    if (!value.has('number')) throw broke('number', 'member "number" is missing');
    const numberProblem = wholeNumber(value.get('number'), 1, MAX_BLOCK_NUMBER);
    if (numberProblem !== null) throw broke('number', numberProblem);
    block.number = value.get('number');

    if (block.number === 1 && value.has('previous')) {
      throw broke('previous', 'the genesis block has no "previous"');
    }
    block.previous = null;
    if (block.number > 1) {
      block.previous = stringMember(value, 'previous', 'previous');
      unwrap(decodeDigestOrError(block.previous), 'previous');
    }

    block.time = stringMember(value, 'time', 'time');
    block.timeMillis = unwrap(parseTimestampMillis(block.time), 'time');

    block.controllers = value.has('controllers') ? parseControllers(value.get('controllers')) : null;
    block.seals = value.has('seals') ? parseSeals(value.get('seals')) : null;

    if (!value.has('event')) throw broke('event', 'member "event" is missing');
    const event = value.get('event');
    if (!isObject(event)) throw broke('event', 'the event must be a JSON object');
    if (typeof event.get('event') !== 'string') {
      throw broke('event', 'the event needs a string member "event"');
    }
    block.event = event;

    block.fingerprint = stringMember(value, 'fingerprint', 'fingerprint');
    const leaf = unwrap(decodeDigestOrError(block.fingerprint), 'fingerprint');

    const signatures = value.get('signatures');
    if (!Array.isArray(signatures)) {
      throw broke('signatures', 'member "signatures" must be an array');
    }
    block.signatures = signatures.map(parseSignature);
    const ownerCount = Math.max(block.signatures.length - 1, 0);
    block.signatures.forEach((signature, i) => {
      if (signature.role !== (i < ownerCount ? 'owner' : 'host')) {
        throw broke('signatures', 'owner signatures first, then exactly one host signature, last');
      }
    });
    if (block.signatures.length === 0) throw broke('signatures', 'the host signature is missing');

    formed.block = block;
    if (!bytesEqual(sha256Multihash(bodyJcs), leaf)) {
      throw broke('fingerprint', "is not the sha2-256 digest of the block body's JCS bytes");
    }
    block.leaf = leaf;
    return block;
  }

  // ---------------------------------------------------------------- chain rules

  const OPENED = 'opened document';
  const BECAME = 'became document';
  const CLOSED = 'closed document';
  const MOVED = 'moved document';
  const TRANSFERRED = 'transferred ownership';

  function checkEventMember(event, name, kind, required) {
    const rule = `event ${quoteForError(event.get('event'))}`;
    if (!event.has(name)) {
      if (!required) return;
      throw broke(rule, `member "${name}" is required`);
    }
    const text = event.get(name);
    if (typeof text !== 'string') throw broke(rule, `member "${name}" must be a string`);
    let ok = true;
    if (kind === 'an Ed25519 key') ok = decodePublicKeyText(text) !== null;
    if (kind === 'a ledger id') ok = !(publicKeyTextFromLedgerId(text) instanceof RuleError);
    if (kind === 'a digest') ok = !(decodeDigestOrError(text) instanceof RuleError);
    if (!ok) throw broke(rule, `member "${name}" must be ${kind}`);
  }

  function checkGenesisEvent(block) {
    const name = block.event.get('event');
    if (name !== OPENED && name !== BECAME) {
      throw broke('genesis event',
        'the genesis event must be "opened document" or "became document"');
    }
    if (block.controllers === null) {
      throw broke('controllers', 'the genesis block must carry controllers');
    }
    const members = [['document type', 'a string', true],
      ['cryptographic signing key', 'an Ed25519 key', true]];
    if (name === OPENED) {
      members.push(['hyperswarm id', 'a string', false], ['host url', 'a string', false]);
    } else {
      members.push(['original id', 'a ledger id', true], ['moved from', 'a ledger id', true],
        ['moved from block', 'a digest', true]);
    }
    for (const [member, kind, required] of members) {
      checkEventMember(block.event, member, kind, required);
    }
    if (!block.controllers.keys.includes(block.event.get('cryptographic signing key'))) {
      throw broke(`event ${quoteForError(name)}`,
        '"cryptographic signing key" must be one of controllers.keys');
    }
  }

  function checkLaterEvent(block) {
    const name = block.event.get('event');
    const rule = `event ${quoteForError(name)}`;
    if (name === OPENED || name === BECAME) throw broke(rule, 'only the genesis block may carry it');
    if (name === TRANSFERRED) {
      if (block.controllers === null) throw broke(rule, 'the block must carry the new controllers');
      return;
    }
    if (block.controllers !== null) {
      throw broke('controllers', 'only a "transferred ownership" block may carry controllers ' +
        'after the genesis block');
    }
    if (name === CLOSED && block.event.size !== 1) {
      throw broke(rule, 'carries no member but "event"');
    }
    if (name === MOVED) {
      if (block.event.size !== 3) {
        throw broke(rule, 'has exactly the members "event", "new id" and ' +
          '"new cryptographic signing key"');
      }
      checkEventMember(block.event, 'new id', 'a ledger id', true);
      checkEventMember(block.event, 'new cryptographic signing key', 'an Ed25519 key', true);
    }
  }

  // CheckNextBlock of common/chain_validator.cc (complete blocks, no host
  // limits, no clock); `outcomes[i]` tells whether signature i verified.
  function checkNextBlock(state, block, outcomes) {
    if (block.ledger !== state.ledger) {
      throw broke('ledger', `block belongs to ${quoteForError(block.ledger)}, not to ` +
        `${quoteForError(state.ledger)}`);
    }
    if (state.terminalEvent !== null) {
      throw broke('terminal', `no block may follow "${state.terminalEvent}" (block ` +
        `${state.headNumber})`);
    }
    if (block.number !== state.headNumber + 1) {
      throw broke('number', `expected block ${state.headNumber + 1}, got ${block.number}`);
    }
    if (block.number > 1 && block.previous !== state.headFingerprint) {
      throw broke('previous', `is not the fingerprint of block ${state.headNumber}`);
    }
    if (block.number > 1 && block.timeMillis < state.headTimeMillis) {
      throw broke('time', `is earlier than block ${state.headNumber}'s time`);
    }
    if (block.event.has('signature')) {
      throw broke('event', 'no event may carry a top-level member "signature"');
    }
    if (block.number === 1) checkGenesisEvent(block);
    else checkLaterEvent(block);

    const authorising = block.number === 1 ? block.controllers : state.controllers;
    const owners = block.signatures.slice(0, -1);
    const what = `block ${block.number}`;
    owners.forEach((signature, i) => {
      if (i > 0 && !(compareCodePoints(owners[i - 1].key, signature.key) < 0)) {
        throw broke('owner signatures', 'keys must be distinct and in ascending byte order');
      }
      if (!authorising.keys.includes(signature.key)) {
        throw broke('owner signatures',
          `key ${quoteForError(signature.key)} is not an authorising controller of ${what}`);
      }
      if (!outcomes[i]) {
        throw broke('owner signatures',
          `the signature by ${quoteForError(signature.key)} does not verify`);
      }
    });
    if (owners.length < authorising.threshold) {
      throw broke('threshold',
        `${owners.length} owner signature(s), ${what} needs ${authorising.threshold}`);
    }
    const host = block.signatures[block.signatures.length - 1];
    if (host.key !== publicKeyTextFromLedgerId(state.ledger)) {
      throw broke('host signature', "is not by the ledger's host key");
    }
    if (!outcomes[block.signatures.length - 1]) {
      throw broke('host signature', 'signature does not verify');
    }
  }

  function advanceChain(state, block) {
    state.headNumber = block.number;
    state.headFingerprint = block.fingerprint;
    state.headTimeMillis = block.timeMillis;
    if (block.controllers !== null) state.controllers = block.controllers;
    const name = block.event.get('event');
    if (name === CLOSED || name === MOVED) state.terminalEvent = name;
  }

  // ---------------------------------------------------------------- checkpoints

  function isUnicodeSpace(codePoint) {
    return [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f,
      0x205f, 0x3000].includes(codePoint) || (codePoint >= 0x2000 && codePoint <= 0x200a);
  }

  function isValidNoteKeyName(name) {
    if (name.length === 0) return false;
    for (const c of name) {
      const codePoint = c.codePointAt(0);
      if (codePoint < 0x20 || isUnicodeSpace(codePoint) || codePoint === 0x2b) return false;
    }
    return true;
  }

  function checkpointError(rule) {
    return new RuleError(`checkpoint: ${rule}`);
  }

  function parseNoteSignatureLine(line) {
    if (!line.startsWith('\u2014 ')) throw new RuleError('does not start with an em dash and a space');
    const rest = line.slice(2);
    const space = rest.indexOf(' ');
    if (space === -1) throw new RuleError('no space between key name and signature');
    const keyName = rest.slice(0, space);
    if (!isValidNoteKeyName(keyName)) {
      throw new RuleError("key name is empty or has a space, a control character or '+'");
    }
    const payload = decodeBase64(rest.slice(space + 1), false);
    if (payload === null) throw new RuleError('signature is not canonical standard base64');
    if (payload.length < 5) throw new RuleError('signature is shorter than 5 bytes');
    return { keyName, payload };
  }

  function parseTreeSize(text) {
    if (text.length === 0) throw checkpointError('tree size is empty');
    if (!/^[0-9]+$/.test(text)) throw checkpointError('tree size is not a decimal number');
    if (text.length > 1 && text[0] === '0') throw checkpointError('tree size has leading zeros');
    const size = BigInt(text);
    if (size > 2n ** 64n - 1n) throw checkpointError('tree size does not fit in 64 bits');
    return size;
  }

  // VerifyCheckpointNote of common/checkpoint.cc: { treeSize (BigInt), root }.
  async function verifyCheckpointNote(note, ledgerId) {
    const ledgerKey = decodePublicKeyText(publicKeyTextFromLedgerId(ledgerId));
    if (note.includes('\r')) throw checkpointError('note contains a carriage return');
    if (note.length === 0 || !note.endsWith('\n')) {
      throw checkpointError('note does not end with a newline');
    }
    for (const c of note) {
      if (c.codePointAt(0) < 0x20 && c !== '\n') {
        throw checkpointError('note contains a control character');
      }
    }
    const lines = note.slice(0, -1).split('\n');
    let blankLine = 0;
    while (blankLine < lines.length && lines[blankLine] !== '') blankLine++;
    if (blankLine === lines.length) {
      throw checkpointError('no blank line between note text and signatures');
    }
    if (blankLine < 3) {
      throw checkpointError('note text is not the three lines origin, tree size and root hash');
    }
    if (blankLine > 3) throw checkpointError('note text has extension lines (v1 has none)');
    if (lines[0] !== ledgerId) throw checkpointError('origin is not the ledger id');
    const treeSize = parseTreeSize(lines[1]);
    const root = decodeBase64(lines[2], false);
    if (root === null) throw checkpointError('root hash is not canonical standard base64');
    if (root.length !== 32) throw checkpointError(`root hash is ${root.length} bytes, not 32`);
    if (blankLine + 1 === lines.length) throw checkpointError('no signature lines');
    const noteText = utf8(`${lines[0]}\n${lines[1]}\n${lines[2]}\n`);
    const keyHash = sha256Sync(concatBytes(utf8(ledgerId), Uint8Array.of(0x0a, 0x01), ledgerKey))
      .subarray(0, 4);
    let ledgerSignatures = 0;
    for (let i = blankLine + 1; i < lines.length; i++) {
      let line;
      try {
        line = parseNoteSignatureLine(lines[i]);
      } catch (error) {
        if (!(error instanceof RuleError)) throw error;
        throw checkpointError(`malformed signature line ${i - blankLine}: ${error.message}`);
      }
      if (line.keyName !== ledgerId || !bytesEqual(line.payload.subarray(0, 4), keyHash)) continue;
      ledgerSignatures++;
      if (line.payload.length !== 68) {
        throw checkpointError('ledger key signature is not 4 + 64 bytes (key hash, Ed25519)');
      }
      if (!(await verifyEd25519(ledgerKey, noteText, line.payload.subarray(4)))) {
        throw checkpointError('ledger key signature does not verify');
      }
    }
    if (ledgerSignatures === 0) throw checkpointError('no signature by the ledger key');
    return { treeSize, root };
  }

  // ---------------------------------------------------------------- bundles

  function toBytes(input) {
    if (input instanceof Uint8Array) return input;
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    if (typeof input === 'string') return utf8(input);
    throw new TypeError('verifyBundle: input must be a Uint8Array, an ArrayBuffer or a string');
  }

  function startsWithBytes(bytes, prefix) {
    return bytes.length >= prefix.length && bytesEqual(bytes.subarray(0, prefix.length), prefix);
  }

  // The lines of the bundle, as BundleLineReader reads them: split at "\n";
  // the bytes after the last "\n" form a line only if there are any.
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

  // ParseBundleLine and PrepareBundleLine of common/bundle.cc: the line's
  // wrapper object (non-block lines) or its prepared block (block lines), or
  // the RuleError that stops it.
  function prepareLine(text, maxLineBytes) {
    const line = { isBlock: startsWithBytes(text, BLOCK_LINE_PREFIX), formed: {} };
    try {
      if (text.length > maxLineBytes) {
        throw broke('line', `is longer than ${maxLineBytes} bytes, the longest this verifier ` +
          'reads (mlctl verify --max_line_bytes)');
      }
      if (text.length === 0) throw broke('line', 'is empty');
      if (text.indexOf(0x0d) !== -1) throw broke('line', 'contains a carriage return');
      const wrapper = parseJson(text, MAX_LINE_DEPTH);
      if (wrapper instanceof RuleError) throw broke('json', wrapper.message);
      line.wrapper = wrapper;
      // A block line's JCS is its name, then the block's JCS, which comes with
      // the JCS of the block's body.
      const blockLine = isObject(wrapper) && wrapper.size === 1 && wrapper.has('block');
      const block = blockLine ? wrapper.get('block') : null;
      const split = isObject(block) ? jcsSplit(block, ['fingerprint', 'signatures']) : null;
      const canonical = split === null ? jcsCanonicalize(wrapper) : `{"block":${split.whole}}`;
      if (!bytesEqual(utf8(canonical), text)) {
        throw broke('canonical form', 'the line is not the JCS serialisation of its object');
      }
      if (!isObject(wrapper) || wrapper.size !== 1) {
        throw broke('bundle line', 'must be an object with exactly one member, naming its kind');
      }
      if (line.isBlock) {
        const bodyJcs = split === null ? jcsCanonicalize(block) : split.without;
        line.block = blockFromJson(block, utf8(bodyJcs), line.formed);
      }
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      line.error = error;
    }
    return line;
  }

  // Starts the Ed25519 verification of every signature of a prepared block.
  function startSignatureMath(line) {
    if (line.block === undefined) return;
    const message = utf8(SIGNED_MESSAGE_PREFIX + line.block.fingerprint);
    line.outcomes = Promise.all(line.block.signatures.map(
      (signature) => verifyEd25519(signature.rawKey, message, signature.rawSig)));
  }

  function blockReport(block, position, verified) {
    return {
      position,
      number: block.number,
      time: block.time,
      fingerprint: block.fingerprint,
      event: toPlain(block.event),
      controllers: block.controllers === null ? null
        : { threshold: block.controllers.threshold, keys: [...block.controllers.keys] },
      seals: block.seals === null ? [] : [...block.seals],
      owners: block.signatures.slice(0, -1).map((signature) => signature.key),
      host: block.signatures[block.signatures.length - 1].key,
      verified,
    };
  }

  // The line-by-line state of one verification (BundleVerification of
  // common/bundle.cc).
  class BundleVerification {
    constructor(report) {
      this.report = report;
      this.section = 'header';
      this.state = null;
      this.leafHashes = [];
      this.seals = new Set();
      this.failure = null;
    }

    fail(position, error, lineNumber) {
      let rule = quoteForError(error.message, Infinity);
      if (position === 0) rule += ` (line ${lineNumber})`;
      this.failure = { block: position, rule, line: lineNumber };
      return false;
    }

    async checkLine(line, lineNumber) {
      if (!line.isBlock) {
        try {
          if (line.error !== undefined) throw line.error;
          await this.checkOtherLine(line.wrapper);
          return true;
        } catch (error) {
          if (!(error instanceof RuleError)) throw error;
          return this.fail(0, error, lineNumber);
        }
      }
      if (this.section === 'header') {
        return this.fail(0, broke('header', 'the bundle must begin with its header'), lineNumber);
      }
      if (this.section === 'checkpoints') {
        return this.fail(0, broke('line order', 'a block after a checkpoint'), lineNumber);
      }
      if (this.section === 'attachments') {
        return this.fail(0, broke('line order', 'a block after an attachment'), lineNumber);
      }
      const position = this.leafHashes.length + 1;
      if (line.error !== undefined) {
        if (line.formed.block !== undefined) {
          this.report.blocks.push(blockReport(line.formed.block, position, false));
        }
        return this.fail(position, line.error, lineNumber);
      }
      const outcomes = await line.outcomes;
      try {
        checkNextBlock(this.state, line.block, outcomes);
      } catch (error) {
        if (!(error instanceof RuleError)) throw error;
        this.report.blocks.push(blockReport(line.block, position, false));
        return this.fail(position, error, lineNumber);
      }
      advanceChain(this.state, line.block);
      this.leafHashes.push(leafHash(line.block.leaf));
      for (const seal of line.block.seals ?? []) this.seals.add(seal);
      this.report.blocks.push(blockReport(line.block, position, true));
      return true;
    }

    async checkOtherLine(wrapper) {
      const [kind, value] = wrapper.entries().next().value;
      if (kind === 'bundle') {
        if (this.section !== 'header') throw broke('header', 'appears more than once');
        this.checkHeader(value);
        return;
      }
      if (this.section === 'header') throw broke('header', 'the bundle must begin with its header');
      if (kind === 'checkpoint') {
        if (this.section === 'attachments') {
          throw broke('line order', 'a checkpoint after an attachment');
        }
        this.section = 'checkpoints';
        await this.checkCheckpoint(value);
        return;
      }
      if (kind === 'attachment') {
        this.section = 'attachments';
        this.checkAttachment(value);
        return;
      }
      throw broke('bundle line', `unknown kind "${quoteForError(kind)}"`);
    }

    checkHeader(header) {
      if (!isObject(header) || header.size !== 2 || !header.has('format') || !header.has('ledger')) {
        throw broke('header', 'must be an object with exactly the members format and ledger');
      }
      if (header.get('format') !== BUNDLE_FORMAT) {
        throw broke('header', `format must be "${BUNDLE_FORMAT}"`);
      }
      const ledger = header.get('ledger');
      if (typeof ledger !== 'string') throw broke('header', 'ledger must be a ledger id');
      const key = publicKeyTextFromLedgerId(ledger);
      if (key instanceof RuleError) throw broke('header', `ledger: ${key.message}`);
      this.report.ledger = ledger;
      this.state = {
        ledger, headNumber: 0, headFingerprint: '', headTimeMillis: 0,
        controllers: { threshold: 0, keys: [] }, terminalEvent: null,
      };
      this.section = 'blocks';
    }

    async checkCheckpoint(checkpoint) {
      if (typeof checkpoint !== 'string') {
        throw broke('checkpoint', 'must be a string holding the signed note');
      }
      const entry = { size: null, root: null, verified: false };
      this.report.checkpoints.push(entry);
      const { treeSize, root } = await verifyCheckpointNote(checkpoint, this.state.ledger);
      entry.size = Number(treeSize);
      entry.root = encodeBase64(root, false);
      const blocks = this.leafHashes.length;
      if (treeSize === 0n || treeSize > BigInt(blocks)) {
        throw checkpointError(`tree size ${treeSize} is not from 1 to the ledger's ${blocks} block(s)`);
      }
      const size = Number(treeSize);
      if (!bytesEqual(rootOfHashes(this.leafHashes, 0, size), root)) {
        throw checkpointError(
          `root hash is not the RFC 9162 root of the first ${size} fingerprint(s)`);
      }
      entry.verified = true;
    }

    checkAttachment(attachment) {
      if (!isObject(attachment) || attachment.size !== 3) {
        throw broke('attachment', 'must be an object with exactly the members seal, name and data');
      }
      for (const member of ['seal', 'name', 'data']) {
        if (typeof attachment.get(member) !== 'string') {
          throw broke('attachment',
            'must be an object with exactly the string members seal, name and data');
        }
      }
      const data = decodeMultibaseOrError(attachment.get('data'));
      if (data instanceof RuleError) throw broke('attachment', `data: ${data.message}`);
      const seal = attachment.get('seal');
      const entry = { seal, name: attachment.get('name'), bytes: data, verified: false };
      this.report.attachments.push(entry);
      if (!this.seals.has(seal)) {
        throw broke('attachment',
          `seal "${quoteForError(seal)}" is not a seal of any block of the ledger`);
      }
      if (encodeMultibase(sha256Multihash(data)) !== seal) {
        throw broke('attachment', `data does not match its seal ${quoteForError(seal)}`);
      }
      entry.verified = true;
    }

    finish() {
      const report = this.report;
      if (this.failure === null && this.section === 'header') {
        this.failure = { block: 0, rule: 'header: the bundle is empty; it must begin with its header',
          line: 0 };
      }
      report.ok = this.failure === null;
      report.failure = this.failure;
      report.verdict = formatVerdict(report);
    }
  }

  function formatVerdict(report) {
    if (report.ok) return `OK ${report.ledger} ${report.blocks.length} blocks`;
    return `FAIL block ${report.failure.block}: ${report.failure.rule}`;
  }

  // After a failure, the remaining block lines whose form is right are listed,
  // unverified, numbered on from the failing block (or from the blocks verified
  // when the failure is not in a block line).
  function listRemainingBlocks(report, lines, from, maxLineBytes, failedPosition) {
    let position = failedPosition > 0 ? failedPosition
      : report.blocks.filter((block) => block.verified).length;
    for (let i = from; i < lines.length; i++) {
      const line = prepareLine(lines[i], maxLineBytes);
      if (!line.isBlock) continue;
      position++;
      const block = line.block ?? line.formed.block;
      if (block !== undefined) report.blocks.push(blockReport(block, position, false));
    }
  }

  async function verifyBundle(input, options = {}) {
    const bytes = toBytes(input);
    const maxLineBytes = Math.max(options.maxLineBytes ?? MAX_LINE_BYTES, 1);
    const onProgress = options.onProgress;
    const report = {
      ok: false, verdict: '', ledger: null, failure: null, blocks: [], checkpoints: [],
      attachments: [],
    };
    const verification = new BundleVerification(report);
    const lines = splitLines(bytes);
    let lastProgress = 0;
    for (let start = 0; start < lines.length && verification.failure === null;
      start += WINDOW_LINES) {
      const window = lines.slice(start, start + WINDOW_LINES).map((text) => {
        const line = prepareLine(text, maxLineBytes);
        startSignatureMath(line);
        return line;
      });
      for (let i = 0; i < window.length; i++) {
        const lineNumber = start + i + 1;
        if (!(await verification.checkLine(window[i], lineNumber))) {
          listRemainingBlocks(report, lines, lineNumber, maxLineBytes,
            verification.failure.block);
          break;
        }
        if (onProgress && lineNumber - lastProgress >= PROGRESS_LINES) {
          lastProgress = lineNumber;
          onProgress(lineNumber);
        }
      }
      // Let every started verification settle before the next window.
      await Promise.all(window.map((line) => line.outcomes));
    }
    verification.finish();
    if (onProgress) onProgress(lines.length);
    return report;
  }

  const api = { verifyBundle, formatVerdict, jcsCanonicalize, merkleRoot, decodeMultibase, sha256 };
  if (typeof module === 'object' && module !== null && module.exports) {
    module.exports = api;
  } else {
    root.MicroLedgerVerifier = api;
  }
})(globalThis);
