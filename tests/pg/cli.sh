#!/bin/sh
# tests/pg/cli.sh: every sselog command on a PostgreSQL log (-d
# postgresql://..., a throw-away cluster from tests/pg/lib.sh; needs
# root), with the same answers, words and exit statuses as on an SQLite
# file: init (again: nothing changes), publish (types, retry, stdin, --key,
# refusals), pipe (bytes that are not UTF-8 repaired, a long input in
# batches), close, watch (replay, live, the end at a close, the gap after a
# prune), streams, prune, forget, vacuum; and the errors of a log that is
# not there: a server that does not answer, a database without the
# schema, a password in the URI never printed.
. "$SRCDIR/tests/cli/lib.sh"
. "$SRCDIR/tests/pg/lib.sh"

pg_cluster
export SSELOG_DB="$PG_URI"

# ---- init ----
run sselog init
is_status "init on a log that has the schema: exit 0" 0
is_quiet "... and says nothing"
EMPTY=$(pg_db empty)
run sselog -d "$EMPTY" streams
refused "a database without the schema: exit 1, run init" 1 "init' first"
check "... naming the log without its password" grep -q "sselog -d postgresql://sselog@127.0.0.1:$PG_PORT/empty init" "$ERR"
run sselog -d "$EMPTY" init
is_status "init creates it: exit 0" 0
run sselog -d "$EMPTY" streams
is_status "... and the log is usable" 0

# ---- publish ----
run sselog publish build/1 "compiling"
is_out "publish prints the new id" 1
run sselog publish build/1 -e step -r 1500 "linking"
is_out "... with a type and a retry" 2
is "... stored as given" "$(pg_sql "SELECT event, retry, data FROM events \
WHERE id = 2")" "step|1500|linking"
printf 'two\nlines\n' >in
run sselog publish build/1 - <in
is_out "publish - reads standard input" 3
is "... byte for byte, the last newline too" "$(pg_sql "SELECT \
encode(convert_to(data, 'UTF8'), 'hex') FROM events WHERE id = 3")" \
    "74776f0a6c696e65730a"
run sselog publish build/1 ""
is_out "an empty argument is empty data" 4
run sselog publish --key job-7 build/1 "once"
is_out "publish --key appends" 5
run sselog publish --key job-7 build/1 "once"
is_out "... and again with the same key prints the same id" 5
is "... one event with that key" "$(pg_sql "SELECT count(*) FROM events \
WHERE idem = 'job-7'")" 1

# The same refusals, words and statuses as on SQLite; nothing appended.
before=$(pg_sql "SELECT count(*) FROM events")
run sselog publish 'build//x' x
refused "a bad stream name: exit 1, the schema's words" 1 \
    "invalid stream name"
run sselog publish build/1 -e sselog.gap x
refused "a reserved type: exit 1" 1 "types starting with sselog. are reserved"
printf 'caf\351' >latin1
run sselog publish build/1 - <latin1
refused "data that is not UTF-8: exit 1" 1 "not valid UTF-8"
printf 'a\000b' >nul
run sselog publish build/1 - <nul
refused "data with a NUL: exit 1" 1 "NUL"
is "... none of them appended anything" \
    "$(pg_sql "SELECT count(*) FROM events")" "$before"

# ---- SQL writers: the same rules ----
pg_sql "INSERT INTO events (stream, data) VALUES ('build/1', 'from SQL')" \
    >/dev/null
run sselog streams
is_out "a plain SQL INSERT is an event like the others" \
    "$(printf 'build/1\t6\t1\t6\topen')"

# ---- pipe ----
printf 'ok\n\303\251t\303\251\nbad \377 byte\n\nlast' >log
run sselog pipe build/2 <log
is_status "pipe: exit 0" 0
is "... one event per line, as on SQLite (an empty one too), bad bytes repaired" \
    "$(pg_sql "SELECT string_agg(data, '|' ORDER BY id) FROM events \
WHERE stream = 'build/2'")" "ok|été|bad $(printf '\357\277\275') byte||last"
seq 30000 >many
run sselog pipe build/3 <many
is "a long input: every line, in order" "$(pg_sql "SELECT count(*), \
min(data::int), max(data::int), bool_and(data::int = id - (SELECT min(id) \
FROM events WHERE stream = 'build/3') + 1) FROM events WHERE stream = \
'build/3'")" "30000|1|30000|t"

# ---- watch: replay, live, the end at a close ----
# watch follows an open stream until stopped: where only its replay is
# compared, it is stopped after 5 s (run's timeout), not after 60.
RUN_TIMEOUT=5
run sselog watch --since 4 build/1
RUN_TIMEOUT=60
is_out_bytes "watch replays what came after --since, as the responder serves it" \
    'id: 5\ndata: once\n\nid: 6\ndata: from SQL\n\n'
sselog watch --since 6 build/1 >live.out 2>live.err &
WATCH=$!
track "$WATCH"
sleep 0.5
id=$(sselog publish build/1 "live")
wait_until 10 grep -q "^id: $id\$" live.out
check "watch prints a live event (LISTEN/NOTIFY)" grep -q "^data: live\$" live.out
pg_sql "INSERT INTO events (stream, data) VALUES ('build/1', 'SQL, live')" \
    >/dev/null
wait_until 10 grep -q "^data: SQL, live\$" live.out
check "... and one a plain SQL writer appended" grep -q "^data: SQL, live\$" \
    live.out
run sselog close build/1
is_status "close: exit 0" 0
wait_exit "$WATCH" 10
is "... watch ends when the stream closes: exit 0" "$WAIT_RC" 0
check "... having printed the close event" grep -q '^event: sselog.close$' \
    live.out
