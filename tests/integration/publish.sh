#!/bin/sh
# Publishing over HTTP behind nginx (contrib/nginx.conf with its
# publishing location uncommented: fastcgi_request_buffering off): what
# every web server must pass (publish_suite in lib.sh: POST of one event,
# POST and PUT ?lines, DELETE, Idempotency-Key twice, every error code
# with nothing appended, tokens: the Authorization header publishes, a
# cookie never, a locked log), then a chunked upload of lines seen live
# by a subscriber before it ends, web-server users with a publish rule
# (auth_basic, --access), a body that stops coming (--write-timeout); and
# without --publish, 405.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)	# --publish
NPORT=$(free_port)	# the same log, a responder without --publish
SOCK_N=$RUNDIR/nopublish.sock
KEY=$SRCDIR/tests/keys/hs256.secret
MAX=64			# --max-event-size: small, to reach it

cat >"$RUNDIR/access" <<RULES
ci-runner    read,publish    build/**
reader       read            build/**
RULES
htpasswd -bc "$RUNDIR/htpasswd" ci-runner secret-ci >/dev/null 2>&1 &&
    htpasswd -b "$RUNDIR/htpasswd" reader secret-r >/dev/null 2>&1 ||
	bail "htpasswd cannot write $RUNDIR/htpasswd"
chmod a+r "$RUNDIR/access" "$RUNDIR/htpasswd"

# contrib/nginx.conf's publishing location, uncommented.
template nginx.conf "$RUNDIR/publish.conf" \
    -e '/^#location \/events\/build\/ {/,/^#}/s/^#//'
grep -q '^location /events/build/ {' "$RUNDIR/publish.conf" ||
	bail "no commented publishing location in contrib/nginx.conf"
# Users the web server authenticates: REMOTE_USER for the rules.
cat >>"$RUNDIR/publish.conf" <<CONF
location /events/build/ci/ {
    auth_basic "ci";
    auth_basic_user_file $RUNDIR/htpasswd;
    fastcgi_pass unix:$SOCK;
    include fastcgi_params;
    fastcgi_buffering off;
    fastcgi_request_buffering off;
}
CONF
template nginx.conf "$RUNDIR/nopublish.conf" -e "s|$SOCK|$SOCK_N|"

responder() {	# NAME SOCKET ARGS...
	t_n=$1 t_s=$2
	shift 2
	# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
	start_daemon "$t_n" $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$t_s" --prefix /events/ $RESPONDER_ARGS "$@"
	wait_until 10 test -S "$t_s" || {
		sed 's/^/# /' "$RUNDIR/$t_n.log"
		bail "sselog-fcgi $* made no socket"
	}
}
responder publish "$SOCK" --publish --jwt-key "HS256:$KEY" \
    --access "$RUNDIR/access" --max-event-size "$MAX" --write-timeout 3
responder nopublish "$SOCK_N" --jwt-key "HS256:$KEY"

nginx_conf "$PORT" "$RUNDIR/publish.conf" 256 \
    "server { listen 127.0.0.1:$NPORT; root $WWW; include $RUNDIR/nopublish.conf; }"
nginx_run nginx "$PORT"
wait_http "$NPORT"

B=http://127.0.0.1:$PORT/events/
publish_suite nginx "$B"

fetch p4 "${B}build/7" -H "$AUTH" -X POST
is_code "POST with no body and no Content-Length: 201" 201 p4
is "... empty data" "$(sql "SELECT length(data) FROM events WHERE \
id = $(body p4)")" 0

# -- REMOTE_USER from auth_basic, with a publish rule --
C=http://127.0.0.1:$PORT/events/build/ci/
fetch u1 "${C}1" -u ci-runner:secret-ci -d 'from ci'
is_code "REMOTE_USER ci-runner (auth_basic) with a publish rule: 201" 201
is "... in build/ci/1" "$(sql "SELECT data FROM events WHERE \
id = $(body u1)")" "from ci"
fetch u2 "${C}1" -u reader:secret-r -d 'from reader'
is_code "REMOTE_USER reader, read only: 403" 403
n=$(count build/1)
fetch u3 "${B}build/1" -u ci-runner:not-checked -d 'forged'
is_code "a Basic header on the publishing location, where nothing checks it: 401, nobody" 401
is "... nothing appended" "$(count build/1)" "$n"

# -- a chunked upload, live: each line reaches a subscriber before the
# upload ends --
open_stream live "${B}build/3" -H "$AUTH"
mkfifo "$T_WORK/feed"
curl -s --max-time 30 -o "$T_WORK/up.b" -w '%{http_code}' -H "$AUTH" \
    -T - "${B}build/3?lines" <"$T_WORK/feed" >"$T_WORK/up.code" &
UP=$!
exec 7>"$T_WORK/feed"
printf 'step 1\n' >&7
if wait_until 5 grep -q '^data: step 1$' "$T_WORK/live.b"; then
	ok "a line of a chunked upload reaches a subscriber at once"
else
	not_ok "a line of a chunked upload reaches a subscriber at once" \
	    "stream: $(head -c 300 "$T_WORK/live.b")"
fi
check "... while the upload goes on" t_alive "$UP"
printf 'step 2\n' >&7
check "the next line too" wait_until 5 grep -q '^data: step 2$' \
    "$T_WORK/live.b"
printf 'done' >&7
exec 7>&-
wait "$UP"
is "the upload ends with 201" "$(cat "$T_WORK/up.code")" 201
is "... FIRST LAST" "$(cat "$T_WORK/up.b")" "$(sql "SELECT min(id) || ' ' \
|| max(id) FROM events WHERE stream = 'build/3'")"

fetch d1 "${B}build/3" -H "$AUTH" -X DELETE
is_code "... DELETE closes it" 200 d1
end_stream live 5
is "... which ends the subscriber's stream" "$CURL_RC" 0

# -- a body that stops coming: --write-timeout --
timeout 20 python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(("POST /events/build/5 HTTP/1.1\r\nHost: x\r\n" + sys.argv[2] +
    "\r\nContent-Length: 10\r\n\r\nabc").encode())
time.sleep(6)
s.close()' "$PORT" "$AUTH"
is "a body that stopped coming appends nothing" "$(count build/5)" 0
check "... the responder gave it up within --write-timeout and a tick" \
    grep -q 'whose body did not come for 3 s' "$RUNDIR/publish.log"

# -- writes that come together share one commit --
# The responder is stopped while 24 POSTs, 4 retries with one
# Idempotency-Key, a POST to a closed stream and a DELETE queue up in
# front of it; once it goes on, it reads several bodies in one turn and
# appends them in one transaction. Each still gets its own answer.
fetch g0 "${B}build/g-closed" -H "$AUTH" -X DELETE
kill -STOP "$PID_publish"
queued=
i=0
while [ $i -lt 24 ]; do
	i=$((i + 1))
	fetch "g$i" "${B}build/g" -H "$AUTH" -d "event $i" &
	queued="$queued $!"
done
for k in 1 2 3 4; do
	fetch "gk$k" "${B}build/g" -H "$AUTH" -H "Idempotency-Key: g-once" \
	    -d 'keyed' &
	queued="$queued $!"
done
fetch gc "${B}build/g-closed" -H "$AUTH" -d 'too late' &
queued="$queued $!"
fetch gd "${B}build/g-end" -H "$AUTH" -X DELETE &
queued="$queued $!"
sleep 1
kill -CONT "$PID_publish"
# shellcheck disable=SC2086 # pids
wait $queued
ids=$(i=0; while [ $i -lt 24 ]; do i=$((i + 1)); body "g$i"; done |
    sort -n | uniq | wc -l)
is "24 POSTs queued together: 24 distinct ids" "$ids" 24
is "... each appended once, with its own body" "$(sql "SELECT count(*), \
count(DISTINCT data) FROM events WHERE stream = 'build/g' AND idem IS NULL")" \
    "24|24"
is "the same Idempotency-Key 4 times in one batch: one event" \
    "$(sql "SELECT count(*) FROM events WHERE idem = 'g-once'")" 1
is "... and every answer names it" "$(for k in 1 2 3 4; do body "gk$k"; \
done | sort -u)" "$(sql "SELECT id FROM events WHERE idem = 'g-once'")"
CODE=$(status_of gc)
answers "a POST to a closed stream in the same batch: 409" 409 \
    "stream is closed" gc
CODE=$(status_of gd)
is_code "a DELETE in the same batch: 200" 200
is "... which closed its stream" "$(sql "SELECT count(*) FROM events \
WHERE stream = 'build/g-end' AND event = 'sselog.close'")" 1

# -- without --publish --
N=http://127.0.0.1:$NPORT/events/
fetch n1 "${N}build/1" -H "$AUTH" -d x
is_code "without --publish, POST: 405" 405
is "... Allow: the reading methods" "$(header n1 Allow)" "GET, HEAD, OPTIONS"
fetch n2 "${N}build/1" -H "$AUTH" -X DELETE
is_code "... DELETE: 405" 405
fetch n3 "${N}build/1?lines" -H "$AUTH" -T "$T_WORK/lines"
is_code "... PUT ?lines: 405" 405
fetch o2 "${N}build/1" -X OPTIONS -H "Origin: $ORIGIN"
is "without --publish, the preflight allows only the reading methods" \
    "$(header o2 Access-Control-Allow-Methods)" "GET, HEAD, OPTIONS"

no_leftovers
done_testing
