-- sselog event log schema for PostgreSQL, version 2 (the same version as
-- sql/schema.sql: the same table, columns, rules and error words).
--
-- This file is the single source of the PostgreSQL schema: the sselog
-- programs embed it at build time and `sselog init` runs it; `psql -f` runs
-- it as well. It needs PostgreSQL 14 or later (CREATE OR REPLACE TRIGGER).
-- Every statement is idempotent and the whole file is one transaction, so
-- running it again changes nothing, and running it on a log made by an
-- older version upgrades it in place. Run it on its own, not inside a
-- transaction of yours: it commits.
--
-- The objects go in the first schema of the search_path (normally public);
-- the functions keep that search_path, so writers with another one still
-- reach the right tables.
--
-- The database must be UTF8 (`SHOW server_encoding`): only there does
-- PostgreSQL refuse invalid UTF-8, which events must never hold (and no
-- PostgreSQL text can hold a NUL byte, so those rules need no trigger).
--
-- Refusals. Every rule below refuses with RAISE EXCEPTION and the SQLSTATE
-- SL001 (class SL, "sselog", which no PostgreSQL error uses), so that a
-- program tells a refused event from any other failure by the code alone
-- and shows the message as it is. The messages are word for word those of
-- sql/schema.sql and src/validate.c. Two refusals come from PostgreSQL
-- itself: a second event with the same idempotency key in a stream is a
-- unique_violation (23505) on events_stream_idem, and bytes that are not
-- UTF-8, or a NUL, are an invalid byte sequence (22021).
--
-- Order. Ids must become visible in id order: a reader that reads
-- "id > last seen" must never skip an id that commits later. A sequence
-- cannot do that (a later id can commit first), so appends are serialized
-- by the row lock of one row, events_lock (as Commanded's EventStore and
-- Message DB serialize on a row): the trigger that gives an event its id
-- takes that lock first, and the transaction holds it until it commits or
-- rolls back. The id is then one more than the highest id there is or
-- ever was, so ids commit in id order, and a rollback gives its ids back
-- (no gaps, but where an INSERT ... ON CONFLICT DO NOTHING skipped a row
-- after its trigger ran). This holds for every writer, sselog or plain SQL
-- (`INSERT INTO events (stream, event, data) VALUES (...)`); an id given
-- by the writer is ignored. One appending transaction at a time: keep
-- them short.
--
-- Writers must use READ COMMITTED, PostgreSQL's default: a writer that
-- waited for the lock then reads what the one before it committed. Under
-- REPEATABLE READ or SERIALIZABLE a writer that waited for another one
-- gets a serialization failure (SQLSTATE 40001, "could not serialize
-- access due to concurrent update") and must retry its transaction.
-- Readers may use any isolation level.
--
-- Notifications. Each transaction that appends events sends one
-- notification on the channel `sselog`, with no payload, when it commits
-- (PostgreSQL folds identical notifications of a transaction into one):
-- a reader LISTENs there, then reads what is past the highest id it has
-- seen.

BEGIN;

-- Quiet: a second run would print a notice per object that is there.
SET LOCAL client_min_messages = warning;

DO $$
BEGIN
    -- Two inits at once take turns here instead of racing on CREATE ...
    -- IF NOT EXISTS, which is not safe against itself. (The key is
    -- "ssel" in ASCII.)
    PERFORM pg_advisory_xact_lock(1936942444);
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'the sselog log needs a UTF8 database, not %',
            current_setting('server_encoding');
    END IF;
END $$;

-- The schema's version, one row. A log made by a newer sselog is left
-- alone rather than downgraded.
CREATE TABLE IF NOT EXISTS sselog_schema (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version integer NOT NULL
);
DO $$
DECLARE
    found integer;
BEGIN
    SELECT version INTO found FROM sselog_schema;
    IF found > 2 THEN
        RAISE EXCEPTION 'the log has schema version %, newer than this sselog knows (2)',
            found;
    END IF;
END $$;

-- Every event ever appended. `id` is global and never reused (see
-- events_lock), so one Last-Event-ID is meaningful across all streams.
CREATE TABLE IF NOT EXISTS events (
    id      bigint  PRIMARY KEY,
    stream  text    NOT NULL,
    event   text,
    data    text    NOT NULL,
    retry   bigint,
    -- Unix time in milliseconds, taken when the row is made (not when its
    -- transaction began).
    created bigint  NOT NULL
        DEFAULT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint,
    -- The Idempotency-Key of the request that appended the event, or
    -- NULL: a retried request finds its event instead of appending it
    -- twice.
    idem    text
);

-- Replay and live reads are "stream = $1 AND id > $2" in id order; the
-- primary key serves "id > $1" across all streams.
CREATE INDEX IF NOT EXISTS events_stream_id ON events (stream, id);

-- At most one event per key in a stream; the lookup of a retried
-- request's key.
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_idem ON events (stream, idem)
    WHERE idem IS NOT NULL;

-- Only close events, so finding whether a stream is closed is one index
-- lookup and costs ordinary appends nothing.
CREATE INDEX IF NOT EXISTS events_closed ON events (stream)
    WHERE event = 'sselog.close';

-- Per stream, the highest id ever deleted from it, kept by the triggers
-- below on every DELETE and TRUNCATE (sselog prune or plain SQL). The
-- responder compares a client's Last-Event-ID with it to announce history
-- that is gone.
CREATE TABLE IF NOT EXISTS pruned (
    stream  text    PRIMARY KEY,
    last_id bigint  NOT NULL
);

-- The append lock, one row: every appending transaction takes its row
-- lock (see "Order" above). It also keeps the highest id that ever left
-- the table (or was in it when this row was made), so that ids go on from
-- there when the newest events are pruned.
CREATE TABLE IF NOT EXISTS events_lock (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_gone bigint  NOT NULL
);
INSERT INTO events_lock (last_gone)
    SELECT greatest((SELECT max(id) FROM events),
                    (SELECT max(last_id) FROM pruned), 0)
    ON CONFLICT (one) DO NOTHING;

-- The rules for a new event, and its id. src/validate.c applies the same
-- rules with the same words before anything reaches the database.
CREATE OR REPLACE FUNCTION events_check_insert() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    -- What this transaction knows under the append lock: "xid next_id
    -- open_stream" (see below; no open_stream before the first append to
    -- a stream that is open, and after a close), or NULL before its first
    -- append.
    mark text := current_setting('sselog.append', true);
    parts text[];
