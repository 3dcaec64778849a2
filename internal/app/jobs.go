package app

import (
	"context"
	"time"
)

// RunJobs runs the periodic domain jobs until ctx ends: today the training
// no-show sweep. Every instance may run them; each job is made of
// conditional updates, so instances racing each other do the work once.
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
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
