-- sselog event log schema, version 2 (version 1 had no idem column).
--
-- This file is the single source of the schema: the sselog programs embed it
-- at build time and `sselog init` runs it. Every statement is idempotent, so
-- running it again on a database created by an older version upgrades the
-- indexes and triggers in place; table changes, when a later version needs
-- them, go in a migration step in src/store_sqlite.c keyed on PRAGMA user_version.
--
-- The settings stored in the file, WAL mode and auto_vacuum = INCREMENTAL
-- (which only a file without tables takes), are made by `sselog init`
-- (src/store_sqlite.c) before this runs.
--
-- The rules live here, not only in the programs, so that anything writing
-- with plain SQL gets the same clear errors as `sselog publish`.

-- Every event ever appended. `id` is global and never reused
-- (AUTOINCREMENT), so one Last-Event-ID is meaningful across all streams.
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    stream  TEXT    NOT NULL,
    event   TEXT,
    data    TEXT    NOT NULL,
    retry   INTEGER,
    -- Unix time in milliseconds; julianday() because unixepoch('subsec')
    -- needs SQLite 3.42 and Debian 12 ships 3.40.
    created INTEGER NOT NULL
        DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)),
    -- The Idempotency-Key of the request that appended the event, or
    -- NULL: a retried request finds its event instead of appending it
    -- twice. Added in version 2 (src/store_sqlite.c adds it to older logs).
    idem    TEXT
);

-- Replay and live reads are "stream = ? AND id > ?" in id order.
CREATE INDEX IF NOT EXISTS events_stream_id ON events (stream, id);

-- At most one event per key in a stream; the lookup of a retried
-- request's key.
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_idem ON events (stream, idem)
    WHERE idem IS NOT NULL;

-- Only close events, so finding whether a stream is closed is one index
-- lookup and costs ordinary appends nothing.
CREATE INDEX IF NOT EXISTS events_closed ON events (stream)
    WHERE event = 'sselog.close';

-- Per stream, the highest id ever deleted from it, kept by the trigger
-- below on every DELETE (sselog prune or plain SQL). The responder compares
-- a client's Last-Event-ID with it to announce history that is gone.
CREATE TABLE IF NOT EXISTS pruned (
    stream  TEXT    PRIMARY KEY,
    last_id INTEGER NOT NULL
) WITHOUT ROWID;

-- The rules for a new event. RAISE takes only a literal, hence one
-- statement per message; src/validate.c applies the same rules with the
-- same words before anything reaches the database.
DROP TRIGGER IF EXISTS events_check_insert;
CREATE TRIGGER events_check_insert BEFORE INSERT ON events
BEGIN
    SELECT RAISE(ABORT, 'invalid stream name: use 1-200 characters of A-Z a-z 0-9 . _ - : / @ in /-separated segments that are not empty, . or ..')
    WHERE typeof(NEW.stream) <> 'text'
       -- length() and GLOB stop at a NUL; the bytes do not.
       OR instr(CAST(NEW.stream AS BLOB), x'00') > 0
       OR length(NEW.stream) NOT BETWEEN 1 AND 200
       OR NEW.stream GLOB '*[^A-Za-z0-9._:/@-]*'
       -- With a / added at each end, an empty, . or .. segment is a
       -- //, /./ or /../ somewhere.
       OR instr('/' || NEW.stream || '/', '//') > 0
       OR instr('/' || NEW.stream || '/', '/./') > 0
       OR instr('/' || NEW.stream || '/', '/../') > 0;
    SELECT RAISE(ABORT, 'invalid event type: it must be non-empty text without CR, LF or NUL')
    WHERE NEW.event IS NOT NULL
      AND (typeof(NEW.event) <> 'text' OR NEW.event = ''
           OR instr(CAST(NEW.event AS BLOB), x'0a') > 0
           OR instr(CAST(NEW.event AS BLOB), x'0d') > 0
           OR instr(CAST(NEW.event AS BLOB), x'00') > 0);
    SELECT RAISE(ABORT, 'invalid event type: types starting with sselog. are reserved, except sselog.close')
    WHERE NEW.event GLOB 'sselog.*' AND NEW.event <> 'sselog.close';
    SELECT RAISE(ABORT, 'invalid data: it must be text')
    WHERE typeof(NEW.data) <> 'text';
    SELECT RAISE(ABORT, 'invalid data: it contains a NUL byte')
    WHERE instr(CAST(NEW.data AS BLOB), x'00') > 0;
    SELECT RAISE(ABORT, 'invalid retry: it must be a non-negative integer (milliseconds)')
    WHERE NEW.retry IS NOT NULL
      AND (typeof(NEW.retry) <> 'integer' OR NEW.retry < 0);
    SELECT RAISE(ABORT, 'invalid idempotency key: use 1-128 visible ASCII characters')
    WHERE NEW.idem IS NOT NULL
      AND (typeof(NEW.idem) <> 'text'
           OR instr(CAST(NEW.idem AS BLOB), x'00') > 0
           OR length(NEW.idem) NOT BETWEEN 1 AND 128
           OR NEW.idem GLOB '*[^!-~]*');
    SELECT RAISE(ABORT, 'stream is closed')
    WHERE EXISTS (SELECT 1 FROM events
                  WHERE stream = NEW.stream AND event = 'sselog.close');
END;

-- The log is append-only: a changed event would never reach the clients
-- that already received it. Append a new event instead.
DROP TRIGGER IF EXISTS events_no_update;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: append a new event instead of updating one');
END;

DROP TRIGGER IF EXISTS events_record_prune;
CREATE TRIGGER events_record_prune AFTER DELETE ON events
BEGIN
    INSERT INTO pruned (stream, last_id) VALUES (OLD.stream, OLD.id)
        ON CONFLICT (stream) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;

PRAGMA user_version = 2;
