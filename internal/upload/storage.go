// Package upload keeps uploaded files' bytes behind one interface, Store,
// with three kinds chosen by configuration (FILE_STORE):
//
//   - disk: a directory (DATA_DIR/uploads), the embedded default. Two
//     instances share it only if the directory is a shared volume.
//   - db: chunks in the file_chunks table of the product's own database,
//     for a deployment that has MySQL and nothing else. Every instance
//     reads every file.
//   - s3: an S3-compatible object store (Alibaba OSS, Tencent COS, Huawei
//     OBS, MinIO). Every instance reads every file, and clients load files
//     straight from the store through presigned links (Presigner).
//
// The file's row (models.UploadedFile) is the product's record; a store
// only holds bytes by key. The key is the file id.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"time"
)

// Kinds of store.
const (
	KindDisk = "disk"
	KindDB   = "db"
	KindS3   = "s3"
)

// ErrNotFound is a key the store does not hold.
var ErrNotFound = errors.New("upload: no such file in the store")

// Meta is what a store may keep beside the bytes and serve with them.
type Meta struct {
	ContentType string
	FileName    string
}

// Store keeps file bytes by key.
type Store interface {
	// Kind is KindDisk, KindDB or KindS3.
	Kind() string
	// Put stores size bytes read from r under key, replacing what was
	// there. It stores all of them or, on error, nothing readable.
	Put(ctx context.Context, key string, r io.Reader, size int64, m Meta) error
	// Open reads key; ErrNotFound when it is not there.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes key; deleting what is not there is not an error.
	Delete(ctx context.Context, key string) error
	// Ping says whether the store can be used now (for /readyz).
	Ping(ctx context.Context) error
}

// Presigner is a store clients can read from directly: PresignGet is a
// link to key that works for ttl and is served with m's type and name.
type Presigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration, m Meta) (string, error)
}

// Disposition is the Content-Disposition a file is served with: shown in
// place (a photo, a receipt), named by its upload name.
func Disposition(name string) string {
	ascii := "file" + path.Ext(name)
	if !safeName.MatchString(ascii) {
		ascii = "file"
	}
	return `inline; filename="` + ascii + `"; filename*=UTF-8''` + url.PathEscape(name)
}

var (
	safeKey  = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	safeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)
)

func checkKey(key string) error {
	if !safeKey.MatchString(key) {
		return fmt.Errorf("upload: bad key %q", key)
	}
	return nil
}

// Disk stores files under Dir, in a folder per first two characters of the
// key.
type Disk struct{ Dir string }

func (Disk) Kind() string { return KindDisk }

func (d Disk) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Dir, key[:2], key), nil
}

// Put writes r to key atomically (temp file + rename), so a reader sees the
// whole file or none.
func (d Disk) Put(_ context.Context, key string, r io.Reader, size int64, _ Meta) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".up-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, r)
	if err == nil && n != size {
		err = fmt.Errorf("upload: wrote %d bytes, want %d", n, size)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("upload: write: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// Open reads key.
func (d Disk) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is not under %s (is DATA_DIR shared by every instance?)", ErrNotFound, key, d.Dir)
	}
	return f, err
}

// Delete removes key.
func (d Disk) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Ping checks the directory can be written.
func (d Disk) Ping(context.Context) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.Dir, ".ping-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
