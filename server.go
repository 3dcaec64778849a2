// Command unionhall is the trade-union service's GraphQL backend.
//
//	go run .                        serve (dev: embedded SQLite, demo data, fake WeChat)
//	go run . migrate                apply database migrations and exit
//	go run . create-admin USER      create the first super admin (password from
//	                                BOOTSTRAP_ADMIN_PASSWORD or standard input)
package main

//go:generate go tool gqlgen generate

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"unionhall/internal/app"
	"unionhall/internal/config"
	"unionhall/internal/core"
	"unionhall/internal/seed"
	"unionhall/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "unionhall:", err)
		os.Exit(1)
	}
}

// run is main, made testable: arguments, environment and streams come in;
// ready, when not nil, receives the listening address.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdin io.Reader, stdout io.Writer, ready chan<- string) error {
	cfg, err := config.Load(lookup)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, stdout, ready)
	case "migrate":
		a, err := app.New(ctx, cfg, app.Options{Log: log})
		if err != nil {
			return err
		}
		defer a.Close()
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "create-admin":
		if len(args) < 2 {
			return errors.New("usage: create-admin USERNAME (password from BOOTSTRAP_ADMIN_PASSWORD or stdin)")
		}
		password, _ := lookup("BOOTSTRAP_ADMIN_PASSWORD")
		if password == "" {
			line, _ := bufio.NewReader(stdin).ReadString('\n')
			password = strings.TrimSpace(line)
		}
		a, err := app.New(ctx, cfg, app.Options{Log: log})
		if err != nil {
			return err
		}
		defer a.Close()
		created, err := seed.SuperAdmin(ctx, a.DB, args[1], password, rootUnionName(lookup), a.Clock.Now())
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "super admin %q created\n", args[1])
		} else {
			fmt.Fprintf(stdout, "admin %q already exists; left unchanged\n", args[1])
		}
		return nil
	case "files":
		return filesCommand(ctx, cfg, log, args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q (serve, migrate, create-admin, files)", cmd)
}

// lookupEnv is os.LookupEnv, named for tuneGC.
var lookupEnv = os.LookupEnv

// tuneGC trades memory the service has to spare for CPU it has not: the
// live heap is a few MB, so collecting at 4× instead of 2× it halves GC
// work under a rush, and a soft limit of 80 MiB keeps the whole process
// (the limit covers the runtime's memory; the binary's own pages come on
// top) under the 100 MB budget in a login burst. GOGC and GOMEMLIMIT, when
// set, win: give an instance with large caches more.
func tuneGC(lookup func(string) (string, bool)) {
	if _, ok := lookup("GOGC"); !ok {
		debug.SetGCPercent(400)
	}
	if _, ok := lookup("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(80 << 20)
	}
}

