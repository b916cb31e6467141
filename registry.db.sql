-- registry.db.sql: the emolab registry schema, current version (see emolab_schema below).
--
-- emolab applies this file to a new registry (runner/registry.c embeds it at build time) and
-- upgrades older registries with the numbered, forward-only migrations listed in registry.c;
-- tests/registry checks that every older version plus the migrations gives exactly this schema.
-- Changing the schema = bump the version here, add the migration in registry.c, and freeze the
-- previous version under tests/registry/schemas/.
--
-- Plain SQLite: `sqlite3 registry.db` and query. Conventions:
--   - a run is identified by its uuid (v4, 36 chars); child tables reference runs(uuid);
--   - times are ISO 8601 UTC text with milliseconds ("2026-11-28T14:11:31.042Z"): they sort;
--   - JSON is stored as text (config_json, params.value, data.label_counts), validated by emolab
--     before writing (no json_valid() CHECKs: SQLite builds with trusted_schema=OFF refuse them);
--   - a finished, failed or stopped run is final: triggers refuse any later change to it.

PRAGMA application_id = 1701670764; -- 0x656d6f6c, "emol"

-- Which schema this file is; one row per version applied (the highest is the current one).
CREATE TABLE emolab_schema (
    version     INTEGER PRIMARY KEY,
    applied     TEXT NOT NULL,                  -- ISO UTC time the version was applied
    description TEXT NOT NULL
);
INSERT INTO emolab_schema (version, applied, description)
VALUES (2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'created at version 2 (runs, sweeps)');

-- One row per run (training of one resolved config, or an ensemble of runs).
CREATE TABLE runs (
    uuid          TEXT PRIMARY KEY NOT NULL CHECK (length(uuid) = 36),
    name          TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',     -- the "researcher" column of the team's table
    kind          TEXT NOT NULL DEFAULT 'single' CHECK (kind IN ('single', 'ensemble')),
    status        TEXT NOT NULL
                  CHECK (status IN ('running', 'finished', 'failed', 'interrupted', 'stopped')),
    created       TEXT NOT NULL,                -- row inserted (el_run_begin)
    started       TEXT,                         -- training started (= created today)
    finished      TEXT,                         -- final status recorded (or found interrupted)
    config_json   TEXT NOT NULL,                -- resolved config, canonical JSON
    config_hash   TEXT NOT NULL,                -- sha256 hex of the config without name/owner/notes
    git_commit    TEXT,                         -- emolab's commit ("-dirty" with local changes)
    host          TEXT NOT NULL,
    pid           INTEGER,                      -- process that ran it
    pid_start     INTEGER,                      -- its start time (/proc/PID/stat field 22, ticks)
    boot_id       TEXT,                         -- /proc/sys/kernel/random/boot_id at the start
    seed          INTEGER,
    data_variant  TEXT,                         -- "orig" | "ext" | ...
    sweep_id      TEXT,                         -- NULL when not part of a sweep
    run_dir       TEXT,                         -- experiments/RUN_ID/
    spec_file     TEXT,
    error         TEXT,                         -- reason for failed / interrupted / stopped
    best_epoch    INTEGER,
    epochs_run    INTEGER NOT NULL DEFAULT 0,
    train_seconds REAL
);
CREATE INDEX runs_status ON runs (status, host);
CREATE INDEX runs_config_hash ON runs (config_hash, status);
CREATE INDEX runs_sweep ON runs (sweep_id, status) WHERE sweep_id IS NOT NULL;
CREATE INDEX runs_created ON runs (created);

-- Flattened resolved parameters ("head.dropout" -> 0.85), values as JSON text.
CREATE TABLE params (
    run   TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,                         -- JSON text: 0.85, "gelu", [768]
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX params_key ON params (key, value);

-- What each split contained: content fingerprint, rows, positives per label.
CREATE TABLE data (
    run             TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    split           TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
    fingerprint     TEXT NOT NULL,              -- sha256 over (text, labels) of every row, in order
    rows            INTEGER NOT NULL,
    dropped_overlap INTEGER NOT NULL DEFAULT 0, -- train rows dropped: text also in val/test
    label_counts    TEXT,                       -- JSON: {"joy": 812, ...}
    PRIMARY KEY (run, split)
) WITHOUT ROWID;
CREATE INDEX data_fingerprint ON data (fingerprint);

-- The files each split was read from.
CREATE TABLE data_sources (
    run                   TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    split                 TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
    idx                   INTEGER NOT NULL,     -- order of the source within the split
    path                  TEXT NOT NULL,
    sha256                TEXT NOT NULL,
    rows_read             INTEGER NOT NULL,
    rows_kept             INTEGER NOT NULL,
    rows_dropped_unmapped INTEGER NOT NULL DEFAULT 0,
    rows_dropped_overlap  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, split, idx)
) WITHOUT ROWID;

