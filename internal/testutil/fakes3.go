package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"unionhall/internal/config"
)

// FakeS3 is an S3-protocol server on loopback (gofakes3, in memory) for
// FILE_STORE=s3. gofakes3 does not check signatures, so FakeS3 checks what
// a client of a presigned link depends on: the SigV4 query signature and
// the expiry, against a clock the test can move (Advance). Down makes it
// drop every request, DropPuts every upload after its first bytes: a store
// outage, before or in the middle of an upload.
type FakeS3 struct {
	URL      string
	Bucket   string
	backend  *s3mem.Backend
	skew     atomic.Int64
	down     atomic.Bool
	dropPuts atomic.Bool
}

// Fake S3 credentials.
const (
	FakeS3Key    = "unionhall-test-key"
	FakeS3Secret = "unionhall-test-secret-0123456789"
	FakeS3Region = "cn-test-1"
)

// NewFakeS3 starts a fake S3 with one bucket, closed when the test ends.
func NewFakeS3(tb testing.TB) *FakeS3 {
	tb.Helper()
	f := &FakeS3{Bucket: "unionhall", backend: s3mem.New()}
	if err := f.backend.CreateBucket(f.Bucket); err != nil {
		tb.Fatal(err)
	}
	fake := gofakes3.New(f.backend, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(f.wrap(fake.Server()))
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Use configures a server to keep its files in f.
func (f *FakeS3) Use(prefix string) Option {
	return func(c *config.Config) {
		c.FileStore = "s3"
		c.S3 = config.S3{Endpoint: f.URL, Bucket: f.Bucket, Region: FakeS3Region, AccessKey: FakeS3Key,
			SecretKey: FakeS3Secret, PathStyle: true, Prefix: prefix}
	}
}

// Advance moves the store's clock (for link expiry) forward.
func (f *FakeS3) Advance(d time.Duration) { f.skew.Add(int64(d)) }

// Down makes every request fail (the connection is dropped), or not.
func (f *FakeS3) Down(down bool) { f.down.Store(down) }

// DropPuts makes every upload fail after its first bytes arrive, or not.
func (f *FakeS3) DropPuts(drop bool) { f.dropPuts.Store(drop) }

// Keys lists the bucket's keys.
func (f *FakeS3) Keys(tb testing.TB) []string {
	tb.Helper()
	list, err := f.backend.ListBucket(f.Bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		tb.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	return keys
}

func (f *FakeS3) now() time.Time { return time.Now().Add(time.Duration(f.skew.Load())) }

func (f *FakeS3) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			hangUp(w)
			return
		}
		if r.Method == http.MethodPut && f.dropPuts.Load() {
			io.CopyN(io.Discard, r.Body, 1024)
			hangUp(w)
			return
		}
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			if err := f.checkPresigned(r); err != nil {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>%s</Message></Error>`, err)
				return
			}
			// gofakes3 would refuse the link's old X-Amz-Date as skewed.
			q := r.URL.Query()
			for k := range q {
				if strings.HasPrefix(k, "X-Amz-") {
					q.Del(k)
				}
			}
			r.URL.RawQuery = q.Encode()
		}
		h.ServeHTTP(w, r)
	})
}

func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

// checkPresigned verifies a SigV4 presigned GET: the signature over the
// method, path, query and host with the fake's secret, and the expiry.
func (f *FakeS3) checkPresigned(r *http.Request) error {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-SignedHeaders") != "host" {
		return fmt.Errorf("unsupported presign %q %q", q.Get("X-Amz-Algorithm"), q.Get("X-Amz-SignedHeaders"))
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date")
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Expires")
	}
	if f.now().After(signed.Add(time.Duration(secs) * time.Second)) {
		return fmt.Errorf("Request has expired")
	}
	cred := strings.SplitN(q.Get("X-Amz-Credential"), "/", 2)
	if len(cred) != 2 || cred[0] != FakeS3Key {
		return fmt.Errorf("unknown access key")
	}
	scope := cred[1] // date/region/s3/aws4_request
	parts := strings.Split(scope, "/")
	if len(parts) != 4 {
		return fmt.Errorf("bad credential scope")
	}
	var keys []string
	for k := range q {
		if k != "X-Amz-Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		for _, v := range q[k] {
			cq = append(cq, awsEscape(k)+"="+awsEscape(v))
		}
	}
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(cq, "&"),
		"host:" + r.Host + "\n", "host", "UNSIGNED-PAYLOAD"}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", q.Get("X-Amz-Date"), scope, hex.EncodeToString(sum[:])}, "\n")
	key := []byte("AWS4" + FakeS3Secret)
	for _, p := range parts {
		key = hmacSHA256(key, p)
	}
	if want := hex.EncodeToString(hmacSHA256(key, toSign)); !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		return fmt.Errorf("The request signature we calculated does not match the signature you provided")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// awsEscape is SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~.
func awsEscape(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}
