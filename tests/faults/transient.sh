#!/bin/sh
# Transient answers from the responder itself, straight over FastCGI
# (tests/faults/fault-client.c): at --max-clients, while the log file is
# missing; while draining after SIGTERM (another stream, which reads
# nothing, keeping the process alive), new connections are refused. A
# request with
# "Accept: text/event-stream" (what EventSource sends) gets 200, the event
# stream's Content-Type, a comment saying why, a retry: line and the end;
# one without it gets 503 with Retry-After. The retry: values of many such
# answers are spread, not all equal; on SIGTERM every open stream ends
# with a retry: (spread too) before the end of its response.

# Functions below are only called through wait_until; eval sets FC_*,
# STREAM_* and the like.
# shellcheck disable=SC2317,SC2154
. "$SRCDIR/tests/faults/lib.sh"

f_helpers

# ask NAME ACCEPT URI [OPS...]: one request (then OPS), its answer (the content of
# the FCGI_STDOUT records) in NAME.out, fault-client's result line in
# NAME.err. ACCEPT is the Accept header, or "-" for none.
ask() {
	t_n=$1 t_acc=$2 t_uri=$3
	shift 3
	t_accept=param:HTTP_X_NONE=
	[ "$t_acc" = - ] || t_accept="param:HTTP_ACCEPT=$t_acc"
	$T_EXEC "$FAULT_CLIENT" fcgi "$SOCK" "${ASK_WAIT:-5000}" begin param:REQUEST_METHOD=GET \
	    "param:REQUEST_URI=$t_uri" "param:QUERY_STRING=${t_uri#*\?}" \
	    "$t_accept" params stdin "$@" \
	    >"$T_WORK/$t_n.out" 2>"$T_WORK/$t_n.err"
}
# In the background, for a stream that stays open: its pid (fault-client's)
# in FC_NAME.
T_EXEC=
ask_bg() {
	t_n=$1
	shift
	(T_EXEC="exec" && ask "$t_n" "$@") &
	eval "FC_$t_n=\$!"
	T_STREAMS="$T_STREAMS $!"
}

# The answer NAME is the transient one: 200, an event stream, a comment,
# a retry:, then the end (FCGI_END_REQUEST, the connection closed).
# Prints the retry: value.
transient() {
	t_f=$T_WORK/$1.out
	tr -d '\r' <"$t_f" >"$t_f.lf"
	grep -qx 'Status: 200 OK' "$t_f.lf" &&
	    grep -qx 'Content-Type: text/event-stream; charset=utf-8' \
	    "$t_f.lf" &&
	    grep -q '^: *[a-z]' "$t_f.lf" &&
	    ! grep -q '^id:\|^data:' "$t_f.lf" &&
	    grep -q 'end=eof end_request=1 protocol_status=0' "$T_WORK/$1.err" &&
	    [ "$(tail -c 2 "$t_f" | od -An -c | tr -d ' ')" = '\n\n' ] &&
	    sed -n 's/^retry: \([0-9][0-9]*\)$/\1/p' "$t_f.lf" | grep .
}
# The answer NAME is 503 with Retry-After and one line of text.
unavailable() {
	tr -d '\r' <"$T_WORK/$1.out" >"$T_WORK/$1.lf"
	grep -qx 'Status: 503 Service Unavailable' "$T_WORK/$1.lf" &&
	    grep -q '^Retry-After: [1-9][0-9]*$' "$T_WORK/$1.lf" &&
	    grep -q 'end_request=1' "$T_WORK/$1.err"
}
# NAME.ACCEPT: the checks for one condition: COUNT requests with the
# Accept of EventSource, all transient, with spread retry: values; one
# without, 503.
transient_checks() {	# WHAT COUNT URI
	t_what=$1 t_count=$2 t_uri=$3
	: >"$T_WORK/retries"
	t_bad=
	t_i=0
	while [ "$t_i" -lt "$t_count" ]; do
		t_i=$((t_i + 1))
		ask "t$t_i" "text/event-stream" "$t_uri"
		transient "t$t_i" >>"$T_WORK/retries" || {
			[ -n "$t_bad" ] || t_first=$t_i
			t_bad="$t_bad $t_i"
		}
	done
	if [ -z "$t_bad" ]; then
		ok "$t_what: $t_count requests with Accept: text/event-stream get 200, a comment ($(grep '^: *[a-z]' "$T_WORK/t1.out.lf")), retry: and the end"
	else
		not_ok "$t_what: requests with Accept: text/event-stream get 200, a comment, retry: and the end" \
		    "not:$t_bad" "first: $(cat "$T_WORK/t$t_first.err")" \
		    "$(head -c 500 "$T_WORK/t$t_first.out")"
	fi
	t_distinct=$(sort -u "$T_WORK/retries" | wc -l)
	t_range=$(sort -n "$T_WORK/retries" | sed -n '1p;$p' | tr '\n' ' ')
	if [ "$t_distinct" -ge $((t_count * 3 / 4)) ]; then
		ok "$t_what: the retry: values are spread ($t_distinct distinct of $t_count, from ${t_range% } ms)"
	else
		not_ok "$t_what: the retry: values are spread" \
		    "$t_distinct distinct of $t_count: $(tr '\n' ' ' <"$T_WORK/retries")"
	fi
	ask plain - "$t_uri"
	if unavailable plain; then
		ok "$t_what: without that Accept, 503 with $(grep '^Retry-After' "$T_WORK/plain.lf")"
	else
		not_ok "$t_what: without that Accept, 503 with Retry-After" \
		    "$(cat "$T_WORK/plain.err")" "$(head -c 500 "$T_WORK/plain.out")"
	fi
}

