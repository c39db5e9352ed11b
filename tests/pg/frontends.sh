#!/bin/sh
# tests/pg/frontends.sh: two frontends on one PostgreSQL log, as
# docs/scale-out.md describes them: two nginx (contrib/nginx.conf), each
# with its own sselog-fcgi, on a throw-away cluster (tests/pg/lib.sh;
# needs root). An event published anywhere (sselog publish, a plain SQL
# INSERT, a POST through the other frontend) reaches the subscribers of
# both; a client whose frontend died (SIGKILL) resumes on the other with
# its Last-Event-ID, nothing lost or twice; 8 writers with random delays
# and rollbacks, and a writer that waits for another's open transaction:
# each subscriber gets exactly what committed, in id order; the
# responders' connections killed (pg_terminate_backend) and the server
# restarted mid-stream: the streams stay open and miss nothing; the server
# stopped: heartbeats go on, new requests get 503 with Retry-After (an
# EventSource: 200 and retry:) at once, and all works again once it is
# back; prune and sselog.gap, close and 204; --publish (POST, ?lines,
# DELETE, Idempotency-Key) through one frontend, seen on the other; the
# network dropping the connections without a word: the streams go on,
# and sselog watch ends with an error within 45 s.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/pg/lib.sh"

pg_cluster

# The responders serve as www-data, which cannot read the cluster's
# directory: a copy of the password file of its own (libpq wants 0600).
PGPASS_WWW=$RUNDIR/pgpass
if ! cp "$PGPASSFILE" "$PGPASS_WWW" || ! chown "$WWW_USER:" "$PGPASS_WWW" ||
    ! chmod 600 "$PGPASS_WWW"; then
	bail "cannot copy the password file for $WWW_USER"
fi
# Frontend A publishes (--publish needs --jwt-key); everyone may read.
if ! cp "$SRCDIR/tests/keys/hs256.secret" "$RUNDIR/hs256.secret" ||
    ! echo 'anonymous  read  **' >"$RUNDIR/rules" ||
    ! chmod 644 "$RUNDIR/hs256.secret" "$RUNDIR/rules"; then
	bail "cannot write the key and the rules"
fi

sselog() {
	timeout -k 5 30 "$SSELOG" -d "$PG_URI" "$@"
}

# ---- the frontends ----

# sock_listening PATH: a responder listens on the unix socket PATH.
sock_listening() {
	awk -v p="$1" '$NF == p && $4 == "00010000" { f = 1 } END { exit !f }' \
	    /proc/net/unix
}

# responder_on NAME ARGS...: sselog-fcgi as www-data on $RUNDIR/NAME.sock
# (daemon fcgi_NAME, $PID_fcgi_NAME), its connections named sselog-NAME
# in pg_stat_activity, heartbeats every second.
responder_on() {
	r_n=$1
	shift
	rm -f "$RUNDIR/$r_n.sock"
	# shellcheck disable=SC2086 # $AS_WWW is words
	start_daemon "fcgi_$r_n" env PGPASSFILE="$PGPASS_WWW" \
	    PGAPPNAME="sselog-$r_n" $AS_WWW "$SSELOG_FCGI" -d "$PG_URI" \
	    --listen "unix:$RUNDIR/$r_n.sock" --prefix /events/ --heartbeat 1 \
	    "$@"
	wait_until 10 sock_listening "$RUNDIR/$r_n.sock" || {
		sed 's/^/# /' "$RUNDIR/fcgi_$r_n.log"
		bail "sselog-fcgi $r_n does not listen"
	}
}

# frontend NAME PORT SED-ARGS...: nginx on PORT (daemon nginx_NAME) with
# contrib/nginx.conf passing to $RUNDIR/NAME.sock.
frontend() {
	f_n=$1 f_p=$2
	shift 2
	template nginx.conf "$RUNDIR/$f_n.conf" -e "s|$SOCK|$RUNDIR/$f_n.sock|g" \
	    "$@"
	nginx_conf "$f_p" "$RUNDIR/$f_n.conf"
	# Two instances: a pid file, logs and temporary directories each.
	sed "s|$RUNDIR/nginx|$RUNDIR/$f_n-nginx|g" "$RUNDIR/nginx.conf" \
	    >"$RUNDIR/$f_n-nginx.conf" || bail "cannot write $f_n-nginx.conf"
	start_daemon "nginx_$f_n" nginx -p "$RUNDIR" -c "$RUNDIR/$f_n-nginx.conf" \
	    -g 'daemon off;'
	wait_http "$f_p"
}

