package control

import (
	"regexp"
	"strings"
	"testing"
)

const fnARN = "arn:aws:lambda:us-east-1:222222222222:function:f"

// stmt builds a stored statement as AddPermission would.
func stmt(t testing.TB, in *AddPermissionInput, resource string) string {
	t.Helper()
	p, err := statementPrincipal(*in.Principal)
	if err != nil {
		t.Fatal(err)
	}
	return buildStatement(in, p, resource)
}

func perm(sid, action, principal string) *AddPermissionInput {
	return &AddPermissionInput{StatementID: &sid, Action: &action, Principal: &principal}
}

func with(in *AddPermissionInput, f func(*AddPermissionInput)) *AddPermissionInput {
	f(in)
	return in
}

func TestPolicyAllows(t *testing.T) {
	b := principal{Account: "111111111111", ARN: "arn:aws:iam::111111111111:user/AKIAB"}
	c := principal{Account: "333333333333", ARN: "arn:aws:iam::333333333333:user/AKIAC"}
	// An execution environment of account 111111111111's function fn.
	session := principal{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/role/fn"}
	anon := principal{Anonymous: true}
	s3 := principal{Service: "s3.amazonaws.com"}
	invoke := func(p principal, keys map[string]string) access {
		return access{action: actionInvoke, resource: fnARN, principal: p, keys: keys}
	}
	url := func(p principal, auth string) access {
		return access{action: actionInvokeURL, resource: fnARN, principal: p,
			keys: map[string]string{"lambda:functionurlauthtype": auth, "lambda:invokedviafunctionurl": "true"}}
	}
	direct := map[string]string{"lambda:invokedviafunctionurl": "false"}
	tests := []struct {
		name  string
		stmts []*AddPermissionInput
		req   access
		want  bool
	}{
		{"no-statements", nil, invoke(b, direct), false},
		{"account-id", []*AddPermissionInput{perm("a", actionInvoke, "111111111111")}, invoke(b, direct), true},
		{"other-account", []*AddPermissionInput{perm("a", actionInvoke, "111111111111")}, invoke(c, direct), false},
		{"root-arn", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:iam::111111111111:root")}, invoke(b, direct), true},
		{"user-arn", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:iam::111111111111:user/AKIAB")}, invoke(b, direct), true},
		{"other-user-arn", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:iam::111111111111:user/AKIAX")}, invoke(b, direct), false},
		{"session-of-account", []*AddPermissionInput{perm("a", actionInvoke, "111111111111")}, invoke(session, direct), true},
		{"session-of-root-arn", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:iam::111111111111:root")}, invoke(session, direct), true},
		{"session-arn", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:sts::111111111111:assumed-role/role/fn")}, invoke(session, direct), true},
		{"other-session-arn", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:sts::111111111111:assumed-role/role/other")}, invoke(session, direct), false},
		{"user-arn-not-session", []*AddPermissionInput{perm("a", actionInvoke, "arn:aws:iam::111111111111:user/AKIAB")}, invoke(session, direct), false},
		{"wrong-action", []*AddPermissionInput{perm("a", actionGetFunction, "111111111111")}, invoke(b, direct), false},
		{"lambda-star", []*AddPermissionInput{perm("a", "lambda:*", "111111111111")}, invoke(b, direct), true},
		{"star", []*AddPermissionInput{perm("a", "*", "111111111111")}, invoke(b, direct), true},
		{"action-case", []*AddPermissionInput{perm("a", "lambda:invokefunction", "111111111111")}, invoke(b, direct), true},
		{"second-statement", []*AddPermissionInput{perm("a", actionGetFunction, "111111111111"), perm("b", actionInvoke, "111111111111")}, invoke(b, direct), true},
		{"everyone", []*AddPermissionInput{perm("a", actionInvoke, "*")}, invoke(c, direct), true},
		{"service-not-a-caller", []*AddPermissionInput{perm("a", actionInvoke, "s3.amazonaws.com")}, invoke(b, direct), false},
		{"service", []*AddPermissionInput{perm("a", actionInvoke, "s3.amazonaws.com")}, invoke(s3, nil), true},
		{"source-account-holds", []*AddPermissionInput{with(perm("a", actionInvoke, "s3.amazonaws.com"), func(in *AddPermissionInput) { in.SourceAccount = ptr("222222222222") })},
			invoke(s3, map[string]string{"aws:sourceaccount": "222222222222"}), true},
		{"source-account-differs", []*AddPermissionInput{with(perm("a", actionInvoke, "s3.amazonaws.com"), func(in *AddPermissionInput) { in.SourceAccount = ptr("222222222222") })},
			invoke(s3, map[string]string{"aws:sourceaccount": "444444444444"}), false},
		{"source-arn-like", []*AddPermissionInput{with(perm("a", actionInvoke, "s3.amazonaws.com"), func(in *AddPermissionInput) { in.SourceArn = ptr("arn:aws:s3:::bucket-*") })},
			invoke(s3, map[string]string{"aws:sourcearn": "arn:aws:s3:::bucket-7"}), true},
		{"source-arn-absent", []*AddPermissionInput{with(perm("a", actionInvoke, "*"), func(in *AddPermissionInput) { in.SourceArn = ptr("arn:aws:s3:::bucket") })},
			invoke(b, direct), false},
		{"org-never-holds", []*AddPermissionInput{with(perm("a", actionInvoke, "*"), func(in *AddPermissionInput) { in.PrincipalOrgID = ptr("o-1234567890") })},
			invoke(b, direct), false},
		{"url-none-anonymous", []*AddPermissionInput{with(perm("a", actionInvokeURL, "*"), func(in *AddPermissionInput) { in.FunctionURLAuthType = ptr("NONE") })},
			url(anon, "NONE"), true},
		{"url-auth-type-differs", []*AddPermissionInput{with(perm("a", actionInvokeURL, "*"), func(in *AddPermissionInput) { in.FunctionURLAuthType = ptr("AWS_IAM") })},
			url(anon, "NONE"), false},
		{"url-account-not-anonymous", []*AddPermissionInput{perm("a", actionInvokeURL, "111111111111")}, url(anon, "NONE"), false},
		{"url-iam-account", []*AddPermissionInput{with(perm("a", actionInvokeURL, "111111111111"), func(in *AddPermissionInput) { in.FunctionURLAuthType = ptr("AWS_IAM") })},
			url(b, "AWS_IAM"), true},
		{"invoke-is-not-url", []*AddPermissionInput{perm("a", actionInvoke, "*")}, url(anon, "NONE"), false},
		{"via-url-only", []*AddPermissionInput{with(perm("a", actionInvoke, "111111111111"), func(in *AddPermissionInput) { in.InvokedViaFunctionURL = ptr(true) })},
			invoke(b, direct), false},
		{"event-source-token", []*AddPermissionInput{with(perm("a", actionInvoke, "*"), func(in *AddPermissionInput) { in.EventSourceToken = ptr("amzn1.ask.skill.x") })},
			invoke(b, direct), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stmts []string
			for _, in := range tt.stmts {
				stmts = append(stmts, stmt(t, in, fnARN))
			}
			if got := allows(stmts, tt.req); got != tt.want {
				t.Errorf("allows = %v, want %v\nstatements: %s", got, tt.want, strings.Join(stmts, "\n"))
			}
		})
	}
}

// TestPolicyStatementsByHand: statements AddPermission cannot write (lists,
// Deny, other operators) are evaluated as IAM evaluates them.
func TestPolicyStatementsByHand(t *testing.T) {
	b := principal{Account: "111111111111", ARN: "arn:aws:iam::111111111111:user/AKIAB"}
	req := access{action: actionInvoke, resource: fnARN, principal: b, keys: map[string]string{"aws:sourceaccount": "222222222222"}}
	tests := []struct {
		name  string
		stmts []string
		want  bool
	}{
		{"lists", []string{`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999999999999:root","111111111111"]},"Action":["lambda:GetFunction","lambda:Invoke*"],"Resource":["arn:aws:lambda:us-east-1:222222222222:function:*"]}`}, true},
		{"deny-wins", []string{
			`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`,
			`{"Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"lambda:InvokeFunction","Resource":"*"}`}, false},
		{"not-equals-holds", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":"999999999999"}}}`}, true},
		{"if-exists-absent", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:s3:::x"}}}`}, true},
		{"null-true", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceArn":"true"}}}`}, true},
		{"null-false", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceArn":"false"}}}`}, false},
		{"key-case", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:SOURCEACCOUNT":["1","222222222222"]}}}`}, true},
		{"unknown-operator", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"NumericEquals":{"aws:SourceAccount":"222222222222"}}}`}, false},
		{"other-resource", []string{`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:lambda:us-east-1:222222222222:function:g"}`}, false},
		{"malformed", []string{`{"Effect":`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allows(tt.stmts, req); got != tt.want {
				t.Errorf("allows = %v, want %v", got, tt.want)
			}
		})
	}
}

// globRegexp translates an IAM wildcard pattern into a regexp.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile("(?s)" + b.String())
}

// FuzzGlob: the wildcard matcher agrees with a regexp of the same pattern
// on ASCII input.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"arn:aws:s3:::b-*", "arn:aws:s3:::b-7"}, {"*", ""}, {"a?c", "abc"}, {"a*b*c", "aXbYbZc"}, {"**a", "ba"}, {"a", "ab"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		for _, c := range p + s {
			if c >= 0x80 {
				return // ? is one byte here, one rune in the regexp
			}
		}
		if got, want := glob(p, s), globRegexp(p).MatchString(s); got != want {
			t.Errorf("glob(%q, %q) = %v, want %v", p, s, got, want)
		}
	})
}

func TestBuildStatement(t *testing.T) {
	tests := []struct {
		name string
		in   *AddPermissionInput
		want string
	}{
		{"service-source-arn", with(perm("s3", actionInvoke, "s3.amazonaws.com"), func(in *AddPermissionInput) { in.SourceArn = ptr("arn:aws:s3:::bucket") }),
			`{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnARN + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`},
		{"everyone", perm("x", "lambda:*", "*"),
			`{"Sid":"x","Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"` + fnARN + `"}`},
		{"account", perm("x", actionGetFunction, "111111111111"),
			`{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"lambda:GetFunction","Resource":"` + fnARN + `"}`},
		{"all-conditions", with(perm("url", actionInvokeURL, "*"), func(in *AddPermissionInput) {
			in.SourceArn, in.SourceAccount, in.PrincipalOrgID, in.FunctionURLAuthType = ptr("arn:aws:s3:::b"), ptr("111111111111"), ptr("o-1234567890"), ptr("NONE")
		}), `{"Sid":"url","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111","lambda:FunctionUrlAuthType":"NONE","aws:PrincipalOrgID":"o-1234567890"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`},
		{"alexa", with(perm("alexa", actionInvoke, "alexa-connectedhome.amazon.com"), func(in *AddPermissionInput) { in.EventSourceToken = ptr("amzn1.ask.skill.a<b") }),
			`{"Sid":"alexa","Effect":"Allow","Principal":{"Service":"alexa-connectedhome.amazon.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnARN + `","Condition":{"StringEquals":{"lambda:EventSourceToken":"amzn1.ask.skill.a<b"}}}`},
		{"via-url", with(perm("v", actionInvoke, "*"), func(in *AddPermissionInput) { in.InvokedViaFunctionURL = ptr(true) }),
			`{"Sid":"v","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"` + fnARN + `","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stmt(t, tt.in, fnARN); got != tt.want {
				t.Errorf("statement\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
