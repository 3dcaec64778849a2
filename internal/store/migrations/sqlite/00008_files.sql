-- +goose Up
-- See the MySQL migration of the same number.
ALTER TABLE uploaded_files ADD COLUMN stored_at DATETIME NULL;
UPDATE uploaded_files SET stored_at = created_at;
CREATE INDEX idx_uploaded_files_created ON uploaded_files (created_at);

CREATE TABLE file_chunks (
  file_id VARCHAR(40) NOT NULL,
  seq INT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (file_id, seq)
);

CREATE TABLE job_leases (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  holder VARCHAR(64) NOT NULL,
  held_until DATETIME NOT NULL
);

-- +goose Down
DROP TABLE job_leases;
DROP TABLE file_chunks;
DROP INDEX idx_uploaded_files_created;
ALTER TABLE uploaded_files DROP COLUMN stored_at;
