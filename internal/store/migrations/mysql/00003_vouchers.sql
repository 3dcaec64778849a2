-- +goose Up
-- Benefit vouchers (普惠礼券). A batch is a seat pool (internal/seats): its
-- stock is the capacity, and it has no waitlist.
CREATE TABLE voucher_batches (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
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
  exclusive_group VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  claim_opens_at DATETIME(6) NOT NULL,
  claim_closes_at DATETIME(6) NOT NULL,
  valid_from DATETIME(6) NULL,
  valid_until DATETIME(6) NULL,
  valid_days INT NULL,
  elig_union_id BIGINT NULL,
  elig_path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  elig_forms VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  elig_gender VARCHAR(8) NOT NULL DEFAULT '',
  elig_min_age INT NULL,
  elig_max_age INT NULL,
  elig_verified_only BOOLEAN NOT NULL DEFAULT FALSE,
  status VARCHAR(12) NOT NULL,
  version INT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL,
  published_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY idx_voucher_batches_union_status (union_id, status, claim_closes_at, id),
  KEY idx_voucher_batches_status_close (status, claim_closes_at, id),
  KEY idx_voucher_batches_group (exclusive_group),
  KEY idx_voucher_batches_elig_union (elig_union_id),
  KEY idx_voucher_batches_created_by (created_by),
  CONSTRAINT fk_voucher_batches_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_voucher_batches_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_voucher_batches_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A voucher is one hold of a batch. claim_seq numbers a member's vouchers
-- of a batch (1 … per_member_limit): the unique key is the per-member limit,
-- and parallel claims that race for the same number become one voucher.
-- exclusive_group is the batch's group: one voucher per member per group
-- (a revoked voucher still counts, as it does against the limit).
CREATE TABLE vouchers (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  batch_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  claim_seq INT NOT NULL,
  request_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  exclusive_group VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  code CHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  valid_from DATETIME(6) NOT NULL,
  valid_until DATETIME(6) NOT NULL,
  redeemed_at DATETIME(6) NULL,
  redeemed_by BIGINT NULL,
  revoked_at DATETIME(6) NULL,
  revoked_by BIGINT NULL,
  revoke_reason VARCHAR(200) NOT NULL DEFAULT '',
  promoted_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_vouchers_code (code),
  UNIQUE KEY uq_vouchers_member_seq (batch_id, member_id, claim_seq),
  UNIQUE KEY uq_vouchers_group_member (exclusive_group, member_id),
  UNIQUE KEY uq_vouchers_request (member_id, request_id),
  KEY idx_vouchers_batch_status (batch_id, status, id),
  KEY idx_vouchers_member (member_id, id),
  KEY idx_vouchers_redeemed_by (redeemed_by),
  KEY idx_vouchers_revoked_by (revoked_by),
  CONSTRAINT fk_vouchers_batch FOREIGN KEY (batch_id) REFERENCES voucher_batches (id),
  CONSTRAINT fk_vouchers_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_vouchers_redeemed_by FOREIGN KEY (redeemed_by) REFERENCES admins (id),
  CONSTRAINT fk_vouchers_revoked_by FOREIGN KEY (revoked_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The batches a redeemer (merchant) account may redeem.
CREATE TABLE redeemer_batches (
  admin_id BIGINT NOT NULL,
  batch_id BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (admin_id, batch_id),
  KEY idx_redeemer_batches_batch (batch_id),
  CONSTRAINT fk_redeemer_batches_admin FOREIGN KEY (admin_id) REFERENCES admins (id),
  CONSTRAINT fk_redeemer_batches_batch FOREIGN KEY (batch_id) REFERENCES voucher_batches (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE redeemer_batches;
DROP TABLE vouchers;
DROP TABLE voucher_batches;
