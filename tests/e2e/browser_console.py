#!/usr/bin/env python3
"""Opens a noVNC console URL (vnc_lite.html) in a real browser: Chromium headless, driven over
WebDriver (Debian's chromium-driver; no npm, nothing downloaded). Waits for
noVNC's status to say "Connected", checks that the console's canvas is not
blank, and saves a screenshot.

Usage: browser_console.py URL SCREENSHOT.png [TIMEOUT_S]
Prints "CONNECTED <seconds since start>" and "SCREENSHOT <path> <non-blank
pixels>"; exits non-zero (with noVNC's last status) otherwise.
"""
import base64, json, os, signal, subprocess, sys, time, urllib.request

url, shot = sys.argv[1], sys.argv[2]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 90
start = time.monotonic()


def free_port():
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tools/free_port.py")
    return int(subprocess.check_output([sys.executable, tool], text=True))


def call(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}").get("value")


port = free_port()
log = open(os.path.splitext(shot)[0] + "-chromedriver.log", "w")
driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=log, stderr=log,
                          start_new_session=True)
session = None
try:
    for _ in range(100):
        try:
            call("GET", "/status")
            break
        except OSError:
            time.sleep(0.1)
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1024,768", "--user-data-dir=" + os.path.dirname(os.path.abspath(shot)) + "/chromium-profile"]}}}}
    session = call("POST", "/session", caps)["sessionId"]
    call("POST", f"/session/{session}/url", {"url": url})
    status = ""
    while time.monotonic() - start < timeout:
        status = call("POST", f"/session/{session}/execute/sync", {
            "script": "var e = document.getElementById('status') ||"
                      " document.getElementById('noVNC_status');"
                      "return e ? e.textContent : document.title;", "args": []}) or ""
        if "Connected" in status:
            break
        time.sleep(0.1)
    else:
        sys.exit(f"noVNC never said Connected within {timeout:.0f}s; last status: {status!r}")
    print(f"CONNECTED {time.monotonic() - start:.2f} {status.strip()}", flush=True)
    # The guest's screen reaches the canvas a moment after the connection.
    lit = 0
    while time.monotonic() - start < timeout:
        lit = call("POST", f"/session/{session}/execute/sync", {
            "script": "var c = document.querySelector('#screen canvas') ||"
                      " document.querySelector('canvas');"
                      "if (!c || !c.width) return 0;"
                      "var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                      "var n = 0; for (var i = 0; i < d.length; i += 4)"
                      " if (d[i] + d[i + 1] + d[i + 2] > 48) n++; return n;", "args": []})
        if lit > 100:
            break
        time.sleep(0.5)
    png = base64.b64decode(call("GET", f"/session/{session}/screenshot"))
    with open(shot, "wb") as f:
        f.write(png)
    print(f"SCREENSHOT {os.path.abspath(shot)} {lit}", flush=True)
    if lit <= 100:
        sys.exit(f"the console's canvas stayed blank ({lit} lit pixels)")
finally:
    if session:
        try:
            call("DELETE", f"/session/{session}")
        except OSError:
            pass
    os.killpg(driver.pid, signal.SIGTERM)
    driver.wait(timeout=10)
