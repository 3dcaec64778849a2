package upload_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/internal/upload"
)

// stores is every kind of store, fresh, on dialect d (for the database).
func stores(t *testing.T, d store.Dialect) []upload.Store {
	t.Helper()
	fake := testutil.NewFakeS3(t)
	s3, err := upload.NewS3(upload.S3Options{Endpoint: fake.URL, Bucket: fake.Bucket, Region: testutil.FakeS3Region,
		AccessKey: testutil.FakeS3Key, SecretKey: testutil.FakeS3Secret, PathStyle: true, Prefix: "p/"})
	if err != nil {
		t.Fatal(err)
	}
	return []upload.Store{upload.Disk{Dir: t.TempDir()}, upload.Database{DB: testutil.OpenDB(t, d).SQL}, s3}
}

func read(t *testing.T, st upload.Store, key string) ([]byte, error) {
	t.Helper()
	r, err := st.Open(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// What every store promises: bytes back as put (a file of several
// database chunks included), a replacement replaces, a missing key is
// ErrNotFound, deleting twice is fine, and a Put that fails part way
// leaves nothing readable.
func TestStoresKeepTheirPromises(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		for _, st := range stores(t, d) {
			t.Run(st.Kind(), func(t *testing.T) {
				ctx := context.Background()
				if err := st.Ping(ctx); err != nil {
					t.Fatalf("ping: %v", err)
				}
				big := bytes.Repeat([]byte("0123456789abcdef"), (upload.ChunkSize*2+1000)/16)
				const key = "abcdefgh12345678abcdefgh12345678"
				for _, want := range [][]byte{big, []byte("small")} {
					if err := st.Put(ctx, key, bytes.NewReader(want), int64(len(want)), upload.Meta{ContentType: "image/png", FileName: "证明.png"}); err != nil {
						t.Fatal(err)
					}
					if got, err := read(t, st, key); err != nil || !bytes.Equal(got, want) {
						t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(want))
					}
				}
				if _, err := read(t, st, "nosuchkey0000000"); !errors.Is(err, upload.ErrNotFound) {
					t.Fatalf("a missing key: %v, want ErrNotFound", err)
				}
				broken := io.MultiReader(bytes.NewReader(big[:upload.ChunkSize+10]), iotest.ErrReader(errors.New("connection reset")))
				const other = "brokenput0000000"
				if err := st.Put(ctx, other, broken, int64(len(big)), upload.Meta{}); err == nil {
					t.Fatal("a Put whose body broke succeeded")
				}
				if _, err := read(t, st, other); !errors.Is(err, upload.ErrNotFound) {
					t.Fatalf("after a broken Put: %v, want nothing there", err)
				}
				if err := st.Put(ctx, other, bytes.NewReader([]byte("short")), 10, upload.Meta{}); err == nil {
					t.Fatal("a Put of fewer bytes than its size succeeded")
				}
				for i := 0; i < 2; i++ {
					if err := st.Delete(ctx, key); err != nil {
						t.Fatalf("delete #%d: %v", i+1, err)
					}
				}
				if _, err := read(t, st, key); !errors.Is(err, upload.ErrNotFound) {
					t.Fatalf("after delete: %v", err)
				}
				if err := st.Put(ctx, "../../etc/passwd", bytes.NewReader(nil), 0, upload.Meta{}); err == nil {
					t.Fatal("a key with a path was taken")
				}
			})
		}
	})
}
