#!/bin/sh
# Restarts: how the reconnects of many EventSource clients spread. 1,000
# clients (bench/sse-reconnect, which reconnects as EventSource does: after
# the last retry: it was given, with its Last-Event-ID) follow one stream
# through nginx (contrib/nginx.conf) while a publisher appends 20 events a
# second. The responder is stopped with SIGTERM and a new one started on
# the same socket path at once, as a supervisor restarts it. Printed, per
# second after the SIGTERM: how many reconnects arrive, how many of them
# only get a retry: (nginx's answer while nothing listens, or the draining
# responder's), how many clients are streaming again; then the peak per
# second, the time until every client is back, and whether any lost or
# got twice an event. Twice: the clients honouring the responder's spread
# retry:, then ignoring it and coming back after a fixed 3 s (EventSource's
# usual default), which is what ending every stream without a spread
# would do. Figures, not a pass/fail test; the exit status is 1 when a
# client died (a status other than 200) or lost or repeated an event.
#
# usage: bench/drain-spread.sh [--build DIR] [--clients N] [--rate R]
#            [--via listen|spawn-fcgi] [--write-docs]
#
# --via: the responder listens itself (--listen unix:PATH, the default)
# or gets the socket from spawn-fcgi, which a supervisor then reruns: it
# refuses to start while the old process still accepts, so it is retried
# every 50 ms, as a supervisor would.
set -eu

build=
clients=1000
rate=20
via=listen
write_docs=no
usage="usage: bench/drain-spread.sh [--build DIR] [--clients N] [--rate R] [--via listen|spawn-fcgi] [--write-docs]"
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--clients) clients=$2; shift ;;
	--rate) rate=$2; shift ;;
	--via) via=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
	shift
done
case $via in
listen) ;;
spawn-fcgi)
	command -v spawn-fcgi >/dev/null || {
		echo "drain-spread: --via spawn-fcgi needs spawn-fcgi" >&2
		exit 1
	} ;;
*) echo "$usage" >&2; exit 2 ;;
esac
. "$(dirname "$0")/lib.sh"
bench_setup drain-spread
bench_build_pub
client=$dir/sse-reconnect
cc -O2 -o "$client" "$top/bench/sse-reconnect.c" "$top/bench/bench.c"
bench_start_nginx
sock=$dir/fcgi.sock

# Seconds of publishing before the SIGTERM, and in all.
warm=3
secs=20
count=$((rate * secs))

# Whether process $1 listens on $sock, and the file is there.
listening() {
	[ -S "$sock" ] &&
	    ss -Hxlp 2>/dev/null | grep -F " $sock " | grep -q "pid=$1,"
}

# start_responder LOG: starts a responder on $sock and waits until it
# listens there. Sets $resp.
start_responder() {
	tries=0
	while :; do
		tries=$((tries + 1))
		if [ "$via" = listen ]; then
			"$build/sselog-fcgi" -d "$db" --listen "unix:$sock" \
			    --prefix /events/ 2>>"$1" &
		else
			SSELOG_DB=$db spawn-fcgi -n -s "$sock" -M 0666 -- \
			    "$build/sselog-fcgi" --prefix /events/ 2>>"$1" &
		fi
		resp=$!
		bench_pids="$bench_pids $resp"
		for _ in $(seq 500); do
			listening "$resp" && return 0
			kill -0 "$resp" 2>/dev/null || break
			sleep 0.01
		done
		if kill -0 "$resp" 2>/dev/null; then
			echo "drain-spread: the new responder does not listen on $sock" >&2
			exit 1
		fi
		# spawn-fcgi refuses while the old process still accepts.
		wait "$resp" 2>/dev/null || true
		[ "$tries" -lt 40 ] || {
			echo "drain-spread: no responder started: $(tail -n 3 "$1")" >&2
			exit 1
		}
		sleep 0.05
	done
}

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# run MODE [CLIENT OPTIONS]: one restart under load; the client's output
# in $dir/MODE.out, timings in $dir/MODE.times.
run() {
	mode=$1
	shift
	stream=drain-$mode
	start_responder "$dir/fcgi-$mode-old.log"
	old_pid=$resp
	"$client" --port "$port" --path "/events/$stream" \
	    --connections "$clients" --expect "$count" --timeout 60 "$@" \
	    > "$dir/$mode.out" 2>"$dir/$mode.err" &
	client_pid=$!
	bench_pids="$bench_pids $client_pid"
	w=0
	until grep -q '^connected' "$dir/$mode.out"; do
		w=$((w + 1))
		if ! kill -0 "$client_pid" 2>/dev/null || [ $w -ge 600 ]; then
			echo "drain-spread: the clients did not connect" >&2
			cat "$dir/$mode.err" >&2
			exit 1
		fi
		sleep 0.1
	done
	"$pub" --sqlite "$db" --stream "$stream" --count "$count" \
	    --rate "$rate" > "$dir/pub-$mode.out" &
	pub_pid=$!
	bench_pids="$bench_pids $pub_pid"
	sleep "$warm"

	# The restart.
	t0=$(date +%s%N)
	kill -USR1 "$client_pid"
	kill -TERM "$old_pid"
	start_responder "$dir/fcgi-$mode-new.log"
	new_pid=$resp
	up_ms=$(ms_since "$t0")
	wait "$old_pid" || true
	old_ms=$(ms_since "$t0")
	echo "$up_ms $old_ms" > "$dir/$mode.times"
	listening "$new_pid" ||
	    echo "drain-spread: after the old responder exited, the new one no longer listens on $sock" >&2

	wait "$pub_pid" || {
		echo "drain-spread: the publisher failed" >&2
		exit 1
	}
	"$build/sselog" -d "$db" close "$stream" >/dev/null
	client_status=0
	wait "$client_pid" || client_status=1
	kill -TERM "$new_pid"
	wait "$new_pid" || true
	[ "$client_status" = 0 ] || status=1
}

