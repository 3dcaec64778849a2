package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// seeded is what seedMembers made: member i (0-based) logs in with codes[i]
// and has id ids[i].
type seeded struct {
	unionID int64
	codes   []string
	ids     []int64
}

// seedMembers writes N bound (VERIFIED) members into a grassroots union with
// multi-row INSERTs. Re-running is fine: existing rows are re-bound.
func seedMembers(ctx context.Context, db *sql.DB, cfg config) (*seeded, error) {
	s := &seeded{}
	err := db.QueryRowContext(ctx, "SELECT id FROM unions WHERE level = 'GRASSROOTS' ORDER BY id LIMIT 1").Scan(&s.unionID)
	if err != nil {
		return nil, fmt.Errorf("find a grassroots union (did the server seed the demo data?): %w", err)
	}
	width := max(5, len(fmt.Sprint(cfg.members)))
	now := time.Now().UTC().Truncate(time.Microsecond)
	const batch = 500
	for lo := 0; lo < cfg.members; lo += batch {
		hi := min(lo+batch, cfg.members)
		var b strings.Builder
		b.WriteString("INSERT INTO members (openid, union_id, real_name, id_hash, id_mask, phone, birth_date, gender," +
			" employment_form, occupation, status, verified_at, bound_at, version, created_at, updated_at) VALUES ")
		args := make([]any, 0, (hi-lo)*16)
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
			n := i + 1
			openid := fmt.Sprintf("dev:%s%0*d", cfg.prefix, width, n)
			sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", cfg.prefix, n)))
			birth := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%7300)
			args = append(args, openid, s.unionID, fmt.Sprintf("压测%05d", n%100000), hex.EncodeToString(sum[:]),
				fmt.Sprintf("110101**********%04d", n%10000), fmt.Sprintf("139%08d", n%100000000), birth, "MALE",
				"COURIER", "快递员", "VERIFIED", now, now, 1, now, now)
		}
		b.WriteString(" ON DUPLICATE KEY UPDATE union_id = VALUES(union_id), status = 'VERIFIED'," +
			" training_banned_until = NULL, updated_at = VALUES(updated_at)")
		if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, err
		}
	}
	first := fmt.Sprintf("dev:%s%0*d", cfg.prefix, width, 1)
	last := fmt.Sprintf("dev:%s%0*d", cfg.prefix, width, cfg.members)
	rows, err := db.QueryContext(ctx, "SELECT id, openid FROM members WHERE openid >= ? AND openid <= ? ORDER BY openid", first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var openid string
		if err := rows.Scan(&id, &openid); err != nil {
			return nil, err
		}
		if len(openid) != len(first) { // another prefix sharing ours
			continue
		}
		s.ids = append(s.ids, id)
		s.codes = append(s.codes, openid) // the dev WeChat client's openid is the code itself
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(s.ids) != cfg.members {
		return nil, fmt.Errorf("seeded %d members, found %d", cfg.members, len(s.ids))
	}
	return s, nil
}
