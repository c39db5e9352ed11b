#!/bin/sh
# A locked log: SQLite's WAL locks held for 8 s (tests/faults/wal-lock.py,
# as a process recovering a large WAL holds them) under a responder with
# --heartbeat 1, behind nginx. 20 subscribers (tests/faults/sse-watch.py)
# replay the stream from the start and stay for what follows. Checked: the
# lock really makes a reader get SQLITE_BUSY; no subscriber goes silent
# for more than the heartbeat plus 2 s (the largest silence is printed);
# every event published before, during (by writers that wait for the
# lock) and after the lock reaches each subscriber once, in order; clients
# that connect during the lock get their stream once it lifts; the
# responder says in its log that the log is locked.

# Functions below are only called through wait_until; eval sets FC_*,
# STREAM_* and the like.
# shellcheck disable=SC2317,SC2154
. "$SRCDIR/tests/faults/lib.sh"

command -v python3 >/dev/null 2>&1 ||
	bail "python3 is not installed (run build-aux/deps test)"
HOLD=8
SUBSCRIBERS=20
HEARTBEAT_S=1
MAX_SILENCE_MS=$(((HEARTBEAT_S + 2) * 1000))
PORT=$(free_port)
f_nginx_conf "$PORT"
f_responder_start responder --heartbeat "$HEARTBEAT_S"
f_nginx_start nginx
RLOG=$RUNDIR/responder.log
B=http://127.0.0.1:$PORT/events/

# A writer that waits for the lock: N INSERTs, each its own transaction,
# with a busy timeout well past the lock.
insert() {	# WORD N
	awk -v w="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "INSERT INTO events (stream, data) VALUES " \
	    "(\047lk/1\047, \047%s %d\047);\n", w, i }' |
	    timeout -k 5 40 sqlite3 -bail -cmd '.timeout 30000' "$DB"
}

insert before 50 || bail "cannot publish"

mkdir -p "$T_WORK/watch"
python3 "$F_DIR/sse-watch.py" "$PORT" "/events/lk/1?lastEventId=0" \
    "$SUBSCRIBERS" 45 "$T_WORK/watch" &
WATCH=$!
T_STREAMS="$T_STREAMS $WATCH"
watch_open() { [ -s "$T_WORK/watch/open" ]; }
wait_until 10 watch_open || bail "the subscribers did not get their headers"
# Let them take the backlog and a heartbeat or two first.
sleep 2

# ---- the lock ----
python3 "$F_DIR/wal-lock.py" "$DB" "$HOLD" >"$T_WORK/lock.out" 2>&1 &
LOCKER=$!
T_STREAMS="$T_STREAMS $LOCKER"
held() { grep -q held "$T_WORK/lock.out"; }
wait_until 5 held || bail "cannot lock the log: $(cat "$T_WORK/lock.out")"
t_lock=$(t_now_ms)

# A new reader of the log gets SQLITE_BUSY (what the responder's read
# handle gets), not the rows.
busy=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True,
    isolation_level=None, timeout=0.002)
try:
    db.execute("SELECT max(id) FROM events").fetchall()
    print("readable")
except sqlite3.OperationalError as e:
    print(e)' "$DB")
is "the lock makes a reader of the log get SQLITE_BUSY" "$busy" \
    "database is locked"

# Writers that wait for the lock: two processes, five events each.
(
	insert during-a 5 &
	a=$!
	insert during-b 5 || exit 1
	wait "$a"
) &
WRITER=$!
T_STREAMS="$T_STREAMS $WRITER"
sleep 2
# New clients during the lock.
for n in 1 2 3; do
	: >"$T_WORK/new$n.b"
	curl -sN --max-time 40 -o "$T_WORK/new$n.b" -D "$T_WORK/new$n.h" \
	    -H 'Accept: text/event-stream' "${B}lk/1?lastEventId=0" &
	eval "NEW$n=\$!"
	T_STREAMS="$T_STREAMS $!"
done

released() { grep -q released "$T_WORK/lock.out"; }
wait_until $((HOLD + 5)) released || bail "the lock was not released"
wait "$LOCKER"
t_free=$(t_now_ms)
if wait "$WRITER"; then
	ok "writers that waited for the lock all wrote"
else
	not_ok "writers that waited for the lock all wrote"
fi
locked_for=$((t_free - t_lock))
case $locked_for in
[0-9]*) echo "# the log was locked for $locked_for ms" ;;
esac

# ---- after ----
insert after 20 || bail "cannot publish after the lock"
sselog close lk/1 >/dev/null || bail "cannot close the stream"
sql "SELECT id FROM events WHERE stream = 'lk/1' ORDER BY id" \
    >"$T_WORK/expected.ids"
is "the log holds every event (50 before, 10 during, 20 after, the close)" \
    "$(wc -l <"$T_WORK/expected.ids")" 81

wait_until 20 t_gone "$WATCH"
wait "$WATCH"

# ---- the subscribers ----
complete=0
same=0
silent_worst=0
silent_over=
while read -r n status end silence events retries; do
	[ "$status" = 200 ] && [ "$end" = complete ] && complete=$((complete + 1))
	cmp -s "$T_WORK/watch/$n.ids" "$T_WORK/expected.ids" && same=$((same + 1))
	[ "$silence" -gt "$silent_worst" ] && silent_worst=$silence
	[ "$silence" -gt "$MAX_SILENCE_MS" ] &&
	    silent_over="$silent_over $n:${silence}ms"
	: "$events" "$retries"
done <"$T_WORK/watch/summary"
is "every subscriber got 200 and a complete response (the stream closed)" \
    "$complete" "$SUBSCRIBERS"
is "every subscriber got every event once, in order" "$same" "$SUBSCRIBERS"
if [ -z "$silent_over" ] && [ "$silent_worst" -gt 0 ]; then
	ok "no subscriber was silent for more than $MAX_SILENCE_MS ms (largest silence: $silent_worst ms, lock held $locked_for ms)"
else
	not_ok "no subscriber was silent for more than $MAX_SILENCE_MS ms" \
	    "over:$silent_over" "summary: $(cat "$T_WORK/watch/summary")"
fi

# ---- the clients that came during the lock ----
for n in 1 2 3; do
	eval "pid=\$NEW$n"
	wait_until 10 t_gone "$pid"
	wait "$pid"
	rc=$?
	sed -n 's/^id: //p' "$T_WORK/new$n.b" >"$T_WORK/new$n.ids"
	if [ "$rc" = 0 ] && [ "$(status_of "new$n")" = 200 ] &&
	    cmp -s "$T_WORK/new$n.ids" "$T_WORK/expected.ids"; then
		ok "a client that came during the lock got its stream once the lock lifted (every event, in order)"
	else
		not_ok "a client that came during the lock got its stream once the lock lifted" \
		    "curl exit $rc, status $(status_of "new$n"), $(wc -l <"$T_WORK/new$n.ids") events" \
		    "body: $(head -c 300 "$T_WORK/new$n.b")"
	fi
done

if grep -qi 'locked' "$RLOG"; then
	ok "the responder's log says the event log is locked: $(grep -i locked "$RLOG" | head -n 1)"
else
	not_ok "the responder's log says the event log is locked" \
	    "log: $(cat "$RLOG")"
fi
if t_alive "$F_RESPONDER"; then
	ok "the responder kept running"
else
	not_ok "the responder kept running" "log: $(cat "$RLOG")"
fi

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
done_testing
