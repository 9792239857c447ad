"""Starts lambdahost's Python runtime client.

The client is imported as a module rather than run as this script, so that
Python can load its bytecode from __pycache__ (compiled by the host when it
installs the runtime clients) instead of compiling it at every cold start.
"""

import lambdahost_runtime

lambdahost_runtime.run()
