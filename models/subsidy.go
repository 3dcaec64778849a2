package models

import (
	"io"
	"time"
)

// DegreeLevel is the degree course a member enrols in (学历层次).
type DegreeLevel string

const (
	DegreeAssociate DegreeLevel = "ASSOCIATE" // 大专
	DegreeBachelor  DegreeLevel = "BACHELOR"  // 本科
	DegreeMaster    DegreeLevel = "MASTER"    // 硕士
	DegreeDoctorate DegreeLevel = "DOCTORATE" // 博士
)

var AllDegreeLevels = []DegreeLevel{DegreeAssociate, DegreeBachelor, DegreeMaster, DegreeDoctorate}

func (e DegreeLevel) IsValid() bool             { return slicesContains(AllDegreeLevels, e) }
func (e *DegreeLevel) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllDegreeLevels, e) }
func (e DegreeLevel) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// Label is the level in Chinese, for exports.
func (e DegreeLevel) Label() string {
	return map[DegreeLevel]string{DegreeAssociate: "大专", DegreeBachelor: "本科", DegreeMaster: "硕士", DegreeDoctorate: "博士"}[e]
}

// FundingLevel is a level of the union federation that pays a share of a grant.
type FundingLevel string

const (
	FundingProvince FundingLevel = "PROVINCE"
	FundingCity     FundingLevel = "CITY"
	FundingDistrict FundingLevel = "DISTRICT"
)

// AllFundingLevels is also the order ties in the rounding rule break in.
var AllFundingLevels = []FundingLevel{FundingProvince, FundingCity, FundingDistrict}

func (e FundingLevel) IsValid() bool             { return slicesContains(AllFundingLevels, e) }
func (e *FundingLevel) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllFundingLevels, e) }
func (e FundingLevel) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// ReviewStage is a level of the review: the applicant's grassroots (or
// street) union, then the district, then the city.
type ReviewStage string

const (
	StageGrassroots ReviewStage = "GRASSROOTS"
	StageDistrict   ReviewStage = "DISTRICT"
	StageCity       ReviewStage = "CITY"
)

var AllReviewStages = []ReviewStage{StageGrassroots, StageDistrict, StageCity}

func (e ReviewStage) IsValid() bool             { return slicesContains(AllReviewStages, e) }
func (e *ReviewStage) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllReviewStages, e) }
func (e ReviewStage) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// StageOf is the review stage a union of level l decides: street and
// grassroots unions both review as the grassroots stage.
func StageOf(l UnionLevel) ReviewStage {
	switch l {
	case UnionLevelCity:
		return StageCity
	case UnionLevelDistrict:
		return StageDistrict
	default:
		return StageGrassroots
	}
}

// Next is the stage after e, and false after the city (the last).
func (e ReviewStage) Next() (ReviewStage, bool) {
	switch e {
	case StageGrassroots:
		return StageDistrict, true
	case StageDistrict:
		return StageCity, true
	}
	return "", false
}

// ReviewDecision is what a reviewer decides at a stage.
type ReviewDecision string

const (
	DecisionApprove ReviewDecision = "APPROVE"
	DecisionReject  ReviewDecision = "REJECT"
	DecisionReturn  ReviewDecision = "RETURN" // back to the member for correction
)

var AllReviewDecisions = []ReviewDecision{DecisionApprove, DecisionReject, DecisionReturn}

func (e ReviewDecision) IsValid() bool             { return slicesContains(AllReviewDecisions, e) }
func (e *ReviewDecision) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllReviewDecisions, e) }
func (e ReviewDecision) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// SubsidyApplicationStatus is where an application stands. SUBMITTED waits for its
// first decision (and may be withdrawn); IN_REVIEW passed at least one
// stage and holds its grant against the budget; the rest wait for the
// member (RETURNED) or are final.
type SubsidyApplicationStatus string

const (
	SubsidySubmitted SubsidyApplicationStatus = "SUBMITTED"
	SubsidyInReview  SubsidyApplicationStatus = "IN_REVIEW"
	SubsidyReturned  SubsidyApplicationStatus = "RETURNED"
	SubsidyApproved  SubsidyApplicationStatus = "APPROVED"
	SubsidyRejected  SubsidyApplicationStatus = "REJECTED"
	SubsidyWithdrawn SubsidyApplicationStatus = "WITHDRAWN"
)

var AllSubsidyApplicationStatuses = []SubsidyApplicationStatus{SubsidySubmitted, SubsidyInReview, SubsidyReturned, SubsidyApproved,
	SubsidyRejected, SubsidyWithdrawn}

func (e SubsidyApplicationStatus) IsValid() bool {
	return slicesContains(AllSubsidyApplicationStatuses, e)
}
func (e *SubsidyApplicationStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, AllSubsidyApplicationStatuses, e)
}
func (e SubsidyApplicationStatus) MarshalGQL(w io.Writer) { marshalEnum(w, e) }

// Reviewable reports whether a reviewer may decide on the application now.
func (e SubsidyApplicationStatus) Reviewable() bool {
	return e == SubsidySubmitted || e == SubsidyInReview
}

