#!/bin/sh
# Publishing behind lighttpd mod_fastcgi (contrib/lighttpd.conf, which
# starts the responder itself, with --publish): every way to write and
# every refusal (publish_suite in lib.sh), an upload of lines with a
# length and a chunked one (curl -T -). By default
# lighttpd reads the whole body first (a chunked one too) and passes it
# on with a Content-Length: an upload of lines is appended, but only at
# its end, not live. With server.stream-request-body = 2 it passes a body
# with a length on as it comes, but answers a chunked one (curl -T -)
# with 411 Length Required itself: lighttpd 1.4 cannot stream an upload of
# unknown length to a FastCGI backend.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
KEY=$SRCDIR/tests/keys/hs256.secret
MAX=64			# --max-event-size: small, to reach it
RESPONDER_ARGS="$RESPONDER_ARGS --publish --jwt-key HS256:$KEY --max-event-size $MAX"

template lighttpd.conf "$RUNDIR/sselog.conf"
grep -q -- "--publish" "$RUNDIR/sselog.conf" ||
	bail "no --prefix /events/ in contrib/lighttpd.conf to add --publish to"
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"

B=http://127.0.0.1:$PORT/events/
publish_suite lighttpd "$B"
printf 'one\ntwo\n' >"$T_WORK/lines"
fetch l1 "${B}build/6?lines" -H "$AUTH" --data-binary "@$T_WORK/lines"
is "POST ?lines with a Content-Length: 201" "$CODE" 201
fetch l2 "${B}build/6?lines" -H "$AUTH" -T - <"$T_WORK/lines"
is "a chunked upload (buffered by lighttpd): 201" "$CODE" 201
is "... four events in all" "$(count build/6)" 4
fetch l3 "${B}build/6" -H "$AUTH" -X POST
is "a POST with no body and no Content-Length: lighttpd's own 411" \
    "$CODE" 411

# server.stream-request-body = 2: lighttpd passes the body on as it comes.
# shellcheck disable=SC2154 # start_daemon sets PID_lighttpd
kill "$PID_lighttpd"
wait_until 10 t_gone "$PID_lighttpd" || bail "lighttpd did not stop"
echo 'server.stream-request-body = 2' >>"$RUNDIR/sselog.conf"
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"
fetch s1 "${B}build/2?lines" -H "$AUTH" --data-binary "@$T_WORK/lines"
is "server.stream-request-body = 2: ?lines with a Content-Length: 201" \
    "$CODE" 201
fetch s2 "${B}build/2?lines" -H "$AUTH" -T - <"$T_WORK/lines"
is "... a chunked upload (curl -T -): lighttpd's own 411" "$CODE" 411

no_leftovers
done_testing
