package models

import (
	"io"
	"strings"
	"time"
)

// VoucherKind is what a voucher is for.
type VoucherKind string

const (
	VoucherMovie          VoucherKind = "MOVIE"
	VoucherCake           VoucherKind = "CAKE"
	VoucherPhoneCredit    VoucherKind = "PHONE_CREDIT"
	VoucherTravelSubsidy  VoucherKind = "TRAVEL_SUBSIDY"
	VoucherOnlineShopping VoucherKind = "ONLINE_SHOPPING"
	VoucherOther          VoucherKind = "OTHER"
)

var AllVoucherKinds = []VoucherKind{VoucherMovie, VoucherCake, VoucherPhoneCredit, VoucherTravelSubsidy, VoucherOnlineShopping, VoucherOther}

func (e VoucherKind) IsValid() bool             { return slicesContains(AllVoucherKinds, e) }
func (e *VoucherKind) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllVoucherKinds, e) }
func (e VoucherKind) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// VoucherStatus is a voucher's state as members see it. EXPIRED is never
// stored: a CLAIMED voucher past its validity reads as EXPIRED.
type VoucherStatus string

const (
	VoucherClaimed  VoucherStatus = "CLAIMED"
	VoucherRedeemed VoucherStatus = "REDEEMED"
	VoucherExpired  VoucherStatus = "EXPIRED"
	VoucherRevoked  VoucherStatus = "REVOKED"
)

var AllVoucherStatuses = []VoucherStatus{VoucherClaimed, VoucherRedeemed, VoucherExpired, VoucherRevoked}

func (e VoucherStatus) IsValid() bool             { return slicesContains(AllVoucherStatuses, e) }
func (e *VoucherStatus) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllVoucherStatuses, e) }
func (e VoucherStatus) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// VoucherBatch is a stock of vouchers an admin hands out. Its stock is a
// seat pool (Capacity, ConfirmedCount = claimed).
type VoucherBatch struct {
	ID           int64
	UnionID      int64
	Title        string
	Kind         VoucherKind
	Description  string
	FaceValueFen int64

	Capacity       int
	WaitlistLimit  int
	ConfirmedCount int
	WaitlistCount  int
	WaitlistSeq    int64

	PerMemberLimit int
	ExclusiveGroup *string

	ClaimOpensAt  time.Time
	ClaimClosesAt time.Time
	// Validity: fixed dates (ValidFrom, ValidUntil), or ValidDays after
	// the claim.
	ValidFrom  *time.Time
	ValidUntil *time.Time
	ValidDays  *int

	Eligibility `gorm:"embedded"`

	Status      OfferingStatus
	Version     int
	CreatedBy   int64
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Stock is the batch's total stock.
func (b *VoucherBatch) Stock() int { return b.Capacity }

// StockLeft is how many vouchers are still to be claimed.
func (b *VoucherBatch) StockLeft() int { return max(b.Capacity-b.ConfirmedCount, 0) }

// ValidityFor is the validity of a voucher claimed at t.
func (b *VoucherBatch) ValidityFor(t time.Time) (from, until time.Time) {
	if b.ValidDays != nil {
		return t, t.Add(time.Duration(*b.ValidDays) * 24 * time.Hour)
	}
	return *b.ValidFrom, *b.ValidUntil
}

// Voucher is one claimed voucher. Code is 20 characters of Crockford
// base32 (100 random bits), shown in groups of four.
type Voucher struct {
	ID             int64
	BatchID        int64
	MemberID       int64
	ClaimSeq       int
	RequestID      *string
	ExclusiveGroup *string
	Code           string
	Status         VoucherStatus
	Active         *bool
	WaitSeq        *int64
	ValidFrom      time.Time
	ValidUntil     time.Time
	RedeemedAt     *time.Time
	RedeemedBy     *int64
	RevokedAt      *time.Time
	RevokedBy      *int64
	RevokeReason   string
	PromotedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// StatusAt is the status a member sees at t (EXPIRED is derived).
func (v *Voucher) StatusAt(t time.Time) VoucherStatus {
	if v.Status == VoucherClaimed && !t.Before(v.ValidUntil) {
		return VoucherExpired
	}
	return v.Status
}

// GroupedCode is the code as printed: XXXX-XXXX-XXXX-XXXX-XXXX.
func (v *Voucher) GroupedCode() string { return GroupCode(v.Code) }

// GroupCode splits a code into groups of four for reading aloud or typing.
func GroupCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QRPayload is what the voucher's QR code encodes.
func (v *Voucher) QRPayload() string { return "unionhall:voucher:" + v.Code }
