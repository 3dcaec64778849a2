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
