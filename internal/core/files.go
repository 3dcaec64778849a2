package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/store"
	"unionhall/internal/upload"
	"unionhall/models"
)

// How a file reaches a reader. Who may have a link is each module's rule
// (the applicant and admins in scope for a proof; checked-in participants
// for a photo), decided before FileLink is called; FileLink only says what
// the link is. With object storage it is the store's presigned GET, so the
// mini-program and the browser load the file from OSS directly; with disk
// or database storage it is a link to route on this server, signed with the
// server's key, which any instance can serve.

// FileLink is a link to read f for ttl and when it stops working. route is
// the server path that serves f ("/files/proof/"); sign is the module's
// signature of (id, expiry).
// Codes: INTERNAL (the file store cannot presign: HTTP 503 on plain routes).
func (s *Core) FileLink(ctx context.Context, f *models.UploadedFile, route string, ttl time.Duration,
	sign func(id string, exp int64) string) (string, time.Time, error) {
	if p, ok := s.files.(upload.Presigner); ok {
		u, err := p.PresignGet(ctx, f.ID, ttl, upload.Meta{ContentType: f.ContentType, FileName: f.FileName})
		if err != nil {
			return "", time.Time{}, fileStoreDown(err)
		}
		return u, time.Now().Add(ttl).Truncate(time.Second), nil // the store's clock, not the service's
	}
	exp := s.clock.Now().Add(ttl).Truncate(time.Second)
	return s.PublicURL(route + url.PathEscape(f.ID) + "?" + url.Values{
		"exp": {strconv.FormatInt(exp.Unix(), 10)}, "sig": {sign(f.ID, exp.Unix())}}.Encode()), exp, nil
}

// OpenFile opens a stored file's bytes for a signed server link.
// Codes: NOT_FOUND (the row is there but the bytes are not), INTERNAL
// (file store down: 503).
func (s *Core) OpenFile(ctx context.Context, f *models.UploadedFile) (io.ReadCloser, error) {
	r, err := s.files.Open(ctx, f.ID)
	if errors.Is(err, upload.ErrNotFound) {
		s.log.ErrorContext(ctx, "a stored file's bytes are missing", "file", f.ID, "store", s.files.Kind(), "error", err.Error())
		return nil, apperr.New(apperr.NotFound, "文件不存在")
	}
	if err != nil {
		return nil, fileStoreDown(err)
	}
	return r, nil
}

// FileStoreReady says whether the file store can be used (for /readyz).
func (s *Core) FileStoreReady(ctx context.Context) error { return s.files.Ping(ctx) }

// FileStoreKind is the configured store's kind.
func (s *Core) FileStoreKind() string { return s.files.Kind() }

type fileUse struct{ table, column string }

// UsesFiles declares that table.column holds upload ids: an upload it
// names is in use and is kept. Every module that attaches uploads declares
// its columns in its New, so the clean-up never deletes an attached file.
func (s *Core) UsesFiles(table, column string) {
	s.fileUses = append(s.fileUses, fileUse{table, column})
}

// PendingUploadGrace is how long an unstored row may be an upload still
// being written before SweepFiles takes it for a failed one: longer than
// any upload may take (UPLOAD_READ_TIMEOUT plus the request's).
const PendingUploadGrace = time.Hour

// SweepFiles deletes what no one can use, on one instance at a time (a
// lease): uploads attached to nothing for UnusedUploadTTL, and rows a
// failed or abandoned upload left unstored. A file is first marked
// unstored (from then on it cannot be attached or read), then its bytes go,
// then its row, so a crash at any point leaves an unstored row that the
// next sweep finishes. It returns how many files it deleted.
func (s *Core) SweepFiles(ctx context.Context) (int, error) {
	ok, err := s.Lease(ctx, "sweep-files", 10*time.Minute)
	if err != nil || !ok {
		return 0, err
	}
	now := s.clock.Now()
	ttl := s.settings.UnusedUploadTTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	err = s.Q(ctx).Model(&models.UploadedFile{}).Where("stored_at IS NOT NULL AND created_at < ?", now.Add(-ttl)).
		Scopes(s.unattached).Update("stored_at", nil).Error
	if err != nil {
		return 0, err
	}
	deleted := 0
	for {
		// Only unattached rows: an attached one never loses its bytes, and
		// a batch of rows that cannot go does not come back every round.
		var ids []string
		err := s.Q(ctx).Model(&models.UploadedFile{}).Where("stored_at IS NULL AND created_at < ?", now.Add(-PendingUploadGrace)).
			Scopes(s.unattached).Order("created_at").Limit(200).Pluck("id", &ids).Error
		if err != nil || len(ids) == 0 {
			return deleted, err
		}
		for _, id := range ids {
			if err := s.files.Delete(ctx, id); err != nil {
				return deleted, fileStoreDown(err)
			}
			res := s.Q(ctx).Where("id = ? AND stored_at IS NULL", id).Scopes(s.unattached).Delete(&models.UploadedFile{})
			if res.Error != nil {
				return deleted, res.Error
			}
			deleted += int(res.RowsAffected)
		}
		if len(ids) < 200 {
			return deleted, nil
		}
	}
}

