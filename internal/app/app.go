// Package app assembles the server from configuration: database,
// migrations, services, the GraphQL handler and the HTTP routes. server.go
// and the tests both start the server through here.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"unionhall/internal/activity"
	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/childcare"
	"unionhall/internal/clock"
	"unionhall/internal/config"
	"unionhall/internal/core"
	"unionhall/internal/events"
	"unionhall/internal/loader"
	"unionhall/internal/matchmaking"
	"unionhall/internal/members"
	"unionhall/internal/obs"
	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/internal/subsidies"
	"unionhall/internal/training"
	"unionhall/internal/upload"
	"unionhall/internal/vouchers"
	"unionhall/internal/wechat"
	"unionhall/models"
)

// Options override parts of the wiring, for tests.
type Options struct {
	Clock  clock.Clock
	WeChat wechat.Client
	Log    *slog.Logger
	// DB, when set, is used instead of opening cfg.DatabaseURL (and is not
	// closed by App.Close).
	DB *store.DB
	// Files, when set, is the file store instead of cfg's.
	Files upload.Store
}

// App is an assembled server.
type App struct {
	Cfg  config.Config
	DB   *store.DB
	Core *core.Core // the shared core every module stands on
	// The module services.
	Training    *training.Service
	Vouchers    *vouchers.Service
	Activity    *activity.Service
	Membership  *members.Service
	Subsidies   *subsidies.Service
	Matchmaking *matchmaking.Service
	Childcare   *childcare.Service
	Events      *events.Service
	Tokens      *auth.Tokens
	Clock       clock.Clock
	Log         *slog.Logger
	Handler     http.Handler
	// Metrics serves Prometheus metrics. It is on Handler too only in dev
	// with no METRICS_ADDR; otherwise server.go gives it its own listener.
	Metrics http.Handler

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
			DefaultSQLitePath: filepath.Join(cfg.DataDir, "unionhall.db"), ReplicaURLs: cfg.DatabaseReplicaURLs, Logger: a.Log})
		if err != nil {
			return nil, err
		}
		a.ownsDB = true
		if err := migrateWithRetry(ctx, a.DB, a.Log); err != nil {
			a.DB.Close()
			return nil, err
		}
	}
	files := opts.Files
	if files == nil {
		if files, err = NewFileStore(cfg, cfg.FileStore, a.DB); err != nil {
			if a.ownsDB {
				a.DB.Close()
			}
			return nil, err
		}
	}
	if files.Kind() == upload.KindDisk && !cfg.IsDev() {
		a.Log.Warn("files are on this instance's disk: a second instance cannot read them unless DATA_DIR is a shared volume (FILE_STORE=s3 or db)")
	}
	a.Core = core.New(core.Deps{
		DB: a.DB, Clock: a.Clock, Tokens: a.Tokens, WeChat: wc, Sealer: sealer,
		Files: files, Log: a.Log,
		Settings: core.Settings{RefreshTTL: cfg.RefreshTTL, MaxUploadBytes: cfg.MaxUploadBytes,
			NoShowLimit: cfg.NoShowLimit, NoShowBanDays: cfg.NoShowBanDays, PublicBaseURL: cfg.PublicBaseURL,
			RefreshReuseGrace: cfg.RefreshReuseGrace, SessionCacheTTL: cfg.SessionCacheTTL,
			UnusedUploadTTL: cfg.UnusedUploadTTL},
	})
	a.Training = training.New(a.Core)
	a.Vouchers = vouchers.New(a.Core)
	a.Activity = activity.New(a.Core)
	a.Membership = members.New(a.Core)
	a.Subsidies = subsidies.New(a.Core)
	a.Matchmaking = matchmaking.New(a.Core)
	a.Childcare = childcare.New(a.Core)
	a.Events = events.New(a.Core)
	if a.Handler, err = a.routes(); err != nil {
		return nil, err
	}
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
	if n, err := a.Events.FlushViews(ctx); err != nil {
		a.Log.Error("views not written at shutdown", "error", err.Error())
	} else if n > 0 {
		a.Log.Info("views written at shutdown", "views", n)
	}
	if a.ownsDB {
		return a.DB.Close()
	}
	return nil
}

