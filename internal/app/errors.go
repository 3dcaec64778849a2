package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"unionhall/internal/apperr"
	"unionhall/internal/obs"
)

// forClient is the one place an error becomes what a client is shown, for
// GraphQL and plain HTTP alike: an application error keeps its code and
// Chinese message; anything else, and INTERNAL, is logged with its cause
// and the request id, and shown as INTERNAL with nothing of the cause.
// where says what failed (a GraphQL path, a route) in the log line.
func forClient(ctx context.Context, log *slog.Logger, err error, where string) *apperr.Error {
	ae, ok := apperr.As(err)
	if ok && ae.Code != apperr.Internal {
		return ae
	}
	switch {
	case !ok:
		obs.Log(ctx, log).ErrorContext(ctx, "internal error", "where", where, "error", err.Error())
	case ae.Err != nil:
		obs.Log(ctx, log).ErrorContext(ctx, "internal error", "where", where, "error", ae.Err.Error())
	} // an INTERNAL made without a cause was logged where it was made (a panic)
	if ok && errors.Is(err, apperr.ErrUnavailable) && ae.Message != "" {
		return apperr.New(apperr.Internal, ae.Message) // written for members: says what is down, nothing of the cause
	}
	return apperr.New(apperr.Internal, apperr.InternalMessage)
}

// writeError answers a plain-HTTP endpoint (/upload, /export, /files) with
// the code and message a GraphQL error would carry, at the status its code
// maps to.
func (a *App) writeError(w http.ResponseWriter, r *http.Request, err error) {
	a.writeErrorStatus(w, r, statusFor(err), err)
}

// writeErrorStatus is writeError at a status the caller knows better (413
// for a body over the limit, 408 for one too slow).
func (a *App) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	writeCoded(w, status, forClient(r.Context(), a.Log, err, r.URL.Path))
}

func writeCoded(w http.ResponseWriter, status int, ae *apperr.Error) {
	body := map[string]any{"code": string(ae.Code), "message": ae.Message}
	if ae.Field != "" {
		body["field"] = ae.Field
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// statusFor maps every error code to its HTTP status for plain endpoints.
// A refusal the member can understand (closed, full, not eligible) is a
// 4xx: it is not the server failing, and no alert should page for it.
func statusFor(err error) int {
	switch apperr.CodeOf(err) {
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden, apperr.NotEligible:
		return http.StatusForbidden
	case apperr.NotFound, apperr.PersistedQueryNotFound:
		return http.StatusNotFound
	case apperr.ValidationFailed:
		return http.StatusBadRequest
	case apperr.RateLimited:
		return http.StatusTooManyRequests
	case apperr.Conflict, apperr.AlreadyExists, apperr.WindowClosed, apperr.Full, apperr.LimitReached:
		return http.StatusConflict
	}
	if errors.Is(err, apperr.ErrUnavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