BEGIN
    -- The stream's name is checked below, once per transaction and
    -- stream: the last stream appended to is known to be good.
    IF NEW.event = '' OR strpos(NEW.event, E'\n') > 0
       OR strpos(NEW.event, E'\r') > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'invalid event type: it must be non-empty text without CR, LF or NUL';
    END IF;
    IF left(NEW.event, 7) = 'sselog.' AND NEW.event <> 'sselog.close' THEN
        RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'invalid event type: types starting with sselog. are reserved, except sselog.close';
    END IF;
    IF NEW.data IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'invalid data: it must be text';
    END IF;
    IF NEW.retry < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'invalid retry: it must be a non-negative integer (milliseconds)';
    END IF;
    IF length(NEW.idem) NOT BETWEEN 1 AND 128 OR NEW.idem ~ '[^!-~]' THEN
        RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'invalid idempotency key: use 1-128 visible ASCII characters';
    END IF;

    -- The lock, once per transaction: updating the row (to the same
    -- value) holds it until the transaction ends, and makes a
    -- REPEATABLE READ writer fail when another one committed since its
    -- snapshot. Not at every row: each update is a new version of the
    -- row, which the next has to walk past, and a big insert would take
    -- quadratic time. The mark is a setting local to the transaction;
    -- rolling back to a savepoint undoes both it and the lock taken
    -- there. It also carries the next id and the last stream found open,
    -- so that an append after the first in a transaction costs no query
    -- but for a stream not seen yet: nobody else appends while the lock
    -- is held, so neither can change but through this transaction (whose
    -- own close clears the stream, below). The setting is sselog's: a
    -- writer that sets it itself can get past these checks, as one that
    -- may write the table can delete from it; writers are trusted.
    parts := string_to_array(mark, ' ');
    IF mark IS NULL OR parts[1] IS DISTINCT FROM pg_current_xact_id()::text
    THEN
        UPDATE events_lock SET last_gone = last_gone;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the events_lock row is missing: run sselog init';
        END IF;
        -- Under the lock, READ COMMITTED reads anew at each statement:
        -- every id committed before is seen.
        parts := ARRAY[pg_current_xact_id()::text,
                       (greatest((SELECT last_gone FROM events_lock),
                                 (SELECT max(id) FROM events), 0) + 1)::text,
                       NULL];
    END IF;

    -- Checked under the lock: a close committed while this waited is
    -- seen, and a close and an append cannot both pass.
    IF NEW.stream IS NULL OR parts[3] IS DISTINCT FROM NEW.stream THEN
        -- With a / added at each end, an empty, . or .. segment is a //,
        -- /./ or /../ somewhere. The range in the class is by code point.
        -- (No {1,200} in the pattern: PostgreSQL's regex engine unrolls a
        -- bounded repeat, which costs more than the rest of the append.)
        IF NEW.stream IS NULL
           OR length(NEW.stream) NOT BETWEEN 1 AND 200
           OR NEW.stream ~ '[^A-Za-z0-9._:/@-]'
           OR strpos('/' || NEW.stream || '/', '//') > 0
           OR strpos('/' || NEW.stream || '/', '/./') > 0
           OR strpos('/' || NEW.stream || '/', '/../') > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'invalid stream name: use 1-200 characters of A-Z a-z 0-9 . _ - : / @ in /-separated segments that are not empty, . or ..';
        END IF;
        IF EXISTS (SELECT 1 FROM events
                   WHERE stream = NEW.stream AND event = 'sselog.close') THEN
            RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'stream is closed';
        END IF;
        parts[3] := NEW.stream;
    END IF;
    IF NEW.event = 'sselog.close' THEN
        parts[3] := NULL;
    END IF;

    -- An id given by the writer is ignored.
    NEW.id := parts[2]::bigint;
    parts[2] := (NEW.id + 1)::text;
    -- Local: it ends with the transaction (a later one in this session
    -- takes the lock anew), and a savepoint rolled back restores it.
    PERFORM set_config('sselog.append', array_to_string(parts, ' '), true);
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER events_check_insert BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_check_insert();

