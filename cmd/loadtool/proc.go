package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler polls /proc/PID/status for VmRSS; it keeps the peak over the
// whole life of the tool and over the current window (one measured phase).
type rssSampler struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup

	mu         sync.Mutex
	peak       int64
	windowPeak int64
	samples    int
}

func startRSS(pid int, every time.Duration) (*rssSampler, error) {
	if _, err := readStatusKB(pid, "VmRSS:"); err != nil {
		return nil, fmt.Errorf("-server-pid %d: %w", pid, err)
	}
	s := &rssSampler{pid: pid, done: make(chan struct{})}
	s.sample()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s, nil
}

func (s *rssSampler) sample() {
	kb, err := readStatusKB(s.pid, "VmRSS:")
	if err != nil {
		return
	}
	b := kb << 10
	s.mu.Lock()
	s.peak = max(s.peak, b)
	s.windowPeak = max(s.windowPeak, b)
	s.samples++
	s.mu.Unlock()
}

// window starts a new window and returns the current RSS.
func (s *rssSampler) window() int64 {
	if s == nil {
		return 0
	}
	kb, _ := readStatusKB(s.pid, "VmRSS:")
	s.mu.Lock()
	s.windowPeak = kb << 10
	s.mu.Unlock()
	return kb << 10
}

// windowPeakBytes is the highest RSS seen since window().
func (s *rssSampler) windowPeakBytes() int64 {
	if s == nil {
		return 0
	}
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.windowPeak
}

// overall is the peak sampled over the tool's life and the kernel's VmHWM
// (the process's lifetime peak, including start-up and anything before us).
func (s *rssSampler) overall() (peak, hwm int64) {
	s.sample()
	kb, _ := readStatusKB(s.pid, "VmHWM:")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, kb << 10
}

func (s *rssSampler) stop() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.wg.Wait()
}

func readStatusKB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key) {
			fields := strings.Fields(line[len(key):])
			if len(fields) == 0 {
				break
			}
			return strconv.ParseInt(fields[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// cpuSeconds is utime+stime of a process (pid 0: this one).
func cpuSeconds(pid int) float64 {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// after ")": state(3) ppid(4) … utime(14) stime(15) → indexes 11, 12
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// cpuMeter measures the CPU seconds of the server, the database and this
// tool over one phase.
type cpuMeter struct {
	serverPID, dbPID int
	server, db, self float64
	busy             float64
	startWall        time.Time
}

func startCPU(cfg config) *cpuMeter {
	return &cpuMeter{serverPID: cfg.serverPID, dbPID: cfg.dbPID, server: cpuSeconds(cfg.serverPID),
		db: cpuSeconds(cfg.dbPID), self: cpuSeconds(0), busy: machineBusySeconds(), startWall: time.Now()}
}

// machineBusySeconds is the CPU time all cores spent not idle (first line
// of /proc/stat).
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, x := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest, guest_nice: already in user
			break
		}
		v, _ := strconv.ParseFloat(x, 64)
		busy += v
	}
	return busy / 100
}

type cpuUse struct {
	Server float64 `json:"server_s,omitempty"`
	DB     float64 `json:"db_s,omitempty"`
	Tool   float64 `json:"tool_s"`
	// Machine is every core's busy time; Other is what of it the three
	// processes above do not account for (kernel threads, anything else
	// running, e.g. somebody's tests).
	Machine float64 `json:"machine_s"`
	Other   float64 `json:"other_s"`
	Cores   float64 `json:"busy_cores"`
}

func (m *cpuMeter) stop() cpuUse {
	u := cpuUse{Tool: cpuSeconds(0) - m.self}
	if m.serverPID > 0 {
		u.Server = cpuSeconds(m.serverPID) - m.server
	}
	if m.dbPID > 0 {
		u.DB = cpuSeconds(m.dbPID) - m.db
	}
	u.Machine = machineBusySeconds() - m.busy
	u.Other = u.Machine - u.Server - u.DB - u.Tool
	if wall := time.Since(m.startWall).Seconds(); wall > 0 {
		u.Cores = u.Machine / wall
	}
	return u
}

// The server-wide counters compared before and after a phase. They are
// global: anything else using the same MariaDB at the time shows up too.
var statusVars = []string{"Questions", "Com_stmt_prepare", "Com_stmt_execute", "Com_commit", "Com_rollback",
	"Innodb_row_lock_waits", "Innodb_row_lock_time", "Innodb_deadlocks", "Innodb_data_fsyncs"}

func globalStatus(ctx context.Context, db *sql.DB) map[string]int64 {
	out := map[string]int64{}
	q := "SHOW GLOBAL STATUS WHERE Variable_name IN ('" + strings.Join(statusVars, "','") + "')"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if rows.Scan(&k, &v) == nil {
			n, _ := strconv.ParseInt(v, 10, 64)
			out[k] = n
		}
	}
	return out
}

func statusDelta(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for _, k := range statusVars {
		d[k] = after[k] - before[k]
	}
	return d
}
