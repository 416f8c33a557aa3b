#!/usr/bin/env python3
"""Every policy rule, over HTTP, for member, reader and admin.

api/auth/policy.cc's kRules names each action's rule. For every rule this sends the
request that exercises it (RULES below) as three users against a running
chronova all-in-one and checks what the rule says:

  admin   user admin in project admin (role admin)
  member  user demo in project demo (role member, so also reader)
  reader  user reader in project demo (role reader only)

A role the rule allows must get the request's success status; a role it denies
must get 403 in the API's error shape (Nova's {"forbidden": {...}}, Glance's
{"message", "code", "title"}, Keystone's {"error": {...}}) whose message names
a policy rule that denies that role. Denied roles go first, while the request
would still succeed for an allowed one (so the 403 is the policy's, not a
404/409), and every request finds what it needs (a server in the right state,
a keypair, an image...) prepared just before it; what a request creates or
destroys is made for it and cleaned up after it.

The script parses kRules and fails if a rule has no entry in RULES (or RULES
names a rule kRules does not have): a new rule cannot go untested.

Usage: policy_test.py COMPUTE_PORT IDENTITY_PORT IMAGE_PORT PASSWORD [SOURCE_DIR]
SOURCE_DIR (or $CHRONOVA_SOURCE_DIR; default: two directories up from this
file) is the repository whose api/auth/policy.cc is read. The reader user must
exist (policy_test.sh writes it into the users file before the daemon starts).
Exits non-zero with "FAIL: ..." at the first broken expectation.
"""
import http.client
import itertools
import json
import os
import re
import sys
import time

HOST = "127.0.0.1"
COMPUTE, IDENTITY, IMAGE = (int(p) for p in sys.argv[1:4])
PASSWORD = sys.argv[4]
SOURCE = (sys.argv[5] if len(sys.argv) > 5 else os.environ.get("CHRONOVA_SOURCE_DIR")
          or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

ROLES = ("member", "reader", "admin")
USERS = {"admin": ("admin", "admin"), "member": ("demo", "demo"), "reader": ("reader", "demo")}
PATCH_TYPE = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- kRules ------------------------------------------------------------------


def parse_rules():
    """{rule name: "kAdmin" | "kAnyone" | ...} from api/auth/policy.cc's kRules."""
    path = os.path.join(SOURCE, "api", "auth", "policy.cc")
    try:
        text = open(path).read()
    except OSError as e:
        fail("cannot read kRules: %s" % e)
    m = re.search(r"kRules\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if not m:
        fail("no kRules table in " + path)
    rules = {}
    for name, kind in re.findall(r'\{\s*"([^"]+)"\s*,\s*PolicyRule::(k\w+)\s*\}', m.group(1)):
        if name in rules:
            fail("kRules lists %s twice" % name)
        rules[name] = kind
    if not rules:
        fail("kRules in %s has no entries" % path)
    return rules


def allowed(kind, role, other=False):
    """May `role` act under rule `kind`? The targets are the demo project's
    resources and the caller's own user; `other` targets another project's or
    user's (only admins may)."""
    if kind == "kAnyone":
        return True
    if kind == "kAdmin":
        return role == "admin"
    if other:
        return role == "admin"
    if kind == "kProjectMemberOrAdmin":
        return role in ("member", "admin")
    if kind in ("kProjectReaderOrAdmin", "kUserOrAdmin"):
        return True  # reader is implied by member and admin
    fail("unknown rule kind " + kind)


# ---- HTTP --------------------------------------------------------------------


class Resp:
    def __init__(self, status, headers, data):
        self.status, self.headers, self.data = status, headers, data

    def json(self):
        try:
            return json.loads(self.data)
        except ValueError:
            fail("not JSON (%d): %r" % (self.status, self.data[:300]))


def port_of(path):
    if path.startswith("/v2.1/"):
        return COMPUTE
    if path.startswith("/v2/"):
        return IMAGE
    if path.startswith("/v3/"):
        return IDENTITY
    fail("which API serves " + path)


def request(method, path, token=None, body=None, headers=None):
    h = dict(headers or {})
    if token:
        h["X-Auth-Token"] = token
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    c = http.client.HTTPConnection(HOST, port_of(path), timeout=60)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        out = Resp(r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read())
    except OSError as e:
        fail("%s %s: %s" % (method, path, e))
    finally:
        c.close()
    return out


TOKENS = {}  # role -> token
ME = {}  # role -> {"user": id, "project": id}


def as_(role, method, path, body=None, headers=None, want=None):
    """`role`'s request; with `want`, fails unless the status is in it."""
    r = request(method, path, TOKENS[role], body, headers)
    if want is not None and r.status not in (want if isinstance(want, tuple) else (want,)):
        fail("setup: %s %s as %s -> %d (want %s): %r"
             % (method, path, role, r.status, want, r.data[:300]))
    return r


def issue_token(role):
    user, project = USERS[role]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "Default"}, "name": user, "password": PASSWORD}}},
        "scope": {"project": {"domain": {"name": "Default"}, "name": project}}}}
    r = request("POST", "/v3/auth/tokens", body=body)
    if r.status != 201:
        fail("token for %s in %s: %d %r" % (user, project, r.status, r.data[:300]))
    return r.headers["x-subject-token"], r.json()["token"]


# ---- fixtures ------------------------------------------------------------------

F = {}  # what the requests' templates name: {server}, {flavor_public}, ...
COUNTER = itertools.count(1)


def unique(prefix):
    return "%s-%d" % (prefix, next(COUNTER))


def server_of(sid):
    r = as_("admin", "GET", "/v2.1/servers/" + sid)
    return r.json()["server"] if r.status == 200 else None


def settle(sid, secs=60):
    """The server once no task runs on it (and it is not building)."""
    deadline = time.time() + secs
    while time.time() < deadline:
        s = server_of(sid)
        if s is None:
            fail("server %s is gone" % sid)
        if s["status"] == "ERROR":
            fail("server %s went to ERROR" % sid)
        if s["OS-EXT-STS:task_state"] is None and s["status"] != "BUILD":
            return s
        time.sleep(0.05)
    fail("server %s did not settle within %ds: %r" % (sid, secs, s))


def action(role, sid, body, want=202):
    as_(role, "POST", "/v2.1/servers/%s/action" % sid, body, want=want)


def any_host():
    """A compute host's name (2.74's requested destination)."""
    r = as_("admin", "GET", "/v2.1/os-hypervisors/detail", want=200)
    return r.json()["hypervisors"][0]["service"]["host"]


def other_flavor(server):
    return "84" if server["flavor"]["id"] == "42" else "42"


