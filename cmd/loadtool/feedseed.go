package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log"
	"math"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"
)

// The feed scenario's data: a realistic city under the demo root union —
// 16 districts × 10 streets × 20 grassroots unions (3,376 unions) — with
// the members spread over the grassroots unions and the posts over every
// level: the city publishes the most per union, a grassroots union the
// least, and most posts go to the publisher's own subtree while some
// district posts go to three chosen streets.

const (
	feedDistricts        = 16
	feedStreetsPer       = 10
	feedGrassrootsPer    = 20
	feedUnionPrefix      = "压测区"
	feedMemberOpenPrefix = "dev:feed"
)

// feedTree is the seeded tree: the root and the unions by level.
type feedTree struct {
	root       int64
	districts  []int64
	streets    []int64 // parent: districts[i/feedStreetsPer]
	grassroots []int64 // parent: streets[i/feedGrassrootsPer]
}

// seedFeed makes the tree, members and posts unless they are there
// already, and returns the tree.
func seedFeed(ctx context.Context, db *sql.DB, members, posts int) (*feedTree, error) {
	t0 := time.Now()
	tree, err := seedFeedUnions(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("unions: %w", err)
	}
	log.Printf("feed seed: %d unions ready (%v)", 1+len(tree.districts)+len(tree.streets)+len(tree.grassroots), time.Since(t0).Round(time.Millisecond))
	var have int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM members WHERE openid LIKE ?", feedMemberOpenPrefix+"%").Scan(&have); err != nil {
		return nil, err
	}
	if have < members {
		t := time.Now()
		if err := seedFeedMembers(ctx, db, tree, have, members); err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		log.Printf("feed seed: %d members in %v (%.0f rows/s)", members-have, time.Since(t).Round(time.Millisecond),
			float64(members-have)/time.Since(t).Seconds())
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM event_posts WHERE title LIKE '压测活动%'").Scan(&have); err != nil {
		return nil, err
	}
	if have < posts {
		t := time.Now()
		if err := seedFeedPosts(ctx, db, tree, posts-have); err != nil {
			return nil, fmt.Errorf("posts: %w", err)
		}
		log.Printf("feed seed: %d posts and their targets in %v (%.0f posts/s)", posts-have, time.Since(t).Round(time.Millisecond),
			float64(posts-have)/time.Since(t).Seconds())
	}
	if _, err := db.ExecContext(ctx, "ANALYZE TABLE event_posts, event_targets, members, unions"); err != nil {
		return nil, err
	}
	log.Printf("feed seed: ready in %v", time.Since(t0).Round(time.Millisecond))
	return tree, nil
}

func seedFeedUnions(ctx context.Context, db *sql.DB) (*feedTree, error) {
	tree := &feedTree{}
	if err := db.QueryRowContext(ctx, "SELECT id FROM unions WHERE parent_id IS NULL ORDER BY id LIMIT 1").Scan(&tree.root); err != nil {
		return nil, fmt.Errorf("find the root union (did the server seed its demo data?): %w", err)
	}
	now := time.Now().UTC()
	// One level at a time: insert with placeholder paths, then set each
	// path from its parent's in one UPDATE.
	level := func(parents []int64, per int, name func(p, i int) string, lvl, kind string) ([]int64, error) {
		var b strings.Builder
		var args []any
		b.WriteString("INSERT IGNORE INTO unions (parent_id, name, level, kind, path, depth, created_at) VALUES ")
		n := 0
		for pi, p := range parents {
			for i := 0; i < per; i++ {
				if n > 0 {
					b.WriteString(",")
				}
				b.WriteString("(?,?,?,?,?,0,?)")
				var nonce [8]byte
				_, _ = rand.Read(nonce[:])
				args = append(args, p, name(pi, i), lvl, kind, "/pending-"+hex.EncodeToString(nonce[:])+"/", now)
				n++
			}
		}
		if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, err
		}
		if _, err := db.ExecContext(ctx, "UPDATE unions AS u JOIN unions AS p ON p.id = u.parent_id"+
			" SET u.path = CONCAT(p.path, u.id, '/'), u.depth = p.depth + 1 WHERE u.path LIKE '/pending-%'"); err != nil {
			return nil, err
		}
		var ids []int64
		for pi, p := range parents {
			for i := 0; i < per; i++ {
				var id int64
				if err := db.QueryRowContext(ctx, "SELECT id FROM unions WHERE parent_id = ? AND name = ?", p, name(pi, i)).Scan(&id); err != nil {
					return nil, err
				}
				ids = append(ids, id)
			}
		}
		return ids, nil
	}
	var err error
	if tree.districts, err = level([]int64{tree.root}, feedDistricts, func(_, i int) string {
		return fmt.Sprintf("%s%02d总工会", feedUnionPrefix, i+1)
	}, "DISTRICT", "FEDERATION"); err != nil {
		return nil, err
	}
	if tree.streets, err = level(tree.districts, feedStreetsPer, func(p, i int) string {
		return fmt.Sprintf("压测%02d区%02d街道总工会", p+1, i+1)
	}, "STREET", "FEDERATION"); err != nil {
		return nil, err
	}
	if tree.grassroots, err = level(tree.streets, feedGrassrootsPer, func(p, i int) string {
		return fmt.Sprintf("压测街道%03d第%02d联合工会", p+1, i+1)
	}, "GRASSROOTS", "JOINT"); err != nil {
		return nil, err
	}
	return tree, nil
}

