// Package bootstrap provides lambdahost's runtime clients for Python and
// Node.js, and finds the host's interpreters that run them.
//
// A runtime client (a "bootstrap") is the program an execution environment
// starts: it loads the function's handler and then loops over the Lambda
// Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html),
// fetching an event, calling the handler and posting the result. Ours mirror
// AWS's own clients, awslambdaric for Python and aws-lambda-ric for Node.js:
// the same handler strings, context objects, error documents, init error
// types and log formats. Both use only their language's standard library,
// since neither PyPI nor AWS's packages are assumed to be reachable.
//
// The clients are embedded in the binary. WriteTo materializes them in a
// host directory, which environments bind read-only at /var/runtime;
// Host.Install also compiles the Python client's bytecode there for each
// Python interpreter, so that cold starts skip that step.
//
// A Host knows which interpreter runs each runtime identifier
// ("python3.12", "nodejs20.x"). Discover fills it from pyenv and the usual
// system locations; Resolve turns an identifier into the command, mounts and
// environment variables an environment needs:
//
//	host := bootstrap.Discover()
//	// Operators may edit host.Interpreters here.
//	if err := host.Install(ctx, filepath.Join(dataDir, "runtime")); err != nil { ... }
//	rt, err := host.Resolve("python3.12")
//	var unavailable *bootstrap.UnavailableError
//	if errors.As(err, &unavailable) { ... InvalidRuntimeException ... }
//
// An interpreter that lives outside the host's system directories (a pyenv
// version, say) is bound read-only at /var/lang, where Lambda keeps its
// own, and run as /var/lang/bin/<name> with LD_LIBRARY_PATH=/var/lang/lib.
// CPython finds its standard library relative to its executable, and
// LD_LIBRARY_PATH takes precedence over the RUNPATH pyenv builds record, so
// the prefix works at the new path (TestRelocatedInterpreter checks this
// in a private mount namespace). Interpreters under /usr are run in place
// through the environment's read-only /usr.
//
// # The AWS SDK
//
// Lambda's Python runtimes let functions import boto3, and its Node.js
// runtimes the AWS SDK for JavaScript v3, without bundling them. InstallSDK
// installs both into a directory (boto3 from Debian's pure-Python packages,
// the JavaScript SDK from npm), which Host.SDKDir names: it is bound at
// /var/runtime/sdk and searched after the function's code and its layers,
// so that a bundled copy wins. Python finds it through PYTHONPATH, which
// comes after the entries the runtime client puts first; Node.js through
// NODE_PATH for require(), and through a resolve hook the runtime client
// registers before importing an ES module, since import ignores NODE_PATH.
package bootstrap
