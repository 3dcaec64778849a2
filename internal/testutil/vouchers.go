package testutil

import "time"

// Voucher fixtures, shared by the voucher suites and those that need a batch.

const (
	CreateBatchQ  = `mutation($in: CreateVoucherBatchInput!) { createVoucherBatch(input: $in) { voucherBatch { id status stock } } }`
	PublishBatchQ = `mutation($id: ID!) { publishVoucherBatch(input: {id: $id}) { voucherBatch { status } } }`
	ClaimQ        = `mutation($id: ID!, $r: String) { claimVoucher(input: {batchId: $id, requestId: $r}) { voucher { id status code qrPayload validUntil } } }`
	RedeemQ       = `mutation($c: String!) { redeemVoucher(input: {code: $c}) { voucher { id status redeemedAt member { id } } } }`
	BatchQ        = `query($id: ID!) { voucherBatch(id: $id) { id stockLeft claimReason myVouchers { id status } } }`
)

// BatchInput is a valid voucher batch: claims open five minutes after the epoch
// and close in a week; valid for thirty days after the claim.
func BatchInput(stock int, extra map[string]any) map[string]any {
	in := map[string]any{
		"title": "暑期观影券", "kind": "MOVIE", "faceValueFen": 3500, "stock": stock,
		"claimOpensAt": RFC(Epoch.Add(5 * time.Minute)), "claimClosesAt": RFC(At(7, "18:00")), "validDays": 30,
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// PublishedBatch creates and publishes a batch as admin, moving the clock
// to its claim window.
func (s *Server) PublishedBatch(admin string, in map[string]any) string {
	s.tb.Helper()
	var out struct {
		CreateVoucherBatch struct{ VoucherBatch struct{ ID, Status string } }
	}
	s.MustOK(admin, CreateBatchQ, map[string]any{"in": in}, &out)
	id := out.CreateVoucherBatch.VoucherBatch.ID
	s.MustOK(admin, PublishBatchQ, map[string]any{"id": id}, nil)
	if opens, _ := time.Parse(time.RFC3339, in["claimOpensAt"].(string)); s.Clock.Now().Before(opens) {
		s.Clock.Set(opens.Add(time.Minute))
	}
	return id
}

// Voucher is what a claim answers.
type Voucher struct {
	ID, Status, ValidUntil string
	Code, QrPayload        *string
}

// Claim claims a voucher of batchID as token.
func (s *Server) Claim(token, batchID string, requestID any) (Voucher, *Response) {
	s.tb.Helper()
	r := s.Do(token, ClaimQ, map[string]any{"id": batchID, "r": requestID})
	var out struct{ ClaimVoucher struct{ Voucher Voucher } }
	if len(r.Errors) == 0 {
		r.Decode(s.tb, &out)
	}
	return out.ClaimVoucher.Voucher, r
}

// Redeemer creates a redeemer account under union key for the batches.
func (s *Server) Redeemer(admin, name, unionKey string, batches ...string) Tokens {
	s.tb.Helper()
	var out struct {
		CreateAdmin struct{ Admin struct{ ID string } }
	}
	s.MustOK(admin, `mutation($in: CreateAdminInput!) { createAdmin(input: $in) { admin { id } } }`, map[string]any{"in": map[string]any{
		"username": name, "password": "redeemer-password-1", "displayName": name + "影城", "unionId": s.UnionID(unionKey), "role": "REDEEMER",
	}}, &out)
	s.MustOK(admin, `mutation($id: ID!, $b: [ID!]!) { setRedeemerBatches(input: {redeemerId: $id, batchIds: $b}) { redeemer { id role } } }`,
		map[string]any{"id": out.CreateAdmin.Admin.ID, "b": batches}, nil)
	var login struct{ LoginAdmin struct{ AccessToken string } }
	s.MustOK("", `mutation($u: String!) { loginAdmin(input: {username: $u, password: "redeemer-password-1"}) { accessToken } }`,
		map[string]any{"u": name}, &login)
	return Tokens{Access: login.LoginAdmin.AccessToken, ID: out.CreateAdmin.Admin.ID}
}
