package subsidies

import (
	"context"
	"crypto/hmac"
	"fmt"
	"io"
	"strconv"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/core"
	"unionhall/models"
)

// Proof files are personal documents. Nobody reads them by file id: whoever
// may see the application (the applicant, admins whose scope covers the
// applicant's union) gets a link signed for that file with a short expiry,
// and GET /files/proof/{id} serves only a link whose signature and expiry
// hold (with object storage the link is the store's own, presigned: see
// core.FileLink). The signature is the sealer's keyed hash, so it cannot be forged
// without the server's key, and a changed id or expiry breaks it.

// ProofLinkTTL is how long a proof link works.
const ProofLinkTTL = 5 * time.Minute

// ProofPath is the route that serves proof files.
const ProofPath = "/files/proof/"

// ProofLink is a proof file with a short-lived link to read it.
type ProofLink struct {
	File      *models.UploadedFile
	URL       string
	ExpiresAt time.Time
}

// SubsidyProofLinks lists application a's proofs with fresh links. The
// caller must be allowed to see a (the resolvers only reach a through
// SubsidyApplication or the lists, which check); it is checked again here so
// no other path hands out links. Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) SubsidyProofLinks(ctx context.Context, a *models.SubsidyApplication) ([]*ProofLink, error) {
	if err := s.canSeeApplication(ctx, a); err != nil {
		return nil, err
	}
	var files []*models.UploadedFile
	err := s.Q(ctx).Table("uploaded_files").Select("uploaded_files.*").
		Joins("JOIN subsidy_proofs ON subsidy_proofs.file_id = uploaded_files.id").
		Where("subsidy_proofs.application_id = ?", a.ID).Order("subsidy_proofs.id").Find(&files).Error
	if err != nil {
		return nil, err
	}
	out := make([]*ProofLink, len(files))
	for i, f := range files {
		u, exp, err := s.FileLink(ctx, f, ProofPath, ProofLinkTTL, s.proofSignature)
		if err != nil {
			return nil, err
		}
		out[i] = &ProofLink{File: f, ExpiresAt: exp, URL: u}
	}
	return out, nil
}

// The file's fields, as the API shows them.
func (l *ProofLink) ID() string          { return l.File.ID }
func (l *ProofLink) FileName() string    { return l.File.FileName }
func (l *ProofLink) ContentType() string { return l.File.ContentType }
func (l *ProofLink) Size() int64         { return l.File.Size }

func (s *Service) canSeeApplication(ctx context.Context, a *models.SubsidyApplication) error {
	p, err := auth.Require(ctx)
	if err != nil {
		return err
	}
	if p.IsMember() {
		if a.MemberID != p.ID {
			return errSubsidyAppNotFound
		}
		return nil
	}
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return err
	}
	if !sc.CoversPath(a.UnionPath) {
		return core.ErrOutOfScope
	}
	return nil
}

func (s *Service) proofSignature(fileID string, exp int64) string {
	return s.Sealer().Hash(fmt.Sprintf("subsidy-proof\x00%s\x00%d", fileID, exp))
}

// OpenProof checks a proof link (file id, expiry as Unix seconds, signature)
// and opens the file. Codes: FORBIDDEN (bad or expired link), NOT_FOUND.
func (s *Service) OpenProof(ctx context.Context, fileID, exp, sig string) (*models.UploadedFile, io.ReadCloser, error) {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.proofSignature(fileID, e))) {
		return nil, nil, core.ErrSignedLink
	}
	if !s.Clock().Now().Before(time.Unix(e, 0)) {
		return nil, nil, core.ErrSignedLink
	}
	var f models.UploadedFile
	err = s.Q(ctx).Where("id = ? AND purpose = ? AND stored_at IS NOT NULL", fileID, core.PurposeProof).
		Where("EXISTS (?)", s.Q(ctx).Session(&gorm.Session{NewDB: true}).Model(&models.SubsidyProof{}).
			Select("1").Where("file_id = ?", fileID)).Take(&f).Error
	if err != nil {
		return nil, nil, apperr.New(apperr.NotFound, "文件不存在")
	}
	r, err := s.OpenFile(ctx, &f)
	if err != nil {
		return nil, nil, err
	}
	return &f, r, nil
}

// ExportSubsidyPayments is finance's payment list of a programme as .xlsx:
// the APPROVED applications from the caller's subtree with each funding
// level's part. Phones are masked unless fullPhones; the export is audited.
// Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) ExportSubsidyPayments(ctx context.Context, programID int64, fullPhones bool) (*core.Export, error) {
	var p models.SubsidyProgram
	var root *models.Union
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, r, err := s.subsidySubtree(tx, ctx, programID, nil)
		if err != nil {
			return err
		}
		root = r
		if err := tx.Take(&p, programID).Error; err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "SUBSIDY_PAYMENTS_EXPORT", "subsidy_program", &p.ID, &root.ID, core.ExportDetail(fullPhones))
	})
	if err != nil {
		return nil, err
	}
	header := []string{"申请编号", "姓名", "手机号", "所属工会", "学校", "专业", "学历层次", "学费（元）", "资助金额（元）",
		"省级出资（元）", "市级出资（元）", "区级出资（元）", "核定时间"}
	return &core.Export{FileName: p.Title + "-资助发放名单.xlsx", Stream: func(w io.Writer) error {
		return core.WriteXLSX(w, "资助发放名单", header, func(emit func([]any) error) error {
			type row struct {
				models.SubsidyApplication  `gorm:"embedded"`
				RealName, Phone, UnionName string
			}
			return core.InBatches(func(after int64) ([]row, error) {
				var rows []row
				err := s.ReadLagged(ctx, func(q *gorm.DB) error { // an export: a replica's lag is fine
					return q.Table("subsidy_applications").
						Select("subsidy_applications.*, members.real_name, members.phone, unions.name AS union_name").
						Joins("JOIN members ON members.id = subsidy_applications.member_id").
						Joins("JOIN unions ON unions.id = subsidy_applications.union_id").
						Where("subsidy_applications.program_id = ? AND subsidy_applications.status = ?", p.ID, models.SubsidyApproved).
						Scopes(core.UnderPath("subsidy_applications.union_path", root.Path)).
						Where("subsidy_applications.id > ?", after).Order("subsidy_applications.id").Limit(500).Find(&rows).Error
				})
				return rows, err
			}, func(r row) int64 { return r.ID }, func(r row) error {
				return emit([]any{r.ID, r.RealName, core.ExportPhone(r.Phone, fullPhones), r.UnionName, r.School, r.Major,
					r.Level.Label(), yuan(r.TuitionFen), yuan(r.GrantFen()), yuan(r.GrantProvinceFen), yuan(r.GrantCityFen),
					yuan(r.GrantDistrictFen), core.ExportTime(r.DecidedAt)})
			})
		})
	}}, nil
}

// yuan formats fen as yuan with two decimals (exact: integer arithmetic).
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
