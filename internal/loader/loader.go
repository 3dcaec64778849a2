// Package loader holds the per-request dataloaders that batch the lookups
// nested fields make (a page of members each asking for its union becomes
// one query). A new set is made for every request, never shared.
package loader

import (
	"context"
	"net/http"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"unionhall/internal/vouchers"
	"unionhall/models"
)

// Source is what the loaders read from (the service).
type Source interface {
	UnionsByIDs(ctx context.Context, ids []int64) ([]*models.Union, error)
	AdminsByIDs(ctx context.Context, ids []int64) ([]*models.Admin, error)
	MembersByIDs(ctx context.Context, ids []int64) ([]*models.Member, error)
	ClassesByIDs(ctx context.Context, ids []int64) ([]*models.TrainingClass, error)
	SessionsByClassIDs(ctx context.Context, ids []int64) ([][]*models.TrainingSession, error)
	MyBookingsByClassIDs(ctx context.Context, ids []int64) ([]*models.TrainingBooking, error)
	BatchesByIDs(ctx context.Context, ids []int64) ([]*models.VoucherBatch, error)
	MyVouchersByBatchIDs(ctx context.Context, ids []int64) ([]vouchers.MyBatchVouchers, error)
	PostsByIDs(ctx context.Context, ids []int64) ([]*models.EventPost, error)
	MySignUpsByPostIDs(ctx context.Context, ids []int64) ([]*models.EventSignUp, error)
	TargetsByPostIDs(ctx context.Context, ids []int64) ([][]int64, error)
	ProgramsByIDs(ctx context.Context, ids []int64) ([]*models.ChildcareProgram, error)
	ChildrenByIDs(ctx context.Context, ids []int64) ([]*models.Child, error)
	MyGuardianRolesByChildIDs(ctx context.Context, ids []int64) ([]*models.GuardianRole, error)
	AttendanceBySignUpIDs(ctx context.Context, ids []int64) ([][]*models.ChildAttendance, error)
	AllocationsByProgramIDs(ctx context.Context, ids []int64) ([]*models.AllocationRun, error)
	SubsidyProgramsByIDs(ctx context.Context, ids []int64) ([]*models.SubsidyProgram, error)
	SubsidyReviewsByApplicationIDs(ctx context.Context, ids []int64) ([][]*models.SubsidyReview, error)
}

// Loaders is one request's set.
type Loaders struct {
	Union     *dataloader.Loader[int64, *models.Union]
	Admin     *dataloader.Loader[int64, *models.Admin]
	Member    *dataloader.Loader[int64, *models.Member]
	Class     *dataloader.Loader[int64, *models.TrainingClass]
	Sessions  *dataloader.Loader[int64, []*models.TrainingSession]
	MyBooking *dataloader.Loader[int64, *models.TrainingBooking]
	Batch     *dataloader.Loader[int64, *models.VoucherBatch]
	MyBatch   *dataloader.Loader[int64, vouchers.MyBatchVouchers]
	Post      *dataloader.Loader[int64, *models.EventPost]
	MySignUp  *dataloader.Loader[int64, *models.EventSignUp]
	Targets   *dataloader.Loader[int64, []int64]
	Program   *dataloader.Loader[int64, *models.ChildcareProgram]
	Child     *dataloader.Loader[int64, *models.Child]
	MyRole    *dataloader.Loader[int64, *models.GuardianRole]
	Attended  *dataloader.Loader[int64, []*models.ChildAttendance]
	Allocated *dataloader.Loader[int64, *models.AllocationRun]
	Subsidy   *dataloader.Loader[int64, *models.SubsidyProgram]
	Reviews   *dataloader.Loader[int64, []*models.SubsidyReview]

	src Source
}

func batch[V any](fetch func(context.Context, []int64) ([]V, error)) dataloader.BatchFunc[int64, V] {
	return func(ctx context.Context, keys []int64) []*dataloader.Result[V] {
		out := make([]*dataloader.Result[V], len(keys))
		vals, err := fetch(ctx, keys)
		for i := range keys {
			if err != nil {
				out[i] = &dataloader.Result[V]{Error: err}
			} else {
				out[i] = &dataloader.Result[V]{Data: vals[i]}
			}
		}
		return out
	}
}

