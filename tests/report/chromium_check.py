#!/usr/bin/env python3
"""chromium_check: load a local HTML file in real headless Chromium (Debian's `chromium`), record
every console error, uncaught exception, JavaScript dialog (alert/confirm/prompt) and network
request, run a few DOM probes, click a table header, and save a full-page PNG screenshot.

  chromium_check.py PAGE.html SHOT.png [--width 1280] [--top TOP.png [--top-y Y]]
  exit 0 clean, 1 problems, 2 setup error (--top: also one screen, 900 px tall from Y, at full resolution)

Talks the DevTools protocol over --remote-debugging-pipe (file descriptors 3 and 4, JSON
messages ended by NUL): no websocket library and no port. The browser runs with a throwaway
profile and is always killed before returning; nothing is left running.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Browser:
    def __init__(self, timeout=60):
        exe = chromium_path()
        if not exe:
            raise RuntimeError("chromium is not installed: apt-get install chromium "
                               "(scripts/setup.sh --test installs it)")
        self.profile = tempfile.mkdtemp(prefix="emolab-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # copies above 100 so that the child's dup2 onto 3 and 4 cannot clobber them
        a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 100)
        b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 100)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child():
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.setsid()  # its own process group: we can kill the whole tree

        args = [exe, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--mute-audio",
                "--hide-scrollbars", "--font-render-hinting=none", f"--user-data-dir={self.profile}",
                "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=child, close_fds=False)
        os.close(a)
        os.close(b)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.timeout = timeout

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise RuntimeError("chromium closed the DevTools pipe" + (": " + err[-2000:] if err else ""))
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        mid = self.next_id
        m = {"id": mid, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.to_chrome, json.dumps(m).encode() + b"\0")
        deadline = time.time() + self.timeout
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
            self._on_event(msg)

    def _on_event(self, msg):
        if msg.get("method") == "Page.javascriptDialogOpening":  # never leave a dialog blocking the page
            m = {"id": 0, "method": "Page.handleJavaScriptDialog", "params": {"accept": True},
                 "sessionId": msg.get("sessionId")}
            self.next_id += 1
            m["id"] = self.next_id
            os.write(self.to_chrome, json.dumps(m).encode() + b"\0")

    def wait_event(self, method, seconds):
        deadline = time.time() + seconds
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            try:
                msg = self._read_message(deadline)
            except TimeoutError:
                return None
            self.events.append(msg)
            self._on_event(msg)
            if msg.get("method") == method:
                return msg

    def drain(self, seconds):
        deadline = time.time() + seconds
        while True:
            try:
                msg = self._read_message(deadline)
            except TimeoutError:
                return
            self.events.append(msg)
            self._on_event(msg)

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close")
                except Exception:
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
            for fd in (self.to_chrome, self.from_chrome):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self.proc.stderr:
                self.proc.stderr.close()
            shutil.rmtree(self.profile, ignore_errors=True)


PROBE = """(() => {
  const q = s => document.querySelectorAll(s).length;
  return JSON.stringify({
    title: document.title,
    scripts: q('script'), svgs: q('svg'), tables: q('table'), rows: q('#board tbody tr'),
    text: document.body ? document.body.innerText : '',
    resources: performance.getEntriesByType('resource').map(e => e.name),
    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
    overflowing: Array.from(document.querySelectorAll('.panel, .card')).filter(e => e.scrollWidth > e.clientWidth + 1).length
  });
})()"""

CLICK_RUNS = """(() => {
  const th = Array.from(document.querySelectorAll('#board th[data-sort]')).find(t => t.textContent.trim() === 'runs');
  if (!th) return JSON.stringify({ok: false, why: 'no runs header'});
  th.click();
  const i = parseInt(th.getAttribute('data-sort'), 10);
  const vals = Array.from(document.querySelectorAll('#board tbody tr')).map(r => parseFloat(r.children[i].getAttribute('data-v')));
  const sorted = vals.every((v, k) => k === 0 || vals[k - 1] >= v);
  th.click();
  const vals2 = Array.from(document.querySelectorAll('#board tbody tr')).map(r => parseFloat(r.children[i].getAttribute('data-v')));
  const asc = vals2.every((v, k) => k === 0 || vals2[k - 1] <= v);
  return JSON.stringify({ok: sorted && asc, n: vals.length, cls: th.className});
})()"""


def check_page(html_path, shot_path, width=1280, click=True, top_shot=None, top_y=0):
    """Returns a dict: errors (list of str), dialogs, requests (outside the page and data: URLs),
    probe (DOM facts), click (table sort check), screenshot size."""
    url = "file://" + os.path.abspath(html_path)
    br = Browser()
    try:
        target = br.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = br.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            br.send(m, session=sid)
        br.send("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
        br.send("Page.navigate", {"url": url}, session=sid)
        if not br.wait_event("Page.loadEventFired", 30):
            raise RuntimeError(f"{html_path}: the page did not finish loading in 30 s")
        br.drain(0.5)  # late errors (timers, async scripts)
        probe = json.loads(br.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True},
                                   session=sid)["result"]["value"])
        # full-page screenshot: the viewport as tall as the content (capped)
        metrics = br.send("Page.getLayoutMetrics", session=sid)
        h = int(min(max(metrics.get("cssContentSize", metrics.get("contentSize"))["height"], 600), 16000))
        br.send("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": h, "deviceScaleFactor": 1, "mobile": False}, session=sid)
        br.drain(0.3)
        shot = br.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=sid)
        png = base64.b64decode(shot["data"])
        with open(shot_path, "wb") as f:
            f.write(png)
        if top_shot:  # the first screen at full resolution, for a closer look
            top = br.send("Page.captureScreenshot", {"format": "png", "clip": {"x": 0, "y": top_y, "width": width,
                                                                               "height": 900, "scale": 1}},
                          session=sid)
            with open(top_shot, "wb") as f:
                f.write(base64.b64decode(top["data"]))
        clicked = None
        if click:  # after the screenshot: the page as generated, then the sort script
            clicked = json.loads(br.send("Runtime.evaluate", {"expression": CLICK_RUNS, "returnByValue": True},
                                         session=sid)["result"]["value"])
            br.drain(0.2)
    finally:
        br.close()

    errors, dialogs, requests = [], [], []
    page_url = url
    for e in br.events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            errors.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description", "")))
                                                                   for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errors.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
        elif m == "Page.javascriptDialogOpening":
            dialogs.append(p.get("type", "") + ": " + p.get("message", ""))
        elif m == "Network.requestWillBeSent":
            u = p.get("request", {}).get("url", "")
            if u != page_url and not u.startswith("data:"):
                requests.append(u)
        elif m == "Network.loadingFailed":
            errors.append("load failed: " + p.get("errorText", ""))
    return {"errors": errors, "dialogs": dialogs, "requests": requests, "probe": probe, "click": clicked,
            "png_bytes": len(png), "png_size": png_size(png)}


def png_size(png):
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return (0, 0)
    return (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    width = 1280
    if "--width" in argv:
        width = int(argv[argv.index("--width") + 1])
    top = argv[argv.index("--top") + 1] if "--top" in argv else None
    top_y = int(argv[argv.index("--top-y") + 1]) if "--top-y" in argv else 0
    try:
        r = check_page(argv[1], argv[2], width=width, top_shot=top, top_y=top_y)
    except Exception as e:  # setup problems: no chromium, timeouts
        print(f"chromium_check: {e}", file=sys.stderr)
        return 2
    p = r["probe"]
    print(f"{argv[1]}: {p['svgs']} svg, {p['rows']} table rows, {p['scripts']} script; "
          f"page {p['width']}x{p['height']} px; screenshot {argv[2]} {r['png_size'][0]}x{r['png_size'][1]} "
          f"({r['png_bytes'] // 1024} KB)")
    bad = False
    for k in ("errors", "dialogs", "requests"):
        for x in r[k]:
            print(f"  {k[:-1]}: {x}")
            bad = True
    if r["click"] is not None and not r["click"].get("ok"):
        print(f"  table sort by click failed: {r['click']}")
        bad = True
    print("clean" if not bad else "PROBLEMS")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
