package logs

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lambdahost/lambdahost"
)

// Limits of CloudWatch Logs that lambdahost applies as AWS does.
const (
	// MaxEventSize bounds one event: its message's bytes plus 26.
	MaxEventSize = 256 * 1024
	// MaxBatchSize bounds a PutLogEvents batch, counted the same way.
	MaxBatchSize = 1024 * 1024
	// MaxBatchEvents bounds the events of a PutLogEvents batch.
	MaxBatchEvents = 10000
	// MaxBatchSpan is how far apart the events of one batch may be.
	MaxBatchSpan = 24 * time.Hour
	// MaxAge and MaxFuture bound the timestamps PutLogEvents accepts.
	MaxAge    = 14 * 24 * time.Hour
	MaxFuture = 2 * time.Hour
	// maxResponse bounds the events of a GetLogEvents or FilterLogEvents
	// answer: 1 MB of messages, or 10,000 events.
	maxResponse       = 1024 * 1024
	maxResponseEvents = 10000
	// filterScanBudget is how many events one FilterLogEvents call reads
	// before it answers what it found with a nextToken, as CloudWatch Logs
	// answers a long search in several pages.
	filterScanBudget = 250000
)

// DefaultAccountLimit bounds the bytes of events an account keeps (every
// region together) when Service.AccountLimit is 0: 5 GiB.
const DefaultAccountLimit = 5 << 30

// RetentionDays are the retention periods CloudWatch Logs accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Service is CloudWatch Logs over a LogStore: the log groups of every
// account and region, their streams and events.
type Service struct {
	store lambdahost.LogStore

	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// AccountLimit bounds the bytes an account's events take (see
	// lambdahost.LogEventSize), every region together. Past it, the
	// account's oldest events are deleted first, towards nine tenths of
	// it, at most 16 MB per write. If 0, DefaultAccountLimit.
	AccountLimit int64
	// Logger receives the service's own logs. If nil, slog.Default is used.
	Logger *slog.Logger
}

// New returns the service over store.
func New(store lambdahost.LogStore) *Service {
	return &Service{store: store}
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) nowMS() int64 { return s.now().UnixMilli() }

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Service) accountLimit() int64 {
	if s.AccountLimit <= 0 {
		return DefaultAccountLimit
	}
	return s.AccountLimit
}

// Errors CloudWatch Logs answers, worded as it words them.
func groupNotFound() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The specified log group does not exist.")
}

func streamNotFound() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The specified log stream does not exist.")
}

func invalidToken() error {
	return lambdahost.Errorf(lambdahost.InvalidParameterException, "The specified nextToken is invalid.")
}

func invalidParam(format string, args ...any) error {
	return lambdahost.Errorf(lambdahost.InvalidParameterException, format, args...)
}

// validation collects the model's constraint failures as an
// InvalidParameterException, as CloudWatch Logs answers them.
func validation() *lambdahost.Validation {
	return &lambdahost.Validation{Type: lambdahost.InvalidParameterException}
}

var (
	reGroupName  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	reGroupARN   = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([^:]+)(:\*)?$`)
	reTagKey     = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`)
	reTagValue   = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	groupPattern = `[\.\-_/#A-Za-z0-9]+`
)

// checkGroupName checks a logGroupName member against the model.
func checkGroupName(v *lambdahost.Validation, member, name string) {
	switch {
	case name == "":
		v.Add(member, lambdahost.Quote(name), "Member must have length greater than or equal to 1")
	case len(name) > 512:
		v.Add(member, lambdahost.Quote(name), "Member must have length less than or equal to 512")
	case !reGroupName.MatchString(name):
		v.Add(member, lambdahost.Quote(name), "Member must satisfy regular expression pattern: "+groupPattern)
	}
}

// checkStreamName checks a logStreamName member against the model.
func checkStreamName(v *lambdahost.Validation, member, name string) {
	switch {
	case name == "":
		v.Add(member, lambdahost.Quote(name), "Member must have length greater than or equal to 1")
	case utf8.RuneCountInString(name) > 512:
		v.Add(member, lambdahost.Quote(name), "Member must have length less than or equal to 512")
	case strings.ContainsAny(name, ":*"):
		v.Add(member, lambdahost.Quote(name), "Member must satisfy regular expression pattern: [^:*]*")
	}
}