start_a() {
	responder_on a --publish --jwt-key "HS256:$RUNDIR/hs256.secret" \
	    --access "$RUNDIR/rules"
}
start_a
responder_on b
# A with contrib/nginx.conf's publishing location, uncommented. (Each
# port is chosen once the one before is taken.)
PORT_A=$(free_port)
frontend a "$PORT_A" -e '/^#location \/events\/build\/ {/,/^#}/s/^#//'
PORT_B=$(free_port)
frontend b "$PORT_B"
A=http://127.0.0.1:$PORT_A/events/
B=http://127.0.0.1:$PORT_B/events/

# ---- what the streams got ----

# got NAME: the events of stream NAME so far, one a line: "ID DATA" (the
# first data line), "gap DATA" for sselog.gap.
got() {
	tr -d '\r' <"$T_WORK/$1.b" | awk '
	    /^id: / { id = substr($0, 5) }
	    /^event: / { ev = substr($0, 8) }
	    /^data: / && !d { data = substr($0, 7); d = 1 }
	    /^$/ {
		if (d)
			print (ev == "sselog.gap" ? "gap" : id) " " data
		id = ""; ev = ""; data = ""; d = 0
	    }'
}

# want WHERE: the same from the log, in id order.
want() {
	pg_sql "SELECT id || ' ' || data FROM events WHERE $1 ORDER BY id"
}

# same DESC GOT WANT: two lists of events, line for line.
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:" "$2" "want:" "$3"
	fi
}

has_id() {
	grep -qx "id: $2" "$T_WORK/$1.b"
}

# until_id DESC NAME ID: stream NAME gets event ID within 5 s.
until_id() {
	if wait_until 5 has_id "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "id $3 did not arrive within 5 s" \
		    "body so far: $(tail -c 400 "$T_WORK/$2.b")"
	fi
}

# beats NAME: the comment lines (heartbeats) stream NAME has had.
beats() {
	grep -c '^:' "$T_WORK/$1.b"
}

# beating NAME N: stream NAME has had more than N comment lines.
beating() {
	[ "$(beats "$1")" -gt "$2" ]
}

# open NAME...: the streams are still open.
open() {
	o_pid=
	for o_n in "$@"; do
		eval "o_pid=\$STREAM_$o_n"
		t_alive "$o_pid" || return 1
	done
}

drop() {
	d_pid=
	for d_n in "$@"; do
		eval "d_pid=\$STREAM_$d_n"
		kill "$d_pid" 2>/dev/null
		wait "$d_pid" 2>/dev/null
	done
}

# ---- 1. one event, both frontends ----

open_stream s1a "${A}one"
open_stream s1b "${B}one"
id=$(sselog publish one "by sselog")
until_id "sselog publish reaches a subscriber on frontend A" s1a "$id"
until_id "... and one on frontend B" s1b "$id"
id=$(pg_sql "INSERT INTO events (stream, data) VALUES ('one', 'by SQL') RETURNING id")
until_id "a plain SQL INSERT reaches a subscriber on frontend A" s1a "$id"
until_id "... and one on frontend B" s1b "$id"
same "A got both, once each" "$(got s1a)" "$(want "stream = 'one'")"
same "... and so did B" "$(got s1b)" "$(want "stream = 'one'")"
drop s1a s1b

# ---- 2. frontend A dies; the client resumes on B ----

open_stream s2 "${A}two"
id1=$(sselog publish two "t1")
id2=$(sselog publish two "t2")
until_id "a client follows two on frontend A" s2 "$id2"
# shellcheck disable=SC2154 # start_daemon sets PID_fcgi_a
kill -9 "$PID_fcgi_a"
wait "$PID_fcgi_a" 2>/dev/null	# no word from the shell about it
end_stream s2 5
check "A's responder killed (SIGKILL): the client's stream ends" \
    test "$CURL_RC" != timeout
