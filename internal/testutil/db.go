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
	cfg, err := mysql.ParseDSN(os.Getenv("TEST_MYSQL_DSN"))
	if err != nil {
		tb.Fatalf("TEST_MYSQL_DSN: %v", err)
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
