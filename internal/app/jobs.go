package app

import (
	"context"
	"time"
)

// RunJobs runs the periodic domain jobs until ctx ends: the training
// no-show sweep and the childcare allocation at window close. Every
// instance may run them; each job is made of conditional updates or claims
// under a unique key, so instances racing each other do the work once.
func (a *App) RunJobs(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := a.Svc.SweepNoShows(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Log.Warn("no-show sweep failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("no-show sweep", "marked", n)
		}
		if n, err := a.Svc.AllocateDueChildcare(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Log.Warn("childcare allocation failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("childcare allocation", "programmes", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