sselog publish two "t3" >/dev/null
pg_sql "INSERT INTO events (stream, data) VALUES ('two', 't4')" >/dev/null
last=$(got s2 | tail -n 1 | cut -d ' ' -f 1)
is "... having seen up to the last event published before" "$last" "$id2"
open_stream s2b "${B}two" -H "Last-Event-ID: $last"
id5=$(sselog publish two "t5")
until_id "it reconnects to frontend B with its Last-Event-ID and follows" \
    s2b "$id5"
same "... getting exactly the events after it" "$(got s2b)" \
    "$(want "stream = 'two' AND id > $last")"
same "... so that both together are the stream, each event once" \
    "$(got s2; got s2b)" "$(want "stream = 'two'")"
drop s2b
start_a
fetch s2c "${A}two?lastEventId=$id5" --max-time 1
is "A's responder started again serves (its stream headers: 200)" \
    "$(status_of s2c)" 200

# ---- 3. 8 writers, random delays and rollbacks ----

# writer N: 6 transactions, each of an event in mix/a and another in
# mix/b (two statements), after a random pause, with a random delay
# before the end, one in four rolled back. What commits goes to plan.
writer() {
	awk -v w="$1" -v seed="$(od -An -N4 -tu4 /dev/urandom)" \
	    -v plan="$T_WORK/plan.$1" 'BEGIN {
		srand(seed)
		for (t = 1; t <= 6; t++) {
			printf "SELECT pg_sleep(%.3f);\nBEGIN;\n", rand() * 0.03
			d = "w" w "-" t
			print "INSERT INTO events (stream, data) VALUES (\047mix/a\047, \047" d "a\047);"
			print "INSERT INTO events (stream, data) VALUES (\047mix/b\047, \047" d "b\047);"
			printf "SELECT pg_sleep(%.3f);\n", rand() * 0.04
			if (rand() < 0.25) {
				print "ROLLBACK;"
			} else {
				print "COMMIT;"
				print d "a" >plan
				print d "b" >plan
			}
		}
	}' >"$T_WORK/w$1.sql" || bail "cannot write writer $1's SQL"
	pg_psql -f "$T_WORK/w$1.sql" >/dev/null
}

open_stream s3a "${A}?stream=mix/a&stream=mix/b"
open_stream s3b "${B}?stream=mix/a&stream=mix/b"
open_stream s3c "${B}mix/a"
pids=
for w in 1 2 3 4 5 6 7 8; do
	: >"$T_WORK/plan.$w"
	writer "$w" &
	pids="$pids $!"
done
failed=0
for p in $pids; do
	wait "$p" || failed=$((failed + 1))
done
is "8 concurrent writers ran to their end" "$failed" 0
is "the log holds exactly what they committed" \
    "$(pg_sql "SELECT data FROM events WHERE stream LIKE 'mix/%' ORDER BY data")" \
    "$(cat "$T_WORK"/plan.* | LC_ALL=C sort)"
n=$(cat "$T_WORK"/plan.* | wc -l)
check "... some of it ($n events) and not all of it (rollbacks)" \
    test "$n" -gt 0 -a "$n" -lt 96
last=$(pg_sql "SELECT max(id) FROM events WHERE stream LIKE 'mix/%'")
lasta=$(pg_sql "SELECT max(id) FROM events WHERE stream = 'mix/a'")
until_id "a subscriber of both streams on A gets to the last" s3a "$last"
until_id "... and one on B" s3b "$last"
until_id "... and a subscriber of mix/a on B to its last" s3c "$lasta"
sleep 0.3	# anything that would come twice
same "A's subscriber got exactly the committed events, in id order, once" \
    "$(got s3a)" "$(want "stream LIKE 'mix/%'")"
same "... and so did B's" "$(got s3b)" "$(want "stream LIKE 'mix/%'")"
same "... and B's of mix/a alone those of mix/a" "$(got s3c)" \
    "$(want "stream = 'mix/a'")"
