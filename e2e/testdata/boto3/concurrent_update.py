"""Calls UpdateFunctionCode from many threads at once, all with the same
RevisionId, each with its own zip and its own client.

Environment as for driver.py. Reads one JSON object on stdin:
  {"function": NAME, "revision_id": ID, "zips": [PATH, ...]}
and prints one JSON list, one entry per zip, in the order given:
  {"ok": true, "status": 200, "code_sha256": "..."} or
  {"ok": false, "status": 409, "code": "...", "message": "..."}
"""

import json
import sys
import threading

from botocore.exceptions import ClientError

from driver import client_error, new_client


def main():
    req = json.load(sys.stdin)
    zips = []
    for path in req["zips"]:
        with open(path, "rb") as f:
            zips.append(f.read())
    clients = [new_client() for _ in zips]
    barrier = threading.Barrier(len(zips))
    results = [None] * len(zips)

    def update(i):
        barrier.wait()
        try:
            resp = clients[i].update_function_code(
                FunctionName=req["function"], ZipFile=zips[i], RevisionId=req["revision_id"]
            )
            results[i] = {
                "ok": True,
                "status": resp["ResponseMetadata"]["HTTPStatusCode"],
                "code_sha256": resp["CodeSha256"],
            }
        except ClientError as e:
            results[i] = client_error(e)
        except Exception as e:
            results[i] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}

    threads = [threading.Thread(target=update, args=(i,)) for i in range(len(zips))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
