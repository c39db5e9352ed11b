#!/bin/sh
# Fairness: the live publish-to-receive latency of 100 subscribers of one
# stream through nginx (as bench/compare.sh's latency test measures it:
# bench/sse-pub appends "SEQ NS" events at 100/s, bench/sse-load receives
# them), alone, and while 5 other clients replay a stream of 200,000 small
# events from the start (Last-Event-ID: 0), reading as fast as they can,
# each starting over as soon as it has them all, for the whole run.
#
# One nginx (contrib/nginx.conf, 2 workers) in front of one responder;
# the rounds alternate alone / with the replayers, each on a stream of its
# own, so that the machine's other load falls on both alike. Prints each
# round, then the medians: p50, p99, max, and the ratio of the p99s
# against the target (with replayers at most 3 × alone + 20 ms).
#
# usage: bench/fairness.sh [--build DIR] [--rounds N] [--secs S]
#            [--subs N] [--replayers N] [--events N] [--write-docs]
#
#   --rounds N     pairs of runs, alone then with (default 3)
#   --secs S       seconds of publishing per run, at 100 events/s (10)
#   --subs N       live subscribers (100)
#   --replayers N  clients replaying (5)
#   --events N     events in the replayed stream (200000)
#   --write-docs   put the figures into docs/performance.md
set -eu
LC_ALL=C
export LC_ALL

build=${build:-}
rounds=3
secs=10
subs=100
replayers=5
events=200000
rate=100
write_docs=no
usage() {
	echo "usage: bench/fairness.sh [--build DIR] [--rounds N] [--secs S] [--subs N] [--replayers N] [--events N] [--write-docs]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || [ "$1" = --write-docs ] || usage
	case $1 in
	--build) build=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--secs) secs=$2; shift ;;
	--subs) subs=$2; shift ;;
	--replayers) replayers=$2; shift ;;
	--events) events=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) usage ;;
	esac
	shift
done
command_line="bench/fairness.sh"
[ -n "$build" ] && command_line="$command_line --build $build"
command_line="$command_line --rounds $rounds --secs $secs --subs $subs --replayers $replayers --events $events"

. "$(dirname "$0")/lib.sh"

say() { echo "fairness: $*" >&2; }
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

load_avg=$(cut -d ' ' -f 1-3 /proc/loadavg)
t_start=$(date +%s)
bench_start fairness 2
bench_build_pub
say "filling the replayed stream with $events events"
"$pub" --sqlite "$db" --stream fair/backlog --count "$events" \
    --batch 10000 >/dev/null

# replay_loop K TAG: replays the backlog again and again until $dir/stop-TAG
# appears (at most 1,000 times); one summary line per replay in
# $dir/TAG-replay-K.out.
replay_loop() {
	i=0
	while [ ! -e "$dir/stop-$2" ] && [ $i -lt 1000 ]; do
		"$load" --port "$port" --path /events/fair/backlog \
		    --last-event-id 0 --connections 1 --expect "$events" \
		    --timeout 120 2>/dev/null | tail -n 1 \
		    >> "$dir/$2-replay-$1.out" || true
		i=$((i + 1))
	done
}

results=$dir/results
: > "$results"