func caller(ctx context.Context, op string) (lambdahost.Caller, error) {
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return c, lambdahost.Internal(op, err)
	}
	return c, nil
}

// GroupRef names a log group as a request does: by logGroupName or by
// logGroupIdentifier (a name or an ARN). At most one may be set.
type GroupRef struct {
	Name, Identifier string
}

// resolve returns the group a reference names for caller c. A group of
// another account or region is answered as missing.
func (r GroupRef) resolve(c lambdahost.Caller) (lambdahost.LogGroupID, error) {
	switch {
	case r.Name != "" && r.Identifier != "":
		return lambdahost.LogGroupID{}, lambdahost.Errorf(lambdahost.ValidationException, "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case r.Name == "" && r.Identifier == "":
		return lambdahost.LogGroupID{}, invalidParam("Should provide either name or ARN for log group")
	case r.Name != "":
		v := validation()
		checkGroupName(v, "logGroupName", r.Name)
		return lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: r.Name}, v.Err()
	}
	return identifier(c, r.Identifier)
}

// identifier parses a logGroupIdentifier, a log group's name or ARN.
func identifier(c lambdahost.Caller, id string) (lambdahost.LogGroupID, error) {
	if m := reGroupARN.FindStringSubmatch(id); m != nil {
		if m[1] != c.Region || m[2] != c.Account {
			return lambdahost.LogGroupID{}, groupNotFound()
		}
		return lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: m[3]}, nil
	}
	if strings.HasPrefix(id, "arn:") {
		return lambdahost.LogGroupID{}, invalidParam("Invalid ARN %s", id)
	}
	v := validation()
	checkGroupName(v, "logGroupIdentifier", id)
	return lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: id}, v.Err()
}

