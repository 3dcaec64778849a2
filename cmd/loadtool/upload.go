package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runUpload is -scenario upload: -files uploads of -file-size bytes each
// (a PNG proof), -c at a time, through POST /upload as members would send
// them, measuring throughput, latency and the server's peak RSS (which
// must not grow with the file size: the server spools to disk and streams
// to the store).
func runUpload(cfg config) error {
	ctx := context.Background()
	c := newGQLClient(cfg.url, cfg.conc)
	tokens := make([]string, cfg.conc)
	for i := range tokens {
		var out struct{ LoginWithWeChat struct{ AccessToken string } }
		code := fmt.Sprintf("dev:%supload%03d", cfg.prefix, i)
		if err := c.do(ctx, "", `mutation($c: String!) { loginWithWeChat(input: {code: $c}) { accessToken } }`,
			map[string]any{"c": code}, &out); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		tokens[i] = out.LoginWithWeChat.AccessToken
	}
	payload := make([]byte, cfg.fileSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	copy(payload, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

	var rss *rssSampler
	if cfg.serverPID > 0 {
		var err error
		if rss, err = startRSS(cfg.serverPID, 20*time.Millisecond); err != nil {
			return err
		}
		defer rss.stop()
	}
	before := rss.window()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.conc * 2, DisableCompression: true}}
	var next atomic.Int64
	lat := make([]time.Duration, cfg.files)
	var failures atomic.Int64
	var firstErr sync.Once
	var errText string
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.files {
					return
				}
				t0 := time.Now()
				if err := uploadOne(client, cfg.url, tokens[w], payload); err != nil {
					failures.Add(1)
					firstErr.Do(func() { errText = err.Error() })
				}
				lat[i] = time.Since(t0)
			}
		}(w)
	}
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	out := map[string]any{
		"scenario": "upload", "label": cfg.label, "files": cfg.files, "fileBytes": cfg.fileSize, "c": cfg.conc,
		"wallSec": wall.Seconds(), "filesPerSec": float64(cfg.files) / wall.Seconds(),
		"MBps":  float64(cfg.files) * float64(cfg.fileSize) / (1 << 20) / wall.Seconds(),
		"p50ms": lat[len(lat)/2].Milliseconds(), "p99ms": lat[len(lat)*99/100].Milliseconds(),
		"failures": failures.Load(), "firstError": errText,
	}
	if rss != nil {
		out["rssBeforeMB"] = float64(before) / (1 << 20)
		out["rssPeakMB"] = float64(rss.windowPeakBytes()) / (1 << 20)
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(os.Stdout, string(b))
	if failures.Load() > 0 {
		return fmt.Errorf("%d of %d uploads failed: %s", failures.Load(), cfg.files, errText)
	}
	return nil
}

// uploadOne sends one multipart upload with a known length, streaming the
// payload (the client holds it once for all uploads).
func uploadOne(client *http.Client, base, token string, payload []byte) error {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	_ = mw.WriteField("purpose", "PROOF")
	if _, err := mw.CreateFormFile("file", "proof.png"); err != nil {
		return err
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), bytes.NewReader(payload), strings.NewReader(tail))
	req, _ := http.NewRequest(http.MethodPost, strings.TrimRight(base, "/")+"/upload", body)
	req.ContentLength = int64(head.Len() + len(payload) + len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}