TO_ACTIVE = {"SHUTOFF": ({"os-start": None}, 202), "PAUSED": ({"unpause": None}, 202),
             "SUSPENDED": ({"resume": None}, 202), "RESCUE": ({"unrescue": None}, 202),
             "VERIFY_RESIZE": ({"confirmResize": None}, 204)}
FROM_ACTIVE = {"SHUTOFF": ({"os-stop": None}, 202), "PAUSED": ({"pause": None}, 202),
               "SUSPENDED": ({"suspend": None}, 202), "RESCUE": ({"rescue": None}, 200)}


def ensure(sid, want):
    """Moves the server (as admin) to status `want`, through ACTIVE."""
    s = settle(sid)
    if s["status"] == want:
        return
    if s["status"] != "ACTIVE":
        body, code = TO_ACTIVE[s["status"]]
        action("admin", sid, body, want=code)
        s = settle(sid)
        if s["status"] != "ACTIVE":
            fail("server %s: %s -> %s, not ACTIVE" % (sid, body, s["status"]))
    if want == "ACTIVE":
        return
    if want == "VERIFY_RESIZE":
        action("admin", sid, {"resize": {"flavorRef": other_flavor(s)}})
    else:
        body, code = FROM_ACTIVE[want]
        action("admin", sid, body, want=code)
    s = settle(sid)
    if s["status"] != want:
        fail("server %s: wanted %s, is %s" % (sid, want, s["status"]))


def boot(role, name, metadata=None, wait=True):
    server = {"name": name, "flavorRef": "42", "imageRef": F["boot_image"]}
    if metadata:
        server["metadata"] = metadata
    sid = as_(role, "POST", "/v2.1/servers", {"server": server}, want=202).json()["server"]["id"]
    if wait:
        s = settle(sid)
        if s["status"] != "ACTIVE":
            fail("server %s booted to %s" % (sid, s["status"]))
    return sid


def delete_server(sid):
    """Deletes the server (as admin) if it is there and waits until it is gone."""
    s = server_of(sid)
    if s is None:
        return
    if s.get("locked"):
        action("admin", sid, {"unlock": None})
    as_("admin", "DELETE", "/v2.1/servers/" + sid, want=(204, 404))
    deadline = time.time() + 60
    while server_of(sid) is not None:
        if time.time() > deadline:
            fail("server %s was not deleted within 60 s" % sid)
        time.sleep(0.05)


def new_image(role="member", **attrs):
    body = {"name": unique("policy-image"), "disk_format": "raw", "container_format": "bare"}
    body.update(attrs)
    return as_(role, "POST", "/v2/images", body, want=201).json()["id"]


def delete_image(iid):
    as_("admin", "DELETE", "/v2/images/" + iid, want=(204, 404))


def new_flavor(**attrs):
    flavor = {"name": unique("policy-flavor"), "ram": 64, "vcpus": 1, "disk": 0}
    flavor.update(attrs)
    r = as_("admin", "POST", "/v2.1/flavors", {"flavor": flavor}, want=200)
    return r.json()["flavor"]["id"]


def new_group(role):
    body = {"server_group": {"name": unique("policy-group"), "policies": ["affinity"]}}
    return as_(role, "POST", "/v2.1/os-server-groups", body, want=200).json()[
        "server_group"]["id"]


def new_aggregate():
    body = {"aggregate": {"name": unique("policy-agg")}}
    r = as_("admin", "POST", "/v2.1/os-aggregates", body, want=200)
    return str(r.json()["aggregate"]["id"])


def setup():
    for role in ROLES:
        token, body = issue_token(role)
        TOKENS[role] = token
        ME[role] = {"user": body["user"]["id"], "project": body["project"]["id"]}
        roles = sorted(r["name"] for r in body["roles"])
        want = {"admin": ["admin", "member", "reader"], "member": ["member", "reader"],
                "reader": ["reader"]}[role]
        if roles != want:
            fail("%s's token has roles %s, not %s" % (role, roles, want))
    if ME["member"]["project"] != ME["reader"]["project"]:
        fail("demo and reader are not in one project")
    F["demo_project"] = ME["member"]["project"]
    F["admin_project"] = ME["admin"]["project"]
    F["other_project"] = "policy-other-project"  # only quota rows name it
    images = as_("member", "GET", "/v2.1/images/detail", want=200).json()["images"]
    active = [i["id"] for i in images if i["status"] == "ACTIVE"]
    if not active:
        fail("no active image to boot from: %r" % images)
    F["boot_image"] = active[0]
    # Two servers of demo's: one that stays ACTIVE (reads, metadata, lock),
    # one that lifecycle actions move around.
    F["server"] = boot("member", "policy-server", metadata={"k": "v"}, wait=False)
    F["life"] = boot("member", "policy-life", wait=False)
    for sid in (F["server"], F["life"]):
        if settle(sid)["status"] != "ACTIVE":
            fail("server %s did not become ACTIVE" % sid)
    actions = as_("admin", "GET", "/v2.1/servers/%s/os-instance-actions" % F["server"],
                  want=200).json()["instanceActions"]
    F["request_id"] = actions[-1]["request_id"]
    F["flavor_private"] = new_flavor(**{"os-flavor-access:is_public": False})
    F["flavor_public"] = new_flavor()
    as_("admin", "POST", "/v2.1/flavors/%s/os-extra_specs" % F["flavor_public"],
        {"extra_specs": {"policy:k": "v"}}, want=200)
    F["aggregate"] = new_aggregate()
    hv = as_("admin", "GET", "/v2.1/os-hypervisors", want=200).json()["hypervisors"][0]
    F["hypervisor"], F["hypervisor_name"] = str(hv["id"]), hv["hypervisor_hostname"]
    services = as_("admin", "GET", "/v2.1/os-services?binary=nova-compute",
                   want=200).json()["services"]
    F["host"], F["service_id"] = services[0]["host"], str(services[0]["id"])
    F["image"] = new_image()
    as_("member", "PUT", "/v2/images/%s/file" % F["image"], b"policy" * 100, OCTET, want=204)
    for role in ROLES:
        as_(role, "POST", "/v2.1/os-keypairs", {"keypair": {"name": "policy-kp"}}, want=200)
    # A server group of demo's and one of the admin's project.
    F["group"] = new_group("member")
    F["admin_group"] = new_group("admin")
    # Another project's limits, told apart from demo's by maxTotalInstances.
    as_("admin", "PUT", "/v2.1/os-quota-sets/" + F["other_project"],
        {"quota_set": {"instances": 7}}, want=200)


def teardown():
    for sid in (F.get("server"), F.get("life")):
        if sid:
            delete_server(sid)


# ---- what each request needs prepared, and cleaned up ---------------------------
# A prepare(role) returns placeholders for the request's templates; a
# cleanup(role, extra, resp) undoes what the request or its prepare made.


