package testserver

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The servers of the AWS services that Lambda's destinations and event
// sources live in.
//
// SQS, SNS and EventBridge are served by moto's server (moto_server),
// which speaks the protocols today's SDKs send: the JSON protocol of SQS
// and EventBridge, the query protocol of SNS. goaws, the other Go-free
// candidate, speaks only SQS's query protocol, which aws-sdk-go-v2 (since
// its SQS client v1.29) and botocore no longer send. moto delivers an SNS
// topic's messages to its SQS subscribers and an EventBridge rule's events
// to its SQS targets, so that every destination can be read back from a
// queue. Kinesis is served by kinesalite, which implements shards,
// sequence numbers and shard iterators as Kinesis does.

// AWSAccount is the account of the resources the servers create, the
// account lambdahost's built-in test credentials map to.
const AWSAccount = "000000000000"

// AWS is a running moto server: SQS, SNS and EventBridge (and more) on
// one endpoint.
type AWS struct {
	Endpoint string // http://127.0.0.1:PORT
}

// MotoInstall says where moto comes from: the machine image's Python
// packages (PyPI is not reachable from CI).
const MotoInstall = "pip install 'moto[server]' (the CI image ships moto 5)"

// StartAWS runs moto_server, with resources in account AWSAccount, until
// tb ends.
func StartAWS(tb testing.TB) *AWS {
	tb.Helper()
	bin, err := FindBinary("moto_server")
	if err != nil {
		missing(tb, "moto_server", MotoInstall, err)
	}
	addr, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, "-H", host, "-p", port)
	cmd.Env = append(os.Environ(), "MOTO_ACCOUNT_ID="+AWSAccount, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1")
	a := &AWS{Endpoint: "http://" + addr}
	run(tb, cmd, func() error { return httpAnswers(a.Endpoint + "/moto-api/") })
	return a
}

// Kinesis is a running kinesalite.
type Kinesis struct {
	Endpoint string // http://127.0.0.1:PORT
}

// KinesaliteInstall is how CI installs kinesalite.
const KinesaliteInstall = "npm install -g kinesalite@3.3.3"

// StartKinesis runs kinesalite, in memory, until tb ends. Streams become
// ACTIVE at once.
func StartKinesis(tb testing.TB) *Kinesis {
	tb.Helper()
	bin, err := FindBinary("kinesalite")
	if err != nil {
		missing(tb, "kinesalite", KinesaliteInstall, err)
	}
	addr, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, "--port", port, "--createStreamMs", "0", "--deleteStreamMs", "0", "--updateStreamMs", "0", "--shardLimit", "100")
	k := &Kinesis{Endpoint: "http://" + addr}
	run(tb, cmd, func() error { return httpAnswers(k.Endpoint) })
	return k
}
