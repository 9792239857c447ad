"""lambdahost's Python runtime client.

Runs a Lambda handler ("module.function") behind the Lambda Runtime API
(2018-06-01), with the behaviour of AWS's awslambdaric: the same context
object, error documents, init error types and log format. It uses only the
standard library and works on Python 3.9 and later.

Start-up time matters (it is every cold start), so this module imports as
little as it can: the Runtime API is spoken over one keep-alive connection
with a small HTTP/1.1 client on the _socket extension module, which is much
cheaper to import than http.client (email, ssl, urllib...). traceback and
logging are imported only when needed. bootstrap.py imports this module
rather than being it, so that Python can load its compiled bytecode from
__pycache__ when the host has compiled it.
"""

import _socket
import json
import os
import sys
import time

_API_PREFIX = "/2018-06-01/runtime"
_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_THIS_FILE = __file__

# The request being handled, for log lines; "" between invocations.
_request_id = ""

# AWS_LAMBDA_LOG_FORMAT=JSON (the function's LoggingConfig) makes logs
# structured: one JSON object per record, as awslambdaric writes them.
_JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def _json_time(created):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + ".%03dZ" % (int(created * 1000) % 1000)


class _ConnectionLost(Exception):
    """The Runtime API closed the connection before it answered."""


class _RuntimeAPI:
    """A client for the Runtime API over one keep-alive HTTP/1.1 connection."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self._family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
        self._addr = (host, int(port))
        self._host_header = address.encode("latin-1")
        self._sock = None
        self._buf = bytearray()

    def _connect(self):
        sock = _socket.socket(self._family, _socket.SOCK_STREAM)
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            sock.connect(self._addr)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._buf = bytearray()

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def request(self, method, path, body=b"", headers=None):
        """Sends one request and returns (status, headers, body).

        A connection the server closed while it was idle (the handler can
        run for minutes) is replaced once, provided the server sent nothing
        back: it then never saw the request.
        """
        head = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode("ascii"), path.encode("ascii"), self._host_header)]
        if headers:
            for k, v in headers.items():
                head.append(b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1")))
        if method != "GET" or body:
            head.append(b"Content-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        data = b"".join(head) + body
        for attempt in (0, 1):
            reused = self._sock is not None
            if not reused:
                self._connect()
            try:
                self._sock.sendall(data)
                return self._read_response()
            except (_ConnectionLost, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused or attempt:
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def _fill(self):
        chunk = self._sock.recv(65536)
        if not chunk:
            raise _ConnectionLost("connection closed by the Runtime API")
        self._buf += chunk

    def _read_response(self):
        start = True
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            try:
                self._fill()
            except _ConnectionLost:
                if start and not self._buf:
                    raise
                raise OSError("connection closed in a Runtime API response")
            start = False
        head = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[: end + 4]
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise OSError("bad Runtime API status line %r" % head[0])
        status = int(parts[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = headers[name] + ", " + value if name in headers else value
        keep = parts[0] != "HTTP/1.0" and headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = self._read_to_close()
            keep = False
        if not keep:
            self.close()
        return status, headers, body

    def _read_exactly(self, n):
        while len(self._buf) < n:
            self._fill_or_fail()
        body = bytes(self._buf[:n])
        del self._buf[:n]
        return body

    def _read_line(self):
        while True:
            i = self._buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self._buf[:i])
                del self._buf[: i + 2]
                return line
            self._fill_or_fail()

    def _read_chunked(self):
        body = []
        while True:
            size = int(self._read_line().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._read_line():  # trailers
                    pass
                return b"".join(body)
            body.append(self._read_exactly(size))
            self._read_line()

    def _read_to_close(self):
        while True:
            chunk = self._sock.recv(65536)
            if not chunk:
                body = bytes(self._buf)
                self._buf = bytearray()
                return body
            self._buf += chunk

    def _fill_or_fail(self):
        try:
            self._fill()
        except _ConnectionLost:
            raise OSError("connection closed in a Runtime API response")


def _fatal(msg):
    sys.stderr.write("lambdahost runtime: %s\n" % msg)
    sys.exit(1)


def _post(api, path, body, headers):
    """POSTs a result to the Runtime API.

    A 4xx answer (a stale request ID, a response over the size limit) is
    logged and the loop goes on: the platform has already failed that
    invocation. A 5xx answer means the environment is broken, and the
    runtime exits, as AWS's clients do.
    """
    status, _, answer = api.request("POST", path, body, headers)
    if status >= 500:
        _fatal("POST %s: %d %s" % (path, status, answer.decode("utf-8", "replace")))
    if status != 202:
        sys.stderr.write("lambdahost runtime: POST %s: %d %s\n" % (path, status, answer.decode("utf-8", "replace")))


# --- JSON ---------------------------------------------------------------

_ENSURE_ASCII = sys.version_info < (3, 12)  # awslambdaric emits UTF-8 from 3.12 on


def _json_default(o):
    cls = type(o)
    if cls.__name__ == "Decimal" and cls.__module__ in ("decimal", "_decimal", "_pydecimal"):
        return float(o)
    raise TypeError("Object of type %s is not JSON serializable" % cls.__name__)


def _to_json(obj):
    return json.dumps(obj, ensure_ascii=_ENSURE_ASCII, default=_json_default)


# --- errors -------------------------------------------------------------


class _Fault(Exception):
    """A failure the runtime names itself (Runtime.ImportModuleError...)."""

    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def _error_doc(message, error_type, trace, request_id=""):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": trace or [],
    }


def _exception_doc(exc, request_id=""):
    """Describes an exception the way awslambdaric does.

    The stack trace drops the runtime's own leading frames and is formatted
    with traceback.format_list from plain tuples, so it looks the same on
    every Python version (no column markers).
    """
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    while frames and frames[0][0] == _THIS_FILE:
        del frames[0]
    return _error_doc(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def _log_error(doc):
    """Writes an error as awslambdaric logs it: a "[ERROR] Type: message"
    line, then the traceback."""
    line = "[ERROR]"
    if doc["errorType"]:
        line += " " + doc["errorType"]
    if doc["errorMessage"]:
        if doc["errorType"]:
            line += ":"
        line += " " + doc["errorMessage"]
    if _JSON_LOGS:
        record = {
            "timestamp": _json_time(time.time()),
            "level": "ERROR",
            "message": doc["errorMessage"],
            "errorType": doc["errorType"],
            "errorMessage": doc["errorMessage"],
            "stackTrace": doc["stackTrace"],
        }
        if _request_id:
            record["requestId"] = _request_id
        sys.stderr.write(_to_json(record) + "\n")
        return
    lines = [line, "Traceback (most recent call last):"]
    for entry in doc["stackTrace"]:
        lines.extend(entry.splitlines() or [""])
    sys.stderr.write("\n".join(lines) + "\n")


# --- handler loading ----------------------------------------------------


def _load_handler(spec):
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (spec, e))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % modname,
        )
    name = modname.replace("/", ".")
    try:
        __import__(name)
        module = sys.modules[name]
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))


# --- context ------------------------------------------------------------


class _Slots(object):
    __slots__ = ()

    def __init__(self, d):
        for name in self.__slots__:
            setattr(self, name, d.get(name))

    def __repr__(self):
        fields = ",".join("%s=%s" % (n, getattr(self, n)) for n in self.__slots__)
        return "%s([%s])" % (type(self).__name__, fields)


class Client(_Slots):
    """The mobile client that invoked the function (client_context.client)."""

    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")


class ClientContext(_Slots):
    """The client context of an invocation (context.client_context)."""

    __slots__ = ("custom", "env", "client")

    def __init__(self, d):
        _Slots.__init__(self, d)
        if isinstance(self.client, dict):
            self.client = Client(self.client)


class CognitoIdentity(_Slots):
    """The Amazon Cognito identity of the caller (context.identity)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, d):
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")


