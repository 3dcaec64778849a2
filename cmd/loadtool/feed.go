package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"unionhall/internal/auth"
	"unionhall/internal/clock"
	appconfig "unionhall/internal/config"
	"unionhall/internal/events"
	"unionhall/internal/page"
	"unionhall/models"
)

// The feed scenario: members read the first page of their feed (20 posts
// with each post's union and the member's sign-up), through the GraphQL
// server, through a plain net/http + database/sql handler running the
// same SQL (the baseline, a child process of this tool) and, with
// -peer-dir, through a Node peer (Apollo Server, DataLoader, the same
// SQL; another child), in rotating order, in one run; then page 1 against
// a page 10,000 rows deep.

const feedQ = `query($after: String) { events(first: 20, after: $after) { edges { cursor node { id title category coverUrl
  pinned publishAt views union { id name } mySignUp { id status } } } pageInfo { hasNextPage endCursor } } }`

type feedReport struct {
	Label     string         `json:"label,omitempty"`
	Config    map[string]any `json:"config"`
	DBVersion string         `json:"db_version"`
	SeedS     float64        `json:"seed_s"`
	Rounds    []feedRound    `json:"rounds"`
	Depth     *feedDepth     `json:"depth,omitempty"`
	RSSPeakMB float64        `json:"server_rss_peak_mb,omitempty"`
	VmHWMMB   float64        `json:"server_vmhwm_mb,omitempty"`
	PeerRSSMB float64        `json:"peer_rss_peak_mb,omitempty"`
	PeerHWMMB float64        `json:"peer_vmhwm_mb,omitempty"`
}

type feedRound struct {
	GraphQL *result `json:"graphql"`
	SQL     *result `json:"sql"`
	Ratio   float64 `json:"ratio_graphql_over_sql"`
	// Statements per request, from MariaDB's Questions counter.
	GraphQLStmts float64 `json:"graphql_stmts_per_req"`
	SQLStmts     float64 `json:"sql_stmts_per_req"`
	// The Node peer, with -peer-dir.
	Peer      *result `json:"peer,omitempty"`
	PeerRatio float64 `json:"ratio_graphql_over_peer,omitempty"`
	PeerStmts float64 `json:"peer_stmts_per_req,omitempty"`
}

// feedSide is one way of serving the feed, in its first round's order:
// graphql, sql, peer. rss is whose RSS its phases record (the baseline's
// phases record the GraphQL server's, as they always have).
type feedSide struct {
	name string
	cl   *gqlClient
	rss  *rssSampler
}

type feedDepth struct {
	Rows      int     `json:"rows_deep"`
	Page1     *result `json:"page1"`
	Deep      *result `json:"deep"`
	CostRatio float64 `json:"deep_over_page1_mean_latency"`
	RPSRatio  float64 `json:"page1_over_deep_rps"`
}

