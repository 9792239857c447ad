package logs

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

// targetPrefix starts the X-Amz-Target of every CloudWatch Logs operation.
const targetPrefix = "Logs_20140328."

// Server serves CloudWatch Logs' API: AWS JSON 1.1, where every operation
// is POST / with X-Amz-Target: Logs_20140328.<Operation>, signed for the
// service "logs".
type Server struct {
	service *Service
	authed  http.HandlerFunc
	ops     map[string]func(w http.ResponseWriter, r *http.Request, body []byte)

	// Logger receives request logs. If nil, slog.Default is used.
	Logger *slog.Logger
	// NewRequestID returns a request ID. If nil, a random UUID is used.
	NewRequestID func() string
	// TailPoll is how often a live tail reads new events; TailUpdate how
	// often it sends a sessionUpdate (CloudWatch Logs: every second);
	// TailMaxDuration ends a session (CloudWatch Logs: three hours). If
	// 0, those defaults.
	TailPoll, TailUpdate, TailMaxDuration time.Duration

	// closed is closed by CloseTails: live tails end.
	closed    chan struct{}
	closeOnce sync.Once
}

// CloseTails ends the live tails in progress and refuses new ones, so that
// a server shutting down need not wait for sessions that last hours.
func (s *Server) CloseTails() {
	s.closeOnce.Do(func() { close(s.closed) })
}

// NewServer returns a Server for service, authenticating with verifier.
func NewServer(service *Service, verifier *sigv4.Verifier) *Server {
	s := &Server{service: service, closed: make(chan struct{})}
	// PutLogEvents takes up to 1 MB of messages, escaped in JSON.
	auth := &awsapi.Auth{Verifier: verifier, Service: "logs", WriteError: s.writeError, MaxBody: 8 << 20}
	s.authed = auth.Buffered(s.dispatch)
	s.ops = map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
		"CreateLogGroup":        s.handleCreateLogGroup,
		"DeleteLogGroup":        s.handleDeleteLogGroup,
		"DescribeLogGroups":     s.handleDescribeLogGroups,
		"PutRetentionPolicy":    s.handlePutRetentionPolicy,
		"DeleteRetentionPolicy": s.handleDeleteRetentionPolicy,
		"CreateLogStream":       s.handleCreateLogStream,
		"DeleteLogStream":       s.handleDeleteLogStream,
		"DescribeLogStreams":    s.handleDescribeLogStreams,
		"PutLogEvents":          s.handlePutLogEvents,
		"GetLogEvents":          s.handleGetLogEvents,
		"FilterLogEvents":       s.handleFilterLogEvents,
		"StartLiveTail":         s.handleStartLiveTail,
		"TagResource":           s.handleTagResource,
		"UntagResource":         s.handleUntagResource,
		"ListTagsForResource":   s.handleListTagsForResource,
		"TagLogGroup":           s.handleTagLogGroup,
		"UntagLogGroup":         s.handleUntagLogGroup,
		"ListTagsLogGroup":      s.handleListTagsLogGroup,
	}
	return s
}

// SigningName is "logs".
func (s *Server) SigningName() string { return "logs" }

// Serves reports whether r is a CloudWatch Logs operation: POST / with a
// Logs_20140328 X-Amz-Target.
func (s *Server) Serves(r *http.Request) bool {
	return awsapi.IsJSONTarget(r, targetPrefix)
}

// ServeHTTP authenticates r, then dispatches it on its X-Amz-Target.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = awsapi.StartRequest(w, r, s.NewRequestID)
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	s.authed(w, awsapi.WithOperation(r, op))
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	awsapi.DispatchJSON(w, r, targetPrefix, s.ops, s.writeError)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// writeError is the one writer of CloudWatch Logs' errors, in AWS JSON 1.1.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	awsapi.JSON11{Logger: s.logger()}.WriteError(w, r, err)
}

// writeEmpty answers an operation without output, as CloudWatch Logs
// does: 200 and no body.
func writeEmpty(w http.ResponseWriter) {
	w.Header().Set("Content-Type", awsapi.JSON11ContentType)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// decode decodes body into v, answering the error itself; it reports
// whether the handler may go on.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, body []byte, v any) bool {
	if err := awsapi.DecodeJSON11(body, v); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// answer writes v, or err if it is not nil.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case v == nil:
		writeEmpty(w)
	default:
		awsapi.WriteJSON11(w, v)
	}
}

