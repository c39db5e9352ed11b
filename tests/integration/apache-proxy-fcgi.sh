#!/bin/sh
# sselog-fcgi behind Apache mod_proxy_fcgi (contrib/apache-proxy-fcgi.conf),
# the responder listening on a Unix socket of its own (--listen) as
# www-data; the config's commented metrics location, taken in, answers
# the metrics, and the responder's socket being its own, the metrics'
# file in /dev/shm goes with it.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)

template apache-proxy-fcgi.conf "$RUNDIR/sselog.conf" \
    -e '/^#<Location "\/sselog-metrics">/,/^#<\/Location>/s/^#//'
apache_conf "$PORT" "$RUNDIR/sselog.conf" proxy proxy_fcgi env asis alias \
    authz_host
# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
    --listen "unix:$SOCK" --prefix /events/ $RESPONDER_ARGS
wait_until 10 test -S "$SOCK" || bail "the responder made no socket"
apache_start "$PORT"

EXPECT_PATH_SLASH=server404
sse_suite "http://127.0.0.1:$PORT/events/"
# shellcheck disable=SC2154 # start_daemon sets PID_responder
client_leaves "$PID_responder" "http://127.0.0.1:$PORT/events/"

fetch metrics "http://127.0.0.1:$PORT/sselog-metrics"
check "/sselog-metrics (SetEnv SSELOG_METRICS 1): the metrics" eval \
    '[ "$CODE" = 200 ] && grep -q "^sselog_clients [0-9]" "$T_WORK/metrics.b" &&
     [ "$(header metrics Content-Type)" = "text/plain; version=0.0.4; charset=utf-8" ]'
shm=$(metrics_file "$PID_responder")
check "... from a file in /dev/shm ($shm)" test -n "$shm"

no_leftovers
check "the file in /dev/shm went with the responder" test ! -e "$shm"
done_testing
