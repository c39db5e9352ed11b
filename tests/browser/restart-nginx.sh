#!/bin/sh
# A page open through nginx (contrib/nginx.conf) survives the responder
# being stopped and left down for 10 s: while nothing listens on the
# socket nginx itself answers the browser's reconnects, with the 200 and
# retry: of the config's @sselog_retry instead of its 502, and the page
# resumes with nothing lost once the responder is back
# (tests/browser/restart-lib.sh).
#
# Needs root, nginx, and what tests/browser/eventsource.sh needs (chromium,
# Node.js 20, tests/browser/node_modules).

# Several functions are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"
. "$SRCDIR/tests/browser/restart-lib.sh"

command -v nginx >/dev/null 2>&1 || bail "nginx is not installed (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
browser_need

PORT=$(free_port)
SERVER_LOG=$RUNDIR/nginx-error.log
template nginx.conf "$RUNDIR/sselog.conf"
r_responder_start
nginx_start "$PORT" "$RUNDIR/sselog.conf"

# What nginx answers while the responder is down, to EventSource and to
# other clients.
kill -TERM "$PID_responder"
wait_until 10 t_gone "$PID_responder" || bail "the responder survived SIGTERM"
fetch down "http://127.0.0.1:$PORT/events/$STREAM" \
    -H "Accept: text/event-stream"
is "responder down: nginx answers EventSource 200" "$CODE" 200
is "... a response that ends at once (curl exit 0)" "$CURL_RC" 0
is_header "... as an event stream" down Content-Type \
    "text/event-stream; charset=utf-8"
is_header "... not to be cached" down Cache-Control no-store
if grep -q '^: ' "$T_WORK/down.b" &&
    grep -Eq '^retry: [2-6][0-9]00$' "$T_WORK/down.b"; then
	ok "... with a comment and retry: between 2000 and 6900 ms"
else
	not_ok "... with a comment and retry: between 2000 and 6900 ms" \
	    "body: $(cat "$T_WORK/down.b")"
fi
refused "responder down: other clients get 502 and a line of text" 502 \
    "http://127.0.0.1:$PORT/events/$STREAM"
is "... a response that ends at once (curl exit 0)" "$CURL_RC" 0
fetch down "http://127.0.0.1:$PORT/events/x.html" \
    -H "Accept: text/html, text/event-stream"
is "... a stream named like a file still gets an event stream" \
    "$CODE $(header down Content-Type)" "200 text/event-stream; charset=utf-8"
r_responder_start

restart_scenario nginx
