-- +goose Up
-- Inclusive-benefit posts (普惠活动). A post with a sign-up is a seat pool
-- (internal/seats): capacity … waitlist_seq.
CREATE TABLE event_posts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  union_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  category VARCHAR(20) NOT NULL,
  body_format VARCHAR(10) NOT NULL,
  body_source MEDIUMTEXT NOT NULL,
  body_html MEDIUMTEXT NOT NULL,
  cover_url VARCHAR(500) NOT NULL DEFAULT '',
  pinned BOOLEAN NOT NULL DEFAULT FALSE,
  publish_at DATETIME(6) NULL,
  view_count BIGINT NOT NULL DEFAULT 0,
  has_sign_up BOOLEAN NOT NULL DEFAULT FALSE,
  capacity INT NOT NULL DEFAULT 0,
  waitlist_limit INT NOT NULL DEFAULT 0,
  confirmed_count INT NOT NULL DEFAULT 0,
  waitlist_count INT NOT NULL DEFAULT 0,
  waitlist_seq BIGINT NOT NULL DEFAULT 0,
  sign_up_opens_at DATETIME(6) NULL,
  sign_up_closes_at DATETIME(6) NULL,
  starts_at DATETIME(6) NULL,
  ends_at DATETIME(6) NULL,
  place VARCHAR(200) NOT NULL DEFAULT '',
  sign_up_cancelled BOOLEAN NOT NULL DEFAULT FALSE,
  sign_up_cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
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
  KEY idx_event_posts_union_created (union_id, id),
  KEY idx_event_posts_union_published (union_id, published_at),
  KEY idx_event_posts_elig_union (elig_union_id),
  KEY idx_event_posts_created_by (created_by),
  CONSTRAINT fk_event_posts_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_event_posts_elig_union FOREIGN KEY (elig_union_id) REFERENCES unions (id),
  CONSTRAINT fk_event_posts_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

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
  publish_at DATETIME(6) NOT NULL,
  PRIMARY KEY (post_id, union_id),
  KEY idx_event_targets_feed (union_id, status, feed_key, post_id, publish_at),
  KEY idx_event_targets_feed_category (union_id, status, category, feed_key, post_id, publish_at),
  CONSTRAINT fk_event_targets_post FOREIGN KEY (post_id) REFERENCES event_posts (id),
  CONSTRAINT fk_event_targets_union FOREIGN KEY (union_id) REFERENCES unions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A sign-up is one hold of a post's seat pool, as a class booking is.
CREATE TABLE event_signups (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  post_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  status VARCHAR(12) NOT NULL,
  active TINYINT NULL,
  wait_seq BIGINT NULL,
  checkin_code CHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  checked_in_at DATETIME(6) NULL,
  checked_in_by BIGINT NULL,
  promoted_at DATETIME(6) NULL,
  cancelled_at DATETIME(6) NULL,
  cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_event_signups_active (post_id, member_id, active),
  UNIQUE KEY uq_event_signups_checkin_code (checkin_code),
  KEY idx_event_signups_post_status (post_id, status, id),
  KEY idx_event_signups_post_wait (post_id, status, wait_seq),
  KEY idx_event_signups_member (member_id, id),
  KEY idx_event_signups_member_created (member_id, created_at),
  KEY idx_event_signups_checked_in_by (checked_in_by),
  CONSTRAINT fk_event_signups_post FOREIGN KEY (post_id) REFERENCES event_posts (id),
  CONSTRAINT fk_event_signups_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_event_signups_checked_in_by FOREIGN KEY (checked_in_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- myActivity merges a member's bookings, vouchers and sign-ups newest first.
CREATE INDEX idx_training_bookings_member_created ON training_bookings (member_id, created_at);
CREATE INDEX idx_vouchers_member_created ON vouchers (member_id, created_at);

-- +goose Down
DROP INDEX idx_vouchers_member_created ON vouchers;
DROP INDEX idx_training_bookings_member_created ON training_bookings;
DROP TABLE event_signups;
DROP TABLE event_targets;
DROP TABLE event_posts;
