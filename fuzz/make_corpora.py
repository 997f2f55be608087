#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets to fuzz/corpus/<target>/.

Usage: fuzz/make_corpora.py MLCTL   (MLCTL: a built mlctl binary, e.g.
bazel-bin/tools/mlctl). Bundles, blocks and checkpoints come from
`mlctl sample` (real keys, real signatures: a valid ledger made in one
process); the rest is written here: hand-picked JSON texts, chain-fuzzer
scripts, Merkle queries and equivocation evidence signed with the fuzz
targets' fixed host key (deterministic bytes). Each corpus gets a few dozen
small files; the directories are replaced. Run it again after a format change
and commit the result.
"""
import base64
import hashlib
import json
import random
import shutil
import subprocess
import sys
import struct
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CORPUS = Path(__file__).resolve().parent / "corpus"


def key_text(private_key):
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The fuzz targets' fixed host key (seed 32 x 0x48) and its ledger id.
FIXED_HOST_KEY = Ed25519PrivateKey.from_private_bytes(b"\x48" * 32)
FIXED_LEDGER_ID = "jlinx:" + key_text(FIXED_HOST_KEY)


def write(target, files):
    directory = CORPUS / target
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for index, data in enumerate(files):
        if isinstance(data, str):
            data = data.encode()
        (directory / f"seed-{index:03d}").write_bytes(data)
    print(f"{target}: {len(files)} files, {sum(len(d) for d in files)} bytes")


def sample_bundles(mlctl):
    """Sample bundles of 1, 2, 3 and 5 blocks, each a list of lines."""
    bundles = []
    with tempfile.TemporaryDirectory() as tmp:
        for blocks in (1, 2, 3, 5):
            out = Path(tmp) / f"sample-{blocks}.jsonl"
            subprocess.run([mlctl, "sample", f"--blocks={blocks}", f"--out={out}"],
                           check=True, capture_output=True)
            bundles.append(out.read_text().splitlines())
    return bundles


def bundle_seeds(bundles):
    seeds = ["\n".join(lines) + "\n" for lines in bundles]
    five = bundles[-1]
    header, blocks = five[0], [l for l in five if l.startswith('{"block"')]
    rest = [l for l in five if not l.startswith(('{"block"', '{"bundle"'))]
    variants = [
        [header],                                    # no blocks
        [header] + blocks,                           # no checkpoint, no attachment
        [header] + blocks[:2] + blocks[3:] + rest,   # a block missing
        [header] + blocks[:2] + blocks[1:] + rest,   # a block twice
        [header] + blocks[::-1] + rest,              # blocks reversed
        blocks + rest,                               # no header
        [header, header] + blocks + rest,            # header twice
        [header] + blocks + rest[::-1],              # attachment before checkpoint
        [header] + blocks + rest + blocks[:1],       # block after the checkpoint
        [header] + blocks[:1] + [""] + blocks[1:],   # an empty line
        [bundles[0][0]] + blocks + rest,             # another ledger's header
        [header] + blocks + bundles[0][2:3],         # another ledger's checkpoint
    ]
    seeds += ["\n".join(v) + "\n" for v in variants]
    whole = "\n".join(five)
    seeds.append(whole)                              # no final newline
    seeds.append(whole.replace("\n", "\r\n"))       # CRLF
    seeds.append(whole.replace('"n":3', '"n":4'))    # tampered event
    seeds.append(whole.replace('"number":2', '"number":2.0'))  # not canonical
    seeds.append(whole.replace("Ed25519", "Ed448", 1))
    seeds.append(whole.replace('"previous":"u', '"previous":"v', 1))
    return seeds


def block_lines(bundles):
    return [json.dumps(json.loads(l)["block"], separators=(",", ":"), ensure_ascii=False,
                       sort_keys=True)
            for lines in bundles for l in lines if l.startswith('{"block"')]


def block_seeds(bundles):
    """Single blocks (inner objects, as stored) and whole chains, one per line."""
    seeds = []
    for lines in bundles:
        chain = [l[len('{"block":'):-1] for l in lines if l.startswith('{"block"')]
        seeds += chain[:3]
        seeds.append("\n".join(chain))
    chain = seeds[-1].split("\n")
    seeds.append("\n".join([chain[0], chain[2], chain[1]]))  # out of order
    seeds.append("\n".join([chain[0], chain[0]]))            # genesis twice
    seeds.append(chain[1].replace('"number":2', '"number":1'))
    seeds.append(chain[0].replace('"threshold":1', '"threshold":2'))
    seeds.append(chain[0].replace('"role":"host"', '"role":"owner"'))
    seeds.append(chain[1] + " ")
    return seeds


# Event texts for canonical_block_reader_fuzzer ("!" + text: the event of a
# fixed block): canonical and not, escapes, numbers, names, nesting.
EVENT_TEXTS = [
    '{"event":"x"}', '{"event":"caf\\u00e9"}', '{"event":"café 😀"}', '{"event":"a\\/b"}',
    '{"event":"\\u001f\\n\\"\\\\"}', '{"event":"\\u001F"}', '{"event":"\\u000a"}',
    '{"event":"\\ud83d\\ude00"}', '{"event":"\ufeff\u2028"}',
    '{"event":"x","n":[0,-1,0.1,1e+21,1e21,1E2,01,-0,5e-324,1e400,9007199254740993]}',
    '{"event":"x","b":[true,false,null,{},[]]}', '{"a":1,"event":"x","a":2}',
    '{"n":1,"event":"x"}', '{"event":"x","\ue000":1,"😀":2}', '{"é":1,"event":"x"}',
    '{"a":' + "[" * 30 + "]" * 30 + ',"event":"x"}',
    '{"a":' + "[" * 31 + "]" * 31 + ',"event":"x"}',
    '{ "event":"x"}', '{"event":1}', '[]',
]


def canonical_block_reader_seeds(bundles):
    return block_seeds(bundles) + ["!" + text for text in EVENT_TEXTS]


def checkpoint_seeds(bundles):
    notes = [json.loads(l)["checkpoint"] for lines in bundles for l in lines
             if l.startswith('{"checkpoint"')]
    seeds = list(notes)
    note = notes[-1]
    text, _, signature = note.partition("\n\n")
    seeds.append(text + "\n\n" + signature + signature)          # the line twice
    seeds.append(text + "\n\n" + signature.replace("—", "-"))    # not an em dash
    seeds.append(text + "\n\n")                                  # no signature
    seeds.append(note.replace("\n", "\r\n"))
    seeds.append(text.replace("\n5\n", "\n05\n") + "\n\n" + signature)
    witness = "— witness.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
    # "!" seeds: the fuzz target signs the note text with its fixed host key,
    # so their origin is that key's ledger id.
    root = text.splitlines()[2]
    fixed = f"{FIXED_LEDGER_ID}\n5\n{root}\n"
    for size in ("0", "1", "18446744073709551615", "18446744073709551616"):
        seeds.append(f"!{FIXED_LEDGER_ID}\n{size}\n{root}\n\n")
    seeds.append("!" + fixed + "\n" + witness)
    seeds.append("!" + fixed + "ext line\n\n")
    seeds.append("!" + fixed + "\n" + signature)
    seeds.append("!" + text + "\n\n")                          # another ledger
    return seeds


JSON_SEEDS = [
    "{}", "[]", "null", "true", "false", "0", "-0", "1", "-1", "1.5", "1e21", "1e-7",
    "5e-324", "1.7976931348623157e308", "1e400", "1e-400", "0.1", "123456789012345678901",
    '"\\u0000\\u001f\\"\\\\/"', '"\\ud83d\\ude00"', '"\\ud83d"', '"é€😀"',
    '{"b":1,"a":2,"\\u20ac":3,"\\ud83d\\ude00":4,"\\ufb33":5}',
    '{"a":{"b":[1,[2,{"c":null}]]}}', "[" * 32 + "]" * 32, "[" * 33 + "]" * 33,
    '{"a":1,"a":2}', "[1,]", "/* c */ 1", "NaN", "01", " [ 1 , 2 ] ", "\ufeff{}",
    '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001]}',
]


def chain_seeds():
    """Scripts for chain_fuzzer: lines of control byte, key byte, event JSON."""
    def line(control, keys, event):
        return bytes([control, keys]) + json.dumps(event, separators=(",", ":")).encode()

    opened = {"event": "opened document", "document type": "note",
              "cryptographic signing key": "@0"}
    scripts = [
        [line(0x11, 0x11, opened)],
        [line(0x11, 0x11, opened), line(0x01, 0x10, {"event": "paid", "amount": 5})],
        [line(0x11, 0x11, opened), line(0x81, 0x10, {"event": "sealed"}),
         line(0x01, 0x10, {"event": "closed document"})],
        [line(0x11, 0x11, opened), line(0x01, 0x10, {"event": "closed document"}),
         line(0x01, 0x10, {"event": "after close"})],
        [line(0x33, 0x13, opened), line(0x03, 0x10, {"event": "both signed"}),
         line(0x01, 0x10, {"event": "one of two"})],
        [line(0x11, 0x11, opened), line(0x31, 0x16, {"event": "transferred ownership"}),
         line(0x06, 0x10, {"event": "new owners"}), line(0x01, 0x10, {"event": "old owner"})],
        [line(0x11, 0x11, opened), line(0x01, 0x10, {"event": "transferred ownership"})],
        [line(0x11, 0x11, opened), line(0x01, 0x10, {"event": "moved document",
                                                     "new id": "@L",
                                                     "new cryptographic signing key": "@1"})],
        [line(0x11, 0x11, {"event": "became document", "document type": "note",
                           "cryptographic signing key": "@0", "original id": "@L",
                           "moved from": "@L", "moved from block": "@F"})],
        [line(0x11, 0x11, {"event": "opened document", "document type": "note",
                           "cryptographic signing key": "@1"})],
        [line(0x11, 0x11, opened), line(0x01, 0x00, {"event": "opened document"})],
        [line(0x11, 0x11, opened), line(0x01, 0x10, {"event": "x", "signature": "u"})],
        [line(0x11, 0x11, opened), line(0x01, 0x10, {"event": "x", "k" * 300: 1})],
        [line(0x1f, 0x7f, opened), line(0x0f, 0x10, {"event": "four signers"})],
        [line(0x01, 0x10, {"event": "no genesis"})],
    ]
    return [b"\n".join(script) for script in scripts]


def merkle_seeds():
    rng = random.Random(9162)
    seeds = [bytes([1, 0, 0]), bytes([2, 0, 0, 2, 0, 1, 0, 0, 0]),
             bytes([7, 0, 255, 7, 0, 3, 0, 1, 5, 7, 0, 4, 0, 5, 9])]
    for _ in range(24):
        queries = rng.randint(1, 8)
        seeds.append(bytes(rng.randrange(256) for _ in range(3 + 6 * queries)))
    # MerkleFrontier serialisations: size 0, 1 and 3 (two subtree hashes).
    seeds.append(bytes(3) + bytes(8))
    seeds.append(bytes(3) + (1).to_bytes(8, "big") + bytes(32))
    seeds.append(bytes(3) + (3).to_bytes(8, "big") + bytes(64))
    return seeds


# --- SPEC §11 evidence, signed with the fixed host key ---

def jcs(value):
    """RFC 8785 for the values written here (ASCII names, integers, strings)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      sort_keys=True)


