// Package upload stores uploaded files behind an interface; the default is
// a directory on local disk.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Storage keeps file bytes by key.
type Storage interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Disk stores files under Dir.
type Disk struct{ Dir string }

var safeKey = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

func (d Disk) path(key string) (string, error) {
	if !safeKey.MatchString(key) {
		return "", errors.New("upload: bad key")
	}
	return filepath.Join(d.Dir, key[:2], key), nil
}

// Put writes r to key atomically (temp file + rename).
func (d Disk) Put(_ context.Context, key string, r io.Reader) error {
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
	if _, err := io.Copy(f, r); err != nil {
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
	return os.Open(p)
}
