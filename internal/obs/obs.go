// Package obs carries the request id and logger through a request.
package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

type ridKey struct{}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ridKey{}, id)
}

// RequestID returns the request id or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(ridKey{}).(string)
	return s
}

// NewRequestID makes a random 16-hex-char id.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Log returns logger annotated with the request id of ctx.
func Log(ctx context.Context, logger *slog.Logger) *slog.Logger {
	if id := RequestID(ctx); id != "" {
		return logger.With("request_id", id)
	}
	return logger
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the client's address (see
// app.clientIP for where it comes from), for per-address limits.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the client's address or "".
func ClientIP(ctx context.Context) string {
	s, _ := ctx.Value(clientIPKey{}).(string)
	return s
}
