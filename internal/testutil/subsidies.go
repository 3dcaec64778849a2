package testutil

import (
	"bytes"
	"time"
)

// Subsidy fixtures, shared by the subsidy suites and those that need a programme.

// ProofPNG is the smallest file the server takes as a PNG proof.
var ProofPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 64)...)

const CreateSubsidyQ = `mutation($in: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $in) { program { id version } } }`
const PublishSubsidyQ = `mutation($id: ID!) { publishSubsidyProgram(input: {id: $id}) { program { id status } } }`
const ApplySubsidyQ = `mutation($in: ApplySubsidyInput!) { applySubsidy(input: $in) { application { id status stage version } } }`
const ReviewSubsidyQ = `mutation($id: ID!, $v: Int!, $d: ReviewDecision!, $c: String) {
  reviewSubsidyApplication(input: {id: $id, version: $v, decision: $d, comment: $c}) {
    application { id status stage version grantFen grants { level amountFen } } } }`
const SubsidyAppQ = `query($id: ID!) { subsidyApplication(id: $id) { id status stage version tuitionFen grantFen
  proofs { id url expiresAt } reviews { stage decision comment reviewer } } }`

// SubsidyApp is what the subsidy suites read of an application.
type SubsidyApp struct {
	ID, Status, Stage string
	Version           int
	GrantFen          int64
	Grants            []struct {
		Level     string
		AmountFen int64
	}
	Proofs []struct{ ID, URL string }
}

// SubsidyProgram creates and publishes a city programme for 2026
// (BACHELOR up to ¥5,000, MASTER up to ¥8,000; province/city/district
// 33.33/33.33/33.34 %) open from an hour ago for 30 days, and returns its id.
func (s *Server) SubsidyProgram(budgetFen int64) string {
	s.tb.Helper()
	admin := s.LoginAdmin("city_admin").Access
	now := s.Clock.Now()
	var out struct {
		CreateSubsidyProgram struct{ Program struct{ ID string } }
	}
	s.MustOK(admin, CreateSubsidyQ, map[string]any{"in": map[string]any{
		"title": "2026 年求学圆梦", "year": 2026, "budgetFen": budgetFen,
		"levels": []map[string]any{{"level": "BACHELOR", "capFen": 500000}, {"level": "MASTER", "capFen": 800000}},
		"fundingShares": []map[string]any{{"level": "PROVINCE", "basisPoints": 3333}, {"level": "CITY", "basisPoints": 3333},
			{"level": "DISTRICT", "basisPoints": 3334}},
		"opensAt": now.Add(-time.Hour).Format(time.RFC3339), "closesAt": now.Add(30 * 24 * time.Hour).Format(time.RFC3339),
	}}, &out)
	id := out.CreateSubsidyProgram.Program.ID
	s.MustOK(admin, PublishSubsidyQ, map[string]any{"id": id}, nil)
	return id
}

// UploadProof uploads a PROOF file as the member and returns its id.
func (s *Server) UploadProof(token string) string {
	s.tb.Helper()
	status, out := s.Upload(token, "PROOF", "录取通知书.png", ProofPNG)
	if status != 200 {
		s.tb.Fatalf("upload: %d %v", status, out)
	}
	return out["id"].(string)
}

// ApplyInput is a valid application for program with proof.
func ApplyInput(program, proof string, tuition int64) map[string]any {
	return map[string]any{"programId": program, "school": "示范市开放大学", "major": "物流管理", "level": "BACHELOR",
		"enrolledOn": "2026-03-01", "tuitionFen": tuition, "proofFileIds": []string{proof}}
}

// ApplyFor files an application as the member and returns it.
func (s *Server) ApplyFor(token, program string, tuition int64) SubsidyApp {
	s.tb.Helper()
	var out struct {
		ApplySubsidy struct{ Application SubsidyApp }
	}
	s.MustOK(token, ApplySubsidyQ, map[string]any{"in": ApplyInput(program, s.UploadProof(token), tuition)}, &out)
	return out.ApplySubsidy.Application
}
