"""Prints, as JSON, what an environment's network lets through.

Usage: netprobe.py PROBE...

Each PROBE is PROTO:HOST:PORT. For "tcp" the script connects (and sends
nothing); for "udp" it only connects the socket, which looks the route up
and sends no packet at all, so that probes of addresses outside the
machine never leave it. The answer is "ok" or the error's name.
"""
import errno
import json
import socket
import sys


def error_name(e):
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def probe(spec):
    proto, host, port = spec.split(":")
    try:
        addr = socket.gethostbyname(host)
    except OSError as e:
        return "resolve:" + error_name(e)
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(10)
    try:
        s.connect((addr, int(port)))
        return "ok"
    except OSError as e:
        return error_name(e)
    finally:
        s.close()


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return error_name(e)


print(json.dumps({
    "probes": {p: probe(p) for p in sys.argv[1:]},
    "hosts": read("/etc/hosts"),
    "resolv": read("/etc/resolv.conf"),
}))
