#!/usr/bin/python3
"""A client that is not ours: Python grpcio against the running ml-host.

Compiles proto/microledger/v1/host.proto at test time with grpc_tools.protoc,
starts ml-host (memory storage) on 127.0.0.1:0, then creates a ledger, appends
blocks signed with an Ed25519 key held here (python3-cryptography), reads them
back and verifies an inclusion proof against the signed checkpoint.

Usage: python_client_test.py ML_HOST_BINARY PROTO_FILE
"""
import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

import grpc
from grpc_tools import protoc
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives import serialization


def b64u(data):
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    assert text[0] == "u"
    body = text[1:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def digest(data):
    return b64u(b"\x12\x20" + hashlib.sha256(data).digest())


def jcs(value):
    # Enough JCS for this test: ASCII member names, strings and integers.
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def now_text():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def main():
    binary, proto_file = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    out = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    proto_root = os.path.dirname(os.path.dirname(os.path.dirname(proto_file)))
    rc = protoc.main(["protoc", "-I" + proto_root, "--python_out=" + out,
                      "--grpc_python_out=" + out, proto_file])
    assert rc == 0, "protoc failed"
    sys.path.insert(0, out)
    from microledger.v1 import host_pb2, host_pb2_grpc

    host = subprocess.Popen([binary, "--listen=127.0.0.1:0", "--storage=memory"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = host.stderr.readline()
        match = re.search(r"listening on (\S+)", line)
        assert match, "no start line: " + line
        channel = grpc.insecure_channel(match.group(1))
        grpc.channel_ready_future(channel).result(timeout=20)
        stub = host_pb2_grpc.HostServiceStub(channel)

        owner = Ed25519PrivateKey.generate()
        owner_key = b64u(owner.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        created = stub.CreateLedger(host_pb2.CreateLedgerRequest(), timeout=10)
        ledger = created.ledger_id
        host_key = unb64u(ledger[len("jlinx:"):])

        blocks, fingerprints, previous = [], [], None
        for number in range(1, 8):
            body = {"ledger": ledger, "number": number, "time": now_text()}
            if number == 1:
                body["controllers"] = {"threshold": 1, "keys": [owner_key]}
                body["event"] = {"event": "opened document", "document type": "test",
                                 "cryptographic signing key": owner_key}
            else:
                body["previous"] = previous
                body["event"] = {"event": "noted", "n": number}
            fingerprint = digest(jcs(body))
            message = b"microledger-block-v1 " + fingerprint.encode()
            block = dict(body, fingerprint=fingerprint, signatures=[
                {"role": "owner", "alg": "Ed25519", "key": owner_key,
                 "sig": b64u(owner.sign(message))}])
            request = host_pb2.AppendRequest(block=jcs(block))
            if number == 1:
                request.ledger_token = created.ledger_token
            reply = stub.Append(request, timeout=10)
            assert reply.number == number and reply.fingerprint == fingerprint
            sig = reply.host_signature
            assert sig.role == "host" and sig.key == ledger[len("jlinx:"):]
            Ed25519PublicKey.from_public_bytes(host_key).verify(unb64u(sig.sig), message)
            block["signatures"].append({"role": sig.role, "alg": sig.alg,
                                        "key": sig.key, "sig": sig.sig})
            blocks.append(jcs(block))
            fingerprints.append(fingerprint)
            previous = fingerprint

        got = [r.block for r in stub.GetBlocks(
            host_pb2.GetBlocksRequest(ledger_id=ledger, from_number=1), timeout=10)]
        assert got == blocks, "blocks read back differ"

        info = stub.GetLedger(host_pb2.GetLedgerRequest(ledger_id=ledger), timeout=10)
        assert info.head_number == 7 and info.head_fingerprint == fingerprints[-1]
        assert info.status == host_pb2.LEDGER_STATUS_OPEN
        assert not info.frozen and info.evidence_id == ""
        assert [(r.first, r.last) for r in info.held] == [(1, 7)]
        # No equivocation evidence is kept for it, and bytes that are not
        # evidence are refused (SPEC §11).
        kept = stub.GetLedgerEvidence(
            host_pb2.GetLedgerEvidenceRequest(ledger_id=ledger), timeout=10)
        assert list(kept.evidence) == []
        try:
            stub.ReportEquivocation(
                host_pb2.ReportEquivocationRequest(evidence=b'{"evidence":1}'), timeout=10)
            raise AssertionError("expected INVALID_ARGUMENT")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error

        proof = stub.GetInclusionProof(host_pb2.GetInclusionProofRequest(
            ledger_id=ledger, number=3), timeout=10)
        note, _, sigline = proof.checkpoint.partition("\n\n")
        origin, size, root_b64 = note.split("\n")[:3]
        assert origin == ledger and int(size) == 7 == proof.tree_size
        root = base64.b64decode(root_b64)
        # The note signature (C2SP signed-note, SPEC §7).
        name, payload = sigline.rstrip("\n").split(" ")[1:3]
        raw = base64.b64decode(payload)
        key_hash = hashlib.sha256(ledger.encode() + b"\n\x01" + host_key).digest()[:4]
        assert name == ledger and raw[:4] == key_hash
        Ed25519PublicKey.from_public_bytes(host_key).verify(raw[4:], (note + "\n").encode())
        leaf = leaf_hash(unb64u(fingerprints[2]))
        assert verify_inclusion(leaf, 2, 7, list(proof.hashes), root), "inclusion"
        assert root == proof.root_hash

        try:
            stub.GetLedger(host_pb2.GetLedgerRequest(ledger_id="jlinx:" + b64u(b"\x01" * 32)),
                           timeout=10)
            raise AssertionError("expected NOT_FOUND")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
        print("python client: OK")
    finally:
        host.terminate()
        try:
            host.wait(timeout=10)
        except subprocess.TimeoutExpired:
            host.kill()
            host.wait()


if __name__ == "__main__":
    main()
