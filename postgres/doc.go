// Package postgres implements [lambdahost.Store] on PostgreSQL, through
// pgx, for several lambdahost processes ("nodes") that serve one truth.
//
// # Transactions
//
// Update runs SERIALIZABLE transactions and runs them again when
// PostgreSQL reports a serialization failure, so that a read-check-write
// in control/ (a RevisionId precondition, the one-update-at-a-time rule, a
// version number, a quota) has exactly one winner among all nodes, as it
// has within one SQLite process. View runs REPEATABLE READ READ ONLY
// transactions: one snapshot. A statement that fails aborts a PostgreSQL
// transaction, so the methods that report ErrExists or ErrNotFound find
// out without failing a statement (ON CONFLICT DO NOTHING, INSERT ...
// SELECT ... WHERE EXISTS).
//
// # Schema
//
// Migrations are embedded (migrations/*.sql) and applied by Open under an
// advisory lock, so that nodes starting together apply each once. Text
// that is sorted or compared is COLLATE "C": names sort bytewise, as Go
// compares them. Versions and aliases keep the documents of
// internal/storedoc, as sqlite/ does.
//
// # Coordination
//
// Nodes register in the nodes table with a TTL on the database's clock;
// claims and asynchronous events belong to a node while it is registered
// (ClaimEvents uses FOR UPDATE SKIP LOCKED). Concurrency is counted in an
// unlogged table by a function that serializes admissions per key with a
// transaction-scoped advisory lock. The code lock is a session advisory
// lock on a connection of its own. Triggers NOTIFY every change to a
// function, its versions and aliases, and Watch LISTENs.
//
// # Connections
//
// Open makes two pools: DefaultMaxConns connections for transactions
// (pool_max_conns in the DSN overrides it) and DefaultMaxLockConns for
// holders of the code lock; Watch holds one more. Size PostgreSQL's
// max_connections for every node's.
package postgres
