"""Sign requests with botocore and print them as JSON, for sigv4's tests.

Reads a JSON object from stdin:

    {"access_key": "...", "secret": "...", "region": "us-east-1",
     "endpoint": "http://lambda.test:8080",
     "cases": [
        {"kind": "client", "operation": "get_function", "params": {...}},
        {"kind": "raw", "method": "GET", "url": "...", "headers": {...}, "body": "..."},
        {"kind": "presign", "method": "GET", "url": "...", "expires": 300}
     ]}

"client" cases run a real botocore Lambda client and capture the request in
the before-send hook, so they are exactly what the aws CLI and boto3 send.
"raw" cases sign an AWSRequest with SigV4Auth directly, "presign" cases with
SigV4QueryAuth.

Writes a JSON list with one object per case:
{"method", "url", "headers": [[name, value], ...], "body_b64"}.
"""

import base64
import json
import sys

import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


class Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def capture(request, **kwargs):
    raise Captured(request)


def body_bytes(body):
    if body is None:
        return b""
    if hasattr(body, "read"):
        pos = body.tell()
        data = body.read()
        body.seek(pos)
        body = data
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def dump(method, url, headers, body):
    return {
        "method": method,
        "url": url,
        "headers": [[k, v if isinstance(v, str) else v.decode("latin-1")] for k, v in headers.items()],
        "body_b64": base64.b64encode(body_bytes(body)).decode("ascii"),
    }


def main():
    spec = json.load(sys.stdin)
    session = botocore.session.get_session()
    client = session.create_client(
        "lambda",
        region_name=spec["region"],
        endpoint_url=spec["endpoint"],
        aws_access_key_id=spec["access_key"],
        aws_secret_access_key=spec["secret"],
        config=Config(retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-send.lambda", capture)
    creds = Credentials(spec["access_key"], spec["secret"])

    out = []
    for case in spec["cases"]:
        if case["kind"] == "client":
            try:
                getattr(client, case["operation"])(**case.get("params", {}))
            except Captured as c:
                r = c.request
                out.append(dump(r.method, r.url, r.headers, r.body))
                continue
            raise SystemExit("request was not captured: " + case["operation"])
        req = AWSRequest(
            method=case["method"],
            url=case["url"],
            headers=case.get("headers", {}),
            data=case.get("body", "").encode("utf-8"),
        )
        if case["kind"] == "presign":
            signer = SigV4QueryAuth(creds, "lambda", spec["region"], expires=case["expires"])
        else:
            signer = SigV4Auth(creds, "lambda", spec["region"])
        signer.add_auth(req)
        p = req.prepare()
        out.append(dump(p.method, p.url, p.headers, p.body))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