def life_in(status):
    def prepare(role):
        ensure(F["life"], status)
        return {}
    return prepare


def victim_server(role):
    return {"victim": boot("member", unique("policy-victim"))}


def drop_victim_server(role, extra, resp):
    delete_server(extra["victim"])


def drop_created_server(role, extra, resp):
    if resp.status == 202:
        delete_server(resp.json()["server"]["id"])


def drop_snapshot(role, extra, resp):
    settle(F["life"])
    if resp.status == 202:
        delete_image(resp.headers["location"].rsplit("/", 1)[1])


def unlocked(role):
    s = server_of(F["server"])
    if s.get("locked"):
        action("admin", F["server"], {"unlock": None})
    return {}


def locked_by(locker):
    def prepare(role):
        unlocked(role)
        action(locker, F["server"], {"lock": None})
        return {}
    return prepare


def unlock_after(role, extra, resp):
    unlocked(role)


def metadata_item(role):
    as_("admin", "POST", "/v2.1/servers/%s/metadata" % F["server"],
        {"metadata": {"gone": "soon"}}, want=200)
    return {}


def victim_image(role):
    return {"victim": new_image()}


def admins_public_image(role):
    """A public image of the admin project's: demo's users see it, but it is
    another project's to change."""
    return {"victim": new_image("admin", visibility="public")}


def drop_victim_image(role, extra, resp):
    delete_image(extra["victim"])


def drop_created_image(role, extra, resp):
    if resp.status == 201:
        delete_image(resp.json()["id"])


def fresh_token(whose):
    """A new token of the caller's own user (whose="own") or of another user."""
    def prepare(role):
        subject = role if whose == "own" else other_role(role)
        return {"subject": issue_token(subject)[0]}
    return prepare


def other_role(role):
    return "admin" if role != "admin" else "member"


def keypair_of(whose):
    """A keypair "policy-del" of the caller (whose="own") or of another user."""
    def prepare(role):
        owner = role if whose == "own" else other_role(role)
        as_(owner, "DELETE", "/v2.1/os-keypairs/policy-del", want=(202, 404))
        as_(owner, "POST", "/v2.1/os-keypairs", {"keypair": {"name": "policy-del"}}, want=200)
        return {"owner": owner}
    return prepare


def drop_keypair(name):
    def cleanup(role, extra, resp):
        owner = extra.get("owner", role)
        as_(owner, "DELETE", "/v2.1/os-keypairs/" + name, want=(202, 404))
    return cleanup


def tagged(role):
    """The shared server tagged "policy" (by its owner, the member)."""
    as_("member", "PUT", "/v2.1/servers/%s/tags/policy" % F["server"], headers=AT_2_26,
        want=(201, 204))
    return {}


def drop_tags(role, extra, resp):
    as_("member", "DELETE", "/v2.1/servers/%s/tags" % F["server"], headers=AT_2_26,
        want=204)


def group_of(whose):
    """A server group of the caller's project (whose="own"; a reader's is made
    by the member of its project) or of another project."""
    def prepare(role):
        if whose == "own":
            owner = "member" if role == "reader" else role
        else:
            owner = other_role(role)
        return {"victim": new_group(owner)}
    return prepare


def drop_victim_group(role, extra, resp):
    as_("admin", "DELETE", "/v2.1/os-server-groups/" + extra["victim"], want=(204, 404))


def drop_created_group(role, extra, resp):
    if resp.status == 200:
        as_("admin", "DELETE", "/v2.1/os-server-groups/" + resp.json()["server_group"]["id"],
            want=204)


def sees_admins_group(body):
    return any(g["id"] == F["admin_group"] for g in body["server_groups"])


def drop_created_flavor(role, extra, resp):
    if resp.status == 200:
        as_("admin", "DELETE", "/v2.1/flavors/" + resp.json()["flavor"]["id"], want=202)


def victim_flavor(role):
    return {"victim": new_flavor()}


def drop_victim_flavor(role, extra, resp):
    as_("admin", "DELETE", "/v2.1/flavors/" + extra["victim"], want=(202, 404))


def access_of(present):
    def prepare(role):
        path = "/v2.1/flavors/%s/action" % F["flavor_private"]
        body = {"addTenantAccess" if present else "removeTenantAccess":
                {"tenant": "policy-tenant"}}
        as_("admin", "POST", path, body, want=(200, 404, 409))
        return {}
    return prepare


def drop_access(role, extra, resp):
    access_of(False)(role)


def extra_spec(role):
    as_("admin", "POST", "/v2.1/flavors/%s/os-extra_specs" % F["flavor_public"],
        {"extra_specs": {"policy:gone": "soon"}}, want=200)
    return {}


def drop_created_aggregate(role, extra, resp):
    if resp.status == 200:
        as_("admin", "DELETE", "/v2.1/os-aggregates/%d" % resp.json()["aggregate"]["id"],
            want=200)


def victim_aggregate(role):
    return {"victim": new_aggregate()}


def drop_victim_aggregate(role, extra, resp):
    as_("admin", "DELETE", "/v2.1/os-aggregates/" + extra["victim"], want=(200, 404))


def host_in_aggregate(present):
    def prepare(role):
        body = {"add_host" if present else "remove_host": {"host": F["host"]}}
        as_("admin", "POST", "/v2.1/os-aggregates/%s/action" % F["aggregate"], body,
            want=(200, 404, 409))
        return {}
    return prepare


def drop_host(role, extra, resp):
    host_in_aggregate(False)(role)


def events_shown(body):
    return "events" in body["instanceAction"]


def own_limits(body):
    """GET /limits?tenant_id=<other project> answered with the caller's own
    limits (not the other project's maxTotalInstances of 7)."""
    return body["limits"]["absolute"]["maxTotalInstances"] != 7


def R(method, path, body=None, ok=200, **opts):
    """One request exercising a rule.

    ok: the status of an allowed role. headers: extra headers. target="other":
    the request is on another user's/project's resource (only admins may).
    prepare/cleanup: see above. check(body) -> bool: what an allowed role's
    answer must satisfy. filtered(body) -> bool: for a rule that filters an
    answer instead of refusing it (Nova's fatal=False), what a denied role's
    200 answer must satisfy instead of a 403 (expect_denied: that status
    instead of 200). known: why a denied role gets no 403 where Nova's would
    (printed at the end; a 403 there fails until the entry is updated).
    """
    return dict(method=method, path=path, body=body, ok=ok, **opts)


