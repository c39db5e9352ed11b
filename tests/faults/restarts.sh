#!/bin/sh
# Nothing lost when things die: behind nginx (contrib/nginx.conf), while a
# publisher appends one event every 20 ms (`sselog pipe`, data "SEQ NS"),
# the responder is killed with SIGKILL and restarted twice, nginx is
# restarted once, and the responder is stopped with SIGTERM and started
# again. Four curl clients that reconnect with their Last-Event-ID
# (tests/faults/sse-follow) and a real EventSource in headless Chromium
# (tests/browser/eventsource.html, driven by tests/browser/drive.mjs)
# follow the stream from lastEventId=0 throughout; once the publisher is
# done the stream is closed, and each must have received every event
# exactly once, in id order, the close event last, then 204. The SIGTERM
# must end every open stream with a complete response, and the responder
# must exit 0.
#
# Needs root, nginx, curl, cc, and for the browser part what
# tests/browser/eventsource.sh needs (chromium, Node.js 20,
# tests/browser/node_modules); FAULT_BROWSER=no leaves the browser out.

# Several functions below are only called through wait_until; start_daemon,
# open_stream and eval set PID_*, STREAM_* and the like; the sh -c scripts
# expand their own arguments.
# shellcheck disable=SC2317,SC2154,SC2016
. "$SRCDIR/tests/faults/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"

STREAM=fault/1
EVENTS=${FAULT_EVENTS:-600}	# one every 20 ms: 12 s
NCURL=4
# The reconnection delay the responder announces to EventSource. While
# no responder listens nginx answers EventSource with an empty stream and
# a retry: of 2 to 7 s of its own (contrib/nginx.conf): every restart
# below is done well within this delay, so that the page reconnects
# straight to the new responder.
RETRY_MS=1000
BROWSER=${FAULT_BROWSER:-yes}
T_START=$(t_now_ms)

[ "$BROWSER" = yes ] && browser_need "; or FAULT_BROWSER=no"

f_helpers
PORT=$(free_port)
f_nginx_conf "$PORT"
N_RESP=1
f_responder_start responder1 --retry "$RETRY_MS"
N_NGINX=1
f_nginx_start nginx1
B=http://127.0.0.1:$PORT/events/

# ---- the clients ----

i=0
while [ "$i" -lt "$NCURL" ]; do
	i=$((i + 1))
	# Two ways of naming the stream and the start.
	if [ $((i % 2)) = 1 ]; then
		f_follow "c$i" "${B}$STREAM?lastEventId=0" 90
	else
		f_follow "c$i" "${B}?stream=$STREAM&last_event_id=0" 90
	fi
done

if [ "$BROWSER" = yes ]; then
	browser_start "$PORT" "stream=$STREAM&types=sselog.close" \
	    DRIVE_MAX_SECONDS=100
fi

# The page has received the event ID.
b_got() {
	awk -F '\t' -v id="$1" '$2 == "event" && $4 == id { f = 1 }
	    END { exit !f }' "$B_OUT/events.log" 2>/dev/null
}

c_open() {
	grep -q '^:' "$T_WORK/follow/c$1/body.1" 2>/dev/null
}
all_open() {
	t_i=0
	while [ "$t_i" -lt "$NCURL" ]; do
		t_i=$((t_i + 1))
		c_open "$t_i" || return 1
	done
}
if wait_until 10 all_open; then
	ok "$NCURL curl clients follow $STREAM through nginx"
else
	not_ok "$NCURL curl clients follow $STREAM through nginx"
	f_diag 15
fi
if [ "$BROWSER" = yes ]; then
	if browser_opened 40; then
		ok "Chromium's EventSource follows $STREAM too"
	else
		not_ok "Chromium's EventSource follows $STREAM too" \
		    "$(tail -n 20 "$RUNDIR/driver.log")"
		BROWSER=no
	fi
fi

# ---- the publisher ----

start_daemon publisher sh -c '"$1" tick 20 "$2" | "$3" -d "$4" pipe "$5"' \
    sh "$FAULT_CLIENT" "$EVENTS" "$SSELOG" "$DB" "$STREAM"