-- The log is append-only: a changed event would never reach the clients
-- that already received it. Append a new event instead.
CREATE OR REPLACE FUNCTION events_no_update() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'events are append-only: append a new event instead of updating one';
END $$;

CREATE OR REPLACE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_no_update();

-- One notification per appending transaction: a statement trigger, and
-- identical notifications of a transaction are folded into one. None for
-- an INSERT that added no row.
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM appended) THEN
        NOTIFY sselog;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- Per statement, not per row, with the deleted rows as a table: pruning a
-- million events is one grouped insert. TRUNCATE deletes without DELETE
-- triggers and has no such table: it is recorded all the same, from the
-- table before it goes. The highest id that leaves goes to events_lock
-- too, which takes the append lock until the deleting transaction ends.
CREATE OR REPLACE FUNCTION events_record_prune() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    source text := CASE TG_OP WHEN 'TRUNCATE' THEN 'events' ELSE 'gone' END;
BEGIN
    EXECUTE format('INSERT INTO pruned (stream, last_id)
        SELECT stream, max(id) FROM %I GROUP BY stream
        ON CONFLICT (stream) DO UPDATE
            SET last_id = greatest(pruned.last_id, excluded.last_id)', source);
    EXECUTE format('UPDATE events_lock
        SET last_gone = greatest(last_gone, (SELECT max(id) FROM %I))', source);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER events_record_prune AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION events_record_prune();

CREATE OR REPLACE TRIGGER events_record_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_record_prune();

INSERT INTO sselog_schema (version) VALUES (2)
    ON CONFLICT (one) DO UPDATE SET version = 2
    WHERE sselog_schema.version <> 2;

COMMIT;
