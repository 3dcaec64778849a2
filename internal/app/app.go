// Package app assembles the server from configuration: database,
// migrations, services, the GraphQL handler and the HTTP routes. server.go
// and the tests both start the server through here.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/config"
	"unionhall/internal/loader"
	"unionhall/internal/pii"
	"unionhall/internal/service"
	"unionhall/internal/store"
	"unionhall/internal/upload"
	"unionhall/internal/wechat"
)

// Options override parts of the wiring, for tests.
type Options struct {
	Clock  clock.Clock
	WeChat wechat.Client
	Log    *slog.Logger
	// DB, when set, is used instead of opening cfg.DatabaseURL (and is not
	// closed by App.Close).
	DB *store.DB
}

// App is an assembled server.
type App struct {
	Cfg     config.Config
	DB      *store.DB
	Svc     *service.Service
	Tokens  *auth.Tokens
	Clock   clock.Clock
	Log     *slog.Logger
	Handler http.Handler

	ownsDB bool
}

// New opens the database, applies migrations and builds the handler.
func New(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	a := &App{Cfg: cfg, Clock: opts.Clock, Log: opts.Log}
	if a.Clock == nil {
		a.Clock = clock.Real{}
	}
	if a.Log == nil {
		a.Log = slog.Default()
	}
	encKey, err := pii.ParseKey(cfg.PIIKey)
	if err != nil {
		return nil, fmt.Errorf("PII_KEY: %w", err)
	}
	hashKey, err := pii.ParseKey(cfg.PIIHashKey)
	if err != nil {
		return nil, fmt.Errorf("PII_HASH_KEY: %w", err)
	}
	sealer, err := pii.NewSealer(encKey, hashKey)
	if err != nil {
		return nil, err
	}
	if a.Tokens, err = auth.NewTokens(cfg, a.Clock); err != nil {
		return nil, err
	}
	wc := opts.WeChat
	if wc == nil {
		if cfg.FakeWeChat() {
			if !cfg.IsDev() {
				return nil, errors.New("the fake WeChat is dev-only")
			}
			wc = wechat.DevClient{}
		} else {
			wc = wechat.NewHTTPClient(cfg.WeChatAPIBase, cfg.WeChatAppID, cfg.WeChatSecret, nil)
		}
	}
	if opts.DB != nil {
		a.DB = opts.DB
	} else {
		a.DB, err = store.Open(store.Options{URL: cfg.DatabaseURL, MaxOpenConns: cfg.DBMaxOpenConns,
			DefaultSQLitePath: filepath.Join(cfg.DataDir, "unionhall.db")})
		if err != nil {
			return nil, err
		}
		a.ownsDB = true
		if err := migrateWithRetry(ctx, a.DB, a.Log); err != nil {
			a.DB.Close()
			return nil, err
		}
	}
	a.Svc = service.New(service.Deps{
		DB: a.DB, Clock: a.Clock, Tokens: a.Tokens, WeChat: wc, Sealer: sealer,
		Files: upload.Disk{Dir: filepath.Join(cfg.DataDir, "uploads")}, Log: a.Log,
		Settings: service.Settings{RefreshTTL: cfg.RefreshTTL, MaxUploadBytes: cfg.MaxUploadBytes,
			NoShowLimit: cfg.NoShowLimit, NoShowBanDays: cfg.NoShowBanDays},
	})
	a.Handler = a.routes()
	return a, nil
}

// migrateWithRetry waits for a database that is still starting (a container
// coming up next to this one) for up to a minute.
func migrateWithRetry(ctx context.Context, db *store.DB, log *slog.Logger) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := db.Migrate(ctx)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		log.Warn("database not ready, retrying migrations", "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// Close writes the views still buffered, then releases the database when
// App opened it. Call it after the HTTP server has stopped serving.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := a.Svc.FlushViews(ctx); err != nil {
		a.Log.Error("views not written at shutdown", "error", err.Error())
	} else if n > 0 {
		a.Log.Info("views written at shutdown", "views", n)
	}
	if a.ownsDB {
		return a.DB.Close()
	}
	return nil
}

