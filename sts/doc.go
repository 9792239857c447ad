// Package sts is lambdahost's subset of the AWS Security Token Service:
// the temporary credentials of execution environments, and the
// GetCallerIdentity operation that SDKs and tools call to learn who they
// are.
//
// # Temporary credentials
//
// Every execution environment gets credentials for its function's
// execution role, in the function's account (see [Service.IssueSession]).
// They are accepted by lambdahost's SigV4 verifier as that account, for as
// long as the environment lives and at most
// [lambdahost.MaxSessionLifetime], and never for another account.
//
// The credentials are self-describing, so that any lambdahost process
// holding the operator's master key can verify them, whichever process
// issued them:
//
//   - the access key ID is random ("ASIA" and 16 characters, as AWS's
//     temporary keys);
//   - the secret access key is derived from the access key ID with a key
//     derived from the master key: nothing secret is stored anywhere;
//   - the session token seals (AES-256-GCM, under another key derived from
//     the master key, bound to the access key ID) the session's claims:
//     account, role, session name, expiry and the issuing process
//     ("instance").
//
// Whether a session is still live is state, kept where every process can
// see it:
//
//   - each process registers an instance record in the store when it
//     opens, refreshes it (a heartbeat) while it runs, and marks it ended
//     when it closes; on start, a process ends the instances its node left
//     behind (a crash). Sessions of an ended, missing or silent instance are
//     refused;
//   - ending a session writes a revocation record, kept until the session
//     would have expired anyway.
//
// The issuing process knows its own live sessions and verifies them
// without reading the store; other processes read the instance and
// revocation records.
//
// # Wire protocol
//
// STS speaks the AWS query protocol: POST / with a form-encoded body
// (Action=GetCallerIdentity&Version=2011-06-15), signed for the service
// "sts", answered in XML. See the STS API reference:
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
package sts
