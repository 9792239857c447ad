package main

import (
	"os"
	"testing"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// TestMain stops the PostgreSQL cluster the tests may have started.
func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopPostgres()
	os.Exit(code)
}
