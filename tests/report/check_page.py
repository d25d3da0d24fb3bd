#!/usr/bin/python3
"""Opens HTML pages in headless Chromium (Debian's `chromium`) and fails on anything a reader
would see go wrong: a console error, an uncaught exception, a resource that failed to load, or
any request that leaves the file itself (the reports must work offline). Saves a screenshot of
each whole page and checks a few facts of its DOM.

  tests/report/check_page.py [--expect-problem] [--screenshot-dir DIR] [--width PX]
                             [--max-height PX] [--shot-name NAME]
                             [--min-svg N] [--text TEXT]... PAGE.html|URL...

A page is a file, or an http:// or https:// URL of a page served live (the daemon's dashboard,
tests/report/dashboard_page_test.sh): then only that URL itself may be requested.

How: Chromium is started with --remote-debugging-pipe and driven over the DevTools protocol (JSON
messages separated by NUL bytes, written to its fd 3 and read from its fd 4); this needs nothing
but /usr/bin/python3 and the chromium package. For each page a new target is attached (flat
session), Runtime, Log, Network and Page are enabled before navigating, so every event of the
load is seen: Runtime.consoleAPICalled (type error or assert), Runtime.exceptionThrown,
Log.entryAdded (level error: failed loads, CSP and security errors) and Network.requestWillBeSent
for any URL that is not the page's own file: URL or a data: URL. After the load event and a short
settle time, the DOM is checked (no <script> element, at least --min-svg <svg> elements, each
--text present in the visible text) and Page.captureScreenshot saves the full page as PNG.

--width sets the window's width (default 1200 CSS pixels); --max-height keeps only the top of
the page in the screenshot (the README's picture: the summary and the timeline). The screenshot
is named after the page's file (drill-report.html: drill-report.png), or --shot-name NAME
(NAME.png; the name of a URL's screenshot, "page" by default).

--expect-problem inverts the verdict for a control page (a planted console error, a fetched
image): its problem must be caught, which is how the test proves that the checker can fail.

Exits 0 when every page passed, 1 when one failed, 2 on bad usage or when Chromium cannot be
driven. Chromium's own profile lives in a temporary directory, removed at the end; Chromium is
killed on every exit path (its own process group).
"""
import argparse
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60.0  # seconds per protocol answer or page load
SETTLE = 0.5    # seconds after the load event for late console messages


class Browser:
    def __init__(self, profile):
        # Our ends of the two pipes, above the standard descriptors; Chromium gets them as 3, 4.
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        fds = [fcntl_dup(fd) for fd in (cmd_r, cmd_w, res_r, res_w)]
        for fd in (cmd_r, cmd_w, res_r, res_w):
            os.close(fd)
        cmd_r, cmd_w, res_r, res_w = fds

        def child_fds():
            os.dup2(cmd_r, 3)
            os.dup2(res_w, 4)
            os.setsid()  # its own process group, killed as a whole

        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-sync",
             "--disable-background-networking", "--disable-component-update",
             "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
             "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=child_fds, close_fds=True)
        os.close(cmd_r)
        os.close(res_w)
        self.out = cmd_w
        self.inp = res_r
        self.buf = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # pylint: disable=broad-except
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for fd in (self.out, self.inp):
            try:
                os.close(fd)
            except OSError:
                pass

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.inp], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe (exit status %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=TIMEOUT):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method and m.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self.events.append(m)

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass


def fcntl_dup(fd):
    import fcntl  # pylint: disable=import-outside-toplevel
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


def check_page(browser, path, args):
    """Returns a list of problems (empty: the page passed)."""
    served = path.startswith(("http://", "https://"))
    url = path if served else "file://" + os.path.abspath(path)
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.send(domain + ".enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": args.width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                 session=session)
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_event("Page.loadEventFired", session)
    browser.drain(SETTLE)

    problems = []
    for m in browser.events:
        if m.get("sessionId") != session:
            continue
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append("console %s: %s" % (p["type"], text))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            problems.append("uncaught exception: %s" % d.get("exception", {}).get(
                "description", d.get("text", "")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            problems.append("browser error (%s): %s %s" % (e.get("source"), e.get("text"),
                                                           e.get("url", "")))
        elif method == "Network.requestWillBeSent":
            req = p.get("request", {}).get("url", "")
            if req != url and not req.startswith("data:"):
                problems.append("request leaves the file: %s" % req)
        elif method == "Network.loadingFailed":
            problems.append("a load failed: %s" % p.get("errorText"))
    browser.events = [m for m in browser.events if m.get("sessionId") != session]

    def evaluate(expression):
        r = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                         session=session)
        return r.get("result", {}).get("value")

    scripts = evaluate("document.querySelectorAll('script').length")
    svgs = evaluate("document.querySelectorAll('svg').length")
    if not args.expect_problem:
        if scripts != 0:
            problems.append("the page has %s <script> elements" % scripts)
        if svgs is None or svgs < args.min_svg:
            problems.append("the page has %s <svg> elements, fewer than %d" % (svgs, args.min_svg))
        # Each chart has laid out with a real size (an SVG that failed to parse has none).
        sizes = evaluate("Array.from(document.querySelectorAll('svg')).map("
                         "s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
        for w, h in sizes or []:
            if w < 100 or h < 50:
                problems.append("an <svg> is laid out at %sx%s" % (w, h))
        body = evaluate("document.body.innerText") or ""
        for text in args.text:
            if text not in body:
                problems.append("the visible text lacks %r" % text)

    if args.screenshot_dir:
        metrics = browser.send("Page.getLayoutMetrics", session=session)
        size = dict(metrics.get("cssContentSize") or metrics.get("contentSize"))
        if args.max_height:
            size["height"] = min(size["height"], args.max_height)
        shot = browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}},
            session=session)
        name = args.shot_name or ("page" if served else
                                  os.path.splitext(os.path.basename(path))[0])
        png = os.path.join(args.screenshot_dir, name + ".png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("     screenshot %s (%dx%d)" % (png, size["width"], size["height"]))
    browser.send("Target.closeTarget", {"targetId": target})
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--expect-problem", action="store_true")
    parser.add_argument("--screenshot-dir")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--max-height", type=int, default=0)
    parser.add_argument("--shot-name")
    parser.add_argument("--min-svg", type=int, default=0)
    parser.add_argument("--text", action="append", default=[])
    parser.add_argument("pages", nargs="+")
    args = parser.parse_args()
    if not shutil.which("chromium"):
        print("check_page.py: chromium is not installed (scripts/install-deps.sh --servers)",
              file=sys.stderr)
        return 2
    profile = tempfile.mkdtemp(prefix="lifeboat-chromium-", dir=os.environ.get("TMPDIR"))
    browser = None
    failed = 0
    try:
        browser = Browser(profile)
        browser.send("Target.setDiscoverTargets", {"discover": False})
        for page in args.pages:
            problems = check_page(browser, page, args)
            caught = bool(problems)
            ok = caught if args.expect_problem else not caught
            print(("ok   - " if ok else "FAIL - ") + page +
                  (" (the checker caught: %s)" % problems[0] if args.expect_problem and caught
                   else ""))
            if not args.expect_problem:
                for p in problems:
                    print("       " + p)
            failed += 0 if ok else 1
    except (TimeoutError, EOFError, RuntimeError, OSError) as e:
        print("check_page.py: cannot drive chromium: %s" % e, file=sys.stderr)
        return 2
    finally:
        if browser:
            browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
