-- +goose Up
-- Education subsidies (求学圆梦). A programme's granted_fen is what its
-- approvals hold against budget_fen; it only moves by a conditional UPDATE
-- (granted_fen + ? <= budget_fen) in the review transaction. A NULL cap
-- means the degree level is not offered. Shares are basis points (1/10000)
-- of a grant and sum to 10000.
CREATE TABLE subsidy_programs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  year INT NOT NULL,
  cap_associate_fen BIGINT NULL,
  cap_bachelor_fen BIGINT NULL,
  cap_master_fen BIGINT NULL,
  cap_doctorate_fen BIGINT NULL,
  share_province_bp INT NOT NULL,
  share_city_bp INT NOT NULL,
  share_district_bp INT NOT NULL,
  budget_fen BIGINT NOT NULL,
  granted_fen BIGINT NOT NULL DEFAULT 0,
  opens_at DATETIME(6) NOT NULL,
  closes_at DATETIME(6) NOT NULL,
  status VARCHAR(12) NOT NULL,
  version INT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL,
  published_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY idx_subsidy_programs_union_status (union_id, status, id),
  KEY idx_subsidy_programs_status (status, id),
  KEY idx_subsidy_programs_created_by (created_by),
  CONSTRAINT fk_subsidy_programs_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_subsidy_programs_created_by FOREIGN KEY (created_by) REFERENCES admins (id),
  CONSTRAINT ck_subsidy_programs_budget CHECK (granted_fen >= 0 AND granted_fen <= budget_fen)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- active is 1 unless WITHDRAWN (then NULL): one live application per member
-- per programme. funded_level is the degree level once APPROVED (NULL
-- before): a member is funded once per level, across programmes.
CREATE TABLE subsidy_applications (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  program_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  union_id BIGINT NOT NULL,
  union_path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  school VARCHAR(100) NOT NULL,
  major VARCHAR(100) NOT NULL,
  level VARCHAR(12) NOT NULL,
  enrolled_on DATE NOT NULL,
  tuition_fen BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  stage VARCHAR(12) NOT NULL,
  held_fen BIGINT NOT NULL DEFAULT 0,
  grant_province_fen BIGINT NOT NULL DEFAULT 0,
  grant_city_fen BIGINT NOT NULL DEFAULT 0,
  grant_district_fen BIGINT NOT NULL DEFAULT 0,
  active TINYINT NULL,
  funded_level VARCHAR(12) NULL,
  version INT NOT NULL DEFAULT 1,
  submitted_at DATETIME(6) NOT NULL,
  decided_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_subsidy_applications_active (program_id, member_id, active),
  UNIQUE KEY uq_subsidy_applications_funded (member_id, funded_level),
  KEY idx_subsidy_applications_program_status (program_id, status, stage, id),
  KEY idx_subsidy_applications_program_path (program_id, union_path, id),
  KEY idx_subsidy_applications_union (union_id),
  KEY idx_subsidy_applications_member (member_id, id),
  CONSTRAINT fk_subsidy_applications_program FOREIGN KEY (program_id) REFERENCES subsidy_programs (id),
  CONSTRAINT fk_subsidy_applications_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_subsidy_applications_union FOREIGN KEY (union_id) REFERENCES unions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE subsidy_proofs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  application_id BIGINT NOT NULL,
  file_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_subsidy_proofs_file (file_id),
  KEY idx_subsidy_proofs_application (application_id, id),
  CONSTRAINT fk_subsidy_proofs_application FOREIGN KEY (application_id) REFERENCES subsidy_applications (id),
  CONSTRAINT fk_subsidy_proofs_file FOREIGN KEY (file_id) REFERENCES uploaded_files (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The trail: one row per decision, never updated.
CREATE TABLE subsidy_reviews (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  application_id BIGINT NOT NULL,
  admin_id BIGINT NOT NULL,
  stage VARCHAR(12) NOT NULL,
  decision VARCHAR(8) NOT NULL,
  comment VARCHAR(500) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  KEY idx_subsidy_reviews_application (application_id, id),
  KEY idx_subsidy_reviews_admin (admin_id),
  CONSTRAINT fk_subsidy_reviews_application FOREIGN KEY (application_id) REFERENCES subsidy_applications (id),
  CONSTRAINT fk_subsidy_reviews_admin FOREIGN KEY (admin_id) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE subsidy_reviews;
DROP TABLE subsidy_proofs;
DROP TABLE subsidy_applications;
DROP TABLE subsidy_programs;
