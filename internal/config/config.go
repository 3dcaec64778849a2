// Package config reads the server's configuration from the environment.
// Every variable has a documented default fit for `go run .` on a laptop;
// in production (APP_ENV=prod) secrets have no defaults and Validate refuses
// weak ones.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Dev-only secrets. They are public (they are in this file), so Validate
// refuses them in production.
const (
	devJWTKeys = "dev1:dev-only-jwt-secret-do-not-use-in-production-0123456789"
	devPIIKey  = "6465762d6f6e6c792d7069692d6b65792d646f2d6e6f742d7573652d21000000"
	devHashKey = "6465762d6f6e6c792d686173682d6b65792d646f2d6e6f742d7573652d210000"
)

// Config is the typed environment. See the README for the table.
type Config struct {
	Env         string `env:"APP_ENV" envDefault:"dev"`
	Port        int    `env:"PORT" envDefault:"8080"`
	DatabaseURL string `env:"DATABASE_URL"` // empty: embedded SQLite at DataDir/unionhall.db
	DataDir     string `env:"DATA_DIR" envDefault:"./data"`

	// JWTKeys is "kid:secret[,kid:secret…]"; the first key signs, all verify,
	// so a key can be rotated in without logging everybody out.
	JWTKeys        string        `env:"JWT_KEYS"`
	JWTIssuer      string        `env:"JWT_ISSUER" envDefault:"unionhall"`
	JWTAudience    string        `env:"JWT_AUDIENCE" envDefault:"unionhall-miniprogram"`
	AccessTokenTTL time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTTL     time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`

	// PIIKey encrypts ID numbers (AES-256-GCM); PIIHashKey keys the lookup hash.
	// 32 bytes each, hex or base64.
	PIIKey     string `env:"PII_KEY"`
	PIIHashKey string `env:"PII_HASH_KEY"`

	WeChatAppID   string `env:"WECHAT_APPID"`
	WeChatSecret  string `env:"WECHAT_SECRET"`
	WeChatAPIBase string `env:"WECHAT_API_BASE" envDefault:"https://api.weixin.qq.com"`

	SeedDemo          bool   `env:"SEED_DEMO"` // default: true in dev, false in prod
	BootstrapAdmin    string `env:"BOOTSTRAP_ADMIN_USERNAME"`
	BootstrapPassword string `env:"BOOTSTRAP_ADMIN_PASSWORD"`

	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	MaxUploadBytes  int64         `env:"MAX_UPLOAD_BYTES" envDefault:"10485760"`
	RequestTimeout  time.Duration `env:"REQUEST_TIMEOUT" envDefault:"15s"`
	ComplexityLimit int           `env:"GRAPHQL_COMPLEXITY_LIMIT" envDefault:"2500"`
	DepthLimit      int           `env:"GRAPHQL_DEPTH_LIMIT" envDefault:"10"`
	DBMaxOpenConns  int           `env:"DB_MAX_OPEN_CONNS" envDefault:"30"`
	// DatabaseReplicaURLs are read replicas (MySQL DSNs, comma-separated)
	// for the reads that tolerate lag: the feed, lists, statistics, exports.
	DatabaseReplicaURLs []string      `env:"DATABASE_REPLICA_URLS" envSeparator:","`
	ShutdownTimeout     time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`

	// NoShowLimit no-shows within 90 days bar a member from booking for
	// NoShowBanDays days.
	NoShowLimit   int `env:"NO_SHOW_LIMIT" envDefault:"3"`
	NoShowBanDays int `env:"NO_SHOW_BAN_DAYS" envDefault:"30"`

	// PublicBaseURL is where clients reach this server (https in prod): file
	// links handed to the mini-program are absolute under it. Empty in dev:
	// http://localhost:PORT.
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
	// MetricsAddr serves /metrics on a listener of its own. Empty in dev:
	// /metrics on the API port; in prod the default is loopback only.
	MetricsAddr string `env:"METRICS_ADDR"`
	// MetricsAddrDefaulted: MetricsAddr is prod's default, not chosen, so a
	// second instance on one host that finds it taken runs on without it.
	MetricsAddrDefaulted bool `env:"-"`
	// ClientIPHeader names the header a trusted proxy puts the client's
	// address in (X-Forwarded-For: its last hop; X-Real-IP). Empty: the
	// connection's address.
	ClientIPHeader string `env:"CLIENT_IP_HEADER"`
	// TrustedDocuments, when set, is a JSON file {"<sha256>": "<document>"}
	// shipped with the mini-program: only those documents run.
	TrustedDocuments string `env:"TRUSTED_DOCUMENTS"`
	// BodyReadTimeout bounds reading a GraphQL body; UploadReadTimeout an
	// upload's. Headers have HeaderReadTimeout.
	HeaderReadTimeout time.Duration `env:"HEADER_READ_TIMEOUT" envDefault:"5s"`
	BodyReadTimeout   time.Duration `env:"BODY_READ_TIMEOUT" envDefault:"10s"`
	UploadReadTimeout time.Duration `env:"UPLOAD_READ_TIMEOUT" envDefault:"120s"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"60s"`

	// RefreshReuseGrace: a refresh token presented again this soon after it
	// was rotated (its answer lost on a bad network) gets the same new pair
	// instead of revoking the session.
	RefreshReuseGrace time.Duration `env:"REFRESH_REUSE_GRACE" envDefault:"30s"`
	// SessionCacheTTL is how long an instance trusts that a session is live
	// before it asks the database again: a logout elsewhere takes at most this.
	SessionCacheTTL time.Duration `env:"SESSION_CACHE_TTL" envDefault:"5s"`

	// FileStore is where uploaded files' bytes live: disk (DATA_DIR/uploads,
	// one instance or a shared volume), db (the database: every instance),
	// or s3 (an S3-compatible object store: every instance, and clients load
	// files from it directly).
	FileStore string `env:"FILE_STORE" envDefault:"disk"`
	S3        S3     `envPrefix:"S3_"`
	// UnusedUploadTTL: an upload attached to nothing this long after it was
	// made is deleted, row and bytes.
	UnusedUploadTTL time.Duration `env:"UNUSED_UPLOAD_TTL" envDefault:"24h"`
}