// required adds a "must not be null" failure for each nil member.
func required(v *lambdahost.Validation, members ...any) {
	for i := 0; i+1 < len(members); i += 2 {
		if isNil(members[i+1]) {
			v.Add(members[i].(string), "null", "Member must not be null")
		}
	}
}

func isNil(p any) bool {
	switch p := p.(type) {
	case *string:
		return p == nil
	case *int:
		return p == nil
	case *int64:
		return p == nil
	case []inputEventWire:
		return p == nil
	case map[string]string:
		return p == nil
	case []string:
		return p == nil
	}
	return p == nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// checkLimit adds a failure for a limit out of [1, max].
func checkLimit(v *lambdahost.Validation, limit *int, max int) {
	if limit == nil {
		return
	}
	if *limit < 1 {
		v.Add("limit", lambdahost.Quote(strconv.Itoa(*limit)), "Member must have value greater than or equal to 1")
	} else if *limit > max {
		v.Add("limit", lambdahost.Quote(strconv.Itoa(*limit)), "Member must have value less than or equal to "+strconv.Itoa(max))
	}
}

// checkToken adds a failure for an empty nextToken (min length 1).
func checkToken(v *lambdahost.Validation, token *string) {
	if token != nil && *token == "" {
		v.Add("nextToken", "''", "Member must have length greater than or equal to 1")
	}
}

type createLogGroupRequest struct {
	LogGroupName              *string           `json:"logGroupName"`
	KMSKeyID                  *string           `json:"kmsKeyId"`
	Tags                      map[string]string `json:"tags"`
	LogGroupClass             *string           `json:"logGroupClass"`
	DeletionProtectionEnabled *bool             `json:"deletionProtectionEnabled"`
}

func (s *Server) handleCreateLogGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	var req createLogGroupRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	required(v, "logGroupName", req.LogGroupName)
	if req.Tags != nil && len(req.Tags) == 0 {
		v.Add("tags", "", "Member must have length greater than or equal to 1")
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Unsupported features are refused rather than accepted and ignored.
	if req.KMSKeyID != nil {
		s.writeError(w, r, invalidParam("lambdahost does not encrypt log groups with KMS keys: kmsKeyId is not supported."))
		return
	}
	if deref(req.DeletionProtectionEnabled) {
		s.writeError(w, r, invalidParam("lambdahost does not support deletion protection of log groups."))
		return
	}
	err := s.service.CreateLogGroup(r.Context(), *req.LogGroupName, deref(req.LogGroupClass), req.Tags)
	s.answer(w, r, nil, err)
}

type groupNameRequest struct {
	LogGroupName *string `json:"logGroupName"`
}

func (s *Server) groupName(w http.ResponseWriter, r *http.Request, body []byte) (string, bool) {
	var req groupNameRequest
	if !s.decode(w, r, body, &req) {
		return "", false
	}
	v := validation()
	required(v, "logGroupName", req.LogGroupName)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	return *req.LogGroupName, true
}

func (s *Server) handleDeleteLogGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	if name, ok := s.groupName(w, r, body); ok {
		s.answer(w, r, nil, s.service.DeleteLogGroup(r.Context(), name))
	}
}

func (s *Server) handleDeleteRetentionPolicy(w http.ResponseWriter, r *http.Request, body []byte) {
	if name, ok := s.groupName(w, r, body); ok {
		s.answer(w, r, nil, s.service.DeleteRetentionPolicy(r.Context(), name))
	}
}

type describeLogGroupsRequest struct {
	LogGroupNamePrefix    *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern   *string  `json:"logGroupNamePattern"`
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogGroupClass         *string  `json:"logGroupClass"`
	AccountIdentifiers    []string `json:"accountIdentifiers"`
	IncludeLinkedAccounts *bool    `json:"includeLinkedAccounts"`
	NextToken             *string  `json:"nextToken"`
	Limit                 *int     `json:"limit"`
}

