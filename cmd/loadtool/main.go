// Command loadtool load-tests the class-booking hot path: N bound members
// book one class at once, through the GraphQL server and, as a baseline,
// as raw SQL transactions against the same database. See docs/BENCHMARKS.md.
//
//	loadtool -url http://127.0.0.1:18080 -dsn 'root@tcp(127.0.0.1:3306)/unionhall_bench' \
//	  -members 4000 -c 64 -mode both -server-pid $PID
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

type config struct {
	url        string
	dsn        string
	members    int
	conc       int
	capacity   int
	waitlist   int
	mode       string
	serverPID  int
	dbPID      int
	sqlMaxOpen int
	prefix     string
	admin      string
	password   string
	loginConc  int
	label      string
	interp     bool
	scenario   string

	feedMembers, feedPosts, feedSample, rounds, deep int
	baselineURL, peerDir, peerURL                    string

	files, fileSize int
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	var cfg config
	flag.StringVar(&cfg.url, "url", "http://127.0.0.1:18080", "server base URL (POST <url>/graphql); several, comma-separated, take the requests in turn (instances of one deployment)")
	flag.StringVar(&cfg.dsn, "dsn", "root@tcp(127.0.0.1:3306)/unionhall_bench", "MySQL DSN of the server's database (seeding, baseline, verification)")
	flag.IntVar(&cfg.members, "members", 4000, "members to seed; each books once")
	flag.IntVar(&cfg.conc, "c", 64, "concurrent bookings in flight")
	flag.IntVar(&cfg.capacity, "capacity", 0, "class capacity (0 = -members, every request a real booking)")
	flag.IntVar(&cfg.waitlist, "waitlist", 0, "class waitlist limit")
	flag.StringVar(&cfg.mode, "mode", "both", "graphql | sql | both")
	flag.IntVar(&cfg.serverPID, "server-pid", 0, "server PID: sample /proc/PID/status VmRSS every 50ms and its CPU time")
	flag.IntVar(&cfg.dbPID, "db-pid", 0, "optional mariadbd PID: report its CPU time per phase")
	flag.IntVar(&cfg.sqlMaxOpen, "sql-max-open", 30, "database/sql pool size of the raw-SQL baseline (the server's DB_MAX_OPEN_CONNS default)")
	flag.StringVar(&cfg.prefix, "prefix", "bench", "member login names: dev:<prefix>NNNNN")
	flag.StringVar(&cfg.admin, "admin", "city_admin", "admin that creates the class")
	flag.StringVar(&cfg.password, "password", "dev-password-123", "admin password")
	flag.IntVar(&cfg.loginConc, "login-c", 0, "concurrency of the (unmeasured) member logins (0 = -c)")
	flag.StringVar(&cfg.label, "label", "", "free text put in the JSON line (e.g. run number)")
	flag.BoolVar(&cfg.interp, "interpolate", true, "interpolate SQL arguments client-side (one round trip a statement), as the server's store does;"+
		" false: prepare, execute and close every statement")
	flag.StringVar(&cfg.scenario, "scenario", "booking", "booking (bookClass on one hot class) | claim (claimVoucher on one hot batch; -capacity is the stock)"+
		" | feed (the events feed on 1.5M members and 200k posts; -members is the requests per phase)"+
		" | upload (-files uploads of -file-size bytes through POST /upload, -c at a time)")
	flag.IntVar(&cfg.feedMembers, "feed-members", 1_500_000, "feed: members to seed")
	flag.IntVar(&cfg.feedPosts, "feed-posts", 200_000, "feed: posts to seed")
	flag.IntVar(&cfg.feedSample, "feed-sample", 2000, "feed: members logged in to read (spread over the unions)")
	flag.IntVar(&cfg.rounds, "rounds", 2, "graphql/sql(/peer) rounds, rotating which goes first (booking and claim: each on a fresh class or batch)")
	flag.IntVar(&cfg.deep, "deep", 10_000, "feed: also compare page 1 with the page this many rows deep (0: skip)")
	flag.StringVar(&cfg.baselineURL, "baseline-url", "http://127.0.0.1:18081", "feed: where the plain net/http baseline listens")
	flag.StringVar(&cfg.peerDir, "peer-dir", "", "feed: also measure the Node peer in this directory (node index.js, e.g. cmd/loadtool/peers/apollo after npm ci; empty: no peer)")
	flag.StringVar(&cfg.peerURL, "peer-url", "http://127.0.0.1:18082", "feed: where the Node peer listens")
	flag.IntVar(&cfg.files, "files", 200, "upload: how many files")
	flag.IntVar(&cfg.fileSize, "file-size", 2<<20, "upload: bytes per file")
	serveBase := flag.String("serve-feed-baseline", "", "internal: run the feed baseline server on this address")
	flag.Parse()
	if *serveBase != "" {
		log.Fatal(serveFeedBaseline(*serveBase, cfg.dsn, cfg.sqlMaxOpen))
	}
	if cfg.scenario == "upload" {
		if err := runUpload(cfg); err != nil {
			log.Fatal(err)
		}
		return
	}
	if cfg.scenario == "feed" {
		if err := runFeed(cfg); err != nil {
			log.Fatal(err)
		}
		return
	}
	if cfg.scenario != "booking" && cfg.scenario != "claim" {
		log.Fatalf("-scenario must be booking, claim or feed, not %q", cfg.scenario)
	}
	if cfg.capacity <= 0 {
		cfg.capacity = cfg.members
	}
	if cfg.loginConc <= 0 {
		cfg.loginConc = cfg.conc
	}
	if cfg.members < 1 || cfg.conc < 1 {
		log.Fatal("-members and -c must be positive")
	}
	doGQL, doSQL := false, false
	switch cfg.mode {
	case "graphql":
		doGQL = true
	case "sql":
		doSQL = true
	case "both":
		doGQL, doSQL = true, true
	default:
		log.Fatalf("-mode must be graphql, sql or both, not %q", cfg.mode)
	}
	if err := run(cfg, doGQL, doSQL); err != nil {
		log.Fatal(err)
	}
}

