#!/bin/sh
# Bad input, through nginx (contrib/nginx.conf) and straight to the
# responder's FastCGI socket: bad Last-Event-ID values, bad stream names,
# 1,000 stream= parameters, huge query strings and headers, every HTTP
# method that nginx passes on, clients leaving in the middle of a replay,
# and malformed FastCGI records (bad version, truncated header, huge
# lengths, wrong record types, parameters without FCGI_BEGIN_REQUEST,
# garbage, half a record and a stall). Each gets a clear 4xx (from the
# responder: one line of text/plain), or, for broken FastCGI, a closed
# connection; and the responder keeps serving everyone else: a stream
# opened before all this still receives events after each group of
# cases, and new clients are served.
#
# tests/integration/lib.sh's sse_suite has more cases of the same kinds;
# this table adds those it lacks, and the raw FastCGI ones.

# Several functions below are only called through wait_until; start_daemon,
# open_stream and eval set PID_*, STREAM_* and the like; the sh -c scripts
# expand their own arguments.
# shellcheck disable=SC2317,SC2154,SC2016
. "$SRCDIR/tests/faults/lib.sh"

T_START=$(t_now_ms)
f_helpers
PORT=$(free_port)
PORT2=$(free_port)
# A second server on PORT2 with large header buffers, so that longer
# requests reach the responder (nginx itself refuses FastCGI parameter
# records above 64 KB, with a 500 of its own: 1 MB inputs go straight to
# the socket below).
f_nginx_conf "$PORT" 256 "server {
        listen 127.0.0.1:$PORT2;
        root $WWW;
        large_client_header_buffers 4 256k;
        include $RUNDIR/sselog.conf;
    }"
f_responder_start responder
f_nginx_start nginx
RLOG=$RUNDIR/responder.log
B=http://127.0.0.1:$PORT/events/
B2=http://127.0.0.1:$PORT2/events/
FC=$FAULT_CLIENT

k1=$(sselog publish keep/1 "first")
open_stream before "${B}keep/1" --max-time 300
N_BEFORE=0

# After each group of cases: the responder still runs, the stream opened
# at the start gets a new event, and a new client is served.
still_serving() {
	N_BEFORE=$((N_BEFORE + 1))
	t_id=$(sselog publish keep/1 "after $1")
	if t_alive "$F_RESPONDER" && wait_until 5 t_body_has before "id: $t_id"
	then
		ok "after $1: the stream opened before still receives events"
	else
		not_ok "after $1: the stream opened before still receives events" \
		    "responder $(t_alive "$F_RESPONDER" && echo running || echo gone)" \
		    "log: $(tail -n 5 "$RLOG")"
	fi
	fetch new "${B}keep/1" -I
	is_code "after $1: a new client is served" 200 new
}

# ---- Last-Event-ID ----

for v in abc -1 1e3 12345678901234567890 "5 6" 0x10 +5 5.0 "٥"; do
	refused "Last-Event-ID '$v': 400" 400 "${B}keep/1" -H "Last-Event-ID: $v"
done
for v in abc -1 1e3 12345678901234567890 %205 5%20 %09 %2B5 %EF%BC%95; do
	refused "lastEventId=$v: 400" 400 "${B}keep/1?lastEventId=$v"
done
# nginx drops the space around a header's value: " 5" arrives as "5".
fetch sp "${B}keep/1" -I -H "Last-Event-ID:  5"
is_code "Last-Event-ID ' 5' (nginx strips the space): 200" 200 sp
refused "a 60 KB Last-Event-ID (through the large-buffer server): 400" 400 \
    "${B2}keep/1" -H "Last-Event-ID: $(head -c 60000 /dev/zero | tr '\0' 1)"
still_serving "bad Last-Event-IDs"

# ---- stream names ----

