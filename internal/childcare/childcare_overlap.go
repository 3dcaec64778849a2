package childcare

import (
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"unionhall/internal/apperr"
	"unionhall/internal/core"
	"unionhall/models"
)

// A child holds at most one admitted place at any hour: two programmes
// whose days and daily hours both overlap exclude each other. Every path
// that admits a child (a first-come sign-up, the allocation at close, a
// promotion from the waitlist) takes the child's row lock first and then
// asks admittedOverlaps, inside its transaction, so two admissions of one
// child queue on that lock and the second sees the first. A parent signing
// a child up beside such an admission is refused (CONFLICT); the
// allocation rejects the sign-up with the reason and gives the place to the
// next in order; a promotion passes over it (it keeps its waitlist place).

// programsOverlap is the rule itself: the date ranges (inclusive) share a
// day and the daily hours share a minute.
func programsOverlap(a, b *models.ChildcareProgram) bool {
	return a.ID != b.ID &&
		!a.StartsOn.After(b.EndsOn) && !b.StartsOn.After(a.EndsOn) &&
		a.DailyStart < b.DailyEnd && b.DailyStart < a.DailyEnd // HH:MM strings order as times
}

// lockChildren takes the row locks of children ids in id order (one order
// for every caller, so two never wait on each other crosswise).
func lockChildren(tx *gorm.DB, ids []int64) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for start := 0; start < len(ids); start += core.IDChunk {
		chunk := ids[start:min(start+core.IDChunk, len(ids))]
		var got []int64
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Model(&models.Child{}).
			Where("id IN ?", chunk).Order("id").Pluck("id", &got).Error; err != nil {
			return err
		}
	}
	return nil
}

// admittedOverlaps returns, for each of children ids that is ADMITTED to a
// programme other than p whose hours overlap p's, one such programme. The
// caller holds the children's locks (lockChildren); the read of their
// admissions locks too, so on MySQL it sees the latest committed ones
// whatever the transaction's snapshot.
func admittedOverlaps(tx *gorm.DB, p *models.ChildcareProgram, childIDs []int64) (map[int64]*models.ChildcareProgram, error) {
	type row struct{ ChildID, ProgramID int64 }
	var rows []row
	for start := 0; start < len(childIDs); start += core.IDChunk {
		chunk := childIDs[start:min(start+core.IDChunk, len(childIDs))]
		var part []row
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Table(childSignUpsByChild(tx)).
			Select("child_id, program_id").
			Where("child_id IN ? AND status = ? AND program_id <> ?", chunk, models.ChildSignUpAdmitted, p.ID).
			Order("child_id, program_id").Scan(&part).Error; err != nil {
			return nil, err
		}
		rows = append(rows, part...)
	}
	out := map[int64]*models.ChildcareProgram{}
	if len(rows) == 0 {
		return out, nil
	}
	var pids []int64
	for _, r := range rows {
		pids = append(pids, r.ProgramID)
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)
	var progs []*models.ChildcareProgram
	if err := tx.Where("id IN ?", pids).Find(&progs).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]*models.ChildcareProgram, len(progs))
	for _, q := range progs {
		byID[q.ID] = q
	}
	for _, r := range rows {
		if q := byID[r.ProgramID]; q != nil && out[r.ChildID] == nil && programsOverlap(p, q) {
			out[r.ChildID] = q
		}
	}
	return out, nil
}

// childSignUpsByChild names child_sign_ups for a locking read by child:
// on MySQL through the child index, whatever the optimizer would pick for a
// small table, so the read locks those children's rows only (a scan of the
// primary key would lock every programme's sign-ups until commit).
func childSignUpsByChild(tx *gorm.DB) string {
	if tx.Dialector.Name() == "mysql" {
		return "child_sign_ups FORCE INDEX (idx_child_sign_ups_child)"
	}
	return "child_sign_ups"
}