func (a *App) routes() (http.Handler, error) {
	m := newMetrics(a.DB.SQL)
	mods := modules{Core: a.Core, training: a.Training, vouchers: a.Vouchers, events: a.Events, childcare: a.Childcare, matchmaking: a.Matchmaking, subsidies: a.Subsidies, members: a.Membership, activity: a.Activity}
	gql, err := newGraphQL(a.Cfg, mods, a.Log, m)
	if err != nil {
		return nil, err
	}
	cfg := a.Cfg
	mux := http.NewServeMux()
	api := withAuth(a, loader.Middleware(mods, core.WithRequestMemo, gql))
	mux.Handle("/graphql", observe("/graphql", a.Log, m, limits(cfg.MaxBodyBytes, cfg.BodyReadTimeout, cfg.RequestTimeout, api)))
	mux.Handle("POST /upload", observe("/upload", a.Log, m,
		limits(cfg.MaxUploadBytes+64<<10, cfg.UploadReadTimeout, cfg.RequestTimeout+cfg.UploadReadTimeout, withAuth(a, http.HandlerFunc(a.handleUpload)))))
	for path, h := range map[string]http.Handler{
		"/export/class-bookings":     a.handleExport("classId", a.Training.ExportClassBookings),
		"/export/vouchers":           a.handleExport("batchId", a.Vouchers.ExportVouchers),
		"/export/childcare-sign-ups": a.handleExport("programId", a.Childcare.ExportChildcareSignUps),
		"/export/event-signups":      a.handleExport("postId", a.Events.ExportEventSignUps),
		"/export/subsidy-payments":   a.handleExport("programId", a.Subsidies.ExportSubsidyPayments),
		"/export/match-sign-ups":     a.handleExport("eventId", a.Matchmaking.ExportMatchSignUps),
	} {
		mux.Handle("GET "+path, observe("/export", a.Log, m, limits(cfg.MaxBodyBytes, cfg.BodyReadTimeout, exportTimeout(cfg), withAuth(a, h))))
	}
	// Proof files: the signed, expiring link is the credential (see
	// core.SubsidyProofLinks), so an <image> tag in the mini-program can
	// load it without a bearer header.
	mux.Handle("GET "+subsidies.ProofPath+"{id}", observe("/files/proof", a.Log, m,
		limits(cfg.MaxBodyBytes, cfg.BodyReadTimeout, cfg.RequestTimeout, a.signedFile("proof", a.Subsidies.OpenProof))))
	mux.Handle("GET "+matchmaking.PhotoPath+"{id}", observe("/files/photo", a.Log, m,
		limits(cfg.MaxBodyBytes, cfg.BodyReadTimeout, cfg.RequestTimeout, a.signedFile("photo", a.Matchmaking.OpenMatchPhoto))))
	mux.Handle("GET /healthz", observe("/healthz", a.Log, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("GET /readyz", observe("/readyz", a.Log, m, http.HandlerFunc(a.handleReady)))
	a.Metrics = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if cfg.IsDev() && cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", a.Metrics)
	}
	if cfg.IsDev() {
		mux.Handle("GET /{$}", playground.Handler("工会服务 GraphQL", "/graphql"))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeCoded(w, http.StatusNotFound, apperr.New(apperr.NotFound, "没有这个地址"))
	}))
	return secure(a.clientIP, mux), nil
}

// modules is every module service, for the resolvers and the loaders (the
// core's methods come through the embedded Service).
type modules struct {
	*core.Core
	training    *training.Service
	vouchers    *vouchers.Service
	events      *events.Service
	childcare   *childcare.Service
	matchmaking *matchmaking.Service
	subsidies   *subsidies.Service
	members     *members.Service
	activity    *activity.Service
}

func (m modules) ClassesByIDs(ctx context.Context, ids []int64) ([]*models.TrainingClass, error) {
	return m.training.ClassesByIDs(ctx, ids)
}

func (m modules) SessionsByClassIDs(ctx context.Context, ids []int64) ([][]*models.TrainingSession, error) {
	return m.training.SessionsByClassIDs(ctx, ids)
}

func (m modules) MyBookingsByClassIDs(ctx context.Context, ids []int64) ([]*models.TrainingBooking, error) {
	return m.training.MyBookingsByClassIDs(ctx, ids)
}

func (m modules) BatchesByIDs(ctx context.Context, ids []int64) ([]*models.VoucherBatch, error) {
	return m.vouchers.BatchesByIDs(ctx, ids)
}

func (m modules) MyVouchersByBatchIDs(ctx context.Context, ids []int64) ([]vouchers.MyBatchVouchers, error) {
	return m.vouchers.MyVouchersByBatchIDs(ctx, ids)
}

func (m modules) PostsByIDs(ctx context.Context, ids []int64) ([]*models.EventPost, error) {
	return m.events.PostsByIDs(ctx, ids)
}

