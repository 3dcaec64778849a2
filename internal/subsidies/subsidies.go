package subsidies

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/store"
	"unionhall/models"
)

// Education subsidies (求学圆梦): programmes, applications with proofs, the
// review trail grassroots → district → city, and the budget.
//
// The budget rule lives in holdGrant/releaseGrant: a programme's
// granted_fen moves only by a conditional UPDATE in the transaction of the
// review step that holds or frees it, so concurrent approvals never take
// the total past budget_fen, and a rejection or return frees exactly the
// application's held_fen.

var (
	errSubsidyProgramNotFound = apperr.New(apperr.NotFound, "资助项目不存在或已下架")
	errSubsidyAppNotFound     = apperr.New(apperr.NotFound, "申请不存在")
	errSubsidyAppStale        = apperr.New(apperr.Conflict, "申请已被他人处理或修改，请刷新后重试")
)

// maxProofFiles bounds the proofs of one application (admission letter,
// receipts …).
const maxProofFiles = 10

// LevelCapInput is a degree level a programme funds, with its cap in fen.
type LevelCapInput struct {
	Level  models.DegreeLevel
	CapFen int64
}

// FundingShareInput is a funding level's share of each grant in basis points.
type FundingShareInput struct {
	Level       models.FundingLevel
	BasisPoints int
}

// SubsidyProgramInput is a programme as an admin writes it. For updates,
// nil fields keep their stored values.
type SubsidyProgramInput struct {
	UnionID     *int64 // create only: the publishing union
	Title       *string
	Description *string
	Year        *int
	Levels      []LevelCapInput     // nil: unchanged
	Shares      []FundingShareInput // nil: unchanged
	BudgetFen   *int64
	OpensAt     *time.Time
	ClosesAt    *time.Time
}