t_long=$(printf '%0201d' 7)
for n in "$t_long" a%20b a%3Cb %C3%A9 a%2A a%2F %2Fa . %2E .. %2E%2E \
    a%2F..%2Fb a%2F.%2Fb a%2F%2Fb a%0D%0Ab a%0Ab a%0Db a%09b a%25 a%22b \
    a%5Cb "a%3B"; do
	refused "stream=$(printf '%.40s' "$n"): 400" 400 "${B}?stream=$n"
done
refused "stream=a%2 (a cut escape): 400" 400 "${B}?stream=a%2"
refused "stream=%00: 400" 400 "${B}?stream=%00"
for p in "$t_long" a//b a/./b a/../b x/%2e%2e x/%2E%2E/y a%0D%0Ab a%2F..%2Fb \
    'a%20b' '%C3%A9'; do
	refused "path /events/$(printf '%.40s' "$p"): 400" 400 "${B}$p" --path-as-is
done

q=
i=0
while [ "$i" -lt 1000 ]; do
	i=$((i + 1))
	q="${q}stream=s$i&"
done
refused "1,000 stream= parameters through the large-buffer server: 400" 400 \
    "${B2}?$q"
q=
i=0
while [ "$i" -lt 1000 ]; do
	i=$((i + 1))
	q="${q}stream=keep/1&"
done
fetch same "${B2}?$q" -I
is_code "the same stream= 1,000 times: one stream, 200" 200 same
still_serving "bad stream names"

# ---- huge requests through nginx ----

# nginx answers a 1 MB query string or header itself (414, 400): the
# responder never sees them; the FastCGI cases below send it 1 MB
# straight. The large-buffer server passes these on (a query string
# twice: in QUERY_STRING and REQUEST_URI).
fetch big "${B2}keep/1?pad=$(printf '%030000d' 0)" -I
is_code "a 30 KB query string through the large-buffer server: served (200)" \
    200 big
fetch big "${B2}keep/1" -I -H "X-Big: $(printf '%060000d' 0)"
is_code "a 60 KB header through the large-buffer server: served (200)" \
    200 big
still_serving "huge requests"

# ---- every method ----

for m in POST PUT DELETE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE LOCK \
    UNLOCK SEARCH PURGE REPORT FOO M-SEARCH; do
	refused "$m: 405" 405 "${B}keep/1" -X "$m"
	is_header "... with Allow" err Allow "GET, HEAD, OPTIONS"
done
fetch m "${B}keep/1" -I
is_code "HEAD: 200" 200 m
fetch m "${B}keep/1" -X OPTIONS
is_code "OPTIONS: 204" 204 m
still_serving "every method"

# ---- clients that leave in the middle of a replay ----

"$FC" tick 0 20000 200 | sselog pipe replay/1 || bail "cannot publish"
rc=$(sselog close replay/1)
t_open() {
	[ "$(f_open_streams "$RLOG" "$F_RESPONDER")" = "$1" ]
}
t_base=$(f_open_streams "$RLOG" "$F_RESPONDER")
# curl dies of SIGPIPE once head has 200 KB (of the 5 MB replay).
i=0
while [ "$i" -lt 5 ]; do
	i=$((i + 1))
	curl -sN --max-time 20 "${B}replay/1?lastEventId=0" | head -c 200000 \
	    >/dev/null
done
if wait_until 5 t_open "$t_base"; then
	ok "5 clients leave in the middle of a replay (through nginx): the responder lets go of them"
else
	not_ok "5 clients leave in the middle of a replay (through nginx): the responder lets go of them" \
	    "open streams: $(f_open_streams "$RLOG" "$F_RESPONDER"), expected $t_base"
fi
i=0
while [ "$i" -lt 5 ]; do
	i=$((i + 1))
	"$FC" fcgi "$SOCK" 5000 begin param:REQUEST_METHOD=GET \
	    param:REQUEST_URI=/events/replay/1 param:QUERY_STRING=lastEventId=0 \
	    params stdin readmax:200000 >/dev/null 2>&1
