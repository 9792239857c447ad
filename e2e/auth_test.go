//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Messages of authentication failures, as AWS words them.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnrecognized      = "The security token included in the request is invalid."
	msgMissingToken      = "Missing Authentication Token"
)

// TestAuthentication checks that a wrong secret, an unknown key, no
// signature and a tampered body are refused with AWS's 403 errors, and
// that the refused requests change nothing (scenario 12).
func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	good := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}

	for _, kind := range allDrivers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			name := "auth-" + kind
			fn := Params{"FunctionName": name}
			mustCreate(t, good, name, handlerZip(t, name))
			before := good.Call(t, "GetFunction", fn).OK(t)
			bad := []struct {
				name    string
				creds   Credentials
				code    string
				message string
			}{
				{"wrong-secret", Credentials{AccessKeyID: "test", SecretAccessKey: "not-the-secret"}, "InvalidSignatureException", msgSignatureMismatch},
				{"unknown-key", Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "test"}, "UnrecognizedClientException", msgUnrecognized},
			}
			for _, b := range bad {
				t.Run(b.name, func(t *testing.T) {
					d := NewDriver(t, kind, srv, b.creds, "us-east-1")
					d.Call(t, "ListFunctions", Params{}).WantError(t, 403, b.code, b.message)
					d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, name+" bad")}).WantError(t, 403, b.code, b.message)
					d.Call(t, "CreateFunction", createParams(name+"-bad", handlerZip(t, name+" bad"))).WantError(t, 403, b.code, b.message)
					d.Call(t, "DeleteFunction", fn).WantError(t, 403, b.code, b.message)
				})
			}
			after := good.Call(t, "GetFunction", fn).OK(t)
			if diff := cmp.Diff(before.Get("Configuration"), after.Get("Configuration")); diff != "" {
				t.Errorf("refused requests changed the function (-before +after):\n%s", diff)
			}
			good.Call(t, "GetFunction", Params{"FunctionName": name + "-bad"}).WantError(t, 404, "ResourceNotFoundException", "")
		})
	}

	t.Run("raw", func(t *testing.T) {
		t.Parallel()
		name := "auth-raw"
		fn := Params{"FunctionName": name}
		mustCreate(t, good, name, handlerZip(t, name))
		before := good.Call(t, "GetFunction", fn).OK(t)
		codeURL := srv.Endpoint + "/2015-03-31/functions/" + name + "/code"

		// A plain GET, as http.Get sends it.
		doRaw(t, nil, rawRequest(t, "GET", srv.Endpoint+"/2015-03-31/functions/", nil, "", nil, nil)).
			wantError(t, 403, "MissingAuthenticationTokenException", msgMissingToken)

		zipA, zipB := storedZip(t, 300, 1), storedZip(t, 300, 2)
		bodyA, bodyB := updateCodeBody(t, zipA), updateCodeBody(t, zipB)
		if len(bodyA) != len(bodyB) {
			t.Fatalf("bodies of %d and %d bytes: want equal lengths", len(bodyA), len(bodyB))
		}
		doRaw(t, nil, rawRequest(t, "PUT", codeURL, nil, "", nil, bodyB)).
			wantError(t, 403, "MissingAuthenticationTokenException", msgMissingToken)
		// Signed over body A, sent with body B: the streamed body must be
		// verified before the code is used.
		doRaw(t, nil, rawRequest(t, "PUT", codeURL, &TestCredentials, "us-east-1", bodyA, bodyB)).
			wantError(t, 403, "InvalidSignatureException", msgSignatureMismatch)
		after := good.Call(t, "GetFunction", fn).OK(t)
		if diff := cmp.Diff(before.Get("Configuration"), after.Get("Configuration")); diff != "" {
			t.Errorf("refused requests changed the function (-before +after):\n%s", diff)
		}

		// Errors are answered in the shape SDKs parse: X-Amzn-ErrorType and
		// a JSON body with Type and the message.
		missing := doRaw(t, nil, rawRequest(t, "GET", srv.Endpoint+"/2015-03-31/functions/"+name+"-missing", &TestCredentials, "us-east-1", nil, nil))
		missing.wantError(t, 404, "ResourceNotFoundException", "Function not found: "+functionARN("us-east-1", "000000000000", name+"-missing"))
		if missing.Body["Type"] != "User" {
			t.Errorf("404 body %v: want Type User", missing.Body)
		}

		// The same request, untampered, goes through.
		ok := doRaw(t, nil, rawRequest(t, "PUT", codeURL, &TestCredentials, "us-east-1", bodyA, bodyA))
		if ok.Status != 200 || ok.Body["CodeSha256"] != codeSHA(zipA) {
			t.Errorf("signed UpdateFunctionCode: HTTP %d %v, want 200 and CodeSha256 %s", ok.Status, ok.Body, codeSHA(zipA))
		}
	})
}