// seedFeedMembers writes members [from, to) with multi-row INSERTs, four
// connections at a time. Member i belongs to grassroots union i mod 3,200.
func seedFeedMembers(ctx context.Context, db *sql.DB, tree *feedTree, from, to int) error {
	const batch = 2000
	now := time.Now().UTC().Truncate(time.Microsecond)
	jobs := make(chan int)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range jobs {
				hi := min(lo+batch, to)
				var b strings.Builder
				b.WriteString("INSERT IGNORE INTO members (openid, union_id, real_name, id_mask, phone, birth_date, gender," +
					" employment_form, occupation, status, verified_at, bound_at, version, created_at, updated_at) VALUES ")
				args := make([]any, 0, (hi-lo)*15)
				for i := lo; i < hi; i++ {
					if i > lo {
						b.WriteString(",")
					}
					b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,1,?,?)")
					birth := time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%10000)
					gender := []string{"MALE", "FEMALE"}[i%2]
					form := []string{"COURIER", "FOOD_DELIVERY", "RIDE_HAILING", "TRUCK_DRIVER", "STANDARD"}[i%5]
					args = append(args, feedOpenID(i), tree.grassroots[i%len(tree.grassroots)], fmt.Sprintf("会员%07d", i),
						"110101**********"+fmt.Sprintf("%04d", i%10000), fmt.Sprintf("139%08d", i), birth, gender, form, "职工",
						"VERIFIED", now, now, now, now)
				}
				if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for lo := from; lo < to; lo += batch {
			select {
			case jobs <- lo:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errc)
	return <-errc
}

func feedOpenID(i int) string { return fmt.Sprintf("%s%07d", feedMemberOpenPrefix, i) }