// checkTags checks tags against the model: 1 to 50, keys and values of
// the allowed characters, keys not starting with aws:.
func checkTags(member string, tags map[string]string) error {
	v := validation()
	if len(tags) > 50 {
		v.Add(member, "", "Member must have length less than or equal to 50")
	}
	keys := slices.Sorted(mapsKeys(tags))
	for _, k := range keys {
		val := tags[k]
		switch {
		case len(k) < 1 || utf8.RuneCountInString(k) > 128 || !reTagKey.MatchString(k):
			v.Add(member, "", "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$]")
		case utf8.RuneCountInString(val) > 256 || !reTagValue.MatchString(val):
			v.Add(member, "", "Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$]")
		}
		if v.Failed() {
			break
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParam("Tags that start with aws: are reserved for AWS use")
		}
	}
	return nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// LogGroupClasses are the classes CreateLogGroup accepts.
var LogGroupClasses = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY"}

// CreateLogGroup creates a log group of the caller's account in its
// region. Returns ResourceAlreadyExistsException if it exists.
func (s *Service) CreateLogGroup(ctx context.Context, name, class string, tags map[string]string) error {
	c, err := caller(ctx, "create log group")
	if err != nil {
		return err
	}
	if len(name) > 512 {
		return invalidParam("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	v := validation()
	checkGroupName(v, "logGroupName", name)
	if class != "" && !slices.Contains(LogGroupClasses, class) {
		v.Add("logGroupClass", lambdahost.Quote(class), "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if tags != nil {
		if err := checkTags("tags", tags); err != nil {
			return err
		}
	}
	if class == "" {
		class = "STANDARD"
	}
	g := &lambdahost.LogGroup{ID: lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: name}, Created: s.nowMS(), Class: class, Tags: tags}
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error { return tx.CreateLogGroup(ctx, g) })
	if errors.Is(err, lambdahost.ErrExists) {
		return lambdahost.Errorf(lambdahost.ResourceAlreadyExistsException, "The specified log group already exists")
	}
	return lambdahost.Internal("create log group", err)
}

// DeleteLogGroup deletes a log group with its streams and events.
func (s *Service) DeleteLogGroup(ctx context.Context, name string) error {
	c, err := caller(ctx, "delete log group")
	if err != nil {
		return err
	}
	id, err := GroupRef{Name: name}.resolve(c)
	if err != nil {
		return err
	}
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error { return tx.DeleteLogGroup(ctx, id) })
	if errors.Is(err, lambdahost.ErrNotFound) {
		return groupNotFound()
	}
	return lambdahost.Internal("delete log group", err)
}

// GroupQuery selects log groups for DescribeLogGroups.
type GroupQuery struct {
	// Prefix and Pattern (a case-insensitive substring) are exclusive.
	Prefix, Pattern string
	// Identifiers, if set, lists the groups wanted by name or ARN.
	Identifiers []string
	// Class keeps groups of that class.
	Class string
	Limit int
	Token string
}

// DescribeLogGroups answers the caller's log groups in its region, in
// name order, up to Limit (1 to 50, default 50), and the token of the
// next page.
func (s *Service) DescribeLogGroups(ctx context.Context, q GroupQuery) ([]*lambdahost.LogGroup, string, error) {
	c, err := caller(ctx, "describe log groups")
	if err != nil {
		return nil, "", err
	}
	if q.Prefix != "" && q.Pattern != "" {
		return nil, "", invalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if q.Identifiers != nil && (q.Prefix != "" || q.Pattern != "") {
		return nil, "", invalidParam("LogGroup identifiers and LogGroup name prefix or pattern are mutually exclusive parameters.")
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	after := ""
	if q.Token != "" {
		if after, err = decodeToken("g", q.Token); err != nil {
			return nil, "", err
		}
	}
	var want map[string]bool
	if q.Identifiers != nil {
		want = map[string]bool{}
		for _, id := range q.Identifiers {
			g, err := identifier(c, id)
			if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
				continue // another account's: not listed
			}
			if err != nil {
				return nil, "", err
			}
			want[g.Name] = true
		}
	}
	pattern := strings.ToLower(q.Pattern)
	keep := func(g *lambdahost.LogGroup) bool {
		return (want == nil || want[g.ID.Name]) &&
			(pattern == "" || strings.Contains(strings.ToLower(g.ID.Name), pattern)) &&
			(q.Class == "" || g.Class == q.Class)
	}
	var out []*lambdahost.LogGroup
	next := ""
	err = s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		out, next = nil, ""
		for {
			page, err := tx.ListLogGroups(ctx, c.Account, c.Region, q.Prefix, after, 100)
			if err != nil {
				return err
			}
			for _, g := range page {
				if !keep(g) {
					continue
				}
				if len(out) == q.Limit {
					next = encodeToken("g", out[len(out)-1].ID.Name)
					return nil
				}
				out = append(out, g)
			}
			if len(page) < 100 {
				return nil
			}
			after = page[len(page)-1].ID.Name
		}
	})
	if err != nil {
		return nil, "", lambdahost.Internal("describe log groups", err)
	}
	return out, next, nil
}

// encodeToken and decodeToken make opaque paging tokens of a kind ("g"
// for groups, "s" for streams, "e" for events) and a position.
func encodeToken(kind, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "/" + pos))
}

func decodeToken(kind, token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", invalidToken()
	}
	pos, ok := strings.CutPrefix(string(b), kind+"/")
	if !ok {
		return "", invalidToken()
	}
	return pos, nil
}

// PutRetentionPolicy sets how many days a group keeps its events. Events
// already older are deleted at once (CloudWatch Logs deletes them within
// three days); later ones by the Sweeper.
func (s *Service) PutRetentionPolicy(ctx context.Context, name string, days int) error {
	c, err := caller(ctx, "put retention policy")
	if err != nil {
		return err
	}
	v := validation()
	checkGroupName(v, "logGroupName", name)
	if !slices.Contains(RetentionDays, days) {
		v.Add("retentionInDays", lambdahost.Quote(strconv.Itoa(days)), "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")
	}
	if err := v.Err(); err != nil {
		return err
	}
	id := lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: name}
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		g, err := tx.LogGroup(ctx, id)
		if err != nil {
			return err
		}
		g.RetentionDays = days
		if err := tx.PutLogGroup(ctx, g); err != nil {
			return err
		}
		_, err = tx.DeleteLogEventsBefore(ctx, id, s.expiry(days))
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return groupNotFound()
	}
	return lambdahost.Internal("put retention policy", err)
}