SERVER = "/v2.1/servers/{server}"
ACTION = "/v2.1/servers/{server}/action"
LIFE = "/v2.1/servers/{life}/action"
VICTIM = "/v2.1/servers/{victim}/action"
TOKEN_HEADERS = {"X-Subject-Token": "{subject}"}
# Another user's keypairs are named with ?user_id= from microversion 2.10.
AT_2_10 = {"OpenStack-API-Version": "compute 2.10"}
AT_2_26 = {"OpenStack-API-Version": "compute 2.26"}
AT_2_63 = {"OpenStack-API-Version": "compute 2.63"}
NEW_SERVER = {"server": {"name": "policy-new", "flavorRef": "42", "imageRef": "{boot_image}"}}
NEW_IMAGE = {"name": "policy-new", "disk_format": "raw", "container_format": "bare"}

# Rule -> the request(s) that exercise it. Templates name fixtures ({server},
# {life}, {image}, {flavor_public}, ...), the caller ({user}, {project},
# {other_user}) and what prepare returned ({victim}, {subject}).
RULES = {
    "chronova:history": [
        R("GET", "/v2.1/chronova/history/servers"),
        R("GET", "/v2.1/chronova/history/servers/{server}"),
    ],
    # ---- identity ----
    "identity:get_domain": R("GET", "/v3/domains/default"),
    "identity:get_project": [
        R("GET", "/v3/projects/{demo_project}"),
        R("GET", "/v3/projects/{admin_project}", target="other"),
    ],
    "identity:get_user": [
        R("GET", "/v3/users/{user}"),
        R("GET", "/v3/users/{other_user}", target="other"),
    ],
    "identity:list_domains": R("GET", "/v3/domains"),
    "identity:list_projects": R("GET", "/v3/projects"),
    "identity:list_role_assignments": R("GET", "/v3/role_assignments"),
    "identity:list_roles": R("GET", "/v3/roles"),
    "identity:list_users": R("GET", "/v3/users"),
    "identity:revoke_token": [
        R("DELETE", "/v3/auth/tokens", ok=204, headers=TOKEN_HEADERS,
          prepare=fresh_token("own")),
        R("DELETE", "/v3/auth/tokens", ok=204, headers=TOKEN_HEADERS,
          prepare=fresh_token("other"), target="other"),
    ],
    "identity:validate_token": [
        R("GET", "/v3/auth/tokens", headers=TOKEN_HEADERS, prepare=fresh_token("own")),
        R("GET", "/v3/auth/tokens", headers=TOKEN_HEADERS, prepare=fresh_token("other"),
          target="other"),
    ],
    # ---- images: the Image API, and Nova's image proxy where it has one ----
    "glance:add_image": R("POST", "/v2/images", NEW_IMAGE, ok=201,
                          cleanup=drop_created_image),
    "glance:communitize_image": [
        R("POST", "/v2/images", dict(NEW_IMAGE, visibility="community"), ok=201,
          cleanup=drop_created_image),
        R("PATCH", "/v2/images/{victim}",
          [{"op": "replace", "path": "/visibility", "value": "community"}],
          headers=PATCH_TYPE, prepare=victim_image, cleanup=drop_victim_image),
    ],
    "glance:delete_image": [
        R("DELETE", "/v2/images/{victim}", ok=204, prepare=victim_image,
          cleanup=drop_victim_image),
        R("DELETE", "/v2.1/images/{victim}", ok=204, prepare=victim_image,
          cleanup=drop_victim_image),
        R("DELETE", "/v2/images/{victim}", ok=204, prepare=admins_public_image,
          cleanup=drop_victim_image, target="other"),
        R("DELETE", "/v2.1/images/{victim}", ok=204, prepare=admins_public_image,
          cleanup=drop_victim_image, target="other"),
    ],
    "glance:download_image": R("GET", "/v2/images/{image}/file",
                               check=lambda data: data == b"policy" * 100, raw=True),
    "glance:get_image": [
        R("GET", "/v2/images/{image}"),
        R("GET", "/v2.1/images/{image}"),
    ],
    "glance:get_images": [
        R("GET", "/v2/images"),
        R("GET", "/v2.1/images"),
    ],
    "glance:modify_image": [
        R("PATCH", "/v2/images/{image}",
          [{"op": "add", "path": "/policy", "value": "{role}"}], headers=PATCH_TYPE),
        R("POST", "/v2.1/images/{image}/metadata", {"metadata": {"policy": "{role}"}}),
        R("PUT", "/v2.1/images/{image}/metadata/policy", {"meta": {"policy": "{role}"}}),
        R("PATCH", "/v2/images/{victim}",
          [{"op": "add", "path": "/policy", "value": "{role}"}], headers=PATCH_TYPE,
          prepare=admins_public_image, cleanup=drop_victim_image, target="other"),
        R("POST", "/v2.1/images/{victim}/metadata", {"metadata": {"policy": "{role}"}},
          prepare=admins_public_image, cleanup=drop_victim_image, target="other"),
    ],
    "glance:publicize_image": [
        R("POST", "/v2/images", dict(NEW_IMAGE, visibility="public"), ok=201,
          cleanup=drop_created_image),
        R("PATCH", "/v2/images/{victim}",
          [{"op": "replace", "path": "/visibility", "value": "public"}],
          headers=PATCH_TYPE, prepare=victim_image, cleanup=drop_victim_image),
    ],
    "glance:upload_image": [
        R("PUT", "/v2/images/{victim}/file", b"data", ok=204, headers=OCTET,
          prepare=victim_image, cleanup=drop_victim_image),
        R("PUT", "/v2/images/{victim}/file", b"data", ok=204, headers=OCTET,
          prepare=admins_public_image, cleanup=drop_victim_image, target="other"),
    ],
    # ---- servers ----
    "os_compute_api:ips:index": R("GET", SERVER + "/ips"),
    # ---- server tags (2.26) ----
    "os_compute_api:os-server-tags:index": R("GET", SERVER + "/tags", headers=AT_2_26),
    "os_compute_api:os-server-tags:show": R(
        "GET", SERVER + "/tags/policy", ok=404, headers=AT_2_26),
    "os_compute_api:os-server-tags:update": R(
        "PUT", SERVER + "/tags/policy-{role}", ok=201, headers=AT_2_26,
        cleanup=drop_tags),
    "os_compute_api:os-server-tags:update_all": R(
        "PUT", SERVER + "/tags", {"tags": ["policy"]}, headers=AT_2_26, cleanup=drop_tags),
    "os_compute_api:os-server-tags:delete": R(
        "DELETE", SERVER + "/tags/policy", ok=204, headers=AT_2_26, prepare=tagged),
    "os_compute_api:os-server-tags:delete_all": R(
        "DELETE", SERVER + "/tags", ok=204, headers=AT_2_26),
    # chronova does not live-migrate: no migration is ever in progress.
    "os_compute_api:servers:migrations:index": R(
        "GET", SERVER + "/migrations", headers={"OpenStack-API-Version": "compute 2.23"},
        check=lambda body: body["migrations"] == []),
    "os_compute_api:servers:migrations:show": R(
        "GET", SERVER + "/migrations/1", ok=404,
        headers={"OpenStack-API-Version": "compute 2.23"}),
    "os_compute_api:servers:migrations:force_complete": R(
        "POST", SERVER + "/migrations/1/action", {"force_complete": None}, ok=409,
        headers={"OpenStack-API-Version": "compute 2.22"}),
    "os_compute_api:servers:migrations:delete": R(
        "DELETE", SERVER + "/migrations/1", ok=409,
        headers={"OpenStack-API-Version": "compute 2.24"}),
    "os_compute_api:servers:trigger_crash_dump": R(
        "POST", ACTION, {"trigger_crash_dump": None}, ok=202,
        headers={"OpenStack-API-Version": "compute 2.17"}),
    # 2.16: a denied role sees the server without its host's status.
    "os_compute_api:servers:show:host_status": R(
        "GET", SERVER, headers={"OpenStack-API-Version": "compute 2.16"},
        check=lambda body: body["server"]["host_status"] == "UP",
        filtered=lambda body: "host_status" not in body["server"]),
    # No server has a network: an allowed caller gets Nova's 404 for the label.
    "os_compute_api:ips:show": R("GET", SERVER + "/ips/private", ok=404),
    "os_compute_api:limits": R("GET", "/v2.1/limits"),
    "os_compute_api:limits:other_project": R(
        "GET", "/v2.1/limits?tenant_id={other_project}",
        check=lambda body: not own_limits(body)),
    "os_compute_api:os-admin-actions:reset_state": R(
        "POST", LIFE, {"os-resetState": {"state": "active"}}, ok=202,
        prepare=life_in("ACTIVE")),
    # Allowed: the admin's lookup of a token nobody issued is Nova's 404.
    "os_compute_api:os-console-auth-tokens": R(
        "GET", "/v2.1/os-console-auth-tokens/no-such-token", ok=404),
    "os_compute_api:os-remote-consoles": R(
        "POST", ACTION, {"os-getVNCConsole": {"type": "novnc"}},
        check=lambda body: "token" in body["console"]["url"]),
    "os_compute_api:os-console-output": R(
        "POST", ACTION, {"os-getConsoleOutput": {"length": 3}},
        check=lambda body: isinstance(body["output"], str)),
    "os_compute_api:os-deferred-delete:force": R(
        "POST", VICTIM, {"forceDelete": None}, ok=202, prepare=victim_server,
        cleanup=drop_victim_server),
    # The server is not SOFT_DELETED: an allowed restore is a 409.
    "os_compute_api:os-deferred-delete:restore": R("POST", ACTION, {"restore": None}, ok=409),
    "os_compute_api:os-certificates:create": R(
        "POST", "/v2.1/os-certificates", check=lambda body: "private_key" in body["certificate"]),
    "os_compute_api:os-certificates:show": R("GET", "/v2.1/os-certificates/root"),
    "os_compute_api:os-shelve:shelve": R(
        "POST", VICTIM, {"shelve": None}, ok=202, prepare=victim_server,
        cleanup=drop_victim_server),
    # The server is ACTIVE: an allowed offload or unshelve is a 409.
    "os_compute_api:os-shelve:shelve_offload": R(
        "POST", ACTION, {"shelveOffload": None}, ok=409),
    "os_compute_api:os-shelve:unshelve": R("POST", ACTION, {"unshelve": None}, ok=409),
    "os_compute_api:os-instance-actions:events": R(
        "GET", SERVER + "/os-instance-actions/{request_id}", check=events_shown,
        filtered=lambda body: not events_shown(body)),
    "os_compute_api:os-instance-actions:list": R("GET", SERVER + "/os-instance-actions"),
    "os_compute_api:os-instance-actions:show": R(
        "GET", SERVER + "/os-instance-actions/{request_id}"),
    "os_compute_api:os-lock-server:lock": R(
        "POST", ACTION, {"lock": None}, ok=202, prepare=unlocked, cleanup=unlock_after),
    "os_compute_api:os-lock-server:unlock": R(
        "POST", ACTION, {"unlock": None}, ok=202, prepare=locked_by("member"),
        cleanup=unlock_after),
    "os_compute_api:os-lock-server:unlock:unlock_override": R(
        "POST", ACTION, {"unlock": None}, ok=202, prepare=locked_by("admin"),
        cleanup=unlock_after),
    "os_compute_api:os-pause-server:pause": R(
        "POST", LIFE, {"pause": None}, ok=202, prepare=life_in("ACTIVE")),
    "os_compute_api:os-pause-server:unpause": R(
        "POST", LIFE, {"unpause": None}, ok=202, prepare=life_in("PAUSED")),
    "os_compute_api:os-rescue": R(
        "POST", LIFE, {"rescue": None}, prepare=life_in("ACTIVE")),
    "os_compute_api:os-unrescue": R(
        "POST", LIFE, {"unrescue": None}, ok=202, prepare=life_in("RESCUE")),
    "os_compute_api:os-suspend-server:resume": R(
        "POST", LIFE, {"resume": None}, ok=202, prepare=life_in("SUSPENDED")),
    "os_compute_api:os-suspend-server:suspend": R(
        "POST", LIFE, {"suspend": None}, ok=202, prepare=life_in("ACTIVE")),
    "os_compute_api:server-metadata:create": R(
        "POST", SERVER + "/metadata", {"metadata": {"added": "{role}"}}),
    "os_compute_api:server-metadata:delete": R(
        "DELETE", SERVER + "/metadata/gone", ok=204, prepare=metadata_item),
    "os_compute_api:server-metadata:index": R(
        "GET", SERVER + "/metadata", check=lambda body: body["metadata"].get("k") == "v"),
    "os_compute_api:server-metadata:show": R(
        "GET", SERVER + "/metadata/k", check=lambda body: body == {"meta": {"k": "v"}}),
    "os_compute_api:server-metadata:update": R(
        "PUT", SERVER + "/metadata/k", {"meta": {"k": "v"}}),
    "os_compute_api:server-metadata:update_all": R(
        "PUT", SERVER + "/metadata", {"metadata": {"k": "v"}}),
    "os_compute_api:servers:confirm_resize": R(
        "POST", LIFE, {"confirmResize": None}, ok=204, prepare=life_in("VERIFY_RESIZE")),
    "os_compute_api:servers:create": R(
        "POST", "/v2.1/servers", NEW_SERVER, ok=202, cleanup=drop_created_server),
    "compute:server:topology:index": R(
        "GET", SERVER + "/topology", headers={"OpenStack-API-Version": "compute 2.78"},
        check=lambda body: body == {"nodes": [], "pagesize_kb": None}),
    "compute:servers:create:requested_destination": R(
        "POST", "/v2.1/servers",
        {"server": dict(NEW_SERVER["server"], networks="none", host="{any_host}")},
        ok=202, headers={"OpenStack-API-Version": "compute 2.74"},
        prepare=lambda role: {"any_host": any_host()}, cleanup=drop_created_server),
    "os_compute_api:servers:create:trusted_certs": R(
        "POST", "/v2.1/servers",
        {"server": dict(NEW_SERVER["server"], networks="none",
                        trusted_image_certificates=["policy-cert"])},
        ok=202, headers=AT_2_63, cleanup=drop_created_server),
    "os_compute_api:os-create-backup": R(
        "POST", LIFE, {"createBackup": {"name": "policy-backup", "backup_type": "daily",
                                        "rotation": 1}}, ok=202,
        prepare=life_in("ACTIVE"), cleanup=drop_snapshot),
    "os_compute_api:servers:create_image": R(
        "POST", LIFE, {"createImage": {"name": "policy-snapshot"}}, ok=202,
        prepare=life_in("ACTIVE"), cleanup=drop_snapshot),
    "os_compute_api:servers:delete": R(
        "DELETE", "/v2.1/servers/{victim}", ok=204, prepare=victim_server,
        cleanup=drop_victim_server),
    "os_compute_api:servers:detail": R("GET", "/v2.1/servers/detail"),
    "os_compute_api:servers:detail:get_all_tenants": R(
        "GET", "/v2.1/servers/detail?all_tenants=1"),
    "os_compute_api:servers:index": R("GET", "/v2.1/servers"),
    "os_compute_api:servers:index:get_all_tenants": R("GET", "/v2.1/servers?all_tenants=1"),
    # chronova's guests have no QEMU guest agent: an allowed caller gets Nova's 409.
    "os_compute_api:os-admin-password": R(
        "POST", ACTION, {"changePassword": {"adminPass": "policy-pass"}}, ok=409),
    "os_compute_api:os-migrate-server:migrate": R(
        "POST", LIFE, {"migrate": None}, ok=202, prepare=life_in("ACTIVE")),
    "os_compute_api:servers:reboot": R(
        "POST", LIFE, {"reboot": {"type": "SOFT"}}, ok=202, prepare=life_in("ACTIVE")),
    "os_compute_api:servers:rebuild": R(
        "POST", LIFE, {"rebuild": {"imageRef": "{boot_image}"}}, ok=202,
        prepare=life_in("ACTIVE")),
    "os_compute_api:servers:rebuild:trusted_certs": R(
        "POST", LIFE, {"rebuild": {"imageRef": "{boot_image}",
                                   "trusted_image_certificates": ["policy-cert"]}},
        ok=202, headers=AT_2_63, prepare=life_in("ACTIVE")),
    "os_compute_api:servers:resize": R(
        "POST", LIFE, {"resize": {"flavorRef": "{resize_to}"}}, ok=202,
        prepare=lambda role: (ensure(F["life"], "ACTIVE"),
                              {"resize_to": other_flavor(server_of(F["life"]))})[1]),
    "os_compute_api:servers:revert_resize": R(
        "POST", LIFE, {"revertResize": None}, ok=202, prepare=life_in("VERIFY_RESIZE")),
    "os_compute_api:servers:show": R("GET", SERVER),
    "os_compute_api:servers:start": R(
        "POST", LIFE, {"os-start": None}, ok=202, prepare=life_in("SHUTOFF")),
    "os_compute_api:servers:stop": R(
        "POST", LIFE, {"os-stop": None}, ok=202, prepare=life_in("ACTIVE")),
    "os_compute_api:servers:update": R(
        "PUT", SERVER, {"server": {"name": "policy-server-{role}"}}),
    # ---- keypairs (the caller's own, or another user's with ?user_id=) ----
    "os_compute_api:os-keypairs:create": R(
        "POST", "/v2.1/os-keypairs", {"keypair": {"name": "policy-new"}},
        cleanup=drop_keypair("policy-new")),
    "os_compute_api:os-keypairs:delete": [
        R("DELETE", "/v2.1/os-keypairs/policy-del", ok=202, prepare=keypair_of("own"),
          cleanup=drop_keypair("policy-del")),
        R("DELETE", "/v2.1/os-keypairs/policy-del?user_id={other_user}", ok=204,
          headers=AT_2_10, prepare=keypair_of("other"), cleanup=drop_keypair("policy-del"),
          target="other"),
    ],
    "os_compute_api:os-keypairs:index": [
        R("GET", "/v2.1/os-keypairs"),
        R("GET", "/v2.1/os-keypairs?user_id={other_user}", headers=AT_2_10, target="other"),
    ],
    "os_compute_api:os-keypairs:show": [
        R("GET", "/v2.1/os-keypairs/policy-kp"),
        R("GET", "/v2.1/os-keypairs/policy-kp?user_id={other_user}", headers=AT_2_10,
          target="other"),
    ],
    # ---- server groups ----
    "os_compute_api:os-server-groups:create": R(
        "POST", "/v2.1/os-server-groups",
        {"server_group": {"name": "policy-new", "policies": ["affinity"]}},
        cleanup=drop_created_group),
    "os_compute_api:os-server-groups:delete": [
        R("DELETE", "/v2.1/os-server-groups/{victim}", ok=204, prepare=group_of("own"),
          cleanup=drop_victim_group),
        R("DELETE", "/v2.1/os-server-groups/{victim}", ok=204, prepare=group_of("other"),
          cleanup=drop_victim_group, target="other"),
    ],
    "os_compute_api:os-server-groups:index": R("GET", "/v2.1/os-server-groups"),
    # Nova's: a non-admin asking all_projects gets its own groups, no error.
    "os_compute_api:os-server-groups:index:all_projects": R(
        "GET", "/v2.1/os-server-groups?all_projects=True", check=sees_admins_group,
        filtered=lambda body: not sees_admins_group(body)),
    "os_compute_api:os-server-groups:show": [
        R("GET", "/v2.1/os-server-groups/{group}"),
        R("GET", "/v2.1/os-server-groups/{admin_group}", target="other"),
    ],
    # ---- flavors ----
    "os_compute_api:os-flavor-access": R(
        "GET", "/v2.1/flavors/{flavor_private}/os-flavor-access"),
    "os_compute_api:os-flavor-access:add_tenant_access": R(
        "POST", "/v2.1/flavors/{flavor_private}/action",
        {"addTenantAccess": {"tenant": "policy-tenant"}}, prepare=access_of(False),
        cleanup=drop_access),
    "os_compute_api:os-flavor-access:remove_tenant_access": R(
        "POST", "/v2.1/flavors/{flavor_private}/action",
        {"removeTenantAccess": {"tenant": "policy-tenant"}}, prepare=access_of(True),
        cleanup=drop_access),
    "os_compute_api:os-flavor-extra-specs:create": R(
        "POST", "/v2.1/flavors/{flavor_public}/os-extra_specs",
        {"extra_specs": {"policy:new": "{role}"}}),
    "os_compute_api:os-flavor-extra-specs:delete": R(
        "DELETE", "/v2.1/flavors/{flavor_public}/os-extra_specs/policy:gone",
        prepare=extra_spec),
    "os_compute_api:os-flavor-extra-specs:index": R(
        "GET", "/v2.1/flavors/{flavor_public}/os-extra_specs",
        check=lambda body: body["extra_specs"].get("policy:k") == "v"),
    "os_compute_api:os-flavor-extra-specs:show": R(
        "GET", "/v2.1/flavors/{flavor_public}/os-extra_specs/policy:k",
        check=lambda body: body == {"policy:k": "v"}),
    "os_compute_api:os-flavor-extra-specs:update": R(
        "PUT", "/v2.1/flavors/{flavor_public}/os-extra_specs/policy:k", {"policy:k": "v"}),
    "os_compute_api:os-flavor-manage:create": R(
        "POST", "/v2.1/flavors",
        {"flavor": {"name": "policy-new", "ram": 64, "vcpus": 1, "disk": 0}},
        cleanup=drop_created_flavor),
    "os_compute_api:os-flavor-manage:delete": R(
        "DELETE", "/v2.1/flavors/{victim}", ok=202, prepare=victim_flavor,
        cleanup=drop_victim_flavor),
    "os_compute_api:os-flavor-manage:update": R(
        "PUT", "/v2.1/flavors/{victim}", {"flavor": {"description": "policy"}},
        headers={"OpenStack-API-Version": "compute 2.55"}, prepare=victim_flavor,
        cleanup=drop_victim_flavor),
    # ---- quotas ----
    "os_compute_api:os-quota-class-sets:show": R("GET", "/v2.1/os-quota-class-sets/default"),
    "os_compute_api:os-quota-class-sets:update": R(
        "PUT", "/v2.1/os-quota-class-sets/policy-class",
        {"quota_class_set": {"instances": 5}}),
    "os_compute_api:os-quota-sets:defaults": R(
        "GET", "/v2.1/os-quota-sets/{demo_project}/defaults"),
    "os_compute_api:os-quota-sets:delete": R(
        "DELETE", "/v2.1/os-quota-sets/policy-deleted-project", ok=202),
    "os_compute_api:os-quota-sets:detail": [
        R("GET", "/v2.1/os-quota-sets/{demo_project}/detail"),
        R("GET", "/v2.1/os-quota-sets/{admin_project}/detail", target="other"),
    ],
    "os_compute_api:os-quota-sets:show": [
        R("GET", "/v2.1/os-quota-sets/{demo_project}"),
        R("GET", "/v2.1/os-quota-sets/{admin_project}", target="other"),
    ],
    "os_compute_api:os-quota-sets:update": R(
        "PUT", "/v2.1/os-quota-sets/{other_project}", {"quota_set": {"instances": 7}}),
    "os_compute_api:os-server-diagnostics": R("GET", SERVER + "/diagnostics"),
    "os_compute_api:os-migrations:index": R("GET", "/v2.1/os-migrations"),
    "os_compute_api:os-server-password:show": R("GET", SERVER + "/os-server-password"),
    "os_compute_api:os-server-password:clear": R(
        "DELETE", SERVER + "/os-server-password", ok=204),
    "os_compute_api:os-server-external-events:create": R(
        "POST", "/v2.1/os-server-external-events",
        {"events": [{"name": "network-changed", "server_uuid": "{server}"}]}),
    "os_compute_api:os-instance-usage-audit-log:list": R(
        "GET", "/v2.1/os-instance_usage_audit_log"),
    "os_compute_api:os-instance-usage-audit-log:show": R(
        "GET", "/v2.1/os-instance_usage_audit_log/2026-01-01%2000:00:00"),
    "os_compute_api:extensions": [
        R("GET", "/v2.1/extensions"),
        R("GET", "/v2.1/extensions/os-keypairs"),
    ],
    "os_compute_api:os-simple-tenant-usage:list": R("GET", "/v2.1/os-simple-tenant-usage"),
    "os_compute_api:os-simple-tenant-usage:show": [
        R("GET", "/v2.1/os-simple-tenant-usage/{demo_project}"),
        R("GET", "/v2.1/os-simple-tenant-usage/{admin_project}", target="other"),
    ],
    # ---- availability zones, hosts, hypervisors, services ----
    "os_compute_api:os-availability-zone:detail": R("GET", "/v2.1/os-availability-zone/detail"),
    "os_compute_api:os-availability-zone:list": R("GET", "/v2.1/os-availability-zone"),
    "os_compute_api:os-hosts:list": R("GET", "/v2.1/os-hosts"),
    # The fake driver powers no host: an allowed caller gets Nova's 501.
    "os_compute_api:os-hosts:reboot": R("GET", "/v2.1/os-hosts/{host}/reboot", ok=501),
    "os_compute_api:os-hosts:show": R("GET", "/v2.1/os-hosts/{host}"),
    "os_compute_api:os-hosts:shutdown": R("GET", "/v2.1/os-hosts/{host}/shutdown", ok=501),
    "os_compute_api:os-hosts:start": R("GET", "/v2.1/os-hosts/{host}/startup", ok=501),
    "os_compute_api:os-hosts:update": R("PUT", "/v2.1/os-hosts/{host}", {}),
    "os_compute_api:os-hypervisors:list": R("GET", "/v2.1/os-hypervisors"),
    "os_compute_api:os-hypervisors:list-detail": R("GET", "/v2.1/os-hypervisors/detail"),
    "os_compute_api:os-hypervisors:search": R(
        "GET", "/v2.1/os-hypervisors/{hypervisor_name}/search"),
    "os_compute_api:os-hypervisors:servers": R(
        "GET", "/v2.1/os-hypervisors/{hypervisor_name}/servers"),
    "os_compute_api:os-hypervisors:show": R("GET", "/v2.1/os-hypervisors/{hypervisor}"),
    "os_compute_api:os-hypervisors:statistics": R("GET", "/v2.1/os-hypervisors/statistics"),
    # The compute host's own uptime(1), asked over the bus.
    "os_compute_api:os-hypervisors:uptime": R(
        "GET", "/v2.1/os-hypervisors/{hypervisor}/uptime"),
    "os_compute_api:os-services:delete": R(
        "DELETE", "/v2.1/os-services/{service_id}", ok=405,
        filtered=lambda body: True, expect_denied=405,
        known="there is no DELETE /os-services/{id} route: 405 for everyone, the rule is "
              "never consulted"),
    "os_compute_api:os-services:list": R("GET", "/v2.1/os-services"),
    "os_compute_api:os-services:update": R(
        "PUT", "/v2.1/os-services/enable", {"host": "{host}", "binary": "nova-compute"}),
    # ---- aggregates ----
    "os_compute_api:os-aggregates:add_host": R(
        "POST", "/v2.1/os-aggregates/{aggregate}/action", {"add_host": {"host": "{host}"}},
        prepare=host_in_aggregate(False), cleanup=drop_host),
    "os_compute_api:os-aggregates:create": R(
        "POST", "/v2.1/os-aggregates", {"aggregate": {"name": "policy-new-{role}"}},
        cleanup=drop_created_aggregate),
    "os_compute_api:os-aggregates:delete": R(
        "DELETE", "/v2.1/os-aggregates/{victim}", prepare=victim_aggregate,
        cleanup=drop_victim_aggregate),
    "os_compute_api:os-aggregates:index": R("GET", "/v2.1/os-aggregates"),
    "os_compute_api:os-aggregates:remove_host": R(
        "POST", "/v2.1/os-aggregates/{aggregate}/action", {"remove_host": {"host": "{host}"}},
        prepare=host_in_aggregate(True), cleanup=drop_host),
    "os_compute_api:os-aggregates:set_metadata": R(
        "POST", "/v2.1/os-aggregates/{aggregate}/action",
        {"set_metadata": {"metadata": {"policy": "{role}"}}}),
    "os_compute_api:os-aggregates:show": R("GET", "/v2.1/os-aggregates/{aggregate}"),
    "os_compute_api:os-aggregates:update": R(
        "PUT", "/v2.1/os-aggregates/{aggregate}", {"aggregate": {"name": "policy-agg-{role}"}}),
}


