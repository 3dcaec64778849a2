// Package seed creates the demo data `go run .` starts with, and the first
// super admin of a production install.
package seed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"unionhall/internal/members"
	"unionhall/internal/pii"
	"unionhall/internal/richtext"
	"unionhall/internal/store"
	"unionhall/models"
)

// DevPassword is every demo admin's password. Demo data is dev-only.
const DevPassword = "dev-password-123"

// DemoAdmin is a seeded admin account, for the start-up banner.
type DemoAdmin struct {
	Username, Union string
	Role            models.AdminRole
}

// DemoData is what Demo seeded.
type DemoData struct {
	Admins  []DemoAdmin
	Members []string // dev login codes
	Unions  map[string]int64
}

type unionSpec struct {
	key, parent, name string
	level             models.UnionLevel
	kind              models.UnionKind
	admin             string
}

var demoUnions = []unionSpec{
	{"city", "", "示范市总工会", models.UnionLevelCity, models.UnionKindFederation, "city_admin"},
	{"dongcheng", "city", "东城区总工会", models.UnionLevelDistrict, models.UnionKindFederation, "dongcheng_admin"},
	{"xicheng", "city", "西城区总工会", models.UnionLevelDistrict, models.UnionKindFederation, "xicheng_admin"},
	{"donghua", "dongcheng", "东华街道总工会", models.UnionLevelStreet, models.UnionKindFederation, "donghua_admin"},
	{"xihu", "xicheng", "西湖街道总工会", models.UnionLevelStreet, models.UnionKindFederation, "xihu_admin"},
	{"shunda", "donghua", "顺达快递有限公司工会", models.UnionLevelGrassroots, models.UnionKindEnterprise, "shunda_admin"},
	{"courier", "donghua", "东华街道快递员联合工会", models.UnionLevelGrassroots, models.UnionKindJoint, "courier_admin"},
	{"rider", "xihu", "西湖街道外卖骑手联合工会", models.UnionLevelGrassroots, models.UnionKindJoint, "rider_admin"},
	{"anxin", "xihu", "安心家政服务有限公司工会", models.UnionLevelGrassroots, models.UnionKindEnterprise, "anxin_admin"},
	{"transport", "dongcheng", "东城区货运司机联合工会", models.UnionLevelGrassroots, models.UnionKindJoint, ""},
}

type memberSpec struct {
	name   string
	union  string
	form   models.EmploymentForm
	job    string
	status models.MembershipStatus
}

// Synthetic people: the names are common, the ID numbers are generated with a
// valid checksum and belong to nobody.
var demoMembers = []memberSpec{
	{"张伟", "courier", models.EmploymentCourier, "快递员", models.MembershipVerified},
	{"王芳", "courier", models.EmploymentCourier, "快递员", models.MembershipVerified},
	{"李强", "shunda", models.EmploymentStandard, "分拣员", models.MembershipVerified},
	{"刘洋", "shunda", models.EmploymentCourier, "快递员", models.MembershipPending},
	{"陈静", "rider", models.EmploymentFoodDelivery, "外卖骑手", models.MembershipVerified},
	{"杨磊", "rider", models.EmploymentFoodDelivery, "外卖骑手", models.MembershipVerified},
	{"赵敏", "rider", models.EmploymentFoodDelivery, "外卖骑手", models.MembershipPending},
	{"黄勇", "transport", models.EmploymentTruckDriver, "货车司机", models.MembershipVerified},
	{"周杰", "transport", models.EmploymentRideHailing, "网约车司机", models.MembershipVerified},
	{"吴娟", "anxin", models.EmploymentDomestic, "家政服务员", models.MembershipVerified},
	{"徐丽", "anxin", models.EmploymentNursing, "护工", models.MembershipVerified},
	{"孙涛", "xihu", models.EmploymentSecurity, "保安员", models.MembershipRejected},
	{"马超", "courier", models.EmploymentCourier, "快递员", models.MembershipVerified},
	{"朱琳", "rider", models.EmploymentFoodDelivery, "外卖骑手", models.MembershipVerified},
	{"胡斌", "transport", models.EmploymentTruckDriver, "货车司机", models.MembershipPending},
	{"郭婷", "shunda", models.EmploymentStandard, "客服", models.MembershipVerified},
	{"何军", "donghua", models.EmploymentOtherNewForm, "网络主播", models.MembershipVerified},
	{"高雪", "anxin", models.EmploymentDomestic, "育儿嫂", models.MembershipVerified},
}

