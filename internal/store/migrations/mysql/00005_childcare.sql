-- +goose Up
-- Childcare (职工子女托管). A programme carries the seat counters
-- internal/seats works on; a child's sign-up is its hold.
CREATE TABLE childcare_programs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  place VARCHAR(200) NOT NULL,
  starts_on DATE NOT NULL,
  ends_on DATE NOT NULL,
  daily_start CHAR(5) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  daily_end CHAR(5) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  child_min_age INT NOT NULL,
  child_max_age INT NOT NULL,
  capacity INT NOT NULL,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  sign_up_opens_at DATETIME(6) NOT NULL,
  sign_up_closes_at DATETIME(6) NOT NULL,
  admission_mode VARCHAR(12) NOT NULL,
  priority_forms VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  priority_double_worker BOOLEAN NOT NULL DEFAULT FALSE,
  require_emergency_contact BOOLEAN NOT NULL DEFAULT FALSE,
  require_health_notes BOOLEAN NOT NULL DEFAULT FALSE,
  lottery_seed CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  allocated_at DATETIME(6) NULL,
  elig_union_id BIGINT NULL,
  elig_path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  elig_forms VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  elig_gender VARCHAR(8) NOT NULL DEFAULT '',
  elig_min_age INT NULL,
  elig_max_age INT NULL,
  elig_verified_only BOOLEAN NOT NULL DEFAULT FALSE,
  status VARCHAR(12) NOT NULL,
  cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
  version INT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL,
  published_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY idx_childcare_programs_union_status_start (union_id, status, starts_on, id),
  KEY idx_childcare_programs_status_start (status, starts_on, id),
  KEY idx_childcare_programs_due (status, allocated_at, sign_up_closes_at),
  KEY idx_childcare_programs_elig_union (elig_union_id),
  KEY idx_childcare_programs_created_by (created_by),
  CONSTRAINT fk_childcare_programs_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_childcare_programs_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_childcare_programs_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A child's data is a minor's personal information: the ID number is
-- sealed (id_cipher) with a keyed hash (id_hash, one child record per ID
-- number) and a mask.
CREATE TABLE children (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  owner_id BIGINT NOT NULL,
  name VARCHAR(30) NOT NULL,
  birth_date DATE NOT NULL,
  gender VARCHAR(8) NOT NULL,
  id_cipher VARBINARY(128) NULL,
  id_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  id_mask VARCHAR(18) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  school_grade VARCHAR(30) NOT NULL DEFAULT '',
  allergies VARCHAR(500) NOT NULL DEFAULT '',
  health_notes VARCHAR(1000) NOT NULL DEFAULT '',
  emergency_contact_name VARCHAR(30) NOT NULL DEFAULT '',
  emergency_contact_phone VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  version INT NOT NULL DEFAULT 1,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_children_id_hash (id_hash),
  KEY idx_children_owner (owner_id),
  CONSTRAINT fk_children_owner FOREIGN KEY (owner_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE child_guardians (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  child_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  role VARCHAR(10) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_child_guardians_child_member (child_id, member_id),
  KEY idx_child_guardians_member (member_id, child_id),
  CONSTRAINT fk_child_guardians_child FOREIGN KEY (child_id) REFERENCES children (id),
  CONSTRAINT fk_child_guardians_member FOREIGN KEY (member_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE guardian_invites (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  child_id BIGINT NOT NULL,
  code_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_by BIGINT NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  redeemed_by BIGINT NULL,
  redeemed_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_guardian_invites_code (code_hash),
  KEY idx_guardian_invites_child (child_id),
  KEY idx_guardian_invites_created_by (created_by),
  KEY idx_guardian_invites_redeemed_by (redeemed_by),
  CONSTRAINT fk_guardian_invites_child FOREIGN KEY (child_id) REFERENCES children (id),
  CONSTRAINT fk_guardian_invites_created_by FOREIGN KEY (created_by) REFERENCES members (id),
  CONSTRAINT fk_guardian_invites_redeemed_by FOREIGN KEY (redeemed_by) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- active is 1 while a sign-up is PENDING, ADMITTED or WAITLISTED and NULL
-- after, so the unique key allows one active sign-up per child per programme.
CREATE TABLE child_sign_ups (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  program_id BIGINT NOT NULL,
  child_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  priority_rank INT NOT NULL,
  double_worker BOOLEAN NOT NULL DEFAULT FALSE,
  reject_reason VARCHAR(200) NOT NULL DEFAULT '',
  promoted_at DATETIME(6) NULL,
  ended_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_child_sign_ups_active (program_id, child_id, active),
  KEY idx_child_sign_ups_program_status (program_id, status, id),
  KEY idx_child_sign_ups_program_wait (program_id, status, wait_seq),
  KEY idx_child_sign_ups_child (child_id, id),
  KEY idx_child_sign_ups_member (member_id, id),
  CONSTRAINT fk_child_sign_ups_program FOREIGN KEY (program_id) REFERENCES childcare_programs (id),
  CONSTRAINT fk_child_sign_ups_child FOREIGN KEY (child_id) REFERENCES children (id),
  CONSTRAINT fk_child_sign_ups_member FOREIGN KEY (member_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per admitted child per day attended.
CREATE TABLE child_attendance (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sign_up_id BIGINT NOT NULL,
  program_id BIGINT NOT NULL,
  day DATE NOT NULL,
  checked_in_at DATETIME(6) NOT NULL,
  checked_in_by BIGINT NOT NULL,
  checked_out_at DATETIME(6) NULL,
  checked_out_by BIGINT NULL,
  picked_up_by VARCHAR(30) NOT NULL DEFAULT '',
  UNIQUE KEY uq_child_attendance_day (sign_up_id, day),
  KEY idx_child_attendance_program_day (program_id, day),
  KEY idx_child_attendance_checked_in_by (checked_in_by),
  KEY idx_child_attendance_checked_out_by (checked_out_by),
  CONSTRAINT fk_child_attendance_sign_up FOREIGN KEY (sign_up_id) REFERENCES child_sign_ups (id),
  CONSTRAINT fk_child_attendance_program FOREIGN KEY (program_id) REFERENCES childcare_programs (id),
  CONSTRAINT fk_child_attendance_checked_in_by FOREIGN KEY (checked_in_by) REFERENCES admins (id),
  CONSTRAINT fk_child_attendance_checked_out_by FOREIGN KEY (checked_out_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Allocation at close (internal/allocation), for any module: the unique key
-- is the claim that makes a run happen once, whichever instance gets there.
CREATE TABLE allocation_runs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  offering_id BIGINT NOT NULL,
  mode VARCHAR(12) NOT NULL DEFAULT '',
  seed CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  candidates INT NOT NULL DEFAULT 0,
  admitted INT NOT NULL DEFAULT 0,
  waitlisted INT NOT NULL DEFAULT 0,
  rejected INT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_allocation_runs_offering (kind, offering_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE allocation_runs;
DROP TABLE child_attendance;
DROP TABLE child_sign_ups;
DROP TABLE guardian_invites;
DROP TABLE child_guardians;
DROP TABLE children;
DROP TABLE childcare_programs;
