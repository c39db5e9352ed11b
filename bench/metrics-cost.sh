#!/bin/sh
# What the metrics cost the fan-out: deliveries per second, and the
# responder's CPU per million deliveries, with the metrics counted (as
# always) against not counted, in one run. The responder counts into
# the shared file of its socket (src/metrics.h); with
# SSELOG_BENCH_NO_METRICS in its environment, which only this benchmark
# sets, every count is skipped by one branch and nothing is shared.
#
# One nginx (contrib/nginx.conf, 2 workers) in front of one responder on
# a socket of its own (--listen), restarted for each run with or without
# the variable; the runs alternate, so that the machine's other load
# falls on both alike. bench/metrics-loop.c then times the counting's
# calls alone, per event, in a loop: against the responder's CPU per
# event in the fan-out, its share. Each run: --subs subscribers of one stream
# (bench/sse-load), and bench/sse-pub appending as fast as it goes for
# --secs seconds (at most 1,000 events ahead of the slowest subscriber,
# 100 per transaction), as bench/compare.sh's fan-out does. Prints each
# run, then the medians, their ratio against the target (within 3 %),
# and the share of the counting alone.
#
# usage: bench/metrics-cost.sh [--build DIR] [--rounds N] [--secs S]
#            [--subs N] [--write-docs]
#
#   --rounds N    pairs of runs, counted then not (default 5)
#   --secs S      seconds of publishing per run (10)
#   --subs N      subscribers (500)
#   --write-docs  put the figures into docs/performance.md
set -eu
LC_ALL=C
export LC_ALL

build=${build:-}
rounds=5
secs=10
subs=500
write_docs=no
usage() {
	echo "usage: bench/metrics-cost.sh [--build DIR] [--rounds N] [--secs S] [--subs N] [--write-docs]" >&2
	exit 2
}
. "$(dirname "$0")/lib.sh"

bench_options metrics-cost build rounds secs subs -- "$@"

say() { echo "metrics-cost: $*" >&2; }

load_avg=$(cut -d ' ' -f 1-3 /proc/loadavg)
t_start=$(date +%s)
bench_setup metrics-cost
bench_build_pub
bench_start_nginx
# nginx is 1 worker there: the fan-out's, as bench/compare.sh, has 2.
bench_stop "$nginx_pid"
bench_nginx 2
results=$dir/results
: > "$results"

# run TAG on|off: one run; appends "TAG MODE deliveries/s cpu_us ok".
run() {
	tag=$1 mode=$2
	if [ "$mode" = off ]; then
		SSELOG_BENCH_NO_METRICS=1
		export SSELOG_BENCH_NO_METRICS
	fi
	bench_responder
	unset SSELOG_BENCH_NO_METRICS
	tr '\0' '\n' <"/proc/$fcgi/environ" | grep -q '^SSELOG_BENCH_NO_METRICS=' &&
	    [ "$mode" = on ] && { say "the variable leaked into a counted run"; exit 1; }
	prog=$dir/$tag.progress
	"$load" --port "$port" --path "/events/cost/$tag" \
	    --connections "$subs" --progress "$prog" \
	    --timeout $((secs + 300)) > "$dir/$tag.out" 2>&1 &
	lp=$!
	until grep -q '^connected' "$dir/$tag.out" 2>/dev/null; do
		kill -0 "$lp" 2>/dev/null || break
		sleep 0.1
	done
	c0=$(bench_cpu "$fcgi")
	"$pub" --sqlite "$db" --stream "cost/$tag" \
	    --duration "$secs" --window 1000 --progress "$prog" --batch 100 >/dev/null
	wait "$lp" || true
	c1=$(bench_cpu "$fcgi")
	summary=$(tail -n 1 "$dir/$tag.out")
	ok=yes
	[ "$(bench_kv failed "$summary")" = 0 ] && [ "$(bench_kv dups "$summary")" = 0 ] &&
	    [ "$(bench_kv gaps "$summary")" = 0 ] || ok=no
	say "$tag ($mode): $summary"
	awk -v t="$tag" -v m="$mode" -v e="$(bench_kv events "$summary")" \
	    -v a="$(bench_kv first_ns "$summary")" -v b="$(bench_kv last_ns "$summary")" \
	    -v c0="$c0" -v c1="$c1" -v ok="$ok" 'BEGIN {
		s = (b - a) / 1e9
		printf "%s %s %.0f %.3f %s\n", t, m, (s > 0 ? e / s : 0),
		    (e > 0 ? (c1 - c0) / e * 1e6 : 0), ok
	}' >> "$results"
	bench_stop "$fcgi"
}

r=1
while [ "$r" -le "$rounds" ]; do
	# Which goes first alternates too.
	if [ $((r % 2)) = 1 ]; then
		run "r$r-on" on
		run "r$r-off" off
	else
		run "r$r-off" off
		run "r$r-on" on
	fi
	r=$((r + 1))