// S3 configures FILE_STORE=s3 (see upload.S3Options).
type S3 struct {
	Endpoint       string `env:"ENDPOINT"`
	PublicEndpoint string `env:"PUBLIC_ENDPOINT"`
	Bucket         string `env:"BUCKET"`
	Region         string `env:"REGION"`
	AccessKey      string `env:"ACCESS_KEY"`
	SecretKey      string `env:"SECRET_KEY"`
	PathStyle      bool   `env:"PATH_STYLE"`
	Prefix         string `env:"PREFIX"`
}

// Load parses the environment given as a lookup function (os.LookupEnv in
// main, a map in tests) and fills dev defaults.
func Load(lookup func(string) (string, bool)) (Config, error) {
	vars := map[string]string{}
	for _, k := range knownVars {
		if v, ok := lookup(k); ok {
			vars[k] = v
		}
	}
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if _, ok := vars["SEED_DEMO"]; !ok {
		c.SeedDemo = c.IsDev()
	}
	if _, ok := vars["METRICS_ADDR"]; !ok && !c.IsDev() {
		c.MetricsAddr, c.MetricsAddrDefaulted = "127.0.0.1:9090", true
	}
	if c.IsDev() {
		if c.JWTKeys == "" {
			c.JWTKeys = devJWTKeys
		}
		if c.PIIKey == "" {
			c.PIIKey = devPIIKey
		}
		if c.PIIHashKey == "" {
			c.PIIHashKey = devHashKey
		}
		if c.PublicBaseURL == "" {
			c.PublicBaseURL = fmt.Sprintf("http://localhost:%d", c.Port)
		}
	}
	c.PublicBaseURL = strings.TrimRight(strings.TrimSpace(c.PublicBaseURL), "/")
	return c, c.Validate()
}

var knownVars = []string{
	"APP_ENV", "PORT", "DATABASE_URL", "DATA_DIR", "JWT_KEYS", "JWT_ISSUER", "JWT_AUDIENCE",
	"ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "PII_KEY", "PII_HASH_KEY", "WECHAT_APPID",
	"WECHAT_SECRET", "WECHAT_API_BASE", "SEED_DEMO", "BOOTSTRAP_ADMIN_USERNAME",
	"BOOTSTRAP_ADMIN_PASSWORD", "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "REQUEST_TIMEOUT",
	"GRAPHQL_COMPLEXITY_LIMIT", "GRAPHQL_DEPTH_LIMIT", "DB_MAX_OPEN_CONNS", "DATABASE_REPLICA_URLS", "SHUTDOWN_TIMEOUT",
	"NO_SHOW_LIMIT", "NO_SHOW_BAN_DAYS", "PUBLIC_BASE_URL", "METRICS_ADDR", "CLIENT_IP_HEADER",
	"FILE_STORE", "S3_ENDPOINT", "S3_PUBLIC_ENDPOINT", "S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY",
	"S3_PATH_STYLE", "S3_PREFIX", "UNUSED_UPLOAD_TTL",
	"TRUSTED_DOCUMENTS", "HEADER_READ_TIMEOUT", "BODY_READ_TIMEOUT", "UPLOAD_READ_TIMEOUT",
	"IDLE_TIMEOUT", "REFRESH_REUSE_GRACE", "SESSION_CACHE_TTL",
}

// IsDev reports whether the dev conveniences (playground, introspection,
// fake WeChat, demo data) may be on.
func (c Config) IsDev() bool { return c.Env == "dev" }

// FakeWeChat reports whether the built-in dev WeChat is used.
func (c Config) FakeWeChat() bool { return c.WeChatAppID == "" }