# Every client has received event ID (replayed or live).
all_got() {
	t_i=0
	while [ "$t_i" -lt "$NCURL" ]; do
		t_i=$((t_i + 1))
		f_got "c$t_i" "$1" || return 1
	done
	[ "$BROWSER" != yes ] || b_got "$1"
}

last_id() {
	sql "SELECT coalesce(max(id), 0) FROM events WHERE stream = '$STREAM';"
}

# Waits until the publisher has written a few more events than now, then
# until every client has received them: the clients are back.
# Polled every 200 ms, not 50: each poll is an sqlite3, or a grep for
# each client and an awk over the page's log, and nothing here is timed
# (the clients reconnect by themselves meanwhile).
everyone_back() {
	t_poll=$T_POLL
	T_POLL=0.2
	t_from=$(last_id)
	t_more() {
		[ "$(last_id)" -ge $((t_from + 10)) ] || t_gone "$PID_publisher"
	}
	wait_until 10 t_more
	t_want=$(last_id)
	if wait_until 20 all_got "$t_want"; then
		ok "$1: every client has event $t_want"
	else
		not_ok "$1: every client has event $t_want"
		f_diag 15
	fi
	T_POLL=$t_poll
}

t_first() { [ "$(last_id)" -ge 20 ]; }
wait_until 10 t_first || bail "the publisher does not publish"
everyone_back "at the start"

# ---- 1, 2: SIGKILL and restart the responder, twice ----

for round in 1 2; do
	t_alive "$F_RESPONDER" ||
		not_ok "the responder is still running before kill -9 $round" \
		    "$(cat "$RUNDIR/responder$N_RESP.log")"
	f_kill9 "$F_RESPONDER"
	N_RESP=$((N_RESP + 1))
	f_responder_start "responder$N_RESP" --retry "$RETRY_MS"
	everyone_back "responder killed (SIGKILL) and restarted, $round"
done

# ---- 3: restart nginx ----

# shellcheck disable=SC2153 # f_nginx_start sets F_NGINX
kill -TERM "$F_NGINX"
wait_until 10 t_gone "$F_NGINX" || bail "nginx does not stop"
wait "$F_NGINX"
N_NGINX=$((N_NGINX + 1))
f_nginx_start "nginx$N_NGINX"
everyone_back "nginx restarted"

# ---- 4: SIGTERM: a clean drain, exit 0, then a new responder ----

t_term=$(t_now_ms)
term_pid=$F_RESPONDER
term_log=$RUNDIR/responder$N_RESP.log
kill -TERM "$term_pid"
if wait_until 10 t_gone "$term_pid"; then
	wait "$term_pid"
	is "SIGTERM: the responder exits 0" "$?" 0
else
	not_ok "SIGTERM: the responder exits 0" "still running after 10 s"
fi
t_streams=$((NCURL + 1))
[ "$BROWSER" = yes ] || t_streams=$NCURL
t_line=$(grep 'signal 15' "$term_log")
case $t_line in
*"ending $t_streams streams"*) ok "... and says it ends the $t_streams open streams" ;;
*) not_ok "... and says it ends the $t_streams open streams" \
    "log: $(cat "$term_log")" ;;
esac
is "... with no warning of a stream cut off" \
    "$(grep -c 'did not end in time' "$term_log")" 0
N_RESP=$((N_RESP + 1))
f_responder_start "responder$N_RESP" --retry "$RETRY_MS"
everyone_back "responder stopped (SIGTERM) and started again"

# ---- the end: the publisher is done, the stream closed ----

if wait_until 60 t_gone "$PID_publisher"; then
	wait "$PID_publisher"
	is "the publisher (sselog pipe) exits 0" "$?" 0
else
	not_ok "the publisher (sselog pipe) exits 0" "still running after 60 s"
