#!/bin/sh
# The event log taken away from a running responder (behind nginx, serving
# as www-data with --user www-data): removed, then restored from a backup
# (a new file); made unreadable (chmod 000), then readable again. Each
# time: a clear line in the responder's error log, 503 (or 500) with a
# one-line reason to new clients, a stream opened before stays open, and
# everything works again once the log is back, with every event exactly
# once on the stream that stayed open. Then a responder started while
# the log is unreadable.

# Several functions below are only called through wait_until; start_daemon,
# open_stream and eval set PID_*, STREAM_* and the like; the sh -c scripts
# expand their own arguments.
# shellcheck disable=SC2317,SC2154,SC2016
. "$SRCDIR/tests/faults/lib.sh"

f_helpers
PORT=$(free_port)
f_nginx_conf "$PORT"
f_responder_start responder
f_nginx_start nginx
RLOG=$RUNDIR/responder.log
B=http://127.0.0.1:$PORT/events/

e1=$(sselog publish g/1 one)
open_stream s "${B}g/1?lastEventId=0"
arrives "a stream is open before the log goes away" s "id: $e1"

# New clients are refused (500 or 503) with a one-line reason.
# (A client that comes before the responder noticed gets a stream: probe
# with a short --max-time.)
refusing() {
	fetch gone "${B}g/1?lastEventId=0" --max-time 2
	[ "$CODE" = 503 ] || [ "$CODE" = 500 ]
}
serving() {
	fetch back "${B}g/1?lastEventId=0" --max-time 2
	[ "$CODE" = 200 ] && grep -qx "id: $1" "$T_WORK/back.b"
}
log_says() {	# TEXT...: a line of the responder's log holds every TEXT
	t_l=$(cat "$RLOG")
	for t_t in "$@"; do
		t_l=$(printf '%s\n' "$t_l" | grep -F -e "$t_t")
	done
	[ -n "$t_l" ]
}
refused_check() {	# DESCRIPTION
	if wait_until 6 refusing && t_error_body gone &&
	    [ "$(header gone Content-Type)" = "text/plain; charset=utf-8" ]; then
		ok "$1: new clients get $CODE with one line: $(cat "$T_WORK/gone.b")"
	else
		not_ok "$1: new clients get 503 (or 500) with a one-line reason" \
		    "within 6 s; last answer: $CODE $(head -c 300 "$T_WORK/gone.b")"
	fi
}

# ---- removed, then restored from a backup ----

sql ".backup '$T_WORK/backup.db'" || bail "cannot back the log up"
rm -f "$DB" "$DB-wal" "$DB-shm"
refused_check "log removed"
if wait_until 5 log_says "$DB" "No such file"; then
	ok "log removed: the error log says so, naming the file: $(grep -F "$DB" "$RLOG" | tail -n 1)"
else
	not_ok "log removed: the error log says so, naming the file" \
	    "log: $(cat "$RLOG")"
fi
if t_alive "$STREAM_s"; then
	ok "log removed: the open stream stays open"
else
	not_ok "log removed: the open stream stays open" "curl ended"
fi
sselog publish g/1 lost >/dev/null 2>"$T_WORK/pub.err"
is "log removed: sselog publish fails (exit 1)" "$?" 1

if ! cp "$T_WORK/backup.db" "$DB" || ! chown "$WWW_USER:" "$DB"; then
	bail "cannot restore the log"
fi
e2=$(sselog publish g/1 two)
if wait_until 5 serving "$e2"; then
	ok "log restored from a backup: new clients get 200 and every event"
else
	not_ok "log restored from a backup: new clients get 200 and every event" \
	    "last answer: $CODE $(head -c 300 "$T_WORK/back.b")" "log: $(cat "$RLOG")"
fi
arrives "log restored: the stream that stayed open gets the new event" s \
    "id: $e2"
log_back() {
	log_says "$DB" "back" || log_says "$DB" "replaced"
}
if wait_until 5 log_back; then
	ok "log restored: the error log says so: $(tail -n 1 "$RLOG")"
else
	not_ok "log restored: the error log says so" "log: $(cat "$RLOG")"
fi

# ---- unreadable (chmod 000), then readable again ----

t_lines=$(wc -l <"$RLOG")
chmod 000 "$DB"
refused_check "log made unreadable (chmod 000)"
new_line() {
	tail -n +$((t_lines + 1)) "$RLOG" | grep -F "$DB" |
	    grep -qi 'permission\|denied\|cannot\|unreadable'
}
if wait_until 5 new_line; then
	ok "log unreadable: the error log says so, naming the file: $(tail -n +$((t_lines + 1)) "$RLOG" | grep -F "$DB" | head -n 1)"
else
	not_ok "log unreadable: the error log says so, naming the file" \
	    "log: $(cat "$RLOG")"
fi
e3=$(sselog publish g/1 three)	# root still can
chmod 644 "$DB"
if wait_until 5 serving "$e3"; then
	ok "log readable again: new clients get 200 and every event"
else
	not_ok "log readable again: new clients get 200 and every event" \
	    "last answer: $CODE $(head -c 300 "$T_WORK/back.b")" "log: $(cat "$RLOG")"
fi
arrives "log readable again: the stream that stayed open has every event" s \
    "id: $e3"
ec=$(sselog close g/1)
end_stream s 10
t_stream_ok "... and ends cleanly when the stream is closed" s
{
	ev "$e1" one
	ev "$e2" two
	ev "$e3" three
	ev_close "$ec" g/1
} >"$T_WORK/s.expected"
is_body_file "... having had every event exactly once, in order" s \
    "$T_WORK/s.expected"
if t_alive "$F_RESPONDER"; then
	ok "the responder kept running throughout"
else
	not_ok "the responder kept running throughout" "log: $(cat "$RLOG")"
fi

# ---- a responder started while the log is unreadable ----

kill -TERM "$F_RESPONDER"
wait_until 10 t_gone "$F_RESPONDER"
wait "$F_RESPONDER"
is "the responder stops on SIGTERM with exit 0" "$?" 0
chmod 000 "$DB"
start_daemon responder2 "$SSELOG_FCGI" -d "$DB" --listen "unix:$SOCK" \
    --prefix /events/ --user "$WWW_USER"
# Either it refuses to start, saying why, or it starts and refuses
# clients until the log can be read. (It makes its socket before it opens
# the log: give it time to get that far.)
wait_until 3 t_gone "$PID_responder2"
RLOG=$RUNDIR/responder2.log
if t_gone "$PID_responder2"; then
	wait "$PID_responder2"
	t_rc=$?
	if [ "$t_rc" = 1 ] && grep -F "$DB" "$RLOG" |
	    grep -qi 'permission\|denied\|cannot'; then
		ok "started on an unreadable log: exits 1 and says why: $(grep -F "$DB" "$RLOG" | head -n 1)"
	else
		not_ok "started on an unreadable log: exits 1 and says why" \
		    "exit $t_rc; log: $(cat "$RLOG")"
	fi
	chmod 644 "$DB"
	f_responder_start responder3
	RLOG=$RUNDIR/responder3.log
else
	wait_until 5 listening
	refused_check "started on an unreadable log"
	if wait_until 5 log_says "$DB"; then
		ok "started on an unreadable log: the error log says so: $(grep -F "$DB" "$RLOG" | head -n 1)"
	else
		not_ok "started on an unreadable log: the error log says so" \
		    "log: $(cat "$RLOG")"
	fi
	chmod 644 "$DB"
fi
fetch after "${B}g/1?lastEventId=0"
is_code "once the log is readable, a new responder serves it" 200 after
is_body_file "... every event" after "$T_WORK/s.expected"

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
done_testing
