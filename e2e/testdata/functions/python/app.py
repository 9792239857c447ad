"""Test function of lambdahost's end-to-end tests (handler app.handler).

What it does is driven by the event; every key is optional:

  print        a line to print
  log          {"level", "message"}: log a record with the logging module
  append       {"path", "line"}: append a line to a file (async tests
               count their runs in /tmp)
  sleep_ms     milliseconds to sleep
  allocate_mb  megabytes to allocate and touch
  exit         exit the process with this status
  fail         raise ValueError with this message
  env          a variable's name: its value is returned as "env"
  envs         variables' names: their values are returned as "envs"
  read         a file's path: its content (or null) is returned as "read"
  probe        sandbox probes, see probe()
  tmp          /tmp operations, see tmp()

It answers {"version": VERSION, "runtime": "python", "request_id", "arn",
"context": {...}, ...}. The tests replace the string "__VERSION__",
quotes included, with a JSON literal when they zip this file, so each
deployment answers its own version and is byte-different.
"""

import errno
import os
import socket
import sys
import time

VERSION = "__VERSION__"

_hold = []


def _errname(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) and e.errno else type(e).__name__


def probe(p):
    out = {}
    if p.get("write_task"):
        try:
            with open("/var/task/probe.txt", "w") as f:
                f.write("x")
            out["write_task"] = "ok"
        except Exception as e:
            out["write_task"] = _errname(e)
    if p.get("proc"):
        out["pids"] = sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
        out["pid"] = os.getpid()
    if p.get("ids"):
        out["uid"], out["euid"], out["gid"] = os.getuid(), os.geteuid(), os.getgid()
    if p.get("connect"):
        host, _, port = p["connect"].rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            out["connect"] = "connected"
        except Exception as e:
            out["connect"] = _errname(e)
    if p.get("tmp_mb"):
        path = "/tmp/fill.bin"
        chunk = b"\x01" * (1 << 20)
        written, err = 0, None
        try:
            with open(path, "wb") as f:
                for _ in range(p["tmp_mb"]):
                    f.write(chunk)
                    f.flush()
                    written += 1
        except Exception as e:
            err = _errname(e)
        finally:
            try:
                os.remove(path)
            except OSError:
                pass
        out["tmp_written_mb"], out["tmp_error"] = written, err
    if p.get("tmp_small"):
        with open("/tmp/small.txt", "w") as f:
            f.write("small")
        with open("/tmp/small.txt") as f:
            out["tmp_small"] = f.read()
    return out


def tmp(t):
    """Runs /tmp operations, in this order, and returns what they found:

      statvfs   true: "available_mb" and "device" ("major:minor") of /tmp
      remove    a path to remove, if it exists
      write     {"path", "mb"}: write mb MiB, 1 MiB at a time; returns
                "written_mb" and "error" (an errno name, or null)
      sparse    {"path", "mb"}: make a sparse file of mb MiB ending in a
                line; returns "sparse_mb", its size
      wait_ms   milliseconds to sleep
      list      true: "list", the sorted names in /tmp
    """
    out = {}
    if t.get("statvfs"):
        st = os.statvfs("/tmp")
        out["available_mb"] = st.f_bavail * st.f_frsize >> 20
        dev = os.stat("/tmp").st_dev
        out["device"] = "%d:%d" % (os.major(dev), os.minor(dev))
    if t.get("remove"):
        try:
            os.remove(t["remove"])
        except FileNotFoundError:
            pass
    if t.get("write"):
        chunk = b"\x02" * (1 << 20)
        written, err = 0, None
        try:
            with open(t["write"]["path"], "wb") as f:
                for _ in range(t["write"]["mb"]):
                    f.write(chunk)
                    f.flush()
                    written += 1
        except OSError as e:
            err = _errname(e)
        out["written_mb"], out["error"] = written, err
    if t.get("sparse"):
        size = t["sparse"]["mb"] << 20
        with open(t["sparse"]["path"], "wb") as f:
            f.truncate(size)
            f.seek(size - 4)
            f.write(b"end\n")
        out["sparse_mb"] = os.stat(t["sparse"]["path"]).st_size >> 20
    if t.get("wait_ms"):
        time.sleep(t["wait_ms"] / 1000.0)
    if t.get("list"):
        out["list"] = sorted(os.listdir("/tmp"))
    return out


def handler(event, context):
    if not isinstance(event, dict):
        event = {}
    if event.get("print"):
        print(event["print"])
    if event.get("log"):
        import logging

        logging.getLogger().log(logging.getLevelName(event["log"]["level"]), event["log"]["message"])
    if event.get("append"):
        with open(event["append"]["path"], "a") as f:
            f.write(event["append"]["line"] + "\n")
    if event.get("sleep_ms"):
        time.sleep(event["sleep_ms"] / 1000.0)
    if event.get("allocate_mb"):
        for _ in range(event["allocate_mb"]):
            _hold.append(b"\x01" * (1 << 20))
    if "exit" in event:
        sys.stdout.flush()
        os._exit(event["exit"])
    if event.get("fail"):
        raise ValueError(event["fail"])
    reply = {
        "version": VERSION,
        "runtime": "python%d.%d" % sys.version_info[:2],
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        },
    }
    if event.get("env"):
        reply["env"] = os.environ.get(event["env"])
    if event.get("envs"):
        reply["envs"] = {k: os.environ.get(k) for k in event["envs"]}
    if event.get("read"):
        try:
            with open(event["read"]) as f:
                reply["read"] = f.read()
        except OSError:
            reply["read"] = None
    if event.get("probe"):
        reply["probe"] = probe(event["probe"])
    if event.get("tmp"):
        reply["tmp"] = tmp(event["tmp"])
    return reply
