"""A small Chrome DevTools Protocol client in the standard library, for the browser tests: Debian's
chromium, headless, driven over --remote-debugging-pipe (it reads commands on fd 3 and writes
answers and events on fd 4, each a JSON message ended by a NUL byte). No npm, no network: the
browser gets its own profile in the test's folder, its background services off, and is stopped
by its PID.

    b = Browser(workdir)            # starts chromium
    b.navigate("http://127.0.0.1:8080/")
    b.eval("document.title")
    b.screenshot("page.png")
    b.close()
"""
import base64
import json
import os
import select
import shutil
import signal
import time

CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, workdir, width=1366, height=768):
        if not shutil.which(CHROMIUM):
            raise AssertionError("chromium not found at %s: it is in deps.txt (apt-get install -y chromium)" % CHROMIUM)
        self.profile = os.path.join(workdir, "chromium-profile")
        os.makedirs(self.profile, exist_ok=True)
        self.log_path = os.path.join(workdir, "chromium.log")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--disable-dev-shm-usage", "--metrics-recording-only",
                "--no-pings", "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--autoplay-policy=no-user-gesture-required", "--window-size=%d,%d" % (width, height),
                "about:blank"]
        # the pipe ends become fds 3 and 4 of chromium; every other fd of ours is close-on-exec
        self.pid = os.posix_spawn(CHROMIUM, args, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2),
            (os.POSIX_SPAWN_DUP2, to_chrome_r, 3), (os.POSIX_SPAWN_DUP2, from_chrome_w, 4)])
        for fd in (to_chrome_r, from_chrome_w, log, null):
            os.close(fd)
        self._buf = b""
        self._next = 0
        self._events = []
        self.width, self.height = width, height
        self.session = None
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next((x for x in targets if x["type"] == "page"), None)
        tid = page["targetId"] if page else self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    # ---- the protocol ----

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise CDPError("no answer from chromium in time; its log: %s" % self.log_tail())
            ready, _, _ = select.select([self._r], [], [], min(left, 0.5))
            if ready:
                data = os.read(self._r, 1 << 20)
                if not data:
                    raise CDPError("chromium closed its pipe; its log: %s" % self.log_tail())
                self._buf += data
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, timeout=30, session=True):
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._w, data)
            data = data[n:]
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._next:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self._events.append(m)

    def events(self, method):
        """The events of that method received so far (console messages, exceptions...)."""
        return [e["params"] for e in self._events if e.get("method") == method]

    # ---- what the tests use ----

    def eval(self, expr, timeout=30):
        """The value of a JavaScript expression in the page (promises awaited)."""
        r = self.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True,
                                           "userGesture": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("JavaScript error: %s" % (d.get("exception", {}).get("description") or d.get("text")))
        return r["result"].get("value")

    def navigate(self, url, timeout=30):
        self.send("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete'", timeout, "the page loaded")

    def wait(self, expr, timeout, what, interval=0.1):
        """Poll expr in the page until it is true; its value."""
        deadline = time.time() + timeout
        while True:
            v = self.eval(expr)
            if v or isinstance(v, dict):  # a DOM node comes back as {} (not serialisable)
                return v
            if time.time() > deadline:
                raise AssertionError("timed out after %ss waiting in the page for %s (%s)" % (timeout, what, expr))
            time.sleep(interval)

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def log_tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def close(self):
        """Ask chromium to close, then make sure: SIGTERM, SIGKILL, by its PID."""
        if self.pid is None:
            return
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (CDPError, OSError):
            pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig:
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 5
            while time.time() < deadline:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                continue
            break
        self.pid = None
        os.close(self._r)
        os.close(self._w)