func runFeed(cfg config) error {
	ctx := context.Background()
	db, err := openDB(cfg.dsn, cfg.sqlMaxOpen, true)
	if err != nil {
		return err
	}
	defer db.Close()
	rep := feedReport{Label: cfg.label, Config: map[string]any{"members": cfg.feedMembers, "posts": cfg.feedPosts,
		"c": cfg.conc, "requests": cfg.members, "sample": cfg.feedSample, "rounds": cfg.rounds, "deep": cfg.deep, "peer_dir": cfg.peerDir}}
	_ = db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&rep.DBVersion)
	t0 := time.Now()
	if _, err := seedFeed(ctx, db, cfg.feedMembers, cfg.feedPosts); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	rep.SeedS = time.Since(t0).Seconds()

	var rss *rssSampler
	if cfg.serverPID > 0 {
		if rss, err = startRSS(cfg.serverPID, 50*time.Millisecond); err != nil {
			return err
		}
		defer rss.stop()
	}
	c := newGQLClient(cfg.url, cfg.conc*2)
	tokens, err := loginFeedMembers(ctx, c, cfg)
	if err != nil {
		return err
	}
	stop, err := startBaseline(cfg)
	if err != nil {
		return err
	}
	defer stop()
	base := newGQLClient(cfg.baselineURL, cfg.conc*2)
	base.endpoints = []string{strings.TrimRight(cfg.baselineURL, "/") + "/feed"}
	sides := []feedSide{{"graphql", c, rss}, {"sql", base, rss}}
	var peerRSS *rssSampler
	if cfg.peerDir != "" {
		stopPeer, pid, err := startPeer(cfg)
		if err != nil {
			return err
		}
		defer stopPeer()
		if peerRSS, err = startRSS(pid, 50*time.Millisecond); err != nil {
			return fmt.Errorf("peer: %w", err)
		}
		defer peerRSS.stop()
		sides = append(sides, feedSide{"peer", newGQLClient(cfg.peerURL, cfg.conc*2), peerRSS})
	}

	feedCall := func(cl *gqlClient, token string, after *string) attempt {
		var out struct {
			Events struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		vars := map[string]any{}
		if after != nil {
			vars["after"] = *after
		}
		t := time.Now()
		err := cl.do(ctx, token, feedQ, vars, &out)
		status := "OK"
		if err == nil && len(out.Events.Edges) != 20 {
			status = fmt.Sprintf("SHORT_%d", len(out.Events.Edges))
		}
		return gqlAttempt(t, status, err)
	}
	noCheck := func(context.Context, *sql.DB, int64, *result) error { return nil }
	// Warm every side (connection pools, buffer pool, caches).
	for _, side := range sides {
		fire(len(tokens), cfg.conc, func(_, i int) attempt { return feedCall(side.cl, tokens[i], nil) })
	}
	for r := 0; r < cfg.rounds; r++ {
		// Round r starts with side r mod n, so that no side always meets
		// the machine first (or last) in a round.
		res := make([]*result, len(sides))
		for k := range sides {
			i := (r + k) % len(sides)
			time.Sleep(time.Second)
			res[i], err = measure(ctx, db, cfg, sides[i].rss, sides[i].name, cfg.members, 0, func(j int) attempt {
				return feedCall(sides[i].cl, tokens[j%len(tokens)], nil)
			}, noCheck)
			if err != nil {
				return err
			}
		}
		round := feedRound{GraphQL: res[0], SQL: res[1], GraphQLStmts: stmtsPerReq(res[0]), SQLStmts: stmtsPerReq(res[1])}
		if round.Ratio, err = ratioOf(round.GraphQL, round.SQL); err != nil {
			return fmt.Errorf("round %d: %w", r+1, err)
		}
		peer := ""
		if len(res) > 2 {
			round.Peer, round.PeerStmts = res[2], stmtsPerReq(res[2])
			if round.PeerRatio, err = ratioOf(round.GraphQL, round.Peer); err != nil {
				return fmt.Errorf("round %d: %w", r+1, err)
			}
			peer = fmt.Sprintf("; peer %.0f req/s, graphql/peer %.2f, %.2f statements/req", round.Peer.Throughput, round.PeerRatio, round.PeerStmts)
		}
		log.Printf("round %d: graphql %.0f req/s, sql %.0f req/s, ratio %.2f; statements/req %.2f vs %.2f%s", r+1,
			round.GraphQL.Throughput, round.SQL.Throughput, round.Ratio, round.GraphQLStmts, round.SQLStmts, peer)
		rep.Rounds = append(rep.Rounds, round)
	}

	if cfg.deep > 0 {
		// Walk one member's feed to deep rows (not measured), then compare
		// page 1 and the page after that cursor for everyone of that chain.
		var after *string
		walked := 0
		for walked < cfg.deep {
			var out struct {
				Events struct {
					Edges    []struct{ Cursor string }
					PageInfo struct{ EndCursor *string }
				}
			}
			q := strings.Replace(feedQ, "first: 20", "first: 100", 1)
			vars := map[string]any{}
			if after != nil {
				vars["after"] = *after
			}
			if err := c.do(ctx, tokens[0], q, vars, &out); err != nil {
				return fmt.Errorf("walk the feed: %w", err)
			}
			if len(out.Events.Edges) == 0 {
				return fmt.Errorf("the feed ends after %d rows, short of %d", walked, cfg.deep)
			}
			walked += len(out.Events.Edges)
			after = out.Events.PageInfo.EndCursor
		}
		// The cursor is a position in feed order, good for every chain.
		same := tokens
		d := &feedDepth{Rows: walked}
		// Alternate page 1 and the deep page twice, so drift on a shared
		// machine falls on both.
		var p1, dp []*result
		for pass := 0; pass < 2; pass++ {
			time.Sleep(time.Second)
			r1, err := measure(ctx, db, cfg, rss, "page 1", cfg.members, 0, func(i int) attempt {
				return feedCall(c, same[i%len(same)], nil)
			}, noCheck)
			if err != nil {
				return err
			}
			time.Sleep(time.Second)
			r2, err := measure(ctx, db, cfg, rss, fmt.Sprintf("page at row %d", walked), cfg.members, 0, func(i int) attempt {
				return feedCall(c, same[i%len(same)], after)
			}, noCheck)
			if err != nil {
				return err
			}
			p1, dp = append(p1, r1), append(dp, r2)
		}
		d.Page1, d.Deep = p1[len(p1)-1], dp[len(dp)-1]
		var m1, m2, t1, t2 float64
		for i := range p1 {
			m1, m2 = m1+p1[i].Meanms, m2+dp[i].Meanms
			t1, t2 = t1+p1[i].Throughput, t2+dp[i].Throughput
		}
		d.CostRatio, d.RPSRatio = m2/m1, t1/t2
		log.Printf("depth %d: mean latency ×%.2f of page 1 over two alternating passes (page 1 %.2f ms, deep %.2f ms)",
			walked, d.CostRatio, m1/2, m2/2)
		rep.Depth = d
	}
	if rss != nil {
		peak, hwm := rss.overall()
		rep.RSSPeakMB, rep.VmHWMMB = mb(peak), mb(hwm)
	}
	if peerRSS != nil {
		peak, hwm := peerRSS.overall()
		rep.PeerRSSMB, rep.PeerHWMMB = mb(peak), mb(hwm)
	}
	printFeedTable(&rep)
	line, _ := json.Marshal(rep)
	fmt.Println(string(line))
	return nil
}

