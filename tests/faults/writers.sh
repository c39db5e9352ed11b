#!/bin/sh
# Concurrent writers while 100 clients follow: four `sselog publish` loops,
# two `sselog pipe` and two sqlite3 shells (plain INSERTs, `.timeout
# 10000`, as the README shows) write to eight streams at once, while 100
# connections through nginx (bench/sse-load, compiled here) follow all
# eight streams from the start. No write may fail, the log must hold each
# writer's events once and in its order, and every client must receive
# every event once, in id order.
#
# The sizes are the environment's: FAULT_PUBLISH_EVENTS for each publish
# loop (default 250: a `sselog publish` is a process, about 4 ms here,
# fsync included), FAULT_OTHER_EVENTS for each pipe and sqlite3 shell
# (2,000) and FAULT_CLIENTS (50). The defaults keep the eight writers
# overlapping for seconds at a small share of the test suite's CPU (the
# deliveries, events × clients, are what costs);
# FAULT_PUBLISH_EVENTS=10000 FAULT_OTHER_EVENTS=10000 FAULT_CLIENTS=100
# runs the full count.

# Several functions below are only called through wait_until; start_daemon,
# open_stream and eval set PID_*, STREAM_* and the like; the sh -c scripts
# expand their own arguments.
# shellcheck disable=SC2317,SC2154,SC2016
. "$SRCDIR/tests/faults/lib.sh"

PUBLISH_EVENTS=${FAULT_PUBLISH_EVENTS:-250}
OTHER_EVENTS=${FAULT_OTHER_EVENTS:-2000}
CLIENTS=${FAULT_CLIENTS:-50}
# A publish takes 4 to 14 ms alone, several times that with the others
# writing, and a shared machine can slow all of them down: the deadline
# only catches a writer that is stuck.
DEADLINE=$((120 + PUBLISH_EVENTS / 5))
T_START=$(t_now_ms)

f_helpers
f_sse_load
PORT=$(free_port)
f_nginx_conf "$PORT" 1024
f_responder_start responder
f_nginx_start nginx

# ---- 100 clients, each following the eight streams ----

q=
for s in 1 2 3 4 5 6 7 8; do
	q="${q}stream=w/$s&"
done
"$SSE_LOAD" --port "$PORT" --path "/events/?${q}lastEventId=0" \
    --connections "$CLIENTS" --timeout $((DEADLINE + 60)) \
    --expect $((4 * PUBLISH_EVENTS + 4 * OTHER_EVENTS)) \
    >"$T_WORK/load.out" 2>"$T_WORK/load.err" &
LOAD=$!
T_STREAMS="$T_STREAMS $LOAD"
connected() {
	grep -q '^connected' "$T_WORK/load.out" || t_gone "$LOAD"
}
wait_until 30 connected
is "$CLIENTS clients follow the eight streams through nginx" \
    "$(grep '^connected' "$T_WORK/load.out")" "connected $CLIENTS"

# ---- the writers ----

# sselog publish, once per event; the loop counts what failed.
for w in 1 2 3 4; do
	start_daemon "publish$w" sh -c '
	    n=0 failed=0
	    while [ "$n" -lt "$3" ]; do
		    n=$((n + 1))
		    "$1" -d "$2" publish "w/$4" "p$4-$n" >/dev/null || failed=$((failed + 1))
	    done
	    echo "failed $failed"
	    [ "$failed" = 0 ]' sh "$SSELOG" "$DB" "$PUBLISH_EVENTS" "$w"
done
# sselog pipe, a line every ms.
for w in 5 6; do
	start_daemon "pipe$w" sh -c '"$1" tick 1 "$2" |
	    awk -v w="$3" "{ print \"q\" w \"-\" \$1; fflush() }" |
	    "$4" -d "$5" pipe "w/$3"' sh "$FAULT_CLIENT" "$OTHER_EVENTS" "$w" \
	    "$SSELOG" "$DB"
done
# The sqlite3 shell: an INSERT per event, each its own transaction.
for w in 7 8; do
	awk -v w="$w" -v n="$OTHER_EVENTS" 'BEGIN {
	    for (i = 1; i <= n; i++)
		printf "INSERT INTO events (stream, data) VALUES (%s, %s);\n",
		    "'\''w/" w "'\''", "'\''s" w "-" i "'\''"
	}' >"$T_WORK/sql$w.sql"
	start_daemon "sql$w" sh -c 'sqlite3 -bail -cmd ".timeout 10000" "$1" <"$2"' \
	    sh "$DB" "$T_WORK/sql$w.sql"
done

for w in 1 2 3 4 5 6 7 8; do
	case $w in
	[1-4]) name=publish$w what="sselog publish loop" n=$PUBLISH_EVENTS ;;
	[56]) name=pipe$w what="sselog pipe" n=$OTHER_EVENTS ;;
	*) name=sql$w what="sqlite3 shell" n=$OTHER_EVENTS ;;
	esac
	eval "pid=\$PID_$name"
	if wait_until "$DEADLINE" t_gone "$pid"; then
		wait "$pid"
		rc=$?
	else
		rc=timeout
	fi
	is "writer $w ($what, $n events): no failed write (exit 0)" "$rc" 0 ||
		sed 's/^/#   /' "$RUNDIR/$name.log"
	# Each writer's events are in the log once each, in its order.
	is "writer $w: its $n events are in the log, each once, in order" \
	    "$(sql "SELECT count(*), coalesce(sum(s = r), 0) FROM (SELECT
		CAST(substr(data, instr(data, '-') + 1) AS INTEGER) AS s,
		row_number() OVER (ORDER BY id) AS r FROM events
		WHERE stream = 'w/$w');")" "$n|$n"
done
T_WRITTEN=$(t_now_ms)
total=$(sql "SELECT count(*) FROM events;")
is "the log holds $total events, the sum of the writers'" "$total" \
    $((4 * PUBLISH_EVENTS + 4 * OTHER_EVENTS))

# ---- what the clients saw ----

if wait_until 60 t_gone "$LOAD"; then
	wait "$LOAD"
	rc=$?
else
	kill "$LOAD"
	wait "$LOAD"
	rc=timeout
fi
summary=$(tail -n 1 "$T_WORK/load.out")
echo "# sse-load: $summary"
# Every connection received exactly $total events with ids strictly
# increasing: each got every event of the log once, in id order.
case $summary in
"connections=$CLIENTS failed=0 ended=0 short=0 events=$((total * CLIENTS)) dups=0 gaps=0 "*)
	ok "every client received all $total events, once each, ids increasing" ;;
*) not_ok "every client received all $total events, once each, ids increasing" \
    "sse-load exit $rc: $summary" "$(cat "$T_WORK/load.err")" ;;
esac
t_stats=$(f_stats "$RUNDIR/responder.log" "$F_RESPONDER")
echo "# responder: ${t_stats#*stats: }"
case $t_stats in
*" 0 clients dropped"*) ok "no client was dropped as slow" ;;
*) not_ok "no client was dropped as slow" "$t_stats" ;;
esac

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
echo "# $total events x $CLIENTS clients checked; writing took $(( (T_WRITTEN - T_START) / 1000 )) s, all $(( ($(t_now_ms) - T_START) / 1000 )) s"
done_testing