// programWhen is a programme's dates and daily hours, as parents read them.
func programWhen(p *models.ChildcareProgram) string {
	return fmt.Sprintf("%s 至 %s，每天 %s–%s", p.StartsOn.Format("2006-01-02"), p.EndsOn.Format("2006-01-02"), p.DailyStart, p.DailyEnd)
}

// errAdmittedElsewhere is the refusal a parent sees signing child up beside
// an overlapping admission. Codes: CONFLICT.
func errAdmittedElsewhere(child string, other *models.ChildcareProgram) error {
	return apperr.Newf(apperr.Conflict, "%s已被录取参加同期的「%s」（%s），时间重叠，不能重复报名", child, other.Title, programWhen(other))
}

// overlapRejectReason is why the allocation passed a sign-up over.
func overlapRejectReason(other *models.ChildcareProgram) string {
	r := []rune(fmt.Sprintf("孩子已被录取参加同期的「%s」，时间重叠，未录取", other.Title))
	return string(r[:min(len(r), 190)]) // reject_reason is VARCHAR(200)
}

// checkChildFree refuses to sign child c up for p while it is admitted to
// an overlapping programme: the sign-up path. It takes the child's lock.
// Codes: CONFLICT.
func checkChildFree(tx *gorm.DB, p *models.ChildcareProgram, c *models.Child) error {
	if err := lockChildren(tx, []int64{c.ID}); err != nil {
		return err
	}
	clash, err := admittedOverlaps(tx, p, []int64{c.ID})
	if err != nil {
		return err
	}
	if other := clash[c.ID]; other != nil {
		name := c.Name
		if name == "" {
			name = "孩子"
		}
		return errAdmittedElsewhere(name, other)
	}
	return nil
}

// childcarePromotable is the seats hook for childcare's waitlist: of the
// waitlisted sign-ups holdIDs (one programme's, head first, locked), those
// whose child is not admitted to an overlapping programme. It locks their
// children.
func childcarePromotable(tx *gorm.DB, holdIDs []int64) ([]int64, error) {
	var rows []struct{ ID, ProgramID, ChildID int64 }
	if err := tx.Model(&models.ChildSignUp{}).Select("id, program_id, child_id").Where("id IN ?", holdIDs).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var p models.ChildcareProgram
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&p, rows[0].ProgramID).Error; err != nil {
		return nil, err // the pool: the caller holds its lock already
	}
	childOf := make(map[int64]int64, len(rows))
	children := make([]int64, 0, len(rows))
	for _, r := range rows {
		childOf[r.ID] = r.ChildID
		children = append(children, r.ChildID)
	}
	if err := lockChildren(tx, children); err != nil {
		return nil, err
	}
	clash, err := admittedOverlaps(tx, &p, children)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(holdIDs))
	for _, id := range holdIDs {
		if c, ok := childOf[id]; ok && clash[c] == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// admittedStayFree refuses new dates or hours for p (as given, not yet
// stored; its pool locked) that would make a child admitted to it overlap
// another of its admissions: the admin's refusal names the other
// programme. Codes: CONFLICT.
func admittedStayFree(tx *gorm.DB, p *models.ChildcareProgram) error {
	var children []int64
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Model(&models.ChildSignUp{}).
		Where("program_id = ? AND status = ?", p.ID, models.ChildSignUpAdmitted).Order("child_id").
		Pluck("child_id", &children).Error; err != nil || len(children) == 0 {
		return err
	}
	if err := lockChildren(tx, children); err != nil {
		return err
	}
	clash, err := admittedOverlaps(tx, p, children)
	if err != nil {
		return err
	}
	for _, c := range children {
		if other := clash[c]; other != nil {
			return apperr.Newf(apperr.Conflict, "已录取的孩子中有 %d 人同时被录取参加「%s」（%s），改为这个时间会与其重叠，请先与家长沟通处理",
				len(clash), other.Title, programWhen(other))
		}
	}
	return nil
}
