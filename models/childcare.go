package models

import (
	"io"
	"time"
)

// AdmissionMode is how a childcare programme fills its places.
type AdmissionMode string

const (
	// AdmissionFirstCome admits at sign-up while places last (the seat
	// mechanism), then waitlists.
	AdmissionFirstCome AdmissionMode = "FIRST_COME"
	// AdmissionPriority admits at window close: priority groups first,
	// then by sign-up time.
	AdmissionPriority AdmissionMode = "PRIORITY"
	// AdmissionLottery admits at window close: priority groups first, then
	// by a draw with a recorded seed.
	AdmissionLottery AdmissionMode = "LOTTERY"
)

var AllAdmissionModes = []AdmissionMode{AdmissionFirstCome, AdmissionPriority, AdmissionLottery}

func (e AdmissionMode) IsValid() bool             { return slicesContains(AllAdmissionModes, e) }
func (e *AdmissionMode) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllAdmissionModes, e) }
func (e AdmissionMode) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// AllocatesAtClose reports whether places are given out when the window
// closes rather than at sign-up.
func (e AdmissionMode) AllocatesAtClose() bool {
	return e == AdmissionPriority || e == AdmissionLottery
}

// ChildSignUpStatus is a child's sign-up state. PENDING waits for the
// allocation at close; ADMITTED and WAITLISTED are the seat mechanism's
// holds; the rest are final.
type ChildSignUpStatus string

const (
	ChildSignUpPending    ChildSignUpStatus = "PENDING"
	ChildSignUpAdmitted   ChildSignUpStatus = "ADMITTED"
	ChildSignUpWaitlisted ChildSignUpStatus = "WAITLISTED"
	ChildSignUpRejected   ChildSignUpStatus = "REJECTED"
	ChildSignUpWithdrawn  ChildSignUpStatus = "WITHDRAWN"
	ChildSignUpCancelled  ChildSignUpStatus = "CANCELLED"
)

var AllChildSignUpStatuses = []ChildSignUpStatus{ChildSignUpPending, ChildSignUpAdmitted, ChildSignUpWaitlisted,
	ChildSignUpRejected, ChildSignUpWithdrawn, ChildSignUpCancelled}

func (e ChildSignUpStatus) IsValid() bool { return slicesContains(AllChildSignUpStatuses, e) }
func (e *ChildSignUpStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, AllChildSignUpStatuses, e)
}
func (e ChildSignUpStatus) MarshalGQL(w io.Writer) { marshalEnum(w, e) }

// IsActive reports whether the sign-up still holds, waits for or hopes for
// a place.
func (e ChildSignUpStatus) IsActive() bool {
	return e == ChildSignUpPending || e == ChildSignUpAdmitted || e == ChildSignUpWaitlisted
}

// Label is the status in Chinese, for exports and messages.
func (e ChildSignUpStatus) Label() string {
	return map[ChildSignUpStatus]string{ChildSignUpPending: "待录取", ChildSignUpAdmitted: "已录取",
		ChildSignUpWaitlisted: "候补中", ChildSignUpRejected: "未录取", ChildSignUpWithdrawn: "已退出",
		ChildSignUpCancelled: "已取消"}[e]
}

// GuardianRole is how a member is a child's guardian.
type GuardianRole string

const (
	// GuardianOwner registered the child and may invite others.
	GuardianOwner GuardianRole = "OWNER"
	// GuardianInvited joined by the owner's invitation.
	GuardianInvited GuardianRole = "GUARDIAN"
)

var AllGuardianRoles = []GuardianRole{GuardianOwner, GuardianInvited}

