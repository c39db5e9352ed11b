#!/bin/sh
# sselog-fcgi behind nginx (contrib/nginx.conf), the responder started by
# contrib/spawn-fcgi.sh on a Unix socket that belongs to www-data.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)

# spawn-fcgi.sh runs the responder as the system user sselog, which owns
# the log's directory; here www-data owns it ($DBDIR), and runs it.
template spawn-fcgi.sh "$RUNDIR/spawn-fcgi.sh"
template nginx.conf "$RUNDIR/sselog.conf"
start_daemon responder env SSELOG_USER="$WWW_USER" SSELOG_GROUP="$WWW_USER" \
    sh "$RUNDIR/spawn-fcgi.sh" -n
wait_until 10 test -S "$SOCK" || bail "spawn-fcgi.sh made no socket"
is "the socket belongs to www-data, mode 0660" \
    "$(stat -c '%U %a' "$SOCK")" "www-data 660"
nginx_start "$PORT" "$RUNDIR/sselog.conf"
# shellcheck disable=SC2154 # start_daemon sets PID_responder
is "the responder runs as www-data" \
    "$(stat -c %U "/proc/$PID_responder")" www-data
is "it got SSELOG_DB from spawn-fcgi.sh" \
    "$(tr '\0' '\n' <"/proc/$PID_responder/environ" | grep '^SSELOG_DB=')" \
    "SSELOG_DB=$DB"

# nginx resolves dot segments (decoding %2e first) before it picks the
# location: /events/x/%2e%2e/y is /events/y to it, which it passes on; the
# responder refuses it from the raw REQUEST_URI.
sse_suite "http://127.0.0.1:$PORT/events/"
client_leaves "$PID_responder" "http://127.0.0.1:$PORT/events/"

no_leftovers
done_testing