// Demo seeds the demo union tree, admins and members into an empty
// database; it does nothing when unions exist.
func Demo(ctx context.Context, db *store.DB, sealer *pii.Sealer, now time.Time) (*DemoData, error) {
	var n int64
	if err := db.WithContext(ctx).Model(&models.Union{}).Count(&n).Error; err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, nil
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(DevPassword), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	out := &DemoData{Unions: map[string]int64{}}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		byKey := map[string]*models.Union{}
		for _, s := range demoUnions {
			u, err := createUnion(tx, byKey[s.parent], s.name, s.level, s.kind, now)
			if err != nil {
				return err
			}
			byKey[s.key] = u
			out.Unions[s.key] = u.ID
			if s.admin == "" {
				continue
			}
			role := models.RoleUnionAdmin
			if s.parent == "" {
				role = models.RoleSuperAdmin
			}
			a := models.Admin{Username: s.admin, PasswordHash: string(hash), DisplayName: s.name + "管理员",
				Role: role, UnionID: u.ID, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&a).Error; err != nil {
				return err
			}
			out.Admins = append(out.Admins, DemoAdmin{Username: s.admin, Union: s.name, Role: role})
		}
		for i, s := range demoMembers {
			code := fmt.Sprintf("dev:member%02d", i+1)
			birth := time.Date(1975+i*2%28, time.Month(1+i%12), 1+i%27, 0, 0, 0, 0, time.UTC)
			idNo := pii.MakeIDNumber("110101", birth, 100+i)
			id, err := pii.ParseIDNumber(idNo, now)
			if err != nil {
				return err
			}
			sealed, err := sealer.Seal(id.Number)
			if err != nil {
				return err
			}
			h := sealer.Hash(id.Number)
			unionID := byKey[s.union].ID
			m := models.Member{
				OpenID: code, UnionID: &unionID, RealName: s.name, IDCipher: sealed, IDHash: &h,
				IDMask: pii.MaskIDNumber(id.Number), Phone: "139" + fmt.Sprintf("%08d", 10000+i),
				BirthDate: &id.BirthDate, Gender: models.Gender(id.Gender), EmploymentForm: s.form,
				Occupation: s.job, Status: s.status, BoundAt: &now, Version: 1, CreatedAt: now, UpdatedAt: now,
			}
			if s.status == models.MembershipVerified {
				m.VerifiedAt = &now
			}
			if s.status == models.MembershipRejected {
				m.RejectReason = "所填单位与花名册不符，请核对后重新提交"
			}
			if err := tx.Create(&m).Error; err != nil {
				return err
			}
			out.Members = append(out.Members, code)
		}
		if err := demoClasses(tx, byKey, now); err != nil {
			return err
		}
		if err := demoVouchers(tx, byKey, now); err != nil {
			return err
		}
		if err := demoChildcare(tx, byKey, now); err != nil {
			return err
		}
		if err := demoEvents(tx, byKey, now); err != nil {
			return err
		}
		if err := demoSubsidies(tx, byKey, now); err != nil {
			return err
		}
		if err := demoMatchmaking(tx, byKey, now); err != nil {
			return err
		}
		// Two members who have logged in but not bound an identity yet.
		for i := 0; i < 2; i++ {
			code := "dev:newcomer" + strconv.Itoa(i+1)
			m := models.Member{OpenID: code, Status: models.MembershipUnbound, Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&m).Error; err != nil {
				return err
			}
			out.Members = append(out.Members, code)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func createUnion(tx *gorm.DB, parent *models.Union, name string, level models.UnionLevel, kind models.UnionKind, now time.Time) (*models.Union, error) {
	u := models.Union{Name: name, Level: level, Kind: kind, CreatedAt: now}
	return &u, members.InsertUnion(tx, parent, &u)
}

// SuperAdmin makes sure a super admin called username exists, creating the
// city federation root union if the tree is empty. It reports whether it
// created the account; an existing account is left as it is.
func SuperAdmin(ctx context.Context, db *store.DB, username, password, rootName string, now time.Time) (bool, error) {
	if len(password) < 12 {
		return false, errors.New("the super admin password must be at least 12 characters")
	}
	created := false
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing models.Admin
		err := tx.Where("username = ?", username).Take(&existing).Error
		if err == nil {
			return nil
		}
		if !store.IsNotFound(err) {
			return err
		}
		var root models.Union
		err = tx.Where("parent_id IS NULL").Order("id").Take(&root).Error
		if store.IsNotFound(err) {
			r, cerr := createUnion(tx, nil, rootName, models.UnionLevelCity, models.UnionKindFederation, now)
			if cerr != nil {
				return cerr
			}
			root, err = *r, nil
		}
		if err != nil {
			return err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		created = true
		return tx.Create(&models.Admin{Username: username, PasswordHash: string(hash), DisplayName: "超级管理员",
			Role: models.RoleSuperAdmin, UnionID: root.ID, CreatedAt: now, UpdatedAt: now}).Error
	})
	return created, err
}

// demoClasses publishes a few training classes to explore: open for
// booking now, one of them for couriers only and one nearly full.
func demoClasses(tx *gorm.DB, byKey map[string]*models.Union, now time.Time) error {
	day := 24 * time.Hour
	start := now.Truncate(day).Add(10*day + time.Hour) // 09:00 China time, ten days on
	couriers := models.JoinForms([]models.EmploymentForm{models.EmploymentCourier, models.EmploymentFoodDelivery})
	classes := []struct {
		union, title, teacher, place string
		cat                          models.SkillCategory
		capacity, waitlist           int
		forms                        string
		status                       models.OfferingStatus
	}{
		{"city", "电动自行车安全驾驶与交通法规", "市交警支队 李警官", "市职工服务中心 2 楼报告厅", models.SkillSafety, 120, 30, "", models.OfferingPublished},
		{"donghua", "快递员职业技能等级（五级）培训", "王师傅", "东华街道党群服务中心 301", models.SkillVocational, 30, 10, couriers, models.OfferingPublished},
		{"dongcheng", "智能手机与网约平台使用", "陈老师", "东城区职工学校 机房", models.SkillDigital, 3, 2, "", models.OfferingPublished},
		{"xicheng", "养老护理员（初级）", "护理部 刘老师", "西城区职工服务中心", models.SkillCare, 40, 0, "", models.OfferingDraft},
	}
	for i, d := range classes {
		u := byKey[d.union]
		begins := start.Add(time.Duration(i) * day)
		c := models.TrainingClass{
			UnionID: u.ID, Title: d.title, Category: d.cat, Description: "免费培训，名额有限，报名后请按时参加；无故缺席将影响后续报名。",
			Teacher: d.teacher, StartsAt: begins, EndsAt: begins.Add(3 * time.Hour), Capacity: d.capacity, WaitlistLimit: d.waitlist,
			BookingOpensAt: now.Add(-time.Hour), BookingClosesAt: begins.Add(-2 * day), CancelDeadline: begins.Add(-3 * day),
			Eligibility: models.Eligibility{EligPath: u.Path, EligForms: d.forms},
			Status:      d.status, Version: 1, CreatedBy: 1, CreatedAt: now, UpdatedAt: now,
		}
		if d.status == models.OfferingPublished {
			c.PublishedAt = &now
		}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		sess := models.TrainingSession{ClassID: c.ID, Seq: 1, StartsAt: c.StartsAt, EndsAt: c.EndsAt, Place: d.place}
		if err := tx.Create(&sess).Error; err != nil {
			return err
		}
	}
	return nil
}

// demoVouchers publishes voucher batches to claim now, two of them an
// either-or pair (the city's and the district's travel subsidy).
func demoVouchers(tx *gorm.DB, byKey map[string]*models.Union, now time.Time) error {
	day := 24 * time.Hour
	group := "travel-subsidy-demo"
	thirty := 30
	until := now.Add(60 * day)
	batches := []struct {
		union, title string
		kind         models.VoucherKind
		fen          int64
		stock, limit int
		group        *string
	}{
		{"city", "暑期职工观影券", models.VoucherMovie, 3500, 1000, 1, nil},
		{"city", "市总工会出行补贴（与区级二选一）", models.VoucherTravelSubsidy, 20000, 2000, 1, &group},
		{"dongcheng", "东城区出行补贴（与市级二选一）", models.VoucherTravelSubsidy, 15000, 500, 1, &group},
		{"donghua", "新春话费券", models.VoucherPhoneCredit, 5000, 300, 2, nil},
	}
	for i, d := range batches {
		u := byKey[d.union]
		b := models.VoucherBatch{UnionID: u.ID, Title: d.title, Kind: d.kind, Description: "凭券码到合作商户使用，每券限用一次。",
			FaceValueFen: d.fen, Capacity: d.stock, PerMemberLimit: d.limit, ExclusiveGroup: d.group,
			ClaimOpensAt: now.Add(-time.Hour), ClaimClosesAt: now.Add(14 * day),
			Eligibility: models.Eligibility{EligPath: u.Path}, Status: models.OfferingPublished,
			Version: 1, CreatedBy: 1, PublishedAt: &now, CreatedAt: now, UpdatedAt: now}
		if i%2 == 0 {
			b.ValidDays = &thirty
		} else {
			b.ValidFrom, b.ValidUntil = &now, &until
		}
		if err := tx.Create(&b).Error; err != nil {
			return err
		}
	}
	return nil
}

// demoChildcare publishes two summer childcare programmes in the Xicheng
// subtree, open for sign-up now (one first come, one a lottery with
// delivery riders first), and registers a child each for two demo parents
// there (dev:member05, a rider, and dev:member10, a domestic worker).
func demoChildcare(tx *gorm.DB, byKey map[string]*models.Union, now time.Time) error {
	day := 24 * time.Hour
	first := now.Truncate(day).Add(20 * day)
	programmes := []struct {
		union, title, place string
		mode                models.AdmissionMode
		capacity, waitlist  int
		forms               string
	}{
		{"xihu", "西湖街道“工娃小家”暑期托管班", "西湖街道职工服务中心 2 楼", models.AdmissionFirstCome, 40, 10, ""},
		{"rider", "外卖骑手子女暑期托管（骑手优先）", "西湖街道新就业形态劳动者服务站", models.AdmissionLottery, 25, 5,
			models.JoinForms([]models.EmploymentForm{models.EmploymentFoodDelivery})},
	}
	for i, d := range programmes {
		u := byKey[d.union]
		seed := make([]byte, 32)
		if _, err := rand.Read(seed); err != nil {
			return err
		}
		p := models.ChildcareProgram{UnionID: u.ID, Title: d.title, Place: d.place,
			Description: "作业辅导、安全教育、手工和体育活动，提供午餐和午休；请家长按时接送。",
			StartsOn:    first.Add(time.Duration(i) * 7 * day), EndsOn: first.Add(time.Duration(i)*7*day + 27*day),
			DailyStart: "08:00", DailyEnd: "17:30", ChildMinAge: 6, ChildMaxAge: 12, Capacity: d.capacity, WaitlistLimit: d.waitlist,
			SignUpOpensAt: now.Add(-time.Hour), SignUpClosesAt: now.Add(5 * day), AdmissionMode: d.mode, PriorityForms: d.forms,
			RequireEmergencyContact: true, RequireHealthNotes: true, LotterySeed: hex.EncodeToString(seed),
			Eligibility: models.Eligibility{EligPath: u.Path}, Status: models.OfferingPublished, Version: 1, CreatedBy: 1,
			PublishedAt: &now, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
	}
	for _, c := range []struct {
		parent, name, grade string
		born                time.Time
		gender              models.Gender
	}{
		{"dev:member05", "陈小米", "三年级", time.Date(2017, 5, 12, 0, 0, 0, 0, time.UTC), models.GenderFemale},
		{"dev:member10", "吴乐乐", "一年级", time.Date(2019, 9, 3, 0, 0, 0, 0, time.UTC), models.GenderMale},
	} {
		var m models.Member
		if err := tx.Where("openid = ?", c.parent).Take(&m).Error; err != nil {
			return err
		}
		child := models.Child{OwnerID: m.ID, Name: c.name, BirthDate: c.born, Gender: c.gender, SchoolGrade: c.grade,
			Allergies: "无", HealthNotes: "无", EmergencyContactName: m.RealName, EmergencyContactPhone: m.Phone,
			Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&child).Error; err != nil {
			return err
		}
		if err := tx.Create(&models.ChildGuardian{ChildID: child.ID, MemberID: m.ID, Role: models.GuardianOwner, CreatedAt: now}).Error; err != nil {
			return err
		}
	}
	return nil
}

// demoEvents publishes a few inclusive-benefit posts at several levels:
// one pinned, one with a sign-up, one for a single street only.
func demoEvents(tx *gorm.DB, byKey map[string]*models.Union, now time.Time) error {
	day := 24 * time.Hour
	posts := []struct {
		union, title string
		category     models.EventCategory
		body         string
		pinned       bool
		signUp       int
		targets      []string
	}{
		{"city", "2027 年新就业形态劳动者免费健康体检", models.EventHealthCheck,
			"## 体检项目\n\n- 血常规、肝功能\n- 心电图、胸部 CT\n\n**凭工会会员身份报名，名额有限。**", true, 200, nil},
		{"city", "夏送清凉：户外劳动者爱心驿站开放", models.EventSummerCooling,
			"全市 300 个爱心驿站提供饮水、休息、充电服务，骑手、快递员可随时进站。", false, 0, nil},
		{"dongcheng", "东城区职工法律援助咨询日", models.EventLegalAid,
			"劳动合同、工伤认定、欠薪维权，律师现场一对一解答。", false, 50, nil},
		{"dongcheng", "东华街道骑手新春慰问", models.EventFestivalCare,
			"为辖区外卖骑手送上新春慰问品。", false, 0, []string{"donghua"}},
	}
	for i, d := range posts {
		u := byKey[d.union]
		html, err := richtext.Render(string(models.BodyMarkdown), d.body)
		if err != nil {
			return err
		}
		at := now.Add(-time.Duration(len(posts)-i) * time.Hour).UTC().Truncate(time.Second)
		p := models.EventPost{UnionID: u.ID, Title: d.title, Category: d.category, BodyFormat: models.BodyMarkdown,
			BodySource: d.body, BodyHTML: html, Pinned: d.pinned, PublishAt: &at,
			Eligibility: models.Eligibility{EligPath: u.Path}, Status: models.OfferingPublished, Version: 1,
			CreatedBy: 1, PublishedAt: &at, CreatedAt: at, UpdatedAt: at}
		if d.signUp > 0 {
			opens, closes := now.Add(-time.Hour), now.Add(10*day)
			starts, ends := now.Add(12*day), now.Add(12*day+4*time.Hour)
			p.HasSignUp, p.Capacity, p.WaitlistLimit = true, d.signUp, d.signUp/10
			p.SignUpOpensAt, p.SignUpClosesAt, p.StartsAt, p.EndsAt = &opens, &closes, &starts, &ends
			p.Place = u.Name + "职工服务中心"
		}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
		targets := []*models.Union{u}
		if d.targets != nil {
			targets = targets[:0]
			for _, k := range d.targets {
				targets = append(targets, byKey[k])
			}
		}
		for _, t := range targets {
			row := models.EventTarget{PostID: p.ID, UnionID: t.ID, Status: p.Status, Category: p.Category,
				FeedKey: p.FeedKey(), PublishAt: at}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// demoSubsidies publishes the city's education-subsidy call for this year
// (open for a month), so members can apply with proofs from POST /upload
// and admins down the chain can review.
func demoSubsidies(tx *gorm.DB, byKey map[string]*models.Union, now time.Time) error {
	bachelor, associate, master := int64(500000), int64(300000), int64(800000)
	p := models.SubsidyProgram{UnionID: byKey["city"].ID, Title: now.Format("2006") + " 年“求学圆梦”学历提升资助",
		Description: "面向本年度入学的工会会员，资助大专、本科、硕士学费，省、市、区三级工会按比例分担。请上传录取通知书和学费票据。",
		Year:        now.Year(), CapAssociateFen: &associate, CapBachelorFen: &bachelor, CapMasterFen: &master,
		ShareProvinceBP: 4000, ShareCityBP: 3000, ShareDistrictBP: 3000, BudgetFen: 200_000_000,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(30 * 24 * time.Hour), Status: models.OfferingPublished,
		Version: 1, CreatedBy: 1, PublishedAt: &now, CreatedAt: now, UpdatedAt: now}
	return tx.Create(&p).Error
}

// demoMatchmaking publishes a city-wide first-come matchmaking event open for
// sign-up now (the event in a week, picks for three days after it) and
// gives up to four verified demo members of its age range a single
// declaration and a profile.
func demoMatchmaking(tx *gorm.DB, byKey map[string]*models.Union, now time.Time) error {
	day := 24 * time.Hour
	u := byKey["city"]
	minAge, maxAge := 22, 45
	start := now.Truncate(day).Add(7*day + 6*time.Hour) // 14:00 China time
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	e := models.MatchEvent{UnionID: u.ID, Title: "“缘来是你”职工单身联谊会", Place: "市职工文化宫 3 楼多功能厅",
		Description: "破冰游戏、才艺展示、自由交流；活动结束后三天内可在小程序中选择心动对象，双向选择才会互换联系方式。",
		StartsAt:    start, EndsAt: start.Add(3 * time.Hour), PickClosesAt: start.Add(3*day + 3*time.Hour),
		SignUpOpensAt: now.Add(-time.Hour), SignUpClosesAt: now.Add(5 * day), SelectionMode: models.MatchFirstCome,
		MaxPicks: 3, LotterySeed: hex.EncodeToString(seed), CheckinCode: "DEMO2026", Eligibility: models.Eligibility{EligPath: u.Path, EligMinAge: &minAge, EligMaxAge: &maxAge},
		Status: models.OfferingPublished, Version: 1, CreatedBy: 1, PublishedAt: &now, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&e).Error; err != nil {
		return err
	}
	if err := tx.Create([]*models.MatchQuota{
		{EventID: e.ID, Gender: models.GenderMale, Capacity: 30},
		{EventID: e.ID, Gender: models.GenderFemale, Capacity: 30},
	}).Error; err != nil {
		return err
	}
	var singles []models.Member
	if err := tx.Where("status = ? AND openid LIKE ?", models.MembershipVerified, "dev:member%").Order("id").Find(&singles).Error; err != nil {
		return err
	}
	hobbies := []string{"爬山、摄影", "做饭、看电影", "羽毛球、旅行", "读书、书法"}
	n := 0
	for _, m := range singles {
		if age := m.AgeOn(now); age < minAge || age > maxAge || n == len(hobbies) {
			continue
		}
		year := m.BirthDate.Year()
		prof := models.MatchProfile{MemberID: m.ID, SingleDeclaredAt: &now, Nickname: fmt.Sprintf("会员%02d", n+1),
			BirthYear: &year, Education: "大专", Occupation: m.Occupation, District: "东城区", Hobbies: hobbies[n],
			Intro: "性格开朗，希望认识真诚的你。", CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&prof).Error; err != nil {
			return err
		}
		if err := tx.Create(&models.MatchSingleDeclaration{MemberID: m.ID, Single: true, CreatedAt: now}).Error; err != nil {
			return err
		}
		n++
	}
	return nil
}