-- Scores per split: weighted_f1, macro_f1, micro_f1, samples_f1 and the matching
-- *_precision / *_recall, plus rows and support.
CREATE TABLE metrics (
    run   TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    split TEXT NOT NULL,                        -- "val" | "test"
    name  TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run, split, name)
) WITHOUT ROWID;
CREATE INDEX metrics_by_name ON metrics (name, split, value);

CREATE TABLE class_metrics (
    run       TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    split     TEXT NOT NULL,
    label     TEXT NOT NULL,
    label_idx INTEGER NOT NULL,                 -- position in the model's output
    precision REAL, recall REAL, f1 REAL,
    support   INTEGER NOT NULL,
    tp        INTEGER, fp INTEGER, fn INTEGER,
    PRIMARY KEY (run, split, label)
) WITHOUT ROWID;
CREATE INDEX class_metrics_by_label ON class_metrics (label, split);

-- Decision thresholds, tuned on val, applied to test.
CREATE TABLE thresholds (
    run       TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    label     TEXT NOT NULL,
    label_idx INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (run, label)
) WITHOUT ROWID;

-- Learning curves.
CREATE TABLE epochs (
    run             TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    epoch           INTEGER NOT NULL CHECK (epoch >= 1),
    train_loss      REAL,                       -- NULL when not finite
    val_loss        REAL,
    val_weighted_f1 REAL,
    val_macro_f1    REAL,
    val_micro_f1    REAL,
    lr              REAL,
    seconds         REAL,
    samples_per_s   REAL,
    PRIMARY KEY (run, epoch)
) WITHOUT ROWID;

-- Val weighted F1 against one global threshold.
CREATE TABLE threshold_curve (
    run             TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    threshold       REAL NOT NULL,
    val_weighted_f1 REAL,
    PRIMARY KEY (run, threshold)
) WITHOUT ROWID;

-- Files a run produced (checkpoints, exported weights, logs).
CREATE TABLE artifacts (
    run     TEXT NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    kind    TEXT NOT NULL,                      -- "checkpoint" | "config" | "log" | ...
    path    TEXT NOT NULL,
    sha256  TEXT,
    bytes   INTEGER,
    created TEXT NOT NULL,
    PRIMARY KEY (run, kind, path)
) WITHOUT ROWID;

-- A finished, failed or stopped run is final, whoever writes (emolab or the sqlite3 shell):
-- its row and every row that belongs to it are frozen. Deleting the run itself stays possible
-- (a deliberate clean-up; ON DELETE CASCADE then removes its rows).
CREATE TRIGGER runs_final_update BEFORE UPDATE ON runs
WHEN OLD.status IN ('finished', 'failed', 'stopped')
BEGIN
    SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed');
END;
CREATE TRIGGER runs_final_replace BEFORE INSERT ON runs
WHEN (SELECT status FROM runs WHERE uuid = NEW.uuid) IN ('finished', 'failed', 'stopped')
BEGIN
    SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed');
END;

CREATE TRIGGER params_final_insert BEFORE INSERT ON params
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER params_final_update BEFORE UPDATE ON params
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER params_final_delete BEFORE DELETE ON params
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER data_final_insert BEFORE INSERT ON data
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER data_final_update BEFORE UPDATE ON data
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER data_final_delete BEFORE DELETE ON data
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER data_sources_final_insert BEFORE INSERT ON data_sources
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER data_sources_final_update BEFORE UPDATE ON data_sources
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER data_sources_final_delete BEFORE DELETE ON data_sources
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER metrics_final_insert BEFORE INSERT ON metrics
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER metrics_final_update BEFORE UPDATE ON metrics
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER metrics_final_delete BEFORE DELETE ON metrics
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER class_metrics_final_insert BEFORE INSERT ON class_metrics
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER class_metrics_final_update BEFORE UPDATE ON class_metrics
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER class_metrics_final_delete BEFORE DELETE ON class_metrics
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER thresholds_final_insert BEFORE INSERT ON thresholds
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER thresholds_final_update BEFORE UPDATE ON thresholds
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER thresholds_final_delete BEFORE DELETE ON thresholds
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER epochs_final_insert BEFORE INSERT ON epochs
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER epochs_final_update BEFORE UPDATE ON epochs
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER epochs_final_delete BEFORE DELETE ON epochs
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER threshold_curve_final_insert BEFORE INSERT ON threshold_curve
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER threshold_curve_final_update BEFORE UPDATE ON threshold_curve
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER threshold_curve_final_delete BEFORE DELETE ON threshold_curve
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

