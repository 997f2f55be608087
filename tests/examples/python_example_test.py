#!/usr/bin/python3
"""Runs examples/python/ledger_client.py as examples/README.md says, against
real ml-host and ml-owner processes (127.0.0.1, port 0, temporary
directories): stubs generated with Debian's grpc_tools from proto/, the example
run with its documented flags, its output checked. Then feeds the example's
verifier what a lying host could send (a changed event, a dropped block, a
checkpoint with another root or signature) and checks each is refused.
Stops what it starts; every wait is bounded.

Usage: python_example_test.py ML_HOST ML_OWNER EXAMPLE PROTO_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import grpc


def start(command, log_path):
    """Starts a server; returns (process, address from its "listening on" line)."""
    log = open(log_path, "w")
    process = subprocess.Popen(command, stderr=log, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with open(log_path) as f:
            match = re.search(r"listening on (\S+)", f.read())
        if match:
            return process, match.group(1)
        time.sleep(0.05)
    process.kill()
    process.wait()
    with open(log_path) as f:
        raise AssertionError(f"{command[0]} did not start: {f.read()}")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def refused(verify, what):
    import ledger_client
    try:
        verify()
    except ledger_client.VerificationError as error:
        check(True, f"{what} is refused ({error})")
        return
    check(False, f"{what} is refused")


def check_lying_host(example_dir, host_address, ledger_id):
    sys.path.insert(0, example_dir)
    import ledger_client
    from microledger.v1 import host_pb2, host_pb2_grpc
    host = host_pb2_grpc.HostServiceStub(grpc.insecure_channel(host_address))
    checkpoint = host.GetCheckpoint(
        host_pb2.GetCheckpointRequest(ledger_id=ledger_id), timeout=30).checkpoint
    raw = [r.block for r in host.GetBlocks(
        host_pb2.GetBlocksRequest(ledger_id=ledger_id, from_number=1), timeout=30)]
    _, fingerprints = ledger_client.verify_blocks(ledger_id, raw)
    check(ledger_client.verify_checkpoint(ledger_id, checkpoint, fingerprints) == len(raw),
          "the verifier accepts the host's true answer")

    changed = list(raw)
    changed[2] = changed[2].replace(b'"n":2', b'"n":7')
    check(changed[2] != raw[2], "test setup: block 3 changed")
    refused(lambda: ledger_client.verify_blocks(ledger_id, changed), "a changed event")
    refused(lambda: ledger_client.verify_blocks(ledger_id, raw[:1] + raw[2:]), "a dropped block")
    refused(lambda: ledger_client.verify_blocks(
        "jlinx:" + ledger_client.encode_u(b"\x01" * 32), raw), "blocks of another ledger")
    refused(lambda: ledger_client.verify_checkpoint(ledger_id, checkpoint, fingerprints[:-1]),
            "a checkpoint over more blocks than were sent")
    lines = checkpoint.split("\n")
    other_root = "\n".join(lines[:2] + ["A" * 43 + "="] + lines[3:])
    refused(lambda: ledger_client.verify_checkpoint(ledger_id, other_root, fingerprints),
            "a checkpoint with another root")
    signature_line = [i for i, line in enumerate(lines) if line.startswith("\u2014 ")][0]
    name, signature = lines[signature_line].rsplit(" ", 1)
    forged = signature[:-4] + ("AAA=" if signature[-4:] != "AAA=" else "BBB=")
    forged_lines = lines[:signature_line] + [f"{name} {forged}"] + lines[signature_line + 1:]
    refused(lambda: ledger_client.verify_checkpoint(ledger_id, "\n".join(forged_lines),
                                                    fingerprints),
            "a checkpoint whose signature does not verify")


def main():
    host_binary, owner_binary, example, proto_dir = (os.path.abspath(a) for a in sys.argv[1:5])
    work = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    # The stubs, generated as examples/README.md says (into the example's
    # folder there; into a copy of the example here, the runfiles being
    # read-only).
    example_dir = os.path.join(work, "python")
    os.makedirs(os.path.join(example_dir, "generated"))
    with open(example) as source, open(os.path.join(example_dir, "ledger_client.py"), "w") as copy:
        copy.write(source.read())
    generate = subprocess.run(
        ["/usr/bin/python3", "-m", "grpc_tools.protoc", "-I" + proto_dir,
         "--python_out=" + os.path.join(example_dir, "generated"),
         "--grpc_python_out=" + os.path.join(example_dir, "generated"),
         os.path.join(proto_dir, "microledger/v1/host.proto"),
         os.path.join(proto_dir, "microledger/v1/owner.proto")],
        capture_output=True, text=True, timeout=60)
    check(generate.returncode == 0, f"stubs generated ({generate.stderr.strip()})")

    host, host_address = start([host_binary, "--listen=127.0.0.1:0", "--storage=rocksdb",
                                "--data_dir=" + os.path.join(work, "host")],
                               os.path.join(work, "host.log"))
    try:
        passphrase = os.path.join(work, "passphrase")
        with open(os.open(passphrase, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("example passphrase\n")
        agent, agent_address = start(
            [owner_binary, "--listen=127.0.0.1:0", "--keystore=" + os.path.join(work, "keys"),
             "--keystore_kdf=min", "--passphrase_file=" + passphrase, "--host=" + host_address],
            os.path.join(work, "agent.log"))
        try:
            run = subprocess.run(
                ["/usr/bin/python3", os.path.join(example_dir, "ledger_client.py"),
                 "--agent=" + agent_address, "--events=3"],
                capture_output=True, text=True, timeout=120)
            print(run.stdout, run.stderr, sep="\n")
            check(run.returncode == 0, "the example exits 0")
            created = re.search(r"^created (jlinx:u[A-Za-z0-9_-]{43})$", run.stdout, re.M)
            check(created is not None, "the example prints the ledger it created")
            check(re.findall(r"^appended block (\d+)$", run.stdout, re.M) == ["2", "3", "4"],
                  "it appended blocks 2, 3 and 4")
            events = [json.loads(m) for m in
                      re.findall(r"^\d+ \S+ (\{.*\})$", run.stdout, re.M)]
            check([e.get("n") for e in events[1:]] == [1, 2, 3] and
                  events[0].get("event") == "opened document",
                  "it read back the genesis and the three events from the host")
            check(re.search(rf"^verified: 4 blocks from {re.escape(host_address)}, .*"
                            rf"signed by {re.escape(created.group(1)) if created else '-'}$",
                            run.stdout, re.M) is not None,
                  "it verified 4 blocks and the checkpoint against the ledger id")
            if created:
                check_lying_host(example_dir, host_address, created.group(1))
        finally:
            stop(agent)
    finally:
        stop(host)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
