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
// The credentials are self-describing, so that any lambdahost node
// holding the operator's master key can verify them, whichever node
// issued them:
//
//   - the access key ID is random ("ASIA" and 16 characters, as AWS's
//     temporary keys);
//   - the secret access key is derived from the access key ID with a key
//     derived from the master key: nothing secret is stored anywhere;
//   - the session token seals (AES-256-GCM, under another key derived from
//     the master key, bound to the access key ID) the session's claims:
//     account, role, session name, expiry and the issuing node.
//
// Whether a session is still live is state, kept where every node can see
// it:
//
//   - the issuing node vouches for its sessions while it is alive, as
//     lambdahost.Coordinator tells: registered and renewing its
//     registration. Sessions of a node that left, whose registration
//     expired (it died) or that never registered are refused;
//   - ending a session writes a revocation record, kept until the session
//     would have expired anyway.
//
// The issuing node knows its own live sessions and verifies them without
// reading the store; other nodes ask the store whether the issuing node
// is alive and read the revocation records.
//
// # Wire protocol
//
// STS speaks the AWS query protocol: POST / with a form-encoded body
// (Action=GetCallerIdentity&Version=2011-06-15), signed for the service
// "sts", answered in XML. Server (server.go) is the wire layer, a Service
// of lambdahost's router; its golden files are in testdata/golden. See the
// STS API reference:
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
package sts