field() {	# field NAME FILE: NAME=VALUE of the summary line
	tail -n 1 "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

status=0
run spread
run fixed --fixed-delay 3000

table=$dir/table
{
	echo "| second after SIGTERM | reconnects, spread | of which only got retry: | streaming again | reconnects, fixed 3 s | of which only got retry: | streaming again |"
	echo "|--:|--:|--:|--:|--:|--:|--:|"
	for m in spread fixed; do
		sed -n 's/^second \([0-9]*\) opened \([0-9]*\) turned \([0-9]*\) back \([0-9]*\)$/\1 \2 \3 \4/p' "$dir/$m.out" > "$dir/$m.rows"
	done
	awk '
	    FNR == NR { s[$1] = $2 " " $3 " " $4; if ($1 > last) last = $1; next }
	    { f[$1] = $2 " " $3 " " $4; if ($1 > last) last = $1 }
	    END {
		for (i = 0; i <= last; i++) {
			split(i in s ? s[i] : "0 0 0", a, " ")
			split(i in f ? f[i] : "0 0 0", b, " ")
			printf "| %d–%d s | %d | %d | %d | %d | %d | %d |\n", i, i + 1, a[1], a[2], a[3], b[1], b[2], b[3]
		}
	    }' "$dir/spread.rows" "$dir/fixed.rows"
} > "$table"

summary=$dir/summary
{
	echo "| figure | spread retry: (as sent) | fixed 3 s (no spread) |"
	echo "|---|--:|--:|"
	row() {
		printf '| %s | %s | %s |\n' "$1" "$2" "$3"
	}
	row "peak reconnects in one second" \
	    "$(field peak_opened "$dir/spread.out") (second $(field peak_second "$dir/spread.out"))" \
	    "$(field peak_opened "$dir/fixed.out") (second $(field peak_second "$dir/fixed.out"))"
	row "most reconnects in 0.1 s" "$(field peak_opened_100ms "$dir/spread.out")" \
	    "$(field peak_opened_100ms "$dir/fixed.out")"
	back() {
		v=$(field all_back_ms "$1")
		if [ "$v" = -1 ]; then echo "not all"; else awk -v v="$v" 'BEGIN { printf "%.1f s", v / 1000 }'; fi
	}
	row "until all $clients are streaming again" "$(back "$dir/spread.out")" "$(back "$dir/fixed.out")"
	row "from a reconnect to its first event: mean, max" \
	    "$(field rejoin_mean_ms "$dir/spread.out") ms, $(field rejoin_max_ms "$dir/spread.out") ms" \
	    "$(field rejoin_mean_ms "$dir/fixed.out") ms, $(field rejoin_max_ms "$dir/fixed.out") ms"
	row "reconnects in all (of which only got retry:)" \
	    "$(field reconnects "$dir/spread.out") ($(field turned "$dir/spread.out"))" \
	    "$(field reconnects "$dir/fixed.out") ($(field turned "$dir/fixed.out"))"
	row "retry: values received after the SIGTERM" \
	    "$(field retry_min_ms "$dir/spread.out")–$(field retry_max_ms "$dir/spread.out") ms" \
	    "$(field retry_min_ms "$dir/fixed.out")–$(field retry_max_ms "$dir/fixed.out") ms (ignored)"
	row "events published; lost, repeated (all clients)" \
	    "$count; $(field gaps "$dir/spread.out"), $(field dups "$dir/spread.out")" \
	    "$count; $(field gaps "$dir/fixed.out"), $(field dups "$dir/fixed.out")"
	row "clients short of events, dead (non-200)" \
	    "$(field short "$dir/spread.out"), $(field dead "$dir/spread.out")" \
	    "$(field short "$dir/fixed.out"), $(field dead "$dir/fixed.out")"
	row "new responder on the socket, old one exited (after SIGTERM)" \
	    "$(awk '{ print $1 " ms, " $2 " ms" }' "$dir/spread.times")" \
	    "$(awk '{ print $1 " ms, " $2 " ms" }' "$dir/fixed.times")"
} > "$summary"

cat "$summary"
echo
cat "$table"
for m in spread fixed; do
	echo "$m: $(tail -n 1 "$dir/$m.out")"
	[ -s "$dir/$m.err" ] && sed "s/^/$m: /" "$dir/$m.err" | sort | uniq -c | head -n 5
done
echo "($(bench_machine))"
if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`bench/drain-spread.sh --clients $clients --rate $rate --via $via --write-docs\` ($(bench_machine)):"
		echo
		cat "$summary"
		echo
		cat "$table"
	} > "$dir/doc-section"
	bench_write_docs drain-spread.sh "$dir/doc-section"
fi
exit "$status"