func (e GuardianRole) IsValid() bool             { return slicesContains(AllGuardianRoles, e) }
func (e *GuardianRole) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllGuardianRoles, e) }
func (e GuardianRole) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// ChildcareProgram is a holiday childcare class a union hosts (职工子女托管).
// The seat counters are the shape internal/seats works on. Eligibility is
// about the parent (whose union chain, which employment forms); the child's
// age range is checked on the first day.
type ChildcareProgram struct {
	ID          int64
	UnionID     int64
	Title       string
	Description string
	Place       string
	StartsOn    time.Time // a date (UTC midnight)
	EndsOn      time.Time // a date, inclusive
	DailyStart  string    // HH:MM, China time
	DailyEnd    string
	ChildMinAge int
	ChildMaxAge int

	Capacity       int
	WaitlistLimit  int
	ConfirmedCount int
	WaitlistCount  int
	WaitlistSeq    int64

	SignUpOpensAt  time.Time
	SignUpClosesAt time.Time
	AdmissionMode  AdmissionMode
	// PriorityForms are the parents' employment forms placed first
	// (comma-separated); PriorityDoubleWorker places double-worker families
	// first too.
	PriorityForms           string
	PriorityDoubleWorker    bool
	RequireEmergencyContact bool
	RequireHealthNotes      bool
	// LotterySeed is drawn when the programme is created and kept secret
	// until the allocation ran; its SHA-256 is shown from the start, so
	// nobody (the union included) can pick a seed after seeing the list.
	LotterySeed string
	AllocatedAt *time.Time

	Eligibility `gorm:"embedded"`

	Status       OfferingStatus
	CancelReason string
	Version      int
	CreatedBy    int64
	PublishedAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PriorityEmploymentForms lists the forms placed first.
func (p *ChildcareProgram) PriorityEmploymentForms() []EmploymentForm {
	return Eligibility{EligForms: p.PriorityForms}.Forms()
}

// SeatsLeft is how many places are still free.
func (p *ChildcareProgram) SeatsLeft() int { return max(p.Capacity-p.ConfirmedCount, 0) }

// IsVisibleToMembers reports whether parents may see the programme.
func (p *ChildcareProgram) IsVisibleToMembers() bool { return p.Status != OfferingDraft }

// Child is a member's child, registered for childcare. The ID number, when
// given, is sealed as members' are; the birth date is always kept (from the
// ID number or given).
type Child struct {
	ID                    int64
	OwnerID               int64 // the member who registered the child
	Name                  string
	BirthDate             time.Time
	Gender                Gender
	IDCipher              []byte
	IDHash                *string
	IDMask                string
	SchoolGrade           string
	Allergies             string
	HealthNotes           string
	EmergencyContactName  string
	EmergencyContactPhone string
	Version               int
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// AgeOn is the child's age in whole years on day t.
func (c *Child) AgeOn(t time.Time) int { return AgeOn(c.BirthDate, t) }

// ChildGuardian links a child to a member who may act for them.
type ChildGuardian struct {
	ID        int64
	ChildID   int64
	MemberID  int64
	Role      GuardianRole
	CreatedAt time.Time
}

// GuardianInvite is a one-time code an owner gives a second guardian. Only
// its hash is stored.
type GuardianInvite struct {
	ID         int64
	ChildID    int64
	CodeHash   string
	CreatedBy  int64
	ExpiresAt  time.Time
	RedeemedBy *int64
	RedeemedAt *time.Time
	CreatedAt  time.Time
}

// ChildSignUp is a child's sign-up for a programme: the seat mechanism's
// hold. Active is 1 while it is active and NULL after, so a unique index
// allows one active sign-up per child per programme.
type ChildSignUp struct {
	ID           int64
	ProgramID    int64
	ChildID      int64
	MemberID     int64 // the guardian who signed up
	Status       ChildSignUpStatus
	Active       *bool
	WaitSeq      *int64
	PriorityRank int // 0: in a priority group; 1: not
	DoubleWorker bool
	RejectReason string
	PromotedAt   *time.Time
	EndedAt      *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// IsPriority reports whether the sign-up is in a priority group.
func (s *ChildSignUp) IsPriority() bool { return s.PriorityRank == 0 }

// ChildAttendance is one day of an admitted child at the programme.
type ChildAttendance struct {
	ID           int64
	SignUpID     int64 `gorm:"column:sign_up_id"`
	ProgramID    int64
	Day          time.Time // a date
	CheckedInAt  time.Time
	CheckedInBy  int64
	CheckedOutAt *time.Time
	CheckedOutBy *int64
	PickedUpBy   string
}

// TableName keeps GORM from pluralising "attendance".
func (ChildAttendance) TableName() string { return "child_attendance" }

// AllocationRun is the record of one allocation at close, for any module
// (childcare, matchmaking): claimed once per offering by a unique key.
type AllocationRun struct {
	ID         int64
	Kind       string
	OfferingID int64
	Mode       string
	Seed       string
	Candidates int
	Admitted   int
	Waitlisted int
	Rejected   int
	CreatedAt  time.Time
}

// Table names, spelled out (GORM's plural of "child" is a guess).

func (ChildcareProgram) TableName() string { return "childcare_programs" }
func (Child) TableName() string            { return "children" }
func (ChildGuardian) TableName() string    { return "child_guardians" }
func (GuardianInvite) TableName() string   { return "guardian_invites" }
func (ChildSignUp) TableName() string      { return "child_sign_ups" }
func (AllocationRun) TableName() string    { return "allocation_runs" }
