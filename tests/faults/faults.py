#!/usr/bin/env python3
"""The fault suite's driver and checker (the multi-host issue; Jepsen's queue
checker is the model).

Against a cluster started by tools/cluster.sh (noauth2), it boots servers and
deletes some of them through both api processes with concurrent clients while
it injects faults one after another, each followed by a recovery. Then it waits
for the cloud to settle and classifies every acknowledged request:

  lost            a 202'd boot whose server is gone though nobody deleted it,
                  or a 204'd delete whose server is still there
  duplicated      a boot request (each has a unique name) that made two servers
  stuck           a server still in BUILD, or with task_state deleting
  over-committed  a host whose claims exceed its capacity (allocation ratios)
  leaked          a host whose claims differ from the servers placed on it

It prints one table row per fault (requests acknowledged during it, and the time
from the fault to the first boot sent after it that went ACTIVE) and exits 1 if
any count above is not 0. Read models are compared with a rebuild by
run.sh after the cluster stopped (chronovactl verify per api state dir).
"""
import argparse
import http.client
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import urllib.parse

ADMIN = "admin:admin"
USER = "demo:demo"


class Api:
    def __init__(self, urls):
        self.urls = [urllib.parse.urlparse(u) for u in urls]

    def call(self, i, method, path, body=None, token=USER, timeout=30):
        """(status, parsed body or None); status 0 when the connection failed."""
        u = self.urls[i % len(self.urls)]
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
            c.request(method, u.path + path,
                      body=json.dumps(body) if body is not None else None,
                      headers={"X-Auth-Token": token,
                               "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            c.close()
        except (OSError, http.client.HTTPException):
            return 0, None
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, None

    def any(self, method, path, body=None, token=ADMIN, tries=60):
        """A call that must succeed on some api process (setup, checking)."""
        for t in range(tries):
            status, data = self.call(t, method, path, body, token)
            if 200 <= status < 300:
                return data
            time.sleep(1)
        sys.exit("%s %s: no api process answered 2xx" % (method, path))


def cluster(args, *cmd):
    env = dict(os.environ, CHRONOVA_CLUSTER_DIR=args.cluster_dir,
               CHRONOVA_BUILD=args.build)
    subprocess.run([args.cluster_sh, *cmd], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def inject(args, fault):
    """Injects `fault` and returns the function that ends it."""
    kind, _, name = fault.partition(":")
    if kind == "kill":
        cluster(args, "kill", name)
        return lambda: cluster(args, "start", name)
    if kind == "pause":
        cluster(args, "pause", name)
        return lambda: cluster(args, "resume", name)
    if kind == "partition":
        cluster(args, "partition", name)
        return lambda: cluster(args, "heal", name)
    sys.exit("unknown fault " + fault)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cluster-dir", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--cluster-sh", required=True)
    p.add_argument("--compute-urls", required=True)
    p.add_argument("--boots", type=int, default=100)
    p.add_argument("--deletes", type=int, default=30)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--faults", default="kill:api-2,kill:scheduler-1,kill:conductor-1,"
                   "kill:compute-1,kill:nats-2")
    p.add_argument("--fault-seconds", type=float, default=4.0,
                   help="how long each fault lasts before its recovery")
    p.add_argument("--gap-seconds", type=float, default=4.0,
                   help="time between one recovery and the next fault")
    p.add_argument("--settle-seconds", type=int, default=180)
    args = p.parse_args()
    api = Api(args.compute_urls.split(","))
    faults = [f for f in args.faults.split(",") if f]

    api.any("PUT", "/os-quota-sets/demo",
            {"quota_set": {"instances": -1, "cores": -1, "ram": -1}})
    image = api.any("GET", "/images", token=USER)["images"][0]["id"]
    flavors = {f["id"]: f["ram"] for f in api.any("GET", "/flavors/detail")["flavors"]}

    # The load: boots paced over the whole fault schedule, deletes of booted
    # servers mixed in; every request is sent once (a failed one is not retried
    # under the same name, so each name is one request).
    # Restarting a member takes a second or two besides fault_seconds.
    duration = len(faults) * (args.fault_seconds + args.gap_seconds + 2) + args.gap_seconds
    lock = threading.Lock()
    acked = {}        # name -> (server id, time sent)
    unacked = []      # names whose boot got no answer or an error
    deleted = set()   # ids whose delete was acknowledged (204)
    delete_failed = []
    jobs = queue.Queue()
    start = time.time()
    # The last tenth of the boots waits for the last recovery: every fault has
    # boots after it, however long the faults took.
    paced = args.boots - max(5, args.boots // 10)
    for n in range(paced):
        jobs.put(("boot", "fault-%04d" % n, start + duration * n / paced))
    faults_done = threading.Event()

    def client(k):
        deletes_left = args.deletes // args.clients + (k < args.deletes % args.clients)
        while True:
            try:
                _, name, due = jobs.get(timeout=0.2)
            except queue.Empty:
                if faults_done.is_set() and jobs.empty():
                    return
                continue
            time.sleep(max(0, due - time.time()))
            sent = time.time()
            status, data = api.call(random.randrange(8), "POST", "/servers", {"server": {
                "name": name, "flavorRef": "1", "imageRef": image}})
            with lock:
                if status == 202:
                    acked[name] = (data["server"]["id"], sent)
                else:
                    unacked.append((name, status, sent))
            # Every few boots, delete one of this cloud's acknowledged servers.
            if deletes_left > 0 and random.random() < args.deletes / args.boots * 1.5:
                with lock:
                    candidates = [sid for sid, _ in acked.values() if sid not in deleted]
                if candidates:
                    victim = random.choice(candidates)
                    status, _ = api.call(random.randrange(8), "DELETE", "/servers/" + victim)
                    with lock:
                        if status == 204:
                            deleted.add(victim)
                            deletes_left -= 1
                        elif status != 404:
                            delete_failed.append((victim, status))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    injected = []  # (fault, time injected, time recovered)
    time.sleep(args.gap_seconds)
    for fault in faults:
        t0 = time.time()
        end = inject(args, fault)
        time.sleep(args.fault_seconds)
        end()
        injected.append((fault, t0, time.time()))
        time.sleep(args.gap_seconds)
    for n in range(paced, args.boots):
        jobs.put(("boot", "fault-%04d" % n, 0))
    faults_done.set()
    for t in threads:
        t.join()

    # Settle: every acknowledged server ACTIVE or ERROR, every deleted one gone.
    deadline = time.time() + args.settle_seconds
    while True:
        servers = api.any("GET", "/servers/detail?all_tenants=1&limit=100000")["servers"]
        by_id = {s["id"]: s for s in servers}
        unsettled = [s for s in servers
                     if s["status"] == "BUILD" or s.get("OS-EXT-STS:task_state") == "deleting"]
        pending_deletes = [i for i in deleted if i in by_id]
        if not unsettled and not pending_deletes:
            break
        if time.time() > deadline:
            break
        time.sleep(2)
    settled_in = time.time() - (injected[-1][2] if injected else start)

    lost = [(n, sid) for n, (sid, _) in acked.items()
            if sid not in deleted and sid not in by_id]
    lost += [(None, sid) for sid in deleted if sid in by_id]
    names = {}
    for s in servers:
        names.setdefault(s["name"], []).append(s["id"])
    duplicated = {n: ids for n, ids in names.items() if len(ids) > 1}
    stuck = [(s["id"], s["status"], s.get("OS-EXT-STS:task_state")) for s in unsettled]
    errors = [s for s in servers if s["status"] == "ERROR"]
    errors_without_fault = [s["id"] for s in errors if not s.get("fault")]
    active = sum(1 for s in servers if s["status"] == "ACTIVE")

    # Claims: within capacity, and equal to the servers placed on each host
    # (the conductor gives back unused claims at each host's power-state sync).
    over, leaked = [], []
    deadline = time.time() + 60
    while True:
        hypervisors = api.any("GET", "/os-hypervisors/detail")["hypervisors"]
        placed = {}
        servers = api.any("GET", "/servers/detail?all_tenants=1&limit=100000")["servers"]
        for s in servers:
            host = s.get("OS-EXT-SRV-ATTR:host")
            if host:
                placed[host] = placed.get(host, 0) + flavors.get(s["flavor"]["id"], 0)
        over = [h["hypervisor_hostname"] for h in hypervisors
                if h["memory_mb_used"] > h["memory_mb"] * 1.5
                or h["vcpus_used"] > h["vcpus"] * 16]
        leaked = [(h["hypervisor_hostname"], h["memory_mb_used"],
                   placed.get(h["hypervisor_hostname"], 0)) for h in hypervisors
                  if h["memory_mb_used"] != placed.get(h["hypervisor_hostname"], 0)]
        if (not leaked and not over) or time.time() > deadline:
            break
        time.sleep(2)

    # Recovery: from each fault to the first boot sent after it that is ACTIVE.
    status_of = {s["id"]: s["status"] for s in servers}
    unrecovered = []
    print("%-20s %6s %8s %5s %6s %s" % ("fault", "acked", "refused", "lost", "stuck",
                                         "first ACTIVE boot after (s)"))
    lost_ids = {sid for _, sid in lost}
    stuck_ids = {sid for sid, _, _ in stuck}
    for fault, t0, t1 in injected:
        during = [sid for sid, sent in acked.values() if t0 <= sent < t1]
        refused = [n for n, _, sent in unacked if t0 <= sent < t1]
        after = sorted(sent for sid, sent in acked.values()
                       if sent >= t0 and status_of.get(sid) == "ACTIVE")
        recovery = "%.1f" % (after[0] - t0) if after else "none"
        if not after:
            unrecovered.append(fault)
        print("%-20s %6d %8d %5d %6d %s" % (
            fault, len(during), len(refused), len(lost_ids.intersection(during)),
            len(stuck_ids.intersection(during)), recovery))
    refusals = {}
    for _, status, _ in unacked:
        refusals[status] = refusals.get(status, 0) + 1
    print("refused or unanswered boots by status (0: no answer): %r" % refusals)
    for s in errors[:5]:
        print("ERROR %s: %s" % (s["id"], (s.get("fault") or {}).get("message")))
    print("boots: %d sent, %d acknowledged, %d refused or unanswered; deletes: %d "
          "acknowledged, %d failed" % (args.boots, len(acked), len(unacked),
                                       len(deleted), len(delete_failed)))
    print("end: %d servers, %d ACTIVE, %d ERROR (%d without a fault); settled %.0f s "
          "after the last recovery" % (len(servers), active, len(errors),
                                       len(errors_without_fault), settled_in))
    print("lost %d, duplicated %d, stuck %d, over-committed %d, leaked claims %d" % (
        len(lost), len(duplicated), len(stuck), len(over), len(leaked)))
    for what, items in (("lost", lost), ("duplicated", list(duplicated.items())),
                        ("stuck", stuck), ("over-committed", over), ("leaked", leaked),
                        ("ERROR without a fault", errors_without_fault),
                        ("no ACTIVE boot after", unrecovered),
                        ("unanswered or refused boot", [u[:2] for u in unacked]),
                        ("failed delete", delete_failed)):
        for item in items[:10]:
            print("  %s: %r" % (what, item))
    bad = lost or duplicated or stuck or over or leaked or errors_without_fault or unrecovered
    if len(acked) == 0:
        print("no boot was acknowledged")
        bad = True
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
