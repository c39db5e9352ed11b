#!/bin/sh
# A page open through lighttpd (contrib/lighttpd.conf, with a responder
# that runs on its own: no bin-path) survives the responder being stopped
# and left down for 10 s: while nothing listens on the socket lighttpd
# answers 503 itself, which contrib/sselog-retry.lua (mod_magnet) turns
# into a 200 with retry: for EventSource, and the page resumes with
# nothing lost once the responder is back (tests/browser/restart-lib.sh).
#
# Needs root, lighttpd with mod_magnet (lighttpd-modules-lua), and what
# tests/browser/eventsource.sh needs (chromium, Node.js 20,
# tests/browser/node_modules).

# Several functions are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"
. "$SRCDIR/tests/browser/restart-lib.sh"

command -v lighttpd >/dev/null 2>&1 || bail "lighttpd is not installed (run build-aux/deps test)"
[ -f /usr/lib/lighttpd/mod_magnet.so ] ||
	bail "lighttpd has no mod_magnet: install lighttpd-modules-lua (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
browser_need

PORT=$(free_port)
SERVER_LOG=$RUNDIR/lighttpd-error.log
# The responder on its own, as the config's comment says: lighttpd
# connects to "socket" as it is.
template lighttpd.conf "$RUNDIR/sselog.conf" -e '/"bin-path"/d' \
    -e '/"bin-environment"/d' -e '/"max-procs"/d'
# The page, as HTML (lighttpd knows no types unless told).
echo 'mimetype.assign = ( ".html" => "text/html" )' >>"$RUNDIR/sselog.conf"
r_responder_start
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"

# What lighttpd answers while the responder is down, to EventSource and
# to other clients.
kill -TERM "$PID_responder"
wait_until 10 t_gone "$PID_responder" || bail "the responder survived SIGTERM"
fetch down "http://127.0.0.1:$PORT/events/$STREAM" \
    -H "Accept: text/event-stream"
is "responder down: lighttpd answers EventSource 200" "$CODE" 200
is "... a response that ends at once (curl exit 0)" "$CURL_RC" 0
is_header "... as an event stream" down Content-Type \
    "text/event-stream; charset=utf-8"
is_header "... not to be cached" down Cache-Control no-store
if grep -q '^: ' "$T_WORK/down.b" &&
    grep -Eq '^retry: [2-6][0-9]{3}$' "$T_WORK/down.b"; then
	ok "... with a comment and retry: between 2000 and 6999 ms"
else
	not_ok "... with a comment and retry: between 2000 and 6999 ms" \
	    "body: $(cat "$T_WORK/down.b")"
fi
refused "responder down: other clients get 503 and a line of text" 503 \
    "http://127.0.0.1:$PORT/events/$STREAM"
is "... a response that ends at once (curl exit 0)" "$CURL_RC" 0
r_responder_start

restart_scenario lighttpd