run sselog publish build/1 "too late"
refused "publish to a closed stream: exit 1, stream is closed" 1 \
    "stream is closed"
run sselog close build/1
refused "close it again: exit 1" 1 "stream is closed"
run sselog publish --key job-7 build/1 "once"
is_out "... a retry with a key that was appended still gets its id" 5

# ---- prune and the gap ----
for i in 1 2 3 4; do sselog publish build/4 "e$i" >/dev/null; done
first=$(pg_sql "SELECT min(id) FROM events WHERE stream = 'build/4'")
run sselog prune --keep 1 build/4
is_out "prune --keep 1: says what it deleted" "pruned 3 events"
is "... the pruned ids are recorded" "$(pg_sql "SELECT last_id FROM pruned \
WHERE stream = 'build/4'")" "$((first + 2))"
RUN_TIMEOUT=5
run sselog watch --since 0 build/4
RUN_TIMEOUT=60
is_out_bytes "watch from before the pruned ids: the gap, then what is left" \
    'event: sselog.gap\ndata: {"lastEventId":0,"firstAvailableId":%s}\n\nid: %s\ndata: e4\n\n' \
    "$((first + 3))" "$((first + 3))"

# The close event is one of the newest N, as on SQLite
# (tests/cli/prune.sh).
for i in 1 2 3; do sselog publish build/5 "e$i" >/dev/null; done
sselog close build/5 >/dev/null
run sselog prune --keep 2 build/5
is_out "prune --keep 2 of a closed stream: the close event one of the 2" \
    "pruned 2 events"
is "... the last event and the close are left" "$(pg_sql "SELECT \
string_agg(coalesce(event, data), ',' ORDER BY id) FROM events WHERE \
stream = 'build/5'")" "e3,sselog.close"

# ---- streams, forget, vacuum ----
run sselog streams
is_out "streams: name, events, first and last id, open or closed" \
    "$(pg_sql "SELECT stream || chr(9) || count(*) || chr(9) || min(id) || \
chr(9) || max(id) || chr(9) || CASE WHEN bool_or(event = 'sselog.close') \
THEN 'closed' ELSE 'open' END FROM events GROUP BY stream ORDER BY stream \
COLLATE \"C\"")"
last=$(pg_sql "SELECT max(id) FROM events")
gone=$(pg_sql "SELECT count(*) FROM events WHERE stream IN ('build/1', \
'build/4')")
run sselog forget build/1 build/4
is_out "forget: says what it erased" "forgot 2 streams ($gone events)"
check "... the streams are gone, events and pruned record" test \
    "$(pg_sql "SELECT (SELECT count(*) FROM events WHERE stream IN \
('build/1', 'build/4')) + (SELECT count(*) FROM pruned WHERE stream IN \
('build/1', 'build/4'))")" = 0
run sselog publish build/1 "again"
is_out "... a forgotten name is open again, with a new id" "$((last + 1))"
run sselog vacuum
is_status "vacuum: exit 0" 0

# ---- a replay reads its own stream's rows, not the log's ----
# A quiet stream, then many events of a busy one after it, in a log of
# their own: a page of the quiet stream must walk the (stream, id) index,
# not every later event of the log in id order, which PostgreSQL's planner
# finds as good where one stream holds most of the log (a replay then cost
# seconds a page on a big log). The index entries each index returned,
# before and after, tell.
BIG=$(pg_db big)
[ -z "$(pg_load "$BIG")" ] || bail "cannot load the schema into big"
pg_psql -d "$BIG" \
    -c "INSERT INTO events (stream, data) SELECT 'quiet', 'q' || n FROM generate_series(1, 5) n" \
    -c "INSERT INTO events (stream, data) SELECT 'busy', repeat('b', 100) FROM generate_series(1, 200000)" \
    -c "INSERT INTO events (stream, event, data) VALUES ('quiet', 'sselog.close', ''), ('empty', 'sselog.close', '')" \
    -c "ANALYZE events" >/dev/null || bail "cannot fill big"
tup_read() {	# INDEX: the entries it has returned so far
	pg_admin_psql -d big -c "SELECT idx_tup_read FROM \
pg_stat_user_indexes WHERE indexrelname = '$1'"
}
pkey0=$(tup_read events_pkey) sid0=$(tup_read events_stream_id)
run sselog -d "$BIG" watch --since 0 quiet empty
# A backend's counts reach the statistics as it ends, just after the
# client has gone.
counted() {
	[ "$(tup_read events_stream_id)" -gt "$sid0" ] ||
	    [ "$(tup_read events_pkey)" -gt "$pkey0" ]
}
wait_until 5 counted
pkey1=$(tup_read events_pkey) sid1=$(tup_read events_stream_id)
is "watch --since 0 of a quiet stream and an empty one, both closed: its 5 events" \
    "$(grep -c '^data: q' "$OUT")" 5
check "... read through the (stream, id) index ($((sid1 - sid0)) entries)" \
    test $((sid1 - sid0)) -ge 5
check "... not through the primary key ($((pkey1 - pkey0)) entries)" \
    test $((pkey1 - pkey0)) -lt 1000

# ---- a log that is not there ----
run sselog -d "postgresql://sselog:s3cret@127.0.0.1:1/sselog" streams
refused "a server that does not answer: exit 1, one line" 1 \
    "cannot connect to the PostgreSQL log"
check "... and the password in the URI is never printed" \
    sh -c "! grep -q s3cret '$ERR'"

done_testing
