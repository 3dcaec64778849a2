-- +goose Up
-- Childcare (职工子女托管). A programme carries the seat counters
-- internal/seats works on; a child's sign-up is its hold.
CREATE TABLE childcare_programs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  place VARCHAR(200) NOT NULL,
  starts_on DATE NOT NULL,
  ends_on DATE NOT NULL,
  daily_start CHAR(5) NOT NULL,
  daily_end CHAR(5) NOT NULL,
  child_min_age INT NOT NULL,
  child_max_age INT NOT NULL,
  capacity INT NOT NULL,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  sign_up_opens_at DATETIME NOT NULL,
  sign_up_closes_at DATETIME NOT NULL,
  admission_mode VARCHAR(12) NOT NULL,
  priority_forms VARCHAR(255) NOT NULL DEFAULT '',
  priority_double_worker BOOLEAN NOT NULL DEFAULT FALSE,
  require_emergency_contact BOOLEAN NOT NULL DEFAULT FALSE,
  require_health_notes BOOLEAN NOT NULL DEFAULT FALSE,
  lottery_seed CHAR(64) NOT NULL,
  allocated_at DATETIME NULL,
  elig_union_id BIGINT NULL,
  elig_path VARCHAR(255) NOT NULL,
  elig_forms VARCHAR(255) NOT NULL DEFAULT '',
  elig_gender VARCHAR(8) NOT NULL DEFAULT '',
  elig_min_age INT NULL,
  elig_max_age INT NULL,
  elig_verified_only BOOLEAN NOT NULL DEFAULT FALSE,
  status VARCHAR(12) NOT NULL,
  cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
  version INT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL,
  published_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_childcare_programs_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_childcare_programs_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_childcare_programs_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
);
CREATE INDEX idx_childcare_programs_union_status_start ON childcare_programs (union_id, status, starts_on, id);
CREATE INDEX idx_childcare_programs_status_start ON childcare_programs (status, starts_on, id);
CREATE INDEX idx_childcare_programs_due ON childcare_programs (status, allocated_at, sign_up_closes_at);
CREATE INDEX idx_childcare_programs_elig_union ON childcare_programs (elig_union_id);
CREATE INDEX idx_childcare_programs_created_by ON childcare_programs (created_by);

-- A child's data is a minor's personal information: the ID number is
-- sealed (id_cipher) with a keyed hash (id_hash, one child record per ID
-- number) and a mask.
CREATE TABLE children (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id BIGINT NOT NULL,
  name VARCHAR(30) NOT NULL,
  birth_date DATE NOT NULL,
  gender VARCHAR(8) NOT NULL,
  id_cipher BLOB NULL,
  id_hash CHAR(64) NULL,
  id_mask VARCHAR(18) NOT NULL DEFAULT '',
  school_grade VARCHAR(30) NOT NULL DEFAULT '',
  allergies VARCHAR(500) NOT NULL DEFAULT '',
  health_notes VARCHAR(1000) NOT NULL DEFAULT '',
  emergency_contact_name VARCHAR(30) NOT NULL DEFAULT '',
  emergency_contact_phone VARCHAR(20) NOT NULL DEFAULT '',
  version INT NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_children_owner FOREIGN KEY (owner_id) REFERENCES members (id)
);
CREATE UNIQUE INDEX uq_children_id_hash ON children (id_hash);
CREATE INDEX idx_children_owner ON children (owner_id);

CREATE TABLE child_guardians (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  child_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  role VARCHAR(10) NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_child_guardians_child FOREIGN KEY (child_id) REFERENCES children (id),
  CONSTRAINT fk_child_guardians_member FOREIGN KEY (member_id) REFERENCES members (id)
);
CREATE UNIQUE INDEX uq_child_guardians_child_member ON child_guardians (child_id, member_id);
CREATE INDEX idx_child_guardians_member ON child_guardians (member_id, child_id);

