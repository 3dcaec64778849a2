package models

import (
	"io"
	"time"
)

// AdminRole is what an admin account may do.
type AdminRole string

const (
	// RoleSuperAdmin is the city federation's super admin: every union, the
	// audit log, and creating other super admins.
	RoleSuperAdmin AdminRole = "SUPER_ADMIN"
	// RoleUnionAdmin acts on its union and every union below it.
	RoleUnionAdmin AdminRole = "UNION_ADMIN"
	// RoleRedeemer is a merchant's account: it may only redeem vouchers of
	// the batches assigned to it, and is no admin anywhere else.
	RoleRedeemer AdminRole = "REDEEMER"
)

var AllAdminRoles = []AdminRole{RoleSuperAdmin, RoleUnionAdmin, RoleRedeemer}

func (e AdminRole) IsValid() bool             { return slicesContains(AllAdminRoles, e) }
func (e *AdminRole) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllAdminRoles, e) }
func (e AdminRole) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// Admin is a union admin account, scoped to UnionID's subtree.
type Admin struct {
	ID           int64
	Username     string
	PasswordHash string
	DisplayName  string
	Role         AdminRole
	UnionID      int64
	Disabled     bool
	CreatedBy    *int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SubjectKind tells whose a session or token is.
type SubjectKind string

const (
	SubjectMember SubjectKind = "member"
	SubjectAdmin  SubjectKind = "admin"
)

// AuthSession is one login: the family of rotating refresh tokens that came
// from it. Revoking it ends the login everywhere.
type AuthSession struct {
	ID          int64
	SubjectKind SubjectKind
	SubjectID   int64
	RevokedAt   *time.Time
	CreatedAt   time.Time
}

// RefreshToken is stored only as a hash. A used token (UsedAt set) that comes
// back is a replay: the whole session is revoked.
type RefreshToken struct {
	ID        int64
	SessionID int64
	TokenHash string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// AuditLog records an admin's read or change of personal data. Detail never
// holds personal data itself: ids and counts only.
type AuditLog struct {
	ID         int64
	AdminID    int64
	Action     string
	TargetKind string
	TargetID   *int64
	UnionID    *int64
	Detail     string
	RequestID  string
	CreatedAt  time.Time
}

// RosterEntry is a row of a union's membership roster, by ID-number hash.
// A member who binds with a matching name and ID number is verified.
type RosterEntry struct {
	ID         int64
	UnionID    int64
	RealName   string
	IDHash     string
	ImportedBy int64
	CreatedAt  time.Time
}

// UploadedFile is a file sent to POST /upload, kept behind storage.
type UploadedFile struct {
	ID          string
	OwnerKind   SubjectKind
	OwnerID     int64
	Purpose     string
	FileName    string
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	CreatedAt   time.Time
	// StoredAt is when the bytes were in the store; nil while they are
	// written, or when the clean-up job is deleting them. Only a stored
	// file can be attached or read.
	StoredAt *time.Time
}
