// Package invoke runs functions: it keeps warm execution environments per
// function version and configuration, serves each one the Lambda Runtime API
// (2018-06-01), hands it one invocation at a time and collects the result,
// the log and the reasons an invocation failed.
//
// An environment is started by a lambdahost.Launcher (the sandbox) from the
// version's code, unzipped once per digest under Dir/code, and a runtime
// (see package bootstrap). Environments are pooled by a key that covers the
// code digest and every configuration field the environment was started
// with, so that after UpdateFunctionCode or UpdateFunctionConfiguration the
// next invocation gets a new environment while invocations already running
// finish on the old one; the old pool is then drained.
package invoke
