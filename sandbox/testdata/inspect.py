"""Prints, as JSON, what a process sees inside an environment.

Usage: inspect.py HOST_PORT WRITE_PATH...

HOST_PORT is a port the test listens on in the host's loopback; each
WRITE_PATH is a file the script tries to create.
"""
import errno
import json
import os
import pwd
import socket
import sys


def error_name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def try_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "ok"
    except OSError as e:
        return error_name(e)


def try_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "ok"
    except OSError as e:
        return error_name(e) if e.errno else type(e).__name__


out = {
    "uid": os.getuid(),
    "gid": os.getgid(),
    "groups": os.getgroups(),
    "user": pwd.getpwuid(os.getuid()).pw_name,
    "pid": os.getpid(),
    "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "cwd": os.getcwd(),
    "env": dict(os.environ),
    "hostname": socket.gethostname(),
    "connectHost": try_connect(int(sys.argv[1])),
    "writes": {p: try_write(p) for p in sys.argv[2:]},
}
print(json.dumps(out))