def _parse_header_json(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e))


class LambdaContext(object):
    """The context object passed to a handler, as in awslambdaric."""

    def __init__(self, request_id, headers):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        self.client_context = None
        cc = headers.get("lambda-runtime-client-context")
        if cc:
            cc = _parse_header_json(cc, "Client Context")
            if isinstance(cc, dict):
                cc.pop("w3c", None)
                self.client_context = ClientContext(cc)
        ident = headers.get("lambda-runtime-cognito-identity")
        ident = _parse_header_json(ident, "Cognito Identity") if ident else None
        self.identity = CognitoIdentity(ident if isinstance(ident, dict) else {})
        try:
            self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))
        except ValueError:
            self._deadline_ms = 0

    def get_remaining_time_in_millis(self):
        """Returns the milliseconds left before the invocation times out."""
        left = self._deadline_ms - int(time.time() * 1000)
        return left if left > 0 else 0

    def log(self, msg):
        """Writes msg to the function's log."""
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


# --- logging ------------------------------------------------------------


def _install_log_handler(logging):
    """Gives the root logger the handler Lambda's Python runtime installs:
    "[LEVEL]<tab>time<tab>request id<tab>message" lines on stdout."""

    class _Filter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id
            return True

    class _Handler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
                # A record with a traceback does not end with the format's
                # newline; without one the next line would run on.
                sys.stdout.write(msg if msg.endswith("\n") else msg + "\n")
            except Exception:
                self.handleError(record)

    logging.Formatter.converter = time.gmtime
    handler = _Handler()
    if _JSON_LOGS:
        handler.setFormatter(_json_formatter(logging))
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    handler.addFilter(_Filter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = _LOG_LEVELS.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper())
    if level:
        root.setLevel(level)


