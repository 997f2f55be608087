#!/usr/bin/python3
"""A Micro Ledger client in Python: writes through the owner agent, reads and
verifies from the host directly (see examples/README.md).

1. OwnerAgentService.CreateLedger makes a ledger (the agent signs the genesis
   block, the host countersigns), then AppendEvent appends a few events.
2. HostService.GetBlocks and GetCheckpoint read the ledger from its host, and
   everything is checked against the ledger id alone (docs/SPEC.md): each
   block's canonical bytes and fingerprint (§2), the chain of numbers and
   `previous` fingerprints, each block's host signature by the ledger key (§5),
   and the checkpoint: its C2SP note signature by the ledger key and its
   RFC 9162 root over the blocks' fingerprints (§7).

Prints one line per block and "verified: ..." at the end; exits 1 with
"FAILED: ..." when anything does not verify.

Usage: ledger_client.py [--agent=127.0.0.1:7401] [--host=HOST:PORT] [--events=N]
(--host defaults to the host the agent reports for the new ledger).
"""
import argparse
import base64
import hashlib
import json
import os
import sys

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# Stubs generated as examples/README.md says, beside this file (or on PYTHONPATH).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated"))
from microledger.v1 import host_pb2, host_pb2_grpc, owner_pb2, owner_pb2_grpc  # noqa: E402

LEDGER_PREFIX = "jlinx:"
BLOCK_SIGNATURE_CONTEXT = b"microledger-block-v1 "


class VerificationError(Exception):
    """What the host sent does not verify against the ledger id."""