// TestCodeLocationSignature checks that GetFunction's Code.Location works
// without credentials only as issued: changing the digest, the account,
// the expiry or the signature is refused (scenario 12).
func TestCodeLocationSignature(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
	zip, other := handlerZip(t, "signed"), handlerZip(t, "other")
	mustCreate(t, d, "signed", zip)
	mustCreate(t, d, "other", other)
	loc := d.Call(t, "GetFunction", Params{"FunctionName": "signed"}).OK(t).Str("Code.Location")
	otherLoc := d.Call(t, "GetFunction", Params{"FunctionName": "other"}).OK(t).Str("Code.Location")
	if got := download(t, loc); codeSHA(got) != codeSHA(zip) {
		t.Fatalf("Code.Location serves sha %s, want %s", codeSHA(got), codeSHA(zip))
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	ou, err := url.Parse(otherLoc)
	if err != nil {
		t.Fatal(err)
	}
	tamper := map[string]func(u *url.URL){
		"other-digest": func(u *url.URL) { u.Path = ou.Path },
		"other-account": func(u *url.URL) {
			q := u.Query()
			q.Set("Account", "111111111111")
			u.RawQuery = q.Encode()
		},
		"later-expiry": func(u *url.URL) {
			q := u.Query()
			q.Set("Expires", q.Get("Expires")+"0")
			u.RawQuery = q.Encode()
		},
		"bad-signature": func(u *url.URL) {
			q := u.Query()
			sig := []byte(q.Get("Signature"))
			sig[0] ^= 1
			q.Set("Signature", string(sig))
			u.RawQuery = q.Encode()
		},
		"no-signature": func(u *url.URL) {
			q := u.Query()
			q.Del("Signature")
			u.RawQuery = q.Encode()
		},
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			v := *u
			f(&v)
			resp, err := http.Get(v.String())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: HTTP %d (%d bytes), want 403", v.String(), resp.StatusCode, len(body))
			}
		})
	}
}

// TestAccountIsolation runs with two accounts: B can neither see nor
// change A's function, by name (404, as B has no such function) or by A's
// ARN (403) (scenario 13).
func TestAccountIsolation(t *testing.T) {
	t.Parallel()
	credsA := Credentials{AccessKeyID: "AKIAACCOUNTA00000001", SecretAccessKey: "secret-of-a", AccountID: "111111111111"}
	credsB := Credentials{AccessKeyID: "AKIAACCOUNTB00000002", SecretAccessKey: "secret-of-b", AccountID: "222222222222"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, credsA, credsB)))
	for _, kind := range allDrivers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := NewDriver(t, kind, srv, credsA, "us-east-1")
			b := NewDriver(t, kind, srv, credsB, "us-east-1")
			name := "isolated-" + kind
			arnA := functionARN("us-east-1", credsA.AccountID, name)
			wantStr(t, mustCreate(t, a, name, handlerZip(t, name)), "FunctionArn", arnA)
			before := a.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)

			notFound := "Function not found: " + functionARN("us-east-1", credsB.AccountID, name)
			b.Call(t, "GetFunction", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", notFound)
			b.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, "from B")}).WantError(t, 404, "ResourceNotFoundException", notFound)
			b.Call(t, "DeleteFunction", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", notFound)
			for _, f := range b.Paginate(t, "ListFunctions", Params{}, 50) {
				t.Errorf("B lists %s", str(f, "FunctionArn"))
			}
			b.Call(t, "GetFunction", Params{"FunctionName": arnA}).WantError(t, 403, "AccessDeniedException", "")
			b.Call(t, "UpdateFunctionCode", Params{"FunctionName": arnA, "ZipFile": handlerZip(t, "from B")}).WantError(t, 403, "AccessDeniedException", "")
			b.Call(t, "DeleteFunction", Params{"FunctionName": arnA}).WantError(t, 403, "AccessDeniedException", "")
			b.Call(t, "TagResource", Params{"Resource": arnA, "Tags": Params{"owner": "b"}}).WantError(t, 403, "AccessDeniedException", "")

			after := a.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
			if diff := cmp.Diff(before.Body["Configuration"], after.Body["Configuration"]); diff != "" {
				t.Errorf("B's requests changed A's function (-before +after):\n%s", diff)
			}
			if tags := after.Get("Tags"); tags != nil {
				t.Errorf("A's function has tags %v after B's TagResource", tags)
			}
			// With a credentials file, the built-in test key is not accepted.
			NewDriver(t, kind, srv, TestCredentials, "us-east-1").Call(t, "ListFunctions", Params{}).
				WantError(t, 403, "UnrecognizedClientException", msgUnrecognized)
		})
	}
}

