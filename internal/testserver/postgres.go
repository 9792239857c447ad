package testserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresInstall is how CI installs PostgreSQL.
const PostgresInstall = "apt-get install -y postgresql"

// Postgres is a throwaway PostgreSQL cluster, one per test process,
// listening on loopback with trust authentication. Tests take databases of
// their own from it with NewDatabase.
type Postgres struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	pgOnce   sync.Once
	pgServer *Postgres
	pgErr    error
	pgDBs    atomic.Int64
)

// StartPostgres returns the test process's PostgreSQL cluster, starting it
// on first use: initdb into a temporary directory, then postgres on a free
// loopback port. As root, both run as the postgres user, since PostgreSQL
// refuses to run as root. The cluster trades durability for speed (fsync
// off): the tests crash lambdahost, never PostgreSQL. Call StopPostgres
// from TestMain to remove it; it dies with the test process anyway.
//
// Missing binaries skip the test, or fail it when LAMBDAHOST_E2E_REQUIRE=1.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin, err := postgresBin()
	if err != nil {
		missing(tb, "PostgreSQL", PostgresInstall, err)
	}
	pgOnce.Do(func() { pgServer, pgErr = startPostgres(bin, false) })
	if pgErr != nil {
		tb.Fatalf("start PostgreSQL: %v", pgErr)
	}
	return pgServer
}

// StopPostgres stops the cluster StartPostgres started, if any, and
// removes its files.
func StopPostgres() {
	if pgServer != nil {
		pgServer.Stop()
	}
}

// NewPostgres starts a cluster of the caller's own, as StartPostgres does
// but durable (fsync on, PostgreSQL's defaults), for programs that measure
// it (the benchmark). The caller Stops it.
func NewPostgres() (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, fmt.Errorf("%w; install it with %s", err, PostgresInstall)
	}
	return startPostgres(bin, true)
}

// Stop stops the cluster and removes its files.
func (p *Postgres) Stop() {
	p.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	os.RemoveAll(p.dir)
}

// CreateDatabase creates database name and returns its connection string.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := p.exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return p.DSN(name), nil
}

// postgresBin finds the directory of initdb and postgres: in PATH, or
// where Debian installs them (/usr/lib/postgresql/VERSION/bin), the newest
// version first.
func postgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and postgres not in PATH or /usr/lib/postgresql/*/bin")
}

func startPostgres(bin string, durable bool) (*Postgres, error) {
	removeStaleClusters()
	dir, err := os.MkdirTemp("", "lambdahost-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs a user to run as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	addr, err := FreePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(addr, ":")
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	args := []string{"-D", data, "-p", port,
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=400", "-c", "shared_buffers=64MB"}
	if !durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	p.Addr, p.cmd = addr, cmd
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := p.exec(context.Background(), "SELECT 1")
		if err == nil {
			break
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("postgres exited before it was ready: %s", b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-p.done
			b, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("postgres not ready after 60s: %v: %s", err, b)
		}
	}
	ok = true
	return p, nil
}

// removeStaleClusters removes the directories of clusters whose test
// process died without StopPostgres.
func removeStaleClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "lambdahost-pg-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
			if pid > 0 && syscall.Kill(pid, 0) == nil {
				continue // still running
			}
		}
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue // being set up
		}
		os.RemoveAll(d)
	}
}

// DSN returns the connection string of database db.
func (p *Postgres) DSN(db string) string {
	return "postgres://postgres@" + p.Addr + "/" + db + "?sslmode=disable"
}

func (p *Postgres) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql)
	return err
}

// NewDatabase creates an empty database and returns its connection
// string. The database is dropped when tb ends.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pgDBs.Add(1))
	if err := p.exec(tb.Context(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := p.exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return p.DSN(name)
}