done
if wait_until 5 t_open "$t_base"; then
	ok "5 FastCGI connections closed in the middle of a replay: the responder lets go of them"
else
	not_ok "5 FastCGI connections closed in the middle of a replay: the responder lets go of them" \
	    "open streams: $(f_open_streams "$RLOG" "$F_RESPONDER"), expected $t_base"
fi
fetch full "${B}replay/1?lastEventId=0" --max-time 30
is "... and a client that stays gets the whole replay: 20,001 events, the close last" \
    "$CODE $CURL_RC $(grep -c '^id: ' "$T_WORK/full.b") $(grep '^id: ' "$T_WORK/full.b" | tail -n 1)" \
    "200 0 20001 id: $rc"
still_serving "clients leaving mid-replay"

# ---- straight to the FastCGI socket: well-formed, with bad values ----

# fcgi_req NAME METHOD [OP...]: a whole request for /events/keep/1 (or
# for the URI that FCGI_URI names), its answer in $T_WORK/NAME.out and the
# client's result line in $T_WORK/NAME.res (a stream that stays open is
# cut after 5 s).
fcgi_req() {
	t_n=$1 t_m=$2
	shift 2
	set -- begin "param:REQUEST_METHOD=$t_m" \
	    "param:REQUEST_URI=${FCGI_URI:-/events/keep/1}" "$@" params stdin
	"$FC" fcgi "$SOCK" 5000 "$@" >"$T_WORK/$t_n.out" 2>"$T_WORK/$t_n.res"
}
fcgi_status() {
	sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T_WORK/$1.out" | head -n 1
}
# A complete answer with this status (FCGI_END_REQUEST came).
fcgi_is() {	# DESCRIPTION NAME STATUS
	if [ "$(fcgi_status "$2")" = "$3" ] &&
	    grep -q 'end_request=1' "$T_WORK/$2.res"; then
		ok "$1"
	else
		not_ok "$1" "expected a complete $3 answer; got:" \
		    "$(head -c 300 "$T_WORK/$2.out")" "$(cat "$T_WORK/$2.res")"
	fi
}

fcgi_req ok0 HEAD
fcgi_is "FastCGI: a well-formed HEAD request: 200" ok0 200
for v in " 5" "5 " "	5" "٥" "5x"; do
	fcgi_req leid GET "param:HTTP_LAST_EVENT_ID=$v"
	fcgi_is "FastCGI: HTTP_LAST_EVENT_ID '$v': 400" leid 400
done
# Parameters up to 128 KiB in all are read; the values below stay just
# under that, and 1 MB gets 431 from the responder before anything reads it.
fcgi_req big HEAD \
    "param-repeat:HTTP_LAST_EVENT_ID:120000:1"
fcgi_is "FastCGI: a 120 KB HTTP_LAST_EVENT_ID: 400" big 400
fcgi_req big HEAD "param-repeat:QUERY_STRING:120000:x"
fcgi_is "FastCGI: a 120 KB query string (one unknown parameter), the stream in the path: 200" \
    big 200
fcgi_req big HEAD "param-repeat:HTTP_X_BIG:120000:x"
fcgi_is "FastCGI: a 120 KB header (HTTP_X_BIG): served, 200" big 200
fcgi_req big HEAD \
    "param-repeat:QUERY_STRING:11000:stream=a/b&"
fcgi_is "FastCGI: a 121 KB query string, the same stream 11,000 times: one stream, 200" \
    big 200
FCGI_URI=/events/ fcgi_req big HEAD \
    "param-repeat:QUERY_STRING:12000:x=0123456&"
fcgi_is "FastCGI: a 120 KB query string of unknown parameters, no stream: 400" \
    big 400
FCGI_URI=/events/ fcgi_req big HEAD prefix:stream= \
    "param-repeat:QUERY_STRING:40000:%41"
