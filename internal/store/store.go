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
	// ReplicaURLs are MySQL DSNs of read replicas (or of Galera nodes to
	// read from without waiting for the cluster), for the reads that
	// tolerate lag (DB.ReadLagged). Empty: every read goes to URL.
	ReplicaURLs []string

	// replicaOf is set when Open opens one of ReplicaURLs: its statements
	// count with the primary's, and it reads without waiting for a
	// Galera cluster (lagged reads allow the lag).
	replicaOf *atomic.Int64
}

// DB is the opened database.
type DB struct {
	*gorm.DB
	SQL     *sql.DB
	Dialect Dialect

	statements *atomic.Int64
	replicas   []*replica
	next       atomic.Uint32
	log        *slog.Logger
	// Galera is whether URL is a node of a Galera cluster; its connections
	// then read causally (wsrep_sync_wait), see Open.
	Galera bool
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
		sizeMySQLPool(sqlDB, opts.MaxOpenConns)
	case SQLite:
		// SQLite has one writer. A single connection turns write contention
		// into a queue in database/sql instead of busy-retries inside SQLite;
		// it also means nothing may use the pool while holding a transaction.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
	}
	total := opts.replicaOf
	if total == nil {
		total = new(atomic.Int64)
	}
	if err := countStatements(g, total); err != nil {
		return nil, err
	}
	db := &DB{DB: g, SQL: sqlDB, Dialect: dialect, statements: total, log: opts.Logger}
	if dialect == MySQL && opts.replicaOf == nil {
		if db.Galera, err = causalOnGalera(db, dsn, cfg, opts); err != nil {
			sqlDB.Close()
			return nil, err
		}
	}
	for _, u := range opts.ReplicaURLs {
		if strings.TrimSpace(u) == "" {
			continue
		}
		r, err := Open(Options{URL: u, MaxOpenConns: opts.MaxOpenConns, Logger: opts.Logger, replicaOf: total})
		if err != nil || r.Dialect != MySQL {
			db.Close()
			if err == nil {
				err = errors.New("store: a replica must be a MySQL DSN")
			}
			return nil, fmt.Errorf("store: replica: %w", err)
		}
		db.replicas = append(db.replicas, &replica{db: r})
	}
	return db, nil
}

// sizeMySQLPool gives a MySQL pool n connections (0: 30), kept open, each
// replaced after 3 minutes (so a proxy or a failed-over node is picked up).
func sizeMySQLPool(sqlDB *sql.DB, n int) {
	if n <= 0 {
		n = 30
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(3 * time.Minute)
	sqlDB.SetConnMaxIdleTime(time.Minute)
}

// causalOnGalera makes db's connections read causally when the server is
// a Galera node: a read on one node waits until the node has applied every
// write the cluster had committed when the read began (wsrep_sync_wait=1),
// so a session created through one node is valid at once through another,
// and the re-check before a mutation sees the caller's own last write. A
// DSN that sets wsrep_sync_wait itself keeps its value.
func causalOnGalera(db *DB, dsn string, cfg *gorm.Config, opts Options) (bool, error) {
	var on []string
	if err := db.Raw("SELECT @@GLOBAL.wsrep_on").Scan(&on).Error; err != nil || len(on) == 0 || (on[0] != "1" && on[0] != "ON") {
		return false, nil // not Galera (or not MariaDB: the variable is unknown)
	}
	dc, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		return false, err
	}
	if _, set := dc.Params["wsrep_sync_wait"]; set {
		return true, nil
	}
	dc.Params["wsrep_sync_wait"] = "1"
	g, err := gorm.Open(mysql.New(mysql.Config{DSN: dc.FormatDSN()}), cfg)
	if err != nil {
		return false, fmt.Errorf("store: reopen with causal reads: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return false, err
	}
	old := db.SQL
	sizeMySQLPool(sqlDB, opts.MaxOpenConns)
	if err := countStatements(g, db.statements); err != nil {
		return false, err
	}
	db.DB, db.SQL = g, sqlDB
	old.Close()
	return true, nil
}

// replica is one read replica and when it may be tried again after a
// failure.
type replica struct {
	db        *DB
	downUntil atomic.Int64 // unix nanoseconds
}

// replicaPause is how long a replica that failed is left out.
const replicaPause = 5 * time.Second

// ReadLagged runs fn, a read that tolerates a replica's lag (the feed,
// offering lists, statistics, exports), on a replica, the next in turn of
// those not left out; on the primary when there is none. A replica that
// fails to answer (down, unreachable, not replicating the table yet) is
// left out for a few seconds and fn runs again on the primary, so a
// replica going away costs a read nothing but time.
func (db *DB) ReadLagged(ctx context.Context, fn func(q *gorm.DB) error) error {
	now := time.Now().UnixNano()
	for range db.replicas {
		r := db.replicas[int(db.next.Add(1))%len(db.replicas)]
		if r.downUntil.Load() > now {
			continue
		}
		err := fn(r.db.WithContext(ctx))
		if err == nil || !replicaFault(ctx, err) {
			return err
		}
		r.downUntil.Store(time.Now().Add(replicaPause).UnixNano())
		if db.log != nil {
			db.log.Warn("read replica left out", "for", replicaPause.String(), "err", err.Error())
		}
		break
	}
	return fn(db.WithContext(ctx))
}

// Replicas is how many read replicas db has.
func (db *DB) Replicas() int { return len(db.replicas) }

// replicaFault tells a replica's failure (the read may go to the primary)
// from the request's own end or a refusal of its input.
func replicaFault(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, gorm.ErrRecordNotFound) {
		return false
	}
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		// 1146: the table is not there yet (a replica still catching up
		// with a migration); 1047/1053/1927: the server is going away.
		return me.Number == 1146 || me.Number == 1047 || me.Number == 1053 || me.Number == 1927
	}
	return true // the connection: refused, reset, timed out
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
func (db *DB) Close() error {
	for _, r := range db.replicas {
		r.db.Close()
	}
	return db.SQL.Close()
}

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

// ReturnsIDs reports whether a multi-row INSERT through g gives each row
// its own id back, row for row (MariaDB 10.5 and later: RETURNING, rows in
// the order inserted), rather than by counting on from the last insert id,
// which goes wrong wherever ids are not consecutive (a Galera cluster's
// auto_increment_increment, interleaved auto-increment locks). SQLite
// answers no: its RETURNING rows come in no documented order, and with one
// writer a single INSERT saves no lock time.
func ReturnsIDs(g *gorm.DB) bool {
	d, ok := g.Dialector.(*mysql.Dialector)
	if !ok {
		return false
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
