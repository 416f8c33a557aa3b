#!/usr/bin/env python3
"""The hardening probe (docs/operations.md, "HTTP limits"): replays what a
hostile client tried against a running chronova all-in-one and asserts that
every request gets a 4xx in the API's own error shape, that the daemon stays
alive and answers, and that its memory and incoming disk stay bounded.

Usage: probe.py COMPUTE_PORT IDENTITY_PORT IMAGE_PORT STATE_DIR DAEMON_PID PASSWORD [SECTION ...]
Runs every section (or those named) in order and exits non-zero with
"FAIL: ..." at the first broken expectation. Sections: %s.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time

COMPUTE, IDENTITY, IMAGE = (int(p) for p in sys.argv[1:4])
STATE, PID, PASSWORD = sys.argv[4], int(sys.argv[5]), sys.argv[6]
ONLY = sys.argv[7:]
HOST = "127.0.0.1"
RSS_LIMIT_KB = 1024 * 1024  # 1 GiB: the daemon idles at ~100 MB


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def rss_kb():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("daemon %d is gone" % PID)


def request(port, method, path, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def raw(port, data, timeout=30):
    """Sends bytes as they are; returns (status, body) of the answer."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        pass  # cut short: the server may answer without reading everything
    return read_answer(s)


def read_answer(s):
    """Reads one answer (up to its Content-Length, or to the close); closes s."""
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            head, sep, rest = out.partition(b"\r\n\r\n")
            if sep:
                lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")]
                if lengths and len(rest) >= lengths[0]:
                    break
    except OSError:
        pass
    s.close()
    return parse(out)


def parse(out):
    if not out.startswith(b"HTTP/1."):
        return 0, b""
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def alive(what):
    """The daemon answers a plain request at once after `what`."""
    try:
        status, _, _ = request(COMPUTE, "GET", "/", timeout=10)
    except OSError as e:
        fail("after %s the compute API does not answer: %s" % (what, e))
    if status != 200:
        fail("after %s GET / -> %d" % (what, status))
    if rss_kb() > RSS_LIMIT_KB:
        fail("after %s the daemon's RSS is %d KB" % (what, rss_kb()))


def nova_error(status, body, what):
    """Nova's fault body: {"<fault>": {"code": N, "message": "..."}}."""
    try:
        d = json.loads(body)
        (fault,) = d.values()
        assert fault["code"] == status and isinstance(fault["message"], str)
    except Exception:
        fail("%s: %d is not in Nova's error shape: %r" % (what, status, body[:300]))


def glance_error(status, body, what):
    try:
        d = json.loads(body)
        assert "message" in d or "error" in d
    except Exception:
        fail("%s: %d is not in Glance's error shape: %r" % (what, status, body[:300]))


def keystone_error(status, body, what):
    try:
        d = json.loads(body)
        assert d["error"]["code"] == status
    except Exception:
        fail("%s: %d is not in Keystone's error shape: %r" % (what, status, body[:300]))


def expect(port, method, path, want, body=None, headers=None, shape=nova_error, what=None):
    what = what or "%s %s" % (method, path[:80])
    status, _, data = request(port, method, path, body, headers)
    if status not in want:
        fail("%s -> %d (want %s): %r" % (what, status, want, data[:300]))
    if status >= 400:
        shape(status, data, what)
    alive(what)
    return data


def token(user, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "Default"}, "name": user, "password": PASSWORD}}},
        "scope": {"project": {"domain": {"name": "Default"}, "name": project}}}}
    status, headers, data = request(IDENTITY, "POST", "/v3/auth/tokens", body)
    if status != 201:
        fail("token for %s: %d %r" % (user, status, data))
    return headers["x-subject-token"]


def wait_status(h, server, want):
    for _ in range(300):
        _, _, data = request(COMPUTE, "GET", "/v2.1/servers/" + server, headers=h)
        if json.loads(data)["server"]["status"] == want:
            return
        time.sleep(0.1)
    fail("server %s never reached %s" % (server, want))


