#!/bin/sh
# Prometheus metrics behind nginx (contrib/nginx.conf's /sselog-metrics),
# from three responders on one socket (spawn-fcgi -F 3): with 30 streams
# open, every scrape, whichever process answers it, says 30 clients and
# 3 processes; the events sent add up to what the 30 clients got, the
# clients dropped to the clients that did not read; promtool finds
# nothing to fix; the same path without SSELOG_METRICS, or a client's
# header of that name, is no metrics. A responder killed with SIGKILL
# takes its streams with it, but no counter goes down; and where the
# socket outlives its processes (a supervisor that replaces the dead one
# on the same socket, tests/integration/fcgi-pool.py), the replacement
# counts on from the dead one's figures.
# shellcheck disable=SC2154 # start_daemon sets PID_*
. "$SRCDIR/tests/integration/lib.sh"

for t_tool in spawn-fcgi promtool python3; do
	command -v "$t_tool" >/dev/null 2>&1 ||
		bail "$t_tool is not installed (run build-aux/deps test)"
done

# Small, so that a client that does not read is dropped soon.
RESPONDER_ARGS="$RESPONDER_ARGS --max-pending 65536"
PORT=$(free_port)
PLAIN=$(free_port)
template nginx.conf "$RUNDIR/sselog.conf"
# A second server whose /sselog-metrics passes the request on without
# SSELOG_METRICS: the same path, to the same responders.
nginx_conf "$PORT" "$RUNDIR/sselog.conf" 256 "server {
        listen 127.0.0.1:$PLAIN;
        location = /sselog-metrics {
            fastcgi_pass unix:$SOCK;
            include fastcgi_params;
        }
    }"
nginx_run nginx "$PORT"
BASE=http://127.0.0.1:$PORT/events
METRICS=http://127.0.0.1:$PORT/sselog-metrics

# scrape NAME: the metrics through nginx into $T_WORK/NAME.b.
scrape() {
	fetch "$1" "$METRICS"
}
# value NAME SERIES: the value of SERIES (with its labels) in scrape NAME.
value() {
	awk -v s="$2" '$1 == s { print $2 }' "$T_WORK/$1.b"
}
# scrapes N SERIES: the distinct values of SERIES in N scrapes, one line;
# "missing" for a scrape that did not say it. One curl makes the N
# requests, one after the other (each a FastCGI connection of its own
# from nginx, which any of the responders may accept): a curl for each
# was most of this test's CPU.
scrapes() {
	t_urls=
	t_i=0
	while [ "$t_i" -lt "$1" ]; do
		t_urls="$t_urls $METRICS"
		t_i=$((t_i + 1))
	done
	# shellcheck disable=SC2086 # the URLs are words
	curl -s --max-time 30 $t_urls |
	    awk -v s="$2" -v n="$1" '$1 == s { print $2; got++ }
	        END { while (got++ < n) print "missing" }' |
	    sort -u | tr '\n' ' ' | sed 's/ $//'
}
# says SERIES VALUE: a scrape now says so.
says() {
	scrape says && [ "$(value says "$1")" = "$2" ]
}
# The number of event ids the open streams S1..S30 received.
ids_received() {
	cat "$T_WORK"/s[0-9]*.b | grep -c '^id: '
}
# in_all PREFIX N LINE: whether each of the bodies PREFIX1..PREFIXN holds
# LINE (one grep for them all, polled: a grep for each was 30 processes
# every 50 ms).
in_all() {
	[ "$(cd "$T_WORK" && grep -lx -e "$3" $(seq -f "$1%g.b" 1 "$2") |
	    wc -l)" -eq "$2" ]
}
# Whether every one of the 30 streams received event ID.
all_have() {
	in_all s 30 "id: $1"
}
# The connections each responder holds, as "PID:N ...": its FastCGI
# connections (and on PostgreSQL the log's).
spread() {
	for t_p in $(responder_pids); do
		t_n=$(find "/proc/$t_p/fd" -lname 'socket:*' 2>/dev/null |
		    wc -l)
		printf '%s:%s ' "$t_p" $((t_n - 1))	# less the listener
	done
}

first=$(sselog publish m/1 "the first")

# ---- three responders on one socket ----
# shellcheck disable=SC2086 # the responder's arguments are words
spawn-fcgi -s "$SOCK" -M 0666 -u "$WWW_USER" -g "$WWW_USER" -F 3 -- \
    "$SSELOG_FCGI" -d "$DB" --prefix /events/ $RESPONDER_ARGS \
    >"$RUNDIR/spawn-fcgi.log" 2>&1 ||
	bail "spawn-fcgi failed: $(cat "$RUNDIR/spawn-fcgi.log")"
wait_until 10 listening || bail "nothing listens on $SOCK"
three() {
	[ "$(echo $(responder_pids) | wc -w)" -eq 3 ]
}
wait_until 10 three || bail "spawn-fcgi -F 3 did not start 3 responders"
pids=$(responder_pids)
check "three responders: a scrape says sselog_processes 3" \
    wait_until 10 says sselog_processes 3