CREATE TABLE guardian_invites (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  child_id BIGINT NOT NULL,
  code_hash CHAR(64) NOT NULL,
  created_by BIGINT NOT NULL,
  expires_at DATETIME NOT NULL,
  redeemed_by BIGINT NULL,
  redeemed_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_guardian_invites_child FOREIGN KEY (child_id) REFERENCES children (id),
  CONSTRAINT fk_guardian_invites_created_by FOREIGN KEY (created_by) REFERENCES members (id),
  CONSTRAINT fk_guardian_invites_redeemed_by FOREIGN KEY (redeemed_by) REFERENCES members (id)
);
CREATE UNIQUE INDEX uq_guardian_invites_code ON guardian_invites (code_hash);
CREATE INDEX idx_guardian_invites_child ON guardian_invites (child_id);
CREATE INDEX idx_guardian_invites_created_by ON guardian_invites (created_by);
CREATE INDEX idx_guardian_invites_redeemed_by ON guardian_invites (redeemed_by);

-- active is 1 while a sign-up is PENDING, ADMITTED or WAITLISTED and NULL
-- after, so the unique key allows one active sign-up per child per programme.
CREATE TABLE child_sign_ups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  program_id BIGINT NOT NULL,
  child_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  priority_rank INT NOT NULL,
  double_worker BOOLEAN NOT NULL DEFAULT FALSE,
  reject_reason VARCHAR(200) NOT NULL DEFAULT '',
  promoted_at DATETIME NULL,
  ended_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_child_sign_ups_program FOREIGN KEY (program_id) REFERENCES childcare_programs (id),
  CONSTRAINT fk_child_sign_ups_child FOREIGN KEY (child_id) REFERENCES children (id),
  CONSTRAINT fk_child_sign_ups_member FOREIGN KEY (member_id) REFERENCES members (id)
);
CREATE UNIQUE INDEX uq_child_sign_ups_active ON child_sign_ups (program_id, child_id, active);
CREATE INDEX idx_child_sign_ups_program_status ON child_sign_ups (program_id, status, id);
CREATE INDEX idx_child_sign_ups_program_wait ON child_sign_ups (program_id, status, wait_seq);
CREATE INDEX idx_child_sign_ups_child ON child_sign_ups (child_id, id);
CREATE INDEX idx_child_sign_ups_member ON child_sign_ups (member_id, id);

-- One row per admitted child per day attended.
CREATE TABLE child_attendance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sign_up_id BIGINT NOT NULL,
  program_id BIGINT NOT NULL,
  day DATE NOT NULL,
  checked_in_at DATETIME NOT NULL,
  checked_in_by BIGINT NOT NULL,
  checked_out_at DATETIME NULL,
  checked_out_by BIGINT NULL,
  picked_up_by VARCHAR(30) NOT NULL DEFAULT '',
  CONSTRAINT fk_child_attendance_sign_up FOREIGN KEY (sign_up_id) REFERENCES child_sign_ups (id),
  CONSTRAINT fk_child_attendance_program FOREIGN KEY (program_id) REFERENCES childcare_programs (id),
  CONSTRAINT fk_child_attendance_checked_in_by FOREIGN KEY (checked_in_by) REFERENCES admins (id),
  CONSTRAINT fk_child_attendance_checked_out_by FOREIGN KEY (checked_out_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_child_attendance_day ON child_attendance (sign_up_id, day);
CREATE INDEX idx_child_attendance_program_day ON child_attendance (program_id, day);
CREATE INDEX idx_child_attendance_checked_in_by ON child_attendance (checked_in_by);
CREATE INDEX idx_child_attendance_checked_out_by ON child_attendance (checked_out_by);

-- Allocation at close (internal/allocation), for any module: the unique key
-- is the claim that makes a run happen once, whichever instance gets there.
CREATE TABLE allocation_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind VARCHAR(20) NOT NULL,
  offering_id BIGINT NOT NULL,
  mode VARCHAR(12) NOT NULL DEFAULT '',
  seed CHAR(64) NOT NULL DEFAULT '',
  candidates INT NOT NULL DEFAULT 0,
  admitted INT NOT NULL DEFAULT 0,
  waitlisted INT NOT NULL DEFAULT 0,
  rejected INT NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_allocation_runs_offering ON allocation_runs (kind, offering_id);

-- +goose Down
DROP TABLE allocation_runs;
DROP TABLE child_attendance;
DROP TABLE child_sign_ups;
DROP TABLE guardian_invites;
DROP TABLE child_guardians;
DROP TABLE children;
DROP TABLE childcare_programs;