drop s3a s3b s3c

# ---- 4. a writer waits for another's open transaction ----

open_stream s4a "${A}order"
open_stream s4b "${B}order"
pg_session wa
pg_session wb
pg_send wa "BEGIN; INSERT INTO events (stream, data) VALUES ('order', 'A') RETURNING id;"
wait_until 10 test -s "$T_WORK/wa.out"
pg_send wb "INSERT INTO events (stream, data) VALUES ('order', 'B') RETURNING id;"
waits_on_lock() {
	[ "$(pg_state "$1")" = "active Lock" ]
}
check "session B's insert waits while A's transaction is open" \
    wait_until 10 waits_on_lock wb
sleep 0.3
is "... and no subscriber has either yet" "$(got s4a; got s4b)" ""
pg_send wa "COMMIT;"
ends() {
	pg_end wa && pg_end wb
}
check "A commits, then B" ends
ida=$(cat "$T_WORK/wa.out") idb=$(cat "$T_WORK/wb.out")
check "... A's id ($ida) before B's ($idb)" test "$ida" -lt "$idb"
until_id "both reach the subscriber on A" s4a "$idb"
until_id "... and the one on B" s4b "$idb"
same "... in id order: A's, then B's" "$(got s4a)" "$ida A
$idb B"
same "... on B too" "$(got s4b)" "$ida A
$idb B"
drop s4a s4b

# ---- 5. connections killed, the server restarted, mid-stream ----

open_stream s5a "${A}five"
open_stream s5b "${B}five"
id=$(sselog publish five "before")
until_id "streams on A and B follow five" s5a "$id"
wait_until 5 has_id s5b "$id"
killed=$(pg_admin "SELECT count(pg_terminate_backend(pid)) FROM \
pg_stat_activity WHERE application_name LIKE 'sselog-%'")
check "pg_terminate_backend on the responders' connections ($killed)" \
    test "$killed" -ge 3
sselog publish five "right after the kill" >/dev/null
beat=$(beats s5a)
id=$(sselog publish five "after the kill")
until_id "an event published after reaches A's stream" s5a "$id"
until_id "... and B's" s5b "$id"
check "... the streams stayed open" open s5a s5b
check "... with their heartbeats" wait_until 5 beating s5a $((beat + 1))
# (A's writing connection is made again at its next write.)
reconnected() {
	[ "$(pg_admin "SELECT count(DISTINCT application_name) FROM \
pg_stat_activity WHERE application_name LIKE 'sselog-%'")" = 2 ]
}
check "... and both responders connected again" wait_until 5 reconnected

# A writer that keeps trying while the server restarts: it appends as
# soon as the server takes connections, before the responders are back.
(until sselog publish five "during the restart" >/dev/null 2>&1; do
	sleep 0.05
done) &
during=$!
pg_restart fast
wait "$during"
beat=$(beats s5b)
id=$(sselog publish five "after the restart")
until_id "the server restarted (pg_ctl restart): an event after reaches A" \
    s5a "$id"
until_id "... and B" s5b "$id"
check "... the streams stayed open" open s5a s5b
check "... with their heartbeats" wait_until 5 beating s5b $((beat + 1))
sleep 0.3
same "A's stream: every event of five, once, in order" "$(got s5a)" \
    "$(want "stream = 'five'")"
same "... and B's" "$(got s5b)" "$(want "stream = 'five'")"
drop s5a s5b

# ---- 6. the server stopped ----

open_stream s6a "${A}six"
open_stream s6b "${B}six"
id=$(sselog publish six "before the stop")
until_id "streams on A and B follow six" s6a "$id"
wait_until 5 has_id s6b "$id"
last6=$id
pg_stop fast
beat_a=$(beats s6a) beat_b=$(beats s6b)
check "the server stopped: A's stream keeps its heartbeats" \
    wait_until 5 beating s6a $((beat_a + 2))
