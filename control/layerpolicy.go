package control

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"

	"github.com/lambdahost/lambdahost"
)

// A layer version's resource-based policy lets other accounts get it
// (lambda:GetLayerVersion, the only action a layer policy grants): to read
// it with GetLayerVersion and to attach it to their functions.
// lambdahost knows no AWS Organizations, so a statement limited to an
// organization (OrganizationId) lets no other account in.

// layerPolicy is a layer version's policy as stored.
type layerPolicy struct {
	RevisionID string           `json:"revisionId"`
	Statements []layerStatement `json:"statements"`
}

// layerStatement is one statement: Principal is "*" or an account ID.
type layerStatement struct {
	Sid            string `json:"sid"`
	Principal      string `json:"principal"`
	Action         string `json:"action"`
	Resource       string `json:"resource"`
	OrganizationID string `json:"organizationId,omitzero"`
}

// allows reports whether the policy lets account get the layer version.
func (p *layerPolicy) allows(account string) bool {
	for _, st := range p.Statements {
		if st.OrganizationID != "" {
			continue
		}
		if st.Principal == "*" || st.Principal == account {
			return true
		}
	}
	return false
}

// The policy document, as AWS writes it: members in this order.
type policyDocument struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string           `json:"Sid"`
	Effect    string           `json:"Effect"`
	Principal any              `json:"Principal"`
	Action    string           `json:"Action"`
	Resource  string           `json:"Resource"`
	Condition *policyCondition `json:"Condition,omitempty"`
}

type policyCondition struct {
	StringEquals map[string]string `json:"StringEquals"`
}

// document returns st as AWS writes it: a principal account as its root
// user's ARN, an organization as an aws:PrincipalOrgID condition.
func (st layerStatement) document() policyStatement {
	out := policyStatement{Sid: st.Sid, Effect: "Allow", Principal: "*", Action: st.Action, Resource: st.Resource}
	if st.Principal != "*" {
		out.Principal = map[string]string{"AWS": "arn:aws:iam::" + st.Principal + ":root"}
	}
	if st.OrganizationID != "" {
		out.Condition = &policyCondition{StringEquals: map[string]string{"aws:PrincipalOrgID": st.OrganizationID}}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings always marshal
	}
	return string(b)
}

// document returns the policy as the JSON string GetLayerVersionPolicy
// answers.
func (p *layerPolicy) document() string {
	doc := policyDocument{Version: "2012-10-17", ID: "default", Statement: []policyStatement{}}
	for _, st := range p.Statements {
		doc.Statement = append(doc.Statement, st.document())
	}
	return mustJSON(doc)
}

// LayerVersionPermissionInput is an AddLayerVersionPermission request.
type LayerVersionPermissionInput struct {
	LayerName      string
	Version        int64
	StatementID    string
	Action         string
	Principal      string
	OrganizationID *string
	RevisionID     *string
}

// LayerPolicyStatement is AddLayerVersionPermission's answer: the added
// statement (a JSON string) and the policy's new RevisionId.
type LayerPolicyStatement struct {
	Statement  string
	RevisionID string
}

// LayerPolicy is GetLayerVersionPolicy's answer.
type LayerPolicy struct {
	Policy     string
	RevisionID string
}

const (
	patternStatementID    = `([a-zA-Z0-9-_]+)`
	patternLayerPrincipal = `\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root`
	patternOrganizationID = `o-[a-z0-9]{10,32}`
)

