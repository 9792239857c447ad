"""Line-oriented boto3 driver for the lambdahost end-to-end tests.

The endpoint, region and keys come from the environment (E2E_ENDPOINT,
E2E_REGION, E2E_ACCESS_KEY_ID, E2E_SECRET_ACCESS_KEY). Each line on stdin is
one JSON command; each answer is one JSON line on stdout:

  {"cmd": "call", "op": "UpdateFunctionCode", "params": {...}}
  {"cmd": "wait", "waiter": "FunctionUpdatedV2", "params": {...},
   "delay": 0.2, "max_attempts": 100}
  {"cmd": "paginate", "op": "ListFunctions", "params": {...}, "page_size": 3}

A parameter value {"$fileb": PATH} is replaced by the bytes of the file, as
the CLI's fileb:// does. Answers:

  {"ok": true, "status": 200, "body": {...}}
  {"ok": false, "status": 429, "code": "TooManyRequestsException", "message": "...",
   "reason": "..."}   (reason: the error's Reason member, if any)
  {"ok": false, "error": "..."}   (no HTTP answer: validation, connection, waiter)

Invoke's Payload (a StreamingBody) is read and answered as base64.
InvokeWithResponseStream's event stream is read to its end and answered as
{"StatusCode", "ExecutedVersion", "Payload": base64 of the chunks joined,
"ErrorCode", "ErrorDetails", "LogResult"} (the last three from its
InvokeComplete event).
"""

import base64
import datetime
import json
import os
import sys

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError


def new_client():
    session = boto3.session.Session()
    return session.client(
        "lambda",
        endpoint_url=os.environ["E2E_ENDPOINT"],
        region_name=os.environ["E2E_REGION"],
        aws_access_key_id=os.environ["E2E_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["E2E_SECRET_ACCESS_KEY"],
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=300,
        ),
    )


def load_files(v):
    if isinstance(v, dict):
        if set(v) == {"$fileb"}:
            with open(v["$fileb"], "rb") as f:
                return f.read()
        return {k: load_files(x) for k, x in v.items()}
    if isinstance(v, list):
        return [load_files(x) for x in v]
    return v


def encode(o):
    if isinstance(o, (bytes, bytearray)):
        return base64.b64encode(o).decode()
    if isinstance(o, (datetime.datetime, datetime.date)):
        return o.isoformat()
    if hasattr(o, "read"):
        return base64.b64encode(o.read()).decode()
    raise TypeError("cannot encode %r" % type(o))


def read_event_stream(resp):
    out = {"StatusCode": resp.get("StatusCode"), "ExecutedVersion": resp.get("ExecutedVersion")}
    chunks = []
    for event in resp["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"].get("Payload", b""))
        elif "InvokeComplete" in event:
            out.update(event["InvokeComplete"])
    out["Payload"] = b"".join(chunks)
    return out


def client_error(e):
    err = e.response.get("Error", {})
    meta = e.response.get("ResponseMetadata", {})
    return {
        "ok": False,
        "status": meta.get("HTTPStatusCode", 0),
        "code": err.get("Code", ""),
        "message": err.get("Message", ""),
        "reason": e.response.get("Reason", ""),
    }


class Driver:
    def __init__(self):
        self.client = new_client()
        self.methods = {api: m for m, api in self.client.meta.method_to_api_mapping.items()}

    def call(self, cmd):
        method = getattr(self.client, self.methods[cmd["op"]])
        resp = method(**load_files(cmd.get("params") or {}))
        status = resp.pop("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if cmd["op"] == "Invoke":
            resp["Payload"] = resp["Payload"].read()
        elif cmd["op"] == "InvokeWithResponseStream":
            resp = read_event_stream(resp)
        return {"ok": True, "status": status, "body": resp}

    def wait(self, cmd):
        waiter = self.client.get_waiter(botocore.xform_name(cmd["waiter"]))
        config = {"Delay": cmd.get("delay", 0.2), "MaxAttempts": cmd.get("max_attempts", 100)}
        waiter.wait(WaiterConfig=config, **load_files(cmd.get("params") or {}))
        return {"ok": True}

    def paginate(self, cmd):
        method = self.methods[cmd["op"]]
        paginator = self.client.get_paginator(method)
        key = paginator.result_keys[0].expression
        items, pages = [], 0
        config = {"PageSize": cmd["page_size"]}
        for page in paginator.paginate(PaginationConfig=config, **(cmd.get("params") or {})):
            pages += 1
            items.extend(page.get(key, []))
        return {"ok": True, "body": {"items": items, "pages": pages}}

    def run(self, cmd):
        try:
            return getattr(self, cmd["cmd"])(cmd)
        except ClientError as e:
            return client_error(e)
        except WaiterError as e:
            out = {"ok": False, "error": "waiter: %s" % e}
            if e.last_response and "Error" in e.last_response:
                out.update(client_error(ClientError(e.last_response, cmd["waiter"])))
                out["ok"] = False
            return out
        except Exception as e:  # validation, connection: no HTTP answer
            return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def main():
    driver = Driver()
    for line in sys.stdin:
        if not line.strip():
            continue
        out = driver.run(json.loads(line))
        sys.stdout.write(json.dumps(out, default=encode) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
