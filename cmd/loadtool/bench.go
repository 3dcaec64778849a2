package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// outcome is how one booking attempt ended: CONFIRMED, WAITLISTED, FULL, or
// anything else (an error code, "HTTP_503", "TRANSPORT", …).
type attempt struct {
	latency time.Duration
	outcome string
	detail  string
}

// result is one phase (graphql or sql).
type result struct {
	Mode        string         `json:"mode"`
	ClassID     int64          `json:"class_id"`
	Requests    int            `json:"requests"`
	WallSeconds float64        `json:"wall_s"`
	Throughput  float64        `json:"rps"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	Maxms       float64        `json:"max_ms"`
	Meanms      float64        `json:"mean_ms"`
	Outcomes    map[string]int `json:"outcomes"`
	Errors      []string       `json:"error_samples,omitempty"`
	// Failed counts requests that got no clean answer (transport errors,
	// HTTP errors, INTERNAL): a side with any has no ratio (see ratioOf).
	Failed     int              `json:"failed"`
	Verify     verification     `json:"verify"`
	CPU        cpuUse           `json:"cpu"`
	DBStatus   map[string]int64 `json:"db_status_delta"`
	RSSStartMB float64          `json:"server_rss_start_mb,omitempty"`
	RSSPeakMB  float64          `json:"server_rss_peak_mb,omitempty"`
}

type verification struct {
	Capacity       int  `json:"capacity"`
	WaitlistLimit  int  `json:"waitlist_limit"`
	ConfirmedRows  int  `json:"confirmed_rows"`
	WaitlistedRows int  `json:"waitlisted_rows"`
	ConfirmedCount int  `json:"confirmed_count"`
	WaitlistCount  int  `json:"waitlist_count"`
	Oversold       int  `json:"oversold"`
	CounterOK      bool `json:"counter_ok"`
	ReportedOK     bool `json:"reported_ok"` // responses agree with the rows
	DupMembers     int  `json:"dup_members"`
}

// fire runs do(i) for i in [0,n) on conc workers fed by a channel and
// collects every attempt.
func fire(n, conc int, do func(worker, i int) attempt) ([]attempt, time.Duration) {
	out := make([]attempt, n)
	jobs := make(chan int, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range jobs {
				out[i] = do(w, i)
			}
		}(w)
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out, time.Since(start)
}

func summarise(mode string, atts []attempt, wall time.Duration) *result {
	r := &result{Mode: mode, Requests: len(atts), WallSeconds: wall.Seconds(), Outcomes: map[string]int{}}
	lat := make([]time.Duration, len(atts))
	var sum time.Duration
	seen := map[string]bool{}
	for i, a := range atts {
		lat[i] = a.latency
		sum += a.latency
		r.Outcomes[a.outcome]++
		if a.detail != "" {
			r.Failed++
		}
		if a.detail != "" && !seen[a.outcome] && len(r.Errors) < 8 {
			seen[a.outcome] = true
			r.Errors = append(r.Errors, a.outcome+": "+a.detail)
		}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		i := int(p*float64(len(lat))+0.5) - 1 // nearest rank
		return lat[min(max(i, 0), len(lat)-1)]
	}
	if len(lat) > 0 {
		r.P50ms, r.P90ms, r.P99ms, r.Maxms = ms(q(0.50)), ms(q(0.90)), ms(q(0.99)), ms(lat[len(lat)-1])
		r.Meanms = ms(sum / time.Duration(len(lat)))
	}
	if wall > 0 {
		r.Throughput = float64(len(atts)) / wall.Seconds()
	}
	return r
}

// verify reads back the class row and its bookings.
func verify(ctx context.Context, db *sql.DB, classID int64, r *result) error {
	v := &r.Verify
	err := db.QueryRowContext(ctx, "SELECT capacity, waitlist_limit, confirmed_count, waitlist_count FROM training_classes WHERE id = ?",
		classID).Scan(&v.Capacity, &v.WaitlistLimit, &v.ConfirmedCount, &v.WaitlistCount)
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, "SELECT status, COUNT(*) FROM training_bookings WHERE class_id = ? GROUP BY status", classID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		switch st {
		case "CONFIRMED":
			v.ConfirmedRows = n
		case "WAITLISTED":
			v.WaitlistedRows = n
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT member_id FROM training_bookings WHERE class_id = ? AND active = 1"+
		" GROUP BY member_id HAVING COUNT(*) > 1) d", classID).Scan(&v.DupMembers)
	if err != nil {
		return err
	}
	v.Oversold = max(0, v.ConfirmedRows-v.Capacity)
	v.CounterOK = v.ConfirmedCount == v.ConfirmedRows && v.WaitlistCount == v.WaitlistedRows
	v.ReportedOK = r.Outcomes["CONFIRMED"] == v.ConfirmedRows && r.Outcomes["WAITLISTED"] == v.WaitlistedRows
	return nil
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	order := map[string]int{"CONFIRMED": 0, "WAITLISTED": 1, "FULL": 2}
	sort.Slice(k, func(i, j int) bool {
		oi, iok := order[k[i]]
		oj, jok := order[k[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return k[i] < k[j]
	})
	return k
}

func fmtOutcomes(m map[string]int) string {
	s := ""
	for _, k := range sortedKeys(m) {
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%s=%d", k, m[k])
	}
	return s
}

// measure runs one timed phase: n attempts of do at cfg.conc, with the
// processes' CPU, MariaDB's counters and the server's RSS around it, then
// checks pool id (a class or a batch) in the database with check.
func measure(ctx context.Context, db *sql.DB, cfg config, rss *rssSampler, mode string, n int, poolID int64,
	do func(i int) attempt, check func(context.Context, *sql.DB, int64, *result) error) (*result, error) {
	rssStart := rss.window()
	before := globalStatus(ctx, db)
	cpu := startCPU(cfg)
	atts, wall := fire(n, cfg.conc, func(_, i int) attempt { return do(i) })
	res := summarise(mode, atts, wall)
	res.CPU = cpu.stop()
	res.DBStatus = statusDelta(before, globalStatus(ctx, db))
	if rss != nil {
		res.RSSStartMB, res.RSSPeakMB = mb(rssStart), mb(rss.windowPeakBytes())
	}
	res.ClassID = poolID
	if err := check(ctx, db, poolID, res); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	log.Printf("%s: %.0f req/s, p99 %.1f ms, %s", mode, res.Throughput, res.P99ms, fmtOutcomes(res.Outcomes))
	return res, nil
}

// gqlAttempt classifies one GraphQL call: the status it returned, or its
// error code.
func gqlAttempt(start time.Time, status string, err error) attempt {
	a := attempt{latency: time.Since(start), outcome: status}
	var ce *callError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		a.outcome, a.detail = ce.code, ce.detail
	default:
		a.outcome, a.detail = "OTHER", err.Error()
	}
	return a
}

// sqlAttempt classifies one baseline transaction.
func sqlAttempt(start time.Time, status string, err error) attempt {
	a := attempt{latency: time.Since(start), outcome: status}
	var me *mysql.MySQLError
	switch {
	case err == nil:
	case errors.Is(err, errFull):
		a.outcome = "FULL"
	case errors.As(err, &me):
		a.outcome, a.detail = fmt.Sprintf("MYSQL_%d", me.Number), me.Message
	default:
		a.outcome, a.detail = "OTHER", err.Error()
	}
	return a
}

// ratioOf is a's throughput over b's, or an error when either side had
// failed requests or answered nothing: a ratio over errors (a baseline
// answering 404 to everything, say) measures nothing.
func ratioOf(a, b *result) (float64, error) {
	for _, r := range []*result{a, b} {
		if r.Failed > 0 || r.Throughput <= 0 {
			return 0, fmt.Errorf("no ratio: the %s side had %d failed of %d requests (%v)", r.Mode, r.Failed, r.Requests, r.Errors)
		}
	}
	return a.Throughput / b.Throughput, nil
}
