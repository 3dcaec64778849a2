package models

import (
	"io"
	"time"
)

// EmploymentForm is how a member works; the new forms (新就业形态) get
// priority in several offerings.
type EmploymentForm string

const (
	EmploymentStandard     EmploymentForm = "STANDARD"
	EmploymentCourier      EmploymentForm = "COURIER"
	EmploymentFoodDelivery EmploymentForm = "FOOD_DELIVERY"
	EmploymentRideHailing  EmploymentForm = "RIDE_HAILING"
	EmploymentTruckDriver  EmploymentForm = "TRUCK_DRIVER"
	EmploymentDomestic     EmploymentForm = "DOMESTIC"
	EmploymentNursing      EmploymentForm = "NURSING"
	EmploymentSecurity     EmploymentForm = "SECURITY"
	EmploymentOtherNewForm EmploymentForm = "OTHER_NEW_FORM"
)

var AllEmploymentForms = []EmploymentForm{
	EmploymentStandard, EmploymentCourier, EmploymentFoodDelivery, EmploymentRideHailing,
	EmploymentTruckDriver, EmploymentDomestic, EmploymentNursing, EmploymentSecurity, EmploymentOtherNewForm,
}

func (e EmploymentForm) IsValid() bool             { return slicesContains(AllEmploymentForms, e) }
func (e *EmploymentForm) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllEmploymentForms, e) }
func (e EmploymentForm) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// IsNewForm reports whether e is one of the new employment forms.
func (e EmploymentForm) IsNewForm() bool { return e != EmploymentStandard && e != "" }

// Label is the Chinese name shown in exports.
func (e EmploymentForm) Label() string {
	return map[EmploymentForm]string{
		EmploymentStandard: "标准劳动关系", EmploymentCourier: "快递员", EmploymentFoodDelivery: "外卖骑手",
		EmploymentRideHailing: "网约车司机", EmploymentTruckDriver: "货车司机", EmploymentDomestic: "家政服务员",
		EmploymentNursing: "护工", EmploymentSecurity: "保安员", EmploymentOtherNewForm: "其他新就业形态",
	}[e]
}

// Gender as derived from the ID number.
type Gender string

const (
	GenderMale   Gender = "MALE"
	GenderFemale Gender = "FEMALE"
)

var AllGenders = []Gender{GenderMale, GenderFemale}

func (e Gender) IsValid() bool             { return slicesContains(AllGenders, e) }
func (e *Gender) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllGenders, e) }
func (e Gender) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// MembershipStatus: UNBOUND until the member binds a profile, then
// PENDING → VERIFIED | REJECTED. A rejected member may bind again.
type MembershipStatus string

const (
	MembershipUnbound  MembershipStatus = "UNBOUND"
	MembershipPending  MembershipStatus = "PENDING"
	MembershipVerified MembershipStatus = "VERIFIED"
	MembershipRejected MembershipStatus = "REJECTED"
)

var AllMembershipStatuses = []MembershipStatus{MembershipUnbound, MembershipPending, MembershipVerified, MembershipRejected}

func (e MembershipStatus) IsValid() bool { return slicesContains(AllMembershipStatuses, e) }
func (e *MembershipStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, AllMembershipStatuses, e)
}
func (e MembershipStatus) MarshalGQL(w io.Writer) { marshalEnum(w, e) }

// Member is a union member who logs in with WeChat. The ID number is kept
// only sealed (IDCipher) with a keyed hash (IDHash) for uniqueness and
// lookups, and a mask for display.
type Member struct {
	ID             int64
	OpenID         string `gorm:"column:openid"`
	UnionID        *int64
	RealName       string
	IDCipher       []byte
	IDHash         *string
	IDMask         string
	Phone          string
	BirthDate      *time.Time
	Gender         Gender
	EmploymentForm EmploymentForm
	Occupation     string
	Status         MembershipStatus
	RejectReason   string
	VerifiedAt     *time.Time
	VerifiedBy     *int64
	BoundAt        *time.Time
	// TrainingBannedUntil is set by the no-show rule (see the training
	// service); the member may not book classes before it.
	TrainingBannedUntil *time.Time
	Version             int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// IsBound reports whether the member has bound a real identity.
func (m *Member) IsBound() bool { return m.Status != MembershipUnbound && m.Status != "" }

// IsVerified reports whether the membership is verified.
func (m *Member) IsVerified() bool { return m.Status == MembershipVerified }

// AgeOn is the member's age in whole years on day t, or -1 when unknown.
func (m *Member) AgeOn(t time.Time) int {
	if m.BirthDate == nil {
		return -1
	}
	return AgeOn(*m.BirthDate, t)
}

// AgeOn is the age in whole years of someone born on birth, on day t.
func AgeOn(birth, t time.Time) int {
	by, bm, bd := birth.Date()
	ty, tm, td := t.Date()
	age := ty - by
	if tm < bm || (tm == bm && td < bd) {
		age--
	}
	return age
}

// CanVerify reports whether an admin may verify or reject the member now.
func (m *Member) CanReview() bool {
	return m.Status == MembershipPending || m.Status == MembershipRejected || m.Status == MembershipVerified
}
