-- +goose Up
-- Benefit vouchers (普惠礼券). A batch is a seat pool (internal/seats): its
-- stock is the capacity, and it has no waitlist.
CREATE TABLE voucher_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  kind VARCHAR(20) NOT NULL,
  description TEXT NOT NULL,
  face_value_fen BIGINT NOT NULL,
  capacity INT NOT NULL,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  per_member_limit INT NOT NULL DEFAULT 1,
  exclusive_group VARCHAR(64) NULL,
  claim_opens_at DATETIME NOT NULL,
  claim_closes_at DATETIME NOT NULL,
  valid_from DATETIME NULL,
  valid_until DATETIME NULL,
  valid_days INT NULL,
  elig_union_id BIGINT NULL,
  elig_path VARCHAR(255) NOT NULL,
  elig_forms VARCHAR(255) NOT NULL DEFAULT '',
  elig_gender VARCHAR(8) NOT NULL DEFAULT '',
  elig_min_age INT NULL,
  elig_max_age INT NULL,
  elig_verified_only BOOLEAN NOT NULL DEFAULT FALSE,
  status VARCHAR(12) NOT NULL,
  version INT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL,
  published_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_voucher_batches_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_voucher_batches_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_voucher_batches_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
);
CREATE INDEX idx_voucher_batches_union_status ON voucher_batches (union_id, status, claim_closes_at, id);
CREATE INDEX idx_voucher_batches_status_close ON voucher_batches (status, claim_closes_at, id);
CREATE INDEX idx_voucher_batches_group ON voucher_batches (exclusive_group);
CREATE INDEX idx_voucher_batches_elig_union ON voucher_batches (elig_union_id);
CREATE INDEX idx_voucher_batches_created_by ON voucher_batches (created_by);

-- A voucher is one hold of a batch. claim_seq numbers a member's vouchers
-- of a batch (1 … per_member_limit): the unique key is the per-member limit,
-- and parallel claims that race for the same number become one voucher.
-- exclusive_group is the batch's group: one voucher per member per group
-- (a revoked voucher still counts, as it does against the limit).
CREATE TABLE vouchers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  claim_seq INT NOT NULL,
  request_id VARCHAR(64) NULL,
  exclusive_group VARCHAR(64) NULL,
  code CHAR(20) NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  valid_from DATETIME NOT NULL,
  valid_until DATETIME NOT NULL,
  redeemed_at DATETIME NULL,
  redeemed_by BIGINT NULL,
  revoked_at DATETIME NULL,
  revoked_by BIGINT NULL,
  revoke_reason VARCHAR(200) NOT NULL DEFAULT '',
  promoted_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_vouchers_batch FOREIGN KEY (batch_id) REFERENCES voucher_batches (id),
  CONSTRAINT fk_vouchers_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_vouchers_redeemed_by FOREIGN KEY (redeemed_by) REFERENCES admins (id),
  CONSTRAINT fk_vouchers_revoked_by FOREIGN KEY (revoked_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_vouchers_code ON vouchers (code);
CREATE UNIQUE INDEX uq_vouchers_member_seq ON vouchers (batch_id, member_id, claim_seq);
CREATE UNIQUE INDEX uq_vouchers_group_member ON vouchers (exclusive_group, member_id);
CREATE UNIQUE INDEX uq_vouchers_request ON vouchers (member_id, request_id);
CREATE INDEX idx_vouchers_batch_status ON vouchers (batch_id, status, id);
CREATE INDEX idx_vouchers_member ON vouchers (member_id, id);
CREATE INDEX idx_vouchers_redeemed_by ON vouchers (redeemed_by);
CREATE INDEX idx_vouchers_revoked_by ON vouchers (revoked_by);

-- The batches a redeemer (merchant) account may redeem.
CREATE TABLE redeemer_batches (
  admin_id BIGINT NOT NULL,
  batch_id BIGINT NOT NULL,
  created_at DATETIME NOT NULL,
  PRIMARY KEY (admin_id, batch_id),
  CONSTRAINT fk_redeemer_batches_admin FOREIGN KEY (admin_id) REFERENCES admins (id),
  CONSTRAINT fk_redeemer_batches_batch FOREIGN KEY (batch_id) REFERENCES voucher_batches (id)
);
CREATE INDEX idx_redeemer_batches_batch ON redeemer_batches (batch_id);

-- +goose Down
DROP TABLE redeemer_batches;
DROP TABLE vouchers;
DROP TABLE voucher_batches;
