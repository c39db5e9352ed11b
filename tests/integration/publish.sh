#!/bin/sh
# Publishing over HTTP behind nginx (contrib/nginx.conf with its
# publishing location uncommented: fastcgi_request_buffering off): POST of
# one event, POST and PUT ?lines, DELETE, Idempotency-Key, every error
# code with nothing appended, a chunked upload of lines seen live by a
# subscriber before it ends, tokens (the Authorization header publishes,
# a cookie never) and web-server users with a publish rule (auth_basic,
# --access); and without --publish, 405.
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

token() { "$SSELOG" token --key "$KEY" --alg HS256 "$@"; }
TOK=$(token --sub ci --publish 'build/**' --subscribe 'build/**') ||
	bail "sselog token failed"
RTOK=$(token --sub reader --subscribe 'build/**')
AUTH="Authorization: Bearer $TOK"
B=http://127.0.0.1:$PORT/events/

count() { sql "SELECT count(*) FROM events WHERE stream = '$1'"; }
body() { cat "$T_WORK/$1.b"; }
is_code() { is "$1" "$CODE" "$2"; }

# answers DESC STATUS BODY NAME: the status and the one-line body.
answers() {
	if [ "$CODE" = "$2" ] && [ "$(body "$4")" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "want $2 '$3'" "got $CODE '$(head -c 300 \
		    "$T_WORK/$4.b")' (curl exit $CURL_RC)"
	fi
}

# -- POST: one event, the body verbatim --
printf 'hello\nworld\n' >"$T_WORK/two-lines"
fetch p1 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/two-lines"
is_code "POST /events/build/1 with a token: 201" 201
id1=$(body p1)
is "... the body is the new id" "$(sql "SELECT id FROM events WHERE \
stream = 'build/1'")" "$id1"
is "... the data is the body, its newlines included" \
    "$(sql "SELECT hex(data) FROM events WHERE id = $id1")" \
    "$(printf 'hello\nworld\n' | od -An -tx1 | tr -d ' \n' |
    tr '[:lower:]' '[:upper:]')"
fetch p2 "${B}build/1?event=step&retry=1500" -H "$AUTH" -d 'compiling'
is_code "POST ?event=step&retry=1500: 201" 201
is "... stored with its type and retry" "$(sql "SELECT event, retry, data \
FROM events WHERE id = $(body p2)")" "step|1500|compiling"
fetch p3 "${B}build/1" -H "$AUTH" -X POST
is_code "POST without a body: 201, an event with empty data" 201
is "... empty data" "$(sql "SELECT length(data) FROM events WHERE \
id = $(body p3)")" 0

# -- Idempotency-Key --
fetch k1 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: job-7/step-1" \
    -d 'once'
is_code "POST with Idempotency-Key: 201" 201
fetch k2 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: job-7/step-1" \
    -d 'once'
answers "the same key again: 200 with the same id" 200 "$(body k1)" k2
is "... one event with that key" "$(sql "SELECT count(*) FROM events \
WHERE idem = 'job-7/step-1'")" 1

# -- errors: nothing appended --
n=$(count build/1)
fetch e1 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: a key" -d x
is_code "a key with a space: 400" 400
fetch e2 "${B}build/1?stream=build/2" -H "$AUTH" -d x
answers "stream= on a write: 400" 400 \
    "stream= is not for writes: the stream is the path" e2
fetch e3 "${B}build/%20x" -H "$AUTH" -d x
is_code "a bad stream name: 400" 400
fetch e4 "${B}build/1?event=sselog.gap" -H "$AUTH" -d x
is_code "a reserved type: 400" 400
fetch e5 "${B}build/1?event=sselog.close" -H "$AUTH" -d x
is_code "event=sselog.close: 400 (DELETE closes)" 400
fetch e6 "${B}build/1?retry=-1" -H "$AUTH" -d x
is_code "retry=-1: 400" 400
printf 'caf\351' >"$T_WORK/latin1"
fetch e7 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/latin1"
answers "a body that is not UTF-8: 400, not repaired" 400 \
    "invalid data: it is not valid UTF-8" e7
printf 'a\000b' >"$T_WORK/nul"
fetch e8 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/nul"
answers "a body with NUL: 400" 400 "invalid data: it contains a NUL byte" \
    e8
head -c $((MAX + 1)) /dev/zero | tr '\0' x >"$T_WORK/big"
fetch e9 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/big"
is_code "a body one byte over --max-event-size: 413" 413
head -c "$MAX" /dev/zero | tr '\0' x >"$T_WORK/max"
fetch e10 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/max"
is_code "... exactly --max-event-size: 201" 201
head -c 3000000 /dev/zero | tr '\0' x >"$T_WORK/huge"
fetch e11 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/huge"
is_code "3 MB: 413, the whole body read (nginx passes the answer)" 413
fetch e12 "${B}build/1" -H "$AUTH" -X PUT -d x
is_code "PUT without ?lines: 400" 400
fetch e13 "${B}build/1?lines" -H "$AUTH" -H "Idempotency-Key: k" -d x
is_code "Idempotency-Key on ?lines: 400" 400
fetch e14 "${B}build/1" -H "$AUTH" -X PATCH -d x
is_code "PATCH: 405" 405
is "... Allow names the writes" "$(header e14 Allow)" \
    "GET, HEAD, OPTIONS, POST, PUT, DELETE"
is "nothing was appended by any of them" "$(count build/1)" "$((n + 1))"

