// Package sqlite implements lambdahost.Store on a single SQLite database
// file, through the pure-Go driver modernc.org/sqlite.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: Update returns only
// after its commit has been written to the WAL and fsynced, so neither a
// killed process nor a power loss can lose an update that was acknowledged.
// Foreign keys are enforced, so deleting a function deletes its versions,
// aliases and asynchronous events in the same statement.
//
// # Concurrency
//
// Writers share one connection and start their transactions with BEGIN
// IMMEDIATE: in this process they queue for the connection, and against
// other processes on the same file they wait for the write lock (up to the
// busy timeout) before fn runs, so a read-modify-write inside Update is
// serializable and never fails halfway with "database is locked". View uses
// a separate pool of query-only connections; under WAL each read
// transaction sees one snapshot and neither blocks nor is blocked by the
// writer.
//
// # Schema
//
// The schema lives in migrations/*.sql, embedded in the binary and applied
// by Open in order, each in its own transaction, with the applied versions
// recorded in schema_migrations. Columns that queries filter or sort on are
// real columns; the rest of a version or alias is a JSON document whose
// shape the record structs of this package define.
package sqlite