fi
is "the log holds the $EVENTS events, SEQ 1 to $EVENTS in id order" \
    "$(sql "SELECT count(*), sum(s = r) FROM (SELECT CAST(data AS INTEGER) AS s,
        row_number() OVER (ORDER BY id) AS r FROM events
        WHERE stream = '$STREAM');")" "$EVENTS|$EVENTS"
close_id=$(sselog close "$STREAM")

# The data as clients get it: a close event's names its stream (JSON).
# ('' || drops the JSON subtype, so that json_quote() quotes it as text.)
WIRE_DATA="CASE WHEN event = 'sselog.close'
    THEN '' || json_object('stream', stream) ELSE data END"
sql "SELECT id || char(9) || coalesce(event, 'message') || char(9) ||
    $WIRE_DATA FROM events WHERE stream = '$STREAM' ORDER BY id;" \
    >"$T_WORK/expected"
total=$(wc -l <"$T_WORK/expected")

# Compares what a client got with the log; says which ids are missing
# or duplicated.
compare() {	# DESCRIPTION GOT EXPECTED
	if cmp -s "$2" "$3"; then
		ok "$1"
		return
	fi
	cut -f 1 "$3" | sort -u >"$2.want"
	cut -f 1 "$2" | sort -u >"$2.have"
	not_ok "$1" "got $(wc -l <"$2") events, expected $(wc -l <"$3")" \
	    "missing ids: $(comm -23 "$2.want" "$2.have" | sort -n | head -20 | tr '\n' ' ')" \
	    "duplicated ids: $(cut -f 1 "$2" | sort | uniq -d | sort -n | head -20 | tr '\n' ' ')" \
	    "first difference: $(diff "$3" "$2" | head -5)"
}

i=0
while [ "$i" -lt "$NCURL" ]; do
	i=$((i + 1))
	d=$T_WORK/follow/c$i
	eval "fpid=\$FOLLOW_c$i"
	if wait_until 30 t_gone "$fpid"; then
		wait "$fpid"
		rc=$?
	else
		rc=timeout
	fi
	is "curl client $i: stops on a 204 after the close event" \
	    "$rc $(tail -n 1 "$d/requests" | cut -f 4,6 | tr '\t' ' ')" \
	    "0 204 $close_id"
	compare "curl client $i: all $total events exactly once, in id order" \
	    "$d/events" "$T_WORK/expected"
	# The response that was open when SIGTERM came ended cleanly: 200,
	# and curl saw the end of the chunked body (exit 0).
	is "curl client $i: the response open at the SIGTERM ended complete (HTTP 200, curl exit 0)" \
	    "$(awk -F '\t' -v t="$t_term" '$2 <= t && $3 >= t { print $4, $5 }' \
	    "$d/requests")" "200 0"
	echo "# curl client $i: $(wc -l <"$d/requests") requests, statuses:" \
	    "$(cut -f 4 "$d/requests" | sort | uniq -c | awk '{ printf "%s x%s ", $2, $1 }')"
done

if [ "$BROWSER" = yes ]; then
	if wait_until 20 b_state_is 2; then
		ok "Chromium: EventSource closes itself after the close event (readyState 2)"
	else
		not_ok "Chromium: EventSource closes itself after the close event (readyState 2)" \
		    "state: $(cat "$B_OUT/state" 2>/dev/null)"
	fi
	sql "SELECT id || char(9) || coalesce(event, 'message') || char(9) ||
	    json_quote($WIRE_DATA) FROM events WHERE stream = '$STREAM'
	    ORDER BY id;" \
	    >"$T_WORK/expected.browser"
	b_events >"$T_WORK/browser.got"
	compare "Chromium: all $total events exactly once, in id order" \
	    "$T_WORK/browser.got" "$T_WORK/expected.browser"
	echo "# Chromium: $(b_count open) opens, $(b_count error) errors"
	b_no_page_error "Chromium: the page reported no script error"
	browser_stop
fi
no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
echo "# $total events checked on each of $NCURL curl clients$([ "$BROWSER" = yes ] && echo " and Chromium"); took $(( ($(t_now_ms) - T_START) / 1000 )) s"
done_testing