// unattached keeps uploaded_files rows no declared column names.
func (s *Core) unattached(q *gorm.DB) *gorm.DB {
	for _, u := range s.fileUses {
		q = q.Where(fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s WHERE %s.%s = uploaded_files.id)", u.table, u.table, u.column))
	}
	return q
}

// Lease takes the named job's lease for ttl if no other instance holds it
// (or its holder let it lapse): the job then runs on one instance at a
// time. The holder renews by taking it again.
func (s *Core) Lease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	now := s.clock.Now()
	res := s.Q(ctx).Table("job_leases").Where("name = ? AND (held_until < ? OR holder = ?)", name, now, s.instance).
		Updates(map[string]any{"holder": s.instance, "held_until": now.Add(ttl)})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	err := s.Q(ctx).Table("job_leases").Create(map[string]any{"name": name, "holder": s.instance, "held_until": now.Add(ttl)}).Error
	if err == nil {
		return true, nil
	}
	if store.IsDuplicate(err) {
		// Another instance holds it, or this one does and MySQL counted
		// the renewal that changed nothing as no row.
		var holders []string
		err := s.Q(ctx).Table("job_leases").Where("name = ?", name).Pluck("holder", &holders).Error
		return err == nil && len(holders) == 1 && holders[0] == s.instance, err
	}
	return false, err
}

// FileCopy is what MigrateFiles did with one file.
type FileCopy struct {
	ID     string
	Copied bool  // false: already in the target with the right checksum
	Err    error // the copy failed or did not verify; the next run retries it
}

// MigrateFiles copies every stored file from this core's store to to, and
// verifies each by reading it back and checking its SHA-256 against the
// row. A file already in to with the right checksum is left alone, so a
// run can be repeated (after an interruption, or once more after the
// switch to catch files uploaded meanwhile). report hears each file.
func (s *Core) MigrateFiles(ctx context.Context, to upload.Store, report func(FileCopy)) error {
	after := ""
	for {
		var files []models.UploadedFile
		err := s.Q(ctx).Where("stored_at IS NOT NULL AND id > ?", after).Order("id").Limit(200).Find(&files).Error
		if err != nil {
			return err
		}
		for i := range files {
			f := &files[i]
			report(s.migrateFile(ctx, f, to))
			after = f.ID
		}
		if len(files) < 200 {
			return nil
		}
	}
}

func (s *Core) migrateFile(ctx context.Context, f *models.UploadedFile, to upload.Store) FileCopy {
	if checksum(ctx, to, f.ID) == f.SHA256 {
		return FileCopy{ID: f.ID}
	}
	r, err := s.files.Open(ctx, f.ID)
	if err != nil {
		return FileCopy{ID: f.ID, Err: fmt.Errorf("reading the source: %w", err)}
	}
	defer r.Close()
	if err := to.Put(ctx, f.ID, r, f.Size, upload.Meta{ContentType: f.ContentType, FileName: f.FileName}); err != nil {
		return FileCopy{ID: f.ID, Err: fmt.Errorf("writing the target: %w", err)}
	}
	if got := checksum(ctx, to, f.ID); got != f.SHA256 {
		return FileCopy{ID: f.ID, Err: fmt.Errorf("the copy's SHA-256 is %q, the row's %q", got, f.SHA256)}
	}
	return FileCopy{ID: f.ID, Copied: true}
}

// checksum is key's SHA-256 in st, or "" when it cannot be read.
func checksum(ctx context.Context, st upload.Store, key string) string {
	r, err := st.Open(ctx, key)
	if err != nil {
		return ""
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
