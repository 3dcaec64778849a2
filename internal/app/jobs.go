package app

import (
	"context"
	"time"
)

// ViewFlushEvery is how often buffered post views are written: the most a
// crash (not a graceful stop) can lose, and how far behind the stored
// count runs.
const ViewFlushEvery = 2 * time.Second

// RunJobs runs the periodic domain jobs until ctx ends: the training
// no-show sweep, the childcare allocation and the matchmaking draw at window
// close and the clean-up of unused and failed uploads every `every`, and
// the post-view flush. Every instance may run them; each job
// is made of conditional updates, claims under a unique key or additions of
// its own counts, so instances running at once do the work once; the file
// clean-up, which deletes from the store, also holds a lease, so one
// instance runs it at a time.
func (a *App) RunJobs(ctx context.Context, every time.Duration) {
	go a.flushViewsLoop(ctx, ViewFlushEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := a.Training.SweepNoShows(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Log.Warn("no-show sweep failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("no-show sweep", "marked", n)
		}
		if n, err := a.Childcare.AllocateDueChildcare(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Log.Warn("childcare allocation failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("childcare allocation", "programmes", n)
		}
		if n, err := a.Matchmaking.AllocateDueMatchEvents(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Log.Warn("matchmaking draw failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("matchmaking draw", "events", n)
		}
		if n, err := a.Core.SweepFiles(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Log.Warn("file clean-up failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("file clean-up", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *App) flushViewsLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return // Close writes what is left
		case <-t.C:
		}
		if _, err := a.Events.FlushViews(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("view flush failed; the counts stay buffered", "error", err.Error())
		}
	}
}
