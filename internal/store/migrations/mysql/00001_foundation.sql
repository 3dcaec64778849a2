-- +goose Up
CREATE TABLE unions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id BIGINT NULL,
  name VARCHAR(100) NOT NULL,
  level VARCHAR(16) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  depth INT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_unions_path (path),
  UNIQUE KEY uq_unions_parent_name (parent_id, name),
  CONSTRAINT fk_unions_parent FOREIGN KEY (parent_id) REFERENCES unions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE admins (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(64) NOT NULL,
  password_hash VARCHAR(100) NOT NULL,
  display_name VARCHAR(50) NOT NULL,
  role VARCHAR(20) NOT NULL,
  union_id BIGINT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_by BIGINT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_admins_username (username),
  KEY idx_admins_union (union_id),
  KEY idx_admins_created_by (created_by),
  CONSTRAINT fk_admins_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_admins_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE members (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  openid VARCHAR(128) NOT NULL,
  union_id BIGINT NULL,
  real_name VARCHAR(50) NOT NULL DEFAULT '',
  id_cipher VARBINARY(128) NULL,
  id_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  id_mask VARCHAR(32) NOT NULL DEFAULT '',
  phone VARCHAR(20) NOT NULL DEFAULT '',
  birth_date DATE NULL,
  gender VARCHAR(8) NOT NULL DEFAULT '',
  employment_form VARCHAR(20) NOT NULL DEFAULT '',
  occupation VARCHAR(50) NOT NULL DEFAULT '',
  status VARCHAR(12) NOT NULL,
  reject_reason VARCHAR(200) NOT NULL DEFAULT '',
  verified_at DATETIME(6) NULL,
  verified_by BIGINT NULL,
  bound_at DATETIME(6) NULL,
  version INT NOT NULL DEFAULT 1,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_members_openid (openid),
  UNIQUE KEY uq_members_id_hash (id_hash),
  KEY idx_members_union_status (union_id, status),
  KEY idx_members_status (status),
  KEY idx_members_employment_form (employment_form),
  KEY idx_members_real_name (real_name),
  KEY idx_members_verified_by (verified_by),
  CONSTRAINT fk_members_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_members_verified_by FOREIGN KEY (verified_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE auth_sessions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  subject_kind VARCHAR(10) NOT NULL,
  subject_id BIGINT NOT NULL,
  revoked_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  KEY idx_auth_sessions_subject (subject_kind, subject_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE refresh_tokens (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id BIGINT NOT NULL,
  token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_refresh_tokens_hash (token_hash),
  KEY idx_refresh_tokens_session (session_id),
  KEY idx_refresh_tokens_expires (expires_at),
  CONSTRAINT fk_refresh_tokens_session FOREIGN KEY (session_id) REFERENCES auth_sessions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_logs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  admin_id BIGINT NOT NULL,
  action VARCHAR(64) NOT NULL,
  target_kind VARCHAR(32) NOT NULL DEFAULT '',
  target_id BIGINT NULL,
  union_id BIGINT NULL,
  detail VARCHAR(500) NOT NULL DEFAULT '',
  request_id VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  KEY idx_audit_logs_admin (admin_id, id),
  KEY idx_audit_logs_action (action, id),
  KEY idx_audit_logs_target (target_kind, target_id),
  KEY idx_audit_logs_union (union_id),
  KEY idx_audit_logs_created (created_at),
  CONSTRAINT fk_audit_logs_admin FOREIGN KEY (admin_id) REFERENCES admins (id),
  CONSTRAINT fk_audit_logs_union FOREIGN KEY (union_id) REFERENCES unions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE roster_entries (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  union_id BIGINT NOT NULL,
  real_name VARCHAR(50) NOT NULL,
  id_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  imported_by BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_roster_entries_union_hash (union_id, id_hash),
  KEY idx_roster_entries_hash (id_hash),
  KEY idx_roster_entries_imported_by (imported_by),
  CONSTRAINT fk_roster_entries_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_roster_entries_admin FOREIGN KEY (imported_by) REFERENCES admins (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE uploaded_files (
  id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  owner_kind VARCHAR(10) NOT NULL,
  owner_id BIGINT NOT NULL,
  purpose VARCHAR(32) NOT NULL,
  file_name VARCHAR(200) NOT NULL,
  content_type VARCHAR(100) NOT NULL,
  size BIGINT NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY idx_uploaded_files_owner (owner_kind, owner_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE uploaded_files;
DROP TABLE roster_entries;
DROP TABLE audit_logs;
DROP TABLE refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE members;
DROP TABLE admins;
DROP TABLE unions;