// JWTKey is one signing key.
type JWTKey struct {
	ID     string
	Secret []byte
}

// SigningKeys parses JWTKeys; the first one signs.
func (c Config) SigningKeys() ([]JWTKey, error) {
	var keys []JWTKey
	seen := map[string]bool{}
	for _, part := range strings.Split(c.JWTKeys, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kid, secret, ok := strings.Cut(part, ":")
		if !ok || kid == "" || secret == "" {
			return nil, errors.New("config: JWT_KEYS must be kid:secret[,kid:secret…]")
		}
		if seen[kid] {
			return nil, fmt.Errorf("config: JWT_KEYS repeats kid %q", kid)
		}
		seen[kid] = true
		keys = append(keys, JWTKey{ID: kid, Secret: []byte(secret)})
	}
	if len(keys) == 0 {
		return nil, errors.New("config: JWT_KEYS is empty")
	}
	return keys, nil
}

// Validate refuses configurations that must not run: unknown env, and in
// production default or short secrets and the fake WeChat.
func (c Config) Validate() error {
	if c.Env != "dev" && c.Env != "prod" {
		return fmt.Errorf("config: APP_ENV must be dev or prod, not %q", c.Env)
	}
	keys, err := c.SigningKeys()
	if err != nil {
		return err
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("config: PORT %d out of range", c.Port)
	}
	if err := c.validatePublicBaseURL(); err != nil {
		return err
	}
	if err := c.validateFileStore(); err != nil {
		return err
	}
	if c.IsDev() {
		return nil
	}
	var errs []error
	for _, k := range keys {
		if len(k.Secret) < 32 {
			errs = append(errs, fmt.Errorf("config: JWT key %q is shorter than 32 bytes", k.ID))
		}
		if strings.Contains(devJWTKeys, string(k.Secret)) {
			errs = append(errs, fmt.Errorf("config: JWT key %q is the public dev key", k.ID))
		}
	}
	if c.PIIKey == "" || c.PIIHashKey == "" {
		errs = append(errs, errors.New("config: PII_KEY and PII_HASH_KEY are required in prod"))
	}
	if c.PIIKey == c.PIIHashKey && c.PIIKey != "" {
		errs = append(errs, errors.New("config: PII_KEY and PII_HASH_KEY must differ"))
	}
	if c.PIIKey == devPIIKey || c.PIIHashKey == devHashKey {
		errs = append(errs, errors.New("config: PII keys are the public dev keys"))
	}
	if c.FakeWeChat() || c.WeChatSecret == "" {
		errs = append(errs, errors.New("config: the fake WeChat is dev-only: set WECHAT_APPID and WECHAT_SECRET"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("config: DATABASE_URL (a MySQL DSN) is required in prod"))
	}
	return errors.Join(errs...)
}

// validatePublicBaseURL: when set, PUBLIC_BASE_URL is an absolute http(s)
// URL with a host and nothing after the path (links are base + path);
// https in prod, where the mini-program loads nothing else. Unset in prod
// leaves links relative.
func (c Config) validatePublicBaseURL() error {
	if c.PublicBaseURL == "" {
		return nil
	}
	u, err := url.Parse(c.PublicBaseURL)
	switch {
	case err != nil:
		return fmt.Errorf("config: PUBLIC_BASE_URL %q: %w", c.PublicBaseURL, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Hostname() == "":
		return fmt.Errorf("config: PUBLIC_BASE_URL %q must be an absolute http(s) URL such as https://hall.example.cn", c.PublicBaseURL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("config: PUBLIC_BASE_URL %q must be scheme, host and optionally a path, nothing else", c.PublicBaseURL)
	case !c.IsDev() && u.Scheme != "https":
		return fmt.Errorf("config: PUBLIC_BASE_URL %q must be https in prod", c.PublicBaseURL)
	}
	return nil
}

// validateFileStore: a known kind; for s3 a bucket, keys and an endpoint,
// and in prod links the mini-program can load (https).
func (c Config) validateFileStore() error {
	if c.UnusedUploadTTL < time.Hour {
		return fmt.Errorf("config: UNUSED_UPLOAD_TTL %s is under an hour: a member filling in a form would lose their upload", c.UnusedUploadTTL)
	}
	switch c.FileStore {
	case "disk", "db":
		return nil
	case "s3":
	default:
		return fmt.Errorf("config: FILE_STORE must be disk, db or s3, not %q", c.FileStore)
	}
	if c.S3.Endpoint == "" || c.S3.Bucket == "" || c.S3.AccessKey == "" || c.S3.SecretKey == "" {
		return errors.New("config: FILE_STORE=s3 needs S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY")
	}
	link := c.S3.PublicEndpoint
	if link == "" {
		link = c.S3.Endpoint
	}
	if !c.IsDev() && strings.HasPrefix(link, "http://") {
		return fmt.Errorf("config: file links go to %q: the mini-program loads only https (set S3_PUBLIC_ENDPOINT)", link)
	}
	return nil
}
