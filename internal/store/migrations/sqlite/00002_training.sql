-- +goose Up
-- The no-show rule: a member who missed too many classes may not book until then.
ALTER TABLE members ADD COLUMN training_banned_until DATETIME NULL;

-- Skill-training classes. The seat counters (capacity, waitlist_limit,
-- confirmed_count, waitlist_count, waitlist_seq) are the shape internal/seats
-- works on; every offering with limited seats carries the same five columns.
CREATE TABLE training_classes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  category VARCHAR(20) NOT NULL,
  description TEXT NOT NULL,
  teacher VARCHAR(50) NOT NULL DEFAULT '',
  cover_url VARCHAR(500) NOT NULL DEFAULT '',
  starts_at DATETIME NOT NULL,
  ends_at DATETIME NOT NULL,
  capacity INT NOT NULL,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  booking_opens_at DATETIME NOT NULL,
  booking_closes_at DATETIME NOT NULL,
  cancel_deadline DATETIME NOT NULL,
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
  CONSTRAINT fk_training_classes_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_training_classes_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_training_classes_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
);
CREATE INDEX idx_training_classes_union_status_start ON training_classes (union_id, status, starts_at, id);
CREATE INDEX idx_training_classes_status_start ON training_classes (status, starts_at, id);
CREATE INDEX idx_training_classes_status_end ON training_classes (status, ends_at);
CREATE INDEX idx_training_classes_category ON training_classes (category);
CREATE INDEX idx_training_classes_elig_union ON training_classes (elig_union_id);
CREATE INDEX idx_training_classes_created_by ON training_classes (created_by);

CREATE TABLE training_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  class_id BIGINT NOT NULL,
  seq INT NOT NULL,
  starts_at DATETIME NOT NULL,
  ends_at DATETIME NOT NULL,
  place VARCHAR(200) NOT NULL DEFAULT '',
  online_url VARCHAR(500) NOT NULL DEFAULT '',
  CONSTRAINT fk_training_sessions_class FOREIGN KEY (class_id) REFERENCES training_classes (id)
);
CREATE UNIQUE INDEX uq_training_sessions_class_seq ON training_sessions (class_id, seq);

-- active is 1 while a booking holds or waits for a seat and NULL after, so
-- the unique key allows one active booking per member per class and any
-- number of ended ones.
CREATE TABLE training_bookings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  class_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  checkin_code CHAR(20) NOT NULL,
  checked_in_at DATETIME NULL,
  checked_in_by BIGINT NULL,
  promoted_at DATETIME NULL,
  cancelled_at DATETIME NULL,
  cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_training_bookings_class FOREIGN KEY (class_id) REFERENCES training_classes (id),
  CONSTRAINT fk_training_bookings_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_training_bookings_checked_in_by FOREIGN KEY (checked_in_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_training_bookings_active ON training_bookings (class_id, member_id, active);
CREATE UNIQUE INDEX uq_training_bookings_checkin_code ON training_bookings (checkin_code);
CREATE INDEX idx_training_bookings_class_status ON training_bookings (class_id, status, id);
CREATE INDEX idx_training_bookings_class_wait ON training_bookings (class_id, status, wait_seq);
CREATE INDEX idx_training_bookings_member ON training_bookings (member_id, id);
CREATE INDEX idx_training_bookings_checked_in_by ON training_bookings (checked_in_by);

-- +goose Down
DROP TABLE training_bookings;
DROP TABLE training_sessions;
DROP TABLE training_classes;
ALTER TABLE members DROP COLUMN training_banned_until;