// postPlan says who publishes how many of n posts: the city 6%, each
// district 1.25%, each street 0.125%, and the grassroots unions the rest.
func postPlan(tree *feedTree, n int) []int64 {
	out := make([]int64, 0, n)
	add := func(u int64, k int) {
		for i := 0; i < k; i++ {
			out = append(out, u)
		}
	}
	add(tree.root, n*6/100)
	for _, d := range tree.districts {
		add(d, n*125/10000)
	}
	for _, s := range tree.streets {
		add(s, n*125/100000)
	}
	for i := 0; len(out) < n; i++ {
		out = append(out, tree.grassroots[i%len(tree.grassroots)])
	}
	// Publishers take turns over time (a fixed shuffle, so runs compare).
	mrand.New(mrand.NewPCG(1, 2)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// seedFeedPosts writes n posts published over the last three years, then
// their targets from the posts (one INSERT … SELECT per batch). One post
// in 200 is pinned; one in 10 has a sign-up; a district's every 20th post
// goes to three of its streets instead of its whole subtree.
func seedFeedPosts(ctx context.Context, db *sql.DB, tree *feedTree, n int) error {
	plan := postPlan(tree, n)
	streetsOf := map[int64][]int64{}
	for i, d := range tree.districts {
		streetsOf[d] = tree.streets[i*feedStreetsPer : (i+1)*feedStreetsPer]
	}
	var rootPath string
	if err := db.QueryRowContext(ctx, "SELECT path FROM unions WHERE id = ?", tree.root).Scan(&rootPath); err != nil {
		return err
	}
	paths := map[int64]string{}
	rows, err := db.QueryContext(ctx, "SELECT id, path FROM unions WHERE path LIKE ?", rootPath+"%")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return err
		}
		paths[id] = p
	}
	rows.Close()
	var adminID int64
	if err := db.QueryRowContext(ctx, "SELECT id FROM admins ORDER BY id LIMIT 1").Scan(&adminID); err != nil {
		return err
	}
	categories := []string{"HEALTH_CHECK", "LEGAL_AID", "SUMMER_COOLING", "HARDSHIP_AID", "CULTURE_SPORTS", "CAREER_SKILLS", "FESTIVAL_CARE", "OTHER"}
	now := time.Now().UTC().Truncate(time.Second)
	span := 3 * 365 * 24 * time.Hour
	body := "<p>为新就业形态劳动者提供免费服务，凭会员身份报名参加。</p><ul><li>时间：周末上午</li><li>地点：职工服务中心</li></ul>"
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		var b strings.Builder
		b.WriteString("INSERT INTO event_posts (union_id, title, category, body_format, body_source, body_html, cover_url, pinned," +
			" publish_at, view_count, has_sign_up, capacity, waitlist_limit, sign_up_opens_at, sign_up_closes_at, starts_at, ends_at," +
			" place, elig_path, status, version, created_by, published_at, created_at, updated_at) VALUES ")
		args := make([]any, 0, (hi-lo)*24)
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?,'HTML',?,?,'',?,?,?,?,?,?,?,?,?,?,?,?,'PUBLISHED',1,?,?,?,?)")
			u := plan[i]
			// Spread evenly over the span, interleaving publishers.
			at := now.Add(-time.Duration(float64(span) * (1 - float64(i%n+1)/float64(n)) * 0.999)).Add(-time.Duration(i%97) * time.Second)
			at = at.Truncate(time.Second)
			signUp := i%10 == 0
			var capacity int
			var opens, closes, starts, ends any
			if signUp {
				capacity = 50 + i%200
				opens, closes = at, at.Add(14*24*time.Hour)
				starts, ends = at.Add(20*24*time.Hour), at.Add(20*24*time.Hour+3*time.Hour)
				if i%20 == 0 { // some still open
					closes, starts, ends = now.Add(30*24*time.Hour), now.Add(40*24*time.Hour), now.Add(40*24*time.Hour+3*time.Hour)
				}
			}
			args = append(args, u, fmt.Sprintf("压测活动%07d", lo+i), categories[i%len(categories)], body, body, i%200 == 0, at,
				int64(math.Abs(float64((i*7919)%5000))), signUp, capacity, capacity/10, opens, closes, starts, ends, "职工服务中心",
				paths[u], adminID, at, at, at)
		}
		res, err := db.ExecContext(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		first, _ := res.LastInsertId() // MySQL: the first id of a multi-row insert, consecutive under innodb_autoinc_lock_mode 1 or 2 for one statement
		last := first + int64(hi-lo) - 1
		// Targets: the publisher itself, except district posts picked to go
		// to three of its streets.
		if _, err := db.ExecContext(ctx, "INSERT INTO event_targets (post_id, union_id, status, category, feed_key, publish_at)"+
			" SELECT id, union_id, status, category, UNIX_TIMESTAMP(publish_at) + IF(pinned, 1099511627776, 0), publish_at"+
			" FROM event_posts WHERE id BETWEEN ? AND ? AND NOT (union_id IN (SELECT id FROM unions WHERE level = 'DISTRICT') AND id % 20 = 0)",
			first, last); err != nil {
			return err
		}
		for _, d := range tree.districts {
			st := streetsOf[d]
			for k := 0; k < 3; k++ {
				if _, err := db.ExecContext(ctx, "INSERT INTO event_targets (post_id, union_id, status, category, feed_key, publish_at)"+
					" SELECT id, ?, status, category, UNIX_TIMESTAMP(publish_at) + IF(pinned, 1099511627776, 0), publish_at"+
					" FROM event_posts WHERE id BETWEEN ? AND ? AND union_id = ? AND id % 20 = 0", st[(k*3)%len(st)], first, last, d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