done
cc -O2 -std=c11 -D_GNU_SOURCE -I"$top/src" -o "$dir/metrics-loop" \
    "$top/bench/metrics-loop.c" "$build/libsselog.a"
loop_ns=$("$dir/metrics-loop" "$dir/metrics-loop.shm")
t_end=$(date +%s)

median() {	# MODE FIELD
	bench_median "$results" "$1" "$2" 3
}

table=$dir/table
{
	echo "| round | metrics | deliveries/s | sselog-fcgi CPU s per million deliveries | every event once |"
	echo "|---|---|--:|--:|---|"
	awk '{
		printf "| %s | %s | %s | %.3f | %s |\n", \
		    substr($1, 2, index($1, "-") - 2), \
		    $2 == "on" ? "counted" : "not counted", $3, $4, $5
	}' "$results"
} > "$table"
on_rate=$(median on 3) off_rate=$(median off 3)
on_cpu=$(median on 4) off_cpu=$(median off 4)
summary=$(awk -v r1="$on_rate" -v r0="$off_rate" -v c1="$on_cpu" \
    -v c0="$off_cpu" 'BEGIN {
	dr = r0 > 0 ? (r1 / r0 - 1) * 100 : 0
	dc = c0 > 0 ? (c1 / c0 - 1) * 100 : 0
	printf "| deliveries/s | %.0f | %.0f | %+.1f %% | %s |\n", r1, r0, dr,
	    (dr >= -3 ? "within 3 %" : "more than 3 % slower")
	printf "| CPU s per million deliveries | %.3f | %.3f | %+.1f %% | %s |\n",
	    c1, c0, dc, (dc <= 3 ? "within 3 %" : "more than 3 % dearer")
    }')
# Each round's two runs ran back to back: the ratio within a round does
# not see the machine's drift over the whole run (other load coming and
# going), which the medians of all counted and all uncounted runs do.
# The median of the rounds' ratios, for deliveries/s and for the CPU.
paired=$(awk '{
	r = substr($1, 2, index($1, "-") - 2)
	rate[r, $2] = $3; cpu[r, $2] = $4; seen[r] = 1
    } END {
	n = 0
	for (r in seen)
		if (rate[r, "off"] > 0 && cpu[r, "off"] > 0) {
			n++
			dr[n] = (rate[r, "on"] / rate[r, "off"] - 1) * 100
			dc[n] = (cpu[r, "on"] / cpu[r, "off"] - 1) * 100
		}
	# insertion sorts: a handful of rounds
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && dr[j - 1] > dr[j]; j--) {
			t = dr[j]; dr[j] = dr[j - 1]; dr[j - 1] = t
		}
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && dc[j - 1] > dc[j]; j--) {
			t = dc[j]; dc[j] = dc[j - 1]; dc[j - 1] = t
		}
	mr = n % 2 ? dr[(n + 1) / 2] : (dr[n / 2] + dr[n / 2 + 1]) / 2
	mc = n % 2 ? dc[(n + 1) / 2] : (dc[n / 2] + dc[n / 2 + 1]) / 2
	printf "| deliveries/s, the median of the %d rounds'"'"' own ratios | | | %+.1f %% | %s |\n", n, mr,
	    (mr >= -3 ? "within 3 %" : "more than 3 % slower")
	printf "| CPU s per million deliveries, the median of the rounds'"'"' own ratios | | | %+.1f %% | %s |\n", mc,
	    (mc <= 3 ? "within 3 %" : "more than 3 % dearer")
    }' "$results")
failed=$(awk '$5 != "yes"' "$results" | wc -l)
# The responder's CPU per event handed out: per delivery times the
# subscribers each event goes to.
share=$(awk -v l="$loop_ns" -v c="$on_cpu" -v n="$subs" 'BEGIN {
	e = c * 1000 * n	# ns per event: c s per 1e6 deliveries
	printf "%.1f ns per event handed out live (bench/metrics-loop.c, the best of 5 runs of 10 million), against %.0f ns of the responder'"'"'s CPU per event to %d subscribers (counted runs): %.2f %%", l, e, n, (e > 0 ? l / e * 100 : 0)
    }')

out=$dir/out
{
	echo "Measured on $(bench_machine), load average before the run $load_avg,"
	echo "in $((t_end - t_start)) s: \`$command_line\`; $rounds pairs of"
	echo "$secs s runs with $subs subscribers, alternating."
	echo
	echo "| median of the runs | counted | not counted | counted against not | target |"
	echo "|---|--:|--:|--:|---|"
	echo "$summary"
	echo "$paired"
	echo
	echo "The counting alone: $share."
	echo
	cat "$table"
	[ "$failed" = 0 ] || { echo; echo "$failed runs lost, repeated or skipped events."; }
} > "$out"
cat "$out"
if [ "$write_docs" = yes ]; then
	bench_write_docs metrics-cost.sh "$out"
	say "wrote docs/performance.md"
fi
