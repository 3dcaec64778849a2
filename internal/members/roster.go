package members

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/core"
	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/models"
)

// Roster row outcomes.
const (
	RosterImported = "IMPORTED"
	RosterMatched  = "MATCHED"
	RosterError    = "ERROR"
)

// MaxRosterRows bounds one import.
const MaxRosterRows = 20000

// RosterRow is the outcome of one spreadsheet row.
type RosterRow struct {
	Row     int
	Status  string
	Name    string // masked
	Message string
}

// RosterResult sums an import up.
type RosterResult struct {
	Imported, Matched, Failed int
	Rows                      []RosterRow
}

// ImportRoster reads an uploaded .xlsx of name + ID number into union's
// roster. Bound members of that union with the same name and ID number are
// verified at once; later binders are matched when they bind. Rows with
// errors are reported and skipped; the rest are stored. Re-importing is
// safe (rows are keyed by union and ID number).
// Codes: FORBIDDEN, VALIDATION_FAILED (file, unionId).
func (s *Service) ImportRoster(ctx context.Context, unionID int64, fileID string) (*RosterResult, error) {
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return nil, err
	}
	u, err := s.UnionInScope(s.Q(ctx), sc, unionID, "unionId")
	if err != nil {
		return nil, err
	}
	f, err := s.OwnUpload(ctx, fileID, core.PurposeRoster, "fileId")
	if err != nil {
		return nil, err
	}
	rows, err := s.readRoster(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	res := &RosterResult{}
	seen := map[string]int{}
	type good struct {
		idx        int
		name, hash string
	}
	var goods []good
	for _, r := range rows {
		out := RosterRow{Row: r.row, Name: pii.MaskName(r.name)}
		name := strings.TrimSpace(r.name)
		id, perr := pii.ParseIDNumber(r.id, now)
		switch {
		case !core.ValidRealName(name):
			out.Status, out.Message = RosterError, "姓名为空或格式不正确"
		case perr != nil:
			out.Status, out.Message = RosterError, userMessage(perr)
		default:
			h := s.Sealer().Hash(id.Number)
			if first, dup := seen[h]; dup {
				out.Status, out.Message = RosterError, fmt.Sprintf("与第 %d 行的身份证号码重复", first)
				break
			}
			seen[h] = r.row
			goods = append(goods, good{idx: len(res.Rows), name: name, hash: h})
		}
		res.Rows = append(res.Rows, out)
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		for _, g := range goods {
			entry := models.RosterEntry{UnionID: u.ID, RealName: g.name, IDHash: g.hash, ImportedBy: sc.Admin.ID, CreatedAt: now}
			if err := tx.Create(&entry).Error; err != nil {
				if !store.IsDuplicate(err) {
					return err
				}
				if err := tx.Model(&models.RosterEntry{}).Where("union_id = ? AND id_hash = ?", u.ID, g.hash).
					Update("real_name", g.name).Error; err != nil {
					return err
				}
			}
			row := &res.Rows[g.idx]
			row.Status, row.Message = RosterImported, "已导入"
			var m models.Member
			err := tx.Where("id_hash = ? AND union_id = ?", g.hash, u.ID).Take(&m).Error
			if store.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if m.RealName != g.name {
				row.Message = "已导入；本会已绑定的会员姓名与花名册不一致，未自动认证"
				continue
			}
			row.Status, row.Message = RosterMatched, "已匹配并认证会员"
			if m.IsVerified() {
				continue
			}
			if err := tx.Model(&models.Member{}).Where("id = ?", m.ID).Updates(map[string]any{
				"status": models.MembershipVerified, "verified_at": now, "verified_by": sc.Admin.ID,
				"reject_reason": "", "updated_at": now, "version": gorm.Expr("version + 1"),
			}).Error; err != nil {
				return err
			}
		}
		for _, r := range res.Rows {
			switch r.Status {
			case RosterImported:
				res.Imported++
			case RosterMatched:
				res.Matched++
			default:
				res.Failed++
			}
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "ROSTER_IMPORT", "union", &u.ID, &u.ID,
			fmt.Sprintf("imported=%d matched=%d failed=%d", res.Imported, res.Matched, res.Failed))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

type rosterLine struct {
	row      int
	name, id string
}

// readRoster reads name and ID-number columns, found by their headers
// (姓名, 身份证…) or else the first two columns.
func (s *Service) readRoster(ctx context.Context, f *models.UploadedFile) ([]rosterLine, error) {
	rc, err := s.OpenFile(ctx, f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	x, err := excelize.OpenReader(rc)
	if err != nil {
		return nil, apperr.Invalid("fileId", "无法读取该 Excel 文件，请确认是 .xlsx 格式")
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		return nil, apperr.Invalid("fileId", "Excel 文件中没有工作表")
	}
	it, err := x.Rows(sheets[0])
	if err != nil {
		return nil, apperr.Invalid("fileId", "无法读取该 Excel 文件")
	}
	defer it.Close()
	nameCol, idCol := 0, 1
	var out []rosterLine
	for n := 1; it.Next(); n++ {
		cols, err := it.Columns()
		if err != nil {
			return nil, apperr.Invalid("fileId", "无法读取该 Excel 文件")
		}
		if n == 1 {
			header := false
			for i, c := range cols {
				c = strings.TrimSpace(c)
				if strings.Contains(c, "姓名") {
					nameCol, header = i, true
				}
				if strings.Contains(c, "身份证") {
					idCol, header = i, true
				}
			}
			if header {
				continue
			}
		}
		get := func(i int) string {
			if i < len(cols) {
				return strings.TrimSpace(cols[i])
			}
			return ""
		}
		if get(nameCol) == "" && get(idCol) == "" {
			continue
		}
		if len(out) >= MaxRosterRows {
			return nil, apperr.Invalid("fileId", "花名册最多 "+strconv.Itoa(MaxRosterRows)+" 行，请拆分后导入")
		}
		out = append(out, rosterLine{row: n, name: get(nameCol), id: get(idCol)})
	}
	if len(out) == 0 {
		return nil, apperr.Invalid("fileId", "花名册中没有数据行")
	}
	return out, nil
}

// userMessage is err's client-facing message.
func userMessage(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Message
	}
	return apperr.InternalMessage
}
