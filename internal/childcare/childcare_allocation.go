package childcare

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"unionhall/internal/allocation"
	"unionhall/internal/apperr"
	"unionhall/internal/core"
	"unionhall/internal/seats"
	"unionhall/models"
)

// allocationKind names childcare's runs in allocation_runs.
const allocationKind = "childcare"

// RunChildcareAllocation runs a PRIORITY or LOTTERY programme's allocation
// now, for an admin of its scope; sign-ups end with it. When it ran before
// (by this admin, another instance or the job at close), the stored result
// stands and is returned unchanged.
// Codes: FORBIDDEN, VALIDATION_FAILED (FIRST_COME admits at sign-up),
// CONFLICT (not published).
func (s *Service) RunChildcareAllocation(ctx context.Context, id int64) (*models.ChildcareProgram, error) {
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return nil, err
	}
	var p models.ChildcareProgram
	if _, err := s.programInScope(s.Q(ctx), sc, id, &p, false); err != nil {
		return nil, err
	}
	if !p.AdmissionMode.AllocatesAtClose() {
		return nil, apperr.Invalid("programId", "先到先得的项目在报名时即录取，无需另行录取")
	}
	if p.AllocatedAt == nil {
		if p.Status != models.OfferingPublished {
			return nil, apperr.Newf(apperr.Conflict, "项目当前状态为%s，不能录取", core.StatusLabel(p.Status))
		}
		ran, err := s.allocateProgram(ctx, id)
		if err != nil {
			return nil, err
		}
		if ran {
			if err := s.Audit(ctx, s.Q(ctx), sc.Admin.ID, "CHILDCARE_ALLOCATE", "childcare_program", &p.ID, &p.UnionID, ""); err != nil {
				return nil, err
			}
		}
	}
	if err := s.Q(ctx).Take(&p, id).Error; err != nil {
		return nil, err
	}
	return &p, nil
}

// AllocateDueChildcare runs the allocation of every PRIORITY and LOTTERY
// programme whose window has closed. Every instance runs it (the periodic
// job); each programme's run is claimed once, so they do the work once. It
// returns how many programmes this call allocated.
func (s *Service) AllocateDueChildcare(ctx context.Context) (int, error) {
	var ids []int64
	if err := s.Q(ctx).Model(&models.ChildcareProgram{}).
		Where("status = ? AND allocated_at IS NULL AND sign_up_closes_at <= ? AND admission_mode IN ?",
			models.OfferingPublished, s.Clock().Now(), []models.AdmissionMode{models.AdmissionPriority, models.AdmissionLottery}).
		Order("id").Limit(500).Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ran, err := s.allocateProgram(ctx, id)
		if err != nil {
			return n, err
		}
		if ran {
			n++
		}
	}
	return n, nil
}

// allocateProgram claims programme id's run and, when this caller got it,
// gives out its places in the same transaction (internal/allocation): the
// pending sign-ups in allocation order become ADMITTED up to the capacity,
// WAITLISTED (in that order) up to the waitlist size, and REJECTED with the
// reason after that. A child already admitted to an overlapping programme
// takes no part (REJECTED, naming it). It reports whether it ran.
func (s *Service) allocateProgram(ctx context.Context, id int64) (bool, error) {
	ran := false
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		ran = false
		now := s.Clock().Now()
		ok, err := allocation.Claim(tx, allocationKind, id, now)
		if err != nil || !ok {
			return err
		}
		// Claim, then the pool lock: sign-ups and withdrawals take only
		// the pool lock, so nothing waits in the other order.
		if _, err := seats.Lock(tx, childcareSeats, id); err != nil {
			return err
		}
		var p models.ChildcareProgram
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&p, id).Error; err != nil {
			return err
		}
		if !p.AdmissionMode.AllocatesAtClose() || p.Status != models.OfferingPublished || p.AllocatedAt != nil {
			return core.ErrNothingToAllocate
		}
		// The children first, then their sign-ups: admissions of one child
		// queue on its row (childcare_overlap.go), and taking it before
		// the sign-up rows keeps two runs sharing a child from deadlocking.
		// The pool lock keeps this programme's sign-ups as they are.
		var children []int64
		if err := tx.Model(&models.ChildSignUp{}).Where("program_id = ? AND status = ?", id, models.ChildSignUpPending).
			Distinct().Pluck("child_id", &children).Error; err != nil {
			return err
		}
		if err := lockChildren(tx, children); err != nil {
			return err
		}
		var pending []struct {
			ID           int64
			ChildID      int64
			PriorityRank int
			CreatedAt    time.Time
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Model(&models.ChildSignUp{}).
			Select("id, child_id, priority_rank, created_at").
			Where("program_id = ? AND status = ?", id, models.ChildSignUpPending).Order("id").Scan(&pending).Error; err != nil {
			return err
		}
		locked := make(map[int64]bool, len(children))
		for _, c := range children {
			locked[c] = true
		}
		children = children[:0]
		var missed []int64 // none, unless the first read was stale
		for _, r := range pending {
			children = append(children, r.ChildID)
			if !locked[r.ChildID] {
				missed = append(missed, r.ChildID)
			}
		}
		if err := lockChildren(tx, missed); err != nil {
			return err
		}
		clash, err := admittedOverlaps(tx, &p, children)
		if err != nil {
			return err
		}
		// A child admitted to an overlapping programme takes no part: its
		// sign-up is rejected saying where, and the places go on in order.
		cands := make([]allocation.Candidate, 0, len(pending))
		passed := map[int64][]int64{} // the other programme → sign-ups
		for _, r := range pending {
			if other := clash[r.ChildID]; other != nil {
				passed[other.ID] = append(passed[other.ID], r.ID)
				continue
			}
			cands = append(cands, allocation.Candidate{ID: r.ID, Rank: r.PriorityRank, SignedUpAt: r.CreatedAt})
		}
		spec := allocation.Spec{Mode: allocation.Mode(p.AdmissionMode),
			Seats: map[string]int{"": p.Capacity}, Waitlist: map[string]int{"": p.WaitlistLimit}}
		if p.AdmissionMode == models.AdmissionLottery {
			spec.Seed = p.LotterySeed
		}
		res := allocation.Allocate(spec, cands)
		if err := setStatus(tx, res.Admitted, map[string]any{"status": models.ChildSignUpAdmitted, "updated_at": now}); err != nil {
			return err
		}
		if err := setWaitSeqs(tx, res.Waitlisted, now); err != nil {
			return err
		}
		reason := "名额有限，未被录取"
		if p.WaitlistLimit > 0 {
			reason = "名额和候补名单均已满，未被录取"
		}
		if err := setStatus(tx, res.Rejected, map[string]any{"status": models.ChildSignUpRejected, "active": nil,
			"reject_reason": reason, "ended_at": now, "updated_at": now}); err != nil {
			return err
		}
		for _, r := range pending { // in sign-up order, one statement per other programme
			other := clash[r.ChildID]
			if other == nil || passed[other.ID] == nil {
				continue
			}
			ids := passed[other.ID]
			delete(passed, other.ID)
			if err := setStatus(tx, ids, map[string]any{"status": models.ChildSignUpRejected, "active": nil,
				"reject_reason": overlapRejectReason(other), "ended_at": now, "updated_at": now}); err != nil {
				return err
			}
			res.Rejected = append(res.Rejected, ids...)
		}
		// The counters are the draw's (setWaitSeqs queued the waitlist 1, 2, …);
		// the programme row is locked and was read unallocated above.
		if err := seats.Fill(tx, childcareSeats, id, len(res.Admitted), len(res.Waitlisted)); err != nil {
			return err
		}
		if err := tx.Model(&models.ChildcareProgram{}).Where("id = ? AND allocated_at IS NULL", id).
			Updates(map[string]any{"allocated_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		ran = true
		return allocation.Record(tx, allocationKind, id, spec, len(pending), res)
	})
	if errors.Is(err, core.ErrNothingToAllocate) {
		return false, nil
	}
	return ran, err
}