// loginFeedMembers logs in -feed-sample members spread over the seeded
// ones (not measured).
func loginFeedMembers(ctx context.Context, c *gqlClient, cfg config) ([]string, error) {
	n := cfg.feedSample
	tokens := make([]string, n)
	var firstErr error
	atts, wall := fire(n, cfg.conc, func(_, i int) attempt {
		// Member k lives in grassroots union k mod 3,200: the sample
		// covers the unions evenly.
		idx := i * max(1, cfg.feedMembers/n)
		var out struct{ LoginWithWeChat struct{ AccessToken string } }
		err := c.do(ctx, "", loginMemberQ, map[string]any{"code": feedOpenID(idx)}, &out)
		if err != nil {
			return attempt{outcome: "ERR", detail: err.Error()}
		}
		tokens[i] = out.LoginWithWeChat.AccessToken
		return attempt{outcome: "OK"}
	})
	for _, a := range atts {
		if a.outcome != "OK" && firstErr == nil {
			firstErr = errors.New(a.detail)
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("member login: %w", firstErr)
	}
	log.Printf("logged in %d members in %v (not measured)", n, wall.Round(time.Millisecond))
	return tokens, nil
}

// startBaseline starts this tool as the baseline server and waits for it.
func startBaseline(cfg config) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.baselineURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-baseline-url %q: want http://host:port", cfg.baselineURL)
	}
	cmd := exec.Command(exe, "-serve-feed-baseline", u.Host, "-dsn", cfg.dsn, "-sql-max-open", fmt.Sprint(cfg.sqlMaxOpen))
	return startChild("baseline", cmd, cfg.baselineURL)
}

// startPeer starts the Node peer in -peer-dir on the baseline's database,
// pool size and token configuration, waits for it and returns its pid.
func startPeer(cfg config) (func(), int, error) {
	u, err := url.Parse(cfg.peerURL)
	if err != nil || u.Host == "" {
		return nil, 0, fmt.Errorf("-peer-url %q: want http://host:port", cfg.peerURL)
	}
	appCfg, err := feedAppConfig()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command("node", "index.js")
	cmd.Dir = cfg.peerDir
	cmd.Env = append(os.Environ(), "PEER_ADDR="+u.Host, "DATABASE_DSN="+cfg.dsn, fmt.Sprint("DB_MAX_OPEN_CONNS=", cfg.sqlMaxOpen),
		"JWT_KEYS="+appCfg.JWTKeys, "JWT_ISSUER="+appCfg.JWTIssuer, "JWT_AUDIENCE="+appCfg.JWTAudience)
	stop, err := startChild("peer", cmd, cfg.peerURL)
	if err != nil {
		return nil, 0, err
	}
	return stop, cmd.Process.Pid, nil
}