// reStatementID (policy.go) is patternStatementID too.
var (
	reLayerPrincipal = regexp.MustCompile(`^(?:` + patternLayerPrincipal + `)$`)
	reOrganizationID = regexp.MustCompile(`^` + patternOrganizationID + `$`)
	reRootPrincipal  = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::(\d{12}):root$`)
)

func validateStatementID(v *lambdahost.Validation, sid string) {
	if len(sid) < 1 {
		v.Add("statementId", lambdahost.Quote(sid), "Member must have length greater than or equal to 1")
	}
	if len(sid) > 100 {
		v.Add("statementId", lambdahost.Quote(sid), "Member must have length less than or equal to 100")
	}
	if sid != "" && !reStatementID.MatchString(sid) {
		v.Add("statementId", lambdahost.Quote(sid), "Member must satisfy regular expression pattern: "+patternStatementID)
	}
}

func validateLayerPermission(in *LayerVersionPermissionInput) error {
	var v lambdahost.Validation
	validateStatementID(&v, in.StatementID)
	if in.Action != actionGetLayerVersion {
		v.Add("action", lambdahost.Quote(in.Action), "Member must satisfy regular expression pattern: "+actionGetLayerVersion)
	}
	if !reLayerPrincipal.MatchString(in.Principal) {
		v.Add("principal", lambdahost.Quote(in.Principal), "Member must satisfy regular expression pattern: "+patternLayerPrincipal)
	}
	if o := in.OrganizationID; o != nil {
		if len(*o) > 34 {
			v.Add("organizationId", lambdahost.Quote(*o), "Member must have length less than or equal to 34")
		}
		if !reOrganizationID.MatchString(*o) {
			v.Add("organizationId", lambdahost.Quote(*o), "Member must satisfy regular expression pattern: "+patternOrganizationID)
		}
	}
	return v.Err()
}

func layerRevisionMismatch() error {
	return lambdahost.Errorf(lambdahost.PreconditionFailedException,
		"The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id")
}

func errNoLayerPolicy() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "No policy is associated with the given resource.")
}

// ownLayerVersion resolves the layer version of a policy operation, which
// only the layer's owner may call, and reads it within tx.
func ownLayerVersion(ctx context.Context, tx lambdahost.Tx, c lambdahost.Caller, id lambdahost.LayerID, version int64, action string) error {
	if id.Account != c.Account {
		return layerAccessDenied(c, action, id.VersionARN(version))
	}
	_, err := getRecord[layerVersionRecord](ctx, tx, kindLayerVersion, layerVersionKey(id, version))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return errLayerVersionNotFound(id.VersionARN(version))
	}
	return err
}

// layerPolicyTarget resolves the LayerName and version of a policy
// operation.
func layerPolicyTarget(ctx context.Context, layerName string, version int64) (lambdahost.Caller, lambdahost.LayerID, error) {
	c, id, _, err := layerTarget(ctx, layerName)
	if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
		return c, id, errLayerVersionNotFound(id.VersionARN(version))
	}
	if err != nil {
		return c, id, err
	}
	return c, id, checkVersionNumber(version)
}

// AddLayerVersionPermission adds a statement to a layer version's policy,
// letting an account (Principal an account ID or its root ARN) or every
// account ("*") get the layer version.
// (https://docs.aws.amazon.com/lambda/latest/api/API_AddLayerVersionPermission.html)
func (s *Service) AddLayerVersionPermission(ctx context.Context, in *LayerVersionPermissionInput) (*LayerPolicyStatement, error) {
	s.init()
	c, id, err := layerPolicyTarget(ctx, in.LayerName, in.Version)
	if err != nil {
		return nil, err
	}
	if err := validateLayerPermission(in); err != nil {
		return nil, err
	}
	principal := in.Principal
	if m := reRootPrincipal.FindStringSubmatch(principal); m != nil {
		principal = m[1]
	}
	st := layerStatement{Sid: in.StatementID, Principal: principal, Action: in.Action, Resource: id.VersionARN(in.Version)}
	if in.OrganizationID != nil {
		st.OrganizationID = *in.OrganizationID
	}
	var out LayerPolicyStatement
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := ownLayerVersion(ctx, tx, c, id, in.Version, "lambda:AddLayerVersionPermission"); err != nil {
			return err
		}
		key := layerVersionKey(id, in.Version)
		p, err := getRecord[layerPolicy](ctx, tx, kindLayerPolicy, key)
		if errors.Is(err, lambdahost.ErrNotFound) {
			p, err = &layerPolicy{}, nil
		}
		if err != nil {
			return err
		}
		if in.RevisionID != nil && *in.RevisionID != p.RevisionID {
			return layerRevisionMismatch()
		}
		if slices.ContainsFunc(p.Statements, func(x layerStatement) bool { return x.Sid == st.Sid }) {
			return lambdahost.Errorf(lambdahost.ResourceConflictException,
				"The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
		}
		p.Statements = append(p.Statements, st)
		p.RevisionID = s.NewRevisionID()
		out = LayerPolicyStatement{Statement: mustJSON(st.document()), RevisionID: p.RevisionID}
		return putRecord(ctx, tx, kindLayerPolicy, key, p)
	})
	if err != nil {
		return nil, internal("add layer version permission", err)
	}
	return &out, nil
}

// GetLayerVersionPolicy answers a layer version's policy.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetLayerVersionPolicy.html)
func (s *Service) GetLayerVersionPolicy(ctx context.Context, layerName string, version int64) (*LayerPolicy, error) {
	s.init()
	c, id, err := layerPolicyTarget(ctx, layerName, version)
	if err != nil {
		return nil, err
	}
	var out *LayerPolicy
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if err := ownLayerVersion(ctx, tx, c, id, version, "lambda:GetLayerVersionPolicy"); err != nil {
			return err
		}
		p, err := getRecord[layerPolicy](ctx, tx, kindLayerPolicy, layerVersionKey(id, version))
		if errors.Is(err, lambdahost.ErrNotFound) || (err == nil && len(p.Statements) == 0) {
			return errNoLayerPolicy()
		}
		if err != nil {
			return err
		}
		out = &LayerPolicy{Policy: p.document(), RevisionID: p.RevisionID}
		return nil
	})
	if err != nil {
		return nil, internal("get layer version policy", err)
	}
	return out, nil
}

// RemoveLayerVersionPermission removes a statement from a layer version's
// policy; the policy goes with its last statement.
// (https://docs.aws.amazon.com/lambda/latest/api/API_RemoveLayerVersionPermission.html)
func (s *Service) RemoveLayerVersionPermission(ctx context.Context, layerName string, version int64, statementID string, revisionID *string) error {
	s.init()
	c, id, err := layerPolicyTarget(ctx, layerName, version)
	if err != nil {
		return err
	}
	var v lambdahost.Validation
	validateStatementID(&v, statementID)
	if err := v.Err(); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := ownLayerVersion(ctx, tx, c, id, version, "lambda:RemoveLayerVersionPermission"); err != nil {
			return err
		}
		key := layerVersionKey(id, version)
		p, err := getRecord[layerPolicy](ctx, tx, kindLayerPolicy, key)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return errNoLayerPolicy()
		}
		if err != nil {
			return err
		}
		if revisionID != nil && *revisionID != p.RevisionID {
			return layerRevisionMismatch()
		}
		i := slices.IndexFunc(p.Statements, func(x layerStatement) bool { return x.Sid == statementID })
		if i < 0 {
			return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Statement %s is not found in resource policy.", statementID)
		}
		p.Statements = slices.Delete(p.Statements, i, i+1)
		if len(p.Statements) == 0 {
			return tx.DeleteRecord(ctx, kindLayerPolicy, key)
		}
		p.RevisionID = s.NewRevisionID()
		return putRecord(ctx, tx, kindLayerPolicy, key, p)
	})
	return internal("remove layer version permission", err)
}