// expiry is the timestamp before which a group keeping events days days
// has none.
func (s *Service) expiry(days int) int64 {
	return s.now().Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
}

// DeleteRetentionPolicy makes a group keep its events forever.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, name string) error {
	c, err := caller(ctx, "delete retention policy")
	if err != nil {
		return err
	}
	id, err := GroupRef{Name: name}.resolve(c)
	if err != nil {
		return err
	}
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		g, err := tx.LogGroup(ctx, id)
		if err != nil {
			return err
		}
		g.RetentionDays = 0
		return tx.PutLogGroup(ctx, g)
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return groupNotFound()
	}
	return lambdahost.Internal("delete retention policy", err)
}

// CreateLogStream creates a stream in one of the caller's groups.
func (s *Service) CreateLogStream(ctx context.Context, group, name string) error {
	c, err := caller(ctx, "create log stream")
	if err != nil {
		return err
	}
	if len(group) > 512 || utf8.RuneCountInString(name) > 512 {
		return invalidParam("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	v := validation()
	checkGroupName(v, "logGroupName", group)
	checkStreamName(v, "logStreamName", name)
	if err := v.Err(); err != nil {
		return err
	}
	st := &lambdahost.LogStream{Group: lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: group}, Name: name, Created: s.nowMS()}
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error { return tx.CreateLogStream(ctx, st) })
	switch {
	case errors.Is(err, lambdahost.ErrExists):
		return lambdahost.Errorf(lambdahost.ResourceAlreadyExistsException, "The specified log stream already exists")
	case errors.Is(err, lambdahost.ErrNotFound):
		return groupNotFound()
	}
	return lambdahost.Internal("create log stream", err)
}

// DeleteLogStream deletes a stream and its events.
func (s *Service) DeleteLogStream(ctx context.Context, group, name string) error {
	c, err := caller(ctx, "delete log stream")
	if err != nil {
		return err
	}
	v := validation()
	checkGroupName(v, "logGroupName", group)
	checkStreamName(v, "logStreamName", name)
	if err := v.Err(); err != nil {
		return err
	}
	id := lambdahost.LogGroupID{Account: c.Account, Region: c.Region, Name: group}
	var missingGroup bool
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		if _, err := tx.LogGroup(ctx, id); errors.Is(err, lambdahost.ErrNotFound) {
			missingGroup = true
			return err
		}
		return tx.DeleteLogStream(ctx, id, name)
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		if missingGroup {
			return groupNotFound()
		}
		return streamNotFound()
	}
	return lambdahost.Internal("delete log stream", err)
}

// StreamQuery selects streams for DescribeLogStreams.
type StreamQuery struct {
	Group GroupRef
	// Prefix keeps streams whose names start with it; not with
	// OrderByLastEvent.
	Prefix           string
	OrderByLastEvent bool
	Descending       bool
	Limit            int
	Token            string
}

// DescribeLogStreams answers a group's streams in the order asked, up to
// Limit (1 to 50, default 50), and the token of the next page.
func (s *Service) DescribeLogStreams(ctx context.Context, q StreamQuery) ([]*lambdahost.LogStream, string, error) {
	c, err := caller(ctx, "describe log streams")
	if err != nil {
		return nil, "", err
	}
	id, err := q.Group.resolve(c)
	if err != nil {
		return nil, "", err
	}
	if q.OrderByLastEvent && q.Prefix != "" {
		return nil, "", invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	sq := lambdahost.LogStreamQuery{Group: id, Prefix: q.Prefix, Descending: q.Descending, Limit: q.Limit + 1}
	if q.OrderByLastEvent {
		sq.Order = lambdahost.ByLastEvent
	}
	if q.Token != "" {
		pos, err := decodeToken("s", q.Token)
		if err != nil {
			return nil, "", err
		}
		last, name, ok := strings.Cut(pos, "/")
		t, perr := strconv.ParseInt(last, 10, 64)
		if !ok || perr != nil || name == "" {
			return nil, "", invalidToken()
		}
		sq.AfterLastEvent, sq.AfterName = t, name
	}
	var out []*lambdahost.LogStream
	err = s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) (err error) {
		out, err = tx.ListLogStreams(ctx, sq)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, "", groupNotFound()
	}
	if err != nil {
		return nil, "", lambdahost.Internal("describe log streams", err)
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		last := out[len(out)-1]
		next = encodeToken("s", strconv.FormatInt(last.LastEvent, 10)+"/"+last.Name)
	}
	return out, next, nil
}

