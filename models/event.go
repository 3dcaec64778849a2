package models

import (
	"io"
	"time"
)

// EventCategory groups inclusive-benefit posts (普惠活动) for browsing.
type EventCategory string

const (
	EventHealthCheck   EventCategory = "HEALTH_CHECK"   // 健康体检
	EventLegalAid      EventCategory = "LEGAL_AID"      // 法律援助
	EventSummerCooling EventCategory = "SUMMER_COOLING" // 夏送清凉
	EventHardshipAid   EventCategory = "HARDSHIP_AID"   // 困难帮扶
	EventCultureSports EventCategory = "CULTURE_SPORTS" // 文体活动
	EventCareerSkills  EventCategory = "CAREER_SKILLS"  // 就业技能
	EventFestivalCare  EventCategory = "FESTIVAL_CARE"  // 节日慰问
	EventOther         EventCategory = "OTHER"
)

var AllEventCategories = []EventCategory{EventHealthCheck, EventLegalAid, EventSummerCooling, EventHardshipAid,
	EventCultureSports, EventCareerSkills, EventFestivalCare, EventOther}

func (e EventCategory) IsValid() bool             { return slicesContains(AllEventCategories, e) }
func (e *EventCategory) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllEventCategories, e) }
func (e EventCategory) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// BodyFormat is how an admin wrote a post's body.
type BodyFormat string

const (
	BodyMarkdown BodyFormat = "MARKDOWN"
	BodyHTML     BodyFormat = "HTML"
)

var AllBodyFormats = []BodyFormat{BodyMarkdown, BodyHTML}

func (e BodyFormat) IsValid() bool             { return slicesContains(AllBodyFormats, e) }
func (e *BodyFormat) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllBodyFormats, e) }
func (e BodyFormat) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// EventPost is an inclusive-benefit post. It is published to its targets
// (EventTarget): a union and everything under it. It may carry a sign-up,
// whose places are a seat pool (Capacity … WaitlistSeq).
type EventPost struct {
	ID         int64
	UnionID    int64
	Title      string
	Category   EventCategory
	BodyFormat BodyFormat
	BodySource string
	BodyHTML   string `gorm:"column:body_html"`
	CoverURL   string `gorm:"column:cover_url"`
	Pinned     bool
	// PublishAt is when members first see a published post (a schedule),
	// to the second.
	PublishAt *time.Time
	ViewCount int64

	HasSignUp      bool
	Capacity       int
	WaitlistLimit  int
	ConfirmedCount int
	WaitlistCount  int
	WaitlistSeq    int64
	SignUpOpensAt  *time.Time
	SignUpClosesAt *time.Time
	StartsAt       *time.Time
	EndsAt         *time.Time
	Place          string
	// SignUpCancelReason is set when an admin called the sign-up off.
	SignUpCancelled    bool
	SignUpCancelReason string

	Eligibility `gorm:"embedded"`

	Status      OfferingStatus
	Version     int
	CreatedBy   int64
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// Views is ViewCount plus the views this instance has counted and not
	// yet written (set by the service when it loads the post).
	Views int64 `gorm:"-"`
	// Summary marks a post read without its body (a feed row): the body is
	// loaded only if asked for.
	Summary bool `gorm:"-"`
}

// IsVisibleToMembers reports whether members may see the post at now.
func (p *EventPost) IsVisibleToMembers(now time.Time) bool {
	return p.Status != OfferingDraft && p.Status != OfferingCancelled && p.PublishAt != nil && !p.PublishAt.After(now)
}

// FeedKey is the post's place in a feed: pinned posts first, then the
// newest. It is stored on every target row, so one index orders a feed.
func (p *EventPost) FeedKey() int64 {
	var k int64
	if p.PublishAt != nil {
		k = p.PublishAt.Unix()
	}
	if p.Pinned {
		k += PinnedFeedKey
	}
	return k
}

// PinnedFeedKey lifts pinned posts above every unpinned one (Unix seconds
// stay below 2^40 until the year 36812).
const PinnedFeedKey = int64(1) << 40

// EventTarget says that a post is published to a union (and its subtree).
// It repeats the post's feed columns so that a feed reads only this table's
// index.
type EventTarget struct {
	PostID    int64 `gorm:"primaryKey;autoIncrement:false"`
	UnionID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Status    OfferingStatus
	Category  EventCategory
	FeedKey   int64
	PublishAt time.Time
}

// EventSignUp is a member's place (or place in the queue) at a post's
// sign-up: a seat hold, as a class booking is.
type EventSignUp struct {
	ID           int64
	PostID       int64
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

func (EventSignUp) TableName() string { return "event_signups" }

// CheckinPayload is what the member's QR code encodes.
func (b *EventSignUp) CheckinPayload() string { return "unionhall:event:" + b.CheckinCode }
