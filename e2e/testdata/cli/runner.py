"""Runs aws CLI (v1) commands for the lambdahost end-to-end tests, many in
one process.

Each line on stdin is one JSON command, {"args": ["lambda", "get-function",
...]} (the arguments after "aws"); each answer is one JSON line,
{"rc": EXIT_STATUS, "stdout": "...", "stderr": "..."}.

A command runs as the aws script runs it: a new CLI driver, and so a new
botocore session that reads the environment and the config files, then
driver.main(args), whose return value is the exit status (and so is the
status of a SystemExit, as argparse raises). What this saves is starting
Python and importing the CLI for every command: most of the 0.4 s of CPU a
command costs, and the tests run hundreds.
"""

import io
import json
import os
import sys

import awscli.clidriver


def run(args):
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    sys.stdout, sys.stderr = out, err
    try:
        rc = awscli.clidriver.create_clidriver().main(args)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return {
        "rc": rc,
        "stdout": out.buffer.getvalue().decode("utf-8", "replace"),
        "stderr": err.buffer.getvalue().decode("utf-8", "replace"),
    }


def main():
    # Answers go to a copy of the original stdout; anything written to file
    # descriptor 1 by other means goes to stderr, not into the protocol.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for line in sys.stdin:
        answers.write(json.dumps(run(json.loads(line)["args"])) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