// newLoader batches the keys asked for within a millisecond (the fields of
// one list resolve concurrently) into one fetch.
func newLoader[V any](fetch func(context.Context, []int64) ([]V, error)) *dataloader.Loader[int64, V] {
	return dataloader.NewBatchedLoader(batch(fetch), dataloader.WithWait[int64, V](time.Millisecond))
}

// New makes a request's loaders.
func New(src Source) *Loaders {
	return &Loaders{
		Union:     newLoader(src.UnionsByIDs),
		Admin:     newLoader(src.AdminsByIDs),
		Member:    newLoader(src.MembersByIDs),
		Class:     newLoader(src.ClassesByIDs),
		Sessions:  newLoader(src.SessionsByClassIDs),
		MyBooking: newLoader(src.MyBookingsByClassIDs),
		Batch:     newLoader(src.BatchesByIDs),
		MyBatch:   newLoader(src.MyVouchersByBatchIDs),
		Post:      newLoader(src.PostsByIDs),
		MySignUp:  newLoader(src.MySignUpsByPostIDs),
		Targets:   newLoader(src.TargetsByPostIDs),
		Program:   newLoader(src.ProgramsByIDs),
		Child:     newLoader(src.ChildrenByIDs),
		MyRole:    newLoader(src.MyGuardianRolesByChildIDs),
		Attended:  newLoader(src.AttendanceBySignUpIDs),
		Allocated: newLoader(src.AllocationsByProgramIDs),
		Subsidy:   newLoader(src.SubsidyProgramsByIDs),
		Reviews:   newLoader(src.SubsidyReviewsByApplicationIDs),
		src:       src,
	}
}

type ctxKey struct{}

