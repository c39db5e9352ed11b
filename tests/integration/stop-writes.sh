#!/bin/sh
# Stopping the responder while a build uploads its output (`make 2>&1 |
# curl -T - URL?lines`) behind nginx with fastcgi_request_buffering off:
# SIGTERM lets the upload run to its end (201, every line once) while an
# open stream still ends at once with its retry:, and the responder then
# exits 0; --stop-timeout bounds the wait (the upload is cut: 503 naming
# the ids appended, which are in the log); a second SIGTERM stops at
# once.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
KEY=$SRCDIR/tests/keys/hs256.secret

# contrib/nginx.conf's publishing location, uncommented.
template nginx.conf "$RUNDIR/publish.conf" \
    -e '/^#location \/events\/build\/ {/,/^#}/s/^#//'
grep -q '^location /events/build/ {' "$RUNDIR/publish.conf" ||
	bail "no commented publishing location in contrib/nginx.conf"
nginx_conf "$PORT" "$RUNDIR/publish.conf"
nginx_run nginx "$PORT"

TOK=$("$SSELOG" token --key "$KEY" --alg HS256 --publish 'build/**' \
    --subscribe '**') || bail "sselog token failed"
AUTH="Authorization: Bearer $TOK"
B=http://127.0.0.1:$PORT/events/

# start NAME ARGS...: a responder on $SOCK, as daemon NAME ($PID_NAME).
start() {
	t_n=$1
	shift
	rm -f "$SOCK"
	# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
	start_daemon "$t_n" $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$SOCK" --prefix /events/ $RESPONDER_ARGS \
	    --publish --jwt-key "HS256:$KEY" "$@"
	wait_listening "$t_n"
	eval "R=\$PID_$t_n"
}

# feed FIFO N: writes "line 1" to "line N" into FIFO, one every 200 ms,
# then ends it (in the background: a cut upload ends the pipe early).
feed() {
	mkfifo "$1"
	(
		i=1
		while [ "$i" -le "$2" ]; do
			printf 'line %d\n' "$i" || exit 0
			sleep 0.2
			i=$((i + 1))
		done
	) >"$1" &
	FEEDER=$!
}

# upload NAME STREAM FIFO: curl -T - from FIFO to STREAM?lines, in the
# background ($UP); status in $T_WORK/NAME.code, body in NAME.b.
upload() {
	curl -s --max-time 60 -o "$T_WORK/$1.b" -w '%{http_code}' -H "$AUTH" \
	    -T - "${B}$2?lines" <"$3" >"$T_WORK/$1.code" &
	UP=$!
}

# lines_are DESC STREAM N: the log holds "line 1" to "line N" in stream,
# in that order, each once.
lines_are() {
	t_want=$(i=1; while [ "$i" -le "$3" ]; do
		printf 'line %d|' "$i"; i=$((i + 1)); done)
	is "$1" "$(sql "SELECT $STRING_AGG(data, '|') || '|' FROM (SELECT \
data FROM events WHERE stream = '$2' ORDER BY id) AS l")" "$t_want"
}

# has STREAM N: the log holds at least N events of STREAM.
has() {
	[ "$(sql "SELECT count(*) FROM events WHERE stream = '$1'")" -ge "$2" ]
}

ids_of() {
	sql "SELECT min(id) || ' ' || max(id) FROM events WHERE stream = '$1'"
}

# exits DESC PID STATUS SECONDS: PID ends within SECONDS, with STATUS.
exits() {
	if wait_until "$4" t_gone "$2"; then
		wait "$2"
		is "$1" "$?" "$3"
	else
		not_ok "$1" "still running after $4 s"
	fi
}

# -- SIGTERM while an upload goes on: it runs to its end --
start one
open_stream live "${B}news" -H "$AUTH" -H 'Accept: text/event-stream'
feed "$T_WORK/feed1" 25
upload up1 build/1 "$T_WORK/feed1"
wait_until 5 has build/1 5 ||
	bail "the upload did not start: $(cat "$RUNDIR/one.log")"