// setStatus applies updates to the sign-ups ids, a chunk a statement.
func setStatus(tx *gorm.DB, ids []int64, updates map[string]any) error {
	for start := 0; start < len(ids); start += core.IDChunk {
		chunk := ids[start:min(start+core.IDChunk, len(ids))]
		if err := tx.Model(&models.ChildSignUp{}).Where("id IN ?", chunk).Updates(updates).Error; err != nil {
			return err
		}
	}
	return nil
}

// setWaitSeqs makes ids WAITLISTED in their order (wait_seq 1, 2, …), one
// CASE statement a chunk.
func setWaitSeqs(tx *gorm.DB, ids []int64, now time.Time) error {
	for start := 0; start < len(ids); start += core.IDChunk {
		chunk := ids[start:min(start+core.IDChunk, len(ids))]
		var b strings.Builder
		b.WriteString("CASE id")
		args := make([]any, 0, 2*len(chunk))
		for i, id := range chunk {
			b.WriteString(" WHEN ? THEN ?")
			args = append(args, id, start+i+1)
		}
		b.WriteString(" END")
		if err := tx.Model(&models.ChildSignUp{}).Where("id IN ?", chunk).Updates(map[string]any{
			"status": models.ChildSignUpWaitlisted, "wait_seq": gorm.Expr(b.String(), args...), "updated_at": now,
		}).Error; err != nil {
			return err
		}
	}
	return nil
}

// AllocationsByProgramIDs loads programmes' stored allocation runs (nil
// before one ran), for a dataloader.
func (s *Service) AllocationsByProgramIDs(ctx context.Context, ids []int64) ([]*models.AllocationRun, error) {
	return allocation.Load(s.Q(ctx), allocationKind, ids)
}

// DrawKey is a sign-up's lottery ticket, shown once the draw is done (the
// seed is public then); nil otherwise.
func DrawKey(p *models.ChildcareProgram, su *models.ChildSignUp) *string {
	if p.AdmissionMode != models.AdmissionLottery || p.AllocatedAt == nil {
		return nil
	}
	k := allocation.DrawKey(p.LotterySeed, su.ID)
	return &k
}

// LotterySeed is the seed of a drawn lottery ("" before the draw: only its
// hash is shown until then).
func LotterySeed(p *models.ChildcareProgram) string {
	if p.AdmissionMode != models.AdmissionLottery || p.AllocatedAt == nil {
		return ""
	}
	return p.LotterySeed
}

// AllocationAlgorithm describes how the result was computed, for admins and
// parents who want to check it.
func AllocationAlgorithm(p *models.ChildcareProgram) string {
	base := "按优先组别（优先组在前），"
	if p.AdmissionMode == models.AdmissionLottery {
		base += "同组内按 SHA-256(种子 + \":\" + 报名编号) 的十六进制值从小到大排序"
	} else {
		base += "同组内按报名时间先后排序"
	}
	return base + fmt.Sprintf("；前 %d 名录取，其后 %d 名候补，其余未录取。", p.Capacity, p.WaitlistLimit) +
		"已被录取参加日期和时段重叠的其他项目的孩子不参与排序（未录取，并注明原因）。"
}
