package models

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// UnionLevel is a union's place in the city's tree.
type UnionLevel string

const (
	UnionLevelCity       UnionLevel = "CITY"
	UnionLevelDistrict   UnionLevel = "DISTRICT"
	UnionLevelStreet     UnionLevel = "STREET"
	UnionLevelGrassroots UnionLevel = "GRASSROOTS"
)

var AllUnionLevels = []UnionLevel{UnionLevelCity, UnionLevelDistrict, UnionLevelStreet, UnionLevelGrassroots}

func (e UnionLevel) IsValid() bool             { return slicesContains(AllUnionLevels, e) }
func (e *UnionLevel) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllUnionLevels, e) }
func (e UnionLevel) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// Rank orders levels from the city (0) down to grassroots (3).
func (e UnionLevel) Rank() int {
	for i, l := range AllUnionLevels {
		if l == e {
			return i
		}
	}
	return -1
}

// UnionKind tells a federation office from an enterprise or a joint union.
type UnionKind string

const (
	UnionKindFederation UnionKind = "FEDERATION" // 总工会 and its district/street offices
	UnionKindEnterprise UnionKind = "ENTERPRISE" // 企业工会
	UnionKindJoint      UnionKind = "JOINT"      // 联合工会, e.g. for couriers or riders
	UnionKindIndustry   UnionKind = "INDUSTRY"   // 行业工会
)

var AllUnionKinds = []UnionKind{UnionKindFederation, UnionKindEnterprise, UnionKindJoint, UnionKindIndustry}

func (e UnionKind) IsValid() bool             { return slicesContains(AllUnionKinds, e) }
func (e *UnionKind) UnmarshalGQL(v any) error { return unmarshalEnum(v, AllUnionKinds, e) }
func (e UnionKind) MarshalGQL(w io.Writer)    { marshalEnum(w, e) }

// Union is one node of the union tree. Path is the materialised path of ids
// from the root, "/1/4/9/", so a subtree is one index range scan.
type Union struct {
	ID        int64
	ParentID  *int64
	Name      string
	Level     UnionLevel
	Kind      UnionKind
	Path      string
	Depth     int
	CreatedAt time.Time
}

// ChildPath is the path of a child with id under u.
func (u *Union) ChildPath(id int64) string {
	return u.Path + strconv.FormatInt(id, 10) + "/"
}

// Contains reports whether other is u or below it.
func (u *Union) Contains(other *Union) bool { return PathContains(u.Path, other.Path) }

// PathContains reports whether path lies in the subtree rooted at root.
func PathContains(root, path string) bool { return root != "" && strings.HasPrefix(path, root) }

// SubtreeRange returns [lo, hi) such that every path in the subtree rooted at
// root, and nothing else, sorts within it. Paths hold only digits and '/', and
// '0' follows '/', so the bound is root with its final '/' turned into '0'.
func SubtreeRange(root string) (lo, hi string) {
	return root, root[:len(root)-1] + "0"
}

// AncestorIDs returns the ids on the path, root first, u last.
func (u *Union) AncestorIDs() []int64 { return PathIDs(u.Path) }

// PathIDs parses a materialised path.
func PathIDs(path string) []int64 {
	var ids []int64
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
