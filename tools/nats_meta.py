#!/usr/bin/env python3
"""Is a NATS cluster's JetStream meta group whole?

    tools/nats_meta.py [--wait SECONDS] HOST:HTTP_PORT...

Reads each node's monitoring endpoint (/varz, /jsz) and exits 0 once every
node names the same meta leader and that leader reports a group of all the
nodes given, each replica current. Otherwise (after --wait seconds, default 0)
it exits 1, prints on stdout the 1-based positions of the nodes that are not
in the leader's group (nothing if there is no leader yet), and says why on
stderr.

Why: nats-server 2.10 can form a fresh cluster's meta group without one of
its nodes when two nodes dial each other's routes at the same moment (the
duplicate-route race, fixed upstream after 2.10.27). The cluster then looks
healthy (/healthz is 200 everywhere) but cannot place a stream of 3 replicas
("no suitable peers for placement"). Restarting the node left out makes the
leader add it. docs/operations.md, "Forming a NATS cluster", has the runbook.
"""
import json
import sys
import time
import urllib.request


def get(node, path):
    with urllib.request.urlopen(f"http://{node}{path}", timeout=2) as r:
        return json.load(r)


def check(nodes):
    """(formed, missing positions, reason)."""
    names, leaders, leader_view = {}, set(), None
    for i, node in enumerate(nodes, 1):
        try:
            name = get(node, "/varz").get("server_name", "")
            meta = get(node, "/jsz").get("meta_cluster") or {}
        except Exception as e:  # a node down or not yet listening
            return False, [], f"{node}: {e}"
        names[name] = i
        leaders.add(meta.get("leader", ""))
        if meta.get("leader") == name:
            leader_view = meta
    if leader_view is None or len(leaders) != 1:
        return False, [], f"no meta leader every node agrees on (they name {sorted(leaders)})"
    members = {leader_view["leader"]}
    current = True
    for r in leader_view.get("replicas") or []:
        members.add(r.get("name", ""))
        current = current and bool(r.get("current"))
    missing = sorted(i for name, i in names.items() if name not in members)
    if missing:
        left_out = ", ".join(n for n in names if n not in members)
        return False, missing, (f"the meta group of leader {leader_view['leader']} has "
                                f"{len(members)} of {len(nodes)} nodes; {left_out} left out")
    if not current:
        return False, [], "a meta replica is not current yet"
    return True, [], ""


def main(argv):
    wait = 0.0
    if len(argv) >= 2 and argv[0] == "--wait":
        wait, argv = float(argv[1]), argv[2:]
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    deadline = time.monotonic() + wait
    while True:
        formed, missing, reason = check(argv)
        if formed:
            return 0
        if time.monotonic() >= deadline:
            print(" ".join(map(str, missing)))
            print(f"nats_meta: {reason}", file=sys.stderr)
            return 1
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
