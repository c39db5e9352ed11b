#!/bin/sh
# Slow clients: 100 connections that send their request and never read
# (tests/faults/fault-client hold, with a 4 KB receive buffer) follow a
# busy stream through nginx, together with 1,000 clients that read
# (bench/sse-load). The responder runs with --max-pending 65536. Two runs,
# the same but for the non-readers: the 1,000 readers' latency p99 with
# and without them is printed (a benchmark figure, not a check: it depends
# on the machine); what is checked is what must hold anywhere: no reader
# loses or repeats an event, every non-reader is dropped and each drop is
# logged, and the responder's memory (VmRSS) stays bounded.
#
# The busy stream gets "SEQ NS" events every 20 ms (sselog pipe, fed by
# fault-client tick); the non-readers also follow a bulk stream of 32 KB
# events every 50 ms, which fills their buffers fast (it is published in
# both runs). FAULT_SECONDS (default 8) sets the length of each run.

# Several functions below are only called through wait_until; start_daemon,
# open_stream and eval set PID_*, STREAM_* and the like; the sh -c scripts
# expand their own arguments.
# shellcheck disable=SC2317,SC2154,SC2016
. "$SRCDIR/tests/faults/lib.sh"

READERS=1000
SLOW=100
MAX_PENDING=65536
# Not less: nginx's send buffers to the slow clients grow to megabytes
# before the responder holds 64 KB for them (a run of 4 s, 2.5 MB of
# bulk events for each, dropped none).
SECONDS_RUN=${FAULT_SECONDS:-8}
BUSY_MS=20
BUSY_EVENTS=$((SECONDS_RUN * 1000 / BUSY_MS))
BULK_MS=50
BULK_BYTES=32000
T_START=$(t_now_ms)

f_helpers
f_sse_load
PORT=$(free_port)
# Each stream holds two of nginx's connections (client and FastCGI).
f_nginx_conf "$PORT" 4096
f_responder_start responder --max-pending "$MAX_PENDING"
f_nginx_start nginx
RLOG=$RUNDIR/responder.log

open_streams() {
	f_open_streams "$RLOG" "$F_RESPONDER"
}

# One run (ID, DESCRIPTION): READERS readers on busy/1, the publishers,
# the responder's peak VmRSS so far once it is over. Sets LOAD_SUMMARY,
# LOAD_RC, RSS_PEAK (KiB).
run() {
	t_id=$1
	shift
	t_out=$T_WORK/load-$t_id.out
	"$SSE_LOAD" --port "$PORT" --path /events/busy/1 \
	    --connections "$READERS" --expect "$BUSY_EVENTS" \
	    --timeout $((SECONDS_RUN * 4 + 30)) >"$t_out" 2>"$t_out.err" &
	t_load=$!
	T_STREAMS="$T_STREAMS $t_load"
	t_connected() {
		grep -q '^connected' "$t_out" || t_gone "$t_load"
	}
	wait_until 60 t_connected
	is "$1: $READERS readers connected" "$(grep '^connected' "$t_out")" \
	    "connected $READERS"
	start_daemon "busy_$t_id" sh -c '"$1" tick "$2" "$3" | "$4" -d "$5" pipe busy/1' \
	    sh "$FAULT_CLIENT" "$BUSY_MS" "$BUSY_EVENTS" "$SSELOG" "$DB"
	start_daemon "bulk_$t_id" sh -c '"$1" tick "$2" "$3" "$4" | "$5" -d "$6" pipe bulk/1' \
	    sh "$FAULT_CLIENT" "$BULK_MS" $((SECONDS_RUN * 1000 / BULK_MS)) \
	    "$BULK_BYTES" "$SSELOG" "$DB"
	# The kernel keeps the peak itself (VmHWM): a sample every 100 ms,
	# four processes each, was a sixth of the test's CPU, and could miss
	# a peak between two samples. It is the peak of the responder's
	# whole life: for run b, the higher of the two runs' peaks, which is
	# the one that counts against run a's peak and more.
	t_poll=$T_POLL
	T_POLL=0.2
	wait_until $((SECONDS_RUN * 4 + 40)) t_gone "$t_load"
	T_POLL=$t_poll
	RSS_PEAK=$(awk '/^VmHWM/ { print $2 }' "/proc/$F_RESPONDER/status")
	if t_alive "$t_load"; then
		kill "$t_load"
		wait "$t_load"
		LOAD_RC=timeout
	else
		wait "$t_load"
		LOAD_RC=$?
	fi
	LOAD_SUMMARY=$(tail -n 1 "$t_out")
	eval "t_busy=\$PID_busy_$t_id t_bulk=\$PID_bulk_$t_id"
	wait_until 20 t_gone "$t_busy"
	wait_until 20 t_gone "$t_bulk"
	echo "# $1: sse-load: $LOAD_SUMMARY"
	case $LOAD_SUMMARY in
	"connections=$READERS failed=0 ended=0 short=0 events=$((READERS * BUSY_EVENTS)) dups=0 gaps=0 "*)
		ok "$1: every reader got all $BUSY_EVENTS events, once each, in order" ;;
	*) not_ok "$1: every reader got all $BUSY_EVENTS events, once each, in order" \
	    "sse-load exit $LOAD_RC: $LOAD_SUMMARY" "$(head -n 5 "$t_out.err")" ;;
	esac
}