// InputEvent is an event as PutLogEvents takes it.
type InputEvent struct {
	Time    int64
	Message string
}

// Rejected is PutLogEvents' rejectedLogEventsInfo: the indexes of the
// events it left out for their timestamps. -1 means none.
type Rejected struct {
	// TooOldEnd and ExpiredEnd are the ends (exclusive) of the leading
	// events older than 14 days or than the group's retention.
	TooOldEnd, ExpiredEnd int
	// TooNewStart is the first of the trailing events over two hours
	// ahead.
	TooNewStart int
}

// PutLogEvents adds events to a stream, as CloudWatch Logs accepts them:
// in chronological order, within 24 hours of each other, each at most
// MaxEventSize and together at most MaxBatchSize, 10,000 at most. Events
// more than 14 days old or older than the group's retention, and events
// more than two hours ahead, are left out and reported in Rejected. The
// events are durable when it returns; it returns the sequence token.
func (s *Service) PutLogEvents(ctx context.Context, group GroupRef, stream string, events []InputEvent) (Rejected, string, error) {
	rej := Rejected{TooOldEnd: -1, ExpiredEnd: -1, TooNewStart: -1}
	c, err := caller(ctx, "put log events")
	if err != nil {
		return rej, "", err
	}
	id, err := group.resolve(c)
	if err != nil {
		return rej, "", err
	}
	v := validation()
	checkStreamName(v, "logStreamName", stream)
	if len(events) == 0 {
		v.Add("logEvents", "'[]'", "Member must have length greater than or equal to 1")
	}
	if len(events) > MaxBatchEvents {
		v.Add("logEvents", "", fmt.Sprintf("Member must have length less than or equal to %d", MaxBatchEvents))
	}
	for i, e := range events {
		if e.Message == "" {
			v.Add(fmt.Sprintf("logEvents.%d.member.message", i+1), "''", "Member must have length greater than or equal to 1")
		}
		if e.Time < 0 {
			v.Add(fmt.Sprintf("logEvents.%d.member.timestamp", i+1), lambdahost.Quote(strconv.FormatInt(e.Time, 10)), "Member must have value greater than or equal to 0")
		}
	}
	if err := v.Err(); err != nil {
		return rej, "", err
	}
	var total int64
	for i, e := range events {
		size := lambdahost.LogEventSize(e.Message)
		if size > MaxEventSize {
			return rej, "", invalidParam("Log event too large: %d bytes exceeds limit of %d", size, MaxEventSize)
		}
		total += size
		if i > 0 && e.Time < events[i-1].Time {
			return rej, "", invalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if total > MaxBatchSize {
		return rej, "", invalidParam("Upload too large: %d bytes exceeds limit of %d", total, MaxBatchSize)
	}
	if events[len(events)-1].Time-events[0].Time > MaxBatchSpan.Milliseconds() {
		return rej, "", invalidParam("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	now := s.now()
	nowMS := now.UnixMilli()
	tooOld, tooNew := now.Add(-MaxAge).UnixMilli(), now.Add(MaxFuture).UnixMilli()
	var seq int64
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		g, err := tx.LogGroup(ctx, id)
		if err != nil {
			return errGroupMissing
		}
		if _, err := tx.LogStream(ctx, id, stream); err != nil {
			return err
		}
		expired := int64(-1)
		if g.RetentionDays > 0 {
			expired = s.expiry(g.RetentionDays)
		}
		rej = Rejected{TooOldEnd: -1, ExpiredEnd: -1, TooNewStart: -1}
		var keep []lambdahost.LogEvent
		for i, e := range events {
			switch {
			case e.Time < tooOld:
				rej.TooOldEnd = i + 1
			case e.Time < expired:
				rej.ExpiredEnd = i + 1
			case e.Time > tooNew:
				if rej.TooNewStart < 0 {
					rej.TooNewStart = i
				}
			default:
				keep = append(keep, lambdahost.LogEvent{Time: e.Time, Ingested: nowMS, Message: e.Message})
			}
		}
		if len(keep) == 0 {
			return nil
		}
		if err := tx.AppendLogEvents(ctx, id, stream, keep); err != nil {
			return err
		}
		seq = keep[len(keep)-1].Seq
		return s.bound(ctx, tx, c.Account)
	})
	switch {
	case errors.Is(err, errGroupMissing):
		return rej, "", groupNotFound()
	case errors.Is(err, lambdahost.ErrNotFound):
		return rej, "", streamNotFound()
	case err != nil:
		return rej, "", lambdahost.Internal("put log events", err)
	}
	return rej, fmt.Sprintf("%056d", seq), nil
}

var errGroupMissing = errors.New("log group missing")

// maxTrim bounds the bytes one transaction trims, so that a large account
// reaching its bound does not hold the store's write lock for long: the
// next writes trim the rest.
const maxTrim = 16 << 20

// bound trims account's oldest events, towards nine tenths of
// AccountLimit, if it is over it.
func (s *Service) bound(ctx context.Context, tx lambdahost.LogTx, account string) error {
	usage, err := tx.LogUsage(ctx, account)
	if err != nil || usage <= s.accountLimit() {
		return err
	}
	n, err := tx.TrimLogs(ctx, account, max(s.accountLimit()/10*9, usage-maxTrim))
	if err != nil {
		return err
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "log storage bound reached: deleted the oldest log events",
		slog.String("account", account), slog.Int64("events", n), slog.Int64("limit_bytes", s.accountLimit()))
	return nil
}

// eventID is an event's eventId: 56 digits, as CloudWatch Logs' are,
// from its position, so that it is stable and unique.
func eventID(e lambdahost.LogEvent) string {
	return fmt.Sprintf("%020d%036d", e.Time, e.Seq)
}

// positionToken is a GetLogEvents token: "f/" or "b/", 56 digits of a
// position, "/s".
func positionToken(dir byte, p lambdahost.LogPosition) string {
	return fmt.Sprintf("%c/%020d%036d/s", dir, p.Time, p.Seq)
}

var rePositionToken = regexp.MustCompile(`^([fb])/(\d{20})(\d{36})/s$`)

func parsePositionToken(t string) (byte, lambdahost.LogPosition, error) {
	m := rePositionToken.FindStringSubmatch(t)
	if m == nil {
		return 0, lambdahost.LogPosition{}, invalidToken()
	}
	tm, err1 := strconv.ParseInt(m[2], 10, 64)
	seq, err2 := strconv.ParseInt(m[3], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, lambdahost.LogPosition{}, invalidToken()
	}
	return m[1][0], lambdahost.LogPosition{Time: tm, Seq: seq}, nil
}

// endPosition is after every event.
var endPosition = lambdahost.LogPosition{Time: 1<<63 - 1, Seq: 1<<63 - 1}

func position(e lambdahost.LogEvent) lambdahost.LogPosition {
	return lambdahost.LogPosition{Time: e.Time, Seq: e.Seq}
}

// GetQuery selects events of one stream for GetLogEvents.
type GetQuery struct {
	Group  GroupRef
	Stream string
	// Start and End (exclusive) bound the events' timestamps; 0 is none.
	Start, End int64
	// Limit is 1 to 10,000; 0 means 10,000.
	Limit         int
	Token         string
	StartFromHead bool
}

// GetLogEvents answers a page of a stream's events, oldest first, and the
// tokens of the pages after and before it. Without a token it answers the
// newest events, or the oldest with StartFromHead. A page past either end
// is empty and answers the token it was given, so that a client paging
// forward stops when the token repeats, and a client following the
// stream keeps asking with it.
func (s *Service) GetLogEvents(ctx context.Context, q GetQuery) (events []lambdahost.LogEvent, forward, backward string, err error) {
	c, err := caller(ctx, "get log events")
	if err != nil {
		return nil, "", "", err
	}
	id, err := q.Group.resolve(c)
	if err != nil {
		return nil, "", "", err
	}
	v := validation()
	checkStreamName(v, "logStreamName", q.Stream)
	if err := v.Err(); err != nil {
		return nil, "", "", err
	}
	if q.Limit == 0 {
		q.Limit = maxResponseEvents
	}
	dir, pos := byte('f'), lambdahost.LogPosition{}
	if !q.StartFromHead {
		dir, pos = 'b', endPosition
	}
	if q.Token != "" {
		if dir, pos, err = parsePositionToken(q.Token); err != nil {
			return nil, "", "", err
		}
	}
	eq := lambdahost.LogEventQuery{Group: id, Streams: []string{q.Stream}, Start: q.Start, End: q.End, Limit: q.Limit}
	if dir == 'f' {
		eq.After = pos
	} else {
		eq.Before, eq.Descending = pos, true
	}
	var missingGroup bool
	err = s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		if _, err := tx.LogStream(ctx, id, q.Stream); err != nil {
			_, gerr := tx.LogGroup(ctx, id)
			missingGroup = errors.Is(gerr, lambdahost.ErrNotFound)
			return err
		}
		events, err = tx.LogEvents(ctx, eq)
		return err
	})
	switch {
	case errors.Is(err, lambdahost.ErrNotFound) && missingGroup:
		return nil, "", "", groupNotFound()
	case errors.Is(err, lambdahost.ErrNotFound):
		return nil, "", "", streamNotFound()
	case err != nil:
		return nil, "", "", lambdahost.Internal("get log events", err)
	}
	events = fitResponse(events)
	if dir == 'b' {
		slices.Reverse(events)
	}
	if len(events) == 0 {
		if q.Token == "" {
			// An empty stream: forward from its start, backward from its end.
			return events, positionToken('f', lambdahost.LogPosition{}), positionToken('b', endPosition), nil
		}
		return events, positionToken('f', pos), positionToken('b', pos), nil
	}
	return events, positionToken('f', position(events[len(events)-1])), positionToken('b', position(events[0])), nil
}

