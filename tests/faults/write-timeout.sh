#!/bin/sh
# --write-timeout: a client with pending output that reads nothing is
# dropped once the timeout has passed, and said so in one line of the
# error log; a healthy idle client (nothing pending, heartbeats flowing)
# is never dropped by it. The responder runs with --write-timeout 2,
# --heartbeat 1 and --max-pending 64 MiB, so that only the timeout can drop
# anyone. Straight over FastCGI (tests/faults/fault-client.c), and through
# nginx for the idle client:
#
# - a client that asks for a 6.4 MB backlog (200 events of 32 KB) and
#   reads nothing: dropped 2 to 4 s after it asked;
# - a live client that reads nothing while 10 events of 256 KB arrive:
#   dropped 2 to 4 s after they were published;
# - a client that reads, and one that reads nothing for 8 s on a quiet
#   stream (its heartbeats fit in the socket's buffer), and a curl
#   through nginx: all still open after 8 s (four timeouts), with
#   heartbeats.

# Functions below are only called through wait_until; eval sets FC_*,
# STREAM_* and the like.
# shellcheck disable=SC2317,SC2154
. "$SRCDIR/tests/faults/lib.sh"

f_helpers
TIMEOUT_S=2
PORT=$(free_port)
f_nginx_conf "$PORT"
f_responder_start responder --write-timeout "$TIMEOUT_S" --heartbeat 1 \
    --max-pending 67108864
f_nginx_start nginx
RLOG=$RUNDIR/responder.log
B=http://127.0.0.1:$PORT/events/

# 200 events of 32 KB on wt/1, in one transaction.
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 200) INSERT INTO events (stream, data)
    SELECT 'wt/1', hex(randomblob(16384)) FROM n;" ||
	bail "cannot publish the backlog"

# fault-client fcgi NAME WAIT_MS URI [OPS...]: a GET of URI, in the
# background; its body in NAME.out, its result line in NAME.err.
fcgi_get() {
	t_n=$1 t_wait=$2 t_uri=$3
	shift 3
	"$FAULT_CLIENT" fcgi "$SOCK" "$t_wait" begin \
	    param:REQUEST_METHOD=GET "param:REQUEST_URI=$t_uri" \
	    "param:QUERY_STRING=${t_uri#*\?}" \
	    param:HTTP_ACCEPT=text/event-stream params stdin "$@" \
	    >"$T_WORK/$t_n.out" 2>"$T_WORK/$t_n.err" &
	eval "FC_$t_n=\$!"
	T_STREAMS="$T_STREAMS $!"
}
said() {	# STREAM: the log has a line saying a client of it was dropped
	grep 'read nothing' "$RLOG" | grep -qF "($1"
}

# The healthy ones first, so that they live through every drop below.
fcgi_get reader 8000 /events/wt/3
fcgi_get idle 1000 /events/wt/3 sleep:8000
open_stream viaweb "${B}wt/3" -H 'Accept: text/event-stream'
t_idle=$(t_now_ms)

# A backlog, not read.
t_a=$(t_now_ms)
fcgi_get backlog 3000 '/events/wt/1?lastEventId=0' sleep:6000
# A live client, not reading, while big events arrive.
fcgi_get live 3000 /events/wt/2 sleep:7000
sleep 0.5
big=$(awk 'BEGIN { while (i++ < 262144) printf "x" }')
t_b=$(t_now_ms)
i=0
while [ "$i" -lt 10 ]; do
	i=$((i + 1))
	printf '%s' "$big" | sselog publish wt/2 - >/dev/null ||
		bail "cannot publish to wt/2"
done

if wait_until 10 said wt/1; then
	t=$(($(t_now_ms) - t_a))
	if [ "$t" -ge $((TIMEOUT_S * 1000)) ] &&
	    [ "$t" -le $((TIMEOUT_S * 1000 + 2000)) ]; then
		ok "a client that reads nothing of its backlog is dropped after the timeout ($t ms after it asked)"
	else
		not_ok "a client that reads nothing of its backlog is dropped after the timeout" \
		    "dropped $t ms after it asked; expected $TIMEOUT_S to $((TIMEOUT_S + 2)) s"
	fi
else
	not_ok "a client that reads nothing of its backlog is dropped" \
	    "not within 10 s; log: $(cat "$RLOG")"
fi
if wait_until 10 said wt/2; then
	t=$(($(t_now_ms) - t_b))
	if [ "$t" -le $((TIMEOUT_S * 1000 + 2000)) ]; then
		ok "a live client that reads nothing of big events is dropped after the timeout ($t ms after the first was published)"
	else
		not_ok "a live client that reads nothing of big events is dropped after the timeout" \
		    "dropped $t ms after the first event; expected at most $((TIMEOUT_S + 2)) s"
	fi
else
	not_ok "a live client that reads nothing of big events is dropped" \
	    "not within 10 s; log: $(cat "$RLOG")"
fi
is "one line in the error log for each" \
    "$(grep -c 'read nothing' "$RLOG")" 2
echo "# $(grep 'read nothing' "$RLOG" | head -n 1)"

for n in backlog live; do
	eval "pid=\$FC_$n"
	wait_until 15 t_gone "$pid"
	wait "$pid"
	case $(cat "$T_WORK/$n.err") in
	*"end_request=0"*) ok "$n: the connection was closed without an end of request ($(cat "$T_WORK/$n.err"))" ;;
	*) not_ok "$n: the connection was closed without an end of request" \
	    "$(cat "$T_WORK/$n.err")" ;;
	esac
done

# ---- the healthy idle clients, four timeouts later ----
for n in reader idle; do
	eval "pid=\$FC_$n"
	wait_until 15 t_gone "$pid"
	wait "$pid"
	beats=$(grep -c '^:' "$T_WORK/$n.out")
	case $(cat "$T_WORK/$n.err") in
	*"end=timeout end_request=0"*)
		if [ "$beats" -ge 5 ]; then
			ok "$n: an idle client is still open after $((($(t_now_ms) - t_idle) / 1000)) s, with $beats heartbeats"
		else
			not_ok "$n: an idle client gets heartbeats" "$beats: $(cat "$T_WORK/$n.out")"
		fi ;;
	*) not_ok "$n: an idle client is still open after 8 s" \
	    "$(cat "$T_WORK/$n.err")" ;;
	esac
done
if t_alive "$STREAM_viaweb" && [ "$(grep -c '^:' "$T_WORK/viaweb.b")" -ge 5 ]; then
	ok "an idle client through nginx is still open after $((($(t_now_ms) - t_idle) / 1000)) s, with heartbeats"
else
	not_ok "an idle client through nginx is still open, with heartbeats" \
	    "body: $(head -c 200 "$T_WORK/viaweb.b")"
fi
e=$(sselog publish wt/3 still-here)
arrives "... and gets the next event" viaweb "id: $e"
s=$(f_stats "$RLOG" "$F_RESPONDER")
case $s in
*" 2 clients dropped"*) ok "the counters count the two drops" ;;
*) not_ok "the counters count the two drops" "$s" ;;
esac

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
done_testing
