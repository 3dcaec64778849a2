package cluster_test

import (
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// The tests here run in order, not in parallel: the last of each kind
// kills a server.

// setting is the environment variable name, or a skip (a failure when the
// cluster is required).
func setting(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("TEST_CLUSTER_REQUIRED") == "1" {
			t.Fatalf("TEST_CLUSTER_REQUIRED=1 but %s is not set (run .ci/cluster.sh)", name)
		}
		t.Skipf("%s not set: start the cluster with .ci/cluster.sh", name)
	}
	return v
}

// twoNodes is a fresh database on the Galera cluster and two instances on
// it, the first writing through node 1 and the second through node 2, and
// the database as node 3 sees it.
func twoNodes(t *testing.T) (s1, s2 *testutil.Server, node3 *store.DB) {
	t.Helper()
	nodes := strings.Split(setting(t, "TEST_GALERA_DSNS"), ",")
	url := testutil.CreateDatabase(t, nodes[0])
	db1 := testutil.OpenURL(t, url, true)
	db2 := testutil.OpenURL(t, testutil.OnServer(t, url, nodes[1]), false)
	node3 = testutil.OpenURL(t, testutil.OnServer(t, url, nodes[2]), false)
	for i, db := range []*store.DB{db1, db2, node3} {
		if !db.Galera {
			t.Fatalf("node %d: not taken for a Galera node (no causal reads)", i+1)
		}
	}
	s1 = testutil.NewServerOn(t, db1)
	s2 = testutil.NewServerOn(t, db2)
	s2.Clock.Set(s1.Clock.Now())
	return s1, s2, node3
}

const bindQ = `mutation($in: BindProfileInput!) { bindProfile(input: $in) { member { id status } } }`

// A member who logs in through one node is signed in through every other
// at once: login through instance 1 on node 1, then bind the profile
// through instance 2 on node 2, a thousand times.
func TestGaleraLoginThenBindOnAnotherNode(t *testing.T) {
	s1, s2, _ := twoNodes(t)
	union := s1.UnionID("courier")
	const n = 1000
	fails := make([]string, n)
	testutil.Race(n, 8, func(i int) {
		tok := s1.LoginMember(fmt.Sprintf("galera-%d", i))
		in := map[string]any{"in": map[string]any{"realName": "测试", "idNumber": pii.MakeIDNumber("320102",
			time.Date(1980+i%20, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), i),
			"phone": fmt.Sprintf("139%08d", i), "employmentForm": "COURIER", "occupation": "快递员", "unionId": union}}
		r, err := s2.Try(tok.Access, bindQ, in)
		switch {
		case err != nil:
			fails[i] = "TRANSPORT " + err.Error()
		case len(r.Errors) > 0:
			fails[i] = r.Code() + " " + r.Errors[0].Message
		}
	})
	bad := map[string]int{}
	for _, f := range fails {
		if f != "" {
			bad[f]++
		}
	}
	if len(bad) > 0 {
		t.Fatalf("binds through node 2 right after login through node 1 failed: %v", bad)
	}
}

type outcome struct{ status, code string }

func tally(outs []outcome) map[string]int {
	n := map[string]int{}
	for _, o := range outs {
		if o.code != "" {
			n[o.code]++
		} else {
			n[o.status]++
		}
	}
	return n
}

// bookRush books class id once per token through the two instances in
// turn; after is called once a third of them have answered.
func bookRush(t *testing.T, servers []*testutil.Server, tokens []testutil.Tokens, id string, after func()) []outcome {
	t.Helper()
	out := make([]outcome, len(tokens))
	var answered atomic.Int64
	testutil.Race(len(tokens), 64, func(i int) {
		defer func() {
			if answered.Add(1) == int64(len(tokens)/3) && after != nil {
				after()
			}
		}()
		r, err := servers[i%len(servers)].Try(tokens[i].Access, testutil.BookQ, map[string]any{"id": id})
		switch {
		case err != nil:
			out[i] = outcome{code: "TRANSPORT " + err.Error()}
		case len(r.Errors) > 0:
			out[i] = outcome{code: r.Code()}
		default:
			var b struct {
				BookClass struct{ Booking testutil.Booking }
			}
			r.Decode(t, &b)
			out[i] = outcome{status: b.BookClass.Booking.Status}
		}
	})
	return out
}

