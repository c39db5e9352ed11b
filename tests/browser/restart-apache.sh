#!/bin/sh
# A page open through Apache mod_proxy_fcgi (contrib/apache-proxy-fcgi.conf)
# survives the responder being stopped and left down for 10 s: while
# nothing listens on the socket Apache answers 503 itself, which the
# config's ErrorDocument turns into contrib/sselog-retry.asis for
# EventSource (a 200 with retry:, by mod_asis), and the page resumes with
# nothing lost once the responder is back (tests/browser/restart-lib.sh).
#
# Needs root, apache2, and what tests/browser/eventsource.sh needs
# (chromium, Node.js 20, tests/browser/node_modules).

# Several functions are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"
. "$SRCDIR/tests/browser/restart-lib.sh"

command -v apache2 >/dev/null 2>&1 || bail "apache2 is not installed (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
browser_need

PORT=$(free_port)
SERVER_LOG=$RUNDIR/httpd-error.log
template apache-proxy-fcgi.conf "$RUNDIR/sselog.conf"
# The page, from the document root, as HTML (without mod_mime).
printf '<Files "eventsource.html">\n    ForceType text/html\n</Files>\n' \
    >>"$RUNDIR/sselog.conf"
apache_conf "$PORT" "$RUNDIR/sselog.conf" proxy proxy_fcgi env asis alias
r_responder_start
apache_start "$PORT"

# What Apache answers while the responder is down, to EventSource and to
# other clients.
kill -TERM "$PID_responder"
wait_until 10 t_gone "$PID_responder" || bail "the responder survived SIGTERM"
fetch down "http://127.0.0.1:$PORT/events/$STREAM" \
    -H "Accept: text/event-stream"
is "responder down: Apache answers EventSource 200" "$CODE" 200
is "... a response that ends at once (curl exit 0)" "$CURL_RC" 0
is_header "... as an event stream" down Content-Type \
    "text/event-stream; charset=utf-8"
is_header "... not to be cached" down Cache-Control no-store
if grep -q '^: ' "$T_WORK/down.b" && grep -q '^retry: 3000$' "$T_WORK/down.b"
then
	ok "... with a comment and retry: 3000"
else
	not_ok "... with a comment and retry: 3000" "body: $(cat "$T_WORK/down.b")"
fi
fetch down "http://127.0.0.1:$PORT/events/$STREAM"
is "responder down: other clients get 503 and the line of the config" \
    "$CODE $(cat "$T_WORK/down.b")" \
    "503 sselog: the event responder is not reachable; see the web server's error log"
is "... a response that ends at once (curl exit 0)" "$CURL_RC" 0
r_responder_start

restart_scenario Apache
