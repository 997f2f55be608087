#!/usr/bin/python3
"""A client that is not ours reads from a mirror (issue #11, part 7).

Python grpcio with stubs compiled at test time from host.proto (as
tests/host/python_client_test.py does, whose helpers it reuses): appends 6
blocks to a real ml-host (memory storage) with an Ed25519 key held here,
starts ml-mirror following the ledger in full mode, waits (bounded) until it
holds them, stops the host, and reads and verifies from the mirror alone:
the blocks byte for byte, GetLedger (head, held ranges), an inclusion proof
against the signed checkpoint, and Append answering FAILED_PRECONDITION.

Usage: python_mirror_test.py ML_HOST ML_MIRROR PROTO_FILE PYTHON_CLIENT_TEST
"""
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import threading
import time


def start(args):
    """Starts a server; returns (process, address) from its start line."""
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        match = re.match(r"[\w-]+: listening on (\S+)", line)
        if match:
            # Keep draining its output so it never blocks on a full pipe.
            threading.Thread(target=lambda: sys.stderr.writelines(process.stderr),
                             daemon=True).start()
            return process, match.group(1)
    process.kill()
    raise AssertionError("no start line from " + args[0])


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main():
    host_binary, mirror_binary, proto_file, helpers_file = map(os.path.abspath, sys.argv[1:5])
    spec = importlib.util.spec_from_file_location("python_client_test", helpers_file)
    h = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h)
    import grpc
    from grpc_tools import protoc
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization

    out = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    proto_root = os.path.dirname(os.path.dirname(os.path.dirname(proto_file)))
    assert protoc.main(["protoc", "-I" + proto_root, "--python_out=" + out,
                        "--grpc_python_out=" + out, proto_file]) == 0, "protoc failed"
    sys.path.insert(0, out)
    from microledger.v1 import host_pb2, host_pb2_grpc

    host, host_address = start([host_binary, "--listen=127.0.0.1:0", "--storage=memory"])
    mirror = None
    try:
        stub = host_pb2_grpc.HostServiceStub(grpc.insecure_channel(host_address))
        owner = Ed25519PrivateKey.generate()
        owner_key = h.b64u(owner.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        created = stub.CreateLedger(host_pb2.CreateLedgerRequest(), timeout=10)
        ledger = created.ledger_id
        blocks, fingerprints, previous = [], [], None
        for number in range(1, 7):
            body = {"ledger": ledger, "number": number, "time": h.now_text()}
            if number == 1:
                body["controllers"] = {"threshold": 1, "keys": [owner_key]}
                body["event"] = {"event": "opened document", "document type": "test",
                                 "cryptographic signing key": owner_key}
            else:
                body["previous"] = previous
                body["event"] = {"event": "noted", "n": number}
            fingerprint = h.digest(h.jcs(body))
            message = b"microledger-block-v1 " + fingerprint.encode()
            block = dict(body, fingerprint=fingerprint, signatures=[
                {"role": "owner", "alg": "Ed25519", "key": owner_key,
                 "sig": h.b64u(owner.sign(message))}])
            request = host_pb2.AppendRequest(block=h.jcs(block))
            if number == 1:
                request.ledger_token = created.ledger_token
            sig = stub.Append(request, timeout=10).host_signature
            block["signatures"].append({"role": sig.role, "alg": sig.alg,
                                        "key": sig.key, "sig": sig.sig})
            blocks.append(h.jcs(block))
            fingerprints.append(fingerprint)
            previous = fingerprint

        mirror, mirror_address = start([
            mirror_binary, "--listen=127.0.0.1:0", "--storage=memory",
            "--follow=%s@%s#full" % (ledger, host_address), "--max_backoff_ms=200"])
        reader = host_pb2_grpc.HostServiceStub(grpc.insecure_channel(mirror_address))
        deadline = time.monotonic() + 15
        head = 0
        while time.monotonic() < deadline:
            try:
                head = reader.GetLedger(host_pb2.GetLedgerRequest(ledger_id=ledger),
                                        timeout=5).head_number
            except grpc.RpcError:
                head = 0
            if head == 6:
                break
            time.sleep(0.05)
        assert head == 6, "the mirror holds %d blocks" % head
        stop(host)

        got = [r.block for r in reader.GetBlocks(
            host_pb2.GetBlocksRequest(ledger_id=ledger, from_number=1), timeout=10)]
        assert got == blocks, "blocks read from the mirror differ"
        info = reader.GetLedger(host_pb2.GetLedgerRequest(ledger_id=ledger), timeout=10)
        assert info.head_number == 6 and info.head_fingerprint == fingerprints[-1]
        assert info.genesis_block == blocks[0]
        assert [(r.first, r.last) for r in info.held] == [(1, 6)]

        host_key = h.unb64u(ledger[len("jlinx:"):])
        proof = reader.GetInclusionProof(host_pb2.GetInclusionProofRequest(
            ledger_id=ledger, number=4), timeout=10)
        note, _, sigline = proof.checkpoint.partition("\n\n")
        origin, size, root_b64 = note.split("\n")[:3]
        assert origin == ledger and int(size) == 6 == proof.tree_size
        root = h.base64.b64decode(root_b64)
        name, payload = sigline.rstrip("\n").split(" ")[1:3]
        raw = h.base64.b64decode(payload)
        key_hash = h.hashlib.sha256(ledger.encode() + b"\n\x01" + host_key).digest()[:4]
        assert name == ledger and raw[:4] == key_hash
        h.Ed25519PublicKey.from_public_bytes(host_key).verify(raw[4:], (note + "\n").encode())
        leaf = h.leaf_hash(h.unb64u(fingerprints[3]))
        assert h.verify_inclusion(leaf, 3, 6, list(proof.hashes), root), "inclusion"

        try:
            reader.Append(host_pb2.AppendRequest(block=blocks[-1]), timeout=10)
            raise AssertionError("expected FAILED_PRECONDITION")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
            assert "read-only mirror" in error.details(), error.details()
        print("python client against a mirror: OK")
    finally:
        if mirror is not None:
            stop(mirror)
        if host.poll() is None:
            stop(host)


if __name__ == "__main__":
    main()