def incoming_bytes():
    total = 0
    d = os.path.join(STATE, "images", ".incoming")
    for root, _, files in os.walk(d):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def name_filter(c):
    """The name filter: no crash, no catastrophic backtracking."""
    expect(COMPUTE, "GET", "/v2.1/servers?name=" + "a" * 100000, {414}, headers=c.demo)
    expect(COMPUTE, "GET", "/v2.1/servers?name=" + "a" * 300, {400}, headers=c.demo)
    began = time.monotonic()
    data = expect(COMPUTE, "GET", "/v2.1/servers?name=(a%2B)%2B$", {200}, headers=c.demo)
    # A backtracking engine needs ~2^40 steps here; RE2 microseconds. The
    # bound only keeps a regression from passing; it is not a timing test.
    if time.monotonic() - began > 20:
        fail("the name filter took %.1f s" % (time.monotonic() - began))
    if json.loads(data)["servers"]:
        fail("(a+)+$ matched %r" % data)
    expect(COMPUTE, "GET", "/v2.1/servers?name=[", {200}, headers=c.demo)


def silent_clients(c):
    """Silent bodies and long URLs do not hang the listeners."""
    held = []
    for _ in range(45):
        s = socket.create_connection((HOST, COMPUTE))
        s.sendall(b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                  b"Content-Type: application/json\r\n\r\n")
        held.append(s)
    threads = [threading.Thread(target=raw, args=(COMPUTE, b"GET /" + b"a/" * 4000 +
                                                  b" HTTP/1.1\r\nHost: x\r\n\r\n"))
               for _ in range(45)]
    for t in threads:
        t.start()
    # And 200 idle connections beside 200 that stop inside their headers.
    for i in range(400):
        s = socket.create_connection((HOST, COMPUTE))
        if i % 2:
            s.sendall(b"GET /v2.1/servers HTTP/1.1\r\nHost: x\r\nX-Auth-To")
        held.append(s)
    alive("45 silent bodies, 45 long URLs, 200 idle and 200 partial headers")
    for t in threads:
        t.join()
    for s in held:
        s.close()


def create_count(c):
    """One create call cannot exhaust memory."""
    for count in (2147483648, 2147483647, 1000000):
        expect(COMPUTE, "POST", "/v2.1/servers", {400, 403}, headers=c.demo, body={"server": {
            "name": "many", "flavorRef": "1", "imageRef": c.image, "min_count": count}},
            what="min_count %d" % count)


def private_image(c):
    """Another project's private image is as missing."""
    wait_status(c.demo, c.server, "ACTIVE")
    missing = expect(COMPUTE, "POST", "/v2.1/servers/%s/action" % c.server, {400},
                     headers=c.demo, body={"rebuild": {"imageRef": "0" * 8 + "-0000-4000-8000-" + "0" * 12}})
    hidden = expect(COMPUTE, "POST", "/v2.1/servers/%s/action" % c.server, {400},
                    headers=c.demo, body={"rebuild": {"imageRef": c.alt_image}})
    if json.loads(missing) != json.loads(hidden):
        fail("rebuild: a hidden image answers %r, a missing one %r" % (hidden, missing))
    expect(COMPUTE, "POST", "/v2.1/servers/%s/action" % c.server, {400}, headers=c.demo,
           body={"rescue": {"rescue_image_ref": c.alt_image}})
    expect(COMPUTE, "POST", "/v2.1/servers", {400}, headers=c.demo, body={"server": {
        "name": "x", "flavorRef": "1", "imageRef": c.alt_image}})