// Label is the status in Chinese, for exports.
func (e SubsidyApplicationStatus) Label() string {
	return map[SubsidyApplicationStatus]string{SubsidySubmitted: "待审核", SubsidyInReview: "审核中", SubsidyReturned: "退回修改",
		SubsidyApproved: "已通过", SubsidyRejected: "未通过", SubsidyWithdrawn: "已撤回"}[e]
}

// SubsidyProgram is an education-subsidy call (求学圆梦) a union publishes.
// A nil cap means the level is not offered. Shares are basis points of
// each grant (they sum to 10000). GrantedFen is what approvals hold
// against BudgetFen.
type SubsidyProgram struct {
	ID              int64
	UnionID         int64
	Title           string
	Description     string
	Year            int
	CapAssociateFen *int64
	CapBachelorFen  *int64
	CapMasterFen    *int64
	CapDoctorateFen *int64
	ShareProvinceBP int `gorm:"column:share_province_bp"`
	ShareCityBP     int `gorm:"column:share_city_bp"`
	ShareDistrictBP int `gorm:"column:share_district_bp"`
	BudgetFen       int64
	GrantedFen      int64
	OpensAt         time.Time
	ClosesAt        time.Time
	Status          OfferingStatus
	Version         int
	CreatedBy       int64
	PublishedAt     *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// CapOf is a pointer to the cap of level l (nil pointer for an unknown level).
func (p *SubsidyProgram) CapOf(l DegreeLevel) **int64 {
	switch l {
	case DegreeAssociate:
		return &p.CapAssociateFen
	case DegreeBachelor:
		return &p.CapBachelorFen
	case DegreeMaster:
		return &p.CapMasterFen
	case DegreeDoctorate:
		return &p.CapDoctorateFen
	}
	return nil
}

// Cap is level l's cap and whether the programme offers l.
func (p *SubsidyProgram) Cap(l DegreeLevel) (int64, bool) {
	c := p.CapOf(l)
	if c == nil || *c == nil {
		return 0, false
	}
	return **c, true
}

// Shares are the basis points per funding level, in AllFundingLevels order.
func (p *SubsidyProgram) Shares() [3]int {
	return [3]int{p.ShareProvinceBP, p.ShareCityBP, p.ShareDistrictBP}
}

// RemainingFen is what the budget can still grant.
func (p *SubsidyProgram) RemainingFen() int64 { return p.BudgetFen - p.GrantedFen }

// GrantFen is what an application of level l with tuition fen would be
// granted: min(tuition, the level's cap).
func (p *SubsidyProgram) GrantFen(l DegreeLevel, tuition int64) int64 {
	c, ok := p.Cap(l)
	if !ok {
		return 0
	}
	return min(tuition, c)
}

// SplitGrant divides grant fen across the funding levels by shares (basis
// points, in AllFundingLevels order, summing to 10000). Each level gets
// floor(grant × share / 10000); the fen left over by rounding down (at most
// two) all go to the level with the largest share, ties going to the first
// in AllFundingLevels order (province before city before district). The
// parts always sum to grant.
func SplitGrant(grant int64, shares [3]int) [3]int64 {
	var parts [3]int64
	var sum int64
	top := 0
	for i, bp := range shares {
		parts[i] = grant * int64(bp) / 10000
		sum += parts[i]
		if bp > shares[top] {
			top = i
		}
	}
	parts[top] += grant - sum
	return parts
}

// SubsidyApplication is a member's application to a programme. Stage is the
// stage to decide next (the last one decided once final). HeldFen is what
// it holds of the budget (the grant, from its first approval until it is
// rejected or returned); the Grant* columns are the split of the grant.
type SubsidyApplication struct {
	ID               int64
	ProgramID        int64
	MemberID         int64
	UnionID          int64
	UnionPath        string
	School           string
	Major            string
	Level            DegreeLevel
	EnrolledOn       time.Time // a date
	TuitionFen       int64
	Status           SubsidyApplicationStatus
	Stage            ReviewStage
	HeldFen          int64
	GrantProvinceFen int64
	GrantCityFen     int64
	GrantDistrictFen int64
	Active           *bool
	FundedLevel      *DegreeLevel
	Version          int
	SubmittedAt      time.Time
	DecidedAt        *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// GrantFen is the application's grant (zero unless held or approved).
func (a *SubsidyApplication) GrantFen() int64 {
	return a.GrantProvinceFen + a.GrantCityFen + a.GrantDistrictFen
}

// SubsidyProof links an uploaded proof file to an application.
type SubsidyProof struct {
	ID            int64
	ApplicationID int64
	FileID        string
	CreatedAt     time.Time
}

// SubsidyReview is one recorded decision of the trail.
type SubsidyReview struct {
	ID            int64
	ApplicationID int64
	AdminID       int64
	Stage         ReviewStage
	Decision      ReviewDecision
	Comment       string
	CreatedAt     time.Time
}