// logGroupWire is CloudWatch Logs' LogGroup.
type logGroupWire struct {
	LogGroupName              string `json:"logGroupName"`
	CreationTime              int64  `json:"creationTime"`
	RetentionInDays           *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount         int    `json:"metricFilterCount"`
	ARN                       string `json:"arn"`
	StoredBytes               *int64 `json:"storedBytes,omitempty"`
	LogGroupClass             string `json:"logGroupClass"`
	LogGroupARN               string `json:"logGroupArn"`
	DeletionProtectionEnabled *bool  `json:"deletionProtectionEnabled,omitempty"`
}

type describeLogGroupsResponse struct {
	LogGroups []logGroupWire `json:"logGroups"`
	NextToken string         `json:"nextToken,omitempty"`
}

func (s *Server) handleDescribeLogGroups(w http.ResponseWriter, r *http.Request, body []byte) {
	var req describeLogGroupsRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	checkLimit(v, req.Limit, 50)
	checkToken(v, req.NextToken)
	if p := req.LogGroupNamePrefix; p != nil {
		checkGroupName(v, "logGroupNamePrefix", *p)
	}
	if p := deref(req.LogGroupNamePattern); p != "" && (len(p) > 512 || !reGroupName.MatchString(p)) {
		v.Add("logGroupNamePattern", lambdahost.Quote(p), "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]*")
	}
	if ids := req.LogGroupIdentifiers; ids != nil && (len(ids) == 0 || len(ids) > 50) {
		v.Add("logGroupIdentifiers", "", "Member must have length between 1 and 50")
	}
	if c := deref(req.LogGroupClass); req.LogGroupClass != nil && !contains(LogGroupClasses, c) {
		v.Add("logGroupClass", lambdahost.Quote(c), "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]")
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, _ := lambdahost.CallerFrom(r.Context())
	// Accounts other than the caller's are linked accounts, which
	// lambdahost has none of.
	for _, a := range req.AccountIdentifiers {
		if a != c.Account {
			awsapi.WriteJSON11(w, describeLogGroupsResponse{LogGroups: []logGroupWire{}})
			return
		}
	}
	groups, next, err := s.service.DescribeLogGroups(r.Context(), GroupQuery{
		Prefix: deref(req.LogGroupNamePrefix), Pattern: deref(req.LogGroupNamePattern), Identifiers: req.LogGroupIdentifiers,
		Class: deref(req.LogGroupClass), Limit: deref(req.Limit), Token: deref(req.NextToken),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := describeLogGroupsResponse{LogGroups: []logGroupWire{}, NextToken: next}
	// A pattern search answers fewer members, as CloudWatch Logs does.
	full := deref(req.LogGroupNamePattern) == ""
	for _, g := range groups {
		lg := logGroupWire{
			LogGroupName: g.ID.Name, CreationTime: g.Created, ARN: g.ID.ARN() + ":*",
			LogGroupClass: g.Class, LogGroupARN: g.ID.ARN(),
		}
		if g.RetentionDays > 0 {
			days := g.RetentionDays
			lg.RetentionInDays = &days
		}
		if full {
			stored, no := g.StoredBytes, false
			lg.StoredBytes, lg.DeletionProtectionEnabled = &stored, &no
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	awsapi.WriteJSON11(w, out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type putRetentionPolicyRequest struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (s *Server) handlePutRetentionPolicy(w http.ResponseWriter, r *http.Request, body []byte) {
	var req putRetentionPolicyRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	required(v, "logGroupName", req.LogGroupName, "retentionInDays", req.RetentionInDays)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, nil, s.service.PutRetentionPolicy(r.Context(), *req.LogGroupName, *req.RetentionInDays))
}

type streamRequest struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, body []byte) (group, stream string, ok bool) {
	var req streamRequest
	if !s.decode(w, r, body, &req) {
		return "", "", false
	}
	v := validation()
	required(v, "logGroupName", req.LogGroupName, "logStreamName", req.LogStreamName)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return "", "", false
	}
	return *req.LogGroupName, *req.LogStreamName, true
}

func (s *Server) handleCreateLogStream(w http.ResponseWriter, r *http.Request, body []byte) {
	if g, st, ok := s.stream(w, r, body); ok {
		s.answer(w, r, nil, s.service.CreateLogStream(r.Context(), g, st))
	}
}

func (s *Server) handleDeleteLogStream(w http.ResponseWriter, r *http.Request, body []byte) {
	if g, st, ok := s.stream(w, r, body); ok {
		s.answer(w, r, nil, s.service.DeleteLogStream(r.Context(), g, st))
	}
}

type describeLogStreamsRequest struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

// logStreamWire is CloudWatch Logs' LogStream. storedBytes is always 0:
// CloudWatch Logs deprecated it for streams in 2019 and reports 0.
type logStreamWire struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	ARN                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type describeLogStreamsResponse struct {
	LogStreams []logStreamWire `json:"logStreams"`
	NextToken  string          `json:"nextToken,omitempty"`
}

func (s *Server) handleDescribeLogStreams(w http.ResponseWriter, r *http.Request, body []byte) {
	var req describeLogStreamsRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	checkLimit(v, req.Limit, 50)
	checkToken(v, req.NextToken)
	if o := req.OrderBy; o != nil && *o != "LogStreamName" && *o != "LastEventTime" {
		v.Add("orderBy", lambdahost.Quote(*o), "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	}
	if p := req.LogStreamNamePrefix; p != nil {
		checkStreamName(v, "logStreamNamePrefix", *p)
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	streams, next, err := s.service.DescribeLogStreams(r.Context(), StreamQuery{
		Group:  GroupRef{Name: deref(req.LogGroupName), Identifier: deref(req.LogGroupIdentifier)},
		Prefix: deref(req.LogStreamNamePrefix), OrderByLastEvent: deref(req.OrderBy) == "LastEventTime",
		Descending: deref(req.Descending), Limit: deref(req.Limit), Token: deref(req.NextToken),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := describeLogStreamsResponse{LogStreams: []logStreamWire{}, NextToken: next}
	for _, st := range streams {
		ls := logStreamWire{LogStreamName: st.Name, CreationTime: st.Created, ARN: st.Group.ARN() + ":log-stream:" + st.Name}
		if st.LastIngestion != 0 {
			first, last, ing := st.FirstEvent, st.LastEvent, st.LastIngestion
			if st.StoredBytes > 0 {
				ls.FirstEventTimestamp = &first
			}
			ls.LastEventTimestamp, ls.LastIngestionTime = &last, &ing
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	awsapi.WriteJSON11(w, out)
}

type inputEventWire struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsRequest struct {
	LogGroupName  *string          `json:"logGroupName"`
	LogStreamName *string          `json:"logStreamName"`
	LogEvents     []inputEventWire `json:"logEvents"`
	SequenceToken *string          `json:"sequenceToken"`
}

type rejectedWire struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsResponse struct {
	NextSequenceToken     string        `json:"nextSequenceToken,omitempty"`
	RejectedLogEventsInfo *rejectedWire `json:"rejectedLogEventsInfo,omitempty"`
}

func (s *Server) handlePutLogEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var req putLogEventsRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	required(v, "logGroupName", req.LogGroupName, "logStreamName", req.LogStreamName, "logEvents", req.LogEvents)
	for i, e := range req.LogEvents {
		required(v, "logEvents."+strconv.Itoa(i+1)+".member.timestamp", e.Timestamp, "logEvents."+strconv.Itoa(i+1)+".member.message", e.Message)
		if v.Failed() {
			break
		}
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	events := make([]InputEvent, len(req.LogEvents))
	for i, e := range req.LogEvents {
		events[i] = InputEvent{Time: *e.Timestamp, Message: *e.Message}
	}
	rej, seq, err := s.service.PutLogEvents(r.Context(), GroupRef{Name: *req.LogGroupName}, *req.LogStreamName, events)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := putLogEventsResponse{NextSequenceToken: seq}
	if rej.TooOldEnd >= 0 || rej.ExpiredEnd >= 0 || rej.TooNewStart >= 0 {
		out.RejectedLogEventsInfo = &rejectedWire{}
		if rej.TooOldEnd >= 0 {
			out.RejectedLogEventsInfo.TooOldLogEventEndIndex = &rej.TooOldEnd
		}
		if rej.ExpiredEnd >= 0 {
			out.RejectedLogEventsInfo.ExpiredLogEventEndIndex = &rej.ExpiredEnd
		}
		if rej.TooNewStart >= 0 {
			out.RejectedLogEventsInfo.TooNewLogEventStartIndex = &rej.TooNewStart
		}
	}
	awsapi.WriteJSON11(w, out)
}

type getLogEventsRequest struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             *bool   `json:"unmask"`
}

type outputEventWire struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type getLogEventsResponse struct {
	Events            []outputEventWire `json:"events"`
	NextForwardToken  string            `json:"nextForwardToken"`
	NextBackwardToken string            `json:"nextBackwardToken"`
}

// checkTimes adds failures for negative startTime and endTime (min 0).
func checkTimes(v *lambdahost.Validation, start, end *int64) {
	for _, t := range []struct {
		member string
		val    *int64
	}{{"startTime", start}, {"endTime", end}} {
		if t.val != nil && *t.val < 0 {
			v.Add(t.member, lambdahost.Quote(strconv.FormatInt(*t.val, 10)), "Member must have value greater than or equal to 0")
		}
	}
}

func (s *Server) handleGetLogEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var req getLogEventsRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	required(v, "logStreamName", req.LogStreamName)
	checkLimit(v, req.Limit, maxResponseEvents)
	checkToken(v, req.NextToken)
	checkTimes(v, req.StartTime, req.EndTime)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	events, fwd, bwd, err := s.service.GetLogEvents(r.Context(), GetQuery{
		Group:  GroupRef{Name: deref(req.LogGroupName), Identifier: deref(req.LogGroupIdentifier)},
		Stream: *req.LogStreamName, Start: deref(req.StartTime), End: deref(req.EndTime),
		Limit: deref(req.Limit), Token: deref(req.NextToken), StartFromHead: deref(req.StartFromHead),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := getLogEventsResponse{Events: make([]outputEventWire, 0, len(events)), NextForwardToken: fwd, NextBackwardToken: bwd}
	for _, e := range events {
		out.Events = append(out.Events, outputEventWire{Timestamp: e.Time, Message: e.Message, IngestionTime: e.Ingested})
	}
	awsapi.WriteJSON11(w, out)
}

type filterLogEventsRequest struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	Unmask              *bool    `json:"unmask"`
}

type filteredEventWire struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type filterLogEventsResponse struct {
	Events []filteredEventWire `json:"events"`
	// SearchedLogStreams is deprecated and answered empty, as CloudWatch
	// Logs has since 2020.
	SearchedLogStreams []struct{} `json:"searchedLogStreams"`
	NextToken          string     `json:"nextToken,omitempty"`
}

func (s *Server) handleFilterLogEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var req filterLogEventsRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	checkLimit(v, req.Limit, maxResponseEvents)
	checkToken(v, req.NextToken)
	checkTimes(v, req.StartTime, req.EndTime)
	if n := req.LogStreamNames; n != nil && (len(n) == 0 || len(n) > 100) {
		v.Add("logStreamNames", "", "Member must have length between 1 and 100")
	}
	for _, n := range req.LogStreamNames {
		checkStreamName(v, "logStreamNames.member", n)
	}
	if p := req.LogStreamNamePrefix; p != nil {
		checkStreamName(v, "logStreamNamePrefix", *p)
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	events, next, err := s.service.FilterLogEvents(r.Context(), FilterQuery{
		Group:   GroupRef{Name: deref(req.LogGroupName), Identifier: deref(req.LogGroupIdentifier)},
		Streams: req.LogStreamNames, StreamPrefix: deref(req.LogStreamNamePrefix),
		Start: deref(req.StartTime), End: deref(req.EndTime), Pattern: deref(req.FilterPattern),
		Limit: deref(req.Limit), Token: deref(req.NextToken),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := filterLogEventsResponse{Events: make([]filteredEventWire, 0, len(events)), SearchedLogStreams: []struct{}{}, NextToken: next}
	for _, e := range events {
		out.Events = append(out.Events, filteredEventWire{LogStreamName: e.Stream, Timestamp: e.Time, Message: e.Message, IngestionTime: e.Ingested, EventID: eventID(e)})
	}
	awsapi.WriteJSON11(w, out)
}

type tagResourceRequest struct {
	ResourceARN *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
	TagKeys     []string          `json:"tagKeys"`
}

// resource decodes a request naming a resource by ARN.
func (s *Server) resource(w http.ResponseWriter, r *http.Request, body []byte, member string) (GroupRef, *tagResourceRequest, bool) {
	var req tagResourceRequest
	if !s.decode(w, r, body, &req) {
		return GroupRef{}, nil, false
	}
	v := validation()
	switch member {
	case "tags":
		required(v, "resourceArn", req.ResourceARN, "tags", req.Tags)
	case "tagKeys":
		required(v, "resourceArn", req.ResourceARN, "tagKeys", req.TagKeys)
	default:
		required(v, "resourceArn", req.ResourceARN)
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return GroupRef{}, nil, false
	}
	g, err := ResourceGroup(*req.ResourceARN)
	if err != nil {
		s.writeError(w, r, err)
		return GroupRef{}, nil, false
	}
	return g, &req, true
}

func (s *Server) handleTagResource(w http.ResponseWriter, r *http.Request, body []byte) {
	if g, req, ok := s.resource(w, r, body, "tags"); ok {
		s.answer(w, r, nil, s.service.TagLogGroup(r.Context(), g, req.Tags))
	}
}

func (s *Server) handleUntagResource(w http.ResponseWriter, r *http.Request, body []byte) {
	if g, req, ok := s.resource(w, r, body, "tagKeys"); ok {
		s.answer(w, r, nil, s.service.UntagLogGroup(r.Context(), g, req.TagKeys))
	}
}

type tagsResponse struct {
	Tags map[string]string `json:"tags"`
}

func (s *Server) handleListTagsForResource(w http.ResponseWriter, r *http.Request, body []byte) {
	if g, _, ok := s.resource(w, r, body, ""); ok {
		tags, err := s.service.LogGroupTags(r.Context(), g)
		s.answer(w, r, tagsResponse{Tags: tags}, err)
	}
}

// The older tagging operations name the group by name; UntagLogGroup's
// "tags" member is the list of keys.
type tagLogGroupRequest struct {
	LogGroupName *string    `json:"logGroupName"`
	Tags         json11Tags `json:"tags"`
}

// json11Tags is TagLogGroup's map or UntagLogGroup's list of keys.
type json11Tags struct {
	m    map[string]string
	keys []string
	set  bool
}

func (t *json11Tags) UnmarshalJSON(b []byte) error {
	t.set = true
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &t.keys)
	}
	return json.Unmarshal(b, &t.m)
}

func (s *Server) tagLogGroup(w http.ResponseWriter, r *http.Request, body []byte) (*tagLogGroupRequest, bool) {
	var req tagLogGroupRequest
	if !s.decode(w, r, body, &req) {
		return nil, false
	}
	v := validation()
	required(v, "logGroupName", req.LogGroupName)
	if !req.Tags.set {
		v.Add("tags", "null", "Member must not be null")
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return &req, true
}

func (s *Server) handleTagLogGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	if req, ok := s.tagLogGroup(w, r, body); ok {
		if req.Tags.m == nil {
			s.writeError(w, r, lambdahost.Errorf(lambdahost.SerializationException, "Start of list found where not expected."))
			return
		}
		s.answer(w, r, nil, s.service.TagLogGroup(r.Context(), GroupRef{Name: *req.LogGroupName}, req.Tags.m))
	}
}

func (s *Server) handleUntagLogGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	if req, ok := s.tagLogGroup(w, r, body); ok {
		if req.Tags.keys == nil {
			s.writeError(w, r, lambdahost.Errorf(lambdahost.SerializationException, "Start of structure or map found where not expected."))
			return
		}
		s.answer(w, r, nil, s.service.UntagLogGroup(r.Context(), GroupRef{Name: *req.LogGroupName}, req.Tags.keys))
	}
}

func (s *Server) handleListTagsLogGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	if name, ok := s.groupName(w, r, body); ok {
		tags, err := s.service.LogGroupTags(r.Context(), GroupRef{Name: name})
		s.answer(w, r, tagsResponse{Tags: tags}, err)
	}
}
