package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// gqlClient posts to its endpoints in turn: one server, or several
// instances of it (-url a,b: a rush through two instances).
type gqlClient struct {
	endpoints []string
	next      atomic.Uint32
	http      *http.Client
}

func newGQLClient(base string, conns int) *gqlClient {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	c := &gqlClient{http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	for _, b := range strings.Split(base, ",") {
		c.endpoints = append(c.endpoints, strings.TrimRight(strings.TrimSpace(b), "/")+"/graphql")
	}
	return c
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"extensions"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// callError is a request that did not get a clean GraphQL answer.
type callError struct {
	code, detail string
}

func (e *callError) Error() string { return e.code + ": " + e.detail }

// do posts one operation. A GraphQL error comes back as *callError with
// its extensions.code.
func (c *gqlClient) do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	endpoint := c.endpoints[int(c.next.Add(1))%len(c.endpoints)]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &callError{"TRANSPORT", err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return &callError{"TRANSPORT", err.Error()}
	}
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return &callError{fmt.Sprintf("HTTP_%d", resp.StatusCode), short(string(raw), 200)}
	}
	if len(r.Errors) > 0 {
		code := r.Errors[0].Extensions.Code
		if code == "" {
			code = "NO_CODE"
		}
		return &callError{code, short(r.Errors[0].Message, 200)}
	}
	if resp.StatusCode != http.StatusOK {
		return &callError{fmt.Sprintf("HTTP_%d", resp.StatusCode), short(string(raw), 200)}
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			return fmt.Errorf("decode data: %w", err)
		}
	}
	return nil
}

const (
	loginMemberQ = `mutation($code: String!) { loginWithWeChat(input: {code: $code}) { accessToken member { id status } } }`
	loginAdminQ  = `mutation($u: String!, $p: String!) { loginAdmin(input: {username: $u, password: $p}) { accessToken } }`
	createClassQ = `mutation($in: CreateTrainingClassInput!) { createTrainingClass(input: $in) { trainingClass { id capacity } } }`
	publishQ     = `mutation($id: ID!) { publishTrainingClass(input: {id: $id}) { trainingClass { id status } } }`
	bookQ        = `mutation($id: ID!) { bookClass(input: {classId: $id}) { booking { id status } } }`
)

// loginMembers logs every seeded member in (not measured) and returns their
// access tokens.
func loginMembers(ctx context.Context, c *gqlClient, s *seeded, conc int) ([]string, error) {
	tokens := make([]string, len(s.codes))
	var failed atomic.Int64
	var firstErr atomic.Value
	atts, wall := fire(len(s.codes), conc, func(_, i int) attempt {
		var out struct {
			LoginWithWeChat struct {
				AccessToken string
				Member      struct{ ID, Status string }
			}
		}
		err := c.do(ctx, "", loginMemberQ, map[string]any{"code": s.codes[i]}, &out)
		if err == nil && out.LoginWithWeChat.Member.Status != "VERIFIED" {
			err = fmt.Errorf("member %s is %s, not VERIFIED", s.codes[i], out.LoginWithWeChat.Member.Status)
		}
		if err == nil && out.LoginWithWeChat.Member.ID != fmt.Sprint(s.ids[i]) {
			err = fmt.Errorf("login %s gave member %s, seeded %d", s.codes[i], out.LoginWithWeChat.Member.ID, s.ids[i])
		}
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return attempt{}
		}
		tokens[i] = out.LoginWithWeChat.AccessToken
		return attempt{}
	})
	_ = atts
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%d of %d member logins failed, first: %v", n, len(s.codes), firstErr.Load())
	}
	log.Printf("logged in %d members in %v (%.0f/s, not measured)", len(tokens), wall.Round(time.Millisecond),
		float64(len(tokens))/wall.Seconds())
	return tokens, nil
}

// createHotClass creates and publishes the class everyone books, as the
// admin: published by the admin's own union, so it is on every member's
// chain under it.
func createHotClass(ctx context.Context, c *gqlClient, cfg config) (int64, error) {
	var lo struct{ LoginAdmin struct{ AccessToken string } }
	if err := c.do(ctx, "", loginAdminQ, map[string]any{"u": cfg.admin, "p": cfg.password}, &lo); err != nil {
		return 0, fmt.Errorf("admin login: %w", err)
	}
	tok := lo.LoginAdmin.AccessToken
	now := time.Now().UTC()
	start := now.Add(7 * 24 * time.Hour).Truncate(time.Hour)
	in := map[string]any{
		"title":    fmt.Sprintf("压测热门课程 %s", now.Format("0102-150405")),
		"category": "DIGITAL",
		"sessions": []map[string]any{{
			"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(2 * time.Hour).Format(time.RFC3339),
			"place": "东华街道职工服务中心 3 楼",
		}},
		"capacity":        cfg.capacity,
		"waitlistLimit":   cfg.waitlist,
		"bookingOpensAt":  now.Add(-time.Minute).Format(time.RFC3339),
		"bookingClosesAt": now.Add(24 * time.Hour).Format(time.RFC3339),
	}
	var cr struct {
		CreateTrainingClass struct{ TrainingClass struct{ ID string } }
	}
	if err := c.do(ctx, tok, createClassQ, map[string]any{"in": in}, &cr); err != nil {
		return 0, fmt.Errorf("createTrainingClass: %w", err)
	}
	id := cr.CreateTrainingClass.TrainingClass.ID
	if err := c.do(ctx, tok, publishQ, map[string]any{"id": id}, nil); err != nil {
		return 0, fmt.Errorf("publishTrainingClass: %w", err)
	}
	var n int64
	if _, err := fmt.Sscan(id, &n); err != nil {
		return 0, fmt.Errorf("class id %q: %w", id, err)
	}
	return n, nil
}

func runGraphQL(ctx context.Context, db *sql.DB, cfg config, s *seeded, rss *rssSampler) (*result, error) {
	c := newGQLClient(cfg.url, max(cfg.conc, cfg.loginConc))
	classID, err := createHotClass(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	log.Printf("class %d published (capacity %d, waitlist %d)", classID, cfg.capacity, cfg.waitlist)
	tokens, err := loginMembers(ctx, c, s, cfg.loginConc)
	if err != nil {
		return nil, err
	}
	loggedIn := time.Now()

	time.Sleep(500 * time.Millisecond) // let the server settle after the logins
	log.Printf("graphql: %d bookClass at concurrency %d", len(tokens), cfg.conc)
	res, err := measure(ctx, db, cfg, rss, "graphql", len(tokens), classID, func(i int) attempt {
		var out struct {
			BookClass struct{ Booking struct{ ID, Status string } }
		}
		t := time.Now()
		err := c.do(ctx, tokens[i], bookQ, map[string]any{"id": fmt.Sprint(classID)}, &out)
		return gqlAttempt(t, out.BookClass.Booking.Status, err)
	}, verify)
	if time.Since(loggedIn) > 14*time.Minute {
		log.Printf("warning: the run outlasted the 15-minute access tokens; expect UNAUTHENTICATED")
	}
	return res, err
}
