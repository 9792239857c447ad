// Package control implements the Lambda control plane: it validates
// requests, runs the function state machine and turns storage errors into
// AWS's API errors. It receives storage, code and (later) execution as root
// interfaces and imports nothing but the root package and the standard library.
//
// State machine, as AWS runs it
// (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html):
// CreateFunction commits the function Pending and answers; settling makes it
// Active with LastUpdateStatus Successful. UpdateFunctionCode and
// UpdateFunctionConfiguration commit LastUpdateStatus InProgress and answer;
// settling makes it Successful, or Failed with a reason. Each step issues a
// new RevisionId. All validation and storage happen before the InProgress
// commit, so settling is short and a waiter usually sees Successful on its
// first poll. Unsettled versions found at start-up (a crash between the two
// commits) are settled by Start.
package control
