package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"unionhall/internal/apperr"
	"unionhall/internal/page"
	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/models"
)

// SeatRush is how a member takes a seat of any seat offering (a class, an
// event's sign-up): the steps and their order are shared; what an offering
// checks and stores is its own.
type SeatRush[H any] struct {
	Spec   seats.Spec
	PoolID int64
	// Holder is who takes the place: the member asking, or the Spec's
	// HolderFK (one active hold each per pool).
	Holder int64
	// Full is the refusal when nothing is left (nil: seats.ErrFull).
	Full error
	// open is the offering's own "open now" condition, checked by the seat
	// UPDATE itself.
	Open seats.Open
	// cached applies the rule to the offering as this instance's short cache
	// has it (no query on the rush path).
	Cached func() error
	// fresh applies the rule to a fresh read, returning the member's active
	// hold when this is a retry.
	Fresh func() (*H, error)
	// Check, when set, is a rule of the offering that needs the pool
	// locked and may refuse this request alone (childcare: the child is
	// not admitted to an overlapping programme). It runs in the grant's
	// transaction, after the pool's lock and before the seat is counted.
	Check func(tx *gorm.DB) error
	// hold is the row to insert for a grant.
	Hold func(seats.Grant) *H
}

// Take runs r. Nothing on the fast path can oversell or double-book: a
// seat is granted only by a conditional UPDATE while the offering is open,
// and the hold table's unique key allows one active hold. Every refusal is
// checked against a fresh read before the member sees it, and a retry
// returns the member's existing hold. Under a rush, requests for one pool
// on this instance share one transaction (see coalesce.go).
func (r SeatRush[H]) Take(ctx context.Context, s *Core) (*H, error) {
	if err := r.Cached(); err != nil {
		if mine, err := r.Fresh(); err != nil || mine != nil {
			return mine, err
		}
	}
	out := s.coalesce(ctx, r.Spec, r.PoolID, r.Open, &grantReq{
		holder: r.Holder,
		check:  r.Check,
		hold:   func(g seats.Grant) any { return r.Hold(g) },
		insertAll: func(tx *gorm.DB, hs []any) error {
			rows := make([]*H, len(hs))
			for i, h := range hs {
				rows[i] = h.(*H)
			}
			if !store.ReturnsIDs(tx) {
				for _, r := range rows { // one by one, each learning its own id (SQLite, MySQL)
					if err := tx.Create(r).Error; err != nil {
						return err
					}
				}
				return nil
			}
			return tx.Create(rows).Error
		},
		alone: func(ctx context.Context) (any, error) {
			h, err := r.alone(ctx, s)
			if h == nil {
				return nil, err
			}
			return h, err
		},
		done: make(chan grantOutcome, 1),
	})
	if out.err != nil && !errors.Is(out.err, ErrRaced) && !apperr.Is(out.err, apperr.Full) {
		return nil, out.err
	}
	if out.hold != nil && out.err == nil {
		return out.hold.(*H), nil
	}
	// A retry, or the offering filled or closed a moment ago: say which.
	mine, ferr := r.Fresh()
	if ferr != nil || mine != nil {
		return mine, ferr
	}
	if r.Full != nil {
		return nil, r.Full
	}
	return nil, seats.ErrFull
}