check "... and B's" wait_until 5 beating s6b $((beat_b + 2))
check "... both stay open" open s6a s6b
u=
for f in A B; do
	eval "u=\$$f"
	t0=$(t_now_ms)
	fetch s6n "${u}six" --max-time 5
	t1=$(t_now_ms)
	is_code "a new request (no Accept: text/event-stream) on $f: 503" 503 s6n
	check "... with Retry-After ($(header s6n Retry-After))" \
	    test -n "$(header s6n Retry-After)"
	check "... promptly ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
	t0=$(t_now_ms)
	fetch s6e "${u}six" --max-time 5 -H 'Accept: text/event-stream'
	t1=$(t_now_ms)
	is_code "an EventSource's request on $f: 200" 200 s6e
	check "... with retry: and the end" grep -q '^retry: [0-9]' \
	    "$T_WORK/s6e.b"
	check "... promptly ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
done
pg_start
# Each responder makes its connection again within its back-off (at most
# a second after the last try); a client before that is told to come
# back, as above.
serving() {	# BASE: a new stream is served (200), not sent away (503)
	fetch serving "${1}six" --max-time 1
	[ "$CODE" = 200 ]
}
check "the server back: B serves new streams within 5 s" wait_until 5 serving "$B"
check "... and A" wait_until 5 serving "$A"
open_stream s6c "${B}six" -H "Last-Event-ID: $last6"
open_stream s6d "${A}six" -H "Last-Event-ID: $last6"
id=$(sselog publish six "after the start")
until_id "the server back: a new stream on B works" s6c "$id"
until_id "... and one on A" s6d "$id"
until_id "... and the streams open all along get the event too (A)" s6a "$id"
until_id "... (B)" s6b "$id"
sleep 0.3
for s in s6a s6b; do
	same "$s: every event of six, once" "$(got "$s")" \
	    "$(want "stream = 'six'")"
done
for s in s6c s6d; do
	same "$s: the events after its Last-Event-ID" "$(got "$s")" \
	    "$(want "stream = 'six' AND id > $last6")"
done
drop s6a s6b s6c s6d

# ---- 7. prune: sselog.gap; close: 204 ----

for i in 1 2 3 4 5; do
	sselog publish seven "g$i" >/dev/null
done
first=$(pg_sql "SELECT min(id) FROM events WHERE stream = 'seven'")
sselog prune --keep 2 seven >/dev/null
kept=$(pg_sql "SELECT min(id) FROM events WHERE stream = 'seven'")
for f in A B; do
	eval "u=\$$f"
	open_stream "s7$f" "${u}seven" -H "Last-Event-ID: $first"
done
idc=$(sselog close seven)
for f in A B; do
	end_stream "s7$f" 5
	is "after a prune, $f: sselog.gap from the client's id to the first kept, then the rest, then the close" \
	    "$(got "s7$f")" "gap {\"lastEventId\":$first,\"firstAvailableId\":$kept}
