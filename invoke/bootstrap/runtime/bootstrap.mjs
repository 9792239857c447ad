// lambdahost's Node.js runtime client.
//
// Runs a Lambda handler ("[dir/]module.export[.path]") behind the Lambda
// Runtime API (2018-06-01), with the behaviour of AWS's aws-lambda-ric: the
// same handler resolution (CommonJS and ES modules), the same handler styles
// (async, callback, and sync ones that end when the event loop is empty),
// the same context object, error documents ("trace", not "stackTrace"),
// console format and exit codes. Standard library only, Node 18 and later.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import module, { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const SELF = fileURLToPath(import.meta.url);

// Runtime error classes: their names are the error types Lambda reports.
function runtimeError(name) {
  const cls = class extends Error {};
  Object.defineProperty(cls.prototype, 'name', { value: `Runtime.${name}`, writable: true });
  return cls;
}
const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const UnhandledPromiseRejection = runtimeError('UnhandledPromiseRejection');
const NodeJsExit = runtimeError('NodeJsExit');

// ---- Runtime API client ------------------------------------------------

const address = process.env.AWS_LAMBDA_RUNTIME_API;
if (!address) {
  process.stderr.write('lambdahost runtime: AWS_LAMBDA_RUNTIME_API is not set\n');
  process.exit(1);
}
const sep = address.lastIndexOf(':');
const apiHost = address.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
const apiPort = Number(address.slice(sep + 1));
// One connection, kept alive between requests, as the official client does.
// Idle sockets of a keep-alive agent are unref'd, so they do not keep the
// event loop alive while a handler runs.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// apiRequest sends one request. A kept-alive connection that the server
// closed while it sat idle (a handler can run for minutes) fails with
// ECONNRESET before the server saw anything; the request is then sent once
// more on a new connection.
function apiRequest(method, urlPath, body, headers, retried = false) {
  return new Promise((resolve, reject) => {
    const opts = { host: apiHost, port: apiPort, path: API_PREFIX + urlPath, method, agent, headers: { ...headers } };
    if (body !== undefined) opts.headers['Content-Length'] = body.length;
    const req = http.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        resolve(apiRequest(method, urlPath, body, headers, true));
      } else {
        reject(err);
      }
    });
    req.end(body);
  });
}

function fatal(msg) {
  process.stderr.write(`lambdahost runtime: ${msg}\n`);
  process.exit(1);
}

// post sends a result. A 4xx answer (stale request ID, oversized response)
// is logged and the loop goes on: the platform has already failed that
// invocation. A 5xx answer or a lost connection ends the runtime.
async function post(urlPath, doc, headers) {
  const body = Buffer.from(doc, 'utf8');
  let res;
  try {
    res = await apiRequest('POST', urlPath, body, { 'Content-Type': 'application/json', ...headers });
  } catch (err) {
    fatal(`POST ${urlPath}: ${err.message}`);
  }
  if (res.status >= 500) fatal(`POST ${urlPath}: ${res.status} ${res.body}`);
  if (res.status !== 202) process.stderr.write(`lambdahost runtime: POST ${urlPath}: ${res.status} ${res.body}\n`);
}

function serialize(value) {
  return JSON.stringify(value === undefined ? null : value);
}