fcgi_is "FastCGI: a 120 KB stream name of escapes: 400" big 400
FCGI_URI=/events/ fcgi_req big HEAD \
    "param-repeat:QUERY_STRING:10000:stream=a/%41&"
fcgi_is "FastCGI: 120 KB of stream=a/%41 (one name, escaped): 200" big 200
FCGI_URI=/events/ fcgi_req big HEAD prefix:stream=keep/1 \
    "param-repeat:QUERY_STRING:15000:&stream="
fcgi_is "FastCGI: 15,000 empty stream= parameters: 400" big 400
fcgi_req big HEAD "param-repeat:QUERY_STRING:1048576:x"
fcgi_is "FastCGI: a 1 MB query string: 431" big 431
fcgi_req big HEAD "param-repeat:HTTP_X_BIG:1048576:x"
fcgi_is "FastCGI: a 1 MB header: 431" big 431
# The 1,000 operations in one pass: growing "$@" one at a time, with a
# subshell for each value, took 25 s of the shell's CPU (each set -- copies
# the whole list). The words hold no blank nor glob character.
t_h=$(printf '%0100d' 0)
# shellcheck disable=SC2046 # one operation a line
set -- $(seq 1000 | sed "s/.*/param:HTTP_X_H&=$t_h/")
fcgi_req many HEAD "$@"
fcgi_is "FastCGI: 1,000 headers: 200" many 200
fcgi_req nomethod ""
fcgi_is "FastCGI: an empty REQUEST_METHOD: 405" nomethod 405
still_serving "bad values over FastCGI"

# ---- straight to the FastCGI socket: broken records ----

# broken DESCRIPTION OP...: the responder must close the connection
# within 5 s of the client's half-close, and not answer 200.
broken() {
	t_desc=$1
	shift
	"$FC" fcgi "$SOCK" 5000 "$@" shut >"$T_WORK/broken.out" \
	    2>"$T_WORK/broken.res"
	if grep -q 'end=eof\|end=reset' "$T_WORK/broken.res" &&
	    ! grep -q '^Status: 200' "$T_WORK/broken.out"; then
		ok "FastCGI, $t_desc: connection closed$(grep -q '^Status' "$T_WORK/broken.out" && printf ' after %s' "$(sed -n 's/^Status: //p' "$T_WORK/broken.out" | tr -d '\r')")"
	else
		not_ok "FastCGI, $t_desc: connection closed" \
		    "$(cat "$T_WORK/broken.res")" \
		    "$(head -c 200 "$T_WORK/broken.out")"
	fi
}

broken "bad version (2) in the first record" \
    record:2:1:1:8:0:0001000000000000
broken "bad version (0) in a params record" begin record:0:4:1:0:0
broken "a truncated header (2 bytes)" hex:0101
broken "a truncated header after a begin" begin hex:01040001
broken "content length 65535, 2 bytes sent" begin \
    record:1:4:1:65535:255:0102
broken "padding length 255, nothing sent" begin record:1:4:1:0:255
broken "params without FCGI_BEGIN_REQUEST" param:REQUEST_METHOD=GET param:REQUEST_URI=/events/keep/1 params stdin
broken "stdin without FCGI_BEGIN_REQUEST" stdin
broken "FCGI_STDOUT from the client" begin record:1:6:1:2:0:6869
broken "FCGI_END_REQUEST from the client" begin \
    record:1:3:1:8:0:0000000000000000
broken "record type 99" begin record:1:99:1:0:0
broken "FCGI_UNKNOWN_TYPE from the client" begin \
    record:1:11:1:8:0:0000000000000000
broken "FCGI_GET_VALUES, then nothing" \
    record:1:9:0:14:2:0e034643474900000000000000000000
