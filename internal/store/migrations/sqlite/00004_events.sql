-- +goose Up
-- Inclusive-benefit posts (普惠活动). A post with a sign-up is a seat pool
-- (internal/seats): capacity … waitlist_seq.
CREATE TABLE event_posts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  category VARCHAR(20) NOT NULL,
  body_format VARCHAR(10) NOT NULL,
  body_source TEXT NOT NULL,
  body_html TEXT NOT NULL,
  cover_url VARCHAR(500) NOT NULL DEFAULT '',
  pinned BOOLEAN NOT NULL DEFAULT FALSE,
  publish_at DATETIME NULL,
  view_count BIGINT NOT NULL DEFAULT 0,
  has_sign_up BOOLEAN NOT NULL DEFAULT FALSE,
  capacity INT NOT NULL DEFAULT 0,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  sign_up_opens_at DATETIME NULL,
  sign_up_closes_at DATETIME NULL,
  starts_at DATETIME NULL,
  ends_at DATETIME NULL,
  place VARCHAR(200) NOT NULL DEFAULT '',
  sign_up_cancelled BOOLEAN NOT NULL DEFAULT FALSE,
  sign_up_cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
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
  CONSTRAINT fk_event_posts_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_event_posts_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_event_posts_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
);
CREATE INDEX idx_event_posts_union_created ON event_posts (union_id, id);
CREATE INDEX idx_event_posts_union_published ON event_posts (union_id, published_at);
CREATE INDEX idx_event_posts_elig_union ON event_posts (elig_union_id);
CREATE INDEX idx_event_posts_created_by ON event_posts (created_by);

-- A target publishes a post to a union and its subtree. The feed of a
-- member reads, for each union on their chain, one index range of this
-- table in feed order (pinned first, newest first): the feed's columns are
-- copied from the post so the index covers the whole sub-select.
CREATE TABLE event_targets (
  post_id BIGINT NOT NULL,
  union_id BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  category VARCHAR(20) NOT NULL,
  feed_key BIGINT NOT NULL,
  publish_at DATETIME NOT NULL,
  PRIMARY KEY (post_id, union_id),
  CONSTRAINT fk_event_targets_post FOREIGN KEY (post_id) REFERENCES event_posts (id),
  CONSTRAINT fk_event_targets_union FOREIGN KEY (union_id) REFERENCES unions (id)
);
CREATE INDEX idx_event_targets_feed ON event_targets (union_id, status, feed_key, post_id, publish_at);
CREATE INDEX idx_event_targets_feed_category ON event_targets (union_id, status, category, feed_key, post_id, publish_at);

-- A sign-up is one hold of a post's seat pool, as a class booking is.
CREATE TABLE event_signups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  post_id BIGINT NOT NULL,
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
  CONSTRAINT fk_event_signups_post FOREIGN KEY (post_id) REFERENCES event_posts (id),
  CONSTRAINT fk_event_signups_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_event_signups_checked_in_by FOREIGN KEY (checked_in_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_event_signups_active ON event_signups (post_id, member_id, active);
CREATE UNIQUE INDEX uq_event_signups_checkin_code ON event_signups (checkin_code);
CREATE INDEX idx_event_signups_post_status ON event_signups (post_id, status, id);
CREATE INDEX idx_event_signups_post_wait ON event_signups (post_id, status, wait_seq);
CREATE INDEX idx_event_signups_member ON event_signups (member_id, id);
CREATE INDEX idx_event_signups_member_created ON event_signups (member_id, created_at);
CREATE INDEX idx_event_signups_checked_in_by ON event_signups (checked_in_by);

-- myActivity merges a member's bookings, vouchers and sign-ups newest first.
CREATE INDEX idx_training_bookings_member_created ON training_bookings (member_id, created_at);
CREATE INDEX idx_vouchers_member_created ON vouchers (member_id, created_at);

-- +goose Down
DROP INDEX idx_vouchers_member_created;
DROP INDEX idx_training_bookings_member_created;
DROP TABLE event_signups;
DROP TABLE event_targets;
DROP TABLE event_posts;