p99() {
	printf '%s\n' "$1" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p'
}
p50() {
	printf '%s\n' "$1" | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p'
}

# ---- run 1: no slow clients ----

RSS_IDLE=$(f_rss "$F_RESPONDER")
run a "without slow clients"
P99_A=$(p99 "$LOAD_SUMMARY") P50_A=$(p50 "$LOAD_SUMMARY")
RSS_A=$RSS_PEAK
wait_until 10 eval '[ "$(open_streams)" = 0 ]'

# ---- run 2: 100 clients that never read ----

"$FAULT_CLIENT" hold "$PORT" "/events/?stream=busy/1&stream=bulk/1" "$SLOW" \
    4096 >"$T_WORK/hold.out" 2>"$T_WORK/hold.err" &
HOLD=$!
T_STREAMS="$T_STREAMS $HOLD"
held() {
	grep -q '^held' "$T_WORK/hold.out"
}
wait_until 20 held
is "$SLOW clients that never read have sent their requests" \
    "$(cat "$T_WORK/hold.out")" "held $SLOW"
slow_open() {
	[ "$(open_streams)" -ge "$SLOW" ]
}
if wait_until 10 slow_open; then
	ok "... and the responder serves them"
else
	not_ok "... and the responder serves them" "open streams: $(open_streams)"
fi
drops_before=$(grep -c 'dropped a client that does not read' "$RLOG")
run b "with $SLOW slow clients"
P99_B=$(p99 "$LOAD_SUMMARY") P50_B=$(p50 "$LOAD_SUMMARY")
RSS_B=$RSS_PEAK

drops=$(($(grep -c 'dropped a client that does not read' "$RLOG") - drops_before))
is "every slow client was dropped, each with a line in the error log" \
    "$drops" "$SLOW"
echo "# e.g. $(grep 'dropped a client that does not read' "$RLOG" | tail -n 1)"
t_stats=$(f_stats "$RLOG" "$F_RESPONDER")
echo "# responder: ${t_stats#*stats: }"
case $t_stats in
*" $SLOW clients dropped"*) ok "the responder counts $SLOW slow clients dropped" ;;
*) not_ok "the responder counts $SLOW slow clients dropped" "$t_stats" ;;
esac
# What a slow client may cost before it is dropped: --max-pending, one
# event beyond it, and the buffers around them; 4 MB of slack for the
# allocator and the readers' own variation between the runs.
bound=$((RSS_A + SLOW * (MAX_PENDING + 2 * BULK_BYTES) / 1024 + 4096))
if [ "$RSS_B" -le "$bound" ]; then
	ok "the responder's memory stays bounded: peak VmRSS $RSS_B KiB <= $bound KiB"