# The attributes every LogRecord has; others come from extra= and are
# logged as fields of JSON records.
_RECORD_ATTRS = frozenset(
    "name msg args levelname levelno pathname filename module exc_info exc_text stack_info lineno "
    "funcName created msecs relativeCreated thread threadName processName process taskName "
    "aws_request_id message asctime".split()
)

# Level names of JSON records, as Lambda's runtimes spell them.
_JSON_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def _json_formatter(logging):
    """A formatter of JSON log records: timestamp, level, message, logger,
    requestId, location, the record's extra fields and, for an exception,
    errorType, errorMessage and stackTrace."""

    class _JSONFormatter(logging.Formatter):
        def format(self, record):
            out = {
                "timestamp": _json_time(record.created),
                "level": _JSON_LEVELS.get(record.levelname, record.levelname),
                "message": record.getMessage(),
                "logger": record.name,
            }
            if record.exc_info and record.exc_info[1] is not None:
                import traceback

                exc = record.exc_info[1]
                out["errorType"] = type(exc).__name__
                out["errorMessage"] = str(exc)
                out["stackTrace"] = traceback.format_tb(exc.__traceback__)
            if getattr(record, "aws_request_id", ""):
                out["requestId"] = record.aws_request_id
            out["location"] = "%s:%s:%d" % (record.pathname, record.funcName, record.lineno)
            for k, v in record.__dict__.items():
                if k not in _RECORD_ATTRS and not k.startswith("_"):
                    out[k] = v
            return json.dumps(out, default=str, ensure_ascii=False)

    return _JSONFormatter()


# AWS_LAMBDA_LOG_LEVEL values and the logging levels they set.
_LOG_LEVELS = {
    "TRACE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "FATAL": "CRITICAL",
    "CRITICAL": "CRITICAL",
}


class _LoggingHook(object):
    """Installs the log handler when user code first imports logging.

    Importing logging costs milliseconds at every cold start, and most
    functions never use it, so the runtime waits for the user's import.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_install(module):
            exec_module(module)
            _install_log_handler(module)

        loader.exec_module = exec_and_install
        return spec


def _setup_logging():
    if "logging" in sys.modules:
        _install_log_handler(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingHook())


# --- the loop -----------------------------------------------------------


def _handle(api, handler, headers, body):
    global _request_id
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    content_type = "application/json"
    doc = None
    try:
        context = LambdaContext(request_id, headers)
        if headers.get("content-type", "application/json").split(";")[0].strip() == "application/json":
            try:
                event = json.loads(body)
            except Exception as e:
                raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        else:
            event = body
        result = handler(event, context)
        if isinstance(result, (bytes, bytearray)):
            payload = bytes(result)
            content_type = "application/unknown"
        else:
            try:
                payload = _to_json(result).encode("utf-8")
            except Exception as e:
                raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
    except _Fault as e:
        doc = _error_doc(e.message, e.error_type, e.trace, request_id)
    except Exception as e:
        doc = _exception_doc(e, request_id)
    path = "%s/invocation/%s/" % (_API_PREFIX, _quote(request_id))
    if doc is None:
        _post(api, path + "response", payload, {"Content-Type": content_type})
    else:
        _log_error(doc)
        _post(api, path + "error", _to_json(doc).encode("utf-8"), {"Content-Type": "application/json"})
    _request_id = ""


def _quote(s):
    # Request IDs are UUIDs; escape anything else that could break the path.
    if all(c.isalnum() or c in "-_.~" for c in s):
        return s
    return "".join(c if c.isalnum() or c in "-_.~" else "".join("%%%02X" % b for b in c.encode("utf-8")) for c in s)


def main():
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        _fatal("AWS_LAMBDA_RUNTIME_API is not set")
    api = _RuntimeAPI(address)

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
    version = "python%d.%d" % sys.version_info[:2]
    sys.path[0:1] = [task_root, "/opt/python/lib/%s/site-packages" % version, "/opt/python", sys.path[0]]
    _setup_logging()

    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
        doc = None
    except _Fault as e:
        doc = _error_doc(e.message, e.error_type, e.trace)
    except Exception as e:
        doc = _exception_doc(e)
    if doc is not None:
        _log_error(doc)
        status, _, _ = api.request(
            "POST",
            _API_PREFIX + "/init/error",
            _to_json(doc).encode("utf-8"),
            {"Content-Type": "application/json", _ERROR_TYPE_HEADER: doc["errorType"]},
        )
        sys.exit(1)

    while True:
        status, headers, body = api.request("GET", _API_PREFIX + "/invocation/next")
        if status != 200:
            _fatal("GET next invocation: %d %s" % (status, body.decode("utf-8", "replace")))
        _handle(api, handler, headers, body)


def run():
    """Runs the runtime client; it returns only by exiting."""
    try:
        main()
    except OSError as e:
        _fatal("Runtime API: %s" % e)


if __name__ == "__main__":
    run()
