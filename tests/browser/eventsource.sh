#!/bin/sh
# A real EventSource in headless Chromium, through nginx (contrib/nginx.conf)
# and sselog-fcgi on a Unix socket: the page (tests/browser/eventsource.html,
# served by the same nginx) follows one stream from lastEventId=0 while
# events are published with sselog and plain SQL, the responder is killed
# and restarted, and the stream is closed. tests/browser/drive.mjs runs
# Chromium (Debian's, through playwright-core) and mirrors what the page
# records into files that this script polls.
#
# Needs what `build-aux/deps test` installs: nginx, chromium, Node.js 20
# and tests/browser/node_modules (npm ci).

# Several functions below are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"

command -v nginx >/dev/null 2>&1 || bail "nginx is not installed (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
browser_need

# The reconnection time the responder announces (retry:). While the
# responder is down nginx answers EventSource itself (contrib/nginx.conf's
# @sselog_retry: a 200 that ends at once, with a retry: of 2 to 7 s); the
# checks count those answers (b_fallbacks). (tests/browser/restart-nginx.sh
# keeps the responder down for 10 s.)
RETRY_MS=1000
STREAM=browser/1
EV=$B_OUT/events.log
# nginx's access log names each request's Last-Event-ID
# (tests/integration/lib.sh's nginx_conf).
ACCESS=$RUNDIR/access.log
# shellcheck disable=SC2034 # for nginx_start
NGINX_ACCESS_LOG=$ACCESS
T_START=$(t_now_ms)

# ---- nginx, the responder, the page ----

b_responder_start() {
	# shellcheck disable=SC2086 # RESPONDER_ARGS is a list of words
	start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$SOCK" --prefix /events/ --retry "$RETRY_MS" \
	    $RESPONDER_ARGS
	wait_listening responder
}

# ---- what the page saw (events.log, written by drive.mjs; lib.sh) ----

# The entries without their times: KIND READYSTATE [ID TYPE DATA].
b_entries() {
	cut -f 2- "$EV"
}

# The lines of the access log for the stream: STATUS LAST_EVENT_ID URI.
b_requests() {
	grep ' /events/' "$ACCESS" 2>/dev/null
}

b_diag() {
	echo "# --- events.log (ms, kind, readyState, id, type, data):"
	sed 's/^/#   /' "$EV" 2>/dev/null
	echo "# --- net.log (the browser's requests):"
	sed 's/^/#   /' "$B_OUT/net.log" 2>/dev/null
	echo "# --- nginx access log:"
	sed 's/^/#   /' "$ACCESS" 2>/dev/null
	echo "# --- drive.mjs:"
	sed 's/^/#   /' "$RUNDIR/driver.log" 2>/dev/null
	echo "# --- responder:"
	tail -n 20 "$RUNDIR/responder.log" 2>/dev/null | sed 's/^/#   /'
	echo "# --- nginx error log:"
	grep -v '\[info\]\|\[notice\]' "$RUNDIR/nginx-error.log" 2>/dev/null |
	    tail -n 20 | sed 's/^/#   /'
}

# The expected events, in order: expect ID TYPE DATA_AS_JSON.
: >"$T_WORK/expected"
expect() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$T_WORK/expected"
}

b_events_are() {	# DESCRIPTION: the events so far are exactly the expected
	b_events >"$T_WORK/got"
	if cmp -s "$T_WORK/got" "$T_WORK/expected"; then
		ok "$1"
	else
		not_ok "$1" "diff expected got:" \
		    "$(diff "$T_WORK/expected" "$T_WORK/got")"
	fi
}

b_wait_events() {	# SECONDS: until as many events as expected arrived
	wait_until "$1" b_at_least event "$(wc -l <"$T_WORK/expected")"
}

# ---- set-up ----

PORT=$(free_port)
template nginx.conf "$RUNDIR/sselog.conf"
b_responder_start
nginx_start "$PORT" "$RUNDIR/sselog.conf"

# An event from before the page opens: lastEventId=0 replays it.
h1=$(sselog publish "$STREAM" "history")
expect "$h1" message '"history"'

browser_start "$PORT" "stream=$STREAM&types=note,sselog.close"

# ---- 1. the page connects and replays ----

if browser_opened 30; then
	ok "Chromium loads the page and its EventSource opens"
else
	not_ok "Chromium loads the page and its EventSource opens" \
	    "no open event within 30 s, or drive.mjs ended"
	b_diag
	bail "no browser, nothing more to test"
