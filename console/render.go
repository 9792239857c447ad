package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost/control"
)

// view is what every page template gets: the layout's fields and the
// page's own Data.
type view struct {
	Title string
	// Nav is the section the page belongs to, for the navigation.
	Nav string
	// Signed-in user; empty on the sign-in page.
	AccessKey, Account, Region string
	CSRF                       string
	// Error and Notice are shown at the top of the page.
	Error, Notice string
	// Live is the function whose changes the page follows ("*" for
	// every function), "" for none.
	Live    string
	Version string
	Data    any
}

// session fills the view's signed-in fields from ss (nil: none).
func (v *view) session(s *Server, ss *session) {
	v.Version = s.Version
	if ss == nil {
		return
	}
	v.AccessKey, v.Account, v.Region = ss.AccessKey, ss.account, ss.Region
	v.CSRF = s.csrfToken(ss)
}

// pageNames are the templates/*.html that are pages; layout.html and
// parts.html are shared by all of them.
var pageNames = []string{"signin", "error", "functions", "function", "deployments", "invocations", "layers", "codesigning"}

var funcs = template.FuncMap{
	"bytes":    humanBytes,
	"time":     formatTime,
	"ms":       formatMS,
	"prefix":   func() string { return Prefix },
	"pathpart": url.PathEscape,
	"join":     strings.Join,
	"weight":   func(w float64) string { return fmt.Sprintf("%.0f%%", w*100) },
	"inc":      func(i int) int { return i + 1 },
	"dec":      func(i int) int { return i - 1 },
	"lower":    strings.ToLower,
	"deploys": func(caption string, d []*control.Deployment) map[string]any {
		return map[string]any{"Caption": caption, "Deployments": d}
	},
	"statusclass": func(s string) string {
		switch s {
		case "Successful", "Active":
			return "ok"
		case "Failed":
			return "bad"
		case "InProgress", "Pending":
			return "busy"
		}
		return "idle"
	},
}

// parsePages parses each page with the layout and the shared parts.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse console page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes page name with v, whole, or only the template fragment
// the request's ?fragment= names (the parts that live updates replace).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := s.pages[name]
	tmpl := "layout.html"
	if f := r.URL.Query().Get("fragment"); f != "" && r.Method == http.MethodGet {
		if t.Lookup("fragment-"+f) == nil {
			http.NotFound(w, r)
			return
		}
		tmpl = "fragment-" + f
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, v); err != nil {
		s.logger().ErrorContext(r.Context(), "console: render "+name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// deriveKey derives a key for purpose from key.
func deriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// equalSecret compares secrets in constant time (for their length).
func equalSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

var reRegion = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d$`)

func validRegion(r string) bool { return reRegion.MatchString(r) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// humanBytes prints a size as the console shows it.
func humanBytes(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// formatTime prints a time as AWS's LastModified does, in UTC.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func formatMS(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
