-- +goose Up
-- A file's row is written before its bytes (stored_at NULL) and marked
-- stored after, so a failed or abandoned upload leaves a row the clean-up
-- job finds, never bytes nobody knows of. Rows from before are stored.
ALTER TABLE uploaded_files ADD COLUMN stored_at DATETIME(6) NULL;
UPDATE uploaded_files SET stored_at = created_at;
CREATE INDEX idx_uploaded_files_created ON uploaded_files (created_at);

-- FILE_STORE=db: a file's bytes in chunks of 256 KiB.
CREATE TABLE file_chunks (
  file_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq INT NOT NULL,
  data MEDIUMBLOB NOT NULL,
  PRIMARY KEY (file_id, seq)
) ENGINE=InnoDB;

-- A job that must run on one instance at a time holds its lease row until
-- held_until; another instance takes it only after that.
CREATE TABLE job_leases (
  name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  holder VARCHAR(64) NOT NULL,
  held_until DATETIME(6) NOT NULL
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE job_leases;
DROP TABLE file_chunks;
DROP INDEX idx_uploaded_files_created ON uploaded_files;
ALTER TABLE uploaded_files DROP COLUMN stored_at;
