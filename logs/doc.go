// Package logs is lambdahost's CloudWatch Logs: log groups, streams and
// events per account and region, served in CloudWatch Logs' protocol
// (AWS JSON 1.1, X-Amz-Target: Logs_20140328.<Operation>, signed for
// "logs") so that `aws logs`, boto3 and aws-sdk-go-v2's cloudwatchlogs
// work against it, and the store of functions' output.
//
// Service (service.go) owns the data, kept by a lambdahost.LogStore, and
// the rules: names, limits and AWS's error wording. Ingester (ingest.go)
// implements lambdahost.LogSink: the executor hands it every line of
// every execution environment, and it writes them to the store in
// batches, off the invoke path. Sweeper (sweep.go) deletes events past
// their group's retention and keeps each account under its storage
// bound. Server (server.go) is the wire layer, with StartLiveTail's event
// stream in livetail.go; its golden files are in testdata/golden. The
// filter pattern language is in pattern.go.
//
// API reference: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/
package logs
