// Package store opens the database (MySQL/MariaDB in production, embedded
// SQLite by default), applies the versioned migrations and translates driver
// errors into application errors at this one boundary.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"unionhall/internal/apperr"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	MySQL  Dialect = "mysql"
	SQLite Dialect = "sqlite"
)

// Options for Open.
type Options struct {
	// URL is a MySQL DSN (user:pass@tcp(host:3306)/db?…, optionally prefixed
	// mysql://) or sqlite:PATH. Empty means SQLite at DefaultSQLitePath.
	URL               string
	DefaultSQLitePath string
	MaxOpenConns      int
	Logger            *slog.Logger
}

// DB is the opened database.
type DB struct {
	*gorm.DB
	SQL     *sql.DB
	Dialect Dialect

	statements *atomic.Int64
}

// Statements is how many SQL statements (not counting BEGIN and COMMIT)
// this DB has run; benchmarks and tests read it to bound a request's cost.
func (db *DB) Statements() int64 { return db.statements.Load() }

// countStatements counts every statement GORM runs, in total and for the
// request whose context carries a counter (see WithStatementCounter).
func countStatements(g *gorm.DB, total *atomic.Int64) error {
	fn := func(tx *gorm.DB) {
		total.Add(1)
		if c, ok := tx.Statement.Context.Value(counterKey{}).(*atomic.Int64); ok {
			c.Add(1)
		}
	}
	cb := g.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("unionhall:count", fn),
		cb.Create().After("gorm:create").Register("unionhall:count", fn),
		cb.Update().After("gorm:update").Register("unionhall:count", fn),
		cb.Delete().After("gorm:delete").Register("unionhall:count", fn),
		cb.Row().After("gorm:row").Register("unionhall:count", fn),
		cb.Raw().After("gorm:raw").Register("unionhall:count", fn),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

type counterKey struct{}

// WithStatementCounter returns ctx carrying a counter that every statement
// run with ctx increments.
func WithStatementCounter(ctx context.Context) (context.Context, *atomic.Int64) {
	c := new(atomic.Int64)
	return context.WithValue(ctx, counterKey{}, c), c
}

// Open connects; it does not migrate.
func Open(opts Options) (*DB, error) {
	dialect, dsn, err := parseURL(opts)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	var g *gorm.DB
	switch dialect {
	case MySQL:
		g, err = gorm.Open(mysql.New(mysql.Config{DSN: dsn}), cfg)
	case SQLite:
		g, err = gorm.Open(sqlite.Open(dsn), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	switch dialect {
	case MySQL:
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 30
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxLifetime(3 * time.Minute)
		sqlDB.SetConnMaxIdleTime(time.Minute)
	case SQLite:
		// SQLite has one writer. A single connection turns write contention
		// into a queue in database/sql instead of busy-retries inside SQLite;
		// it also means nothing may use the pool while holding a transaction.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
	}
	total := new(atomic.Int64)
	if err := countStatements(g, total); err != nil {
		return nil, err
	}
	return &DB{DB: g, SQL: sqlDB, Dialect: dialect, statements: total}, nil
}

func parseURL(opts Options) (Dialect, string, error) {
	u := strings.TrimSpace(opts.URL)
	if u == "" || strings.HasPrefix(u, "sqlite:") {
		path := strings.TrimPrefix(u, "sqlite:")
		if path == "" {
			path = opts.DefaultSQLitePath
		}
		if path == "" {
			return "", "", errors.New("store: no SQLite path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", "", fmt.Errorf("store: %w", err)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		return SQLite, dsn, nil
	}
	u = strings.TrimPrefix(u, "mysql://")
	cfg, err := mysqldrv.ParseDSN(u)
	if err != nil {
		return "", "", fmt.Errorf("store: DATABASE_URL is neither sqlite:PATH nor a MySQL DSN: %w", err)
	}
	// The conventions every query relies on: UTC times parsed into time.Time,
	// full Unicode.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["charset"] = "utf8mb4"
	cfg.Params["time_zone"] = "'+00:00'"
	// Arguments are interpolated by the driver (safe with utf8mb4): one round
	// trip a statement instead of prepare, execute and close.
	cfg.InterpolateParams = true
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	return MySQL, cfg.FormatDSN(), nil
}

// Migrate applies every pending migration of the dialect. The SQL lives in
// internal/store/migrations/<dialect>/ for operators to review.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return err
	}
	gd := goose.DialectMySQL
	if db.Dialect == SQLite {
		gd = goose.DialectSQLite3
	}
	p, err := goose.NewProvider(gd, db.SQL, sub)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// MigrationsFS exposes the embedded SQL (for the `migrations` subcommand).
func MigrationsFS(d Dialect) (fs.FS, error) { return fs.Sub(migrations, "migrations/"+string(d)) }

// Close closes the pool.
func (db *DB) Close() error { return db.SQL.Close() }

// Translate turns a database error into an application error. Duplicate
// keys become ALREADY_EXISTS with msg, missing rows NOT_FOUND; anything else
// is INTERNAL (logged, never shown).
func Translate(err error, notFound, duplicate string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return apperr.New(apperr.NotFound, notFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return apperr.Wrap(err, apperr.AlreadyExists, duplicate)
	}
	return err
}

// ReturnsIDs reports whether a multi-row INSERT through g learns each row's
// id from the database (RETURNING: MariaDB 10.5 and later, SQLite) rather
// than by counting on from the last insert id, which goes wrong wherever
// ids are not consecutive (a Galera cluster's auto_increment_increment,
// interleaved auto-increment locks).
func ReturnsIDs(g *gorm.DB) bool {
	d, ok := g.Dialector.(*mysql.Dialector)
	if !ok {
		return true
	}
	v, _, mariadb := strings.Cut(d.ServerVersion, "-MariaDB")
	if !mariadb {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 10 || major == 10 && minor >= 5
}

// IsDuplicate reports whether err is a unique-index violation.
func IsDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// IsNotFound reports whether err is gorm's record-not-found.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// IsRetryable reports whether err is MySQL choosing this transaction as a
// deadlock victim: it was rolled back whole and may simply run again.
func IsRetryable(err error) bool {
	var me *mysqldrv.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}
