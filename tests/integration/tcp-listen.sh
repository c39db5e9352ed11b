#!/bin/sh
# sselog-fcgi on a TCP socket of its own (--listen 127.0.0.1:PORT) behind
# nginx, and FCGI_WEB_SERVER_ADDRS, the comma-separated list of addresses
# that may connect over TCP (as libfcgi reads it): a peer not in the list
# is hung up on, which nginx reports as 502.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
FPORT=$(free_port)

template nginx.conf "$RUNDIR/sselog.conf" \
    -e "s|fastcgi_pass unix:$SOCK;|fastcgi_pass 127.0.0.1:$FPORT;|"
grep -q "fastcgi_pass 127.0.0.1:$FPORT;" "$RUNDIR/sselog.conf" ||
	bail "no fastcgi_pass to change in contrib/nginx.conf"

t_listens() {
	ss -Htln "sport = :$FPORT" 2>/dev/null | grep -q .
}
responder() {	# NAME ADDRS
	# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
	start_daemon "$1" env FCGI_WEB_SERVER_ADDRS="$2" $AS_WWW \
	    "$SSELOG_FCGI" -d "$DB" --listen "127.0.0.1:$FPORT" \
	    --prefix /events/ $RESPONDER_ARGS
	wait_until 10 t_listens || bail "the responder does not listen"
}
stop_responder() {	# PID
	kill "$1"
	wait_until 10 t_gone "$1" || bail "the responder does not stop"
}

id=$(sselog publish t/1 "over TCP")

responder listed "127.0.0.2, 127.0.0.1"
nginx_start "$PORT" "$RUNDIR/sselog.conf"
fetch listed "http://127.0.0.1:$PORT/events/t/1" \
    -H "Last-Event-ID: 0" --max-time 2
is "127.0.0.1 listed in FCGI_WEB_SERVER_ADDRS: the stream is served" \
    "$(status_of listed) $(grep -c "^id: $id" "$T_WORK/listed.b")" "200 1"

# Over TCP, a request head is looked at in the socket's receive buffer
# before anything reads it: big heads, in small records or large, must
# still get their answer at once, not a reset after 10 s.
raw() {	# PARAM_BYTES RECORD_BYTES
	python3 "$SRCDIR/tests/integration/fcgi-raw.py" "$FPORT" "$1" "$2"
}
is "a 125,000-byte request head in 100-byte records over TCP: served" \
    "$(raw 125000 100)" "Status: 200 OK"
is "200 KB of parameters in 8 KiB records over TCP: 431" \
    "$(raw 200000 8192)" "Status: 431 Request Header Fields Too Large"
is "200 KB of parameters in 100-byte records over TCP: 431" \
    "$(raw 200000 100)" "Status: 431 Request Header Fields Too Large"

# shellcheck disable=SC2154 # start_daemon sets PID_*
stop_responder "$PID_listed"

responder unlisted "127.0.0.2"
fetch unlisted "http://127.0.0.1:$PORT/events/t/1" -I
is_code "127.0.0.1 not listed: hung up on (nginx says 502)" 502 unlisted
fetch unlisted2 "http://127.0.0.1:$PORT/events/t/1" -I
is_code "... every time, and the responder keeps running" 502 unlisted2
check "... still running" t_alive "$PID_unlisted"
stop_responder "$PID_unlisted"

no_leftovers
done_testing