# -- access: 401, 403, the cookie, REMOTE_USER --
n=$(count build/1)
fetch a1 "${B}build/1" -d x
is_code "no credentials: 401" 401
is "... with WWW-Authenticate" "$(header a1 WWW-Authenticate)" \
    'Bearer realm="sselog"'
fetch a2 "${B}build/1" -H "Authorization: Bearer $RTOK" -d x
answers "a token that may only subscribe: 403" 403 \
    "not allowed to publish to build/1" a2
fetch a3 "${B}build/1" -H "Cookie: sselog_token=$TOK" -d x
is_code "the publishing token in the cookie: 403 (a cookie never writes)" \
    403
fetch a4 "${B}build/1" -H "Authorization: Bearer x.y.z" -d x
is_code "a bad token: 401" 401
fetch a5 "${B}other/1" -H "$AUTH" -d x
is_code "a stream outside the token's publish patterns: 403" 403
fetch a6 "${B}build/1" --data-binary "@$T_WORK/huge"
is_code "3 MB without credentials: 401, the body read to its end" 401
is "nothing was appended by any of them" "$(count build/1)" "$n"
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

# -- ?lines --
printf 'one\r\ntwo\n\n\nbad \377 byte\nlast' >"$T_WORK/lines"
fetch l1 "${B}build/2?lines&event=log" -H "$AUTH" \
    --data-binary "@$T_WORK/lines"
is_code "POST ?lines: 201" 201
is "... FIRST LAST, empty lines skipped" "$(body l1)" \
    "$(sql "SELECT min(id) || ' ' || max(id) FROM events WHERE \
stream = 'build/2'")"
is "... one event per line, CRLF too, bytes not UTF-8 as U+FFFD" \
    "$(sql "SELECT group_concat(data, '|') FROM (SELECT data FROM events \
WHERE stream = 'build/2' AND event = 'log' ORDER BY id)")" \
    "one|two|bad � byte|last"
fetch l2 "${B}build/2?lines" -H "$AUTH" -X PUT --data-binary ''
answers "PUT ?lines with no lines: 201 '0 0'" 201 "0 0" l2
n=$(count build/2)
{ printf 'short\n'; head -c $((MAX + 1)) /dev/zero | tr '\0' y;
  printf '\nafter\n'; } >"$T_WORK/long-line"
fetch l3 "${B}build/2?lines" -H "$AUTH" -T "$T_WORK/long-line"
is_code "a line over --max-event-size: 413" 413
is "... the line before it stays, nothing after" "$(count build/2)" \
    "$((n + 1))"

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

# -- DELETE --
fetch d1 "${B}build/3" -H "$AUTH" -X DELETE
is_code "DELETE: 200" 200
is "... the body is the close event's id" "$(body d1)" "$(sql "SELECT id \
FROM events WHERE stream = 'build/3' AND event = 'sselog.close'")"
end_stream live 5
is "... which ends the subscriber's stream" "$CURL_RC" 0
fetch d2 "${B}build/3" -H "$AUTH" -X DELETE
answers "DELETE of a closed stream: 409" 409 "stream is closed" d2
n=$(count build/3)
fetch d3 "${B}build/3" -H "$AUTH" -d x
answers "POST to a closed stream: 409" 409 "stream is closed" d3
fetch d4 "${B}build/3?lines" -H "$AUTH" -d x
answers "?lines to a closed stream: 409" 409 "stream is closed" d4
is "nothing was appended" "$(count build/3)" "$n"
fetch d5 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: close-1" -X DELETE
fetch d6 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: close-1" -X DELETE
answers "DELETE again with the same Idempotency-Key: 200, the same id" \
    200 "$(body d5)" d6

# -- a locked log: 503 with Retry-After after the busy timeout --
printf 'BEGIN IMMEDIATE;\n.shell sleep 8\nCOMMIT;\n' |
    sqlite3 "$DB" >/dev/null 2>&1 &
LOCK=$!
sleep 0.5
n=$(count build/4)
t0=$(t_now_ms)
fetch b1 "${B}build/4" -H "$AUTH" -d x
t1=$(t_now_ms)
is_code "the log locked for longer than 5 s: 503" 503
is "... with Retry-After" "$(header b1 Retry-After)" 1
check "... after about 5 s ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 4500 -a $((t1 - t0)) -lt 8000
wait "$LOCK"
is "... nothing appended" "$(count build/4)" "$n"
printf 'BEGIN IMMEDIATE;\n.shell sleep 1\nCOMMIT;\n' |
    sqlite3 "$DB" >/dev/null 2>&1 &
LOCK=$!
sleep 0.3
fetch b2 "${B}build/4" -H "$AUTH" -d x
is_code "locked for 1 s: the write waits, then 201" 201
wait "$LOCK"

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
fetch o1 "${B}build/1" -X OPTIONS -H "Origin: $ORIGIN"
is "with --publish, OPTIONS: Allow names the writes" "$(header o1 Allow)" \
    "GET, HEAD, OPTIONS, POST, PUT, DELETE"
is "... and so does the preflight's Access-Control-Allow-Methods" \
    "$(header o1 Access-Control-Allow-Methods)" \
    "GET, HEAD, OPTIONS, POST, PUT, DELETE"
fetch o2 "${N}build/1" -X OPTIONS -H "Origin: $ORIGIN"
is "without --publish, the preflight allows only the reading methods" \
    "$(header o2 Access-Control-Allow-Methods)" "GET, HEAD, OPTIONS"

no_leftovers
done_testing