// seatsHold checks class id as node 3 sees it: no more confirmed than
// seats, counters equal to the rows, waitlist places unique.
func seatsHold(t *testing.T, db *store.DB, id string, confirmed, waitlisted int) {
	t.Helper()
	var c models.TrainingClass
	if err := db.Take(&c, id).Error; err != nil {
		t.Fatal(err)
	}
	var rows struct{ Confirmed, Waitlisted, Seqs int }
	db.Raw("SELECT SUM(status = 'CONFIRMED') AS confirmed, SUM(status = 'WAITLISTED') AS waitlisted,"+
		" COUNT(DISTINCT CASE WHEN status = 'WAITLISTED' THEN wait_seq END) AS seqs FROM training_bookings WHERE class_id = ? AND active = 1", id).Scan(&rows)
	got := []int{c.ConfirmedCount, rows.Confirmed, c.WaitlistCount, rows.Waitlisted, rows.Seqs}
	if diff := cmp.Diff([]int{confirmed, confirmed, waitlisted, waitlisted, waitlisted}, got); diff != "" {
		t.Fatalf("counters/rows confirmed, waitlisted, distinct places (-want +got):\n%s", diff)
	}
}

// The booking and the claim rush through two nodes: ordinary contention is
// ridden out (certification conflicts retried), so every member gets a
// seat, a place, a voucher or FULL, never INTERNAL, and every invariant
// holds as on one server.
func TestGaleraRushThroughTwoNodes(t *testing.T) {
	s1, s2, node3 := twoNodes(t)
	servers := []*testutil.Server{s1, s2}
	admin := s1.LoginAdmin("donghua_admin").Access
	class := s1.PublishedClass(admin, testutil.ClassInput(50, 100, nil))
	s2.Clock.Set(s1.Clock.Now())
	tokens := s1.Members(800, "courier")
	want := map[string]int{"CONFIRMED": 50, "WAITLISTED": 100, "FULL": 650}
	if diff := cmp.Diff(want, tally(bookRush(t, servers, tokens, class, nil))); diff != "" {
		t.Fatalf("booking outcomes (-want +got):\n%s", diff)
	}
	seatsHold(t, node3, class, 50, 100)

	batch := s1.PublishedBatch(admin, testutil.BatchInput(200, nil))
	s2.Clock.Set(s1.Clock.Now())
	codes := make([]string, len(tokens[:500]))
	outs := make([]outcome, len(codes))
	testutil.Race(len(codes), 64, func(i int) {
		r, err := servers[i%2].Try(tokens[i].Access, testutil.ClaimQ, map[string]any{"id": batch, "r": fmt.Sprintf("rush-%d", i)})
		switch {
		case err != nil:
			outs[i] = outcome{code: "TRANSPORT " + err.Error()}
		case len(r.Errors) > 0:
			outs[i] = outcome{code: r.Code()}
		default:
			var v struct {
				ClaimVoucher struct{ Voucher testutil.Voucher }
			}
			r.Decode(t, &v)
			outs[i] = outcome{status: v.ClaimVoucher.Voucher.Status}
			if c := v.ClaimVoucher.Voucher.Code; c != nil {
				codes[i] = *c
			}
		}
	})
	got := tally(outs)
	if got["CLAIMED"] != 200 || got["CLAIMED"]+got["FULL"]+got["LIMIT_REACHED"] != len(outs) {
		t.Fatalf("claim outcomes %v: want 200 vouchers and the rest refused for stock", got)
	}
	var stored int64
	node3.Model(&models.Voucher{}).Where("batch_id = ?", batch).Count(&stored)
	seen := map[string]bool{}
	for _, c := range codes {
		if c == "" {
			continue
		}
		if seen[c] {
			t.Fatalf("code %s given twice", c)
		}
		seen[c] = true
	}
	if stored != 200 || len(seen) != 200 {
		t.Fatalf("%d vouchers stored, %d codes seen: want 200 of each", stored, len(seen))
	}
	for _, s := range servers {
		st := &s.App.Core.GrantStats
		t.Logf("batches %d, requests %d", st.Batches.Load(), st.Requests.Load())
	}

	// A retry through the other node, right after the first try committed
	// through one, gets the voucher the first try made.
	again := s1.PublishedBatch(admin, testutil.BatchInput(100, nil))
	s2.Clock.Set(s1.Clock.Now())
	for i, tok := range tokens[500:550] {
		rid := fmt.Sprintf("retry-%d", i)
		first, r := s1.Claim(tok.Access, again, rid)
		if len(r.Errors) > 0 {
			t.Fatalf("claim %d through node 1: %s", i, r.Code())
		}
		retry, r := s2.Claim(tok.Access, again, rid)
		if len(r.Errors) > 0 || retry.ID != first.ID {
			t.Fatalf("its retry through node 2 = %+v (%v), want voucher %s", retry, r.Errors, first.ID)
		}
	}
}