# ---- checking ------------------------------------------------------------------

POLICY_MESSAGES = (
    (re.compile(r"^Policy doesn't allow (\S+) to be performed\.$"), ""),  # Nova
    (re.compile(r"^You are not authorized to complete (\S+) action\.$"), "glance:"),  # Glance
    (re.compile(r"^You are not authorized to perform the requested action: (\S+)\.$"), ""),
)


def forbidden_message(path, resp, what):
    """The message of a 403 in the shape of the API that answered it."""
    try:
        d = json.loads(resp.data)
        if path.startswith("/v2.1/"):  # Nova: {"forbidden": {"code": 403, "message": ...}}
            assert list(d) == ["forbidden"] and d["forbidden"]["code"] == 403
            return d["forbidden"]["message"]
        if path.startswith("/v2/"):  # Glance (webob): {"message", "code", "title"}
            assert d["code"] == "403 Forbidden" and d["title"] == "Forbidden"
            return d["message"]
        # Keystone: {"error": {"code": 403, "message": ..., "title": "Forbidden"}}
        assert d["error"]["code"] == 403 and d["error"]["title"] == "Forbidden"
        return d["error"]["message"]
    except (ValueError, KeyError, TypeError, AssertionError):
        fail("%s: 403 is not in the API's error shape: %r" % (what, resp.data[:300]))


