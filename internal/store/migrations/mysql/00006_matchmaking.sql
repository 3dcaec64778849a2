-- +goose Up
-- Matchmaking (单身联谊). Marital status and profiles are sensitive personal
-- data: only the member, and checked-in participants of the same event
-- during its event and pick window, read a profile.
CREATE TABLE match_profiles (
  member_id BIGINT NOT NULL PRIMARY KEY,
  single_declared_at DATETIME(6) NULL,
  nickname VARCHAR(20) NOT NULL DEFAULT '',
  birth_year INT NULL,
  height_cm INT NULL,
  education VARCHAR(20) NOT NULL DEFAULT '',
  occupation VARCHAR(50) NOT NULL DEFAULT '',
  district VARCHAR(50) NOT NULL DEFAULT '',
  hobbies VARCHAR(200) NOT NULL DEFAULT '',
  intro VARCHAR(500) NOT NULL DEFAULT '',
  photo_file_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NULL,
  wechat_id VARCHAR(40) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY idx_match_profiles_photo (photo_file_id),
  CONSTRAINT fk_match_profiles_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_match_profiles_photo FOREIGN KEY (photo_file_id) REFERENCES uploaded_files (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The declaration trail: each declareSingle and its withdrawal.
CREATE TABLE match_single_declarations (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  member_id BIGINT NOT NULL,
  single BOOLEAN NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY idx_match_single_declarations_member (member_id, id),
  CONSTRAINT fk_match_single_declarations_member FOREIGN KEY (member_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE match_events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  place VARCHAR(200) NOT NULL,
  starts_at DATETIME(6) NOT NULL,
  ends_at DATETIME(6) NOT NULL,
  pick_closes_at DATETIME(6) NOT NULL,
  sign_up_opens_at DATETIME(6) NOT NULL,
  sign_up_closes_at DATETIME(6) NOT NULL,
  selection_mode VARCHAR(12) NOT NULL,
  max_picks INT NOT NULL,
  lottery_seed CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  allocated_at DATETIME(6) NULL,
  checkin_code CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
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
  KEY idx_match_events_union_status_start (union_id, status, starts_at, id),
  KEY idx_match_events_status_start (status, starts_at, id),
  KEY idx_match_events_due (status, allocated_at, sign_up_closes_at),
  KEY idx_match_events_elig_union (elig_union_id),
  KEY idx_match_events_created_by (created_by),
  CONSTRAINT fk_match_events_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_match_events_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_match_events_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One seat pool (internal/seats) per event and gender: the gender quota.
CREATE TABLE match_quotas (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT NOT NULL,
  gender VARCHAR(8) NOT NULL,
  capacity INT NOT NULL,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  UNIQUE KEY uq_match_quotas_event_gender (event_id, gender),
  CONSTRAINT fk_match_quotas_event FOREIGN KEY (event_id) REFERENCES match_events (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- active is 1 while a sign-up holds or waits for a seat and NULL after, so
-- the unique key allows one active sign-up per member per event.
CREATE TABLE match_sign_ups (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT NOT NULL,
  quota_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  promoted_at DATETIME(6) NULL,
  reject_reason VARCHAR(200) NOT NULL DEFAULT '',
  checked_in_at DATETIME(6) NULL,
  ended_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_match_sign_ups_active (event_id, member_id, active),
  KEY idx_match_sign_ups_event_status (event_id, status, id),
  KEY idx_match_sign_ups_quota_wait (quota_id, status, wait_seq),
  KEY idx_match_sign_ups_member (member_id, id),
  CONSTRAINT fk_match_sign_ups_event FOREIGN KEY (event_id) REFERENCES match_events (id),
  CONSTRAINT fk_match_sign_ups_quota FOREIGN KEY (quota_id) REFERENCES match_quotas (id),
  CONSTRAINT fk_match_sign_ups_member FOREIGN KEY (member_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A pick is seen by its picker only. A match is not stored: it is two picks
-- of one pair, so picks racing from both sides make exactly one.
CREATE TABLE match_picks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT NOT NULL,
  picker_id BIGINT NOT NULL,
  picked_id BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_match_picks (event_id, picker_id, picked_id),
  KEY idx_match_picks_picked (event_id, picked_id, picker_id),
  KEY idx_match_picks_picker (picker_id),
  KEY idx_match_picks_picked_member (picked_id),
  CONSTRAINT fk_match_picks_event FOREIGN KEY (event_id) REFERENCES match_events (id),
  CONSTRAINT fk_match_picks_picker FOREIGN KEY (picker_id) REFERENCES members (id),
  CONSTRAINT fk_match_picks_picked FOREIGN KEY (picked_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A block holds for every event: a blocked pair never matches.
CREATE TABLE match_blocks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  blocker_id BIGINT NOT NULL,
  blocked_id BIGINT NOT NULL,
  event_id BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_match_blocks (blocker_id, blocked_id),
  KEY idx_match_blocks_blocked (blocked_id),
  KEY idx_match_blocks_event (event_id),
  CONSTRAINT fk_match_blocks_blocker FOREIGN KEY (blocker_id) REFERENCES members (id),
  CONSTRAINT fk_match_blocks_blocked FOREIGN KEY (blocked_id) REFERENCES members (id),
  CONSTRAINT fk_match_blocks_event FOREIGN KEY (event_id) REFERENCES match_events (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE match_reports (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT NOT NULL,
  reporter_id BIGINT NOT NULL,
  reported_id BIGINT NOT NULL,
  reason VARCHAR(500) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_match_reports (event_id, reporter_id, reported_id),
  KEY idx_match_reports_reporter (reporter_id),
  KEY idx_match_reports_reported (reported_id),
  CONSTRAINT fk_match_reports_event FOREIGN KEY (event_id) REFERENCES match_events (id),
  CONSTRAINT fk_match_reports_reporter FOREIGN KEY (reporter_id) REFERENCES members (id),
  CONSTRAINT fk_match_reports_reported FOREIGN KEY (reported_id) REFERENCES members (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE match_reports;
DROP TABLE match_blocks;
DROP TABLE match_picks;
DROP TABLE match_sign_ups;
DROP TABLE match_quotas;
DROP TABLE match_events;
DROP TABLE match_single_declarations;
DROP TABLE match_profiles;
