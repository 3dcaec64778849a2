package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/store"
	"unionhall/internal/upload"
	"unionhall/models"
)

// Upload purposes and the content they accept, judged by the bytes (not the
// file name or the client's Content-Type).
const (
	PurposeRoster = "ROSTER" // .xlsx, admins only
	PurposeProof  = "PROOF"  // admission letters, receipts: JPEG, PNG, PDF
	PurposePhoto  = "PHOTO"  // profile photos: JPEG, PNG
)

var purposeTypes = map[string][]string{
	PurposeRoster: {"application/zip"},
	PurposeProof:  {"image/jpeg", "image/png", "application/pdf"},
	PurposePhoto:  {"image/jpeg", "image/png"},
}

var typeExt = map[string]string{
	"application/zip": ".xlsx", "image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf",
}

// SaveUpload checks and stores a file sent to POST /upload.
//
// The body is read once, through the size limit, into a temporary file
// while it is hashed, so a file over the limit or of the wrong type
// (judged by its bytes) stores nothing, memory holds 32 KiB whatever the
// size, and the store gets a known size (one streaming PUT to S3). The row
// is written first, unstored; the bytes next; then the row is marked
// stored. A failure at any step leaves at most an unstored row, which
// SweepFiles removes with any bytes.
// Codes: UNAUTHENTICATED, FORBIDDEN, VALIDATION_FAILED (purpose, type,
// size, a broken body), INTERNAL (file store down: HTTP 503).
func (s *Core) SaveUpload(ctx context.Context, purpose, fileName string, body io.Reader) (*models.UploadedFile, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	allowed, ok := purposeTypes[purpose]
	if !ok {
		return nil, apperr.Invalid("purpose", "上传用途不正确")
	}
	if purpose == PurposeRoster && !p.IsAdmin() {
		return nil, apperr.New(apperr.Forbidden, "仅管理员可以上传花名册")
	}
	spool, err := os.CreateTemp("", "unionhall-upload-*")
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, apperr.InternalMessage)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	max := s.settings.MaxUploadBytes
	h := sha256.New()
	in := &readErr{r: io.LimitReader(body, max+1)}
	size, err := io.Copy(io.MultiWriter(spool, h), in)
	switch {
	case in.err != nil:
		var mbe *http.MaxBytesError
		if errors.As(in.err, &mbe) || errors.Is(in.err, os.ErrDeadlineExceeded) {
			return nil, in.err // the handler answers 413 or 408
		}
		return nil, apperr.Wrap(in.err, apperr.ValidationFailed, "上传不完整，请重试")
	case err != nil:
		return nil, apperr.Wrap(err, apperr.Internal, apperr.InternalMessage) // the temporary disk
	case size == 0:
		return nil, apperr.Invalid("file", "文件为空")
	case size > max:
		return nil, apperr.Invalid("file", "文件过大")
	}
	head := make([]byte, 512)
	n, _ := spool.ReadAt(head, 0)
	ctype := http.DetectContentType(head[:n])
	if i := strings.IndexByte(ctype, ';'); i >= 0 {
		ctype = ctype[:i]
	}
	if !contains(allowed, ctype) {
		return nil, apperr.Invalid("file", "文件类型不支持")
	}
	if purpose == PurposeRoster && !strings.EqualFold(filepath.Ext(fileName), ".xlsx") {
		return nil, apperr.Invalid("file", "花名册须为 .xlsx 文件")
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, apperr.InternalMessage)
	}
	name := filepath.Base(strings.ReplaceAll(fileName, "\\", "/"))
	if name == "." || name == "/" || name == "" {
		name = "upload" + typeExt[ctype]
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[len(r)-100:])
	}
	f := &models.UploadedFile{
		ID: newFileID(), OwnerKind: p.Kind, OwnerID: p.ID, Purpose: purpose, FileName: name, ContentType: ctype,
		Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), CreatedAt: s.clock.Now(),
	}
	if err := s.Q(ctx).Create(f).Error; err != nil {
		return nil, err
	}
	if err := s.files.Put(ctx, f.ID, spool, size, upload.Meta{ContentType: ctype, FileName: name}); err != nil {
		s.dropUnstored(ctx, f.ID)
		return nil, fileStoreDown(err)
	}
	stored := s.clock.Now()
	if err := s.Q(ctx).Model(f).Where("stored_at IS NULL").Update("stored_at", stored).Error; err != nil {
		return nil, err // the row stays unstored: SweepFiles deletes it and its bytes
	}
	f.StoredAt = &stored
	return f, nil
}

// dropUnstored removes what a failed upload left, now if it can (the
// request may be ending, so on a context of its own); SweepFiles does it
// later otherwise.
func (s *Core) dropUnstored(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.files.Delete(ctx, id); err != nil {
		return
	}
	s.Q(ctx).Where("id = ? AND stored_at IS NULL", id).Delete(&models.UploadedFile{})
}

// msgFileStore is what a member is told when the file store is down.
const msgFileStore = "文件服务暂时不可用，请稍后重试"

func fileStoreDown(err error) error { return apperr.Unavailable(err, msgFileStore) }

// readErr remembers the error of the reader it wraps, so a copy can tell
// the client's broken body from its own write failing.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// OwnUpload loads an upload the caller made for purpose.
// Codes: VALIDATION_FAILED naming field (unknown, someone else's, wrong purpose).
func (s *Core) OwnUpload(ctx context.Context, id, purpose, field string) (*models.UploadedFile, error) {
	return s.OwnUploadIn(ctx, s.Q(ctx), id, purpose, field)
}

// OwnUploadIn is ownUpload reading through db (a transaction's: SQLite has
// one connection, so a read beside an open transaction would wait on it).
func (s *Core) OwnUploadIn(ctx context.Context, db *gorm.DB, id, purpose, field string) (*models.UploadedFile, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	var f models.UploadedFile
	if err := db.Where("id = ? AND stored_at IS NOT NULL", id).Take(&f).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, apperr.Invalid(field, "文件不存在，请重新上传")
		}
		return nil, err
	}
	if f.OwnerKind != p.Kind || f.OwnerID != p.ID || f.Purpose != purpose {
		return nil, apperr.Invalid(field, "文件不存在，请重新上传")
	}
	return &f, nil
}

func newFileID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ErrSignedLink refuses a tampered or expired signed file link (proofs,
// photos).
var ErrSignedLink = apperr.New(apperr.Forbidden, "链接无效或已过期，请刷新后重试")
