-- +goose Up
CREATE TABLE unions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  parent_id BIGINT NULL,
  name VARCHAR(100) NOT NULL,
  level VARCHAR(16) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  path VARCHAR(255) NOT NULL,
  depth INT NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_unions_parent FOREIGN KEY (parent_id) REFERENCES unions (id)
);
CREATE UNIQUE INDEX uq_unions_path ON unions (path);
CREATE UNIQUE INDEX uq_unions_parent_name ON unions (parent_id, name);
CREATE TABLE admins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username VARCHAR(64) NOT NULL,
  password_hash VARCHAR(100) NOT NULL,
  display_name VARCHAR(50) NOT NULL,
  role VARCHAR(20) NOT NULL,
  union_id BIGINT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_by BIGINT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_admins_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_admins_created_by FOREIGN KEY (created_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_admins_username ON admins (username);
CREATE INDEX idx_admins_union ON admins (union_id);
CREATE INDEX idx_admins_created_by ON admins (created_by);
CREATE TABLE members (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  openid VARCHAR(128) NOT NULL,
  union_id BIGINT NULL,
  real_name VARCHAR(50) NOT NULL DEFAULT '',
  id_cipher BLOB NULL,
  id_hash CHAR(64) NULL,
  id_mask VARCHAR(32) NOT NULL DEFAULT '',
  phone VARCHAR(20) NOT NULL DEFAULT '',
  birth_date DATE NULL,
  gender VARCHAR(8) NOT NULL DEFAULT '',
  employment_form VARCHAR(20) NOT NULL DEFAULT '',
  occupation VARCHAR(50) NOT NULL DEFAULT '',
  status VARCHAR(12) NOT NULL,
  reject_reason VARCHAR(200) NOT NULL DEFAULT '',
  verified_at DATETIME NULL,
  verified_by BIGINT NULL,
  bound_at DATETIME NULL,
  version INT NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_members_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_members_verified_by FOREIGN KEY (verified_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_members_openid ON members (openid);
CREATE UNIQUE INDEX uq_members_id_hash ON members (id_hash);
CREATE INDEX idx_members_union_status ON members (union_id, status);
CREATE INDEX idx_members_status ON members (status);
CREATE INDEX idx_members_employment_form ON members (employment_form);
CREATE INDEX idx_members_real_name ON members (real_name);
CREATE INDEX idx_members_verified_by ON members (verified_by);
CREATE TABLE auth_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subject_kind VARCHAR(10) NOT NULL,
  subject_id BIGINT NOT NULL,
  revoked_at DATETIME NULL,
  created_at DATETIME NOT NULL
);
CREATE INDEX idx_auth_sessions_subject ON auth_sessions (subject_kind, subject_id);
CREATE TABLE refresh_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id BIGINT NOT NULL,
  token_hash CHAR(64) NOT NULL,
  expires_at DATETIME NOT NULL,
  used_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_refresh_tokens_session FOREIGN KEY (session_id) REFERENCES auth_sessions (id)
);
CREATE UNIQUE INDEX uq_refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX idx_refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX idx_refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE TABLE audit_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  admin_id BIGINT NOT NULL,
  action VARCHAR(64) NOT NULL,
  target_kind VARCHAR(32) NOT NULL DEFAULT '',
  target_id BIGINT NULL,
  union_id BIGINT NULL,
  detail VARCHAR(500) NOT NULL DEFAULT '',
  request_id VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_audit_logs_admin FOREIGN KEY (admin_id) REFERENCES admins (id),
  CONSTRAINT fk_audit_logs_union FOREIGN KEY (union_id) REFERENCES unions (id)
);
CREATE INDEX idx_audit_logs_admin ON audit_logs (admin_id, id);
CREATE INDEX idx_audit_logs_action ON audit_logs (action, id);
CREATE INDEX idx_audit_logs_target ON audit_logs (target_kind, target_id);
CREATE INDEX idx_audit_logs_union ON audit_logs (union_id);
CREATE INDEX idx_audit_logs_created ON audit_logs (created_at);
CREATE TABLE roster_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  union_id BIGINT NOT NULL,
  real_name VARCHAR(50) NOT NULL,
  id_hash CHAR(64) NOT NULL,
  imported_by BIGINT NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_roster_entries_union FOREIGN KEY (union_id) REFERENCES unions (id),
  CONSTRAINT fk_roster_entries_admin FOREIGN KEY (imported_by) REFERENCES admins (id)
);
CREATE UNIQUE INDEX uq_roster_entries_union_hash ON roster_entries (union_id, id_hash);
CREATE INDEX idx_roster_entries_hash ON roster_entries (id_hash);
CREATE INDEX idx_roster_entries_imported_by ON roster_entries (imported_by);
CREATE TABLE uploaded_files (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  owner_kind VARCHAR(10) NOT NULL,
  owner_id BIGINT NOT NULL,
  purpose VARCHAR(32) NOT NULL,
  file_name VARCHAR(200) NOT NULL,
  content_type VARCHAR(100) NOT NULL,
  size BIGINT NOT NULL,
  sha256 CHAR(64) NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE INDEX idx_uploaded_files_owner ON uploaded_files (owner_kind, owner_id);

-- +goose Down
DROP TABLE uploaded_files;
DROP TABLE roster_entries;
DROP TABLE audit_logs;
DROP TABLE refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE members;
DROP TABLE admins;
DROP TABLE unions;
