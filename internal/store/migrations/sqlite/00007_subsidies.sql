-- +goose Up
-- Education subsidies (求学圆梦). A programme's granted_fen is what its
-- approvals hold against budget_fen; it only moves by a conditional UPDATE
-- (granted_fen + ? <= budget_fen) in the review transaction. A NULL cap
-- means the degree level is not offered. Shares are basis points (1/10000)
-- of a grant and sum to 10000.
CREATE TABLE subsidy_programs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
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
  opens_at DATETIME NOT NULL,
  closes_at DATETIME NOT NULL,
  status VARCHAR(12) NOT NULL,
  version INT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL,
  published_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_subsidy_programs_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_subsidy_programs_created_by FOREIGN KEY (created_by) REFERENCES admins (id),
  CONSTRAINT ck_subsidy_programs_budget CHECK (granted_fen >= 0 AND granted_fen <= budget_fen)
);
CREATE INDEX idx_subsidy_programs_union_status ON subsidy_programs (union_id, status, id);
CREATE INDEX idx_subsidy_programs_status ON subsidy_programs (status, id);
CREATE INDEX idx_subsidy_programs_created_by ON subsidy_programs (created_by);

-- active is 1 unless WITHDRAWN (then NULL): one live application per member
-- per programme. funded_level is the degree level once APPROVED (NULL
-- before): a member is funded once per level, across programmes.
CREATE TABLE subsidy_applications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  program_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  union_id BIGINT NOT NULL,
  union_path VARCHAR(255) NOT NULL,
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
  submitted_at DATETIME NOT NULL,
  decided_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_subsidy_applications_program FOREIGN KEY (program_id) REFERENCES subsidy_programs (id),
  CONSTRAINT fk_subsidy_applications_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_subsidy_applications_union FOREIGN KEY (union_id) REFERENCES unions (id)
);
CREATE UNIQUE INDEX uq_subsidy_applications_active ON subsidy_applications (program_id, member_id, active);
CREATE UNIQUE INDEX uq_subsidy_applications_funded ON subsidy_applications (member_id, funded_level);
CREATE INDEX idx_subsidy_applications_program_status ON subsidy_applications (program_id, status, stage, id);
CREATE INDEX idx_subsidy_applications_program_path ON subsidy_applications (program_id, union_path, id);
CREATE INDEX idx_subsidy_applications_union ON subsidy_applications (union_id);
CREATE INDEX idx_subsidy_applications_member ON subsidy_applications (member_id, id);

CREATE TABLE subsidy_proofs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  application_id BIGINT NOT NULL,
  file_id VARCHAR(40) NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_subsidy_proofs_application FOREIGN KEY (application_id) REFERENCES subsidy_applications (id),
  CONSTRAINT fk_subsidy_proofs_file FOREIGN KEY (file_id) REFERENCES uploaded_files (id)
);
CREATE UNIQUE INDEX uq_subsidy_proofs_file ON subsidy_proofs (file_id);
CREATE INDEX idx_subsidy_proofs_application ON subsidy_proofs (application_id, id);

-- The trail: one row per decision, never updated.
CREATE TABLE subsidy_reviews (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  application_id BIGINT NOT NULL,
  admin_id BIGINT NOT NULL,
  stage VARCHAR(12) NOT NULL,
  decision VARCHAR(8) NOT NULL,
  comment VARCHAR(500) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_subsidy_reviews_application FOREIGN KEY (application_id) REFERENCES subsidy_applications (id),
  CONSTRAINT fk_subsidy_reviews_admin FOREIGN KEY (admin_id) REFERENCES admins (id)
);
CREATE INDEX idx_subsidy_reviews_application ON subsidy_reviews (application_id, id);
CREATE INDEX idx_subsidy_reviews_admin ON subsidy_reviews (admin_id);

-- +goose Down
DROP TABLE subsidy_reviews;
DROP TABLE subsidy_proofs;
DROP TABLE subsidy_applications;
DROP TABLE subsidy_programs;