def multibase(data):
    return "u" + base64.urlsafe_b64encode(data).decode().rstrip("=")


def multihash(data):
    return b"\x12\x20" + hashlib.sha256(data).digest()


def signed_block(number, previous, event, owner, controllers=None):
    """A complete block: owner signature by `owner`, host by the fixed key."""
    body = {"ledger": FIXED_LEDGER_ID, "number": number,
            "time": f"2026-11-22T10:04:0{number}.123Z", "event": event}
    if previous is not None:
        body["previous"] = previous
    if controllers is not None:
        body["controllers"] = controllers
    fingerprint = multibase(multihash(jcs(body).encode()))
    message = ("microledger-block-v1 " + fingerprint).encode()
    signatures = [{"role": role, "alg": "Ed25519", "key": key_text(key),
                   "sig": multibase(key.sign(message))}
                  for role, key in (("owner", owner), ("host", FIXED_HOST_KEY))]
    return dict(body, fingerprint=fingerprint, signatures=signatures)


def merkle_root(leaves):
    """RFC 9162 MTH over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def merkle_path(index, leaves):
    """RFC 9162 PATH, lowest sibling first."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return merkle_path(index, leaves[:k]) + [merkle_root(leaves[k:])]
    return merkle_path(index - k, leaves[k:]) + [merkle_root(leaves[:k])]