scrape first
is_code "GET /sselog-metrics: 200" 200 first
is_header "... text/plain; version=0.0.4" first Content-Type \
    "text/plain; version=0.0.4; charset=utf-8"
promtool check metrics <"$T_WORK/first.b" >"$T_WORK/promtool.out" 2>&1
is "... promtool check metrics finds nothing" \
    "$?:$(cat "$T_WORK/promtool.out")" "0:"
# The sample alerts of README.md ("Metrics"): the block from "groups:".
awk '/^groups:/ { on = 1 } on && /^```/ { exit } on' "$SRCDIR/README.md" \
    >"$T_WORK/alerts.yml"
promtool check rules "$T_WORK/alerts.yml" >"$T_WORK/rules.out" 2>&1
rules_rc=$?
check "README.md's sample alerts: promtool check rules passes them" eval \
    '[ $rules_rc = 0 ] && grep -q "SUCCESS: 2 rules found" "$T_WORK/rules.out"'
check "... a HELP and a TYPE line for every metric" awk '
    /^# HELP / { help[$3] = 1 } /^# TYPE / { type[$3] = 1 }
    !/^#/ { n = $1; sub(/[{].*/, "", n); sub(/_(bucket|sum|count)$/, "", n)
            if (!(n in help) || !(n in type)) bad = 1 }
    END { exit bad }' "$T_WORK/first.b"
before_200=$(value first 'sselog_responses_total{code="200"}')

fetch head "$METRICS" -I
check "HEAD: 200, the headers alone" eval \
    '[ "$CODE" = 200 ] && ! grep -q "^sselog_" "$T_WORK/head.b"'
fetch post "$METRICS" -d x
is_code "POST: 405" 405 post
is_header "... Allow: GET, HEAD" post Allow "GET, HEAD"

# ---- 30 open streams ----
for n in $(seq 1 30); do
	open_stream "s$n" "$BASE/m/1?lastEventId=0"
done
check "30 streams open: a scrape says sselog_clients 30" \
    wait_until 10 says sselog_clients 30
echo "# connections per responder: $(spread)"
# The kernel hands the connections to the processes in turn: the totals
# below are made of several processes' shares.
check "... the streams are spread over the responders" eval \
    '[ "$(spread | tr " " "\n" | grep -c ":[1-9]")" -ge 2 ]'
is "... and so does each of 30 scrapes, whichever responder answers" \
    "$(scrapes 30 sselog_clients)" 30
is "... each saying 3 processes" "$(scrapes 10 sselog_processes)" 3

for i in 1 2 3 4 5; do
	last=$(sselog publish m/1 "event $i")
done
check "5 events published reach the 30 streams" wait_until 10 all_have "$last"
got=$(ids_received)
is "... 180 events received (30 replayed, 150 live)" "$got" 180
is "sselog_events_sent_total is the sum over the responders: $got" \
    "$(scrapes 10 sselog_events_sent_total)" "$got"
is "sselog_log_last_id: $last" "$(scrapes 5 sselog_log_last_id)" "$last"
scrape after
is "sselog_replays_total: the 30 streams that gave lastEventId" \
    "$(value after sselog_replays_total)" 30