else
	not_ok "the responder's memory stays bounded: peak VmRSS $RSS_B KiB <= $bound KiB" \
	    "idle $RSS_IDLE KiB, peak without slow clients $RSS_A KiB"
fi
kill "$HOLD"
wait "$HOLD"
if wait_until 10 eval '[ "$(open_streams)" = 0 ]'; then
	ok "once they leave, no stream is left open in the responder"
else
	not_ok "once they leave, no stream is left open in the responder" \
	    "open streams: $(open_streams)"
fi

# ---- SIGTERM while clients do not read ----

# A responder that never drops anyone (--max-pending 1 GB), five clients
# that do not read, 6.4 MB of events for each (more than the socket
# buffers and nginx take, so that most of it waits in the responder):
# SIGTERM must still end in a few seconds (the drain gives them 3 s, then
# cuts them off and says so), with exit status 0.
kill -TERM "$F_RESPONDER"
wait_until 10 t_gone "$F_RESPONDER"
wait "$F_RESPONDER"
is "SIGTERM with no client: exit 0" "$?" 0
f_responder_start responder2 --max-pending 1073741824
RLOG=$RUNDIR/responder2.log
"$FAULT_CLIENT" hold "$PORT" /events/bulk/1 5 4096 >"$T_WORK/hold.out" \
    2>"$T_WORK/hold.err" &
HOLD=$!
T_STREAMS="$T_STREAMS $HOLD"
wait_until 20 held
wait_until 10 eval '[ "$(open_streams)" -ge 5 ]'
t_rss0=$(f_rss "$F_RESPONDER")
"$FAULT_CLIENT" tick 1 200 "$BULK_BYTES" | sselog pipe bulk/1
delivered() {
	t_s=$(f_stats "$RLOG" "$F_RESPONDER")
	t_s=${t_s%% events delivered live*}
	[ "${t_s##* }" -ge 1000 ]
}
wait_until 10 delivered
echo "# the responder's VmRSS grew by $(($(f_rss "$F_RESPONDER") - t_rss0)) KiB: output waiting"
t0=$(t_now_ms)
kill -TERM "$F_RESPONDER"
if wait_until 15 t_gone "$F_RESPONDER"; then
	wait "$F_RESPONDER"
	t_rc=$?
	t_ms=$(($(t_now_ms) - t0))
	if [ "$t_rc" = 0 ] && [ "$t_ms" -lt 8000 ]; then
		ok "SIGTERM with 5 clients that do not read, 6.4 MB for each: exit 0 after $t_ms ms"
	else
		not_ok "SIGTERM with 5 clients that do not read, 6.4 MB for each: exit 0 within 8 s" \
		    "exit $t_rc after $t_ms ms"
	fi
else
	not_ok "SIGTERM with 5 clients that do not read, 6.4 MB for each: exit 0 within 8 s" \
	    "still running after 15 s"
fi
if grep -q 'streams did not end in time' "$RLOG"; then
	ok "... and the error log says it cut them off: $(grep 'did not end in time' "$RLOG")"
else
	not_ok "... and the error log says it cut them off" "log: $(cat "$RLOG")"
fi
kill "$HOLD"
wait "$HOLD"

# ---- the figures ----

echo "# readers' latency, $READERS readers, $BUSY_EVENTS events each, one every $BUSY_MS ms, --max-pending $MAX_PENDING:"
echo "#   without slow clients:    p50 $P50_A ms, p99 $P99_A ms, responder peak VmRSS $RSS_A KiB"
echo "#   with $SLOW slow clients: p50 $P50_B ms, p99 $P99_B ms, responder peak VmRSS $RSS_B KiB"
echo "#   p99 with / without: $(awk -v a="$P99_A" -v b="$P99_B" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "n/a" }') (aim: within 1.10)"
echo "#   responder VmRSS when idle: $RSS_IDLE KiB"

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
echo "# took $(( ($(t_now_ms) - T_START) / 1000 )) s"
done_testing
