"""ml-host's health and reflection, seen by a gRPC client that is not ours
(Python grpcio, messages encoded by hand: no generated code):
- grpc.health.v1 answers SERVING for "" (liveness) and for
  "microledger.v1.HostService" (readiness) once the host listens;
- after SIGTERM, during --drain_seconds, readiness answers NOT_SERVING while
  liveness stays SERVING and HostService calls are still served;
- the host then exits with status 0;
- server reflection v1 (and v1alpha) lists HostService and returns the file
  defining it.
Usage: health_test.py ML_HOST. Bounded: every wait has a timeout."""
import os
import re
import signal
import subprocess
import sys
import time

import grpc

from health_check import NOT_SERVING, SERVING, health_status, length_delimited

HOST_SERVICE = "microledger.v1.HostService"


def reflection_replies(channel, version, requests):
    info = channel.stream_stream(f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo")
    return list(info(iter(requests), timeout=10))


def main():
    binary = os.path.abspath(sys.argv[1])
    failures = []

    def check(what, ok):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    host = subprocess.Popen([binary, "--listen=127.0.0.1:0", "--storage=memory",
                             "--drain_seconds=3", "--shutdown_grace_seconds=5"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = host.stderr.readline()
        match = re.search(r"listening on (\S+)", line)
        assert match, "no start line: " + line
        channel = grpc.insecure_channel(match.group(1))
        grpc.channel_ready_future(channel).result(timeout=20)

        check("liveness '' SERVING", health_status(channel, "") == SERVING)
        check("readiness HostService SERVING", health_status(channel, HOST_SERVICE) == SERVING)
        try:
            health_status(channel, "no.such.Service")
            check("an unknown service is NOT_FOUND", False)
        except grpc.RpcError as error:
            check("an unknown service is NOT_FOUND", error.code() == grpc.StatusCode.NOT_FOUND)

        for version in ("v1", "v1alpha"):
            listed, file = reflection_replies(channel, version, [
                length_delimited(7, b""),
                length_delimited(4, HOST_SERVICE.encode())])
            check(f"reflection {version} lists HostService", HOST_SERVICE.encode() in listed)
            check(f"reflection {version} lists reflection v1",
                  b"grpc.reflection.v1.ServerReflection" in listed)
            check(f"reflection {version} returns host.proto for HostService",
                  b"microledger/v1/host.proto" in file and b"AppendStream" in file)
        missing = reflection_replies(channel, "v1", [length_delimited(4, b"no.such.Symbol")])[0]
        check("reflection v1 answers an error for an unknown symbol", b"symbol not found" in missing)

        get_ledger = channel.unary_unary("/microledger.v1.HostService/GetLedger")
        unknown = length_delimited(1, b"jlinx:u" + b"A" * 43)
        host.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 2
        readiness = SERVING
        while readiness == SERVING and time.monotonic() < deadline:
            readiness = health_status(channel, HOST_SERVICE)
            time.sleep(0.05)
        check("draining: readiness NOT_SERVING", readiness == NOT_SERVING)
        check("draining: liveness still SERVING", health_status(channel, "") == SERVING)
        try:
            get_ledger(unknown, timeout=5)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
        check("draining: HostService calls still served (NOT_FOUND, not UNAVAILABLE)",
              code == grpc.StatusCode.NOT_FOUND)
        host.wait(timeout=30)
        check("the host exits after the drain", host.returncode == 0)
        rest = host.stderr.read()
        check("the drain is logged", "draining for 3 s" in rest)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
