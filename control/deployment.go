package control

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/lambdahost/lambdahost"
)

// A function's deployment history: every change to its $LATEST
// (CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration and
// the console's rollbacks, which are code updates), with who made it,
// from where, and how it ended. It is kept as records of kind
// "deployment", keyed by the function and the change's number
// (Function.Changes after it), written in the transaction that makes the
// change and updated in the one that settles it, so that the history
// and the function never disagree, on one node or several. The last
// DeploymentHistoryMax changes are kept; deleting the function deletes
// them.

const kindDeployment = "deployment"

// DeploymentHistoryMax is how many changes of each function its
// deployment history keeps: the oldest is dropped when a change passes it.
const DeploymentHistoryMax = 100

// Deployment is one change to a function's $LATEST.
type Deployment struct {
	// Seq numbers the function's changes from 1 (its creation).
	Seq int64
	// Operation is CreateFunction, UpdateFunctionCode or
	// UpdateFunctionConfiguration.
	Operation string
	// Began is when the operation began; Time when it committed (the
	// version's LastModified).
	Began, Time time.Time
	// CodeSHA256 and CodeSize are the code $LATEST has after the change.
	CodeSHA256 string
	CodeSize   int64
	// RevisionID is the RevisionId the operation answered.
	RevisionID string
	// PublishedVersion is the version the operation published, if any.
	PublishedVersion string
	// RolledBackTo is the version whose code a rollback restored.
	RolledBackTo string
	// Changed names the configuration fields an
	// UpdateFunctionConfiguration set.
	Changed []string
	// Who made the change: the access key, its account and the identity
	// lambdahost gives it (arn:aws:iam::ACCOUNT:user/KEY).
	AccessKey, Account, Principal string
	// From where: the client's address and User-Agent.
	SourceIP, UserAgent string
	// Status is the update's LastUpdateStatus: InProgress until it
	// settles, then Successful or Failed with the reason.
	Status, StatusReason, StatusReasonCode string
	// Settled is when it reached its final status; zero before.
	Settled time.Time
	// Timing is what deploying the code took, by phase, for code changes.
	Timing *lambdahost.DeployTiming `json:",omitempty"`
}

// deploymentKey is the key of change seq of id; zero-padded so that keys
// sort in the order of the changes.
func deploymentKey(id lambdahost.FunctionID, seq int64) string {
	return fmt.Sprintf("%s/%016d", functionKey(id), seq)
}

// deploymentOf starts the history entry of a change to latest, change
// number seq of its function, made by the caller of ctx.
func deploymentOf(ctx context.Context, op string, began time.Time, seq int64, latest *lambdahost.Version) *Deployment {
	c, _ := lambdahost.CallerFrom(ctx)
	cl := lambdahost.ClientFrom(ctx)
	d := &Deployment{
		Seq: seq, Operation: op, Began: began, Time: latest.LastModified,
		CodeSHA256: latest.Code.SHA256(), CodeSize: latest.Code.Size, RevisionID: latest.RevisionID,
		AccessKey: c.AccessKey, Account: c.Account, SourceIP: cl.SourceIP, UserAgent: cl.UserAgent,
		Status: latest.Status.LastUpdateStatus,
	}
	if c.AccessKey != "" {
		d.Principal = c.PrincipalARN()
	}
	if d.Status == "" {
		d.Status = lambdahost.UpdateInProgress
	}
	return d
}

// recordDeployment writes d within the transaction that made the change,
// and drops the change that falls out of the history. If the change has
// settled already in that transaction (nothing was left to prepare), d
// records its final status, and recordDeployment reports that it did.
func (s *Service) recordDeployment(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, d *Deployment) (settled bool, err error) {
	cur, err := tx.Version(ctx, id, lambdahost.VersionLatest)
	if err != nil {
		return false, err
	}
	if !cur.Status.Busy() {
		settleDeployment(d, cur, s.Now())
		settled = true
	}
	if err := putRecord(ctx, tx, kindDeployment, deploymentKey(id, d.Seq), d); err != nil {
		return false, err
	}
	if old := d.Seq - DeploymentHistoryMax; old > 0 {
		if err := tx.DeleteRecord(ctx, kindDeployment, deploymentKey(id, old)); err != nil {
			return false, err
		}
	}
	return settled, nil
}

// settleDeployment records v's final status in d.
func settleDeployment(d *Deployment, v *lambdahost.Version, now time.Time) {
	d.Status = v.Status.LastUpdateStatus
	d.StatusReason, d.StatusReasonCode = v.Status.LastUpdateStatusReason, v.Status.LastUpdateStatusReasonCode
	if d.Status == "" {
		// A creation that failed reports its State.
		d.Status = v.Status.State
	}
	d.Settled = now
}

