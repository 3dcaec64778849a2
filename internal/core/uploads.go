package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/store"
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
// Codes: UNAUTHENTICATED, FORBIDDEN, VALIDATION_FAILED (purpose, type, size).
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
	head := make([]byte, 512)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, apperr.Wrap(err, apperr.ValidationFailed, "文件读取失败，请重新上传")
	}
	head = head[:n]
	if n == 0 {
		return nil, apperr.Invalid("file", "文件为空")
	}
	ctype := http.DetectContentType(head)
	if i := strings.IndexByte(ctype, ';'); i >= 0 {
		ctype = ctype[:i]
	}
	if !contains(allowed, ctype) {
		return nil, apperr.Invalid("file", "文件类型不支持")
	}
	if purpose == PurposeRoster && !strings.EqualFold(filepath.Ext(fileName), ".xlsx") {
		return nil, apperr.Invalid("file", "花名册须为 .xlsx 文件")
	}
	max := s.settings.MaxUploadBytes
	h := sha256.New()
	counted := &countingReader{r: io.LimitReader(io.MultiReader(bytes.NewReader(head), body), max+1)}
	id := newFileID()
	if err := s.files.Put(ctx, id, io.TeeReader(counted, h)); err != nil {
		return nil, err
	}
	if counted.n > max {
		return nil, apperr.Invalid("file", "文件过大")
	}
	name := filepath.Base(strings.ReplaceAll(fileName, "\\", "/"))
	if name == "." || name == "/" || name == "" {
		name = "upload" + typeExt[ctype]
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[len(r)-100:])
	}
	f := &models.UploadedFile{
		ID: id, OwnerKind: p.Kind, OwnerID: p.ID, Purpose: purpose, FileName: name, ContentType: ctype,
		Size: counted.n, SHA256: hex.EncodeToString(h.Sum(nil)), CreatedAt: s.clock.Now(),
	}
	if err := s.Q(ctx).Create(f).Error; err != nil {
		return nil, err
	}
	return f, nil
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
	if err := db.Where("id = ?", id).Take(&f).Error; err != nil {
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

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
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
