package lambdahost

// Log attribute keys, shared by every package so that logs can be queried.
const (
	LogKeyComponent = "component"
	LogKeyRequestID = "request_id"
	LogKeyFunction  = "function"
	LogKeyOperation = "operation"
	LogKeyAccount   = "account"
	LogKeyDigest    = "digest"
	LogKeyError     = "err"
)