func rootUnionName(lookup func(string) (string, bool)) string {
	if v, ok := lookup("BOOTSTRAP_UNION_NAME"); ok && v != "" {
		return v
	}
	return "市总工会"
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, ready chan<- string) error {
	tuneGC(lookupEnv)
	a, err := app.New(ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.BootstrapAdmin != "" {
		if _, err := seed.SuperAdmin(ctx, a.DB, cfg.BootstrapAdmin, cfg.BootstrapPassword, "市总工会", a.Clock.Now()); err != nil {
			return fmt.Errorf("bootstrap admin: %w", err)
		}
	}
	var demo *seed.DemoData
	if cfg.SeedDemo {
		if demo, err = seed.Demo(ctx, a.DB, a.Core.Sealer(), a.Clock.Now()); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return err
	}
	srv := &http.Server{BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	a.ConfigureServer(srv)
	metrics, err := serveMetrics(cfg, a, log)
	if err != nil {
		return err
	}
	if metrics != nil {
		defer metrics.Close()
	}
	addr := ln.Addr().(*net.TCPAddr)
	url := fmt.Sprintf("http://localhost:%d", addr.Port)
	banner(stdout, cfg, a.DB.Dialect, url, demo)
	log.Info("listening", "addr", addr.String(), "env", cfg.Env, "database", string(a.DB.Dialect))
	if ready != nil {
		ready <- url
	}
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go a.RunJobs(jobs, time.Minute)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish.
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serveMetrics gives /metrics and /debug/pprof a listener of its own (METRICS_ADDR): the
// numbers (operations, pools, Go internals) are for the operators' scraper,
// not the internet. Prod's loopback default, if taken (two instances on
// one host), is given up with a warning rather than refusing to serve.
func serveMetrics(cfg config.Config, a *app.App, log *slog.Logger) (*http.Server, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		if cfg.MetricsAddrDefaulted {
			log.Warn("metrics listener not started", "addr", cfg.MetricsAddr, "error", err.Error())
			return nil, nil
		}
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics)
	// The profiler, for the engineer on call (curl -o cpu.out
	// $METRICS_ADDR/debug/pprof/profile?seconds=20): only on this listener,
	// never on the API port.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 60 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "error", err.Error())
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return srv, nil
}

func banner(w io.Writer, cfg config.Config, d store.Dialect, url string, demo *seed.DemoData) {
	fmt.Fprintf(w, "\n工会服务 GraphQL backend (%s, %s)\n", cfg.Env, d)
	fmt.Fprintf(w, "  GraphQL:    %s/graphql\n", url)
	if cfg.IsDev() {
		fmt.Fprintf(w, "  Playground: %s/\n", url)
	}
	if demo != nil {
		fmt.Fprintf(w, "  Demo data seeded. Admin logins (password %q):\n", seed.DevPassword)
		for _, a := range demo.Admins {
			fmt.Fprintf(w, "    %-16s %-12s %s\n", a.Username, a.Role, a.Union)
		}
		fmt.Fprintf(w, "  Member logins (fake WeChat): loginWithWeChat(input: {code: \"dev:member01\"}) … dev:member%02d, dev:newcomer1 (unbound)\n", len(demo.Members)-2)
	} else if cfg.IsDev() {
		fmt.Fprintf(w, "  Dev logins: admin city_admin / %s; member code dev:member01\n", seed.DevPassword)
	}
	fmt.Fprintln(w)
}

// filesCommand is `files migrate --to KIND`: copy every stored file from
// the configured FILE_STORE to KIND (configured by the same variables),
// verifying each copy's SHA-256. Safe to re-run: verified copies are
// skipped, failures retried. Switch FILE_STORE afterwards, and run it once
// more to copy what was uploaded in between.
func filesCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("files migrate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	to := fs.String("to", "", "the target store: disk, db or s3")
	if len(args) == 0 || args[0] != "migrate" {
		return errors.New("usage: files migrate --to disk|db|s3")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *to == "" || *to == cfg.FileStore {
		return fmt.Errorf("files migrate: --to must name a store other than FILE_STORE (%s)", cfg.FileStore)
	}
	target := cfg
	target.FileStore = *to
	if err := target.Validate(); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	dst, err := app.NewFileStore(target, *to, a.DB)
	if err != nil {
		return err
	}
	if err := dst.Ping(ctx); err != nil {
		return fmt.Errorf("files migrate: the %s store does not answer: %w", *to, err)
	}
	var copied, present, failed int
	err = a.Core.MigrateFiles(ctx, dst, func(c core.FileCopy) {
		switch {
		case c.Err != nil:
			failed++
			fmt.Fprintf(stdout, "FAILED %s: %v\n", c.ID, c.Err)
		case c.Copied:
			copied++
		default:
			present++
		}
	})
	fmt.Fprintf(stdout, "files migrate %s -> %s: %d copied and verified, %d already there, %d failed\n", cfg.FileStore, *to, copied, present, failed)
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("files migrate: %d files failed; run it again", failed)
	}
	return nil
}