// fitResponse keeps the leading events that fit in one response.
func fitResponse(events []lambdahost.LogEvent) []lambdahost.LogEvent {
	var size int64
	for i, e := range events {
		size += lambdahost.LogEventSize(e.Message)
		if size > maxResponse || i == maxResponseEvents {
			return events[:i]
		}
	}
	return events
}

// FilterQuery selects events of a group for FilterLogEvents.
type FilterQuery struct {
	Group GroupRef
	// Streams and StreamPrefix are exclusive.
	Streams      []string
	StreamPrefix string
	Start, End   int64
	Pattern      string
	Limit        int
	Token        string
}

// FilterLogEvents answers the events of a group that match a filter
// pattern, ordered by time across its streams, up to Limit (1 to 10,000,
// default 10,000) or 1 MB, and a token if more may follow. A call reads
// at most filterScanBudget events: a search through more answers in
// several pages, some of them empty, as CloudWatch Logs does.
func (s *Service) FilterLogEvents(ctx context.Context, q FilterQuery) ([]lambdahost.LogEvent, string, error) {
	c, err := caller(ctx, "filter log events")
	if err != nil {
		return nil, "", err
	}
	id, err := q.Group.resolve(c)
	if err != nil {
		return nil, "", err
	}
	if len(q.Streams) > 0 && q.StreamPrefix != "" {
		return nil, "", invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	p, err := parsePattern(q.Pattern)
	if err != nil {
		return nil, "", err
	}
	if q.Limit == 0 {
		q.Limit = maxResponseEvents
	}
	var pos lambdahost.LogPosition
	if q.Token != "" {
		t, err := decodeToken("e", q.Token)
		if err != nil {
			return nil, "", err
		}
		a, b, ok := strings.Cut(t, "/")
		tm, err1 := strconv.ParseInt(a, 10, 64)
		seq, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, "", invalidToken()
		}
		pos = lambdahost.LogPosition{Time: tm, Seq: seq}
	}
	const chunk = 2000
	var (
		out     []lambdahost.LogEvent
		size    int64
		scanned int
		more    bool
	)
	err = s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		for {
			evs, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: id, Streams: q.Streams, StreamPrefix: q.StreamPrefix,
				Start: q.Start, End: q.End, After: pos, Limit: chunk})
			if err != nil {
				return err
			}
			for _, e := range evs {
				scanned++
				if p.match(e.Message) {
					size += lambdahost.LogEventSize(e.Message)
					if size > maxResponse {
						more = true
						return nil
					}
					out = append(out, e)
				}
				pos = position(e)
				if len(out) == q.Limit {
					more = true
					return nil
				}
			}
			if len(evs) < chunk {
				return nil
			}
			if scanned >= filterScanBudget {
				more = true
				return nil
			}
		}
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, "", groupNotFound()
	}
	if err != nil {
		return nil, "", lambdahost.Internal("filter log events", err)
	}
	next := ""
	if more {
		next = encodeToken("e", strconv.FormatInt(pos.Time, 10)+"/"+strconv.FormatInt(pos.Seq, 10))
	}
	if out == nil {
		out = []lambdahost.LogEvent{}
	}
	return out, next, nil
}

