package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"time"
)

// The claim scenario (-scenario claim): N members claim one voucher each
// from one hot batch, through GraphQL and as the raw-SQL baseline (the
// conditional stock UPDATE plus the voucher INSERT in one transaction).

const (
	createBatchQ  = `mutation($in: CreateVoucherBatchInput!) { createVoucherBatch(input: $in) { voucherBatch { id } } }`
	publishBatchQ = `mutation($id: ID!) { publishVoucherBatch(input: {id: $id}) { voucherBatch { id } } }`
	claimQ        = `mutation($id: ID!) { claimVoucher(input: {batchId: $id}) { voucher { id status } } }`
)

func createHotBatch(ctx context.Context, c *gqlClient, cfg config) (int64, error) {
	var lo struct{ LoginAdmin struct{ AccessToken string } }
	if err := c.do(ctx, "", loginAdminQ, map[string]any{"u": cfg.admin, "p": cfg.password}, &lo); err != nil {
		return 0, fmt.Errorf("admin login: %w", err)
	}
	tok := lo.LoginAdmin.AccessToken
	now := time.Now().UTC()
	in := map[string]any{
		"title": fmt.Sprintf("压测观影券 %s", now.Format("0102-150405")), "kind": "MOVIE", "faceValueFen": 3500,
		"stock": cfg.capacity, "claimOpensAt": now.Add(-time.Minute).Format(time.RFC3339),
		"claimClosesAt": now.Add(24 * time.Hour).Format(time.RFC3339), "validDays": 30,
	}
	var cr struct {
		CreateVoucherBatch struct{ VoucherBatch struct{ ID string } }
	}
	if err := c.do(ctx, tok, createBatchQ, map[string]any{"in": in}, &cr); err != nil {
		return 0, fmt.Errorf("createVoucherBatch: %w", err)
	}
	id := cr.CreateVoucherBatch.VoucherBatch.ID
	if err := c.do(ctx, tok, publishBatchQ, map[string]any{"id": id}, nil); err != nil {
		return 0, fmt.Errorf("publishVoucherBatch: %w", err)
	}
	var n int64
	_, err := fmt.Sscan(id, &n)
	return n, err
}

func runGraphQLClaim(ctx context.Context, db *sql.DB, cfg config, s *seeded, rss *rssSampler) (*result, error) {
	c := newGQLClient(cfg.url, max(cfg.conc, cfg.loginConc))
	batchID, err := createHotBatch(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	log.Printf("batch %d published (stock %d)", batchID, cfg.capacity)
	tokens, err := loginMembers(ctx, c, s, cfg.loginConc)
	if err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	log.Printf("graphql: %d claimVoucher at concurrency %d", len(tokens), cfg.conc)
	return measure(ctx, db, cfg, rss, "graphql", len(tokens), batchID, func(i int) attempt {
		var out struct {
			ClaimVoucher struct{ Voucher struct{ ID, Status string } }
		}
		t := time.Now()
		err := c.do(ctx, tokens[i], claimQ, map[string]any{"id": fmt.Sprint(batchID)}, &out)
		return gqlAttempt(t, out.ClaimVoucher.Voucher.Status, err)
	}, verifyClaims)
}

func createSQLBatch(ctx context.Context, db *sql.DB, cfg config) (int64, error) {
	var adminID, unionID int64
	var path string
	if err := db.QueryRowContext(ctx, "SELECT a.id, u.id, u.path FROM admins a JOIN unions u ON u.id = a.union_id WHERE a.username = ?",
		cfg.admin).Scan(&adminID, &unionID, &path); err != nil {
		return 0, fmt.Errorf("find admin %s: %w", cfg.admin, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	res, err := db.ExecContext(ctx, `INSERT INTO voucher_batches
		(union_id, title, kind, description, face_value_fen, capacity, per_member_limit, claim_opens_at, claim_closes_at,
		 valid_days, elig_path, status, version, created_by, published_at, created_at, updated_at)
		VALUES (?, ?, 'MOVIE', '', 3500, ?, 1, ?, ?, 30, ?, 'PUBLISHED', 2, ?, ?, ?, ?)`,
		unionID, "压测基线礼券 "+now.Format("0102-150405"), cfg.capacity, now.Add(-time.Minute), now.Add(24*time.Hour),
		path, adminID, now, now, now)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// claimSQL is the baseline claim: the conditional stock UPDATE and the
// voucher INSERT in one transaction.
func claimSQL(ctx context.Context, db *sql.DB, batchID, memberID int64) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := time.Now().UTC().Truncate(time.Microsecond)
	res, err := tx.ExecContext(ctx, "UPDATE voucher_batches SET confirmed_count = confirmed_count + 1 WHERE id = ? AND confirmed_count < capacity", batchID)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", err
	} else if n == 0 {
		return "", errFull
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO vouchers (batch_id, member_id, claim_seq, code, status, active, valid_from, valid_until, created_at, updated_at)"+
		" VALUES (?, ?, 1, ?, 'CLAIMED', 1, ?, ?, ?, ?)", batchID, memberID, checkinCode(), now, now.Add(30*24*time.Hour), now, now)
	if err != nil {
		return "", err
	}
	return "CLAIMED", tx.Commit()
}

func runSQLClaim(ctx context.Context, db *sql.DB, cfg config, s *seeded, rss *rssSampler) (*result, error) {
	batchID, err := createSQLBatch(ctx, db, cfg)
	if err != nil {
		return nil, fmt.Errorf("create batch: %w", err)
	}
	log.Printf("sql: batch %d; %d transactions at concurrency %d over a pool of %d", batchID, len(s.ids), cfg.conc, cfg.sqlMaxOpen)
	return measure(ctx, db, cfg, rss, "sql", len(s.ids), batchID, func(i int) attempt {
		t := time.Now()
		st, err := claimSQL(ctx, db, batchID, s.ids[i])
		return sqlAttempt(t, st, err)
	}, verifyClaims)
}

// verifyClaims reads back the batch and its vouchers: issued against stock
// (oversold), the counter against the rows, one voucher per member.
func verifyClaims(ctx context.Context, db *sql.DB, batchID int64, r *result) error {
	v := &r.Verify
	if err := db.QueryRowContext(ctx, "SELECT capacity, confirmed_count FROM voucher_batches WHERE id = ?", batchID).
		Scan(&v.Capacity, &v.ConfirmedCount); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM vouchers WHERE batch_id = ? AND status = 'CLAIMED'", batchID).
		Scan(&v.ConfirmedRows); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT member_id FROM vouchers WHERE batch_id = ?"+
		" GROUP BY member_id HAVING COUNT(*) > 1) d", batchID).Scan(&v.DupMembers); err != nil {
		return err
	}
	v.Oversold = max(0, v.ConfirmedRows-v.Capacity)
	v.CounterOK = v.ConfirmedCount == v.ConfirmedRows
	v.ReportedOK = r.Outcomes["CLAIMED"] == v.ConfirmedRows
	return nil
}