// openDB opens dsn with the conventions the server's store forces (UTC
// times, utf8mb4, client-side interpolation unless told otherwise) and a
// pool of maxOpen connections.
func openDB(dsn string, maxOpen int, interpolate bool) (*sql.DB, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse -dsn: %w", err)
	}
	mc.ParseTime = true
	mc.Loc = time.UTC
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["charset"] = "utf8mb4"
	mc.Params["time_zone"] = "'+00:00'"
	mc.InterpolateParams = interpolate
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxLifetime(3 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return db, nil
}

func run(cfg config, doGQL, doSQL bool) error {
	ctx := context.Background()
	db, err := openDB(cfg.dsn, cfg.sqlMaxOpen, cfg.interp)
	if err != nil {
		return err
	}
	defer db.Close()

	var version string
	_ = db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version)

	var rss *rssSampler
	if cfg.serverPID > 0 {
		if rss, err = startRSS(cfg.serverPID, 50*time.Millisecond); err != nil {
			return err
		}
		defer rss.stop()
	}

	t0 := time.Now()
	seed, err := seedMembers(ctx, db, cfg)
	if err != nil {
		return fmt.Errorf("seed members: %w", err)
	}
	log.Printf("seeded %d members (union %d) in %v", len(seed.ids), seed.unionID, time.Since(t0).Round(time.Millisecond))

	rep := report{Config: jsonConfig(cfg), DBVersion: version, Label: cfg.label}
	runGQL, runRaw := runGraphQL, runSQL
	if cfg.scenario == "claim" {
		runGQL, runRaw = runGraphQLClaim, runSQLClaim
	}
	// Rounds alternate which side goes first (graphql, sql; then sql,
	// graphql; …), each on a fresh class or batch, so neither side always
	// meets the warmer database.
	var noRatio error // reported after the table, which shows the errors
	for r := 0; r < max(1, cfg.rounds); r++ {
		var round bookRound
		sides := []func() error{
			func() error {
				if !doGQL {
					return nil
				}
				res, err := runGQL(ctx, db, cfg, seed, rss)
				if err != nil {
					return fmt.Errorf("graphql: %w", err)
				}
				round.GraphQL, rep.GraphQL = res, res
				return nil
			},
			func() error {
				if !doSQL {
					return nil
				}
				res, err := runRaw(ctx, db, cfg, seed, rss)
				if err != nil {
					return fmt.Errorf("sql: %w", err)
				}
				round.SQL, rep.SQL = res, res
				return nil
			},
		}
		if r%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return err
			}
		}
		if round.GraphQL != nil && round.SQL != nil {
			var err error
			if round.Ratio, err = ratioOf(round.GraphQL, round.SQL); err != nil && noRatio == nil {
				noRatio = fmt.Errorf("round %d: %w", r+1, err)
			}
			log.Printf("round %d: graphql %.0f/s, sql %.0f/s, ratio %.2f", r+1, round.GraphQL.Throughput, round.SQL.Throughput, round.Ratio)
		}
		rep.Rounds = append(rep.Rounds, round)
	}
	if rep.GraphQL != nil && rep.SQL != nil && noRatio == nil {
		rep.Ratio, noRatio = ratioOf(rep.GraphQL, rep.SQL)
	}
	if rss != nil {
		peak, hwm := rss.overall()
		rep.ServerRSSPeakMB, rep.ServerVmHWMMB = mb(peak), mb(hwm)
	}
	printTable(os.Stdout, &rep)
	line, _ := json.Marshal(rep)
	fmt.Println(string(line))
	if (rep.GraphQL != nil && rep.GraphQL.Verify.Oversold > 0) || (rep.SQL != nil && rep.SQL.Verify.Oversold > 0) {
		return fmt.Errorf("OVERSOLD")
	}
	return noRatio
}

func jsonConfig(c config) map[string]any {
	return map[string]any{"url": c.url, "members": c.members, "c": c.conc, "capacity": c.capacity,
		"waitlist": c.waitlist, "mode": c.mode, "sql_max_open": c.sqlMaxOpen, "sql_interpolate": c.interp,
		"dsn_db": dsnDB(c.dsn), "scenario": c.scenario}
}

func dsnDB(dsn string) string {
	if mc, err := mysql.ParseDSN(dsn); err == nil {
		return mc.DBName
	}
	return ""
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func short(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