// startChild starts cmd, a server for this run, and waits until base
// answers /healthz with the child's pid: a different server already on
// that port (which would answer 404 to the feed) is not taken for it.
func startChild(name string, cmd *exec.Cmd, base string) (func(), error) {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s server: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() { _ = cmd.Process.Kill(); <-exited }
	want := strconv.Itoa(cmd.Process.Pid)
	for i := 0; i < 100; i++ {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the %s server exited: %v", name, err)
		default:
		}
		if resp, err := http.Get(strings.TrimRight(base, "/") + "/healthz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) == want {
				log.Printf("%s server pid %d on %s", name, cmd.Process.Pid, base)
				return stop, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("no %s server of ours answers on %s (another server on that port?)", name, base)
}

// feedAppConfig is the configuration the baseline and the peer verify
// tokens with: the dev defaults under this tool's environment.
func feedAppConfig() (appconfig.Config, error) {
	return appconfig.Load(func(k string) (string, bool) {
		if k == "APP_ENV" {
			return "dev", true
		}
		return os.LookupEnv(k)
	})
}

// serveFeedBaseline is the plain handler: it verifies the same JWT with
// the same library and keys, then runs the feed's SQL (the viewer, the
// feed statement itself — events.FeedSQL —, the posts' unions and the
// member's sign-ups) with database/sql and writes the same JSON.
func serveFeedBaseline(addr, dsn string, maxOpen int) error {
	db, err := openDB(dsn, maxOpen, true)
	if err != nil {
		return err
	}
	appCfg, err := feedAppConfig()
	if err != nil {
		return err
	}
	tokens, err := auth.NewTokens(appCfg, clock.Real{})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, os.Getpid()) })
	mux.HandleFunc("POST /feed", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Variables struct{ After *string } `json:"variables"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		p, err := tokens.Verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil || !p.IsMember() {
			writeJSON(w, map[string]any{"errors": []any{map[string]any{"message": "unauthenticated", "extensions": map[string]any{"code": "UNAUTHENTICATED"}}}})
			return
		}
		out, err := baselineFeed(r.Context(), db, p.ID, req.Variables.After)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"events": out}})
	})
	log.Printf("feed baseline listening on %s", addr)
	return http.ListenAndServe(addr, mux)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

type baseNode struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Category  string     `json:"category"`
	CoverURL  string     `json:"coverUrl"`
	Pinned    bool       `json:"pinned"`
	PublishAt *time.Time `json:"publishAt"`
	Views     int64      `json:"views"`
	Union     struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"union"`
	MySignUp *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"mySignUp"`
	unionID int64
	postID  int64
}

func baselineFeed(ctx context.Context, db *sql.DB, memberID int64, after *string) (map[string]any, error) {
	// 1. The viewer: the member and their union's path.
	var path sql.NullString
	var status string
	if err := db.QueryRowContext(ctx, "SELECT members.status, unions.path FROM members LEFT JOIN unions ON unions.id = members.union_id"+
		" WHERE members.id = ?", memberID).Scan(&status, &path); err != nil {
		return nil, err
	}
	chain := models.PathIDs(path.String)
	var key struct {
		K int64 `json:"k"`
		I int64 `json:"i"`
	}
	hasKey, err := page.Decode(after, &key)
	if err != nil {
		return nil, err
	}
	// 2. The feed statement, as the server builds it.
	q, args := events.FeedSQL(true, chain, nil, hasKey, key.K, key.I, 21, time.Now())
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	cols, _ := rows.Columns()
	var nodes []*baseNode
	for rows.Next() {
		n := &baseNode{}
		var discard any
		dst := make([]any, len(cols))
		for i, c := range cols {
			switch c {
			case "id":
				dst[i] = &n.postID
			case "union_id":
				dst[i] = &n.unionID
			case "title":
				dst[i] = &n.Title
			case "category":
				dst[i] = &n.Category
			case "cover_url":
				dst[i] = &n.CoverURL
			case "pinned":
				dst[i] = &n.Pinned
			case "publish_at":
				dst[i] = &n.PublishAt
			case "view_count":
				dst[i] = &n.Views
			default:
				dst[i] = &discard
			}
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return nil, err
		}
		n.ID = fmt.Sprint(n.postID)
		nodes = append(nodes, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	hasNext := len(nodes) > 20
	if hasNext {
		nodes = nodes[:20]
	}
	if len(nodes) > 0 {
		// 3. The posts' unions; 4. the member's sign-ups of these posts.
		unionIDs, postIDs := map[int64]bool{}, make([]any, 0, len(nodes))
		for _, n := range nodes {
			unionIDs[n.unionID] = true
			postIDs = append(postIDs, n.postID)
		}
		uargs := make([]any, 0, len(unionIDs))
		for id := range unionIDs {
			uargs = append(uargs, id)
		}
		names := map[int64]string{}
		urows, err := db.QueryContext(ctx, "SELECT id, name FROM unions WHERE id IN (?"+strings.Repeat(",?", len(uargs)-1)+")", uargs...)
		if err != nil {
			return nil, err
		}
		for urows.Next() {
			var id int64
			var name string
			if err := urows.Scan(&id, &name); err != nil {
				urows.Close()
				return nil, err
			}
			names[id] = name
		}
		urows.Close()
		mine := map[int64][2]string{}
		srows, err := db.QueryContext(ctx, "SELECT id, post_id, status FROM event_signups WHERE member_id = ? AND post_id IN (?"+
			strings.Repeat(",?", len(postIDs)-1)+") ORDER BY id", append([]any{memberID}, postIDs...)...)
		if err != nil {
			return nil, err
		}
		for srows.Next() {
			var id, post int64
			var st string
			if err := srows.Scan(&id, &post, &st); err != nil {
				srows.Close()
				return nil, err
			}
			mine[post] = [2]string{fmt.Sprint(id), st}
		}
		srows.Close()
		for _, n := range nodes {
			n.Union.ID, n.Union.Name = fmt.Sprint(n.unionID), names[n.unionID]
			if m, ok := mine[n.postID]; ok {
				n.MySignUp = &struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				}{m[0], m[1]}
			}
		}
	}
	edges := make([]map[string]any, len(nodes))
	var end *string
	for i, n := range nodes {
		p := models.EventPost{ID: n.postID, Pinned: n.Pinned, PublishAt: n.PublishAt}
		c := page.Encode(key2{K: p.FeedKey(), I: n.postID})
		edges[i] = map[string]any{"cursor": c, "node": n}
		end = &c
	}
	return map[string]any{"edges": edges, "pageInfo": map[string]any{"hasNextPage": hasNext, "endCursor": end}}, nil
}

type key2 struct {
	K int64 `json:"k"`
	I int64 `json:"i"`
}

func stmtsPerReq(r *result) float64 { return float64(r.DBStatus["Questions"]) / float64(r.Requests) }

func printFeedTable(r *feedReport) {
	fmt.Printf("\nfeed: %v members, %v posts, c=%v, %v requests a phase, db %s (seed %.0f s)\n", r.Config["members"], r.Config["posts"],
		r.Config["c"], r.Config["requests"], r.DBVersion, r.SeedS)
	for i, x := range r.Rounds {
		fmt.Printf("round %d: graphql %.0f req/s (p50 %.1f p99 %.1f ms, %.2f stmts/req)  sql %.0f req/s (p50 %.1f p99 %.1f ms, %.2f stmts/req)  ratio %.2f  outcomes %s / %s\n",
			i+1, x.GraphQL.Throughput, x.GraphQL.P50ms, x.GraphQL.P99ms, x.GraphQLStmts, x.SQL.Throughput, x.SQL.P50ms, x.SQL.P99ms,
			x.SQLStmts, x.Ratio, fmtOutcomes(x.GraphQL.Outcomes), fmtOutcomes(x.SQL.Outcomes))
		if p := x.Peer; p != nil {
			fmt.Printf("         peer %.0f req/s (p50 %.1f p99 %.1f ms, %.2f stmts/req)  graphql/peer %.2f  outcomes %s\n",
				p.Throughput, p.P50ms, p.P99ms, x.PeerStmts, x.PeerRatio, fmtOutcomes(p.Outcomes))
		}
	}
	if d := r.Depth; d != nil {
		fmt.Printf("depth: page 1 %.0f req/s mean %.2f ms; row %d %.0f req/s mean %.2f ms; deep/page1 latency ×%.2f\n",
			d.Page1.Throughput, d.Page1.Meanms, d.Rows, d.Deep.Throughput, d.Deep.Meanms, d.CostRatio)
	}
	if r.RSSPeakMB > 0 {
		fmt.Printf("server RSS peak %.0f MB (VmHWM %.0f MB)\n", r.RSSPeakMB, r.VmHWMMB)
	}
	if r.PeerRSSMB > 0 {
		fmt.Printf("peer RSS peak %.0f MB (VmHWM %.0f MB)\n", r.PeerRSSMB, r.PeerHWMMB)
	}
}