// TagLogGroup adds tags to a group (TagResource, TagLogGroup).
func (s *Service) TagLogGroup(ctx context.Context, group GroupRef, tags map[string]string) error {
	if err := checkTags("tags", tags); err != nil {
		return err
	}
	return s.updateTags(ctx, group, func(t map[string]string) error {
		for k, v := range tags {
			t[k] = v
		}
		if len(t) > 50 {
			return lambdahost.Errorf(lambdahost.InvalidParameterException, "A log group can have at most 50 tags.")
		}
		return nil
	})
}

// UntagLogGroup removes tags of a group (UntagResource, UntagLogGroup).
func (s *Service) UntagLogGroup(ctx context.Context, group GroupRef, keys []string) error {
	return s.updateTags(ctx, group, func(t map[string]string) error {
		for _, k := range keys {
			delete(t, k)
		}
		return nil
	})
}

func (s *Service) updateTags(ctx context.Context, group GroupRef, change func(map[string]string) error) error {
	c, err := caller(ctx, "tag log group")
	if err != nil {
		return err
	}
	id, err := group.resolve(c)
	if err != nil {
		return err
	}
	err = s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		g, err := tx.LogGroup(ctx, id)
		if err != nil {
			return err
		}
		tags := map[string]string{}
		for k, v := range g.Tags {
			tags[k] = v
		}
		if err := change(tags); err != nil {
			return err
		}
		g.Tags = tags
		if len(tags) == 0 {
			g.Tags = nil
		}
		return tx.PutLogGroup(ctx, g)
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return groupNotFound()
	}
	return lambdahost.Internal("tag log group", err)
}

