// Package testutil starts real servers on real databases for tests: SQLite
// always, and MariaDB/MySQL when TEST_MYSQL_DSN is set (required when
// TEST_MYSQL_REQUIRED=1, as CI sets it). Every test gets a database of its
// own, dropped afterwards, so packages and tests can run in parallel.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"unionhall/internal/store"
)

// Backends lists the databases to run a suite on.
func Backends(tb testing.TB) []store.Dialect {
	tb.Helper()
	out := []store.Dialect{store.SQLite}
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		out = append(out, store.MySQL)
	} else if os.Getenv("TEST_MYSQL_REQUIRED") == "1" {
		tb.Fatal("TEST_MYSQL_REQUIRED=1 but TEST_MYSQL_DSN is not set")
	}
	return out
}

// MySQLOnly is for suites that only mean something with row locks and real
// concurrency; it skips when no MySQL is configured (and fails when one is
// required but missing).
func MySQLOnly(tb testing.TB) {
	tb.Helper()
	if os.Getenv("TEST_MYSQL_DSN") == "" {
		if os.Getenv("TEST_MYSQL_REQUIRED") == "1" {
			tb.Fatal("TEST_MYSQL_REQUIRED=1 but TEST_MYSQL_DSN is not set")
		}
		tb.Skip("set TEST_MYSQL_DSN to run against MariaDB/MySQL")
	}
}

// OpenDB returns a fresh, migrated database of dialect d, removed when the
// test ends.
func OpenDB(tb testing.TB, d store.Dialect) *store.DB {
	tb.Helper()
	ctx := context.Background()
	var url string
	switch d {
	case store.SQLite:
		url = "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	case store.MySQL:
		url = createMySQLDatabase(tb)
	}
	db, err := store.Open(store.Options{URL: url, MaxOpenConns: 40})
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

func createMySQLDatabase(tb testing.TB) string {
	tb.Helper()
	return CreateDatabase(tb, os.Getenv("TEST_MYSQL_DSN"))
}

// CreateDatabase creates a database of a unique name on the server of
// serverDSN (a MySQL DSN without a database), dropped when the test ends,
// and returns the DSN of it.
func CreateDatabase(tb testing.TB, serverDSN string) string {
	tb.Helper()
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		tb.Fatalf("server DSN: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "uh_test_" + hex.EncodeToString(b[:])
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create test database (is MariaDB up at TEST_MYSQL_DSN?): %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// OnServer is dsn's database on the server of serverDSN: the same
// database through another node of a cluster, or on a replica.
func OnServer(tb testing.TB, dsn, serverDSN string) string {
	tb.Helper()
	db, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.DBName = db.DBName
	return cfg.FormatDSN()
}

// OpenURL opens the MySQL database at url, reading lagged reads from
// replicas, migrated when migrate, closed when the test ends.
func OpenURL(tb testing.TB, url string, migrate bool, replicas ...string) *store.DB {
	tb.Helper()
	db, err := store.Open(store.Options{URL: url, MaxOpenConns: 40, ReplicaURLs: replicas})
	if err != nil {
		tb.Fatalf("open %s: %v", url, err)
	}
	tb.Cleanup(func() { db.Close() })
	if migrate {
		if err := db.Migrate(context.Background()); err != nil {
			tb.Fatalf("migrate: %v", err)
		}
	}
	return db
}
