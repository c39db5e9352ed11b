#!/bin/sh
# Several streams on one connection, in headless Chromium through nginx
# (contrib/nginx.conf) and sselog-fcgi: each sselog.close event names its
# stream, so a page can tell which one ended; the connection goes on while
# any stream is open; once the last one is closed the response ends and
# the reconnect's 204 stops EventSource, so that a page which never calls
# es.close() makes no request after that; and the README's pattern (close
# the EventSource when every stream it follows has sent its close) stops
# without even that reconnect.
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

RETRY_MS=500
EV=$B_OUT/events.log
ACCESS=$RUNDIR/access.log
# shellcheck disable=SC2034 # for nginx_start
NGINX_ACCESS_LOG=$ACCESS

PORT=$(free_port)
template nginx.conf "$RUNDIR/sselog.conf"
start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
    --listen "unix:$SOCK" --prefix /events/ --retry "$RETRY_MS"
wait_listening responder
nginx_start "$PORT" "$RUNDIR/sselog.conf"

: >"$T_WORK/expected"
expect() {	# ID TYPE DATA_AS_JSON
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$T_WORK/expected"
}
b_wait_events() {	# SECONDS
	wait_until "$1" b_at_least event "$(wc -l <"$T_WORK/expected")"
}
b_events_are() {	# DESCRIPTION
	b_events >"$T_WORK/got"
	if cmp -s "$T_WORK/got" "$T_WORK/expected"; then
		ok "$1"
	else
		not_ok "$1" "diff expected got:" \
		    "$(diff "$T_WORK/expected" "$T_WORK/got")"
	fi
}
b_requests() {	# the access log's lines for the mount: STATUS LAST_EVENT_ID URI
	grep ' /events/' "$ACCESS" 2>/dev/null || :
}
close_json() {	# STREAM: the close event's data, as the page records it
	printf '"{\\"stream\\":\\"%s\\"}"' "$1"
}
b_diag() {
	echo "# --- events.log:"; sed 's/^/#   /' "$EV" 2>/dev/null
	echo "# --- net.log:"; sed 's/^/#   /' "$B_OUT/net.log" 2>/dev/null
	echo "# --- access log:"; sed 's/^/#   /' "$ACCESS" 2>/dev/null
	echo "# --- driver:"; sed 's/^/#   /' "$RUNDIR/driver.log" 2>/dev/null
}

# ---- 1. a page that never calls es.close() ----

a1=$(sselog publish build/a "a one")
expect "$a1" message '"a one"'
browser_start "$PORT" "streams=build/a,deploy/b&types=sselog.close"
browser_opened 30 || { b_diag; bail "the page's EventSource did not open"; }
b1=$(sselog publish deploy/b "b one")
expect "$b1" message '"b one"'
b_wait_events 10
b_events_are "one connection, two streams: the replayed and the live event"

ac=$(sselog close build/a)
expect "$ac" sselog.close "$(close_json build/a)"
b_wait_events 10
b_events_are "the first close event names its stream (build/a)"
b2=$(sselog publish deploy/b "b two")
expect "$b2" message '"b two"'
b_wait_events 10
b_events_are "... and the connection goes on: deploy/b's next event arrives"
is "... on the same connection (one open, no error)" \
    "$(b_count open) $(b_count error) $(b_ready_state)" "1 0 1"

bc=$(sselog close deploy/b)
expect "$bc" sselog.close "$(close_json deploy/b)"
b_wait_events 10
b_events_are "the last close event names deploy/b"
if wait_until 10 b_state_is 2; then
	ok "once every stream is closed, the response ends and the reconnect's 204 stops EventSource (readyState 2)"
else
	not_ok "once every stream is closed, the response ends and the reconnect's 204 stops EventSource (readyState 2)" \
	    "readyState $(b_ready_state)"
fi
n_requests=$(b_requests | wc -l)
sleep $((RETRY_MS * 4 / 1000))
is "... and no request follows" "$(b_requests | wc -l)" "$n_requests"
is "nginx saw the stream request, then the reconnect answered 204" \
    "$(b_requests | awk '{ print $1, $2 }' | tr '\n' ' ')" "200 - 204 $bc "
b_no_page_error "the page reported no script error"

# ---- 2. the README's pattern: es.close() once every stream ended ----

: >"$T_WORK/expected"
: >"$ACCESS.before"
cp "$ACCESS" "$ACCESS.before"
# The same Chromium, its second page: the first one, stopped, is closed.
browser_next "$PORT" "streams=build/c,deploy/d&types=sselog.close&pattern=close"
browser_opened 30 || { b_diag; bail "the page's EventSource did not open"; }
dc=$(sselog close deploy/d)
expect "$dc" sselog.close "$(close_json deploy/d)"
c1=$(sselog publish build/c "c one")
expect "$c1" message '"c one"'
b_wait_events 10
b_events_are "the pattern: after one stream's close the page still gets the other's events"
cc=$(sselog close build/c)
expect "$cc" sselog.close "$(close_json build/c)"
b_wait_events 10
b_events_are "... and the close of the last one"
if wait_until 10 b_at_least done 1; then
	ok "... upon which the page closes its EventSource (readyState 2)"
else
	not_ok "... upon which the page closes its EventSource (readyState 2)" \
	    "readyState $(b_ready_state)"
fi
sleep $((RETRY_MS * 4 / 1000))
is "... and makes no request more: nginx saw one stream request" \
    "$(b_requests | wc -l)" "$(($(grep -c ' /events/' "$ACCESS.before") + 1))"
is "... and no error event" "$(b_count error)" 0
b_no_page_error "the page reported no script error"
browser_stop

no_leftovers
[ "$T_FAILED" -eq 0 ] || b_diag
done_testing