t0=$(t_now_ms)
kill -TERM "$R"
# shellcheck disable=SC2154 # open_stream sets STREAM_live
if wait_until 4 t_gone "$STREAM_live"; then
	ok "an open stream still ends within the drain ($(($(t_now_ms) - t0)) ms)"
else
	not_ok "an open stream still ends within the drain"
fi
end_stream live 1
is "... cleanly (curl exit 0)" "$CURL_RC" 0
check "... with its retry:" grep -q '^retry: [0-9]' "$T_WORK/live.b"
check "the responder still runs for the upload" t_alive "$R"
check "... and the upload goes on" t_alive "$UP"
wait "$FEEDER"
wait "$UP"
t1=$(t_now_ms)
check "the pipe was written to for longer than the 3 s drain after SIGTERM ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 3500
is "the upload ends with 201" "$(cat "$T_WORK/up1.code")" 201
is "... FIRST LAST covering every line" "$(cat "$T_WORK/up1.b")" \
    "$(ids_of build/1)"
lines_are "... every line is in the log, once" build/1 25
exits "the responder then exits 0" "$R" 0 3
if grep -q 'signal 15: ending 1 streams and stopping; 1 writes in progress' \
    "$RUNDIR/one.log" && ! grep -q 'cut [0-9]* writes' "$RUNDIR/one.log"; then
	ok "... and says it waited for the write, not that it cut it"
else
	not_ok "... and says it waited for the write, not that it cut it" \
	    "$(cat "$RUNDIR/one.log")"
fi

# -- --stop-timeout: the upload is cut, what was read stays --
start two --stop-timeout 2
feed "$T_WORK/feed2" 50
upload up2 build/2 "$T_WORK/feed2"
wait_until 5 has build/2 3 || bail "the upload did not start"
t0=$(t_now_ms)
kill -TERM "$R"
exits "with --stop-timeout 2 the responder exits 0 though the upload goes on" \
    "$R" 0 6
t1=$(t_now_ms)
check "... after the bound, not before ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 1900 -a $((t1 - t0)) -lt 5000
check "... saying so" grep -q 'cut 1 writes still in progress at --stop-timeout' \
    "$RUNDIR/two.log"
wait_until 5 t_gone "$UP"
wait "$UP"
n=$(sql "SELECT count(*) FROM events WHERE stream = 'build/2'")
is "the client gets 503" "$(cat "$T_WORK/up2.code")" 503
is "... saying which ids were appended" "$(cat "$T_WORK/up2.b")" \
    "the server is stopping: the upload was cut before its end; the lines appended: $(ids_of build/2)"
check "... the lines until the bound ($n)" test "$n" -ge 8 -a "$n" -lt 50
lines_are "... each once, none lost before them" build/2 "$n"
kill "$FEEDER" 2>/dev/null
wait "$FEEDER" 2>/dev/null

# -- a second SIGTERM stops at once --
start three
feed "$T_WORK/feed3" 50
upload up3 build/3 "$T_WORK/feed3"
wait_until 5 has build/3 3 || bail "the upload did not start"
kill -TERM "$R"
sleep 0.5
check "after one SIGTERM the responder waits for the upload" t_alive "$R"
t0=$(t_now_ms)
kill -TERM "$R"
exits "a second SIGTERM: it exits 0 at once" "$R" 0 1
t1=$(t_now_ms)
check "... within 500 ms ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 500
wait_until 5 t_gone "$UP"
wait "$UP"
n=$(sql "SELECT count(*) FROM events WHERE stream = 'build/3'")
is "the client gets 503 with the ids appended" "$(cat "$T_WORK/up3.b")" \
    "the server is stopping: the upload was cut before its end; the lines appended: $(ids_of build/3)"
lines_are "... which are in the log, each once" build/3 "$n"
kill "$FEEDER" 2>/dev/null
wait "$FEEDER" 2>/dev/null

no_leftovers
done_testing
