-- examples.sql: using an sselog event log with plain SQL.
--
-- Anything that can run SQL against the log can publish to browsers: a
-- shell script through the sqlite3 shell, an application through its
-- SQLite library. The rules of the log (valid stream names, event types,
-- closed streams, append-only) are checked by the schema itself, so SQL
-- writers get the same errors as `sselog publish`.
--
-- To see every example run, on a new log:
--
--     sselog -d events.db init
--     sqlite3 events.db < examples.sql
--
-- Two statements below fail on purpose, to show the errors you would get;
-- the sqlite3 shell reports them on standard error, goes on, and exits
-- with status 1 at the end.

-- ---- Waiting for other writers ------------------------------------------

-- Other programs may be writing at the same time (`sselog pipe`, a web
-- application, another script). SQLite lets one writer in at a time; with a
-- busy timeout a connection waits for its turn instead of failing at once
-- with "database is locked". Set it on every connection that writes: here
-- with the shell's .timeout (milliseconds), in a program with
-- sqlite3_busy_timeout() or `PRAGMA busy_timeout = 10000;`.
.timeout 10000

.headers on
.mode list

-- ---- Publishing ---------------------------------------------------------

-- An event is a row of `events`. Only the stream and the data are needed:
-- `id` (global, increasing, never reused: the SSE id) and `created` (Unix
-- time in milliseconds) fill themselves in.
INSERT INTO events (stream, data) VALUES ('build/42', 'compiling');

-- With a type: browsers deliver it to addEventListener('progress', ...)
-- rather than to onmessage.
INSERT INTO events (stream, event, data)
VALUES ('build/42', 'progress', '{"pct":10}');

-- With retry: clients that lose the connection wait this many milliseconds
-- before reconnecting.
INSERT INTO events (stream, event, data, retry)
VALUES ('build/42', 'progress', '{"pct":50}', 5000);

-- The id of the event just published (what `sselog publish` prints):
SELECT last_insert_rowid() AS id;

-- Data is text, sent as it is: each line becomes a `data:` line, and the
-- browser joins them again with newlines.
INSERT INTO events (stream, data)
VALUES ('build/42', 'warning: unused variable' || char(10) || '  in main.c:12');

-- JSON data built with json_object(), which takes care of quoting. Use
-- json('true'), json('[1,2]') to embed JSON values rather than strings.
INSERT INTO events (stream, event, data)
VALUES ('build/42', 'progress',
        json_object('pct', 90, 'step', 'link "sselog"', 'ok', json('true')));

-- RETURNING gives the new id directly (SQLite 3.35 and later).
INSERT INTO events (stream, data) VALUES ('deploy/7', 'queued') RETURNING id;

-- Several events in one transaction become visible together. BEGIN
-- IMMEDIATE takes the write lock at once, so the busy timeout applies to
-- it; a plain BEGIN could fail half-way with "database is locked".
BEGIN IMMEDIATE;
INSERT INTO events (stream, data) VALUES ('deploy/7', 'started');
INSERT INTO events (stream, event, data) VALUES ('deploy/7', 'host', 'web-1');
COMMIT;

-- A bad stream name is refused by the schema (this fails on purpose):
INSERT INTO events (stream, data) VALUES ('build/../etc', 'nope');

-- ---- Reading ------------------------------------------------------------

-- What a client that reconnects with Last-Event-ID: 3 receives: the events
-- of its streams after id 3, in id order.
.print
.print -- build/42 after event 3:
SELECT id, event, retry, data FROM events
WHERE stream = 'build/42' AND id > 3
ORDER BY id;

-- One client may follow several streams: ids are global, so one position
-- covers them all.
.print
.print -- build/42 and deploy/7 after event 5:
SELECT id, stream, event, data FROM events
WHERE stream IN ('build/42', 'deploy/7') AND id > 5
ORDER BY id;

-- ---- Closing a stream ---------------------------------------------------

-- A stream ends with an event of type sselog.close (what `sselog close`
-- appends). Clients receive it and stop; reconnecting ones get 204.
INSERT INTO events (stream, event, data) VALUES ('build/42', 'sselog.close', '');

-- After it nothing can be appended: this fails with "stream is closed".
INSERT INTO events (stream, data) VALUES ('build/42', 'too late');

-- ---- Listing streams ----------------------------------------------------

-- The same as `sselog streams`: name, number of events, first and last id,
-- open or closed.
.print
.print -- streams:
SELECT stream AS name,
       count(*) AS events,
       min(id) AS first_id,
       max(id) AS last_id,
       CASE WHEN max(event IS 'sselog.close') THEN 'closed' ELSE 'open' END
           AS state
FROM events
GROUP BY stream
ORDER BY stream;

-- ---- Pruning ------------------------------------------------------------

-- Events are never changed (an UPDATE fails with "events are append-only")
-- but old ones may be deleted. This is what
-- `sselog prune --keep 2 build/42` does: keep the newest 2, and never
-- delete the close event, so that a closed stream stays closed.
DELETE FROM events
WHERE stream = 'build/42'
  AND event IS NOT 'sselog.close'
  AND id <= (SELECT id FROM events WHERE stream = 'build/42'
             ORDER BY id DESC LIMIT 1 OFFSET 2);

-- And `sselog prune --older-than 7d`: `created` is in milliseconds.
DELETE FROM events
WHERE event IS NOT 'sselog.close'
  AND created < (julianday('now') - 2440587.5) * 86400000 - 7 * 86400000;

-- Every delete, by sselog or by SQL, records the stream's highest deleted
-- id in `pruned`. A client asking for events after an older id is told
-- that history is gone: it first receives an sselog.gap event whose data
-- is {"lastEventId":N,"firstAvailableId":M}, with M = last_id + 1.
-- `sselog forget build/42` erases a stream, so that a job run again can
-- write it anew (not run here: the examples below read build/42). In one
-- transaction, the events (the close event too), then the record that
-- the delete has just made:
--     BEGIN IMMEDIATE;
--     DELETE FROM events WHERE stream = 'build/42';
--     DELETE FROM pruned WHERE stream = 'build/42';
--     COMMIT;
-- Then, as after `sselog prune`, give the freed pages back to the file
-- system (a log made by `sselog init` has auto_vacuum = INCREMENTAL; an
-- older one needs `sselog vacuum` once) and truncate the -wal file:
--     PRAGMA incremental_vacuum;
--     PRAGMA wal_checkpoint(TRUNCATE);

.print
.print -- pruned:
SELECT stream, last_id FROM pruned ORDER BY stream;

.print
.print -- build/42 from the beginning, after pruning:
SELECT id, event, data FROM events WHERE stream = 'build/42' ORDER BY id;
