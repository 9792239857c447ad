// Package awsapi is what every AWS service lambdahost serves shares at the
// protocol level, so that no service re-implements it:
//
//   - [Auth] verifies a request's SigV4 signature for one service (its
//     credential scope must name that service) and puts the caller in the
//     request's context, with the body buffered ([Auth.Buffered]) or
//     verified as the handler streams it ([Auth.Streamed]);
//   - [StartRequest] and [WithOperation] give a request its ID and the
//     name of the operation it calls;
//   - one error writer per AWS protocol: [RESTJSON] (Lambda, Signer),
//     [JSON11] (KMS, CloudWatch Logs) and [Query] (STS). Each service
//     answers errors in its own protocol's shape, but every error is
//     resolved and logged the same way: an *lambdahost.Error is answered as
//     it says, anything else is the service's internal error whose cause
//     is only logged, and a request whose client went away gets nothing.
//
// Protocols: https://smithy.io/2.0/aws/protocols/index.html
package awsapi