fi
b_wait_events 5
b_events_are "lastEventId=0: the event published before the page opened is replayed"

# ---- 2. sselog publish and plain SQL, with every line ending ----

e1=$(sselog publish "$STREAM" "plain")
expect "$e1" message '"plain"'
b_wait_events 5
b_events_are "an event published with sselog arrives live, as a message event"

e2=$(printf 'crlf one\r\ncrlf two' | sselog publish "$STREAM" -e note -)
expect "$e2" note '"crlf one\ncrlf two"'
e3=$(printf 'cr one\rcr two\rcr three' | sselog publish "$STREAM" -e note -)
expect "$e3" note '"cr one\ncr two\ncr three"'
e4=$(printf 'lf one\nlf two\n' | sselog publish "$STREAM" -)
expect "$e4" message '"lf one\nlf two\n"'
e5=$(printf 'mixed\r\nall\rthree\nkinds\r\n' | sselog publish "$STREAM" -e note -)
expect "$e5" note '"mixed\nall\nthree\nkinds\n"'
e6=$(sselog publish "$STREAM" "")
expect "$e6" message '""'
e7=$(sselog publish "$STREAM" "  two leading spaces: kept")
expect "$e7" message '"  two leading spaces: kept"'
e8=$(printf 'id: 999\nevent: fake\nretry: 1\n: not a comment\n\ndata: x' |
    sselog publish "$STREAM" -)
expect "$e8" message '"id: 999\nevent: fake\nretry: 1\n: not a comment\n\ndata: x"'
e9=$(sselog publish "$STREAM" -e note "héllo wörld ✓ 日本語")
expect "$e9" note '"héllo wörld ✓ 日本語"'
s1=$(sql_insert "$STREAM" 'from sql')
expect "$s1" message '"from sql"'
s2=$(sql_insert "$STREAM" "$(printf 'sql\r\ncrlf\rcr\nlf')" note)
expect "$s2" note '"sql\ncrlf\ncr\nlf"'
b_wait_events 10
b_events_are "sselog publish (with and without -e) and SQL inserts arrive in order, ids as lastEventId, CR/CRLF/LF joined with LF"
is "... on the one connection (one open, no error)" \
    "$(b_count open) $(b_count error)" "1 0"

# ---- 3. the responder is killed, events are published, it comes back ----

# shellcheck disable=SC2154 # start_daemon sets PID_responder
killed=$PID_responder
kill -9 "$killed"
t_drop=$(t_now_ms)
wait_until 5 t_gone "$killed" || bail "sselog-fcgi $killed survived SIGKILL"
d1=$(sselog publish "$STREAM" "while down (sselog)")
expect "$d1" message '"while down (sselog)"'
d2=$(sql_insert "$STREAM" 'while down (sql)' note)
expect "$d2" note '"while down (sql)"'
# Back as soon as may be: a reconnect that comes first (the browser's
# retry: is 1 s, which the two writes above can take on a loaded
# machine) reaches nginx's stand-in for the responder, @sselog_retry, a
# 200 with a retry: of 2 to 7 s; the page then sees one more open and
# error, and misses nothing (b_fallbacks below).
b_responder_start
echo "# the responder was back $(($(t_now_ms) - t_drop)) ms after it was killed (retry: $RETRY_MS)"
if wait_until 5 b_at_least error 1; then
	ok "the browser sees the connection drop when the responder dies"
else
	not_ok "the browser sees the connection drop when the responder dies" \
	    "no error event within 5 s"
fi
# The error entry itself, not the last entry: on a loaded machine the
# browser may have reconnected (retry: 1 s) before this line runs.
is "... EventSource is reconnecting (error with readyState 0, CONNECTING)" \
    "$(b_entries | grep '^error' | sed -n '1p')" "$(printf 'error\t0')"

if wait_until 10 b_at_least open 2; then
	ok "EventSource reconnects by itself once the responder is back"
else
	not_ok "EventSource reconnects by itself once the responder is back" \
	    "readyState $(b_ready_state), $(b_count open) open, $(b_count error) error events"
