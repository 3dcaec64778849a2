package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/core"
	"unionhall/internal/obs"
	"unionhall/models"
)

// reqInfo collects what the access log reports about a request.
type reqInfo struct {
	op        string
	principal string
	status    int
	bytes     int
}

type reqInfoKey struct{}

func reqInfoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(reqInfoKey{}).(*reqInfo)
	return i
}

type recorder struct {
	http.ResponseWriter
	info *reqInfo
}

func (r *recorder) WriteHeader(code int) {
	if r.info.status == 0 {
		r.info.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.info.status == 0 {
		r.info.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.info.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (read and
// write deadlines per route).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// observe gives every request an id (kept from X-Request-Id when sane),
// logs one JSON line per request (no bodies, no variables: no personal data),
// counts it, and turns a panic into a 500.
func observe(route string, log *slog.Logger, m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if len(rid) == 0 || len(rid) > 64 || !isToken(rid) {
			rid = obs.NewRequestID()
		}
		w.Header().Set("X-Request-Id", rid)
		info := &reqInfo{}
		ctx := context.WithValue(obs.WithRequestID(r.Context(), rid), reqInfoKey{}, info)
		rec := &recorder{ResponseWriter: w, info: info}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(ctx, "panic", "request_id", rid, "panic", v)
				if info.status == 0 {
					writeCoded(rec, http.StatusInternalServerError, apperr.New(apperr.Internal, apperr.InternalMessage))
				}
			}
			if info.status == 0 {
				info.status = http.StatusOK
			}
			m.requests.WithLabelValues(route, strconv.Itoa(info.status)).Inc()
			if route == "/healthz" || route == "/readyz" || route == "/metrics" {
				return
			}
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", rid), slog.String("method", r.Method), slog.String("route", route),
				slog.String("op", info.op), slog.Int("status", info.status), slog.Int("bytes", info.bytes),
				slog.String("principal", info.principal),
				slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

func isToken(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// withAuth reads the bearer token into the context.
func withAuth(a *App, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := a.Tokens.FromHeader(r.Context(), r.Header.Get("Authorization"))
		if info := reqInfoFrom(ctx); info != nil {
			info.principal = auth.PrincipalFrom(ctx).String() // kind:id, nothing personal
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeMargin is how long past its handler's deadline an answer may take
// to reach the client.
const writeMargin = 15 * time.Second

// limits bounds a request's body (size, and the time to read it: a client
// trickling a byte at a time is cut at bodyRead) and its handling time.
func limits(maxBody int64, bodyRead, timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Headers are read by now (the server's ReadHeaderTimeout); the
		// deadline from here on bounds the body, and the answer must be
		// written by the handler's own deadline plus a margin, so a client
		// that never reads holds nothing long. Not every writer is a
		// connection (a test recorder), so failure here is not an error.
		rc := http.NewResponseController(w)
		now := time.Now()
		_ = rc.SetReadDeadline(now.Add(bodyRead))
		_ = rc.SetWriteDeadline(now.Add(timeout + writeMargin))
		if r.ContentLength > maxBody {
			writeCoded(w, http.StatusRequestEntityTooLarge, apperr.New(apperr.ValidationFailed, "请求内容过大"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func invalidUpload(msg string) error { return apperr.Invalid("file", msg) }

// exporter is a service export: a list by the id of what it lists.
type exporter func(ctx context.Context, id int64, fullPhones bool) (*core.Export, error)

// handleExport streams an .xlsx list for an admin: GET /export/<list>?
// <param>=N[&phones=full], with an admin's bearer token (class-bookings by
// classId, vouchers by batchId, childcare-sign-ups by programId).
func (a *App) handleExport(param string, export exporter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := auth.Require(ctx)
		if err == nil {
			p, err = a.Membership.Authorize(ctx, p)
		}
		if err == nil && !p.IsAdmin() {
			err = apperr.New(apperr.Forbidden, "仅管理员可以导出名单")
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		ctx = auth.WithPrincipal(ctx, p)
		id, perr := strconv.ParseInt(r.URL.Query().Get(param), 10, 64)
		if perr != nil || id <= 0 {
			a.writeError(w, r, apperr.Invalid(param, "请指定要导出的名单"))
			return
		}
		exp, err := export(ctx, id, r.URL.Query().Get("phones") == "full")
		if err != nil {
			a.writeError(w, r.WithContext(ctx), err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", "attachment; filename=\"export.xlsx\"; filename*=UTF-8''"+url.PathEscape(exp.FileName))
		w.Header().Set("Cache-Control", "no-store")
		if err := exp.Write(w); err != nil {
			obs.Log(ctx, a.Log).ErrorContext(ctx, "export failed", "error", err.Error())
		}
	})
}

// signedFile serves a file through a signed, expiring link the service
// checks with open (proof files, profile photos): 403 for a tampered or
// expired link.
func (a *App) signedFile(kind string, open func(ctx context.Context, id, exp, sig string) (*models.UploadedFile, io.ReadCloser, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f, body, err := open(r.Context(), r.PathValue("id"), q.Get("exp"), q.Get("sig"))
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		defer body.Close()
		w.Header().Set("Content-Type", f.ContentType)
		w.Header().Set("Content-Disposition", "inline; filename=\""+kind+path.Ext(f.FileName)+"\"; filename*=UTF-8''"+url.PathEscape(f.FileName))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		if _, err := io.Copy(w, body); err != nil {
			obs.Log(r.Context(), a.Log).WarnContext(r.Context(), kind+" download interrupted", "error", err.Error())
		}
	}
}