func (a *App) routes() http.Handler {
	m := newMetrics(a.DB.SQL)
	gql := newGraphQL(a.Cfg, a.Svc, a.Log, m)
	mux := http.NewServeMux()
	api := withAuth(a, loader.Middleware(a.Svc, service.WithRequestMemo, gql))
	mux.Handle("/graphql", observe("/graphql", a.Log, m, limits(a.Cfg.MaxBodyBytes, a.Cfg.RequestTimeout, api)))
	mux.Handle("POST /upload", observe("/upload", a.Log, m,
		limits(a.Cfg.MaxUploadBytes+64<<10, a.Cfg.RequestTimeout, withAuth(a, http.HandlerFunc(a.handleUpload)))))
	for path, h := range map[string]http.Handler{
		"/export/class-bookings":     a.handleExport("classId", a.Svc.ExportClassBookings),
		"/export/vouchers":           a.handleExport("batchId", a.Svc.ExportVouchers),
		"/export/childcare-sign-ups": a.handleExport("programId", a.Svc.ExportChildcareSignUps),
		"/export/event-signups":      a.handleExport("postId", a.Svc.ExportEventSignUps),
		"/export/subsidy-payments":   a.handleExport("programId", a.Svc.ExportSubsidyPayments),
		"/export/match-sign-ups":     a.handleExport("eventId", a.Svc.ExportMatchSignUps),
	} {
		mux.Handle("GET "+path, observe("/export", a.Log, m, limits(a.Cfg.MaxBodyBytes, 5*a.Cfg.RequestTimeout, withAuth(a, h))))
	}
	// Proof files: the signed, expiring link is the credential (see
	// service.SubsidyProofLinks), so an <image> tag in the mini-program can
	// load it without a bearer header.
	mux.Handle("GET "+service.ProofPath+"{id}", observe("/files/proof", a.Log, m,
		limits(a.Cfg.MaxBodyBytes, a.Cfg.RequestTimeout, a.signedFile("proof", a.Svc.OpenProof))))
	mux.Handle("GET "+service.PhotoPath+"{id}", observe("/files/photo", a.Log, m,
		limits(a.Cfg.MaxBodyBytes, a.Cfg.RequestTimeout, a.signedFile("photo", a.Svc.OpenMatchPhoto))))
	mux.Handle("GET /healthz", observe("/healthz", a.Log, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("GET /readyz", observe("/readyz", a.Log, m, http.HandlerFunc(a.handleReady)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	if a.Cfg.IsDev() {
		mux.Handle("GET /{$}", playground.Handler("工会服务 GraphQL", "/graphql"))
	}
	return mux
}

func (a *App) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.DB.SQL.PingContext(ctx); err != nil {
		a.Log.Warn("readiness: database unreachable", "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// handleUpload takes one multipart file (field "file", as wx.uploadFile
// sends it) and a "purpose" field, and answers {"id": …}.
func (a *App) handleUpload(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, invalidUpload("请以 multipart/form-data 上传文件"))
		return
	}
	purpose := r.URL.Query().Get("purpose") // or a form field before the file
	for {
		part, err := mr.NextPart()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeJSONError(w, http.StatusRequestEntityTooLarge, invalidUpload("文件过大"))
				return
			}
			writeJSONError(w, http.StatusBadRequest, invalidUpload("没有收到文件"))
			return
		}
		switch part.FormName() {
		case "purpose":
			buf := make([]byte, 32)
			n, _ := part.Read(buf)
			purpose = string(buf[:n])
		case "file":
			f, err := a.Svc.SaveUpload(r.Context(), purpose, part.FileName(), part)
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeJSONError(w, http.StatusRequestEntityTooLarge, invalidUpload("文件过大"))
					return
				}
				writeJSONError(w, statusFor(err), err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "size": f.Size, "contentType": f.ContentType, "fileName": f.FileName})
			return
		}
	}
}
