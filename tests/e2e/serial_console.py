#!/usr/bin/env python3
"""Reads a guest's serial console through the serial proxy's websocket, as a
client of Nova's serial console does, until a line appears.

Usage: serial_console.py WS_URL LINE [TIMEOUT_S]
Prints "SERIAL <seconds> <the line as read>"; exits non-zero if the line does
not come within the timeout (default 120 s) or the proxy refuses the token.
"""
import base64, os, socket, struct, sys, time, urllib.parse

url, want = sys.argv[1], sys.argv[2].encode()
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 120
start = time.monotonic()
u = urllib.parse.urlparse(url)


def connect():
    """A websocket to the proxy, or None if it (or the guest's console behind
    it) is not there yet: the proxy then accepts and closes at once."""
    try:
        c = socket.create_connection((u.hostname, u.port or 80), timeout=10)
    except OSError:
        return None
    key = base64.b64encode(os.urandom(16)).decode()
    c.sendall((f"GET {u.path or '/'}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: binary\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = c.recv(1)
        if not chunk:
            return None
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit("no websocket: " + head.split(b"\r\n")[0].decode())
    # A refused token or an unreachable console: closed with nothing sent.
    c.settimeout(0.5)
    try:
        first = c.recv(1, socket.MSG_PEEK)
        if not first:
            return None
    except socket.timeout:
        pass  # open, and quiet: the guest has not written yet
    return c


s = None
while time.monotonic() - start < timeout:
    s = connect()
    if s:
        break
    time.sleep(0.2)
if s is None:
    sys.exit(f"the serial proxy never relayed {url} within {timeout:.0f}s")


def read_exact(n):
    data = b""
    while len(data) < n:
        s.settimeout(max(0.1, timeout - (time.monotonic() - start)))
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


seen = b""
try:
    while time.monotonic() - start < timeout:
        h = read_exact(2)
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exact(8))[0]
        payload = read_exact(n)
        if h[0] & 0x0F == 8:
            break
        seen += payload
        at = seen.find(want)
        if at >= 0:
            end = seen.find(b"\n", at)
            line = seen[at:end if end >= 0 else len(seen)].decode(errors="replace").strip()
            print(f"SERIAL {time.monotonic() - start:.1f} {line}", flush=True)
            sys.exit(0)
except (EOFError, socket.timeout, OSError):
    pass
sys.exit(f"no {want.decode()!r} on the serial console within {timeout:.0f}s; "
         f"read {len(seen)} bytes: {seen[-300:]!r}")