check "the delivery delays: 150 live deliveries in the histogram" eval \
    '[ "$(value after sselog_delivery_delay_seconds_count)" = 150 ] &&
     [ "$(value after "sselog_delivery_delay_seconds_bucket{le=\"+Inf\"}")" = 150 ]'
check "... most under a second" eval \
    '[ "$(value after "sselog_delivery_delay_seconds_bucket{le=\"1\"}")" -ge 140 ]'
check "responses: the 30 streams are 200s" eval \
    '[ "$(value after "sselog_responses_total{code=\"200\"}")" -ge $((before_200 + 30)) ]'

# ---- clients that do not read are dropped, by whichever responder ----
for n in 1 2 3; do
	start_daemon "stuck$n" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /events/d/1 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
time.sleep(120)' "$PORT"
done
check "3 clients that do not read: 33 clients" \
    wait_until 10 says sselog_clients 33
dropped_before=$(value says sselog_clients_dropped_total)
big=$(head -c 100000 /dev/zero | tr '\0' x)
i=0
while [ "$i" -lt 120 ]; do
	echo "$big"
	i=$((i + 1))
done | sselog pipe d/1 >/dev/null || bail "sselog pipe failed"
check "12 MB later all 3 are dropped: sselog_clients_dropped_total +3" \
    wait_until 30 says sselog_clients_dropped_total $((dropped_before + 3))
check "... and 30 clients are left" wait_until 10 says sselog_clients 30
for n in 1 2 3; do
	eval "kill \$PID_stuck$n"
done

# ---- no metrics without SSELOG_METRICS ----
fetch plain "http://127.0.0.1:$PLAIN/sselog-metrics"
check "/sselog-metrics without SSELOG_METRICS: 404, no metrics" eval \
    '[ "$CODE" = 404 ] && ! grep -q sselog_clients "$T_WORK/plain.b"'
fetch header "$BASE/m/1?lastEventId=$last" -H "SSELOG-METRICS: 1" \
    -H "SSELOG_METRICS: 1" --max-time 2
check "a client's SSELOG-METRICS header: the stream, no metrics" eval \
    '[ "$(header header Content-Type)" = "text/event-stream; charset=utf-8" ] &&
     ! grep -q sselog_clients "$T_WORK/header.b"'

# ---- a responder killed ----
scrape before_kill
victim=$(echo $pids | cut -d' ' -f1)
kill -9 "$victim"
check "SIGKILL to one responder: 2 processes" \
    wait_until 10 says sselog_processes 2
# alive PREFIX N: how many of the streams PREFIX1..PREFIXN are open.
alive() {
	t_left=0
	for t_n in $(seq 1 "$2"); do
		eval "t_alive \$STREAM_$1$t_n" && t_left=$((t_left + 1))
	done
	echo "$t_left"
}
open_left() {
	alive s 30
}
# nginx ends the dead one's streams: each scrape counts the others.
wait_until 10 eval '[ "$(value says sselog_clients)" = "$(open_left)" ]'
check "... sselog_clients is the streams still open ($(open_left))" eval \
    'says sselog_clients "$(open_left)"'
# not_lower SERIES: no scrape (of 10) is lower than before the kill.
not_lower() {
	t_was=$(value before_kill "$1")
	t_now=$(scrapes 10 "$1")
	for t_v in $t_now; do
		[ "$t_v" -ge "$t_was" ] || {
			echo "# $1: $t_was before the kill, $t_now after"
			return 1
		}
	done
}
for series in sselog_events_sent_total sselog_clients_dropped_total \
    sselog_replays_total sselog_heartbeats_total sselog_log_queries_total \
    'sselog_responses_total{code="200"}' \
    sselog_delivery_delay_seconds_count; do
	check "... $series does not go down" not_lower "$series"
done
next=$(sselog publish m/1 "after the kill")
check "... and goes up again with new deliveries" wait_until 10 eval \
    'says sselog_events_sent_total \
      $(( $(value before_kill sselog_events_sent_total) + $(open_left) ))'

# shellcheck disable=SC2046 # pids
kill -TERM $(responder_pids)
wait_until 15 eval '[ -z "$(responder_pids)" ]' ||
	bail "the responders did not stop"
for n in $(seq 1 30); do
	end_stream "s$n" 5
done

# ---- a supervisor replaces a dead responder on the same socket ----
start_daemon pool python3 "$SRCDIR/tests/integration/fcgi-pool.py" \
    "$SOCK" 3 $AS_WWW "$SSELOG_FCGI" -d "$DB" --prefix /events/ \
    $RESPONDER_ARGS
wait_until 10 three || bail "the pool did not start 3 responders"
check "a pool of 3 on one socket: 3 processes" \
    wait_until 10 says sselog_processes 3
for n in $(seq 1 10); do
	open_stream "p$n" "$BASE/m/1?lastEventId=$next"
done
check "10 streams: 10 clients" wait_until 10 says sselog_clients 10
sselog publish m/1 "to the pool" >/dev/null
pool_all() {
	in_all p 10 "data: to the pool"
}
check "... which take an event" wait_until 10 pool_all
check "... 10 events sent" wait_until 10 says sselog_events_sent_total 10
scrape before_kill
victim=$(echo $(responder_pids) | cut -d' ' -f1)
kill -9 "$victim"
replaced() {
	three && ! echo " $(responder_pids) " | grep -q " $victim "
}
check "SIGKILL to one: the pool starts another on the same socket" \
    wait_until 10 replaced
check "... a scrape says 3 processes again" \
    wait_until 10 says sselog_processes 3
for series in sselog_events_sent_total sselog_replays_total \
    'sselog_responses_total{code="200"}' \
    sselog_delivery_delay_seconds_count; do
	check "... $series does not go down" not_lower "$series"
done
for n in $(seq 1 10); do
	open_stream "q$n" "$BASE/m/1?lastEventId=$next"
done
# 10 new ones, over the replacement too, and the dead one's gone.
check "10 more streams: the clients are those open" wait_until 10 eval \
    'says sselog_clients $(( 10 + $(alive p 10) ))'
check "... each replayed 1 event: events sent go on from 10" \
    wait_until 10 says sselog_events_sent_total 20

# The pool's shared file, read from its processes (other tests running
# beside this one have files of their own in /dev/shm), and looked at
# while they hold it: once they stopped, another test's clean-up may
# take it for a leftover of its own.
own=$(for p in $(responder_pids); do metrics_file "$p"; done | sort -u)
is "the pool's processes share one metrics file" \
    "$(echo "$own" | grep -c .)" 1
for t_f in $own; do
	is "the shared file $t_f: www-data's, mode 0600" \
	    "$(stat -c '%U %a' "$t_f" 2>&1)" "$WWW_USER 600"
done
stop_all
for t_f in $own; do
	rm -f "$t_f"
done
no_leftovers
done_testing