// settledDeployment records, within the transaction that settles $LATEST
// of id as v, the final status of the change that v is: the function's
// latest, since a later change would have superseded it. It returns the
// entry, or nil if the history has none in progress.
func (s *Service) settledDeployment(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, v *lambdahost.Version) (*Deployment, error) {
	fn, err := tx.Function(ctx, id)
	if err != nil {
		return nil, err
	}
	key := deploymentKey(id, fn.Changes)
	d, err := getRecord[Deployment](ctx, tx, kindDeployment, key)
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Status != lambdahost.UpdateInProgress {
		return nil, nil
	}
	settleDeployment(d, v, s.Now())
	return d, putRecord(ctx, tx, kindDeployment, key, d)
}

// forgetDeployments deletes function id's history.
func forgetDeployments(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) error {
	for {
		recs, err := tx.ListRecords(ctx, kindDeployment, functionKey(id)+"/", "", 100)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := tx.DeleteRecord(ctx, kindDeployment, r.Key); err != nil {
				return err
			}
		}
		if len(recs) < 100 {
			return nil
		}
	}
}

// ListDeployments answers the deployment history of a function of the
// caller's account, newest first, up to limit entries (DeploymentHistoryMax
// if limit is zero or less). It answers ResourceNotFoundException if the
// function does not exist.
func (s *Service) ListDeployments(ctx context.Context, name string, limit int) ([]*Deployment, error) {
	s.init()
	t, err := resolveFunction(ctx, name, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > DeploymentHistoryMax {
		limit = DeploymentHistoryMax
	}
	var out []*Deployment
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		fn, err := tx.Function(ctx, t.id)
		if err != nil {
			return err
		}
		// The history is the last DeploymentHistoryMax changes: start
		// there rather than read every key of the function.
		first := max(fn.Changes-int64(limit)+1, 1)
		after := ""
		if first > 1 {
			after = deploymentKey(t.id, first-1)
		}
		recs, err := tx.ListRecords(ctx, kindDeployment, functionKey(t.id)+"/", after, limit)
		if err != nil {
			return err
		}
		out = make([]*Deployment, 0, len(recs))
		for i := len(recs) - 1; i >= 0; i-- {
			d, err := decodeRecord[Deployment](recs[i])
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "list deployments")
	}
	return out, nil
}

// meterSettled reports a history entry that reached its final status to
// the Meter.
func (s *Service) meterSettled(d *Deployment) {
	if d == nil || d.Settled.IsZero() {
		return
	}
	s.meter().UpdateSettled(d.Operation, d.Status, max(d.Settled.Sub(d.Began), 0))
}

func (s *Service) meter() lambdahost.Meter { return lambdahost.MeterOr(s.Meter) }

// timingSoFar returns the phases of st's deployment measured before its
// metadata transaction, for the history, which that transaction writes.
func (st *staged) timingSoFar() *lambdahost.DeployTiming {
	t := st.finishTiming(0)
	t.Receive, t.Received = 0, 0
	return &t
}

// deployed completes the measurement of a deployment of st to function id
// by op that committed: the phases go to the Meter and to the caller's
// DeployTiming (lambdahost.WithDeployTiming), and a signature check that
// failed under a Warn policy is counted.
func (s *Service) deployed(ctx context.Context, op string, id lambdahost.FunctionID, st *staged, committing time.Time) {
	commit := time.Since(committing)
	var received time.Duration
	out := lambdahost.DeployTimingFrom(ctx)
	if out != nil {
		received = out.Received
	}
	t := st.finishTiming(received)
	t.Commit = commit
	if out != nil {
		*out = t
	}
	s.meter().CodeDeployed(op, &t)
	s.countSignatureWarning(ctx, id, st)
}

// fields names the configuration fields in sets, as the API names them.
func (in *ConfigInput) fields() []string {
	var out []string
	v := reflect.ValueOf(in).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			out = append(out, wireName(v.Type().Field(i).Name))
		}
	}
	return out
}

// wireName is the API's name of a ConfigInput field.
func wireName(field string) string {
	switch field {
	case "KMSKeyARN":
		return "KMSKeyArn"
	case "Logging":
		return "LoggingConfig"
	case "DeadLetterTarget":
		return "DeadLetterConfig"
	case "TracingMode":
		return "TracingConfig"
	case "SnapStartApplyOn":
		return "SnapStart"
	}
	return field
}