# ---- at --max-clients ----
f_responder_start r1 --max-clients 2 --heartbeat 1
RLOG=$RUNDIR/r1.log
sselog publish tr/1 one >/dev/null
ask_bg hold1 text/event-stream /events/tr/1 sleep:30000
ask_bg hold2 text/event-stream /events/tr/1 sleep:30000
two_open() { [ "$(f_open_streams "$RLOG" "$F_RESPONDER")" = 2 ]; }
wait_until 5 two_open || bail "the two streams did not open"
transient_checks "at --max-clients" 20 /events/tr/1
f_kill9 "$FC_hold1"
f_kill9 "$FC_hold2"
none_open() { [ "$(f_open_streams "$RLOG" "$F_RESPONDER")" = 0 ]; }
wait_until 5 none_open || bail "the two streams did not close"

# ---- the log file missing ----
mv "$DB" "$DB.away" || bail "cannot move the log away"
# (A request that comes before the responder noticed gets a stream: wait
# for its answer briefly.)
missing() {
	ASK_WAIT=1500 ask m text/event-stream /events/tr/1
	transient m >/dev/null
}
if wait_until 5 missing; then
	transient_checks "log missing" 10 /events/tr/1
else
	not_ok "log missing: requests with Accept: text/event-stream get the transient answer" \
	    "within 5 s; last: $(cat "$T_WORK/m.err") $(head -c 300 "$T_WORK/m.out")"
fi
mv "$DB.away" "$DB" || bail "cannot move the log back"
served() {
	ask back text/event-stream '/events/tr/1?lastEventId=0' sleep:300
	grep -q '^data: one' "$T_WORK/back.out"
}
if wait_until 5 served; then
	ok "log back: served again"
else
	not_ok "log back: served again" "$(head -c 300 "$T_WORK/back.out")"
fi
kill -TERM "$F_RESPONDER"
wait_until 10 t_gone "$F_RESPONDER"
wait "$F_RESPONDER"