# run TAG with|alone: one run; appends "TAG MODE p50 p99 max replays
# replay_rate check" to $results.
run() {
	tag=$1 mode=$2
	count=$((rate * secs))
	"$load" --port "$port" --path "/events/fair/live-$tag" \
	    --connections "$subs" --expect "$count" \
	    --timeout $((secs + 120)) > "$dir/$tag.out" 2>&1 &
	lp=$!
	n=0
	until grep -q '^connected' "$dir/$tag.out" 2>/dev/null; do
		kill -0 "$lp" 2>/dev/null || break
		n=$((n + 1))
		[ $n -lt 600 ] || break
		sleep 0.1
	done
	loops=
	if [ "$mode" = with ]; then
		k=1
		while [ "$k" -le "$replayers" ]; do
			replay_loop "$k" "$tag" &
			loops="$loops $!"
			k=$((k + 1))
		done
		sleep 1	# every replayer well into its backlog
	fi
	workers=$(bench_children "$nginx_pid" | tr '\n' ' ')
	# shellcheck disable=SC2086
	c0="$(bench_cpu "$fcgi") $(bench_cpu $workers) $(date +%s%N)"
	"$pub" --sqlite "$db" --stream "fair/live-$tag" --rate "$rate" \
	    --count "$count" > "$dir/$tag.pub"
	wait "$lp" || true
	# shellcheck disable=SC2086
	c1="$(bench_cpu "$fcgi") $(bench_cpu $workers) $(date +%s%N)"
	# CPU use of the responder and of nginx's workers meanwhile, in %
	# of one CPU.
	cpu=$(echo "$c0 $c1" | awk '{
		s = ($6 - $3) / 1e9
		printf "%.0f %.0f", ($4 - $1) / s * 100, ($5 - $2) / s * 100
	    }')
	summary=$(tail -n 1 "$dir/$tag.out")
	replays=0 rrate=-
	if [ "$mode" = with ]; then
		# Still replaying now? Then the replayers ran for the whole run.
		busy=no
		pgrep -f -- "--path /events/fair/backlog" >/dev/null && busy=yes
		touch "$dir/stop-$tag"
		# shellcheck disable=SC2086
		wait $loops
		cat "$dir/$tag"-replay-*.out > "$dir/$tag.replays"
		replays=$(grep -c 'events=' "$dir/$tag.replays" || true)
		# Events per second of each replay, from its request to its
		# last event: the median.
		rrate=$(awk '{
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				v[kv[1]] = kv[2]
			}
			if (v["secs"] > 0) print v["events"] / v["secs"]
		    }' "$dir/$tag.replays" | sort -n |
		    awk '{ a[NR] = $1 } END { printf "%.0f", NR ? a[int((NR + 1) / 2)] : 0 }')
		bad=$(awk '{
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				v[kv[1]] = kv[2]
			}
			if (v["failed"] != 0 || v["dups"] != 0 || v["gaps"] != 0 ||
			    v["events"] != '"$events"') n++
		    } END { print n + 0 }' "$dir/$tag.replays")
		say "$tag: $replays replays, $bad incomplete, median $rrate events/s; still replaying at the end: $busy"
	fi
	ok=yes
	[ "$(kv failed "$summary")" = 0 ] && [ "$(kv short "$summary")" = 0 ] &&
	    [ "$(kv dups "$summary")" = 0 ] && [ "$(kv gaps "$summary")" = 0 ] ||
	    ok=no
	say "$tag ($mode): $summary"
	echo "$tag $mode $(kv p50_ms "$summary") $(kv p99_ms "$summary") $(kv max_ms "$summary") $replays $rrate $ok $cpu" >> "$results"
}

r=1
while [ "$r" -le "$rounds" ]; do
	run "r$r-alone" alone
	run "r$r-with" with
	r=$((r + 1))
done
t_end=$(date +%s)

median() {	# MODE FIELD
	bench_median "$results" "$1" "$2" 2
}

table=$dir/table
{
	echo "| round | live subscribers | p50, ms | p99, ms | max, ms | replays completed | replay events/s per client, median | sselog-fcgi CPU % | nginx workers CPU % | every event once |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"
	awk -v r="$replayers" '{
		with = $2 == "with"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
		    substr($1, 2, index($1, "-") - 2), \
		    with ? "with " r " replaying" : "alone", $3, $4, $5, \
		    with ? $6 : "", with ? $7 : "", $9, $10, $8
	}' "$results"
} > "$table"
a50=$(median alone 3) a99=$(median alone 4) amax=$(median alone 5)
w50=$(median with 3) w99=$(median with 4) wmax=$(median with 5)
summary=$(awk -v a="$a99" -v w="$w99" -v a50="$a50" -v w50="$w50" 'BEGIN {
	lim = 3 * a + 20
	printf "| p50, ms | %s | %s | %.2f | |\n", a50, w50, (a50 > 0 ? w50 / a50 : 0)
	printf "| p99, ms | %s | %s | %.2f | ≤ 3 × alone + 20 ms = %.1f ms: %s |\n", \
	    a, w, (a > 0 ? w / a : 0), lim, (w <= lim ? "met" : "**not met**")
}')
{
	echo "| figure (median of $rounds runs) | alone | with $replayers replaying | with ÷ alone | target |"
	echo "|---|--:|--:|--:|---|"
	echo "$summary"
	echo "| max, ms | $amax | $wmax | | |"
} > "$dir/medians"

machine() {
	echo "$(bench_machine); load average when the run started: $load_avg; the run took $((t_end - t_start)) s"
}
echo
cat "$dir/medians"
echo
cat "$table"
echo
echo "($(machine))"

if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`$command_line --write-docs\` ($(machine)):"
		echo
		cat "$dir/medians"
		echo
		echo "Each run:"
		echo
		cat "$table"
	} > "$dir/doc-section"
	bench_write_docs fairness.sh "$dir/doc-section"
	say "wrote docs/performance.md"
fi