CREATE TRIGGER artifacts_final_insert BEFORE INSERT ON artifacts
WHEN (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER artifacts_final_update BEFORE UPDATE ON artifacts
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
  OR (SELECT status FROM runs WHERE uuid = NEW.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;
CREATE TRIGGER artifacts_final_delete BEFORE DELETE ON artifacts
WHEN (SELECT status FROM runs WHERE uuid = OLD.run) IN ('finished', 'failed', 'stopped')
BEGIN SELECT RAISE(ABORT, 'emolab: this run is final (finished, failed or stopped) and cannot be changed'); END;

-- ---- version 2: sweeps -------------------------------------------------------------------------
-- One row per sweep (`emolab sweep FILE`); its trials are the rows of sweep_trials. A worker takes
-- a trial by a claim: one BEGIN IMMEDIATE transaction that first returns to `pending` every claim
-- whose holder is gone (a dead pid on this host, an expired lease on another host), then marks the
-- lowest pending trial `claimed` with the worker's identity, a random token and a lease. The
-- result is recorded with the token, so a worker that lost its claim cannot overwrite another's.
CREATE TABLE sweeps (
    id              TEXT PRIMARY KEY NOT NULL,  -- NAME-YYYYMMDD-HHMMSS-XXXX
    name            TEXT NOT NULL,
    file            TEXT NOT NULL,              -- the sweep file (absolute path when created)
    definition      TEXT NOT NULL,              -- canonical JSON of everything that makes the trials
    definition_hash TEXT NOT NULL,              -- sha256 of definition: --resume finds the sweep by it
    method          TEXT NOT NULL CHECK (method IN ('grid', 'random', 'bayes')),
    metric          TEXT NOT NULL,              -- val_weighted_f1 | val_macro_f1 | val_micro_f1 | val_loss
    goal            TEXT NOT NULL CHECK (goal IN ('maximize', 'minimize')),
    n_trials        INTEGER NOT NULL CHECK (n_trials >= 0),
    created         TEXT NOT NULL,
    host            TEXT NOT NULL,
    owner           TEXT NOT NULL DEFAULT '',
    dir             TEXT                        -- its sweep directory (--launcher slurm), NULL: all in here
);
CREATE INDEX sweeps_definition ON sweeps (definition_hash, created);

CREATE TABLE sweep_trials (
    sweep_id        TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL CHECK (idx >= 0), -- trial index in the sweep (0-based)
    config_hash     TEXT NOT NULL,              -- runs.config_hash of the trial's resolved config
    seed            INTEGER,
    assignment      TEXT NOT NULL,              -- JSON: {"head.dropout":0.5,"train.seed":1}
    param_values    TEXT NOT NULL,              -- JSON array: the values in the sweep's parameter order
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'claimed', 'done', 'failed', 'stopped')),
    run             TEXT REFERENCES runs (uuid) ON DELETE SET NULL, -- the run that did it
    reused          INTEGER NOT NULL DEFAULT 0 CHECK (reused IN (0, 1)), -- run is an earlier one
    claims          INTEGER NOT NULL DEFAULT 0, -- times the trial was claimed
    lost_claims     INTEGER NOT NULL DEFAULT 0, -- claims whose holder died without a result
    claim_token     TEXT,                       -- random, per claim
    claim_host      TEXT,
    claim_pid       INTEGER,
    claim_pid_start INTEGER,                    -- /proc/PID/stat field 22 (pid reuse check)
    claim_boot_id   TEXT,
    claim_job       TEXT,                       -- scheduler job (Slurm: JOBID_TASKID), NULL locally
    claimed_at      TEXT,
    lease_expires   REAL,                       -- unix seconds; renewed by the holder's heartbeat
    finished        TEXT,                       -- final status recorded
    metric          REAL,                       -- the sweep's metric (val), NULL when none
    epochs          INTEGER,                    -- epochs run (stopped: the rung it reached)
    error           TEXT,                       -- why failed / stopped / last claim lost
    PRIMARY KEY (sweep_id, idx)
) WITHOUT ROWID;
CREATE INDEX sweep_trials_status ON sweep_trials (sweep_id, status, idx);
CREATE INDEX sweep_trials_run ON sweep_trials (run) WHERE run IS NOT NULL;

-- ---- version 2: registry identity and merges --------------------------------------------------------
-- Who this registry is (`registry_id`, random, made once), so that merged runs can say where they
-- were recorded first.
CREATE TABLE registry_info (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO registry_info (key, value) VALUES ('registry_id', lower(hex(randomblob(16))));

-- Runs copied from another registry (`emolab registry import` / `merge`): where each came from.
-- A run imported again from a registry that imported it keeps its first origin.
CREATE TABLE run_origins (
    run           TEXT PRIMARY KEY NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,
    registry_id   TEXT,                         -- registry_info.registry_id of the registry it came from
    registry_path TEXT NOT NULL,                -- that registry's path, as the import saw it
    host          TEXT NOT NULL,                -- where the run ran (runs.host)
    owner         TEXT NOT NULL,                -- who ran it (runs.owner)
    imported      TEXT NOT NULL,                -- when it was copied
    imported_by   TEXT NOT NULL                 -- the host that copied it
) WITHOUT ROWID;
