"""The web page (web/) in a real browser, headless Chromium (Debian's
chromium), against real services on loopback:

1. ml-host (with --http_listen) and ml-owner make a ledger of 300 blocks with
   an attachment; the page served by the host at /?ledger=L shows exactly
   `mlctl verify`'s verdict line and the events in order, and its attachment
   link downloads the attachment.
2. A proxy in front of the host's HTTP read API changes one block; the page
   reading through it (&from=PROXY) shows `mlctl verify`'s FAIL line for the
   same tampered bundle, with that block highlighted.
3. The page opened as a local file (file://) verifies the exported bundle
   chosen in its file input, offline, and the tampered one: same verdicts.
4. ml-mirror following the ledger with --http_listen serves the same page,
   which verifies the ledger from the mirror.

Screenshots go to $TEST_UNDECLARED_OUTPUTS_DIR (and $ML_SCREENSHOT_DIR).
Usage: browser_test.py ML_HOST ML_OWNER ML_MIRROR MLCTL WEB_INDEX_HTML
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402
from services import Services  # noqa: E402

ML_HOST, ML_OWNER, ML_MIRROR, MLCTL, WEB_INDEX = [os.path.abspath(p) for p in sys.argv[1:6]]
WORK = tempfile.mkdtemp(prefix="ml-browser-", dir=os.environ.get("TEST_TMPDIR"))
SHOTS = [d for d in (os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR"),
                     os.environ.get("ML_SCREENSHOT_DIR")) if d]
SERVICES = Services()
failures = []


def check(condition, what):
    print(("PASS " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def mlctl(agent, *args, check_exit=True):
    result = subprocess.run([MLCTL, "--agent=" + agent, *args], capture_output=True,
                            text=True, timeout=120)
    if check_exit and result.returncode != 0:
        raise RuntimeError(f"mlctl {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


def verify_file(path):
    result = subprocess.run([MLCTL, "verify", path], capture_output=True, text=True,
                            timeout=120)
    return result.stdout.strip()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


class TamperingProxy(http.server.ThreadingHTTPServer):
    """Forwards GETs to `upstream`, replacing `old` by `new` in the answers."""

    def __init__(self, upstream, old, new):
        self.upstream, self.old, self.new = upstream, old, new
        super().__init__(("127.0.0.1", 0), TamperingHandler)


class TamperingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with urllib.request.urlopen(self.server.upstream + self.path, timeout=10) as answer:
                status, body = answer.status, answer.read()
                content_type = answer.headers.get("Content-Type", "text/plain")
        except urllib.error.HTTPError as error:
            status, body, content_type = error.code, error.read(), "text/plain"
        body = body.replace(self.server.old, self.server.new)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *unused):
        pass


PAGE_STATE = """(() => {
  const state = document.body && document.body.dataset.state;
  if (state !== 'done') return null;
  return JSON.stringify({
    verdict: document.getElementById('verdict').textContent,
    verdictClass: document.getElementById('verdict').className,
    error: document.getElementById('error').textContent,
    events: [...document.querySelectorAll('#timeline li.block .event')].map(e => e.textContent),
    failed: [...document.querySelectorAll('#timeline li.failed')].map(e => e.dataset.position),
    failedRule: [...document.querySelectorAll('#timeline li.failed .rule')].map(e => e.textContent),
    attachments: [...document.querySelectorAll('#timeline a.attachment')].map(a => a.href),
  });
})()"""


def page_result(browser, url, timeout=120):
    browser.navigate(url)
    return json.loads(browser.wait_for(PAGE_STATE, timeout=timeout))


def screenshot(browser, name):
    for directory in SHOTS:
        os.makedirs(directory, exist_ok=True)
        browser.screenshot(os.path.join(directory, name), full_page=False)


def main():
    _, (host_http, host_grpc) = SERVICES.start(
        [ML_HOST, "--storage=memory", "--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
         "--http_rate_limit=0"],
        [r"HTTP read API on (http://\S+)/", r"listening on (\S+) "])
    passphrase = os.path.join(WORK, "passphrase")
    with open(passphrase, "w") as out:
        out.write("browser test passphrase\n")
    os.chmod(passphrase, 0o600)
    _, (agent,) = SERVICES.start(
        [ML_OWNER, "--keystore=" + os.path.join(WORK, "keystore"),
         "--passphrase_file=" + passphrase, "--host=" + host_grpc, "--listen=127.0.0.1:0",
         "--keystore_kdf=interactive"],
        [r"listening on (\S+) "])

    ledger = mlctl(agent, "ledger", "create", "--type=invoice")
    mlctl(agent, "append", ledger, '{"event":"issued","amount":1200,"currency":"EUR"}')
    invoice = os.path.join(WORK, "invoice.txt")
    with open(invoice, "w") as out:
        out.write("Invoice 17: 1200 EUR\n")
    mlctl(agent, "append", ledger, '{"event":"attached invoice"}', "--attach=" + invoice)
    events = os.path.join(WORK, "events.jsonl")
    with open(events, "w") as out:
        for i in range(296):
            out.write(json.dumps({"event": "reminder sent", "n": i}) + "\n")
    mlctl(agent, "append", ledger, "--from-file=" + events)
    mlctl(agent, "append", ledger, '{"event":"paid","amount":1200}')
    bundle = os.path.join(WORK, "ledger.jsonl")
    mlctl(agent, "export", ledger, bundle)
    expected_ok = verify_file(bundle)
    check(expected_ok == f"OK {ledger} 300 blocks", f"mlctl verify says {expected_ok}")
    expected_events = (["opened document", "issued", "attached invoice"] +
                       ["reminder sent"] * 296 + ["paid"])

    with open(bundle, "rb") as source:
        lines = source.read().split(b"\n")
    old, new = b'"amount":1200,"currency"', b'"amount":9200,"currency"'
    check(lines[2].count(old) == 1, "block 2 holds the amount to tamper with")
    tampered_bundle = os.path.join(WORK, "tampered.jsonl")
    with open(tampered_bundle, "wb") as out:
        out.write(b"\n".join(lines).replace(old, new))
    expected_fail = verify_file(tampered_bundle)
    check(expected_fail.startswith("FAIL block 2: "), f"mlctl verify of the tampered bundle says {expected_fail}")

    with cdp.Browser() as browser:
        browser.open_page()

        # 1. The page served by the host.
        result = page_result(browser, f"{host_http}/?ledger={ledger}")
        check(result["verdict"] == expected_ok, f"host page verdict {result['verdict']!r}")
        check(result["verdictClass"] == "ok", "the OK verdict is shown as OK")
        check(result["events"] == expected_events, "the page lists the 300 events in order")
        check(len(result["attachments"]) == 1, "one attachment link")
        if result["attachments"]:
            downloaded = browser.evaluate(
                f"fetch({json.dumps(result['attachments'][0])}).then(r => r.text())")
            check(downloaded == "Invoice 17: 1200 EUR\n", "the attachment link gives the invoice")
        screenshot(browser, "host-ok.png")

        # 2. A tampered block through a proxy.
        proxy = TamperingProxy(host_http, old, new)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
        try:
            result = page_result(browser, f"{host_http}/?ledger={ledger}&from={proxy_url}")
        finally:
            proxy.shutdown()
        check(result["verdict"] == expected_fail, f"tampered page verdict {result['verdict']!r}")
        check(result["verdictClass"] == "fail", "the FAIL verdict is shown as a failure")
        check(result["failed"] == ["2"], f"block 2 is highlighted ({result['failed']})")
        check(result["failedRule"] == [expected_fail.split(": ", 1)[1]],
              "the highlighted block shows the rule")
        screenshot(browser, "tampered-fail.png")

        # 3. The page as a local file, bundles chosen offline.
        for path, expected, name in ((bundle, expected_ok, "file-ok.png"),
                                     (tampered_bundle, expected_fail, "file-fail.png")):
            browser.navigate("file://" + WEB_INDEX)
            browser.wait_for("document.body && document.body.dataset.state === 'idle'", timeout=30)
            browser.set_input_files("#bundle-file", [path])
            result = json.loads(browser.wait_for(PAGE_STATE, timeout=120))
            check(result["verdict"] == expected, f"local page, {os.path.basename(path)}: {result['verdict']!r}")
            screenshot(browser, name)
        check(result["failed"] == ["2"], "local page highlights the tampered block")

        # 4. The same page and ledger from a mirror.
        _, (mirror_http,) = SERVICES.start(
            [ML_MIRROR, "--storage=memory", "--listen=127.0.0.1:0",
             "--http_listen=127.0.0.1:0", f"--follow={ledger}@{host_grpc}"],
            [r"HTTP read API on (http://\S+)/"])
        host_checkpoint = get(f"{host_http}/{ledger}/checkpoint")
        deadline = time.monotonic() + 60
        mirrored = b""
        while time.monotonic() < deadline and mirrored != host_checkpoint:
            try:
                mirrored = get(f"{mirror_http}/{ledger}/checkpoint")
            except OSError:
                mirrored = b""
            time.sleep(0.2)
        check(mirrored == host_checkpoint, "the mirror serves the host's checkpoint")
        result = page_result(browser, f"{mirror_http}/?ledger={ledger}")
        check(result["verdict"] == expected_ok, f"mirror page verdict {result['verdict']!r}")
        check(result["events"] == expected_events, "the mirror's page lists the same events")
        screenshot(browser, "mirror-ok.png")


try:
    main()
except Exception as error:  # noqa: BLE001 - reported as a failure below
    failures.append(f"{type(error).__name__}: {error}")
    print("FAIL", failures[-1], flush=True)
finally:
    SERVICES.stop_all()
    shutil.rmtree(WORK, ignore_errors=True)

print(f"browser test: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
