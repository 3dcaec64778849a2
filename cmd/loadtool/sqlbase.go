package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"time"
)

// createSQLClass inserts a published class row straight into the table,
// shaped like one the server makes (published by the admin's union, open
// now, first session in a week).
func createSQLClass(ctx context.Context, db *sql.DB, cfg config) (int64, error) {
	var adminID, unionID int64
	var path string
	err := db.QueryRowContext(ctx, "SELECT a.id, u.id, u.path FROM admins a JOIN unions u ON u.id = a.union_id WHERE a.username = ?",
		cfg.admin).Scan(&adminID, &unionID, &path)
	if err != nil {
		return 0, fmt.Errorf("find admin %s: %w", cfg.admin, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	start := now.Add(7 * 24 * time.Hour).Truncate(time.Hour)
	res, err := db.ExecContext(ctx, `INSERT INTO training_classes
		(union_id, title, category, description, starts_at, ends_at, capacity, waitlist_limit,
		 booking_opens_at, booking_closes_at, cancel_deadline, elig_path, status, version, created_by, published_at, created_at, updated_at)
		VALUES (?, ?, 'DIGITAL', '', ?, ?, ?, ?, ?, ?, ?, ?, 'PUBLISHED', 2, ?, ?, ?, ?)`,
		unionID, "压测基线课程 "+now.Format("0102-150405"), start, start.Add(2*time.Hour), cfg.capacity, cfg.waitlist,
		now.Add(-time.Minute), now.Add(24*time.Hour), now.Add(24*time.Hour), path, adminID, now, now, now)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	_, err = db.ExecContext(ctx, "INSERT INTO training_sessions (class_id, seq, starts_at, ends_at, place) VALUES (?, 1, ?, ?, ?)",
		id, start, start.Add(2*time.Hour), "东华街道职工服务中心 3 楼")
	return id, err
}

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func checkinCode() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

var errFull = errors.New("FULL")

// bookSQL is the baseline booking: one transaction holding the class row
// lock from the conditional UPDATE to COMMIT, as seats.Take does.
func bookSQL(ctx context.Context, db *sql.DB, classID, memberID int64, waitlist bool) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := time.Now().UTC().Truncate(time.Microsecond)
	res, err := tx.ExecContext(ctx, "UPDATE training_classes SET confirmed_count = confirmed_count + 1 WHERE id = ? AND confirmed_count < capacity", classID)
	if err != nil {
		return "", err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", err
	}
	status := "CONFIRMED"
	var waitSeq any
	if n == 0 {
		if !waitlist {
			return "", errFull
		}
		res, err = tx.ExecContext(ctx, "UPDATE training_classes SET waitlist_count = waitlist_count + 1, waitlist_seq = waitlist_seq + 1"+
			" WHERE id = ? AND waitlist_count < waitlist_limit", classID)
		if err != nil {
			return "", err
		}
		if n, err = res.RowsAffected(); err != nil {
			return "", err
		} else if n == 0 {
			return "", errFull
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, "SELECT waitlist_seq FROM training_classes WHERE id = ? FOR UPDATE", classID).Scan(&seq); err != nil {
			return "", err
		}
		status, waitSeq = "WAITLISTED", seq
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO training_bookings (class_id, member_id, status, active, wait_seq, checkin_code, created_at, updated_at)"+
		" VALUES (?, ?, ?, 1, ?, ?, ?, ?)", classID, memberID, status, waitSeq, checkinCode(), now, now)
	if err != nil {
		return "", err
	}
	return status, tx.Commit()
}

func runSQL(ctx context.Context, db *sql.DB, cfg config, s *seeded, rss *rssSampler) (*result, error) {
	classID, err := createSQLClass(ctx, db, cfg)
	if err != nil {
		return nil, fmt.Errorf("create class: %w", err)
	}
	// Warm the pool so both sides start with open connections.
	warm := make([]*sql.Conn, 0, cfg.sqlMaxOpen)
	for range cfg.sqlMaxOpen {
		if c, err := db.Conn(ctx); err == nil {
			warm = append(warm, c)
		}
	}
	for _, c := range warm {
		c.Close()
	}
	log.Printf("sql: class %d; %d transactions at concurrency %d over a pool of %d", classID, len(s.ids), cfg.conc, cfg.sqlMaxOpen)
	return measure(ctx, db, cfg, rss, "sql", len(s.ids), classID, func(i int) attempt {
		t := time.Now()
		st, err := bookSQL(ctx, db, classID, s.ids[i], cfg.waitlist > 0)
		return sqlAttempt(t, st, err)
	}, verify)
}
