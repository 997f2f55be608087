"""The health port (--health_listen) of the real ml-owner and ml-host, seen by a
gRPC client that is not ours (Python grpcio, messages encoded by hand):
- ml-owner, whose passphrase comes through a FIFO nobody has written yet, so
  its keystore is still locked: the health port answers liveness "" SERVING
  and readiness OwnerAgentService NOT_SERVING, while the served port does not
  listen; once the passphrase arrives it listens and readiness turns SERVING;
  after SIGTERM, during --drain_seconds, readiness is NOT_SERVING again while
  liveness stays SERVING; the agent exits 0;
- ml-host with TLS on its served port: the plaintext health port answers
  readiness HostService SERVING, and serves nothing but health (a HostService
  call there is UNIMPLEMENTED);
- a busy health address is refused at start with one line naming it.
Usage: health_port_test.py ML_OWNER ML_HOST TLS_DIR. Bounded: every wait has
a timeout."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc

from health_check import NOT_SERVING, SERVING, health_status, length_delimited

OWNER_SERVICE = "microledger.v1.OwnerAgentService"
HOST_SERVICE = "microledger.v1.HostService"


class Lines:
    """stderr of a process, read on a thread, waited for by pattern."""

    def __init__(self, stream):
        self.lines, self.cond = [], threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    match = re.search(pattern, line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines!r}")
                self.cond.wait(left)


def connected(address):
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=20)
    return channel


def main():
    # Every wait below has its own timeout; this bounds the blocking ones
    # (opening the FIFO waits for the agent to open it) too.
    signal.alarm(55)
    owner, host, tls_dir = (os.path.abspath(a) for a in sys.argv[1:4])
    failures = []

    def check(what, ok):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    work = tempfile.mkdtemp()
    fifo = os.path.join(work, "passphrase")
    os.mkfifo(fifo, 0o600)
    agent = subprocess.Popen(
        [owner, "--listen=127.0.0.1:0", "--health_listen=127.0.0.1:0",
         f"--keystore={work}/keystore", f"--passphrase_file={fifo}", "--keystore_kdf=min",
         "--drain_seconds=3", "--shutdown_grace_seconds=5"],
        stderr=subprocess.PIPE, text=True)
    lines = Lines(agent.stderr)
    try:
        health_address = lines.wait_for(r"health checks on (\S+)").group(1)
        health = connected(health_address)
        check("locked keystore: liveness '' SERVING", health_status(health, "") == SERVING)
        check("locked keystore: readiness OwnerAgentService NOT_SERVING",
              health_status(health, OWNER_SERVICE) == NOT_SERVING)
        check("locked keystore: the served port is not listening yet",
              not any("listening on" in line for line in lines.lines))

        with open(fifo, "w") as writer:
            writer.write("a passphrase for the health port test\n")
        served = lines.wait_for(r"listening on (\S+)").group(1)
        check("unlocked: readiness OwnerAgentService SERVING",
              health_status(health, OWNER_SERVICE) == SERVING)
        check("unlocked: the served port's own health agrees",
              health_status(connected(served), OWNER_SERVICE) == SERVING)

        agent.send_signal(signal.SIGTERM)
        lines.wait_for(r"draining for 3 s")
        check("draining: readiness NOT_SERVING", health_status(health, OWNER_SERVICE) == NOT_SERVING)
        check("draining: liveness SERVING", health_status(health, "") == SERVING)
        check("agent exits 0 after SIGTERM", agent.wait(timeout=30) == 0)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()

    tls_host = subprocess.Popen(
        [host, "--listen=127.0.0.1:0", "--storage=memory", "--health_listen=127.0.0.1:0",
         f"--tls_cert={tls_dir}/server.pem", f"--tls_key={tls_dir}/server.key"],
        stderr=subprocess.PIPE, text=True)
    host_lines = Lines(tls_host.stderr)
    try:
        health = connected(host_lines.wait_for(r"health checks on (\S+)").group(1))
        host_lines.wait_for(r"listening on (\S+)")
        check("TLS host: plaintext readiness HostService SERVING",
              health_status(health, HOST_SERVICE) == SERVING)
        get_ledger = health.unary_unary("/microledger.v1.HostService/GetLedger")
        try:
            get_ledger(length_delimited(1, b"jlinx:u" + b"A" * 43), timeout=5)
            check("the health port serves no HostService call", False)
        except grpc.RpcError as error:
            check("the health port serves no HostService call",
                  error.code() == grpc.StatusCode.UNIMPLEMENTED)
    finally:
        tls_host.send_signal(signal.SIGTERM)
        try:
            tls_host.wait(timeout=30)
        except subprocess.TimeoutExpired:
            tls_host.kill()
            tls_host.wait()

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    refused = subprocess.run(
        [host, "--listen=127.0.0.1:0", "--storage=memory", f"--health_listen=127.0.0.1:{port}"],
        stderr=subprocess.PIPE, text=True, timeout=30)
    busy.close()
    check("a busy health address is refused with exit 1", refused.returncode == 1)
    check("the refusal names the address",
          f"127.0.0.1:{port}" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1)

    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
