#!/usr/bin/env python3
"""Prints a TCP port on 127.0.0.1 that nothing listens on now (tools/cluster.sh,
tests/e2e/lib.sh). It is picked below the kernel's ephemeral range (32768 and
up), so it is never taken meanwhile as the local port of an outgoing
connection, as a port from binding port 0 can be.

A port is handed out before its server binds it, sometimes many seconds later
(a cluster picks all its ports first). So that two tests running at once
(ctest -j) are never handed the same port, each one handed out is reserved
for 10 minutes by a file in ${TMPDIR:-/tmp}/chronova-ports; the C++ tests'
FreePort() (tests/support/test_util.cc) honours the same files."""
import os
import random
import socket
import sys
import time

RESERVE_S = 600


def reserve(directory, port):
    path = os.path.join(directory, str(port))
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return True
        except FileExistsError:
            try:
                if time.time() - os.stat(path).st_mtime < RESERVE_S:
                    return False
                os.unlink(path)  # an expired reservation
            except FileNotFoundError:
                pass
    return False


def main():
    directory = os.path.join(os.environ.get("TMPDIR", "/tmp"), "chronova-ports")
    os.makedirs(directory, exist_ok=True)
    try:
        os.chmod(directory, 0o1777)
    except PermissionError:
        pass
    for _ in range(2000):
        port = random.randint(20000, 32767)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        if not reserve(directory, port):
            continue
        print(port)
        return 0
    sys.exit("free_port.py: no free port found")


if __name__ == "__main__":
    sys.exit(main())
