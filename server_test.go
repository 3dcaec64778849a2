package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"unionhall/internal/testutil"

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

// startRun runs the server as `go run .` does, with env, and returns its
// address and a stop that waits for it to end.
func startRun(t *testing.T, env map[string]string) (lookup func(string) (string, bool), url string, stop func()) {
	t.Helper()
	lookup = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, lookup, strings.NewReader(""), io.Discard, ready) }()
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start in time")
	}
	return lookup, url, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop in time")
		}
	}
}

// TestGracefulShutdownKeepsViews runs the real server (run, as `go run .`
// does), reads a post many times, stops the server as SIGTERM would, and
// finds every view in the database: none is lost in the buffer.
func TestGracefulShutdownKeepsViews(t *testing.T) {
	dir := t.TempDir()
	_, url, stop := startRun(t, map[string]string{"APP_ENV": "dev", "DATA_DIR": dir, "PORT": "0"})

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

// TestFilesMigrateCommand runs `files migrate --to s3` twice over a
// server's disk files: the first run copies and verifies, the second finds
// everything there.
func TestFilesMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	fake := testutil.NewFakeS3(t)
	env := map[string]string{"APP_ENV": "dev", "DATA_DIR": dir, "PORT": "0", "S3_ENDPOINT": fake.URL,
		"S3_BUCKET": fake.Bucket, "S3_REGION": testutil.FakeS3Region, "S3_ACCESS_KEY": testutil.FakeS3Key,
		"S3_SECRET_KEY": testutil.FakeS3Secret, "S3_PATH_STYLE": "true"}
	lookup, url, stop := startRun(t, env)
	var login struct{ LoginWithWeChat struct{ AccessToken string } }
	gql(t, url, "", `mutation { loginWithWeChat(input: {code: "dev:member01"}) { accessToken } }`, nil, &login)
	for i := 0; i < 3; i++ {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "proof.png")
		fw.Write(testutil.ProofPNG)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, url+"/upload?purpose=PROOF", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+login.LoginWithWeChat.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("upload: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	stop()
	for _, want := range []string{"3 copied and verified, 0 already there, 0 failed", "0 copied and verified, 3 already there, 0 failed"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"files", "migrate", "--to", "s3"}, lookup, strings.NewReader(""), &out, nil); err != nil {
			t.Fatalf("files migrate: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("files migrate said:\n%s\nwant %q", out.String(), want)
		}
	}
	if n := len(fake.Keys(t)); n != 3 {
		t.Fatalf("the bucket holds %d objects, want 3", n)
	}
}
