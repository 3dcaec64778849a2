package config

import (
	"strings"
	"testing"
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
