package upload

import (
	"context"
	"time"

	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/go-sql-driver/mysql"
)

// ChunkSize is the size of one file_chunks row: small enough for MySQL's
// default max_allowed_packet and a Galera write set, large enough that a
// 10 MB file is 40 rows.
const ChunkSize = 256 << 10

// Database stores files as chunks in the file_chunks table of the
// product's own database, so every instance reads every file with nothing
// but MySQL. It suits files up to the upload limit (10 MB by default) and
// a few tens of GB in all; beyond that the database's backups, buffer pool
// and replication carry bytes they need not, and object storage is the
// store to use.
type Database struct{ DB *sql.DB }

func (Database) Kind() string { return KindDB }

// Put writes the chunks in one transaction: a reader sees all or none.
// A deadlock (InnoDB locks the index gaps the chunks go into) is retried
// when r can be rewound, as an upload's spool file can.
func (d Database) Put(ctx context.Context, key string, r io.Reader, size int64, m Meta) error {
	if err := checkKey(key); err != nil {
		return err
	}
	seeker, rewind := r.(io.Seeker)
	var start int64
	if rewind {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			rewind = false
		}
	}
	for attempt := 1; ; attempt++ {
		err := d.put(ctx, key, r, size)
		var me *mysql.MySQLError
		if err == nil || !rewind || attempt == 5 || !errors.As(err, &me) || (me.Number != 1213 && me.Number != 1205) {
			return err
		}
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
}

func (d Database) put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	// A new upload's key has no chunks: not deleting then keeps the
	// transaction off the gap locks a DELETE of nothing takes.
	var existing int
	if err := d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_chunks WHERE file_id = ?", key).Scan(&existing); err != nil {
		return err
	}
	tx, err := d.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if existing > 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM file_chunks WHERE file_id = ?", key); err != nil {
			return err
		}
	}
	buf := make([]byte, ChunkSize)
	var total int64
	for seq := 0; ; seq++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO file_chunks (file_id, seq, data) VALUES (?, ?, ?)", key, seq, buf[:n]); err != nil {
				return err
			}
			total += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("upload: read: %w", rerr)
		}
	}
	if total != size {
		return fmt.Errorf("upload: read %d bytes, want %d", total, size)
	}
	return tx.Commit()
}

// Open reads the chunks one at a time, so a reader holds one chunk in
// memory however large the file.
func (d Database) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	c := &chunkReader{ctx: ctx, db: d.DB, key: key}
	if err := c.next(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, err
	}
	return c, nil
}

// Delete removes the file's chunks.
func (d Database) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := d.DB.ExecContext(ctx, "DELETE FROM file_chunks WHERE file_id = ?", key)
	return err
}

// Ping checks the table answers (the database itself is /readyz's first
// check).
func (d Database) Ping(ctx context.Context) error {
	var n int
	err := d.DB.QueryRowContext(ctx, "SELECT 1 FROM file_chunks LIMIT 1").Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

type chunkReader struct {
	ctx  context.Context
	db   *sql.DB
	key  string
	seq  int
	data []byte
}

// next loads the chunk seq; io.EOF after the last.
func (c *chunkReader) next() error {
	err := c.db.QueryRowContext(c.ctx, "SELECT data FROM file_chunks WHERE file_id = ? AND seq = ?", c.key, c.seq).Scan(&c.data)
	if errors.Is(err, sql.ErrNoRows) {
		return io.EOF
	}
	if err != nil {
		return err
	}
	c.seq++
	return nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.data) == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkReader) Close() error { c.data = nil; return nil }