// questions is a server's count of client statements.
func questions(t *testing.T, dsn string) int64 {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	var n int64
	if err := db.QueryRow("SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// replicated waits until the replica has what the primary wrote.
func replicated(t *testing.T, replica *store.DB, table, where string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int64
		if err := replica.Table(table).Where(where, args...).Count(&n).Error; err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never had %s where %s", table, where)
		}
	}
}

// feedShows reads the member's first feed page and reports whether post is
// on it.
func feedShows(t *testing.T, s *testutil.Server, member, post string) bool {
	t.Helper()
	var out struct {
		Events struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	s.MustOK(member, testutil.FeedQ, map[string]any{"first": 20}, &out)
	for _, e := range out.Events.Edges {
		if e.Node.ID == post {
			return true
		}
	}
	return false
}

// With a replica, feed pages are read there while every write goes to the
// primary (the replica is read-only: a write there would fail). When the
// replica stops, the reads fall back to the primary with no error.
func TestReplicaTakesFeedReads(t *testing.T) {
	primary, replica := setting(t, "TEST_PRIMARY_DSN"), setting(t, "TEST_REPLICA_DSN")
	pid, err := strconv.Atoi(setting(t, "TEST_REPLICA_PID"))
	if err != nil {
		t.Fatal(err)
	}
	url := testutil.CreateDatabase(t, primary)
	rurl := testutil.OnServer(t, url, replica)
	db := testutil.OpenURL(t, url, true, rurl)
	if db.Replicas() != 1 {
		t.Fatal("the replica was not taken")
	}
	s := testutil.NewServerOn(t, db)
	admin := s.LoginAdmin("city_admin").Access
	post := s.PublishedEvent(admin, testutil.EventInput("复制库读取测试", nil))
	replicated(t, testutil.OpenURL(t, rurl, false), "event_posts", "id = ?", post)
	member := s.Members(1, "courier")[0].Access
	const reads = 10

	t.Run("feed pages are read on the replica", func(t *testing.T) {
		before := questions(t, replica)
		for i := 0; i < reads; i++ {
			s.Clock.Advance(time.Second) // past the shared page's second: each read is a page read
			if !feedShows(t, s, member, post) {
				t.Fatalf("read %d: the feed does not show the post", i)
			}
		}
		if got := questions(t, replica) - before; got < reads {
			t.Fatalf("the replica ran %d statements for %d feed pages", got, reads)
		}
	})
	t.Run("a stopped replica: reads fall back to the primary", func(t *testing.T) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("stop the replica: %v", err)
		}
		for i := 0; i < reads; i++ {
			s.Clock.Advance(time.Second)
			if !feedShows(t, s, member, post) {
				t.Fatalf("read %d after the replica stopped: the post is not there", i)
			}
		}
	})
}

// A node killed mid-rush: the cluster goes on with two, every member is
// answered with a seat, a place or FULL, and the seats add up.
func TestGaleraNodeKilledMidRush(t *testing.T) {
	pids := strings.Split(setting(t, "TEST_GALERA_PIDS"), ",")
	node3pid, err := strconv.Atoi(pids[2])
	if err != nil {
		t.Fatal(err)
	}
	s1, s2, node3 := twoNodes(t)
	admin := s1.LoginAdmin("donghua_admin").Access
	class := s1.PublishedClass(admin, testutil.ClassInput(50, 100, nil))
	s2.Clock.Set(s1.Clock.Now())
	tokens := s1.Members(600, "courier")
	outs := bookRush(t, []*testutil.Server{s1, s2}, tokens, class, func() {
		if err := syscall.Kill(node3pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill node 3: %v", err)
		}
	})
	want := map[string]int{"CONFIRMED": 50, "WAITLISTED": 100, "FULL": 450}
	if diff := cmp.Diff(want, tally(outs)); diff != "" {
		t.Fatalf("outcomes with node 3 killed mid-rush (-want +got):\n%s", diff)
	}
	_ = node3 // gone: check through node 1
	seatsHold(t, s1.DB, class, 50, 100)
}