def signed_note(size, root):
    text = f"{FIXED_LEDGER_ID}\n{size}\n{base64.b64encode(root).decode()}\n"
    name = FIXED_LEDGER_ID.encode()
    raw_key = FIXED_HOST_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_hash = hashlib.sha256(name + b"\n\x01" + raw_key).digest()[:4]
    signature = FIXED_HOST_KEY.sign(text.encode())
    return (text + "\n\u2014 " + FIXED_LEDGER_ID + " " +
            base64.b64encode(key_hash + signature).decode() + "\n")


def evidence(kind, x, y):
    a, b = sorted([x, y], key=lambda side: jcs(side).encode())
    return jcs({"evidence": "microledger-equivocation-v1", "ledger": FIXED_LEDGER_ID,
                "kind": kind, "a": a, "b": b})


def evidence_seeds():
    """Valid evidence of each kind (raw, and as "!" inputs the target signs
    again), and near misses."""
    owner = Ed25519PrivateKey.from_private_bytes(b"\x4f" * 32)
    controllers = {"threshold": 1, "keys": [key_text(owner)]}
    genesis = signed_block(1, None, {"event": "opened document", "document type": "note",
                                     "cryptographic signing key": key_text(owner)},
                           owner, controllers)
    other_genesis = signed_block(1, None, {"event": "opened document",
                                           "document type": "other",
                                           "cryptographic signing key": key_text(owner)},
                                 owner, controllers)
    chain = [genesis]
    for number in (2, 3):
        chain.append(signed_block(number, chain[-1]["fingerprint"],
                                  {"event": "paid", "n": number}, owner))
    left = signed_block(4, chain[-1]["fingerprint"], {"event": "paid", "to": "alice"}, owner)
    right = signed_block(4, chain[-1]["fingerprint"], {"event": "paid", "to": "mallory"},
                         owner)
    left_history = chain + [left, signed_block(5, left["fingerprint"], {"event": "x"}, owner)]
    right_history = chain + [right]

    def leaves(history):
        return [hashlib.sha256(b"\x00" + multihash(jcs(
            {k: v for k, v in block.items() if k not in ("fingerprint", "signatures")}
        ).encode())).digest() for block in history]

    def claim(history, size, index):
        hashes = leaves(history)[:size]
        return {"checkpoint": signed_note(size, merkle_root(hashes)), "index": index,
                "leaf": history[index]["fingerprint"],
                "proof": [multibase(h) for h in merkle_path(index, hashes)]}

    checkpoints = evidence("checkpoints", signed_note(4, merkle_root(leaves(left_history)[:4])),
                           signed_note(4, merkle_root(leaves(right_history))))
    blocks = evidence("blocks", left, right)
    genesis_blocks = evidence("blocks", genesis, other_genesis)
    leaves_4_5 = evidence("leaves", claim(left_history, 5, 3), claim(right_history, 4, 3))
    leaves_1_1 = evidence("leaves", claim([genesis], 1, 0), claim([other_genesis], 1, 0))
    valid = [checkpoints, blocks, genesis_blocks, leaves_4_5, leaves_1_1]
    seeds = valid + ["!" + v for v in valid]
    a_b = json.loads(blocks)
    seeds += [
        "\ufeff" + checkpoints,                                   # byte-order mark
        checkpoints + "\n",                                       # trailing newline
        evidence("checkpoints", signed_note(4, merkle_root(leaves(left_history)[:4])),
                 signed_note(5, merkle_root(leaves(left_history)))),  # sizes differ
        jcs(dict(a_b, a=a_b["b"], b=a_b["a"])),                   # b before a
        "!" + evidence("leaves", claim(left_history, 5, 4), claim(right_history, 4, 3)),
        "!" + evidence("blocks", left, chain[2]),                 # numbers differ
    ]
    return seeds