// Middleware puts a fresh set of loaders in every request's context, and
// whatever per-request memo the source keeps (memo may be nil).
func Middleware(src Source, memo func(context.Context) context.Context, next http.Handler) http.Handler {
	if memo == nil {
		memo = func(ctx context.Context) context.Context { return ctx }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(memo(r.Context()), ctxKey{}, New(src))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// For returns the request's loaders.
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(ctxKey{}).(*Loaders)
	return l
}

// Union loads one union by id through the request's loader.
func Union(ctx context.Context, id int64) (*models.Union, error) {
	return For(ctx).Union.Load(ctx, id)()
}

// Admin loads one admin by id through the request's loader.
func Admin(ctx context.Context, id int64) (*models.Admin, error) {
	return For(ctx).Admin.Load(ctx, id)()
}

// Member loads one member by id.
func Member(ctx context.Context, id int64) (*models.Member, error) {
	return For(ctx).Member.Load(ctx, id)()
}

// Class loads one training class by id.
func Class(ctx context.Context, id int64) (*models.TrainingClass, error) {
	return For(ctx).Class.Load(ctx, id)()
}

// Sessions loads a class's sessions.
func Sessions(ctx context.Context, classID int64) ([]*models.TrainingSession, error) {
	return For(ctx).Sessions.Load(ctx, classID)()
}

// MyBooking loads the calling member's latest booking of a class.
func MyBooking(ctx context.Context, classID int64) (*models.TrainingBooking, error) {
	return For(ctx).MyBooking.Load(ctx, classID)()
}

// Batch loads one voucher batch by id.
func Batch(ctx context.Context, id int64) (*models.VoucherBatch, error) {
	return For(ctx).Batch.Load(ctx, id)()
}

// MyBatch loads what the calling member holds that bears on a batch.
func MyBatch(ctx context.Context, batchID int64) (vouchers.MyBatchVouchers, error) {
	return For(ctx).MyBatch.Load(ctx, batchID)()
}

// Post loads one event post by id.
func Post(ctx context.Context, id int64) (*models.EventPost, error) {
	return For(ctx).Post.Load(ctx, id)()
}

// MySignUp loads the calling member's latest sign-up of a post.
func MySignUp(ctx context.Context, postID int64) (*models.EventSignUp, error) {
	return For(ctx).MySignUp.Load(ctx, postID)()
}

// Targets loads the ids of the unions a post is published to.
func Targets(ctx context.Context, postID int64) ([]int64, error) {
	return For(ctx).Targets.Load(ctx, postID)()
}

// Program loads one childcare programme by id.
func Program(ctx context.Context, id int64) (*models.ChildcareProgram, error) {
	return For(ctx).Program.Load(ctx, id)()
}

// Child loads one child by id (a sign-up's: whoever sees the sign-up).
func Child(ctx context.Context, id int64) (*models.Child, error) {
	return For(ctx).Child.Load(ctx, id)()
}

// MyGuardianRole loads the calling member's role for a child (nil: none).
func MyGuardianRole(ctx context.Context, childID int64) (*models.GuardianRole, error) {
	return For(ctx).MyRole.Load(ctx, childID)()
}

// Attendance loads a sign-up's attended days.
func Attendance(ctx context.Context, signUpID int64) ([]*models.ChildAttendance, error) {
	return For(ctx).Attended.Load(ctx, signUpID)()
}

// Allocation loads a programme's stored allocation run (nil before one).
func Allocation(ctx context.Context, programID int64) (*models.AllocationRun, error) {
	return For(ctx).Allocated.Load(ctx, programID)()
}

// Batching by time window merges the loads that arrive within a
// millisecond, which a slow moment (a GC pause, the race detector) can
// split. A list resolver that knows its page and which nested fields were
// asked for primes the loaders instead, so the page costs one query per
// field, always.

// PrimeUnions loads the unions with ids in one query into the loader.
func PrimeUnions(ctx context.Context, ids []int64) error {
	l := For(ctx)
	ids = distinct(ids)
	vals, err := l.src.UnionsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	for i, id := range ids {
		l.Union.Prime(ctx, id, vals[i])
	}
	return nil
}

// PrimeMyBatches loads what the caller holds of batchIDs in one query into
// the loader.
func PrimeMyBatches(ctx context.Context, batchIDs []int64) error {
	l := For(ctx)
	batchIDs = distinct(batchIDs)
	vals, err := l.src.MyVouchersByBatchIDs(ctx, batchIDs)
	if err != nil {
		return err
	}
	for i, id := range batchIDs {
		l.MyBatch.Prime(ctx, id, vals[i])
	}
	return nil
}

// PrimeMyBookings loads the caller's bookings of classIDs in one query into
// the loader.
func PrimeMyBookings(ctx context.Context, classIDs []int64) error {
	l := For(ctx)
	classIDs = distinct(classIDs)
	vals, err := l.src.MyBookingsByClassIDs(ctx, classIDs)
	if err != nil {
		return err
	}
	for i, id := range classIDs {
		l.MyBooking.Prime(ctx, id, vals[i])
	}
	return nil
}

// PrimeMySignUps loads the caller's sign-ups of postIDs in one query into
// the loader.
func PrimeMySignUps(ctx context.Context, postIDs []int64) error {
	l := For(ctx)
	postIDs = distinct(postIDs)
	vals, err := l.src.MySignUpsByPostIDs(ctx, postIDs)
	if err != nil {
		return err
	}
	for i, id := range postIDs {
		l.MySignUp.Prime(ctx, id, vals[i])
	}
	return nil
}

func distinct(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// SubsidyProgram loads one subsidy programme by id (an application's:
// whoever sees the application).
func SubsidyProgram(ctx context.Context, id int64) (*models.SubsidyProgram, error) {
	return For(ctx).Subsidy.Load(ctx, id)()
}

// SubsidyReviews loads an application's trail, oldest first.
func SubsidyReviews(ctx context.Context, applicationID int64) ([]*models.SubsidyReview, error) {
	return For(ctx).Reviews.Load(ctx, applicationID)()
}
