"""Micro Ledger servers (ml-host, ml-owner, ml-mirror) as child processes for
the browser test and the HTTP benchmark: started with their stderr drained
by a thread, ready once their start lines have been seen; stopped together.
"""

import re
import subprocess
import threading


class Services:
    def __init__(self):
        self._processes = []

    def start(self, args, ready_patterns, timeout=60):
        """Starts `args`; returns the process and the first group of each
        pattern, in order, once each has matched a line of its stderr."""
        process = subprocess.Popen(args, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, text=True)
        self._processes.append(process)
        found = {}
        ready = threading.Event()
        log = []

        def drain():
            for line in process.stderr:
                log.append(line)
                del log[:-20]
                for pattern in ready_patterns:
                    match = re.search(pattern, line)
                    if match and pattern not in found:
                        found[pattern] = match.group(1)
                if len(found) == len(ready_patterns):
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout) or len(found) != len(ready_patterns):
            raise RuntimeError(f"{args[0]} did not start: {''.join(log)}")
        return process, [found[pattern] for pattern in ready_patterns]

    def stop_all(self):
        """SIGTERM to every process, then SIGKILL to any still running 20 s later."""
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
