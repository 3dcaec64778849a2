package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
)

// gql posts one GraphQL request to url and decodes data into out.
func gql(t *testing.T, url, token, query string, vars map[string]any, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Errors) > 0 {
		t.Fatalf("%s: %s", query, raw)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGracefulShutdownKeepsViews runs the real server (run, as `go run .`
// does), reads a post many times, stops the server as SIGTERM would, and
// finds every view in the database: none is lost in the buffer.
func TestGracefulShutdownKeepsViews(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"APP_ENV": "dev", "DATA_DIR": dir, "PORT": "0"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, lookup, strings.NewReader(""), io.Discard, ready) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start in time")
	}

	var login struct{ LoginWithWeChat struct{ AccessToken string } }
	gql(t, url, "", `mutation { loginWithWeChat(input: {code: "dev:member01"}) { accessToken } }`, nil, &login)
	tok := login.LoginWithWeChat.AccessToken
	var feed struct {
		Events struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	gql(t, url, tok, `{ events(first: 1) { edges { node { id } } } }`, nil, &feed)
	if len(feed.Events.Edges) == 0 {
		t.Fatal("the demo feed is empty")
	}
	id := feed.Events.Edges[0].Node.ID
	const reads = 75
	var wg sync.WaitGroup
	for i := 0; i < reads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gql(t, url, tok, `query($id: ID!) { event(id: $id) { id } }`, map[string]any{"id": id}, nil)
		}()
	}
	wg.Wait()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop in time")
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "unionhall.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var views int64
	if err := db.QueryRow("SELECT view_count FROM event_posts WHERE id = ?", id).Scan(&views); err != nil {
		t.Fatal(err)
	}
	if views != reads {
		t.Fatalf("view_count = %d after %d reads and a graceful stop", views, reads)
	}
}
