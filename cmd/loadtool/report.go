package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

type report struct {
	Label           string         `json:"label,omitempty"`
	Config          map[string]any `json:"config"`
	DBVersion       string         `json:"db_version"`
	GraphQL         *result        `json:"graphql,omitempty"`
	SQL             *result        `json:"sql,omitempty"`
	Ratio           float64        `json:"ratio_graphql_over_sql,omitempty"` // the last round's
	Rounds          []bookRound    `json:"rounds,omitempty"`
	ServerRSSPeakMB float64        `json:"server_rss_peak_mb,omitempty"`
	ServerVmHWMMB   float64        `json:"server_vmhwm_mb,omitempty"`
}

func printTable(w io.Writer, r *report) {
	fmt.Fprintf(w, "\nclass booking: %v members, concurrency %v, capacity %v, waitlist %v, db %s, sql baseline pool %v interpolate %v\n\n",
		r.Config["members"], r.Config["c"], r.Config["capacity"], r.Config["waitlist"], r.DBVersion,
		r.Config["sql_max_open"], r.Config["sql_interpolate"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\treq\twall s\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tconfirmed rows\tcap\toversold\tcounter ok\tCPU s srv/db/tool/other\tbusy cores\tstmts/req*\trow-lock waits\t")
	for _, x := range []*result{r.GraphQL, r.SQL} {
		if x == nil {
			continue
		}
		q := float64(x.DBStatus["Questions"]) / float64(max(x.Requests, 1))
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%v\t%.1f/%.1f/%.1f/%.1f\t%.2f\t%.1f\t%d\t\n",
			x.Mode, x.Requests, x.WallSeconds, x.Throughput, x.P50ms, x.P90ms, x.P99ms, x.Maxms,
			x.Verify.ConfirmedRows, x.Verify.Capacity, x.Verify.Oversold, x.Verify.CounterOK && x.Verify.ReportedOK && x.Verify.DupMembers == 0,
			x.CPU.Server, x.CPU.DB, x.CPU.Tool, x.CPU.Other, x.CPU.Cores, q, x.DBStatus["Innodb_row_lock_waits"])
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, x := range []*result{r.GraphQL, r.SQL} {
		if x == nil {
			continue
		}
		fmt.Fprintf(w, "%-8s outcomes: %s\n", x.Mode, fmtOutcomes(x.Outcomes))
		for _, e := range x.Errors {
			fmt.Fprintf(w, "%-8s   e.g. %s\n", "", e)
		}
		if x.RSSPeakMB > 0 {
			fmt.Fprintf(w, "%-8s server RSS: %.1f MB at start, %.1f MB peak\n", "", x.RSSStartMB, x.RSSPeakMB)
		}
	}
	fmt.Fprintln(w, "* stmts/req: MariaDB's global Questions counter over the phase / requests (anything else on the server counts too)")
	if r.Ratio > 0 {
		fmt.Fprintf(w, "\nthroughput graphql/sql = %.2f\n", r.Ratio)
	}
	if r.ServerRSSPeakMB > 0 {
		fmt.Fprintf(w, "server RSS peak (sampled every 50ms over the whole tool run, logins included) = %.1f MB; VmHWM = %.1f MB\n",
			r.ServerRSSPeakMB, r.ServerVmHWMMB)
	}
	var warn []string
	for _, x := range []*result{r.GraphQL, r.SQL} {
		if x != nil && x.Verify.Oversold > 0 {
			warn = append(warn, fmt.Sprintf("%s OVERSOLD by %d", x.Mode, x.Verify.Oversold))
		}
		if x != nil && !(x.Verify.CounterOK && x.Verify.ReportedOK && x.Verify.DupMembers == 0) {
			warn = append(warn, fmt.Sprintf("%s verification mismatch: %+v", x.Mode, x.Verify))
		}
	}
	if len(warn) > 0 {
		fmt.Fprintln(w, "\n!! "+strings.Join(warn, "\n!! "))
	}
	fmt.Fprintln(w)
}

// bookRound is one graphql/sql pair of a booking or claim run.
type bookRound struct {
	GraphQL *result `json:"graphql,omitempty"`
	SQL     *result `json:"sql,omitempty"`
	Ratio   float64 `json:"ratio_graphql_over_sql,omitempty"`
}
