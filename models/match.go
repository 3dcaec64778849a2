package models

import (
	"io"
	"time"
)

// Matchmaking (单身联谊). Marital status and profiles are sensitive personal
// data; see internal/matchmaking/matchmaking.go for who reads what.

// MatchSelectionMode is how an event's participants are chosen.
type MatchSelectionMode string

const (
	// MatchFirstCome confirms sign-ups while their gender's quota lasts.
	MatchFirstCome MatchSelectionMode = "FIRST_COME"
	// MatchLottery keeps sign-ups PENDING until the window closes, then
	// draws each gender's seats (internal/allocation): first-timers (never
	// checked in at a matchmaking event) first, then by a seeded draw.
	MatchLottery MatchSelectionMode = "LOTTERY"
	// MatchAdminReview keeps sign-ups PENDING until an admin selects them
	// (selectMatchParticipants), within each gender's quota.
	MatchAdminReview MatchSelectionMode = "ADMIN"
)

var AllMatchSelectionModes = []MatchSelectionMode{MatchFirstCome, MatchLottery, MatchAdminReview}

func (e MatchSelectionMode) IsValid() bool { return slicesContains(AllMatchSelectionModes, e) }
func (e *MatchSelectionMode) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, AllMatchSelectionModes, e)
}
func (e MatchSelectionMode) MarshalGQL(w io.Writer) { marshalEnum(w, e) }

// MatchSignUpStatus is a sign-up's state. CONFIRMED and WAITLISTED are the
// seat mechanism's holds; PENDING waits for an admin's selection.
type MatchSignUpStatus string

const (
	MatchSignUpPending    MatchSignUpStatus = "PENDING"
	MatchSignUpConfirmed  MatchSignUpStatus = "CONFIRMED"
	MatchSignUpWaitlisted MatchSignUpStatus = "WAITLISTED"
	MatchSignUpRejected   MatchSignUpStatus = "REJECTED"
	MatchSignUpWithdrawn  MatchSignUpStatus = "WITHDRAWN"
	MatchSignUpCancelled  MatchSignUpStatus = "CANCELLED"
)

var AllMatchSignUpStatuses = []MatchSignUpStatus{MatchSignUpPending, MatchSignUpConfirmed, MatchSignUpWaitlisted,
	MatchSignUpRejected, MatchSignUpWithdrawn, MatchSignUpCancelled}

func (e MatchSignUpStatus) IsValid() bool { return slicesContains(AllMatchSignUpStatuses, e) }
func (e *MatchSignUpStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, AllMatchSignUpStatuses, e)
}
func (e MatchSignUpStatus) MarshalGQL(w io.Writer) { marshalEnum(w, e) }

// MatchProfile is a member's matchmaking profile and single declaration
// (SingleDeclaredAt nil: not declared, or withdrawn).
type MatchProfile struct {
	MemberID         int64 `gorm:"primaryKey;autoIncrement:false"`
	SingleDeclaredAt *time.Time
	Nickname         string
	BirthYear        *int
	HeightCm         *int
	Education        string
	Occupation       string
	District         string
	Hobbies          string
	Intro            string
	PhotoFileID      *string
	WechatID         string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// MatchSingleDeclaration is one entry of a member's declaration trail.
type MatchSingleDeclaration struct {
	ID        int64
	MemberID  int64
	Single    bool
	CreatedAt time.Time
}

// MatchEvent is a matchmaking event. The eligibility's age range is the
// event's; its gender quotas are MatchQuota rows.
type MatchEvent struct {
	ID             int64
	UnionID        int64
	Title          string
	Description    string
	Place          string
	StartsAt       time.Time
	EndsAt         time.Time
	PickClosesAt   time.Time
	SignUpOpensAt  time.Time
	SignUpClosesAt time.Time
	SelectionMode  MatchSelectionMode
	MaxPicks       int
	LotterySeed    string // secret until the draw; SeedHash is shown before
	AllocatedAt    *time.Time
	CheckinCode    string
	Eligibility    `gorm:"embedded"`
	Status         OfferingStatus
	CancelReason   string
	Version        int
	CreatedBy      int64
	PublishedAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ProfilesOpen reports whether participants may read each other's profiles
// and pick at t: from the start of the event until the pick window closes.
func (e *MatchEvent) ProfilesOpen(t time.Time) bool {
	return e.Status == OfferingPublished && !t.Before(e.StartsAt) && t.Before(e.PickClosesAt)
}

// MatchQuota is the seat pool of one gender of an event (internal/seats).
type MatchQuota struct {
	ID             int64
	EventID        int64
	Gender         Gender
	Capacity       int
	WaitlistLimit  int
	ConfirmedCount int
	WaitlistCount  int
	WaitlistSeq    int64
}

// MatchSignUp is a member's sign-up for an event: a hold on their gender's
// quota.
type MatchSignUp struct {
	ID           int64
	EventID      int64
	QuotaID      int64
	MemberID     int64
	Status       MatchSignUpStatus
	Active       *bool
	WaitSeq      *int64
	PromotedAt   *time.Time
	RejectReason string
	CheckedInAt  *time.Time
	EndedAt      *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MatchPick is one participant's pick of another; only the picker sees it.
type MatchPick struct {
	ID        int64
	EventID   int64
	PickerID  int64
	PickedID  int64
	CreatedAt time.Time
}

// MatchBlock keeps a pair from ever matching.
type MatchBlock struct {
	ID        int64
	BlockerID int64
	BlockedID int64
	EventID   int64
	CreatedAt time.Time
}

// MatchReport is a participant's report of another to the admins.
type MatchReport struct {
	ID         int64
	EventID    int64
	ReporterID int64
	ReportedID int64
	Reason     string
	CreatedAt  time.Time
}

// TableName names the pool table plainly (GORM's plural rules vary).
func (MatchQuota) TableName() string { return "match_quotas" }

// Label is the status in Chinese, for exports.
func (e MatchSignUpStatus) Label() string {
	switch e {
	case MatchSignUpPending:
		return "待审核"
	case MatchSignUpConfirmed:
		return "已入选"
	case MatchSignUpWaitlisted:
		return "候补"
	case MatchSignUpRejected:
		return "未入选"
	case MatchSignUpWithdrawn:
		return "已取消"
	case MatchSignUpCancelled:
		return "活动取消"
	}
	return string(e)
}
