// Test function of lambdahost's end-to-end tests, CommonJS. Handlers:
// index.handler (async) and index.callbackHandler (callback style); esm.mjs
// wraps it as an ES module.
//
// What it does is driven by the event, as the Python test function:
// print, log {level, message} (console.<level>), append {path, line}, sleep_ms, allocate_mb, exit, fail (throws a
// TypeError), env, envs, read. It answers {version: VERSION, runtime:
// "nodejs<major>", request_id, arn, context: {...}, ...}. The tests
// replace the string "__VERSION__", quotes included, with a JSON literal
// when they zip this file.
'use strict';

const fs = require('node:fs');

const VERSION = "__VERSION__";

const hold = [];

async function run(event, context) {
  event = event && typeof event === 'object' ? event : {};
  if (event.print) console.log(event.print);
  if (event.log) console[event.log.level.toLowerCase()](event.log.message);
  if (event.append) fs.appendFileSync(event.append.path, event.append.line + '\n');
  if (event.sleep_ms) await new Promise((resolve) => setTimeout(resolve, event.sleep_ms));
  for (let i = 0; i < (event.allocate_mb || 0); i++) hold.push(Buffer.alloc(1 << 20, 1));
  if (event.exit !== undefined) process.exit(event.exit);
  if (event.fail) throw new TypeError(event.fail);
  const reply = {
    version: VERSION,
    runtime: 'nodejs' + process.versions.node.split('.')[0],
    request_id: context.awsRequestId,
    arn: context.invokedFunctionArn,
    context: {
      function_name: context.functionName,
      function_version: context.functionVersion,
      memory_limit_in_mb: String(context.memoryLimitInMB),
      remaining_ms: context.getRemainingTimeInMillis(),
      log_group_name: context.logGroupName,
      log_stream_name: context.logStreamName,
    },
  };
  if (event.env) reply.env = process.env[event.env] ?? null;
  if (event.envs) reply.envs = Object.fromEntries(event.envs.map((k) => [k, process.env[k] ?? null]));
  if (event.read) {
    try {
      reply.read = fs.readFileSync(event.read, 'utf8');
    } catch {
      reply.read = null;
    }
  }
  return reply;
}

exports.handler = async (event, context) => ({ ...(await run(event, context)), style: 'async' });

exports.callbackHandler = (event, context, callback) => {
  run(event, context).then(
    (reply) => callback(null, { ...reply, style: 'callback' }),
    (err) => callback(err),
  );
};