def url_limits(c):
    """URL and header limits."""
    status, body = raw(COMPUTE, b"GET /" + b"a/" * 50000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    if status != 414:
        fail("a 100 KB path -> %d" % status)
    nova_error(status, body, "a 100 KB path")
    status, body = raw(COMPUTE, b"GET /" + b"z" * (10 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    if status not in (414, 431) or len(body) > 1024:
        fail("a 10 MB path -> %d with a %d-byte body" % (status, len(body)))
    status, body = raw(COMPUTE, b"GET /v2.1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 +
                       b"\r\n\r\n")
    if status != 431:
        fail("100 KB of headers -> %d" % status)
    alive("URL and header limits")


def unchecked_bodies(c):
    """Bodies are not buffered before a check."""
    def chunked_flood(port, path, headers, megabytes):
        s = socket.create_connection((HOST, port), timeout=30)
        s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n%s\r\n" % (
            path, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode())
        chunk = b"100000\r\n" + b"q" * 0x100000 + b"\r\n"
        try:
            for _ in range(megabytes):
                s.sendall(chunk)
        except OSError:
            pass  # the c.server answered and closed
        return read_answer(s)

    for port, path, headers in (
            (COMPUTE, "/v2.1/servers", {}),
            (COMPUTE, "/v2.1/servers", c.demo),
            (IMAGE, "/v2/images/%s/file" % c.alt_image, {}),
            (IDENTITY, "/v3/auth/tokens", {})):
        status, body = chunked_flood(port, path, dict(headers, **{
            "Content-Type": "application/json"}), 256)
        if status not in (0, 401, 405, 413):
            fail("a 256 MB chunked body to %s -> %d" % (path, status))
        alive("a 256 MB chunked body to %d%s" % (port, path))
    status, body = raw(COMPUTE, b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 1073741824\r\n\r\n" + b"x" * (1 << 20))
    # Nova's sizelimit middleware runs before authtoken: 413 (unread) it is.
    if status not in (401, 413):
        fail("1 GiB declared without a token -> %d" % status)
    nova_error(status, body, "1 GiB declared without a token")
    alive("1 GiB declared")


def uploads(c):
    """Uploads reach the disk only once authorized."""
    octet = {"Content-Type": "application/octet-stream"}
    for path, headers, want in (
            ("/v2/images/%s/file" % c.alt_image, dict(c.demo, **octet), {404}),
            ("/v2/images/%s/file" % ("0" * 8 + "-0000-4000-8000-" + "0" * 12), dict(c.demo, **octet), {404}),
            ("/v2/images/%s/file" % c.mine, dict(c.demo, **{"Content-Type": "text/plain"}), {415})):
        # What reaches the incoming directory while the request is in flight
        # (a refused upload's file would be gone again by its answer).
        before = incoming_bytes()
        peak = [before]
        done = threading.Event()

        def watch():
            while not done.wait(0.005):
                peak[0] = max(peak[0], incoming_bytes())

        watcher = threading.Thread(target=watch)
        watcher.start()
        status, body = raw(IMAGE, ("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (
            path, 64 << 20, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode() +
            b"u" * (64 << 20))
        if status not in want:
            fail("PUT %s -> %d (want %s)" % (path, status, want))
        glance_error(status, body, "PUT " + path)
        done.set()
        watcher.join()
        if peak[0] > before:
            fail("PUT %s wrote %d bytes into incoming" % (path, peak[0] - before))
        alive("PUT " + path)


def low(c):
    """Methods, error shapes, smuggling, NUL, scopes, image properties."""
    for port in (COMPUTE, IDENTITY, IMAGE):
        status, body = raw(port, b"TRACE / HTTP/1.1\r\nHost: x\r\nX-Auth-Token: sekrit\r\n\r\n")
        if status != 405 or b"sekrit" in body:
            fail("TRACE on %d -> %d %r" % (port, status, body))
        status, _, _ = request(port, "OPTIONS", "/", headers=c.demo)
        if status < 200 or status >= 500:
            fail("OPTIONS on %d -> %d" % (port, status))
    expect(IDENTITY, "GET", "/v3/%zz", {401, 404}, shape=keystone_error)
    status, body = raw(COMPUTE, b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    if status != 400:
        fail("Content-Length with Transfer-Encoding -> %d" % status)
    nova_error(status, body, "Content-Length with Transfer-Encoding")
    expect(COMPUTE, "POST", "/v2.1/servers", {400}, headers=dict(c.demo, **{
        "Content-Type": "application/json"}),
        body=json.dumps({"server": {"name": "nul", "flavorRef": "1", "imageRef": c.image}}) + "\0junk")
    expect(IMAGE, "PATCH", "/v2/images/" + c.mine, {400}, headers=dict(c.demo, **{
        "Content-Type": "application/openstack-images-v2.1-json-patch"}),
        body=json.dumps([{"op": "add", "path": "/bad\u0007key", "value": "v"}]), shape=glance_error)
    for what, bad in (("deep nesting", "[" * 20000 + "]" * 20000),
                      ("invalid UTF-8", b'{"server": {"name": "\xff\xfe"}}'),
                      ("a huge number", '{"server": {"name": "n", "min_count": 1e999999}}')):
        expect(COMPUTE, "POST", "/v2.1/servers", {400}, headers=dict(c.demo, **{
            "Content-Type": "application/json"}), body=bad, what=what)
    expect(IMAGE, "GET", "/v2/images/..%2F..%2F..%2Fetc%2Fpasswd/file", {404},
           headers=c.demo, shape=glance_error)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "Default"}, "name": "demo", "password": PASSWORD}}},
        "scope": "unscoped"}}
    status, _, data = request(IDENTITY, "POST", "/v3/auth/tokens", body)
    if status != 201 or "project" in json.loads(data)["token"]:
        fail("an unscoped token request -> %d %r" % (status, data[:300]))


