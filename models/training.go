package models

import (
	"io"
	"time"
)

// SkillCategory groups training classes for browsing.
type SkillCategory string

const (
	SkillSafety     SkillCategory = "SAFETY"     // 交通与安全生产
	SkillDigital    SkillCategory = "DIGITAL"    // 数字技能
	SkillVocational SkillCategory = "VOCATIONAL" // 职业技能等级
	SkillCare       SkillCategory = "CARE"       // 养老护理、育婴
	SkillDomestic   SkillCategory = "DOMESTIC"   // 家政服务
	SkillCulinary   SkillCategory = "CULINARY"   // 烹饪
	SkillDriving    SkillCategory = "DRIVING"    // 驾驶
	SkillLegal      SkillCategory = "LEGAL"      // 法律与权益
	SkillHealth     SkillCategory = "HEALTH"     // 健康与急救
	SkillOther      SkillCategory = "OTHER"
)

var AllSkillCategories = []SkillCategory{SkillSafety, SkillDigital, SkillVocational, SkillCare, SkillDomestic,
	SkillCulinary, SkillDriving, SkillLegal, SkillHealth, SkillOther}

func (e SkillCategory) IsValid() bool             { return slicesContains(AllSkillCategories, e) }
func (e *SkillCategory) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllSkillCategories, e) }
func (e SkillCategory) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// OfferingStatus is the lifecycle every published offering shares:
// DRAFT → PUBLISHED → CLOSED | CANCELLED.
type OfferingStatus string

const (
	OfferingDraft     OfferingStatus = "DRAFT"
	OfferingPublished OfferingStatus = "PUBLISHED"
	OfferingClosed    OfferingStatus = "CLOSED"
	OfferingCancelled OfferingStatus = "CANCELLED"
)

var AllOfferingStatuses = []OfferingStatus{OfferingDraft, OfferingPublished, OfferingClosed, OfferingCancelled}

func (e OfferingStatus) IsValid() bool             { return slicesContains(AllOfferingStatuses, e) }
func (e *OfferingStatus) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllOfferingStatuses, e) }
func (e OfferingStatus) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// CanTransition reports whether the lifecycle allows from → to.
func (e OfferingStatus) CanTransition(to OfferingStatus) bool {
	switch e {
	case OfferingDraft:
		return to == OfferingPublished || to == OfferingCancelled
	case OfferingPublished:
		return to == OfferingClosed || to == OfferingCancelled
	case OfferingClosed:
		return to == OfferingCancelled
	}
	return false
}

// BookingStatus is a class booking's state. CONFIRMED and WAITLISTED are
// active (they hold or wait for a seat); the rest are final, except that an
// admin may correct attendance between ATTENDED and NO_SHOW.
type BookingStatus string

const (
	BookingConfirmed  BookingStatus = "CONFIRMED"
	BookingWaitlisted BookingStatus = "WAITLISTED"
	BookingCancelled  BookingStatus = "CANCELLED"
	BookingAttended   BookingStatus = "ATTENDED"
	BookingNoShow     BookingStatus = "NO_SHOW"
)

var AllBookingStatuses = []BookingStatus{BookingConfirmed, BookingWaitlisted, BookingCancelled, BookingAttended, BookingNoShow}

func (e BookingStatus) IsValid() bool             { return slicesContains(AllBookingStatuses, e) }
func (e *BookingStatus) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllBookingStatuses, e) }
func (e BookingStatus) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// IsActive reports whether the booking holds or waits for a seat.
func (e BookingStatus) IsActive() bool { return e == BookingConfirmed || e == BookingWaitlisted }

// TrainingClass is a skill-training class an admin publishes. StartsAt and
// EndsAt span its sessions.
type TrainingClass struct {
	ID          int64
	UnionID     int64
	Title       string
	Category    SkillCategory
	Description string
	Teacher     string
	CoverURL    string `gorm:"column:cover_url"`
	StartsAt    time.Time
	EndsAt      time.Time

	Capacity       int
	WaitlistLimit  int
	ConfirmedCount int
	WaitlistCount  int
	WaitlistSeq    int64

	BookingOpensAt  time.Time
	BookingClosesAt time.Time
	CancelDeadline  time.Time

	Eligibility `gorm:"embedded"`

	Status       OfferingStatus
	CancelReason string
	Version      int
	CreatedBy    int64
	PublishedAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SeatsLeft is how many confirmed seats are still free.
func (c *TrainingClass) SeatsLeft() int { return max(c.Capacity-c.ConfirmedCount, 0) }

// IsVisibleToMembers reports whether members may see the class at all.
func (c *TrainingClass) IsVisibleToMembers() bool { return c.Status != OfferingDraft }

// TrainingSession is one sitting of a class, in a place or online.
type TrainingSession struct {
	ID        int64
	ClassID   int64
	Seq       int
	StartsAt  time.Time
	EndsAt    time.Time
	Place     string
	OnlineURL string `gorm:"column:online_url"`
}

// TrainingBooking is a member's seat (or place in the queue) in a class.
type TrainingBooking struct {
	ID           int64
	ClassID      int64
	MemberID     int64
	Status       BookingStatus
	Active       *bool
	WaitSeq      *int64
	CheckinCode  string
	CheckedInAt  *time.Time
	CheckedInBy  *int64
	PromotedAt   *time.Time
	CancelledAt  *time.Time
	CancelReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CheckinPayload is what the member's QR code encodes.
func (b *TrainingBooking) CheckinPayload() string { return "unionhall:checkin:" + b.CheckinCode }
