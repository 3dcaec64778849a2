package config

import (
	"strings"
	"testing"
	"time"
)

func load(env map[string]string) (Config, error) {
	return Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func TestDevDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsDev() || !c.SeedDemo || !c.FakeWeChat() || c.Port != 8080 {
		t.Fatalf("dev defaults: %+v", c)
	}
	if _, err := c.SigningKeys(); err != nil {
		t.Fatal(err)
	}
}

func TestProdRefusesWeakConfig(t *testing.T) {
	strong := map[string]string{
		"APP_ENV": "prod", "DATABASE_URL": "u:p@tcp(db:3306)/x",
		"JWT_KEYS":     "k1:" + strings.Repeat("s", 40),
		"PII_KEY":      strings.Repeat("ab", 32),
		"PII_HASH_KEY": strings.Repeat("cd", 32),
		"WECHAT_APPID": "wx1", "WECHAT_SECRET": "secret",
	}
	if _, err := load(strong); err != nil {
		t.Fatalf("strong prod config refused: %v", err)
	}
	for name, change := range map[string]map[string]string{
		"short jwt":      {"JWT_KEYS": "k1:short"},
		"dev jwt":        {"JWT_KEYS": devJWTKeys},
		"no jwt":         {"JWT_KEYS": ""},
		"no pii":         {"PII_KEY": ""},
		"dev pii":        {"PII_KEY": devPIIKey},
		"same pii keys":  {"PII_HASH_KEY": strings.Repeat("ab", 32)},
		"fake wechat":    {"WECHAT_APPID": ""},
		"no database":    {"DATABASE_URL": ""},
		"bad env":        {"APP_ENV": "staging"},
		"malformed keys": {"JWT_KEYS": "nocolon"},
	} {
		env := map[string]string{}
		for k, v := range strong {
			env[k] = v
		}
		for k, v := range change {
			env[k] = v
		}
		if _, err := load(env); err == nil {
			t.Errorf("%s: prod config accepted", name)
		}
	}
}

func TestPublicBaseURL(t *testing.T) {
	// Dev: defaults to the local port; a trailing slash is trimmed.
	if c, err := load(map[string]string{"PORT": "9001"}); err != nil || c.PublicBaseURL != "http://localhost:9001" {
		t.Fatalf("dev default = %q, %v", c.PublicBaseURL, err)
	}
	if c, err := load(map[string]string{"PUBLIC_BASE_URL": "https://hall.example.cn/api/"}); err != nil || c.PublicBaseURL != "https://hall.example.cn/api" {
		t.Fatalf("trailing slash: %q, %v", c.PublicBaseURL, err)
	}
	if c, err := load(map[string]string{"PUBLIC_BASE_URL": "http://192.168.1.5:8080"}); err != nil || c.PublicBaseURL != "http://192.168.1.5:8080" {
		t.Fatalf("dev http: %q, %v", c.PublicBaseURL, err)
	}
	for _, bad := range []string{"hall.example.cn", "/files", "ftp://hall.example.cn", "https://", "https:///x",
		"https://hall.example.cn/?a=1", "https://u:p@hall.example.cn", "https://hall.example.cn/#top", "http://[::1"} {
		if _, err := load(map[string]string{"PUBLIC_BASE_URL": bad}); err == nil {
			t.Errorf("dev accepted PUBLIC_BASE_URL %q", bad)
		}
	}

	prod := map[string]string{
		"APP_ENV": "prod", "DATABASE_URL": "u:p@tcp(db:3306)/x",
		"JWT_KEYS":     "k1:" + strings.Repeat("s", 40),
		"PII_KEY":      strings.Repeat("ab", 32),
		"PII_HASH_KEY": strings.Repeat("cd", 32),
		"WECHAT_APPID": "wx1", "WECHAT_SECRET": "secret",
	}
	with := func(v string) map[string]string {
		env := map[string]string{"PUBLIC_BASE_URL": v}
		for k, x := range prod {
			env[k] = x
		}
		return env
	}
	// Prod: unset stays unset (links relative); https is required when set.
	if c, err := load(prod); err != nil || c.PublicBaseURL != "" {
		t.Fatalf("prod unset = %q, %v", c.PublicBaseURL, err)
	}
	if c, err := load(with("https://hall.example.cn/")); err != nil || c.PublicBaseURL != "https://hall.example.cn" {
		t.Fatalf("prod https = %q, %v", c.PublicBaseURL, err)
	}
	for _, bad := range []string{"http://hall.example.cn", "hall.example.cn", "https://"} {
		if _, err := load(with(bad)); err == nil || !strings.Contains(err.Error(), "PUBLIC_BASE_URL") {
			t.Errorf("prod PUBLIC_BASE_URL %q: %v", bad, err)
		}
	}
}

func TestFileStore(t *testing.T) {
	if c, err := load(nil); err != nil || c.FileStore != "disk" || c.UnusedUploadTTL != 24*time.Hour {
		t.Fatalf("dev default = %q %s, %v", c.FileStore, c.UnusedUploadTTL, err)
	}
	s3 := map[string]string{"FILE_STORE": "s3", "S3_ENDPOINT": "http://127.0.0.1:9000", "S3_BUCKET": "b",
		"S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s", "S3_PATH_STYLE": "true", "S3_PREFIX": "uh/"}
	c, err := load(s3)
	if err != nil || c.S3.Endpoint != "http://127.0.0.1:9000" || !c.S3.PathStyle || c.S3.Prefix != "uh/" {
		t.Fatalf("s3 = %+v, %v", c.S3, err)
	}
	for name, env := range map[string]map[string]string{
		"unknown kind":   {"FILE_STORE": "nfs"},
		"s3 without key": {"FILE_STORE": "s3", "S3_ENDPOINT": "https://oss", "S3_BUCKET": "b"},
		"short ttl":      {"UNUSED_UPLOAD_TTL": "10m"},
	} {
		if _, err := load(env); err == nil {
			t.Errorf("%s: accepted %v", name, env)
		}
	}
	prod := map[string]string{
		"APP_ENV": "prod", "DATABASE_URL": "u:p@tcp(db:3306)/x", "JWT_KEYS": "k1:" + strings.Repeat("s", 40),
		"PII_KEY": strings.Repeat("ab", 32), "PII_HASH_KEY": strings.Repeat("cd", 32), "WECHAT_APPID": "wx1", "WECHAT_SECRET": "secret",
	}
	for k, v := range s3 {
		prod[k] = v
	}
	if _, err := load(prod); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("prod with http links: %v, want refused", err)
	}
	prod["S3_PUBLIC_ENDPOINT"] = "https://files.example.cn"
	if _, err := load(prod); err != nil {
		t.Fatalf("prod with an https public endpoint: %v", err)
	}
}