$(want "stream = 'seven' AND id > $first AND event IS NULL")
$idc {\"stream\":\"seven\"}"
	check "... which ends the stream (curl exit 0)" test "$CURL_RC" = 0
	eval "u=\$$f"
	fetch s7r "${u}seven" -H "Last-Event-ID: $idc"
	is_code "a reconnect to $f at the close: 204" 204 s7r
done

# ---- 8. --publish through A, seen on B ----

AUTH="Authorization: Bearer $(token --sub ci --publish 'build/**' \
    --subscribe 'build/**')"
open_stream s8 "${B}build/8"
fetch p1 "${A}build/8" -H "$AUTH" -d 'posted'
is_code "POST through A: 201" 201 p1
until_id "... seen on B" s8 "$(cat "$T_WORK/p1.b")"
printf 'one\ntwo\nthree\n' >"$T_WORK/lines"
fetch p2 "${A}build/8?lines" -H "$AUTH" --data-binary "@$T_WORK/lines"
is_code "POST ?lines through A: 201" 201 p2
until_id "... its last line seen on B" s8 "$(cut -d ' ' -f 2 "$T_WORK/p2.b")"
fetch p3 "${A}build/8" -H "$AUTH" -H "Idempotency-Key: job-8" -d 'once'
is_code "POST with Idempotency-Key through A: 201" 201 p3
fetch p4 "${A}build/8" -H "$AUTH" -H "Idempotency-Key: job-8" -d 'once'
answers "... again: 200 with the same id" 200 "$(cat "$T_WORK/p3.b")" p4
fetch p5 "${A}build/8" -H "$AUTH" -X DELETE
is_code "DELETE through A: 200" 200 p5
end_stream s8 5
check "... ends the stream on B (curl exit 0)" test "$CURL_RC" = 0
same "B's subscriber got each write once, in order: POST, the lines, the keyed POST" \
    "$(got s8 | sed '$d')" "$(want "stream = 'build/8' AND event IS NULL")"
is "... then the close, at DELETE's id" "$(got s8 | tail -n 1)" \
    "$(cat "$T_WORK/p5.b") {\"stream\":\"build/8\"}"

# ---- 9. the network goes silent ----

# Every packet of the responders' connections and of a watcher's is
# dropped (pg_silence): nothing tells them the connection is gone. The
# responders ask again every --poll-interval (1 s), give up a query that
# has no answer within a second and connect anew; the watcher, which only
# waits, learns it from TCP keepalives (10 s idle, then 3 probes 5 s
# apart) and ends with an error, where it would have waited for two
# hours.
open_stream s9a "${A}nine"
open_stream s9b "${B}nine"
# From the log's end as it is now (--since, taken here, before the
# publish below, not in the background job): without it watch prints
# only what is appended after it has connected, which under load can be
# after that publish.
since=$(pg_sql "SELECT coalesce(max(id), 0) FROM events")
"$SSELOG" -d "$PG_URI" watch --since "$since" nine >"$T_WORK/watch9.out" \
    2>"$T_WORK/watch9.err" &
watcher=$!
id=$(sselog publish nine "before the silence")
until_id "streams on A and B follow nine" s9a "$id"
wait_until 5 has_id s9b "$id"
watching() { grep -qx "id: $1" "$T_WORK/watch9.out"; }
# (15 s: the watcher connects, replays and listens while the whole
# test suite runs beside it.)
if wait_until 15 watching "$id"; then
	ok "... and so does sselog watch"
else
	not_ok "... and so does sselog watch" "not within 15 s; it printed:" \
	    "$(cat "$T_WORK/watch9.out")" "and on stderr:" \
	    "$(cat "$T_WORK/watch9.err")" \
	    "alive: $(t_alive "$watcher" && echo yes || echo no)"
fi
pg_silence "$PID_fcgi_a" "$PID_fcgi_b" "$watcher"
check "the connections of both responders and the watcher go silent ($PG_SILENCED)" \
    test "$PG_SILENCED" -ge 3
t0=$(t_now_ms)
id=$(sselog publish nine "during the silence")
until_id "an event published meanwhile reaches A's stream within 5 s" s9a "$id"
until_id "... and B's" s9b "$id"
check "... the streams stayed open" open s9a s9b
gone() { ! t_alive "$watcher"; }
if wait_until 45 gone; then
	wait "$watcher"
	rc=$?
	t1=$(t_now_ms)
	is "sselog watch ends with an error (exit 1)" "$rc" 1
	check "... within 45 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 45000
	is "... saying so in one line: $(head -n 1 "$T_WORK/watch9.err")" \
	    "$(wc -l <"$T_WORK/watch9.err")" 1
else
	kill "$watcher" 2>/dev/null
	wait "$watcher" 2>/dev/null
	not_ok "sselog watch ends with an error within 45 s" \
	    "still waiting after 45 s"
fi
pg_unsilence
id=$(sselog publish nine "after the silence")
until_id "after it: A's stream gets the next event" s9a "$id"
until_id "... and B's" s9b "$id"
sleep 0.3
same "A's stream: every event of nine, once, in order" "$(got s9a)" \
    "$(want "stream = 'nine'")"
same "... and B's" "$(got s9b)" "$(want "stream = 'nine'")"
drop s9a s9b

# The cluster's processes have this test's environment, which names its
# directory ($SSELOG_FCGI): they would count as left running.
pg_stop fast
no_leftovers
done_testing