def isolation(c):
    """Another project's servers, keypairs, images and quotas stay out of reach."""
    base = "/v2.1/servers/" + c.server
    for method, path, body in (
            ("GET", base, None),
            ("PUT", base, {"server": {"name": "taken"}}),
            ("GET", base + "/metadata", None),
            ("PUT", base + "/metadata", {"metadata": {"k": "v"}}),
            ("GET", base + "/ips", None),
            ("GET", base + "/os-instance-actions", None),
            ("POST", base + "/action", {"os-stop": None}),
            ("POST", base + "/action", {"createImage": {"name": "stolen"}}),
            ("POST", base + "/action", {"os-getConsoleOutput": {"length": 5}}),
            ("DELETE", base, None)):
        expect(COMPUTE, method, path, {404}, body=body, headers=c.alt,
               what="alt: %s %s" % (method, path))
    _, _, data = request(COMPUTE, "GET", "/v2.1/servers?all_tenants=1", headers=c.alt)
    if c.server in data.decode():
        fail("alt's server list (all_tenants=1) shows demo's server")
    expect(COMPUTE, "POST", "/v2.1/os-keypairs", {200}, headers=c.demo,
           body={"keypair": {"name": "demo-key"}})
    expect(COMPUTE, "GET", "/v2.1/os-keypairs/demo-key", {404}, headers=c.alt)
    expect(COMPUTE, "DELETE", "/v2.1/os-keypairs/demo-key", {404}, headers=c.alt)
    expect(IMAGE, "GET", "/v2/images/" + c.mine, {404}, headers=c.alt, shape=glance_error)
    expect(IMAGE, "DELETE", "/v2/images/" + c.mine, {404}, headers=c.alt, shape=glance_error)
    _, _, data = request(IDENTITY, "POST", "/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"domain": {"name": "Default"},
                                                       "name": "demo", "password": PASSWORD}}},
        "scope": {"project": {"domain": {"name": "Default"}, "name": "demo"}}}})
    demo_project = json.loads(data)["token"]["project"]["id"]
    expect(COMPUTE, "GET", "/v2.1/os-quota-sets/" + demo_project, {403}, headers=c.alt)
    expect(COMPUTE, "PUT", "/v2.1/os-quota-sets/" + demo_project, {403}, headers=c.alt,
           body={"quota_set": {"instances": 1000}})


SECTIONS = [name_filter, silent_clients, create_count, private_image, url_limits,
            unchecked_bodies, uploads, low, isolation]
__doc__ = __doc__ % ", ".join(f.__name__ for f in SECTIONS)


class Context:
    """What the sections share: tokens and what was created for them."""

    def __init__(self):
        self.demo = {"X-Auth-Token": token("demo", "demo")}
        self.alt = {"X-Auth-Token": token("alt_demo", "alt_demo")}
        _, _, images = request(COMPUTE, "GET", "/v2.1/images", headers=self.demo)
        self.image = json.loads(images)["images"][0]["id"]
        data = expect(COMPUTE, "POST", "/v2.1/servers", {202}, headers=self.demo, body={
            "server": {"name": "a" * 40 + "!", "flavorRef": "1", "imageRef": self.image}})
        self.server = json.loads(data)["server"]["id"]
        _, _, data = request(IMAGE, "POST", "/v2/images", {
            "name": "alt-private", "disk_format": "raw", "container_format": "bare",
            "visibility": "private"}, self.alt)
        self.alt_image = json.loads(data)["id"]
        request(IMAGE, "PUT", "/v2/images/%s/file" % self.alt_image, b"x" * 4096,
                dict(self.alt, **{"Content-Type": "application/octet-stream"}))
        _, _, data = request(IMAGE, "POST", "/v2/images", {
            "name": "mine", "disk_format": "raw", "container_format": "bare"}, self.demo)
        self.mine = json.loads(data)["id"]


def main():
    unknown = set(ONLY) - set(f.__name__ for f in SECTIONS)
    if unknown:
        fail("no such section: %s" % ", ".join(sorted(unknown)))
    alive("start")
    c = Context()
    ran = 0
    for section in SECTIONS:
        if ONLY and section.__name__ not in ONLY:
            continue
        print("probe: %s" % section.__name__, flush=True)
        section(c)
        ran += 1
    alive("the end")
    print("probe: %d sections, every request refused in the API's shape; daemon alive, "
          "RSS %d KB" % (ran, rss_kb()))


main()