func (m modules) MySignUpsByPostIDs(ctx context.Context, ids []int64) ([]*models.EventSignUp, error) {
	return m.events.MySignUpsByPostIDs(ctx, ids)
}

func (m modules) TargetsByPostIDs(ctx context.Context, ids []int64) ([][]int64, error) {
	return m.events.TargetsByPostIDs(ctx, ids)
}

func (m modules) ProgramsByIDs(ctx context.Context, ids []int64) ([]*models.ChildcareProgram, error) {
	return m.childcare.ProgramsByIDs(ctx, ids)
}

func (m modules) ChildrenByIDs(ctx context.Context, ids []int64) ([]*models.Child, error) {
	return m.childcare.ChildrenByIDs(ctx, ids)
}

func (m modules) MyGuardianRolesByChildIDs(ctx context.Context, ids []int64) ([]*models.GuardianRole, error) {
	return m.childcare.MyGuardianRolesByChildIDs(ctx, ids)
}

func (m modules) AttendanceBySignUpIDs(ctx context.Context, ids []int64) ([][]*models.ChildAttendance, error) {
	return m.childcare.AttendanceBySignUpIDs(ctx, ids)
}

func (m modules) AllocationsByProgramIDs(ctx context.Context, ids []int64) ([]*models.AllocationRun, error) {
	return m.childcare.AllocationsByProgramIDs(ctx, ids)
}

func (m modules) SubsidyProgramsByIDs(ctx context.Context, ids []int64) ([]*models.SubsidyProgram, error) {
	return m.subsidies.SubsidyProgramsByIDs(ctx, ids)
}

func (m modules) SubsidyReviewsByApplicationIDs(ctx context.Context, ids []int64) ([][]*models.SubsidyReview, error) {
	return m.subsidies.SubsidyReviewsByApplicationIDs(ctx, ids)
}

func (m modules) UnionsByIDs(ctx context.Context, ids []int64) ([]*models.Union, error) {
	return m.members.UnionsByIDs(ctx, ids)
}

func (m modules) AdminsByIDs(ctx context.Context, ids []int64) ([]*models.Admin, error) {
	return m.members.AdminsByIDs(ctx, ids)
}

func (m modules) MembersByIDs(ctx context.Context, ids []int64) ([]*models.Member, error) {
	return m.members.MembersByIDs(ctx, ids)
}

// exportTimeout is how long an export may take: a few thousand rows
// written to a slow admin's browser.
func exportTimeout(cfg config.Config) time.Duration { return 5 * cfg.RequestTimeout }

// ConfigureServer sets the connection-level limits on an http.Server that
// serves a.Handler (server.go and the test servers alike):
//   - ReadHeaderTimeout: a client has this long to send its headers (a
//     slowloris holds no connection longer);
//   - ReadTimeout: the longest any body may take, an upload's; each route
//     then cuts its own body shorter (limits);
//   - WriteTimeout: the longest any answer may take, an export's; each
//     route then cuts its own to its handler's deadline plus writeMargin,
//     so a client that never reads its answer holds nothing long;
//   - IdleTimeout: how long a kept-alive connection waits for the next
//     request (phones reuse it between taps; a fleet must not hoard them).
func (a *App) ConfigureServer(srv *http.Server) {
	cfg := a.Cfg
	srv.Handler = a.Handler
	srv.ReadHeaderTimeout = cfg.HeaderReadTimeout
	srv.ReadTimeout = max(cfg.BodyReadTimeout, cfg.UploadReadTimeout) + cfg.HeaderReadTimeout
	srv.WriteTimeout = max(cfg.RequestTimeout+cfg.UploadReadTimeout, exportTimeout(cfg)) + writeMargin
	srv.IdleTimeout = cfg.IdleTimeout
	srv.MaxHeaderBytes = 32 << 10
}

// secure sets the headers every answer carries, and the client's address
// for the login limits. Every answer is no-store: GraphQL answers carry
// tokens and personal data, and the others (files, exports, errors) are
// personal or useless to cache.
func secure(clientIP func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path != "/" { // the dev playground loads its scripts
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		next.ServeHTTP(w, r.WithContext(obs.WithClientIP(r.Context(), clientIP(r))))
	})
}

