#!/usr/bin/env python3
"""Prints a TCP port on 127.0.0.1 that nothing listens on now (tools/cluster.sh,
tests/e2e/lib.sh). It is picked below the kernel's ephemeral range (32768 and
up), so it is never taken meanwhile as the local port of an outgoing
connection, as a port from binding port 0 can be."""
import random
import socket
import sys

for _ in range(500):
    port = random.randint(20000, 32767)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("free_port.py: no free port found")