// LogGroupTags answers a group's tags (ListTagsForResource, ListTagsLogGroup).
func (s *Service) LogGroupTags(ctx context.Context, group GroupRef) (map[string]string, error) {
	c, err := caller(ctx, "list tags")
	if err != nil {
		return nil, err
	}
	id, err := group.resolve(c)
	if err != nil {
		return nil, err
	}
	var g *lambdahost.LogGroup
	err = s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) (err error) {
		g, err = tx.LogGroup(ctx, id)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, groupNotFound()
	}
	if err != nil {
		return nil, lambdahost.Internal("list tags", err)
	}
	if g.Tags == nil {
		return map[string]string{}, nil
	}
	return g.Tags, nil
}

// ResourceGroup returns the log group a resourceArn names (TagResource,
// UntagResource, ListTagsForResource): only log groups have tags here.
func ResourceGroup(arn string) (GroupRef, error) {
	if !strings.HasPrefix(arn, "arn:") {
		return GroupRef{}, invalidParam("Invalid ARN %s", arn)
	}
	if m := reGroupARN.FindStringSubmatch(arn); m == nil || m[4] != "" {
		return GroupRef{}, invalidParam("Invalid resource ARN %s: lambdahost tags log groups (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)", arn)
	}
	return GroupRef{Identifier: arn}, nil
}
