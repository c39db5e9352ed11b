#!/bin/sh
# Retrying a POST with the same Idempotency-Key after the connection was
# killed mid-request never yields two events, behind nginx
# (contrib/nginx.conf with its publishing location: the body passes on
# unbuffered below /events/build/, and nginx reads it whole first
# elsewhere). A client (tests/integration/cut-request.py) sends part of
# the request and is killed -9: after the headers, in the body, one byte
# short of its end, right after its last byte, and once the event is in
# the log but before the answer was read. Then curl retries with the same
# key and body: one event with that key, whose id the retry gets (201 when
# the killed request appended nothing, 200 when it did).
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
KEY=$SRCDIR/tests/keys/hs256.secret
CUT=$SRCDIR/tests/integration/cut-request.py
command -v python3 >/dev/null 2>&1 || bail "python3 is not installed"

template nginx.conf "$RUNDIR/publish.conf" \
    -e '/^#location \/events\/build\/ {/,/^#}/s/^#//'
grep -q '^location /events/build/ {' "$RUNDIR/publish.conf" ||
	bail "no commented publishing location in contrib/nginx.conf"
# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" --listen "unix:$SOCK" \
    --prefix /events/ $RESPONDER_ARGS --publish --jwt-key "HS256:$KEY"
wait_listening responder
nginx_start "$PORT" "$RUNDIR/publish.conf"

TOK=$("$SSELOG" token --key "$KEY" --alg HS256 --sub ci \
    --publish 'build/**' --publish 'jobs/**') || bail "sselog token failed"

# A body large enough to be cut in several places (about 60 KB of text).
seq 1 12000 | tr '\n' ' ' >"$T_WORK/body"
SIZE=$(wc -c <"$T_WORK/body")

keyed() {	# KEY: the ids of the events with that key, space-separated
	sql "SELECT id FROM events WHERE idem = '$1' ORDER BY id" | tr '\n' ' '
}
# shellcheck disable=SC2317 # called through wait_until
t_has_key() {
	[ -n "$(keyed "$1")" ]
}

# cut_retry DESC STREAM KEY BYTES [logged]: the client sends BYTES bytes
# of the request (headers and body) and is killed; with "logged", only
# once the event is in the log. Then the retry; the checks. (Not named
# cut: that would hide the command, which t_alive uses.)
N=0
cut_retry() {
	t_d=$1 t_stream=$2 t_key=$3 t_bytes=$4 t_when=${5:-}
	N=$((N + 1))
	{
		printf 'POST /events/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n' "$t_stream"
		printf 'Authorization: Bearer %s\r\nIdempotency-Key: %s\r\n' \
		    "$TOK" "$t_key"
		printf 'Content-Length: %s\r\nConnection: close\r\n\r\n' "$SIZE"
		cat "$T_WORK/body"
	} >"$T_WORK/request"
	t_head=$(($(wc -c <"$T_WORK/request") - SIZE))
	case $t_bytes in
	head) t_n=$t_head ;;
	half) t_n=$((t_head + SIZE / 2)) ;;
	short) t_n=$((t_head + SIZE - 1)) ;;
	all) t_n=$((t_head + SIZE)) ;;
	esac
	rm -f "$T_WORK/ready"
	python3 "$CUT" "$PORT" "$T_WORK/request" "$t_n" "$T_WORK/ready" \
	    2>"$T_WORK/cut.err" &
	t_pid=$!
	wait_until 10 test -e "$T_WORK/ready" ||
		bail "cut-request.py did not send: $(cat "$T_WORK/cut.err")"
	if [ "$t_when" = logged ]; then
		check "$t_d: the event is in the log while the client waits" \
		    wait_until 10 t_has_key "$t_key"
	fi
	kill -9 "$t_pid"
	wait "$t_pid" 2>/dev/null
	t_before=$(keyed "$t_key")
	case $t_bytes in
	all) ;;
	*)
		# Give the web server and the responder time to notice the
		# connection is gone, and to append whatever they would.
		sleep 0.5
		t_before=$(keyed "$t_key")
		is "$t_d: a request cut before its body ended appends nothing" \
		    "$t_before" ""
		;;
	esac
	fetch retry$N "http://127.0.0.1:$PORT/events/$t_stream" \
	    -H "Authorization: Bearer $TOK" -H "Idempotency-Key: $t_key" \
	    --data-binary "@$T_WORK/body"
	t_after=$(keyed "$t_key")
	t_id=$(cat "$T_WORK/retry$N.b")
	# Killed right after its last byte, the request may still be appended
	# while the retry runs (the key decides which one appends): 200 or
	# 201 then.
	if [ -n "$t_before" ]; then
		t_want=200
	elif [ "$t_bytes" = all ]; then
		t_want="200|201"
	else
		t_want=201
	fi
	case $t_after in
	"$t_id ")
		case $CODE in
		200 | 201) t_got=$CODE ;;
		*) t_got="$CODE, not 200 or 201" ;;
		esac
		case "|$t_want|" in
		*"|$t_got|"*)
			ok "$t_d: the retry answers $CODE with the id of the one event ($t_id)" ;;
		*)
			not_ok "$t_d: the retry answers $t_want with the id of the one event ($t_id)" \
			    "got $CODE; before the retry: '$t_before'" ;;
		esac ;;
	*)
		not_ok "$t_d: the retry answers $t_want with the id of the one event" \
		    "events with the key: '$t_after'; the retry: $CODE '$t_id'" ;;
	esac
	is "$t_d: the event is the whole body" \
	    "$(sql "SELECT length(data) FROM events WHERE idem = '$t_key'")" \
	    "$SIZE"
}

for s in build/1 jobs/1; do
	case $s in
	build/*) how="unbuffered" ;;
	*) how="nginx buffers the body" ;;
	esac
	cut_retry "$s ($how), killed after the headers" "$s" "$s-head" head
	cut_retry "$s ($how), killed in the middle of the body" "$s" "$s-half" half
	cut_retry "$s ($how), killed one byte short of the body's end" "$s" \
	    "$s-short" short
	cut_retry "$s ($how), killed right after the body's last byte" "$s" \
	    "$s-all" all
	cut_retry "$s ($how), killed once the event is in the log, the answer unread" \
	    "$s" "$s-logged" all logged
done
is "ten requests, each cut and retried: ten events in all" \
    "$(sql "SELECT count(*) FROM events")" 10
# shellcheck disable=SC2154 # start_daemon sets PID_responder
check "the responder still runs" t_alive "$PID_responder"

no_leftovers
done_testing
