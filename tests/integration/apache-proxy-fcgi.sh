#!/bin/sh
# sselog-fcgi behind Apache mod_proxy_fcgi (contrib/apache-proxy-fcgi.conf),
# the responder listening on a Unix socket of its own (--listen) as
# www-data.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)

template apache-proxy-fcgi.conf "$RUNDIR/sselog.conf"
apache_conf "$PORT" "$RUNDIR/sselog.conf" proxy proxy_fcgi env asis alias
# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
    --listen "unix:$SOCK" --prefix /events/ $RESPONDER_ARGS
wait_until 10 test -S "$SOCK" || bail "the responder made no socket"
apache_start "$PORT"

EXPECT_PATH_SLASH=server404
sse_suite "http://127.0.0.1:$PORT/events/"
# shellcheck disable=SC2154 # start_daemon sets PID_responder
client_leaves "$PID_responder" "http://127.0.0.1:$PORT/events/"

no_leftovers
done_testing
