// Package apperr is the application's one error type: a fixed code the client
// can branch on plus a Chinese message fit to show a member. Anything that is
// not an *Error (a driver error, a bug) is INTERNAL and its text never leaves
// the server.
package apperr

import (
	"errors"
	"fmt"
)

// Code is one of the fixed codes of DESIGN §5.
type Code string

const (
	Unauthenticated  Code = "UNAUTHENTICATED"
	Forbidden        Code = "FORBIDDEN"
	NotFound         Code = "NOT_FOUND"
	ValidationFailed Code = "VALIDATION_FAILED"
	NotEligible      Code = "NOT_ELIGIBLE"
	WindowClosed     Code = "WINDOW_CLOSED"
	Full             Code = "FULL"
	LimitReached     Code = "LIMIT_REACHED"
	AlreadyExists    Code = "ALREADY_EXISTS"
	Conflict         Code = "CONFLICT"
	RateLimited      Code = "RATE_LIMITED"
	Internal         Code = "INTERNAL"
	// PersistedQueryNotFound is the code Apollo-style clients look for
	// before they resend a persisted query's whole document.
	PersistedQueryNotFound Code = "PERSISTED_QUERY_NOT_FOUND"
)

// Codes is every code, for tests that must cover them all.
var Codes = []Code{Unauthenticated, Forbidden, NotFound, ValidationFailed, NotEligible,
	WindowClosed, Full, LimitReached, AlreadyExists, Conflict, RateLimited, Internal,
	PersistedQueryNotFound}

// InternalMessage is what a client sees for any error we did not mean to show.
const InternalMessage = "系统繁忙，请稍后再试"

// ErrUnavailable marks an INTERNAL error whose cause is a service the
// product depends on being down (the file store): plain endpoints answer
// it 503, so a load balancer and the client know to retry.
var ErrUnavailable = errors.New("a dependency is unavailable")

// Unavailable is the INTERNAL error for a dependency that is down, with a
// message that says which, in words fit for a member.
func Unavailable(cause error, msg string) *Error {
	return Wrap(fmt.Errorf("%w: %w", ErrUnavailable, cause), Internal, msg)
}

// Error is an error meant for the client.
type Error struct {
	Code    Code
	Message string // Chinese, fit for a member
	Field   string // the input field at fault, for VALIDATION_FAILED
	Err     error  // the cause, logged but never shown
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Newf formats the message.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a VALIDATION_FAILED error naming the input field at fault.
func Invalid(field, msg string) *Error {
	return &Error{Code: ValidationFailed, Field: field, Message: msg}
}

// Wrap keeps cause for the logs behind a client-facing code and message.
func Wrap(err error, code Code, msg string) *Error {
	return &Error{Code: code, Message: msg, Err: err}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of err: INTERNAL for anything that is not an *Error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