def fill(template, values):
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def run(rules):
    requests = 0
    notes = []
    for name in sorted(RULES):
        kind = rules[name]
        variants = RULES[name] if isinstance(RULES[name], list) else [RULES[name]]
        for spec in variants:
            other = spec.get("target") == "other"
            # Denied roles first: the request must still be one that would succeed.
            order = sorted(ROLES, key=lambda r: allowed(kind, r, other))
            for role in order:
                ok = allowed(kind, role, other)
                values = dict(F, role=role, user=ME[role]["user"], project=ME[role]["project"],
                              other_user=ME[other_role(role)]["user"])
                extra = spec["prepare"](role) if "prepare" in spec else {}
                values.update(extra)
                path = fill(spec["path"], values)
                what = "%s as %s: %s %s" % (name, role, spec["method"], path)
                resp = request(spec["method"], path, TOKENS[role],
                               fill(spec["body"], values), fill(spec.get("headers"), values))
                requests += 1
                check_one(rules, name, spec, role, ok, other, path, resp, what, notes)
                if "cleanup" in spec:
                    spec["cleanup"](role, extra, resp)
    return requests, notes


def check_one(rules, name, spec, role, ok, other, path, resp, what, notes):
    body = resp.data if spec.get("raw") else None
    if ok:
        if resp.status != spec["ok"]:
            fail("%s -> %d, want %d (%s allows %s): %r"
                 % (what, resp.status, spec["ok"], rules[name], role, resp.data[:300]))
        if "check" in spec and resp.status < 300:
            if not spec["check"](body if spec.get("raw") else resp.json()):
                fail("%s: the answer is not what %s should see: %r"
                     % (what, role, resp.data[:300]))
        return
    if "filtered" in spec and resp.status == spec.get("expect_denied", 200):
        # A rule that filters the answer instead of refusing the request.
        if resp.status == 200 and not spec["filtered"](resp.json()):
            fail("%s: %s should not see this (%s): %r"
                 % (what, role, rules[name], resp.data[:300]))
        if spec.get("known"):
            notes.append("%s: %s" % (name, spec["known"]))
        return
    if resp.status != 403:
        fail("%s -> %d, want 403 (%s denies %s): %r"
             % (what, resp.status, rules[name], role, resp.data[:300]))
    if spec.get("known"):
        fail("%s -> 403: the known deviation (%s) is fixed; update RULES" % (what, spec["known"]))
    message = forbidden_message(path, resp, what)
    for pattern, prefix in POLICY_MESSAGES:
        m = pattern.match(message)
        if m:
            named = prefix + m.group(1)
            break
    else:
        fail("%s: the 403 is not a policy refusal: %r" % (what, message))
    if named not in rules:
        fail("%s: the 403 names %s, which kRules does not list" % (what, named))
    if allowed(rules[named], role, other):
        fail("%s: the 403 names %s (%s), which allows %s" % (what, named, rules[named], role))


def main():
    started = time.time()
    rules = parse_rules()
    missing = sorted(set(rules) - set(RULES))
    if missing:
        fail("rules of api/auth/policy.cc without a request in RULES: " + ", ".join(missing))
    stale = sorted(set(RULES) - set(rules))
    if stale:
        fail("RULES names rules api/auth/policy.cc does not have: " + ", ".join(stale))
    setup()
    requests, notes = run(rules)
    teardown()
    for note in sorted(set(notes)):
        print("known deviation: " + note)
    print("policy: %d rules x %d roles = %d checks (%d requests) passed in %.1f s"
          % (len(rules), len(ROLES), len(rules) * len(ROLES), requests, time.time() - started))


if __name__ == "__main__":
    main()
