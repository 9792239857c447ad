"""Reads CloudWatch Logs through boto3 for the lambdahost end-to-end tests,
as users' scripts and the aws CLI v2 do, and prints what it saw as JSON.

The endpoint, region and keys come from the environment (E2E_ENDPOINT,
E2E_REGION, E2E_ACCESS_KEY_ID, E2E_SECRET_ACCESS_KEY).

usage:
  logs.py get GROUP STREAM LIMIT
      pages GetLogEvents forward from the head until the token repeats,
      then backward from the end likewise:
      {"forward": [messages], "backward": [messages], "calls": n}
  logs.py filter GROUP PATTERN
      FilterLogEvents through boto3's paginator:
      {"events": [{"message", "logStreamName", "eventId", "timestamp"}]}
  logs.py tail GROUP SINCE_MS WANT TIMEOUT_S
      follows the group as `aws logs tail GROUP --follow` (CLI v2) does:
      FilterLogEvents with interleaved and startTime, through every
      nextToken, then again from the newest timestamp seen, leaving out
      events already seen (by eventId); it stops once an event contains
      WANT: {"messages": [...], "calls": n}
"""

import json
import os
import sys
import time
from collections import defaultdict

import boto3
from botocore.config import Config


def client():
    return boto3.session.Session().client(
        "logs",
        endpoint_url=os.environ["E2E_ENDPOINT"],
        region_name=os.environ["E2E_REGION"],
        aws_access_key_id=os.environ["E2E_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["E2E_SECRET_ACCESS_KEY"],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def get(logs, group, stream, limit):
    calls = 0
    forward, token = [], None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "limit": limit, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        page = logs.get_log_events(**kw)
        calls += 1
        forward += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    backward, token = [], None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "limit": limit}
        if token:
            kw["nextToken"] = token
        page = logs.get_log_events(**kw)
        calls += 1
        backward = [e["message"] for e in page["events"]] + backward
        if page["nextBackwardToken"] == token:
            break
        token = page["nextBackwardToken"]
    return {"forward": forward, "backward": backward, "calls": calls}


def filter_events(logs, group, pattern):
    out = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern=pattern):
        for e in page["events"]:
            out.append({k: e[k] for k in ("message", "logStreamName", "eventId", "timestamp")})
    return {"events": out}


def tail(logs, group, since, want, timeout):
    kw = {"logGroupName": group, "interleaved": True, "startTime": since}
    seen = defaultdict(set)
    messages, calls = [], 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        page = logs.filter_log_events(**kw)
        calls += 1
        for e in page["events"]:
            if e["eventId"] in seen[e["timestamp"]]:
                continue
            seen[e["timestamp"]].add(e["eventId"])
            messages.append(e["message"])
            if want in e["message"]:
                return {"messages": messages, "calls": calls}
        if seen:
            newest = max(seen)
            seen = defaultdict(set, {newest: seen[newest]})
        if "nextToken" in page:
            kw["nextToken"] = page["nextToken"]
        else:
            kw.pop("nextToken", None)
            if seen:
                kw["startTime"] = max(seen)
            time.sleep(0.2)
    return {"messages": messages, "calls": calls, "timeout": True}


def main():
    logs = client()
    cmd = sys.argv[1]
    if cmd == "get":
        out = get(logs, sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "filter":
        out = filter_events(logs, sys.argv[2], sys.argv[3])
    elif cmd == "tail":
        out = tail(logs, sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    else:
        sys.exit("unknown command " + cmd)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