// CreateSubsidyProgram stores a DRAFT programme published by a union of the
// caller's scope. Codes: VALIDATION_FAILED (with field), FORBIDDEN.
func (s *Service) CreateSubsidyProgram(ctx context.Context, in SubsidyProgramInput) (*models.SubsidyProgram, error) {
	var p models.SubsidyProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		pub, err := s.UnionOrRoot(tx, sc, in.UnionID)
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		p = models.SubsidyProgram{UnionID: pub.ID, Status: models.OfferingDraft, Version: 1, CreatedBy: sc.Admin.ID,
			CreatedAt: now, UpdatedAt: now}
		if err := applySubsidyProgramInput(&p, in, true); err != nil {
			return err
		}
		return tx.Create(&p).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateSubsidyProgram edits a programme of the caller's scope from the
// version the edit started at. Year, levels and shares are fixed once
// published (grants already held were computed from them); the budget never
// drops below what is granted. Codes: VALIDATION_FAILED, FORBIDDEN, CONFLICT.
func (s *Service) UpdateSubsidyProgram(ctx context.Context, id int64, version int, in SubsidyProgramInput) (*models.SubsidyProgram, error) {
	var p models.SubsidyProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := core.OfferingInScope(tx, sc, id, &p, subsidyProgramUnion, errSubsidyProgramNotFound, false); err != nil {
			return err
		}
		if p.Version != version {
			return apperr.New(apperr.Conflict, "资助项目已被他人修改，请刷新后重试")
		}
		if p.Status == models.OfferingCancelled || p.Status == models.OfferingClosed {
			return apperr.New(apperr.Conflict, "已截止或已取消的项目不能再修改")
		}
		if p.Status != models.OfferingDraft && (in.Year != nil || in.Levels != nil || in.Shares != nil) {
			return apperr.Invalid("levels", "项目发布后不能更改年度、资助层次和分担比例")
		}
		if err := applySubsidyProgramInput(&p, in, false); err != nil {
			return err
		}
		now := s.Clock().Now()
		// granted_fen <= ? keeps the budget at or above what approvals hold
		// even if one landed after the read above.
		err = core.SaveVersioned(tx, &models.SubsidyProgram{}, p.ID, version, now, map[string]any{
			"title": p.Title, "description": p.Description, "year": p.Year,
			"cap_associate_fen": p.CapAssociateFen, "cap_bachelor_fen": p.CapBachelorFen,
			"cap_master_fen": p.CapMasterFen, "cap_doctorate_fen": p.CapDoctorateFen,
			"share_province_bp": p.ShareProvinceBP, "share_city_bp": p.ShareCityBP, "share_district_bp": p.ShareDistrictBP,
			"budget_fen": p.BudgetFen, "opens_at": p.OpensAt, "closes_at": p.ClosesAt,
		}, apperr.New(apperr.Conflict, "资助项目已被他人修改，请刷新后重试"), "granted_fen <= ?", p.BudgetFen)
		if err != nil {
			return err
		}
		return tx.Take(&p, p.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// PublishSubsidyProgram makes a DRAFT programme visible to the members of
// the publishing union's subtree. Idempotent. Codes: FORBIDDEN, CONFLICT.
func (s *Service) PublishSubsidyProgram(ctx context.Context, id int64) (*models.SubsidyProgram, error) {
	var p models.SubsidyProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := core.OfferingInScope(tx, sc, id, &p, subsidyProgramUnion, errSubsidyProgramNotFound, false); err != nil {
			return err
		}
		if p.Status == models.OfferingPublished {
			return nil // a retry
		}
		if p.Status != models.OfferingDraft {
			return apperr.New(apperr.Conflict, "只有草稿状态的项目可以发布")
		}
		now := s.Clock().Now()
		res := tx.Model(&models.SubsidyProgram{}).Where("id = ? AND status = ?", p.ID, models.OfferingDraft).
			Updates(map[string]any{"status": models.OfferingPublished, "published_at": now, "updated_at": now,
				"version": gorm.Expr("version + 1")})
		if res.Error != nil {
			return res.Error
		}
		return tx.Take(&p, p.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func subsidyProgramUnion(p *models.SubsidyProgram) int64 { return p.UnionID }

// applySubsidyProgramInput validates in against p (stored, or new) and
// writes the result into p.
func applySubsidyProgramInput(p *models.SubsidyProgram, in SubsidyProgramInput, isNew bool) error {
	var err error
	if in.Title != nil || isNew {
		if p.Title, err = core.CleanText("title", core.Deref(in.Title), 2, 100); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if p.Description, err = core.CleanText("description", *in.Description, 0, 5000); err != nil {
			return err
		}
	}
	if in.Year != nil || isNew {
		if y := core.Deref(in.Year); y < 2000 || y > 2100 {
			return apperr.Invalid("year", "年度不正确")
		}
		p.Year = *in.Year
	}
	if in.Levels != nil || isNew {
		if len(in.Levels) == 0 {
			return apperr.Invalid("levels", "请至少设置一个资助的学历层次")
		}
		for _, l := range models.AllDegreeLevels {
			*p.CapOf(l) = nil
		}
		for _, l := range in.Levels {
			c := p.CapOf(l.Level)
			switch {
			case c == nil:
				return apperr.Invalid("levels", "学历层次不正确")
			case *c != nil:
				return apperr.Invalid("levels", "学历层次重复")
			case l.CapFen <= 0 || l.CapFen > 10_000_000_00:
				return apperr.Invalid("levels", "每个层次的资助上限应大于 0 且不超过 1000 万元")
			}
			*c = &l.CapFen
		}
	}
	if in.Shares != nil || isNew {
		var bp [3]int
		seen := map[models.FundingLevel]bool{}
		sum := 0
		for _, sh := range in.Shares {
			i := -1
			for j, l := range models.AllFundingLevels {
				if l == sh.Level {
					i = j
				}
			}
			if i < 0 || seen[sh.Level] {
				return apperr.Invalid("fundingShares", "出资层级不正确或重复")
			}
			if sh.BasisPoints < 0 || sh.BasisPoints > 10000 {
				return apperr.Invalid("fundingShares", "分担比例应在 0 到 100% 之间")
			}
			seen[sh.Level] = true
			bp[i] = sh.BasisPoints
			sum += sh.BasisPoints
		}
		if sum != 10000 {
			return apperr.Invalid("fundingShares", "各级分担比例之和须为 100%")
		}
		p.ShareProvinceBP, p.ShareCityBP, p.ShareDistrictBP = bp[0], bp[1], bp[2]
	}
	if in.BudgetFen != nil || isNew {
		b := core.Deref(in.BudgetFen)
		if b <= 0 {
			return apperr.Invalid("budgetFen", "总预算应大于 0")
		}
		if b < p.GrantedFen {
			return apperr.Invalid("budgetFen", fmt.Sprintf("已核定 %d 分，总预算不能低于此数", p.GrantedFen))
		}
		p.BudgetFen = b
	}
	if in.OpensAt != nil {
		p.OpensAt = in.OpensAt.UTC()
	}
	if in.ClosesAt != nil {
		p.ClosesAt = in.ClosesAt.UTC()
	}
	if isNew && (in.OpensAt == nil || in.ClosesAt == nil) {
		return apperr.Invalid("opensAt", "请填写申请开始和截止时间")
	}
	if !p.ClosesAt.After(p.OpensAt) {
		return apperr.Invalid("closesAt", "截止时间须晚于开始时间")
	}
	return nil
}

// ListSubsidyPrograms pages through programmes, newest first: for members
// those published to their chain, for admins those of their subtree (or of
// unionID's), in status when given. Codes: FORBIDDEN, VALIDATION_FAILED.
func (s *Service) ListSubsidyPrograms(ctx context.Context, unionID *int64, status *models.OfferingStatus, first *int, after *string) (page.Page[*models.SubsidyProgram], error) {
	var empty page.Page[*models.SubsidyProgram]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	out := empty
	err = s.ReadLagged(ctx, func(db *gorm.DB) error { // a list: a replica's lag is fine
		q, none, err := s.VisibleOfferings(ctx, db.Model(&models.SubsidyProgram{}), unionID, status)
		if err != nil || none {
			return err
		}
		out, err = core.ByIDPage[*models.SubsidyProgram](q, pa, true)
		return err
	})
	return out, err
}

// SubsidyProgram loads one programme for the caller.
// Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) SubsidyProgram(ctx context.Context, id int64) (*models.SubsidyProgram, error) {
	var p models.SubsidyProgram
	err := core.GetOffering(ctx, s.Core, id, &p, subsidyProgramUnion,
		func(p *models.SubsidyProgram) bool { return p.Status == models.OfferingDraft }, errSubsidyProgramNotFound)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// SubsidyIneligibility is why the calling member may not apply to p now
// ("" when they may, and always "" for admins).
func (s *Service) SubsidyIneligibility(ctx context.Context, p *models.SubsidyProgram) (string, error) {
	if !auth.PrincipalFrom(ctx).IsMember() {
		return "", nil
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return "", err
	}
	if err := s.subsidyEligible(v, p, s.Clock().Now()); err != nil {
		e, _ := apperr.As(err)
		return e.Message, nil
	}
	return "", nil
}

// subsidyEligible is the programme-level rule for applying: published to
// the member's chain, a verified member, inside the window. (The degree
// level, the enrolment year and earlier funding are checked on the
// application.) Codes: NOT_FOUND, NOT_ELIGIBLE, WINDOW_CLOSED.
//
// Why not models.Eligibility: a subsidy is open to every verified member
// under the programme's union; who gets how much turns on the student's
// degree, year and earlier grants, facts of the application that the
// shared columns (forms, gender, age of the member) do not describe.
func (s *Service) subsidyEligible(v *core.Viewer, p *models.SubsidyProgram, now time.Time) error {
	switch {
	case p.Status == models.OfferingDraft || !v.OnChain(p.UnionID):
		return errSubsidyProgramNotFound
	case !v.Member.IsVerified():
		return apperr.New(apperr.NotEligible, "仅限已认证的工会会员申请")
	case p.Status != models.OfferingPublished || now.Before(p.OpensAt) || !now.Before(p.ClosesAt):
		return apperr.New(apperr.WindowClosed, "不在申请时间内")
	}
	return nil
}

// SubsidyApplicationInput is what a member writes on an application.
type SubsidyApplicationInput struct {
	School, Major string
	Level         models.DegreeLevel
	EnrolledOn    time.Time // a date
	TuitionFen    int64
	ProofFileIDs  []string // from POST /upload with purpose PROOF
}

// ApplySubsidy files the calling member's application to programme id, once
// per programme. Nothing is stored unless every check passes.
// Codes: VALIDATION_FAILED (with field), NOT_FOUND, NOT_ELIGIBLE,
// WINDOW_CLOSED, ALREADY_EXISTS.
func (s *Service) ApplySubsidy(ctx context.Context, programID int64, in SubsidyApplicationInput) (*models.SubsidyApplication, error) {
	v, err := s.Viewer(ctx) // before the transaction: it reads on its own connection
	if err != nil {
		return nil, err
	}
	var a models.SubsidyApplication
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		var p models.SubsidyProgram
		if err := tx.Take(&p, programID).Error; err != nil {
			return store.Translate(err, errSubsidyProgramNotFound.Message, "")
		}
		now := s.Clock().Now()
		if err := s.subsidyEligible(v, &p, now); err != nil {
			return err
		}
		if v.Member.UnionID == nil {
			return apperr.New(apperr.NotEligible, "请先加入工会")
		}
		var u models.Union
		if err := tx.Take(&u, *v.Member.UnionID).Error; err != nil {
			return err
		}
		active := true
		a = models.SubsidyApplication{ProgramID: p.ID, MemberID: v.Member.ID, UnionID: u.ID, UnionPath: u.Path,
			Status: models.SubsidySubmitted, Stage: models.StageOf(u.Level), Active: &active, Version: 1,
			SubmittedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := s.checkSubsidyInput(tx, &p, v.Member.ID, &a, in); err != nil {
			return err
		}
		if err := checkProofCount(in.ProofFileIDs); err != nil {
			return err
		}
		if err := tx.Create(&a).Error; err != nil {
			return store.Translate(err, "", "你已申请过本项目")
		}
		return s.attachProofs(ctx, tx, a.ID, in.ProofFileIDs, now)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// checkSubsidyInput validates in for programme p and writes it into a.
func (s *Service) checkSubsidyInput(tx *gorm.DB, p *models.SubsidyProgram, memberID int64, a *models.SubsidyApplication, in SubsidyApplicationInput) error {
	var err error
	if a.School, err = core.CleanText("school", in.School, 2, 100); err != nil {
		return err
	}
	if a.Major, err = core.CleanText("major", in.Major, 2, 100); err != nil {
		return err
	}
	if _, ok := p.Cap(in.Level); !ok {
		return apperr.Invalid("level", "本项目不资助该学历层次")
	}
	if in.TuitionFen <= 0 || in.TuitionFen > 10_000_000_00 {
		return apperr.Invalid("tuitionFen", "学费金额应大于 0")
	}
	if in.EnrolledOn.Year() != p.Year {
		return apperr.New(apperr.NotEligible, fmt.Sprintf("仅资助 %d 年入学的学员", p.Year))
	}
	var funded int64
	if err := tx.Model(&models.SubsidyApplication{}).
		Where("member_id = ? AND funded_level = ?", memberID, in.Level).Count(&funded).Error; err != nil {
		return err
	}
	if funded > 0 {
		return apperr.New(apperr.NotEligible, "你已获得过该学历层次的资助")
	}
	a.Level, a.EnrolledOn, a.TuitionFen = in.Level, core.DateOf(in.EnrolledOn), in.TuitionFen
	return nil
}

// checkProofCount wants one proof at least (admission letter, receipt) and
// at most maxProofFiles.
func checkProofCount(ids []string) error {
	if n := len(ids); n == 0 || n > maxProofFiles {
		return apperr.Invalid("proofFileIds", fmt.Sprintf("请上传录取通知书和学费票据（1 到 %d 个文件）", maxProofFiles))
	}
	return nil
}

// attachProofs links the caller's PROOF uploads to application appID. A
// file proves one application only (a unique index).
func (s *Service) attachProofs(ctx context.Context, tx *gorm.DB, appID int64, ids []string, now time.Time) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.OwnUploadIn(ctx, tx, id, core.PurposeProof, "proofFileIds"); err != nil {
			return err
		}
		if err := tx.Create(&models.SubsidyProof{ApplicationID: appID, FileID: id, CreatedAt: now}).Error; err != nil {
			return store.Translate(err, "", "文件已用于其他申请，请重新上传")
		}
	}
	return nil
}

// ResubmitSubsidyApplication corrects a RETURNED application of the caller
// and sends it back to the first stage; proofFileIDs, when given, replace
// the proofs. It is open after the window closed (a correction asked for by
// a reviewer, not a new application). Codes: VALIDATION_FAILED, NOT_FOUND,
// NOT_ELIGIBLE, CONFLICT (stale version, not RETURNED).
func (s *Service) ResubmitSubsidyApplication(ctx context.Context, id int64, version int, in SubsidyApplicationInput) (*models.SubsidyApplication, error) {
	var a models.SubsidyApplication
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.ownApplication(ctx, tx, id, &a); err != nil {
			return err
		}
		if a.Version != version || a.Status != models.SubsidyReturned {
			return errSubsidyAppStale
		}
		var p models.SubsidyProgram
		if err := tx.Take(&p, a.ProgramID).Error; err != nil {
			return err
		}
		keepProofs := in.ProofFileIDs == nil
		if err := s.checkSubsidyInput(tx, &p, a.MemberID, &a, in); err != nil {
			return err
		}
		if !keepProofs {
			if err := checkProofCount(in.ProofFileIDs); err != nil {
				return err
			}
		}
		now := s.Clock().Now()
		var u models.Union
		if err := tx.Take(&u, a.UnionID).Error; err != nil {
			return err
		}
		res := tx.Model(&models.SubsidyApplication{}).Where("id = ? AND version = ?", a.ID, version).Updates(map[string]any{
			"school": a.School, "major": a.Major, "level": a.Level, "enrolled_on": a.EnrolledOn, "tuition_fen": a.TuitionFen,
			"status": models.SubsidySubmitted, "stage": models.StageOf(u.Level), "submitted_at": now,
			"version": gorm.Expr("version + 1"), "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errSubsidyAppStale
		}
		if !keepProofs {
			if err := tx.Where("application_id = ?", a.ID).Delete(&models.SubsidyProof{}).Error; err != nil {
				return err
			}
			if err := s.attachProofs(ctx, tx, a.ID, in.ProofFileIDs, now); err != nil {
				return err
			}
		}
		return tx.Take(&a, a.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// WithdrawSubsidyApplication withdraws the caller's application while it
// waits for its first decision (it holds nothing of the budget then).
// A retry returns the withdrawn application. Codes: NOT_FOUND, CONFLICT.
func (s *Service) WithdrawSubsidyApplication(ctx context.Context, id int64, version int) (*models.SubsidyApplication, error) {
	var a models.SubsidyApplication
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.ownApplication(ctx, tx, id, &a); err != nil {
			return err
		}
		if a.Status == models.SubsidyWithdrawn {
			return nil
		}
		if a.Version != version {
			return errSubsidyAppStale
		}
		if a.Status != models.SubsidySubmitted && a.Status != models.SubsidyReturned {
			return apperr.New(apperr.Conflict, "申请已进入审核，不能撤回")
		}
		now := s.Clock().Now()
		res := tx.Model(&models.SubsidyApplication{}).
			Where("id = ? AND version = ? AND status IN ?", a.ID, version, []models.SubsidyApplicationStatus{models.SubsidySubmitted, models.SubsidyReturned}).
			Updates(map[string]any{"status": models.SubsidyWithdrawn, "active": nil, "decided_at": now,
				"version": gorm.Expr("version + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errSubsidyAppStale
		}
		return tx.Take(&a, a.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ownApplication loads application id of the calling member into a.
// Codes: UNAUTHENTICATED, FORBIDDEN (not a member), NOT_FOUND.
func (s *Service) ownApplication(ctx context.Context, db *gorm.DB, id int64, a *models.SubsidyApplication) error {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return err
	}
	if err := db.Take(a, id).Error; err != nil {
		return store.Translate(err, errSubsidyAppNotFound.Message, "")
	}
	if a.MemberID != p.ID {
		return errSubsidyAppNotFound
	}
	return nil
}

// ReviewSubsidyApplication records the caller's decision at the stage the
// application waits for. The caller's union must be on the applicant's
// chain at that stage's level (a street or grassroots union for the
// grassroots stage, the district, the city). version is the one the
// reviewer saw: of two reviewers acting at once one wins, the other gets
// CONFLICT. The first approval holds the grant (min(tuition, cap)) against
// the budget; a rejection or return frees exactly what was held.
// REJECT and RETURN need a comment. Codes: VALIDATION_FAILED, NOT_FOUND,
// FORBIDDEN, CONFLICT, FULL (budget spent), NOT_ELIGIBLE (funded before).
func (s *Service) ReviewSubsidyApplication(ctx context.Context, id int64, version int, decision models.ReviewDecision, comment string) (*models.SubsidyApplication, error) {
	if !decision.IsValid() {
		return nil, apperr.Invalid("decision", "审核结论不正确")
	}
	minLen := 0 // a rejection or return says why
	if decision != models.DecisionApprove {
		minLen = 2
	}
	comment, err := core.CleanText("comment", comment, minLen, 500)
	if err != nil {
		return nil, err
	}
	var a models.SubsidyApplication
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.applicationInScope(tx, sc, id, &a); err != nil {
			return err
		}
		if a.Version != version || !a.Status.Reviewable() {
			return errSubsidyAppStale
		}
		if models.StageOf(sc.Root.Level) != a.Stage {
			return apperr.New(apperr.Forbidden, "本级工会不负责该申请当前阶段的审核")
		}
		var p models.SubsidyProgram
		if err := tx.Take(&p, a.ProgramID).Error; err != nil {
			return err
		}
		now := s.Clock().Now()
		upd := map[string]any{"version": gorm.Expr("version + 1"), "updated_at": now}
		hold, release := int64(0), int64(0)
		switch decision {
		case models.DecisionApprove:
			if a.HeldFen == 0 {
				hold = p.GrantFen(a.Level, a.TuitionFen)
				parts := models.SplitGrant(hold, p.Shares())
				upd["held_fen"], upd["grant_province_fen"], upd["grant_city_fen"], upd["grant_district_fen"] = hold, parts[0], parts[1], parts[2]
			}
			if next, ok := a.Stage.Next(); ok {
				upd["status"], upd["stage"] = models.SubsidyInReview, next
			} else {
				upd["status"], upd["funded_level"], upd["decided_at"] = models.SubsidyApproved, a.Level, now
			}
		case models.DecisionReject, models.DecisionReturn:
			release = a.HeldFen
			upd["held_fen"], upd["grant_province_fen"], upd["grant_city_fen"], upd["grant_district_fen"] = 0, 0, 0, 0
			if decision == models.DecisionReject {
				upd["status"], upd["decided_at"] = models.SubsidyRejected, now
			} else {
				upd["status"] = models.SubsidyReturned
			}
		}
		// The application first: the loser of two reviewers stops here,
		// before touching the budget.
		res := tx.Model(&models.SubsidyApplication{}).Where("id = ? AND version = ?", a.ID, version).Updates(upd)
		if res.Error != nil {
			if store.IsDuplicate(res.Error) {
				return apperr.New(apperr.NotEligible, "该会员已获得过该学历层次的资助")
			}
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errSubsidyAppStale
		}
		if err := holdGrant(tx, p.ID, hold, now); err != nil {
			return err
		}
		if err := releaseGrant(tx, p.ID, release, now); err != nil {
			return err
		}
		if err := tx.Create(&models.SubsidyReview{ApplicationID: a.ID, AdminID: sc.Admin.ID, Stage: a.Stage,
			Decision: decision, Comment: comment, CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := s.Audit(ctx, tx, sc.Admin.ID, "SUBSIDY_REVIEW", "subsidy_application", &a.ID, &a.UnionID,
			string(a.Stage)+" "+string(decision)); err != nil {
			return err
		}
		return tx.Take(&a, a.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// holdGrant adds fen to programme id's granted total unless that would pass
// its budget: one conditional UPDATE, so concurrent approvals serialise on
// the programme row and the total never exceeds the budget. Codes: FULL.
func holdGrant(tx *gorm.DB, programID, fen int64, now time.Time) error {
	if fen == 0 {
		return nil
	}
	res := tx.Exec("UPDATE subsidy_programs SET granted_fen = granted_fen + ?, updated_at = ? WHERE id = ? AND granted_fen + ? <= budget_fen",
		fen, now, programID, fen)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.Full, "项目预算已用完，无法再核定资助")
	}
	return nil
}

// releaseGrant gives back fen an application held.
func releaseGrant(tx *gorm.DB, programID, fen int64, now time.Time) error {
	if fen == 0 {
		return nil
	}
	return tx.Exec("UPDATE subsidy_programs SET granted_fen = granted_fen - ?, updated_at = ? WHERE id = ?", fen, now, programID).Error
}

// applicationInScope loads application id into a and checks the applicant's
// union lies in the admin's scope (FORBIDDEN otherwise, whether or not it
// exists; NOT_FOUND for super admins).
func (s *Service) applicationInScope(db *gorm.DB, sc *core.Scope, id int64, a *models.SubsidyApplication) error {
	if err := db.Take(a, id).Error; err != nil {
		if store.IsNotFound(err) {
			return core.OutOfScope(sc, errSubsidyAppNotFound)
		}
		return err
	}
	if !sc.CoversPath(a.UnionPath) {
		return core.ErrOutOfScope
	}
	return nil
}

// SubsidyApplication loads one application: the member's own, or for
// admins one of their subtree (an audited read of personal data).
// Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) SubsidyApplication(ctx context.Context, id int64) (*models.SubsidyApplication, error) {
	var a models.SubsidyApplication
	if auth.PrincipalFrom(ctx).IsMember() {
		if err := s.ownApplication(ctx, s.Q(ctx), id, &a); err != nil {
			return nil, err
		}
		return &a, nil
	}
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.applicationInScope(tx, sc, id, &a); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "SUBSIDY_APPLICATION_READ", "subsidy_application", &a.ID, &a.UnionID, "")
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// MySubsidyApplications pages through the caller's applications, newest
// first. Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) MySubsidyApplications(ctx context.Context, first *int, after *string) (page.Page[*models.SubsidyApplication], error) {
	var empty page.Page[*models.SubsidyApplication]
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	return core.ByIDPage[*models.SubsidyApplication](s.Q(ctx).Where("member_id = ?", p.ID), pa, true)
}

// SubsidyApplicationFilter narrows a reviewer's queue.
type SubsidyApplicationFilter struct {
	ProgramID int64
	UnionID   *int64 // a union of the caller's subtree: its applicants only
	Status    *models.SubsidyApplicationStatus
	Stage     *models.ReviewStage
	Level     *models.DegreeLevel
}

// SubsidyApplications pages through a programme's applications from the
// caller's subtree, oldest first (the order they wait in), and audits the
// read. Codes: FORBIDDEN, NOT_FOUND, VALIDATION_FAILED.
func (s *Service) SubsidyApplications(ctx context.Context, f SubsidyApplicationFilter, first *int, after *string) (page.Page[*models.SubsidyApplication], error) {
	var out page.Page[*models.SubsidyApplication]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return out, err
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, root, err := s.subsidySubtree(tx, ctx, f.ProgramID, f.UnionID)
		if err != nil {
			return err
		}
		q := tx.Where("program_id = ?", f.ProgramID).Scopes(core.UnderPath("union_path", root.Path))
		if f.Status != nil {
			q = q.Where("status = ?", *f.Status)
		}
		if f.Stage != nil {
			q = q.Where("stage = ?", *f.Stage)
		}
		if f.Level != nil {
			q = q.Where("level = ?", *f.Level)
		}
		if out, err = core.ByIDPage[*models.SubsidyApplication](q, pa, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "SUBSIDY_APPLICATIONS_READ", "subsidy_program", &f.ProgramID, &root.ID,
			fmt.Sprintf("rows=%d", len(out.Items)))
	})
	return out, err
}

// subsidySubtree checks the admin may look at programme programID's
// applications (anyone whose scope reaches applicants: the programme is
// published to their union's chain or within their subtree) and returns the
// union whose subtree to read: unionID's, or the admin's root.
func (s *Service) subsidySubtree(tx *gorm.DB, ctx context.Context, programID int64, unionID *int64) (*core.Scope, *models.Union, error) {
	sc, err := s.AdminScope(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	var p models.SubsidyProgram
	if err := tx.Take(&p, programID).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, nil, errSubsidyProgramNotFound
		}
		return nil, nil, err
	}
	var pub models.Union
	if err := tx.Take(&pub, p.UnionID).Error; err != nil {
		return nil, nil, err
	}
	// The publisher is in the admin's subtree, or above it (a city
	// programme reviewed by a district).
	if !sc.Covers(&pub) && !pub.Contains(sc.Root) {
		return nil, nil, core.ErrOutOfScope
	}
	root, err := s.UnionOrRoot(tx, sc, unionID)
	if err != nil {
		return nil, nil, err
	}
	return sc, root, nil
}

// SubsidyProgramsByIDs loads programmes for a dataloader (an application's
// programme; whoever sees the application may see its programme).
func (s *Service) SubsidyProgramsByIDs(ctx context.Context, ids []int64) ([]*models.SubsidyProgram, error) {
	var rows []*models.SubsidyProgram
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return core.ByIDs(ids, rows, func(p *models.SubsidyProgram) int64 { return p.ID }), nil
}

// SubsidyReviewsByApplicationIDs loads the trails of applications for a
// dataloader, each oldest first.
func (s *Service) SubsidyReviewsByApplicationIDs(ctx context.Context, ids []int64) ([][]*models.SubsidyReview, error) {
	var rows []*models.SubsidyReview
	if err := s.Q(ctx).Where("application_id IN ?", ids).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := map[int64][]*models.SubsidyReview{}
	for _, r := range rows {
		by[r.ApplicationID] = append(by[r.ApplicationID], r)
	}
	out := make([][]*models.SubsidyReview, len(ids))
	for i, id := range ids {
		out[i] = by[id]
	}
	return out, nil
}

// SubsidyLevelStats are the figures of one degree level (or of all).
type SubsidyLevelStats struct {
	Level        *models.DegreeLevel
	Applications int // all but withdrawn
	InReview     int // SUBMITTED or IN_REVIEW
	Returned     int
	Approved     int
	Rejected     int
	ApprovedFen  int64
	ProvinceFen  int64
	CityFen      int64
	DistrictFen  int64
}

// SubsidyStats is a programme's figures over a subtree.
type SubsidyStats struct {
	ProgramID  int64
	BudgetFen  int64
	GrantedFen int64 // approved and held, over the whole programme
	Total      *SubsidyLevelStats
	Levels     []*SubsidyLevelStats
}

// SubsidyStatistics counts programme programID's applications from the
// caller's subtree (or unionID's), per degree level: how many, in which
// state, and the approved amounts by funding level.
// Codes: FORBIDDEN, NOT_FOUND, VALIDATION_FAILED.
func (s *Service) SubsidyStatistics(ctx context.Context, programID int64, unionID *int64) (*SubsidyStats, error) {
	db := s.Q(ctx)
	_, root, err := s.subsidySubtree(db, ctx, programID, unionID)
	if err != nil {
		return nil, err
	}
	var p models.SubsidyProgram
	if err := db.Take(&p, programID).Error; err != nil {
		return nil, err
	}
	var rows []struct {
		Level                 models.DegreeLevel
		Status                models.SubsidyApplicationStatus
		N                     int
		Province, City, Distr int64
	}
	err = db.Model(&models.SubsidyApplication{}).
		Select("level, status, COUNT(*) AS n, SUM(grant_province_fen) AS province, SUM(grant_city_fen) AS city, SUM(grant_district_fen) AS distr").
		Where("program_id = ?", programID).Scopes(core.UnderPath("union_path", root.Path)).
		Group("level, status").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := &SubsidyStats{ProgramID: p.ID, BudgetFen: p.BudgetFen, GrantedFen: p.GrantedFen, Total: &SubsidyLevelStats{}}
	byLevel := map[models.DegreeLevel]*SubsidyLevelStats{}
	for _, l := range models.AllDegreeLevels {
		if _, ok := p.Cap(l); ok {
			st := &SubsidyLevelStats{Level: &l}
			byLevel[l] = st
			out.Levels = append(out.Levels, st)
		}
	}
	for _, r := range rows {
		for _, st := range []*SubsidyLevelStats{byLevel[r.Level], out.Total} {
			if st == nil {
				continue
			}
			switch r.Status {
			case models.SubsidyWithdrawn:
				continue
			case models.SubsidySubmitted, models.SubsidyInReview:
				st.InReview += r.N
			case models.SubsidyReturned:
				st.Returned += r.N
			case models.SubsidyRejected:
				st.Rejected += r.N
			case models.SubsidyApproved:
				st.Approved += r.N
				st.ApprovedFen += r.Province + r.City + r.Distr
				st.ProvinceFen += r.Province
				st.CityFen += r.City
				st.DistrictFen += r.Distr
			}
			st.Applications += r.N
		}
	}
	return out, nil
}
