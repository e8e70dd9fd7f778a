package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] brings the schema from version i to i+1. Append only: a
// released step is never edited, since files in the field already ran it.
var migrations = []string{
	// 1: initial schema. Times are Unix seconds (minute starts) or Unix
	// nanoseconds (events, policies). WITHOUT ROWID keeps the aggregate
	// tables clustered on their key, which is how every query reads them.
	`CREATE TABLE traffic_minute (
		minute   INTEGER NOT NULL,
		app      TEXT NOT NULL,
		category TEXT NOT NULL,
		protocol TEXT NOT NULL,
		verdict  TEXT NOT NULL,
		flows    INTEGER NOT NULL,
		packets  INTEGER NOT NULL,
		bytes    INTEGER NOT NULL,
		PRIMARY KEY (minute, app, category, protocol, verdict)
	) WITHOUT ROWID;
	CREATE TABLE host_minute (
		minute INTEGER NOT NULL,
		host   TEXT NOT NULL,
		app    TEXT NOT NULL,
		flows  INTEGER NOT NULL,
		bytes  INTEGER NOT NULL,
		PRIMARY KEY (minute, host, app)
	) WITHOUT ROWID;
	CREATE TABLE events (
		id       INTEGER PRIMARY KEY,
		time_ns  INTEGER NOT NULL,
		rule     TEXT NOT NULL,
		action   TEXT NOT NULL,
		l4       TEXT NOT NULL,
		client   TEXT NOT NULL,
		server   TEXT NOT NULL,
		protocol TEXT NOT NULL,
		app      TEXT NOT NULL,
		host     TEXT NOT NULL,
		notice   TEXT NOT NULL
	);
	CREATE INDEX events_time ON events (time_ns);
	CREATE TABLE policies (
		id        INTEGER PRIMARY KEY,
		loaded_ns INTEGER NOT NULL,
		sha256    TEXT NOT NULL,
		source    TEXT NOT NULL
	);`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: create version table: %w", err)
	}
	for {
		done, err := migrateStep(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies one migration in its own transaction. Reading the
// version inside the (IMMEDIATE) transaction makes two processes opening a
// new file at once safe: the second waits, then sees the new version.
func migrateStep(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	v, err := readVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	switch {
	case v > len(migrations):
		return false, fmt.Errorf("%w (file has version %d, this build knows %d)", ErrNewerSchema, v, len(migrations))
	case v == len(migrations):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("store: migration %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return false, fmt.Errorf("store: migration %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v+1); err != nil {
		return false, fmt.Errorf("store: migration %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migration %d: %w", v+1, err)
	}
	return false, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func readVersion(ctx context.Context, q queryer) (int, error) {
	var v sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}
