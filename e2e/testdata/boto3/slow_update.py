"""Calls UpdateFunctionCode with a request body that is sent slowly, so
that the test can signal the server while the request is in flight.

Environment as for driver.py. Arguments: FUNCTION ZIP_PATH. Prints
{"event": "sending"} once the body has started to go out, then the result
as driver.py words it.
"""

import json
import sys
import time

from botocore.exceptions import ClientError

from driver import client_error, new_client


class SlowBody:
    """A file-like request body that trickles out its bytes."""

    def __init__(self, data, chunk=16 << 10, delay=0.002):
        self.data, self.pos, self.chunk, self.delay = data, 0, chunk, delay
        self.announced = False

    def __len__(self):
        return len(self.data)

    def read(self, n=-1):
        if not self.announced:
            self.announced = True
            print(json.dumps({"event": "sending"}), flush=True)
        if self.pos >= len(self.data):
            return b""
        if n is None or n < 0 or n > self.chunk:
            n = self.chunk
        time.sleep(self.delay)
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def slow_down(request, **kwargs):
    if isinstance(request.body, (bytes, bytearray)):
        request.body = SlowBody(bytes(request.body))


def main():
    function, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        zip_bytes = f.read()
    client = new_client()
    client.meta.events.register("before-send.lambda.UpdateFunctionCode", slow_down)
    try:
        resp = client.update_function_code(FunctionName=function, ZipFile=zip_bytes)
        status = resp.pop("ResponseMetadata")["HTTPStatusCode"]
        out = {"ok": True, "status": status, "body": resp}
    except ClientError as e:
        out = client_error(e)
    except Exception as e:
        out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