// clientIP is the connection's address, or, behind a proxy that sets it
// (CLIENT_IP_HEADER), that header: the last X-Forwarded-For hop is the one
// our proxy added; anything before it the client wrote itself.
func (a *App) clientIP(r *http.Request) string {
	if name := a.Cfg.ClientIPHeader; name != "" {
		v := r.Header.Values(name)
		if len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (a *App) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.DB.SQL.PingContext(ctx); err != nil {
		a.Log.Warn("readiness: database unreachable", "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	if err := a.Core.FileStoreReady(ctx); err != nil {
		a.Log.Warn("readiness: file store unreachable", "store", a.Core.FileStoreKind(), "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "file store unreachable", "fileStore": a.Core.FileStoreKind()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "fileStore": a.Core.FileStoreKind()})
}

// handleUpload takes one multipart file (field "file", as wx.uploadFile
// sends it) and its "purpose" (a form field, before or after the file, or
// ?purpose=), and answers {"id": …}. Field order is the client's business:
// a file that comes before its purpose waits in a temporary file.
func (a *App) handleUpload(w http.ResponseWriter, r *http.Request) {
	// A logged-out session uploads nothing, like it queries nothing.
	p, err := auth.Require(r.Context())
	if err == nil {
		p, err = a.Membership.Authorize(r.Context(), p)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	r = r.WithContext(auth.WithPrincipal(r.Context(), p))
	mr, err := r.MultipartReader()
	if err != nil {
		a.writeError(w, r, invalidUpload("请以 multipart/form-data 上传文件"))
		return
	}
	purpose := r.URL.Query().Get("purpose")
	var spooled *os.File
	var fileName string
	defer func() {
		if spooled != nil {
			spooled.Close()
			os.Remove(spooled.Name())
		}
	}()
	save := func(body io.Reader) {
		f, err := a.Core.SaveUpload(r.Context(), purpose, fileName, body)
		if err != nil {
			a.uploadError(w, r, err, false)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "size": f.Size, "contentType": f.ContentType, "fileName": f.FileName})
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			a.uploadError(w, r, err, true)
			return
		}
		switch part.FormName() {
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(part, 64))
			if err != nil {
				a.uploadError(w, r, err, true)
				return
			}
			purpose = string(b)
		case "file":
			if spooled != nil {
				a.writeError(w, r, invalidUpload("一次只能上传一个文件"))
				return
			}
			fileName = part.FileName()
			if purpose != "" {
				save(part)
				return
			}
			if spooled, err = os.CreateTemp("", "upload-*"); err != nil {
				a.writeError(w, r, apperr.Wrap(err, apperr.Internal, apperr.InternalMessage))
				return
			}
			if _, err := io.Copy(spooled, part); err != nil {
				a.uploadError(w, r, err, true)
				return
			}
		}
	}
	if spooled == nil {
		a.writeError(w, r, invalidUpload("没有收到文件"))
		return
	}
	if _, err := spooled.Seek(0, io.SeekStart); err != nil {
		a.writeError(w, r, apperr.Wrap(err, apperr.Internal, apperr.InternalMessage))
		return
	}
	save(spooled)
}

// uploadError tells a body over the limit and a body too slow apart from
// the rest: while reading the form, a broken body (the client's); while
// saving, the service's own error.
func (a *App) uploadError(w http.ResponseWriter, r *http.Request, err error, reading bool) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		a.writeErrorStatus(w, r, http.StatusRequestEntityTooLarge, invalidUpload("文件过大"))
	case errors.Is(err, os.ErrDeadlineExceeded):
		a.writeErrorStatus(w, r, http.StatusRequestTimeout, invalidUpload("上传超时，请在网络较好时重试"))
	case reading:
		a.writeErrorStatus(w, r, http.StatusBadRequest, invalidUpload("上传不完整，请重试"))
	default:
		a.writeError(w, r, err)
	}
}

// NewFileStore is the file store of kind (disk, db, s3) as cfg describes
// it: the server's own, or a migration's target.
func NewFileStore(cfg config.Config, kind string, db *store.DB) (upload.Store, error) {
	switch kind {
	case upload.KindDisk:
		return upload.Disk{Dir: filepath.Join(cfg.DataDir, "uploads")}, nil
	case upload.KindDB:
		return upload.Database{DB: db.SQL}, nil
	case upload.KindS3:
		return upload.NewS3(upload.S3Options{Endpoint: cfg.S3.Endpoint, PublicEndpoint: cfg.S3.PublicEndpoint,
			Bucket: cfg.S3.Bucket, Region: cfg.S3.Region, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
			PathStyle: cfg.S3.PathStyle, Prefix: cfg.S3.Prefix})
	}
	return nil, fmt.Errorf("unknown file store %q (disk, db, s3)", kind)
}