// TestRegionIsolation creates the same name in us-east-1 and eu-west-1:
// they are distinct functions (scenario 13).
func TestRegionIsolation(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, east Driver) {
		west := NewDriver(t, east.Name(), srv, TestCredentials, "eu-west-1")
		name := "regional-" + east.Name()
		zipEast, zipWest := handlerZip(t, name+" east"), handlerZip(t, name+" west")
		mustCreate(t, east, name, zipEast)
		mustCreate(t, west, name, zipWest)

		e := east.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		w := west.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		wantStr(t, e, "Configuration.FunctionArn", functionARN("us-east-1", "000000000000", name))
		wantStr(t, w, "Configuration.FunctionArn", functionARN("eu-west-1", "000000000000", name))
		wantCode(t, e, "Configuration.", zipEast)
		wantCode(t, w, "Configuration.", zipWest)
		westARN := functionARN("eu-west-1", "000000000000", name)
		east.Call(t, "GetFunction", Params{"FunctionName": westARN}).
			WantError(t, 404, "ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")

		west.Call(t, "DeleteFunction", Params{"FunctionName": name}).OK(t)
		west.Call(t, "GetFunction", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", "Function not found: "+westARN)
		wantCode(t, east.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t), "Configuration.", zipEast)
	})

	// GetAccountSettings reports usage "in an Amazon Web Services Region"
	// (Lambda API reference), and the code storage quota is per Region.
	t.Run("account-settings", func(t *testing.T) {
		t.Parallel()
		srv := Start(t)
		for _, kind := range []string{Boto3Driver, SDKDriver} {
			east := NewDriver(t, kind, srv, TestCredentials, "us-east-1")
			west := NewDriver(t, kind, srv, TestCredentials, "eu-west-1")
			mustCreate(t, east, "settings-east-"+kind, handlerZip(t, "east "+kind))
			mustCreate(t, west, "settings-west-"+kind, handlerZip(t, "west "+kind))
		}
		for _, kind := range []string{Boto3Driver, SDKDriver} {
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				d := NewDriver(t, kind, srv, TestCredentials, region)
				names := []string{}
				var size int64
				for _, f := range d.Paginate(t, "ListFunctions", Params{}, 50) {
					names = append(names, str(f, "FunctionName"))
					size += (&Result{Body: f}).Int("CodeSize")
				}
				slices.Sort(names)
				if len(names) != 2 {
					t.Errorf("%s %s: ListFunctions %v, want the region's 2 functions", kind, region, names)
				}
				r := d.Call(t, "GetAccountSettings", Params{}).OK(t)
				if got := r.Int("AccountUsage.FunctionCount"); got != int64(len(names)) {
					t.Errorf("%s %s: AccountUsage.FunctionCount = %d, want %d (the functions of the region)", kind, region, got, len(names))
				}
				if got := r.Int("AccountUsage.TotalCodeSize"); got != size {
					t.Errorf("%s %s: AccountUsage.TotalCodeSize = %d, want %d (the code of the region's functions)", kind, region, got, size)
				}
			}
		}
	})
}
