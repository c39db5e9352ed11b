#!/bin/sh
# Publishing behind Apache mod_proxy_fcgi (contrib/apache-proxy-fcgi.conf,
# with CGIPassAuth On so that the Authorization header reaches the
# responder): every way to write and every refusal (publish_suite in
# lib.sh), among them refused requests with a large body, which the
# responder must read to its end: Apache answers 503 to its client when
# the FastCGI connection closes before it has sent the whole body. Then a
# chunked upload of lines, appended as it arrives.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
KEY=$SRCDIR/tests/keys/hs256.secret
MAX=64			# --max-event-size: small, to reach it

template apache-proxy-fcgi.conf "$RUNDIR/sselog.conf"
apache_conf "$PORT" "$RUNDIR/sselog.conf" proxy proxy_fcgi env asis alias
# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
    --listen "unix:$SOCK" --prefix /events/ $RESPONDER_ARGS \
    --publish --jwt-key "HS256:$KEY" --max-event-size "$MAX"
wait_until 10 test -S "$SOCK" || bail "the responder made no socket"
apache_start "$PORT"

B=http://127.0.0.1:$PORT/events/
publish_suite Apache "$B"

# A chunked upload (curl -T - from a pipe): mod_proxy_fcgi passes the
# body on as it arrives, so each line is in the log before the upload ends.
mkfifo "$T_WORK/pipe" || bail "cannot make a fifo"
curl -sS -o /dev/null -T - -H "$AUTH" "${B}build/3?lines" <"$T_WORK/pipe" &
up=$!
exec 7>"$T_WORK/pipe"
echo "first" >&7
first_is_in() {
	[ "$(sql "SELECT count(*) FROM events WHERE stream = 'build/3'")" = 1 ]
}
if wait_until 5 first_is_in; then
	ok "a chunked upload through Apache: its first line is appended while it goes on"
else
	not_ok "a chunked upload through Apache: its first line is appended while it goes on" \
	    "nothing in build/3 after 5 s"
fi
echo "second" >&7
exec 7>&-
wait "$up"
up_rc=$?
is "... and the upload ends well (curl exit 0), two events" \
    "$up_rc:$(sql "SELECT count(*) FROM events WHERE stream = 'build/3'")" 0:2

no_leftovers
done_testing