# A responder that knows only its own role must refuse the others (FastCGI
# 1.0, section 5.1: FCGI_END_REQUEST with FCGI_UNKNOWN_ROLE).
unknown_role() {	# DESCRIPTION ROLE
	"$FC" fcgi "$SOCK" 5000 "begin:1:$2:0" param:REQUEST_METHOD=GET \
	    param:REQUEST_URI=/events/keep/1 params stdin shut \
	    >"$T_WORK/role.out" 2>"$T_WORK/role.res"
	if grep -q 'protocol_status=3' "$T_WORK/role.res" &&
	    grep -q 'end=eof' "$T_WORK/role.res" &&
	    ! [ -s "$T_WORK/role.out" ]; then
		ok "FastCGI, $1: FCGI_UNKNOWN_ROLE, no output, closed"
	else
		not_ok "FastCGI, $1: FCGI_UNKNOWN_ROLE, no output, closed" \
		    "$(cat "$T_WORK/role.res")" \
		    "$(head -c 200 "$T_WORK/role.out")"
	fi
}
unknown_role "role 2 (authorizer)" 2
unknown_role "role 3 (filter)" 3
unknown_role "role 99" 99
broken "a params record for another request id" begin:1 param:REQUEST_METHOD=GET param:REQUEST_URI=/events/keep/1 params:2 stdin:2
broken "1,000 garbage bytes" garbage:1000
broken "100,000 garbage bytes" garbage:100000
broken "a begin, then garbage" begin garbage:5000
broken "a name length of 2^31 - 1" begin record:1:4:1:8:0:ffffffff01000000
still_serving "broken FastCGI records"

# ---- half a record, then nothing ----

# A peer that stalls holds one of the threads that read requests. One
# must not keep others out; nor must a few: the responder must time them
# out (10 s for its parameters), and serve the others meanwhile.
stall() {	# N: N connections that send half a header and stall
	t_k=0
	STALLERS=
	while [ "$t_k" -lt "$1" ]; do
		t_k=$((t_k + 1))
		"$FC" fcgi "$SOCK" 30000 hex:0101 >/dev/null \
		    2>"$T_WORK/stall.$1.$t_k.res" &
		STALLERS="$STALLERS $!"
		T_STREAMS="$T_STREAMS $!"
	done
}
served_at_once() {	# DESCRIPTION
	t0=$(t_now_ms)
	fetch quick "${B}keep/1" -I --max-time 5
	t_ms=$(($(t_now_ms) - t0))
	if [ "$CODE" = 200 ] && [ "$t_ms" -lt 2000 ]; then
		ok "$1: a new client is served at once ($t_ms ms)"
	else
		not_ok "$1: a new client is served at once" \
		    "HTTP $CODE after $t_ms ms (curl exit $CURL_RC)"
	fi
}
stall 1
sleep 0.3
served_at_once "one connection stalls after half a header"
for t_p in $STALLERS; do kill "$t_p" 2>/dev/null; wait "$t_p" 2>/dev/null; done
stall 8
sleep 0.3
served_at_once "8 connections stall after half a header"
stalled_closed() {
	for t_p in $STALLERS; do
		t_alive "$t_p" && return 1
	done
	return 0
}
if wait_until 15 stalled_closed; then
	ok "... and the responder closes them (within 15 s)"
else
	not_ok "... and the responder closes them (within 15 s)" \
	    "still open after 15 s: $(cat "$T_WORK"/stall.8.*.res 2>/dev/null | wc -l) of 8 closed"
fi
for t_p in $STALLERS; do kill "$t_p" 2>/dev/null; wait "$t_p" 2>/dev/null; done
still_serving "stalled connections"

# ---- peers that trickle ----

