package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// Resource-based policies: AddPermission, RemovePermission, GetPolicy, and
// the evaluation that lets another account (or an anonymous function URL
// caller) use a function. Wire shapes and messages are those recorded from
// AWS (shared/reference/aws-recorded-more.md, section 2).
// (https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html)

// Record kinds of resource-based policies.
const (
	// kindPolicy: "<account>/<region>/<function>/<qualifier>" → a
	// policyRecord. The qualifier is "$LATEST" for the unqualified
	// function, else the version or alias the policy belongs to.
	kindPolicy = "function-policy"
)

// maxPolicySize is the largest policy document AWS keeps, in bytes.
const maxPolicySize = 20480

// policyRecord is the policy of one function, version or alias.
type policyRecord struct {
	RevisionID string `json:"revisionId"`
	// Statements are the statements as AddPermission answered them, in the
	// order they were added.
	Statements []string `json:"statements"`
}

// document is the policy as GetPolicy answers it.
func (p *policyRecord) document() string {
	return `{"Version":"2012-10-17","Id":"default","Statement":[` + strings.Join(p.Statements, ",") + `]}`
}

// accessKey is the record key of what belongs to one qualifier of id:
// its policy and its function URL config.
func accessKey(id lambdahost.FunctionID, qualifier string) string {
	if qualifier == "" {
		qualifier = lambdahost.VersionLatest
	}
	return functionKey(id) + "/" + qualifier
}

// readPolicy returns the policy of qualifier ("" or "$LATEST" for the
// unqualified function) of id, or nil if it has none.
func readPolicy(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, qualifier string) (*policyRecord, error) {
	p, err := getRecord[policyRecord](ctx, tx, kindPolicy, accessKey(id, qualifier))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, nil
	}
	return p, err
}

// forgetAccess deletes the policies and function URL configs kept for id:
// all of them when qualifier is "" (the function is deleted), else those
// of one version or alias (it is deleted).
func forgetAccess(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, qualifier string) error {
	for _, kind := range []string{kindPolicy, kindURL} {
		if qualifier != "" {
			if err := forgetKey(ctx, tx, kind, accessKey(id, qualifier)); err != nil {
				return err
			}
			continue
		}
		// Deleting as it goes, so that each page starts at the beginning.
		for {
			recs, err := tx.ListRecords(ctx, kind, functionKey(id)+"/", "", 100)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if err := forgetKey(ctx, tx, kind, r.Key); err != nil {
					return err
				}
			}
			if len(recs) < 100 {
				break
			}
		}
	}
	return nil
}

// forgetKey deletes record (kind, key), and for a URL config the index
// entry of its URL ID.
func forgetKey(ctx context.Context, tx lambdahost.Tx, kind, key string) error {
	if kind == kindURL {
		u, err := getRecord[urlRecord](ctx, tx, kindURL, key)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteRecord(ctx, kindURLID, u.ID); err != nil {
			return err
		}
	}
	return tx.DeleteRecord(ctx, kind, key)
}

// AddPermissionInput is an AddPermission request. Optional members are nil
// when not given; the required ones are nil when missing, which the model
// refuses.
type AddPermissionInput struct {
	FunctionName string
	// Qualifier is the Qualifier query parameter, "" when absent.
	Qualifier             string
	StatementID           *string
	Action                *string
	Principal             *string
	SourceArn             *string
	SourceAccount         *string
	EventSourceToken      *string
	PrincipalOrgID        *string
	FunctionURLAuthType   *string
	InvokedViaFunctionURL *bool
	RevisionID            *string
}

// Model patterns of AddPermission's members.
var (
	reStatementID           = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
	reNamespacedStatementID = regexp.MustCompile(`^[a-zA-Z0-9-_.]+$`)
	reAction                = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	rePrincipal             = regexp.MustCompile(`^[^\s]+$`)
	reSourceArn             = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)
	reSourceAccount         = regexp.MustCompile(`^\d{12}$`)
	rePrincipalOrgID        = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	reEventSourceToken      = regexp.MustCompile(`^[a-zA-Z0-9._\-]+$`)

	// Principals AddPermission accepts besides "*": an account, an IAM
	// or STS ARN, or a service (s3.amazonaws.com, alexa-appkit.amazon.com).
	reAccountPrincipal = regexp.MustCompile(`^\d{12}$`)
	reARNPrincipal     = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:(iam|sts)::\d{12}:[^\s]+$`)
	reServicePrincipal = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com(\.cn)?|amazon\.com)$`)
)

