#!/bin/sh
# The load the responder puts on the database, by number of clients: it
# must not grow with them. One nginx (contrib/nginx.conf) in front of one
# sselog-fcgi; for each client count, bench/sse-load holds that many
# streams open on one stream name while `sselog publish` appends EVENTS
# events at RATE per second; the responder's own counters (kill -USR1)
# give the SQL statements it ran meanwhile, and how many of them read
# events. Prints a table; --write-docs puts it in docs/performance.md.
#
# usage: bench/db-load.sh [--build DIR] [--clients "1 100 1000"]
#                         [--events N] [--rate PER_S] [--write-docs]
set -eu

build=${build:-}
clients="1 100 1000"
events=50
rate=10
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--clients) clients=$2; shift ;;
	--events) events=$2; shift ;;
	--rate) rate=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/db-load.sh [--build DIR] [--clients LIST] [--events N] [--rate PER_S] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
. "$(dirname "$0")/lib.sh"
bench_start db-load

interval=$(awk -v r="$rate" 'BEGIN { printf "%.4f", 1 / r }')
table=$dir/table
printf '| clients | events | seconds | SQL statements/s | event queries/s | statements per event | p50 ms | p99 ms |\n' > "$table"
printf '|--:|--:|--:|--:|--:|--:|--:|--:|\n' >> "$table"
run=0
for n in $clients; do
	run=$((run + 1))
	stream=load$run
	"$load" --port "$port" --path "/events/$stream" \
	    --connections "$n" --expect "$events" --timeout 120 \
	    > "$dir/load$run.out" &
	loadpid=$!
	until grep -q '^connected' "$dir/load$run.out" 2>/dev/null; do
		sleep 0.1
	done
	before=$(bench_counters)
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$events" ]; do
		i=$((i + 1))
		"$build/sselog" -d "$db" publish "$stream" "$i $(date +%s%N)" >/dev/null
		sleep "$interval"
	done
	wait "$loadpid" || true
	t1=$(date +%s%N)
	after=$(bench_counters)
	summary=$(tail -n 1 "$dir/load$run.out")
	set -- $before $after
	echo "$n $events $t0 $t1 $1 $2 $3 $4 $summary" | awk '{
		secs = ($4 - $3) / 1e9
		st = $7 - $5; q = $8 - $6
		for (i = 9; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "| %d | %d | %.1f | %.1f | %.1f | %.1f | %s | %s |\n",
		    $1, $2, secs, st / secs, q / secs, st / $2, v["p50_ms"], v["p99_ms"]
	}' >> "$table"
	echo "db-load: $n clients: $summary" >&2
done

machine=$(bench_machine)
cat "$table"
echo "($machine)"

if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`bench/db-load.sh --write-docs\` ($events events at $rate/s per run; $machine):"
		echo
		cat "$table"
	} > "$dir/doc-section"
	bench_write_docs db-load.sh "$dir/doc-section"
fi
