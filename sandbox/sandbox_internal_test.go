package sandbox

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost"
)

func TestCgroupDir(t *testing.T) {
	tests := []struct {
		name       string
		cgroup     string
		mountinfo  string
		controller string
		parent     string
		want       string
	}{
		{"v1-memory-own-path", "hybrid-cgroup", "hybrid-mountinfo", "memory", "", "/sys/fs/cgroup/memory/process_api/775420020c64bc8574437bfe3013927a"},
		{"v1-pids-at-root", "hybrid-cgroup", "hybrid-mountinfo", "pids", "", "/sys/fs/cgroup/pids"},
		{"v1-joint-hierarchy", "hybrid-cgroup", "hybrid-mountinfo", "cpuacct", "", "/sys/fs/cgroup/cpu,cpuacct"},
		{"v1-parent-option", "hybrid-cgroup", "hybrid-mountinfo", "memory", "/lambdahost", "/sys/fs/cgroup/memory/lambdahost"},
		{"v1-unmounted-controller", "hybrid-cgroup", "hybrid-mountinfo", "freezer", "", ""},
		{"hybrid-unified", "hybrid-cgroup", "hybrid-mountinfo", "", "", "/sys/fs/cgroup/unified"},
		{"v2-own-path", "v2-cgroup", "v2-mountinfo", "", "", "/sys/fs/cgroup/system.slice/lambdahost.service"},
		{"v2-no-v1-memory", "v2-cgroup", "v2-mountinfo", "memory", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			own, err := parseProcCgroup("testdata/cgroup/" + tt.cgroup)
			if err != nil {
				t.Fatal(err)
			}
			mounts, err := parseCgroupMounts("testdata/cgroup/" + tt.mountinfo)
			if err != nil {
				t.Fatal(err)
			}
			if got := cgroupDir(mounts, own, tt.controller, tt.parent); got != tt.want {
				t.Errorf("cgroupDir=%q, want %q", got, tt.want)
			}
		})
	}
}

func TestCgroupDir_MountRoot(t *testing.T) {
	mounts := map[string]cgroupMount{"": {mountpoint: "/mnt/cg", root: "/docker/abc"}}
	tests := []struct {
		path string
		want string
	}{
		{"/docker/abc", "/mnt/cg"},
		{"/docker/abc/env", "/mnt/cg/env"},
		{"/docker/abcdef", ""},
		{"/other", ""},
	}
	for _, tt := range tests {
		if got := cgroupDir(mounts, map[string]string{"": tt.path}, "", ""); got != tt.want {
			t.Errorf("cgroupDir(%q)=%q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/sys/fs/cgroup", "/sys/fs/cgroup"},
		{`/mnt/my\040cgroups`, "/mnt/my cgroups"},
		{`/a\134b`, `/a\b`},
		{`/trailing\04`, `/trailing\04`},
	}
	for _, tt := range tests {
		if got := unescapeMount(tt.in); got != tt.want {
			t.Errorf("unescapeMount(%q)=%q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKeyedValue(t *testing.T) {
	b := []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
	tests := []struct {
		key    string
		want   int64
		wantOK bool
	}{
		{"oom_kill", 3, true},
		{"under_oom", 0, true},
		{"oom", 0, false},
	}
	for _, tt := range tests {
		got, ok := keyedValue(b, tt.key)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("keyedValue(%q)=%d,%v, want %d,%v", tt.key, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestWithAccount(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line string
		id   string
		want string
	}{
		{
			name: "appended",
			in:   "root:x:0:0:root:/root:/bin/bash\n",
			line: "sbx_user1051:x:993:990::/tmp:/sbin/nologin\n", id: "993",
			want: "root:x:0:0:root:/root:/bin/bash\nsbx_user1051:x:993:990::/tmp:/sbin/nologin\n",
		},
		{
			name: "same-uid-replaced",
			in:   "root:x:0:0::/:/bin/sh\nsystemd-oom:x:993:993::/:/usr/sbin/nologin\nlast:x:5:5::/:/bin/sh",
			line: "sbx_user1051:x:993:990::/tmp:/sbin/nologin\n", id: "993",
			want: "root:x:0:0::/:/bin/sh\nlast:x:5:5::/:/bin/sh\nsbx_user1051:x:993:990::/tmp:/sbin/nologin\n",
		},
		{
			name: "same-group-id-replaced",
			in:   "root:x:0:\nsystemd-journal:x:990:\n",
			line: "sbx_user1051:x:990:\n", id: "990",
			want: "root:x:0:\nsbx_user1051:x:990:\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, withAccount([]byte(tt.in), tt.line, 2, tt.id)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslator(t *testing.T) {
	tr := newTranslator([]lambdahost.Mount{
		{Source: "/data/code/abc", Target: "/var/task"},
		{Source: "/data/runtime", Target: "/var/runtime"},
		{Source: "/data/layer", Target: "/opt"},
		{Source: "/data/python-lib", Target: "/opt/python/lib"},
	}, "/state/tmp-1")
	paths := []struct{ in, want string }{
		{"/var/task", "/data/code/abc"},
		{"/var/task/bootstrap", "/data/code/abc/bootstrap"},
		{"/var/taskforce", "/var/taskforce"},
		{"/opt/python/lib/x", "/data/python-lib/x"},
		{"/opt/bin", "/data/layer/bin"},
		{"/tmp", "/state/tmp-1"},
		{"/usr/bin/python3", "/usr/bin/python3"},
		{"app.handler", "app.handler"},
	}
	for _, tt := range paths {
		if got := tr.path(tt.in); got != tt.want {
			t.Errorf("path(%q)=%q, want %q", tt.in, got, tt.want)
		}
	}
	lists := []struct{ in, want string }{
		{"/var/lang/bin:/var/task:/usr/bin", "/var/lang/bin:/data/code/abc:/usr/bin"},
		{"x:y", "x:y"},
		{"http://example.com/var/task", "http://example.com/var/task"},
	}
	for _, tt := range lists {
		if got := tr.list(tt.in); got != tt.want {
			t.Errorf("list(%q)=%q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSetEnv(t *testing.T) {
	got := setEnv([]string{"A=1", "AWS_LAMBDA_RUNTIME_API=old", "B=2"}, "AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
	want := []string{"A=1", "B=2", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestHostname(t *testing.T) {
	a, b := hostname("env-1"), hostname("env-2")
	if !strings.HasPrefix(a, "169.254.") || a == b || a != hostname("env-1") {
		t.Errorf("hostname(env-1)=%q, hostname(env-2)=%q: want distinct, stable 169.254.x.y", a, b)
	}
}

func TestCgroupName(t *testing.T) {
	name := cgroupName("fn:$LATEST/../x " + strings.Repeat("y", 300))
	if len(name) > 210 || strings.ContainsAny(name, "/: $") || !strings.HasPrefix(name, cgroupPrefix) {
		t.Errorf("cgroupName=%q: want a short name of safe characters", name)
	}
}