function errorDoc(err) {
  try {
    if (util.types.isNativeError(err) || isErrorLike(err)) {
      return { errorType: err.name, errorMessage: err.message, trace: String(err.stack).split('\n') };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function isErrorLike(v) {
  return v && typeof v.name === 'string' && typeof v.message === 'string' && typeof v.stack === 'string';
}

const postInitError = (err) => {
  const doc = errorDoc(err);
  return post('/init/error', serialize(doc), { [ERROR_TYPE_HEADER]: String(doc.errorType) });
};

const postInvocationError = (id, err) =>
  post(`/invocation/${encodeURIComponent(id)}/error`, serialize(errorDoc(err)));

function postInvocationResponse(id, result) {
  let body;
  try {
    body = serialize(result);
  } catch {
    const err = new Error('Unable to stringify response body');
    logError('Invoke Error', err);
    return postInvocationError(id, err);
  }
  return post(`/invocation/${encodeURIComponent(id)}/response`, body);
}

// ---- response streaming ----------------------------------------------------

// A handler wrapped in awslambda.streamifyResponse gets a writable
// response stream instead of returning its result: what it writes goes to
// the Runtime API as a chunked response in "streaming" mode, as it is
// written; a failure after the first byte is reported in the trailers.
const STREAMING = Symbol('lambdahost.streaming');
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = true;
    return handler;
  },
  HttpResponseStream: {
    // from writes the HTTP integration prelude (status, headers,
    // cookies) that Function URLs read before the body: JSON, then eight
    // NUL bytes.
    from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION);
      stream.write(JSON.stringify(prelude ?? {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

function streamInvocation(handler, id, event, context) {
  return new Promise((resolve) => {
    let contentType = 'application/octet-stream';
    let started = false;
    const req = http.request(
      {
        host: apiHost,
        port: apiPort,
        path: `${API_PREFIX}/invocation/${encodeURIComponent(id)}/response`,
        method: 'POST',
        agent,
        headers: {
          'Lambda-Runtime-Function-Response-Mode': 'streaming',
          'Transfer-Encoding': 'chunked',
          Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode >= 500) fatal(`POST streamed response: ${res.statusCode}`);
          resolve();
        });
      },
    );
    req.on('error', (err) => fatal(`POST streamed response: ${err.message}`));
    const start = () => {
      if (started) return;
      started = true;
      req.setHeader('Content-Type', contentType);
    };
    const stream = {
      setContentType(type) {
        if (started) throw new Error('setContentType must be called before the first write');
        contentType = String(type);
      },
      write(chunk, encoding, cb) {
        start();
        return req.write(chunk, encoding, cb);
      },
      end(chunk, encoding, cb) {
        start();
        return req.end(chunk, encoding, cb);
      },
      on: (...args) => req.on(...args),
      once: (...args) => req.once(...args),
      get writableEnded() {
        return req.writableEnded;
      },
    };
    const finish = (err) => {
      if (req.writableEnded) return;
      start();
      if (err !== undefined) {
        logError('Invoke Error', err);
        const doc = errorDoc(err);
        req.addTrailers({
          'Lambda-Runtime-Function-Error-Type': String(doc.errorType),
          'Lambda-Runtime-Function-Error-Body': Buffer.from(serialize(doc)).toString('base64'),
        });
      }
      req.end();
    };
    let result;
    try {
      result = handler(event, stream, context);
    } catch (err) {
      finish(err);
      return;
    }
    Promise.resolve(result).then(
      () => finish(),
      (err) => finish(err ?? new Error('handled')),
    );
  });
}

// ---- console -------------------------------------------------------------

// The request being handled, shown in log lines ("undefined" during init,
// as on Lambda).
let requestId;

const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };

// AWS_LAMBDA_LOG_FORMAT=JSON (the function's LoggingConfig) makes console
// output structured: one JSON object per call, as Lambda's Node.js
// runtime writes it.
const JSON_LOGS = String(process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';

function jsonRecord(level, args) {
  const rec = { timestamp: new Date().toISOString(), level };
  if (requestId !== undefined) rec.requestId = requestId;
  rec.message = util.format(...args);
  const err = args.find((a) => a instanceof Error);
  if (err) {
    rec.errorType = err.name;
    rec.errorMessage = err.message;
    rec.stackTrace = typeof err.stack === 'string' ? err.stack.split('\n') : [];
  }
  try {
    return JSON.stringify(rec);
  } catch {
    return JSON.stringify({ timestamp: rec.timestamp, level, message: String(rec.message) });
  }
}

function patchConsole() {
  const min = LEVELS[String(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || LEVELS.TRACE;
  const logger = (level) => {
    if (LEVELS[level] < min) return () => {};
    if (JSON_LOGS) {
      return (...args) => {
        process.stdout.write(`${jsonRecord(level, args)}\n`);
      };
    }
    return (...args) => {
      process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${util.format(...args)}\n`);
    };
  };
  console.trace = logger('TRACE');
  console.debug = logger('DEBUG');
  console.info = logger('INFO');
  console.log = console.info;
  console.warn = logger('WARN');
  console.error = logger('ERROR');
  console.fatal = logger('FATAL');
}

// logError writes "<label> \t{json}" at ERROR level, as Lambda logs failed
// invocations ("Invoke Error") and crashes ("Uncaught Exception").
function logError(label, err) {
  if (JSON_LOGS && err instanceof Error) {
    console.error(err);
    return;
  }
  let text;
  try {
    text = JSON.stringify(err, (_k, v) => {
      if (!(v instanceof Error)) return v;
      const out = { errorType: v.name, errorMessage: v.message, code: v.code, ...v };
      if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
      return out;
    });
  } catch {
    text = JSON.stringify(errorDoc(err));
  }
  console.error(label, `\t${text}`);
}

// ---- handler loading -----------------------------------------------------

const nearestPackageIsModule = (dir) => {
  for (;;) {
    if (dir.endsWith(`${path.sep}node_modules`)) return false;
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8'))?.type === 'module';
      } catch (err) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, err);
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
};

const requireFrom = createRequire(SELF);

function requireIfExists(file) {
  return fs.existsSync(file) ? requireFrom(file) : undefined;
}

async function importIfExists(file) {
  if (!fs.existsSync(file)) return undefined;
  searchPathForImports();
  return import(pathToFileURL(file).href);
}

// ES modules do not search NODE_PATH, where the runtime's packages are
// (layers in /opt, then the AWS SDK): as on Lambda, a bare import that the
// function's own node_modules cannot satisfy is looked up there next, in
// NODE_PATH's order, so that a bundled copy still wins. Registered once,
// before the first ES module is imported (CommonJS handlers need none).
let searchPathRegistered = false;
function searchPathForImports() {
  if (searchPathRegistered) return;
  searchPathRegistered = true;
  // Resolving from a module in the parent of each node_modules directory
  // looks the package up in that directory.
  // Only directories that exist: without layers or the SDK, no hook, and
  // no cost (on Node before 22.15 the hook runs on a loader thread, whose
  // start adds tens of milliseconds to the cold start).
  const parents = (process.env.NODE_PATH || '')
    .split(':')
    .filter((d) => d.endsWith('/node_modules') && fs.existsSync(d))
    .map((d) => pathToFileURL(path.dirname(d) + '/').href);
  if (parents.length === 0) return;
  const bare = (s) => !/^([./#]|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(s);
  if (typeof module.registerHooks === 'function') {
    // In-thread hooks (Node 22.15 and later).
    module.registerHooks({
      resolve(specifier, context, next) {
        try {
          return next(specifier, context);
        } catch (err) {
          if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw err;
          for (const parentURL of parents) {
            try {
              return next(specifier, { ...context, parentURL });
            } catch {}
          }
          throw err;
        }
      },
    });
  } else if (typeof module.register === 'function') {
    module.register(`data:text/javascript,${encodeURIComponent(SEARCH_PATH_HOOK)}`, { data: { parents } });
  }
}

// SEARCH_PATH_HOOK is searchPathForImports's resolve hook for module.register,
// which runs it on the loader thread.
const SEARCH_PATH_HOOK = `
let parents = [];
const bare = (s) => !/^([./#]|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(s);
export function initialize(data) { parents = data.parents; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw err;
    for (const parentURL of parents) {
      try {
        return await next(specifier, { ...context, parentURL });
      } catch {}
    }
    throw err;
  }
}
`;

async function loadModule(taskRoot, moduleRoot, name) {
  const base = path.resolve(taskRoot, moduleRoot, name);
  const loaded = requireIfExists(base);
  if (loaded) return loaded;
  const esm = nearestPackageIsModule(path.dirname(base));
  return (
    (!esm && requireIfExists(`${base}.js`)) ||
    (esm && (await importIfExists(`${base}.js`))) ||
    (await importIfExists(`${base}.mjs`)) ||
    requireIfExists(`${base}.cjs`) ||
    // A package name, found through node_modules like require() would.
    requireFrom(requireFrom.resolve(name, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] }))
  );
}

async function loadHandler(taskRoot, spec) {
  if (spec.includes('..')) {
    throw new MalformedHandlerName(
      `'${spec}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const slash = spec.lastIndexOf('/');
  const moduleRoot = spec.slice(0, slash + 1);
  const match = /^([^.]*)\.(.*)$/.exec(spec.slice(slash + 1));
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, name, exportPath] = match;
  let mod;
  try {
    mod = await loadModule(taskRoot, moduleRoot, name);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UserCodeSyntaxError(String(err));
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(String(err));
    }
    throw err;
  }
  const fn = exportPath.split('.').reduce((obj, key) => obj && obj[key], mod);
  if (!fn) throw new HandlerNotFound(`${spec} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${spec} is not a function`);
  return fn;
}

// ---- the loop ----------------------------------------------------------

// onEmptyLoop runs when the event loop has nothing left to do: it ends an
// invocation whose handler neither returned a promise nor called back, or
// one whose callback waits for the loop to empty.
let onEmptyLoop = null;
process.on('beforeExit', () => {
  const f = onEmptyLoop;
  onEmptyLoop = null;
  if (f) f();
});

// current is the ID of the invocation in progress, for crash reports.
let current = null;
let initialized = false;

async function crash(err, code) {
  try {
    if (current !== null) await postInvocationError(current, err);
    else if (!initialized) await postInitError(err);
  } finally {
    process.exit(code);
  }
}

process.on('uncaughtException', (err) => {
  logError('Uncaught Exception', err);
  crash(err, 129);
});

process.on('unhandledRejection', (reason) => {
  const err = new UnhandledPromiseRejection(String(reason));
  err.reason = reason;
  logError('Unhandled Promise Rejection', err);
  crash(err, 128);
});

function scheduleNext(handler) {
  setImmediate(() => {
    nextInvocation(handler).catch((err) => fatal(`invocation loop: ${err?.stack ?? err}`));
  });
}

function makeContext(headers, id, env) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const parse = (value, what) => {
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value);
    } catch (err) {
      throw new Error(`Cannot parse ${what} as json: ${err}`);
    }
  };
  return {
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parse(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: id,
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

async function nextInvocation(handler) {
  let res;
  try {
    res = await apiRequest('GET', '/invocation/next');
  } catch (err) {
    fatal(`GET next invocation: ${err.message}`);
  }
  if (res.status !== 200) fatal(`GET next invocation: ${res.status} ${res.body}`);
  const headers = res.headers;
  const id = headers['lambda-runtime-aws-request-id'];
  if (!id) fatal('GET next invocation: no Lambda-Runtime-Aws-Request-Id');
  requestId = id;
  current = id;
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;

  // The first way of finishing the user picks counts: the callback,
  // context.done/succeed/fail, or the returned promise. A handler that
  // does none of these ends when the event loop empties: with a null
  // result, or, if it is an async function, with Runtime.NodeJsExit.
  let posted = false;
  const send = (post) => {
    if (posted) return;
    posted = true;
    onEmptyLoop = null;
    post().then(() => {
      current = null;
      scheduleNext(handler);
    });
  };
  const respond = (result) => send(() => postInvocationResponse(id, result));
  const reject = (err) =>
    send(() => {
      logError('Invoke Error', err);
      return postInvocationError(id, err);
    });
  let settled = false;
  const once =
    (f) =>
    (...args) => {
      if (settled) return;
      settled = true;
      f(...args);
    };
  let waitForEmptyLoop = true;
  const callback = once((err, result) => {
    if (err != null) return reject(err);
    if (!waitForEmptyLoop) return respond(result);
    onEmptyLoop = () => setImmediate(() => respond(result));
  });
  const done = once((err, result) => (err != null ? reject(err) : respond(result)));
  const succeed = once((result) => respond(result));
  const fail = once((err) => reject(err ?? 'handled'));
  const isAsync = handler.constructor?.name === 'AsyncFunction';
  onEmptyLoop = () => {
    settled = true;
    if (isAsync) reject(new NodeJsExit('Error: Runtime exited without providing a reason'));
    else respond(null);
  };

  try {
    const context = makeContext(headers, id, process.env);
    Object.defineProperty(context, 'callbackWaitsForEmptyEventLoop', {
      get: () => waitForEmptyLoop,
      set: (v) => {
        waitForEmptyLoop = v;
      },
      enumerable: true,
    });
    context.succeed = succeed;
    context.fail = fail;
    context.done = done;
    const event = JSON.parse(res.body.toString('utf8'));
    if (handler[STREAMING]) {
      settled = true;
      send(() => streamInvocation(handler, id, event, context));
      return;
    }
    const result = handler(event, context, callback);
    if (result && typeof result.then === 'function') {
      result.then(succeed, fail);
    }
  } catch (err) {
    callback(err);
  }
}

patchConsole();
let handler;
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || '/var/task', process.env._HANDLER || '');
} catch (err) {
  logError('Uncaught Exception', err);
  await postInitError(err);
  process.exit(129);
}
initialized = true;
scheduleNext(handler);