fi
b_wait_events 5
d3=$(sselog publish "$STREAM" "after the restart")
expect "$d3" message '"after the restart"'
b_wait_events 5
b_events_are "after the restart: every event exactly once, in order (the missed ones replayed, then live)"
# The reconnects that nginx answered itself, because nothing listened
# on the socket yet: each one a refused connect in its error log.
b_fallbacks() {
	grep -c 'connect() to unix:.* failed (111' "$RUNDIR/nginx-error.log"
}
fallbacks=$(b_fallbacks)
echo "# reconnects before the responder was back, answered by nginx's @sselog_retry: $fallbacks"
is "... with one drop and one reopen (2 open, 1 error events, and one of each for a reconnect nginx answered)" \
    "$(b_count open) $(b_count error)" "$((2 + fallbacks)) $((1 + fallbacks))"
if awk -F '\t' -v want="last-event-id=$s2" \
    '$2 == "request" && $5 == want { f = 1 } END { exit !f }' "$B_OUT/net.log"
then
	ok "the reconnect sends Last-Event-ID: the last id it received ($s2)"
else
	not_ok "the reconnect sends Last-Event-ID: the last id it received ($s2)" \
	    "$(grep "$(printf '\trequest\t')" "$B_OUT/net.log")"
fi

# ---- 4. sselog close: the close event, the end, one reconnect, 204 ----

c=$(sselog close "$STREAM")
expect "$c" sselog.close "\"{\\\"stream\\\":\\\"$STREAM\\\"}\""
b_wait_events 5
b_events_are "sselog close: the page receives the sselog.close event (its stream's name, its id)"
if wait_until 10 b_state_is 2; then
	ok "without es.close(), EventSource stops by itself: readyState 2 (CLOSED)"
else
	not_ok "without es.close(), EventSource stops by itself: readyState 2 (CLOSED)" \
	    "readyState $(b_ready_state)"
fi
# After the close event: the response ends (error, reconnecting), the
# reconnect gets 204 (error, closed), and then nothing.
b_entries | sed -n '/^event	1	[0-9]*	sselog.close	/,$p' | sed 1d \
    >"$T_WORK/after-close"
printf 'error\t0\nerror\t2\n' >"$T_WORK/after-close.expected"
if cmp -s "$T_WORK/after-close" "$T_WORK/after-close.expected"; then
	ok "... after the close event: the response ends, one reconnect, then closed"
else
	not_ok "... after the close event: the response ends, one reconnect, then closed" \
	    "got (kind, readyState):" "$(cat "$T_WORK/after-close")"
fi
# The reconnect waited the retry: the responder announced, not
# Chromium's default of 3 s (the times are the page's, in ms).
gap=$(awk -F '\t' '$2 == "error" { t[++n] = $1 } END { print t[n] - t[n - 1] }' "$EV")
if [ "$gap" -ge $((RETRY_MS - 50)) ] && [ "$gap" -lt 2900 ]; then
	ok "... after the retry: the responder sent ($RETRY_MS ms; it took $gap ms)"
else
	not_ok "... after the retry: the responder sent ($RETRY_MS ms; it took $gap ms)" \
	    "between the last two error events: $gap ms"
fi
# Several reconnection times without anything new, to be sure it stays so.
n_entries=$(wc -l <"$EV")
n_requests=$(b_requests | wc -l)
sleep $((RETRY_MS * 3 / 1000))
is "... and stays closed: no event, open or error in $((RETRY_MS * 3)) ms" \
    "$(wc -l <"$EV") $(b_ready_state)" "$n_entries 2"
is "... and no request reaches nginx any more" \
    "$(b_requests | wc -l)" "$n_requests"
{
	echo "200 - /events/$STREAM?lastEventId=0"
	for t_n in $(seq 1 "$fallbacks"); do
		echo "200 $s2 /events/$STREAM?lastEventId=0"
	done
	echo "200 $s2 /events/$STREAM?lastEventId=0"
	echo "204 $c /events/$STREAM?lastEventId=0"
} >"$T_WORK/requests.expected"
b_requests >"$T_WORK/requests"
if cmp -s "$T_WORK/requests" "$T_WORK/requests.expected"; then
	ok "nginx saw the stream's requests: the first, the reconnect after the restart (Last-Event-ID $s2), the last one (Last-Event-ID $c, 204)"
else
	not_ok "nginx saw the stream's requests: the first, the reconnect after the restart (Last-Event-ID $s2), the last one (Last-Event-ID $c, 204)" \
	    "diff expected got:" \
	    "$(diff "$T_WORK/requests.expected" "$T_WORK/requests")"
fi
b_no_page_error "the page reported no script error"

# ---- the end ----

browser_stop
no_leftovers
[ "$T_FAILED" -eq 0 ] || b_diag
echo "# took $(( ($(t_now_ms) - T_START) / 1000 )) s"
done_testing