def decode_u(text):
    """The bytes of a multibase base64url ("u...") string."""
    if not text.startswith("u"):
        raise VerificationError(f"not multibase base64url: {text[:40]!r}")
    body = text[1:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def encode_u(data):
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def canonical_json(value):
    """RFC 8785 (JCS) bytes for the JSON this example writes: objects with
    ASCII member names, strings and integers. Blocks whose bytes differ from
    this are reported, never accepted, so a limit here fails loudly."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def fingerprint_of(body):
    """SPEC §2: multibase of the sha2-256 multihash of the body's JCS bytes."""
    return encode_u(b"\x12\x20" + hashlib.sha256(canonical_json(body)).digest())


def ledger_public_key(ledger_id):
    if not ledger_id.startswith(LEDGER_PREFIX):
        raise VerificationError(f"not a ledger id: {ledger_id[:60]!r}")
    return Ed25519PublicKey.from_public_bytes(decode_u(ledger_id[len(LEDGER_PREFIX):]))


def verify_ed25519(public_key, signature, message, what):
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        raise VerificationError(f"{what}: signature does not verify") from None


def merkle_root(leaves):
    """RFC 9162 §2.1.1 tree hash of the leaves (bytes each)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:split]) +
                          merkle_root(leaves[split:])).digest()


def verify_blocks(ledger_id, raw_blocks):
    """Checks blocks 1..n as the host sent them; returns (blocks, fingerprints)."""
    host_key = ledger_public_key(ledger_id)
    host_key_text = ledger_id[len(LEDGER_PREFIX):]
    blocks, fingerprints = [], []
    for index, raw in enumerate(raw_blocks):
        number = index + 1
        block = json.loads(raw)
        if canonical_json(block) != raw:
            raise VerificationError(f"block {number}: bytes are not canonical JSON")
        if block.get("ledger") != ledger_id or block.get("number") != number:
            raise VerificationError(f"block {number}: wrong ledger or number")
        expected_previous = fingerprints[-1] if fingerprints else None
        if block.get("previous") != expected_previous:
            raise VerificationError(f"block {number}: previous does not chain")
        body = {k: v for k, v in block.items() if k not in ("fingerprint", "signatures")}
        fingerprint = fingerprint_of(body)
        if block.get("fingerprint") != fingerprint:
            raise VerificationError(f"block {number}: fingerprint does not recompute")
        host_signatures = [s for s in block["signatures"] if s.get("role") == "host"]
        if len(host_signatures) != 1 or block["signatures"][-1] is not host_signatures[0] \
                or host_signatures[0].get("key") != host_key_text:
            raise VerificationError(f"block {number}: not one host signature, last, by the ledger key")
        verify_ed25519(host_key, decode_u(host_signatures[0]["sig"]),
                       BLOCK_SIGNATURE_CONTEXT + fingerprint.encode(),
                       f"block {number} host signature")
        blocks.append(block)
        fingerprints.append(fingerprint)
    return blocks, fingerprints


def verify_checkpoint(ledger_id, checkpoint, fingerprints):
    """SPEC §7: the note is signed by the ledger key and its root is the tree
    hash of the fingerprints."""
    note, separator, signature_lines = checkpoint.partition("\n\n")
    lines = note.split("\n")
    if not separator or len(lines) < 3 or lines[0] != ledger_id:
        raise VerificationError("checkpoint: not a signed note for this ledger")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    if size != len(fingerprints):
        raise VerificationError(f"checkpoint: tree size {size}, {len(fingerprints)} blocks read")
    if root != merkle_root([decode_u(f) for f in fingerprints]):
        raise VerificationError("checkpoint: root is not the tree hash of the blocks")
    public_key = decode_u(ledger_id[len(LEDGER_PREFIX):])
    key_hash = hashlib.sha256(ledger_id.encode() + b"\n\x01" + public_key).digest()[:4]
    for line in signature_lines.rstrip("\n").split("\n"):
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == "\u2014" and parts[1] == ledger_id:
            signature = base64.b64decode(parts[2])
            if signature[:4] == key_hash:
                verify_ed25519(ledger_public_key(ledger_id), signature[4:],
                               (note + "\n").encode(), "checkpoint")
                return size
    raise VerificationError("checkpoint: no signature line by the ledger key")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agent", default="127.0.0.1:7401", help="ml-owner address")
    parser.add_argument("--host", default="", help="ml-host address (default: the agent's)")
    parser.add_argument("--events", type=int, default=3, help="events to append")
    options = parser.parse_args()

    agent = owner_pb2_grpc.OwnerAgentServiceStub(grpc.insecure_channel(options.agent))
    created = agent.CreateLedger(
        owner_pb2.OwnerCreateLedgerRequest(document_type="python example"), timeout=30)
    ledger_id = created.ledger_id
    print(f"created {ledger_id}")
    for n in range(1, options.events + 1):
        event = json.dumps({"event": "measured", "n": n, "unit": "kg"})
        outcome = agent.AppendEvent(
            owner_pb2.AppendEventRequest(ledger_id=ledger_id, event_json=event), timeout=30)
        print(f"appended block {outcome.committed.number}")

    host_address = options.host or agent.GetLedger(
        owner_pb2.OwnerGetLedgerRequest(ledger_id=ledger_id), timeout=30).host_address
    host = host_pb2_grpc.HostServiceStub(grpc.insecure_channel(host_address))
    checkpoint = host.GetCheckpoint(
        host_pb2.GetCheckpointRequest(ledger_id=ledger_id), timeout=30).checkpoint
    size = int(checkpoint.split("\n")[1])
    raw_blocks = [reply.block for reply in host.GetBlocks(
        host_pb2.GetBlocksRequest(ledger_id=ledger_id, from_number=1, to_number=size),
        timeout=30)]
    try:
        blocks, fingerprints = verify_blocks(ledger_id, raw_blocks)
        verify_checkpoint(ledger_id, checkpoint, fingerprints)
    except VerificationError as error:
        print(f"FAILED: {error}")
        return 1
    for block in blocks:
        print(f"{block['number']} {block['time']} {json.dumps(block['event'], sort_keys=True)}")
    print(f"verified: {len(blocks)} blocks from {host_address}, chained, host-signed and "
          f"covered by the checkpoint signed by {ledger_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
