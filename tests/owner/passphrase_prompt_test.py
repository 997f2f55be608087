"""ml-owner's passphrase prompt (--passphrase_file=- on a terminal), run on a
pseudo-terminal: the prompt appears, what is typed is not echoed, and Ctrl-C at
the prompt ends the agent by SIGINT (the servers block SIGINT in every thread;
the passphrase read unblocks it) with the terminal's echo back on. And an agent
waiting for its passphrase on a FIFO nobody writes ends at SIGTERM (systemd's
or the kubelet's stop) instead of hanging until SIGKILL.
Usage: passphrase_prompt_test.py ML_OWNER. Bounded: every wait has a timeout."""
import os
import pty
import subprocess
import select
import signal
import sys
import tempfile
import termios
import time


def read_until(fd, needle, timeout):
    seen, deadline = b"", time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {needle!r} within {timeout} s; saw {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def main():
    owner = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp()
    pid, terminal = pty.fork()
    if pid == 0:
        os.execv(owner, [owner, f"--keystore={work}/keystore", "--passphrase_file=-",
                         "--listen=127.0.0.1:0", "--keystore_kdf=min"])
    failures = []

    def check(what, ok):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    try:
        read_until(terminal, b"keystore passphrase: ", 30)
        check("echo is off at the prompt", not termios.tcgetattr(terminal)[3] & termios.ECHO)
        os.write(terminal, b"secret-typed")
        time.sleep(0.3)
        os.write(terminal, b"\x03")  # Ctrl-C: the terminal sends SIGINT
        deadline, status = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            status = None
        check("Ctrl-C at the prompt ends the agent", status is not None)
        check("... by SIGINT", status is not None and os.WIFSIGNALED(status)
              and os.WTERMSIG(status) == signal.SIGINT)
        check("the terminal's echo is back on", bool(termios.tcgetattr(terminal)[3] & termios.ECHO))
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    fifo = os.path.join(work, "passphrase.fifo")
    os.mkfifo(fifo, 0o600)
    waiting = subprocess.Popen([owner, f"--keystore={work}/keystore2", f"--passphrase_file={fifo}",
                                "--listen=127.0.0.1:0", "--keystore_kdf=min"],
                               stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    waiting.send_signal(signal.SIGTERM)
    try:
        code = waiting.wait(timeout=20)
    except subprocess.TimeoutExpired:
        waiting.kill()
        code = waiting.wait()
    check("SIGTERM while waiting for the FIFO's writer ends the agent",
          code == -signal.SIGTERM)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
