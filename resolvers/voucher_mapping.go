package resolvers

import (
	"context"

	"unionhall/graph/model"
	"unionhall/internal/loader"
	"unionhall/internal/page"
	"unionhall/internal/vouchers"
	"unionhall/models"
)

// Mapping between the voucher API's inputs and payloads and the service.

func createBatchInput(in model.CreateVoucherBatchInput) vouchers.VoucherBatchInput {
	return vouchers.VoucherBatchInput{
		UnionID: in.UnionID, Title: in.Title, Kind: in.Kind, Description: deref(in.Description),
		FaceValueFen: int64(in.FaceValueFen), Stock: in.Stock, PerMemberLimit: deref(in.PerMemberLimit),
		ExclusiveGroup: deref(in.ExclusiveGroup), ClaimOpensAt: in.ClaimOpensAt, ClaimClosesAt: in.ClaimClosesAt,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, ValidDays: in.ValidDays,
		Eligibility: eligibilityInput(in.Eligibility),
	}
}

func batchFilter(f *model.VoucherBatchFilter) vouchers.BatchFilter {
	if f == nil {
		return vouchers.BatchFilter{}
	}
	return vouchers.BatchFilter{Kind: f.Kind, Claimable: deref(f.Claimable), UnionID: f.UnionID, Status: f.Status}
}

func voucherFilter(f *model.VoucherFilter) vouchers.VoucherFilter {
	if f == nil {
		return vouchers.VoucherFilter{}
	}
	return vouchers.VoucherFilter{Status: f.Status}
}

func batchPayload(b *models.VoucherBatch, err error) (*model.VoucherBatchPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.VoucherBatchPayload{VoucherBatch: b}, nil
}

func voucherPayload(v *models.Voucher, err error) (*model.VoucherPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.VoucherPayload{Voucher: v}, nil
}

func voucherKey(v *models.Voucher) any { return page.IDKey{ID: v.ID} }

func voucherConnection(p page.Page[*models.Voucher], err error) (*model.VoucherConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, voucherKey, func(c string, n *models.Voucher) *model.VoucherEdge { return &model.VoucherEdge{Cursor: c, Node: n} })
	return &model.VoucherConnection{Edges: e, PageInfo: info}, nil
}

func voucherStats(st *vouchers.VoucherStats, err error) (*model.VoucherStats, error) {
	if err != nil || st == nil {
		return nil, err
	}
	return &model.VoucherStats{Batches: st.Batches, Stock: int(st.Stock), Claimed: st.Claimed, Redeemed: st.Redeemed,
		Expired: st.Expired, Revoked: st.Revoked, ClaimedFen: int(st.ClaimedFen), RedeemedFen: int(st.RedeemedFen), ExpiredFen: int(st.ExpiredFen)}, nil
}

// primeBatchPage loads, once for the page, the nested fields of batches the
// query asks for.
func primeBatchPage(ctx context.Context, batches []*models.VoucherBatch) error {
	if len(batches) == 0 {
		return nil
	}
	ids, unions := make([]int64, len(batches)), make([]int64, len(batches))
	for i, b := range batches {
		ids[i], unions[i] = b.ID, b.UnionID
	}
	if requested(ctx, "edges", "node", "union") {
		if err := loader.PrimeUnions(ctx, unions); err != nil {
			return err
		}
	}
	if requested(ctx, "edges", "node", "myVouchers") || requested(ctx, "edges", "node", "claimReason") {
		return loader.PrimeMyBatches(ctx, ids)
	}
	return nil
}