// alone is one grant in a transaction of its own: the path of a request
// that meets no other for its pool.
func (r SeatRush[H]) alone(ctx context.Context, s *Core) (*H, error) {
	var h *H
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		grant, err := seats.Take(tx, r.Spec, r.PoolID, r.Open)
		if err != nil {
			return err
		}
		if r.Check != nil {
			if err := r.Check(tx); err != nil {
				return err // rolls the seat back
			}
		}
		h = r.Hold(grant)
		if err := tx.Create(h).Error; err != nil {
			if store.IsDuplicate(err) {
				return ErrRaced // the member holds a seat already; roll back ours
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// MyHolds lists the calling member's holds of one kind (class bookings,
// event sign-ups), newest first.
func MyHolds[T any](ctx context.Context, s *Core, f BookingFilter, first *int, after *string) (page.Page[T], error) {
	var empty page.Page[T]
	p, err := MemberPrincipal(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	q := s.Q(ctx).Where("member_id = ?", p.ID)
	if f.Status != nil {
		q = q.Where("status = ?", *f.Status)
	}
	return ByIDPage[T](q, pa, true)
}

// ResizePool applies an edit of a pool's capacity or waitlist size (from
// oldCapacity/oldWaitlist): the waitlist never shrinks below those already
// in it (VALIDATION_FAILED naming field), and seats.Resize refuses a
// capacity below the confirmed count and moves the waitlist up when it grows.
func ResizePool(tx *gorm.DB, sp seats.Spec, id int64, oldCapacity, oldWaitlist, capacity, waitlist, waiting int, field string, now time.Time) error {
	if capacity == oldCapacity && waitlist == oldWaitlist {
		return nil
	}
	if waitlist < waiting {
		return apperr.Invalid(field, fmt.Sprintf("已有 %d 人在候补，候补人数不能少于此数", waiting))
	}
	_, err := seats.Resize(tx, sp, id, capacity, waitlist, now)
	return err
}

// holdRow is what a member's seat hold (a class booking, an event sign-up)
// exposes to the shared cancel path.
type holdRow interface {
	*models.TrainingBooking | *models.EventSignUp
}

// SeatCancel is how a member gives back a hold: the steps and their order
// (find it as theirs, lock the pool, re-read the hold under the lock,
// retry-safe on a cancelled hold, end it, free or pass on the seat) are
// shared; the pool and the deadline are the offering's.
type SeatCancel[H holdRow] struct {
	Spec     seats.Spec
	Id       int64
	NotFound error
	Ended    string // why a hold that ended otherwise can't be cancelled
	Pool     func(H) int64
	Owner    func(H) int64
	Status   func(H) models.BookingStatus
	// deadline refuses a cancel that comes too late (the hold is locked).
	Deadline func(tx *gorm.DB, h H, now time.Time) error
}

func (c SeatCancel[H]) Run(ctx context.Context, s *Core, h H) (H, error) {
	pr, err := MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(h, c.Id).Error; err != nil || c.Owner(h) != pr.ID {
			if err == nil || store.IsNotFound(err) {
				return c.NotFound
			}
			return err
		}
		if _, err := seats.Lock(tx, c.Spec, c.Pool(h)); err != nil {
			return err
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(h, c.Id).Error; err != nil {
			return err
		}
		was := c.Status(h)
		if !was.IsActive() {
			if was == models.BookingCancelled {
				return nil // a retry
			}
			return apperr.New(apperr.WindowClosed, c.Ended)
		}
		now := s.clock.Now()
		if err := c.Deadline(tx, h, now); err != nil {
			return err
		}
		if err := tx.Model(h).Where("id = ? AND status = ?", c.Id, was).Updates(map[string]any{
			"status": models.BookingCancelled, "active": nil, "cancelled_at": now, "cancel_reason": "本人取消",
			"updated_at": now}).Error; err != nil {
			return err
		}
		if _, err := seats.Release(tx, c.Spec, c.Pool(h), string(was), now); err != nil {
			return err
		}
		return tx.Take(h, c.Id).Error
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// ErrRaced rolls back a transaction that lost a race to a unique index.
var ErrRaced = errors.New("raced")

// BookingFilter narrows a booking list.
type BookingFilter struct {
	Status *models.BookingStatus
}

// BookingLabel names a booking or sign-up status in exports and messages.
func BookingLabel(st models.BookingStatus) string {
	return map[models.BookingStatus]string{models.BookingConfirmed: "已预约", models.BookingWaitlisted: "候补中",
		models.BookingCancelled: "已取消", models.BookingAttended: "已签到", models.BookingNoShow: "缺席"}[st]
}