# One thread holds every connection that is still sending its request
# head, and has libfcgi decode the whole ones: no peer may hold it up,
# neither one that sends its head a byte at a time nor one that trickles
# bytes after a whole head (libfcgi must read nothing past the head, nor
# wait for the peer when it closes). 8 of each, a byte every 0.5 s for
# 10 s; meanwhile a request through nginx and one straight to the
# socket, twice a second, must each be answered within 1 s.
TRICKLERS=
trickle() {	# NAME OP...: the OPs, then a byte every 0.5 s, 20 times
	t_name=$1
	shift
	t_i=0
	while [ "$t_i" -lt 20 ]; do
		t_i=$((t_i + 1))
		set -- "$@" sleep:500 hex:05
	done
	"$FC" fcgi "$SOCK" 500 "$@" >"$T_WORK/trickle.$t_name.out" \
	    2>"$T_WORK/trickle.$t_name.res" &
	TRICKLERS="$TRICKLERS $!"
	T_STREAMS="$T_STREAMS $!"
}
# The first 20 bytes of a head, one every 0.5 s.
t_slow_head=
t_hex=0101000100080000000100000000000001040001
while [ -n "$t_hex" ]; do
	t_rest=${t_hex#??}
	t_slow_head="$t_slow_head sleep:500 hex:${t_hex%"$t_rest"}"
	t_hex=$t_rest
done
t_k=0
while [ "$t_k" -lt 8 ]; do
	t_k=$((t_k + 1))
	# shellcheck disable=SC2086 # one operation a word
	trickle "head$t_k" $t_slow_head
	trickle "after$t_k" begin param:REQUEST_METHOD=GET \
	    param:REQUEST_URI=/events/keep/1 params
done
sleep 0.5
t_max=0
t_late=
t_k=0
while [ "$t_k" -lt 16 ]; do
	t_k=$((t_k + 1))
	t0=$(t_now_ms)
	fetch quick "${B}keep/1" -I --max-time 5
	t_ms=$(($(t_now_ms) - t0))
	[ "$CODE" = 200 ] && [ "$t_ms" -lt 1000 ] ||
		t_late="$t_late nginx: HTTP $CODE after $t_ms ms;"
	[ "$t_ms" -gt "$t_max" ] && t_max=$t_ms
	t0=$(t_now_ms)
	fcgi_req quick HEAD
	t_ms=$(($(t_now_ms) - t0))
	[ "$(fcgi_status quick)" = 200 ] && [ "$t_ms" -lt 1000 ] ||
		t_late="$t_late socket: $(fcgi_status quick) after $t_ms ms;"
	[ "$t_ms" -gt "$t_max" ] && t_max=$t_ms
	sleep 0.25
done
t_still=0
for t_p in $TRICKLERS; do
	t_alive "$t_p" && t_still=$((t_still + 1))
done
if [ -z "$t_late" ] && [ "$t_still" -gt 0 ]; then
	ok "16 peers trickle bytes: 32 requests meanwhile, each answered within 1 s (slowest $t_max ms)"
else
	not_ok "16 peers trickle bytes: 32 requests meanwhile, each answered within 1 s" \
	    "late or failed:$t_late" "tricklers still sending at the end: $t_still"
fi
for t_p in $TRICKLERS; do wait "$t_p" 2>/dev/null; done
t_served=0
t_k=0
while [ "$t_k" -lt 8 ]; do
	t_k=$((t_k + 1))
	grep -q '^Status: 200' "$T_WORK/trickle.after$t_k.out" &&
		t_served=$((t_served + 1))
done
is "... and the 8 that trickle after a whole head had their streams opened" \
    "$t_served" 8
still_serving "peers that trickle"

# ---- last: lengths that overflow ----

# Name and value lengths of 2^30 each: their sum overflows an int.
broken "name and value lengths of 2^30 each" begin \
    record:1:4:1:8:0:c0000000c0000000
still_serving "name and value lengths of 2^30"

sselog close keep/1 >/dev/null
end_stream before 10
t_stream_ok "the stream opened before all this ends cleanly" before
is "... having received every event published meanwhile, and the close" \
    "$(grep -c '^id: ' "$T_WORK/before.b")" "$((N_BEFORE + 1))"
: "$k1"

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 8
echo "# took $(( ($(t_now_ms) - T_START) / 1000 )) s"
done_testing