# --- SPEC §13 locator records and value data, for the fixed ledger ---

# The locator fuzz target's mirror key (seed 32 x 0x4d) and reader's clock
# (2026-12-06T10:00:00.000Z, in milliseconds).
FIXED_MIRROR_KEY = Ed25519PrivateKey.from_private_bytes(b"\x4d" * 32)
LOCATOR_NOW = 1796551200000
HOUR = 3600 * 1000


def spec_time(millis):
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def locator(role, signer, seq, lifetime, urls, ledger=None, key=None):
    """A locator record's JCS plaintext, signed by `signer` (None: unsigned)."""
    record = {"locator": "microledger-locator-v1", "ledger": ledger or FIXED_LEDGER_ID,
              "role": role, "key": key or key_text(signer or FIXED_HOST_KEY),
              "seq": seq, "expires": spec_time(seq + lifetime), "urls": urls}
    if signer is not None:
        record["sig"] = multibase(signer.sign(("microledger-locator-v1 " + jcs(record)).encode()))
    return jcs(record)


def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha §2.2), for XChaCha20-Poly1305."""
    def rotl(v, c):
        return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

    def quarter(s, a, b, c, d):
        for x, y, z, r in ((a, b, d, 16), (c, d, b, 12), (a, b, d, 8), (c, d, b, 7)):
            s[x] = (s[x] + s[y]) & 0xFFFFFFFF
            s[z] = rotl(s[z] ^ s[x], r)

    s = list(struct.unpack("<16I", b"expand 32-byte k" + key + nonce16))
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                           (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            quarter(s, a, b, c, d)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def value_data(plaintext, ledger_key_raw):
    """SPEC §13 value data: MLD1 ‖ nonce ‖ XChaCha20-Poly1305 (IETF) of the
    plaintext under the record key, AD = MLD1 ‖ the DHT key. The nonce is
    derived from the plaintext so that the corpus is reproducible."""
    dht_key = hashlib.sha256(b"microledger-dht-key-v1\n" + ledger_key_raw).digest()[:20]
    record_key = hashlib.sha256(b"microledger-dht-enc-v1\n" + ledger_key_raw).digest()
    nonce = hashlib.sha256(b"nonce" + plaintext).digest()[:24]
    sealed = ChaCha20Poly1305(hchacha20(record_key, nonce[:16])).encrypt(
        b"\0" * 4 + nonce[16:], plaintext, b"MLD1" + dht_key)
    return b"MLD1" + nonce + sealed


def locator_seeds():
    """Records signed by the fixed keys (raw; newline-separated sets), the same
    unsigned as "!" inputs the target signs, records breaking one rule, value
    data made here (the target's raw input is also one value), evidence."""
    assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")) == \
        bytes.fromhex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    host, mirror = FIXED_HOST_KEY, FIXED_MIRROR_KEY
    ledger_key_raw = host.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    other = Ed25519PrivateKey.from_private_bytes(b"\x4f" * 32)
    now = LOCATOR_NOW
    urls = ["grpcs://h1.example:7400", "https://h1.example/read?v=1"]
    mirror_urls = ["grpc://[2001:db8::1]:7400", "https://192.0.2.7:8443/m%20x"]
    host_record = locator("host", host, now - HOUR, 24 * HOUR, urls)
    mirror_record = locator("mirror", mirror, now - 2 * HOUR, 24 * HOUR, mirror_urls)
    older = locator("mirror", mirror, now - 3 * HOUR, 24 * HOUR, ["grpcs://old.example:1"])
    same_seq = locator("mirror", mirror, now - 2 * HOUR, 24 * HOUR, ["grpcs://m2.example:1"])
    evidence = evidence_seeds()[0]
    valid = [host_record, mirror_record, "\n".join([older, host_record, mirror_record, same_seq]),
             "\n".join([mirror_record, evidence, host_record])]
    unsigned = [
        locator("host", None, now - HOUR, 24 * HOUR, urls),
        locator("mirror", None, now, 48 * HOUR, ["grpc://m.example:1"], key=key_text(mirror)),
        locator("host", None, now - HOUR, 24 * HOUR, ["grpc://h1.example"]),       # no port
        locator("host", None, now - HOUR, 24 * HOUR, ["https://h1.example/a b"]),  # bad path
        locator("mirror", None, now - HOUR, 24 * HOUR, urls),                      # by the ledger key
        locator("host", None, now - 30 * HOUR, 24 * HOUR, urls),                   # expired
        locator("host", None, now + 2 * HOUR, 47 * HOUR, urls),                    # too late
        locator("host", None, now - HOUR, 49 * HOUR, urls),                        # > seq + 48 h
        locator("mirror", None, now - HOUR, 24 * HOUR, urls, key=key_text(mirror),
                ledger="jlinx:" + key_text(other)),                                # another ledger
        locator("host", None, now - HOUR, 24 * HOUR,
                ["grpc://a:1", "grpcs://[::ffff:1.2.3.4]:2", "https://a.b", "https://c?d"]),
    ]
    signed_sets = ["\n".join(unsigned[:2]), "\n".join([unsigned[0], unsigned[0], unsigned[1]])]
    broken = [
        locator("host", other, now - HOUR, 24 * HOUR, urls, key=key_text(host)),  # bad signature
        locator("host", other, now - HOUR, 24 * HOUR, urls),                     # host by another key
        json.dumps(json.loads(host_record), separators=(", ", ": ")),          # not JCS
        "{}", '{"hello":"world"}', "[]", "",
    ]
    values = [value_data(p.encode(), ledger_key_raw)
              for p in (host_record, mirror_record, evidence)]
    values.append(value_data(host_record.encode(),
                             other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))
    values.append(b"MLD1" + bytes(40))
    return (valid + ["!" + u for u in unsigned] + ["!" + s for s in signed_sets] + broken +
            values)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    bundles = sample_bundles(sys.argv[1])
    write("bundle", bundle_seeds(bundles))
    write("block", block_seeds(bundles))
    write("canonical_block_reader", canonical_block_reader_seeds(bundles))
    write("checkpoint", checkpoint_seeds(bundles))
    write("json", JSON_SEEDS + block_lines(bundles)[:6])
    write("chain", chain_seeds())
    write("merkle", merkle_seeds())
    write("evidence", evidence_seeds())
    write("locator", locator_seeds())


if __name__ == "__main__":
    main()
