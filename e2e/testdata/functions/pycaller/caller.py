"""Test function of lambdahost's end-to-end tests (handler caller.handler).

From inside its execution environment it calls lambdahost's API with boto3,
unbundled (the runtime's copy), using the credentials and endpoint the
environment was given, and fetches a URL, so that the tests see what a
function can reach. Each call's outcome is reported, failures included,
rather than failing the invocation. Event keys, all optional:

  target, payload  a function to invoke, and the payload to send it
  fetch            a URL to GET
  env              variables' names: their values are returned as "env"

It answers {"list_functions", "get_caller_identity", "invoke", "fetch",
"env", "boto3"}, each call as {"value": ...} or {"error", "code"}.
"""

import os
import urllib.request

import boto3
import botocore
from botocore.config import Config

VERSION = "__VERSION__"

# No retries, and short timeouts: a call that cannot connect must fail,
# not hang.
_config = Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=20)


def _outcome(call):
    try:
        return {"value": call()}
    except botocore.exceptions.ClientError as e:
        return {"error": str(e), "code": e.response.get("Error", {}).get("Code", "")}
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}


def handler(event, context):
    lam = boto3.client("lambda", config=_config)
    sts = boto3.client("sts", config=_config)
    out = {
        "boto3": boto3.__file__,
        "list_functions": _outcome(lambda: [f["FunctionName"] for f in lam.list_functions()["Functions"]]),
        "get_caller_identity": _outcome(lambda: {k: v for k, v in sts.get_caller_identity().items() if k != "ResponseMetadata"}),
        "env": {k: os.environ.get(k, "") for k in event.get("env", [])},
    }
    if event.get("target"):
        out["invoke"] = _outcome(lambda: lam.invoke(FunctionName=event["target"], Payload=event.get("payload", "{}"))["Payload"].read().decode())
    if event.get("fetch"):
        out["fetch"] = _outcome(lambda: urllib.request.urlopen(event["fetch"], timeout=10).read().decode())
    return out