// Enum values, in the order AWS's messages list them.
const (
	urlAuthNone   = "NONE"
	urlAuthIAM    = "AWS_IAM"
	urlAuthValues = "[NONE, AWS_IAM]"
)

// checkString adds the failures of an optional string member to v.
func checkString(v *lambdahost.Validation, member string, s *string, minLen, maxLen int, re *regexp.Regexp, pattern string) {
	if s == nil {
		return
	}
	if len(*s) < minLen {
		v.Add(member, lambdahost.Quote(*s), fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
	if maxLen > 0 && len(*s) > maxLen {
		v.Add(member, lambdahost.Quote(*s), fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
	if re != nil && *s != "" && !re.MatchString(*s) {
		v.Add(member, lambdahost.Quote(*s), "Member must satisfy regular expression pattern: "+pattern)
	}
}

// required adds the model's "must not be null" for a missing member.
func required(v *lambdahost.Validation, member string, s *string) {
	if s == nil {
		v.Add(member, "null", "Member must not be null")
	}
}

func validatePermission(in *AddPermissionInput) error {
	var v lambdahost.Validation
	required(&v, "statementId", in.StatementID)
	checkString(&v, "statementId", in.StatementID, 1, 100, reStatementID, `([a-zA-Z0-9-_]+)`)
	required(&v, "action", in.Action)
	checkString(&v, "action", in.Action, 0, 0, reAction, `(lambda:[*]|lambda:[a-zA-Z]+|[*])`)
	required(&v, "principal", in.Principal)
	checkString(&v, "principal", in.Principal, 0, 0, rePrincipal, `[^\s]+`)
	checkString(&v, "sourceArn", in.SourceArn, 0, 0, reSourceArn, `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
	checkString(&v, "sourceAccount", in.SourceAccount, 0, 12, reSourceAccount, `\d{12}`)
	checkString(&v, "eventSourceToken", in.EventSourceToken, 0, 256, reEventSourceToken, `[a-zA-Z0-9._\-]+`)
	checkString(&v, "principalOrgID", in.PrincipalOrgID, 12, 34, rePrincipalOrgID, `o-[a-z0-9]{10,32}`)
	if a := in.FunctionURLAuthType; a != nil && *a != urlAuthNone && *a != urlAuthIAM {
		v.Add("functionUrlAuthType", lambdahost.Quote(*a), "Member must satisfy enum value set: "+urlAuthValues)
	}
	return v.Err()
}

// statementPrincipal maps AddPermission's Principal to the statement's, as
// AWS writes it: "*" bare, an account as its root ARN, an IAM ARN as it is,
// a service under "Service". Anything else is refused.
func statementPrincipal(p string) (any, error) {
	switch {
	case p == "*":
		return "*", nil
	case reAccountPrincipal.MatchString(p):
		return jsonObject{{"AWS", "arn:aws:iam::" + p + ":root"}}, nil
	case reARNPrincipal.MatchString(p):
		return jsonObject{{"AWS", p}}, nil
	case reServicePrincipal.MatchString(p):
		return jsonObject{{"Service", p}}, nil
	}
	return nil, invalidf("The provided principal was invalid. Please check the principal and try again.")
}

// buildStatement writes in's statement on resource in AWS's key order:
// Sid, Effect, Principal, Action, Resource, Condition; within Condition
// StringEquals (SourceAccount, FunctionUrlAuthType, PrincipalOrgID,
// EventSourceToken), ArnLike (SourceArn), Bool (InvokedViaFunctionUrl).
func buildStatement(in *AddPermissionInput, principal any, resource string) string {
	var equals, cond jsonObject
	if in.SourceAccount != nil {
		equals = append(equals, jsonMember{"AWS:SourceAccount", *in.SourceAccount})
	}
	if in.FunctionURLAuthType != nil {
		equals = append(equals, jsonMember{"lambda:FunctionUrlAuthType", *in.FunctionURLAuthType})
	}
	if in.PrincipalOrgID != nil {
		equals = append(equals, jsonMember{"aws:PrincipalOrgID", *in.PrincipalOrgID})
	}
	if in.EventSourceToken != nil {
		equals = append(equals, jsonMember{"lambda:EventSourceToken", *in.EventSourceToken})
	}
	if equals != nil {
		cond = append(cond, jsonMember{"StringEquals", equals})
	}
	if in.SourceArn != nil {
		cond = append(cond, jsonMember{"ArnLike", jsonObject{{"AWS:SourceArn", *in.SourceArn}}})
	}
	if in.InvokedViaFunctionURL != nil && *in.InvokedViaFunctionURL {
		cond = append(cond, jsonMember{"Bool", jsonObject{{"lambda:InvokedViaFunctionUrl", "true"}}})
	}
	stmt := jsonObject{
		{"Sid", *in.StatementID},
		{"Effect", "Allow"},
		{"Principal", principal},
		{"Action", *in.Action},
		{"Resource", resource},
	}
	if cond != nil {
		stmt = append(stmt, jsonMember{"Condition", cond})
	}
	return string(stmt.encode())
}

// jsonObject is a JSON object whose members keep their order.
type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value any
}

func (o jsonObject) encode() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONValue(&b, m.key)
		b.WriteByte(':')
		if sub, ok := m.value.(jsonObject); ok {
			b.Write(sub.encode())
			continue
		}
		writeJSONValue(&b, m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeJSONValue writes v as JSON without escaping <, > and &, as AWS
// writes policy documents.
func writeJSONValue(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings always encode
	b.Truncate(b.Len() - 1)
}

// policyTarget is what a policy belongs to: $LATEST, a version or an alias.
type policyTarget struct {
	version *lambdahost.Version
	alias   *lambdahost.Alias
}

func (p policyTarget) revision() string {
	if p.alias != nil {
		return p.alias.RevisionID
	}
	return p.version.RevisionID
}

// policyNotFound words the not-found answers of one policy operation.
type policyNotFound struct {
	function func(id lambdahost.FunctionID) error
	alias    func(arn string) error
	version  func(arn string) error
}

// loadPolicyTarget reads the function, version or alias t names.
func loadPolicyTarget(ctx context.Context, tx lambdahost.Tx, t target, nf policyNotFound) (policyTarget, error) {
	if _, err := tx.Function(ctx, t.id); err != nil {
		if errors.Is(err, lambdahost.ErrNotFound) {
			return policyTarget{}, nf.function(t.id)
		}
		return policyTarget{}, err
	}
	q := t.qualifier
	if q == "" {
		q = lambdahost.VersionLatest
	}
	if lambdahost.ValidAliasName(q) {
		a, err := tx.Alias(ctx, t.id, q)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return policyTarget{}, nf.alias(t.id.QualifiedARN(q))
		}
		return policyTarget{alias: a}, err
	}
	if o := lambdahost.VersionOrder(q); o == -3 || (o > 0 && itoa(o) != q) {
		// Not a version a store can hold ("1$", "01").
		return policyTarget{}, nf.version(t.id.QualifiedARN(q))
	}
	v, err := tx.Version(ctx, t.id, q)
	if errors.Is(err, lambdahost.ErrNotFound) {
		return policyTarget{}, nf.version(t.id.QualifiedARN(q))
	}
	return policyTarget{version: v}, err
}

// setRevision gives the version or alias of p the RevisionId rev, as AWS
// does on every change of its policy. A version still settling is settled
// again under its new RevisionId (settling skips a version whose RevisionId
// moved on); it is returned for schedule.
func (s *Service) setRevision(ctx context.Context, tx lambdahost.Tx, p policyTarget, rev string) (*lambdahost.Version, error) {
	if p.alias != nil {
		p.alias.RevisionID = rev
		return nil, tx.PutAlias(ctx, p.alias)
	}
	p.version.RevisionID = rev
	if err := tx.PutVersion(ctx, p.version); err != nil {
		return nil, err
	}
	if p.version.Status.Busy() && s.preparesLater(p.version) {
		return p.version, nil
	}
	return nil, nil
}

func notFoundMessage(string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
}

func aliasNotFound(arn string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Cannot find alias arn: %s", arn)
}

func versionNotFound(arn string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Function not found: %s", arn)
}

func policyRevisionMismatch() error {
	return lambdahost.Errorf(lambdahost.PreconditionFailedException,
		"The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
}

// AddPermission adds a statement to the resource-based policy of a
// function, version or alias, and answers the statement as AWS writes it.
// The policy and the version or alias get a new RevisionId, the same one.
//
// It answers ValidationException for a member that fails the model,
// InvalidParameterValueException for $LATEST as qualifier, a qualifier
// that contradicts the name's, or a principal AWS does not accept,
// ResourceNotFoundException for a function, version or alias that does
// not exist, PreconditionFailedException for a RevisionId other than the
// policy's (or, without a policy, the version's or alias's),
// ResourceConflictException for a StatementId the policy has, and
// PolicyLengthExceededException past 20480 bytes.
// (https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html)
func (s *Service) AddPermission(ctx context.Context, in *AddPermissionInput) (string, error) {
	s.init()
	if err := validatePermission(in); err != nil {
		return "", err
	}
	t, err := resolve(ctx, in.FunctionName, lambdahost.NameNamespaced, in.Qualifier)
	if err != nil {
		return "", err
	}
	if t.qualifier == lambdahost.VersionLatest {
		return "", invalidf("We currently do not support adding policies for $LATEST.")
	}
	principal, err := statementPrincipal(*in.Principal)
	if err != nil {
		return "", err
	}
	stmt := buildStatement(in, principal, t.id.QualifiedARN(t.qualifier))
	var settle *lambdahost.Version
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		pt, err := loadPolicyTarget(ctx, tx, t, policyNotFound{
			function: func(id lambdahost.FunctionID) error { return notFound(id, "") },
			alias:    aliasNotFound,
			version:  versionNotFound,
		})
		if err != nil {
			return err
		}
		p, err := readPolicy(ctx, tx, t.id, t.qualifier)
		if err != nil {
			return err
		}
		if in.RevisionID != nil {
			want := pt.revision()
			if p != nil {
				want = p.RevisionID
			}
			if *in.RevisionID != want {
				return policyRevisionMismatch()
			}
		}
		if p == nil {
			p = &policyRecord{}
		}
		for _, st := range p.Statements {
			if statementSid(st) == *in.StatementID {
				return lambdahost.Errorf(lambdahost.ResourceConflictException,
					"The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", *in.StatementID)
			}
		}
		p.Statements = append(p.Statements, stmt)
		if n := len(p.document()); n > maxPolicySize {
			return lambdahost.Errorf(lambdahost.PolicyLengthExceededException,
				"The final policy size (%d) is bigger than the limit (%d).", n, maxPolicySize)
		}
		p.RevisionID = s.NewRevisionID()
		if settle, err = s.setRevision(ctx, tx, pt, p.RevisionID); err != nil {
			return err
		}
		return putRecord(ctx, tx, kindPolicy, accessKey(t.id, t.qualifier), p)
	})
	if err != nil {
		return "", internal("add permission", err)
	}
	s.schedule(settle)
	return stmt, nil
}

// statementSid returns the Sid of a stored statement.
func statementSid(stmt string) string {
	var st struct{ Sid string }
	_ = json.Unmarshal([]byte(stmt), &st)
	return st.Sid
}

// RemovePermission removes the statement statementID from the policy of
// a function, version or alias; the policy goes when its last statement
// does. The version or alias gets a new RevisionId.
//
// It answers ResourceNotFoundException for a function, version or alias
// that does not exist, a resource without a policy or a statement the
// policy lacks, and PreconditionFailedException for a RevisionId other
// than the policy's.
// (https://docs.aws.amazon.com/lambda/latest/api/API_RemovePermission.html)
func (s *Service) RemovePermission(ctx context.Context, functionName, statementID, qualifier string, revisionID *string) error {
	s.init()
	var v lambdahost.Validation
	checkString(&v, "statementId", &statementID, 1, 100, reNamespacedStatementID, `([a-zA-Z0-9-_.]+)`)
	if err := v.Err(); err != nil {
		return err
	}
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	var settle *lambdahost.Version
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		pt, err := loadPolicyTarget(ctx, tx, t, policyNotFound{
			function: func(id lambdahost.FunctionID) error {
				return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "No policy found for: %s", id.ARN())
			},
			alias:   aliasNotFound,
			version: versionNotFound,
		})
		if err != nil {
			return err
		}
		p, err := readPolicy(ctx, tx, t.id, t.qualifier)
		if err != nil {
			return err
		}
		if p == nil {
			return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "No policy is associated with the given resource.")
		}
		i := -1
		for j, st := range p.Statements {
			if statementSid(st) == statementID {
				i = j
			}
		}
		if i < 0 {
			return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Statement %s is not found in resource policy.", statementID)
		}
		if revisionID != nil && *revisionID != p.RevisionID {
			return policyRevisionMismatch()
		}
		p.Statements = append(p.Statements[:i], p.Statements[i+1:]...)
		rev := s.NewRevisionID()
		if settle, err = s.setRevision(ctx, tx, pt, rev); err != nil {
			return err
		}
		key := accessKey(t.id, t.qualifier)
		if len(p.Statements) == 0 {
			return tx.DeleteRecord(ctx, kindPolicy, key)
		}
		p.RevisionID = rev
		return putRecord(ctx, tx, kindPolicy, key, p)
	})
	if err != nil {
		return internal("remove permission", err)
	}
	s.schedule(settle)
	return nil
}

// Policy is GetPolicy's answer.
type Policy struct {
	// Document is the policy as a JSON string: Version, Id, Statement.
	Document   string
	RevisionID string
}

// GetPolicy answers the resource-based policy of a function, version or
// alias. It answers ResourceNotFoundException ("The resource you requested
// does not exist.") when the function, the qualifier or the policy does
// not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetPolicy.html)
func (s *Service) GetPolicy(ctx context.Context, functionName, qualifier string) (*Policy, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return nil, err
	}
	var out *Policy
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := loadPolicyTarget(ctx, tx, t, policyNotFound{
			function: func(lambdahost.FunctionID) error { return notFoundMessage("") },
			alias:    notFoundMessage,
			version:  notFoundMessage,
		}); err != nil {
			return err
		}
		p, err := readPolicy(ctx, tx, t.id, t.qualifier)
		if err != nil {
			return err
		}
		if p == nil {
			return notFoundMessage("")
		}
		out = &Policy{Document: p.document(), RevisionID: p.RevisionID}
		return nil
	})
	if err != nil {
		return nil, internal("get policy", err)
	}
	return out, nil
}

// Actions that resource-based policies grant to other accounts here.
const (
	actionInvoke           = "lambda:InvokeFunction"
	actionInvokeURL        = "lambda:InvokeFunctionUrl"
	actionGetFunction      = "lambda:GetFunction"
	actionGetConfiguration = "lambda:GetFunctionConfiguration"
)

// resolveGranted is resolve for operations that a resource-based policy
// can grant to another account: the caller may name another account's
// function (in its own region) by ARN when that function's policy, of the
// qualifier named, allows the caller action. Otherwise it answers as
// resolve does, AccessDeniedException, telling nothing about the function.
func (s *Service) resolveGranted(ctx context.Context, name string, kind lambdahost.NameKind, qualifier, action string) (target, error) {
	t, err := resolveAny(ctx, name, kind, qualifier)
	if err != nil || !t.foreign {
		return t, err
	}
	c, _ := caller(ctx)
	// The policy consulted is that of the qualifier named: with a
	// contradicting Qualifier parameter, the name's.
	q := t.qualifier
	if t.mismatch != nil {
		q = t.named
	}
	var allowed bool
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		p, err := readPolicy(ctx, tx, t.id, q)
		if err != nil || p == nil {
			return err
		}
		allowed = allows(p.Statements, access{
			action:    action,
			resource:  policyResource(t.id, q),
			principal: callerPrincipal(c),
			keys:      map[string]string{"lambda:invokedviafunctionurl": "false"},
		})
		return nil
	})
	if err != nil {
		return target{}, internal("read policy", err)
	}
	if !allowed {
		return target{}, accessDenied(c, t.id.QualifiedARN(t.named))
	}
	if t.mismatch != nil {
		return target{}, t.mismatch
	}
	return t, nil
}

// policyResource is the resource a policy's statements name: the
// unqualified ARN for $LATEST, else the qualified one.
func policyResource(id lambdahost.FunctionID, qualifier string) string {
	if qualifier == lambdahost.VersionLatest {
		qualifier = ""
	}
	return id.QualifiedARN(qualifier)
}

// principal is who asks for access.
type principal struct {
	// Anonymous is an unauthenticated caller (a function URL whose
	// AuthType is NONE): only "*" matches it.
	Anonymous bool
	// Account and ARN identify a signed caller (Caller.PrincipalARN): an
	// operator's access key, arn:aws:iam::<account>:user/<access key>, or
	// an execution environment's role session,
	// arn:aws:sts::<account>:assumed-role/<role>/<function>.
	Account string
	ARN     string
	// Service is a service principal (s3.amazonaws.com), for calls that
	// lambdahost's own event sources would make.
	Service string
}

func callerPrincipal(c lambdahost.Caller) principal {
	return principal{Account: c.Account, ARN: callerARN(c)}
}

// callerARN is the identity a caller acts as.
func callerARN(c lambdahost.Caller) string { return c.PrincipalARN() }

// access is a request that a policy is asked to allow.
type access struct {
	action    string
	resource  string
	principal principal
	// keys are the condition keys present in the request, lower-cased
	// (aws:sourcearn, aws:sourceaccount, lambda:functionurlauthtype,
	// lambda:invokedviafunctionurl), with their values. A key missing
	// here is absent: a condition on it does not hold.
	keys map[string]string
}

// statement is a policy statement as evaluation reads it.
type statement struct {
	Effect    string
	Principal json.RawMessage
	Action    json.RawMessage
	Resource  json.RawMessage
	Condition map[string]map[string]json.RawMessage
}

// allows reports whether one of statements allows a. Statements are
// evaluated as IAM evaluates a resource-based policy: an Allow statement
// applies when its Principal, Action and Resource match and every
// condition holds. AddPermission writes no Deny statements; one would
// override any Allow.
func allows(statements []string, a access) bool {
	allowed := false
	for _, raw := range statements {
		var st statement
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			continue
		}
		if !a.principal.matches(st.Principal) || !anyGlob(stringsOf(st.Action), a.action, true) ||
			!anyGlob(stringsOf(st.Resource), a.resource, false) || !conditionsHold(st.Condition, a.keys) {
			continue
		}
		switch st.Effect {
		case "Allow":
			allowed = true
		case "Deny":
			return false
		}
	}
	return allowed
}

// stringsOf reads a policy value that is a string or a list of strings.
func stringsOf(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil {
		return l
	}
	return nil
}

// matches reports whether p is one of the statement's principals: "*" is
// anyone, anonymous callers included; an account's root ARN (or its ID)
// is any caller of that account; a user ARN is that caller; a service is
// that service.
func (p principal) matches(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for kind, v := range m {
		for _, x := range stringsOf(v) {
			switch kind {
			case "AWS":
				if x == "*" {
					return true
				}
				if p.Account != "" && (x == p.Account || x == "arn:aws:iam::"+p.Account+":root" || x == p.ARN) {
					return true
				}
			case "Service":
				if p.Service != "" && x == p.Service {
					return true
				}
			}
		}
	}
	return false
}

// anyGlob reports whether one of patterns matches s, with IAM's * and ?
// wildcards; actions compare without regard to case.
func anyGlob(patterns []string, s string, fold bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against p, where * matches any run of characters and ?
// any one character.
func glob(p, s string) bool {
	// Iterative matching with backtracking to the last star: linear in
	// practice, and never exponential.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// conditionsHold reports whether every condition of a statement holds for
// the request's keys. Operators lambdahost does not know never hold.
func conditionsHold(cond map[string]map[string]json.RawMessage, keys map[string]string) bool {
	for op, kv := range cond {
		for key, raw := range kv {
			if !conditionHolds(op, key, stringsOf(raw), keys) {
				return false
			}
		}
	}
	return true
}

// conditionHolds evaluates one condition: operator op on key against the
// values want, IAM's way. A key the request lacks makes a positive
// operator false, a negated one true, and ...IfExists true.
func conditionHolds(op, key string, want []string, keys map[string]string) bool {
	got, present := keys[strings.ToLower(key)]
	base, ifExists := strings.CutSuffix(op, "IfExists")
	if base == "Null" {
		for _, w := range want {
			if strings.EqualFold(w, "true") == present {
				return false
			}
		}
		return true
	}
	if !present {
		return ifExists || strings.Contains(base, "Not")
	}
	some := func(match func(w string) bool) bool {
		for _, w := range want {
			if match(w) {
				return true
			}
		}
		return false
	}
	switch base {
	case "StringEquals", "ArnEquals":
		return some(func(w string) bool { return w == got })
	case "StringNotEquals", "ArnNotEquals":
		return !some(func(w string) bool { return w == got })
	case "StringEqualsIgnoreCase":
		return some(func(w string) bool { return strings.EqualFold(w, got) })
	case "StringNotEqualsIgnoreCase":
		return !some(func(w string) bool { return strings.EqualFold(w, got) })
	case "StringLike", "ArnLike":
		return some(func(w string) bool { return glob(w, got) })
	case "StringNotLike", "ArnNotLike":
		return !some(func(w string) bool { return glob(w, got) })
	case "Bool":
		return some(func(w string) bool { return strings.EqualFold(w, got) })
	}
	return false
}