# ---- draining ----
# A big backlog for a client that reads nothing: the process stays up
# (up to its drain time) for it after SIGTERM.
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 100) INSERT INTO events (stream, data)
    SELECT 'tr/big', hex(randomblob(16384)) FROM n;" ||
	bail "cannot publish the backlog"
f_responder_start r2 --heartbeat 1
RLOG=$RUNDIR/r2.log
ask_bg stuck text/event-stream '/events/tr/big?lastEventId=0' sleep:8000
for n in 1 2 3 4 5 6 7 8 9 10; do
	ask_bg "open$n" text/event-stream /events/tr/2
done
eleven_open() { [ "$(f_open_streams "$RLOG" "$F_RESPONDER")" = 11 ]; }
wait_until 5 eleven_open || bail "the eleven streams did not open"
e=$(sselog publish tr/2 before-the-end)
kill -TERM "$F_RESPONDER"
t_term=$(t_now_ms)
# A draining process stops accepting at once, so that other processes on
# the same socket take the new connections (tests/faults/siblings.sh);
# alone on it, a new connection is refused, and the web server answers
# it (contrib/: 200 and retry: for EventSource). Connections it accepted
# before are answered with the transient answer (tests/unit/test_server.c).
refused() {
	ASK_WAIT=1000 ask late text/event-stream /events/tr/2
	grep -q 'Connection refused' "$T_WORK/late.err"
}
if wait_until 5 refused; then
	t_drain=$(($(t_now_ms) - t_term))
	if t_alive "$F_RESPONDER"; then
		ok "draining: a new connection is refused at once, while the responder is still up ($t_drain ms after SIGTERM)"
	else
		not_ok "draining: a new connection is refused while the responder is still up" \
		    "it had exited $t_drain ms after SIGTERM"
	fi
else
	not_ok "draining: a new connection is refused at once" \
	    "$(cat "$T_WORK/late.err")" "$(head -c 300 "$T_WORK/late.out")"
fi
: >"$T_WORK/retries"
bad=
for n in 1 2 3 4 5 6 7 8 9 10; do
	eval "pid=\$FC_open$n"
	wait_until 10 t_gone "$pid"
	wait "$pid"
	tr -d '\r' <"$T_WORK/open$n.out" >"$T_WORK/open$n.lf"
	# The event, then a comment, the retry: and the end.
	t_tail=$(tail -n 3 "$T_WORK/open$n.lf" | sed 's/[0-9][0-9]*$/N/' |
	    tr '\n' '|')
	if grep -qx "id: $e" "$T_WORK/open$n.lf" &&
	    grep -q 'end=eof end_request=1 protocol_status=0' \
	    "$T_WORK/open$n.err" &&
	    case $t_tail in ":"*"|retry: N||") true ;; *) false ;; esac; then
		sed -n 's/^retry: //p' "$T_WORK/open$n.lf" | tail -n 1 \
		    >>"$T_WORK/retries"
	else
		[ -n "$bad" ] || first=$n
		bad="$bad $n"
	fi
done
if [ -z "$bad" ]; then
	ok "SIGTERM: each of the 10 open streams ends with a retry: before the end of its response"
else
	not_ok "SIGTERM: each open stream ends with a retry: before the end of its response" \
	    "not:$bad" "$(cat "$T_WORK/open$first.err")" \
	    "$(tail -c 200 "$T_WORK/open$first.out" | od -c | tail -n 8)"
fi
distinct=$(sort -u "$T_WORK/retries" | wc -l)
if [ "$distinct" -ge 7 ]; then
	ok "SIGTERM: their retry: values are spread ($distinct distinct of 10: $(sort -n "$T_WORK/retries" | tr '\n' ' '))"
else
	not_ok "SIGTERM: their retry: values are spread" \
	    "$distinct distinct: $(tr '\n' ' ' <"$T_WORK/retries")"
fi
wait_until 10 t_gone "$F_RESPONDER"
wait "$F_RESPONDER"
is "the responder exits 0 once its drain time is over" "$?" 0

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
done_testing
