#!/bin/sh
# Many concurrent streams through nginx on one sselog-fcgi process, all
# receiving one published event: how long connecting and the delivery
# take, and what the streams cost in memory (resident, from /proc) in
# nginx's worker and in the responder. A smoke figure, not the full
# benchmark against other servers.
#
# usage: bench/streams.sh [--build DIR] [--streams N] [--db LOG]
#     [--write-docs]
# --db: a log that is there (a postgresql:// URI: the responder gets it as
# -d) instead of a fresh SQLite file.
set -eu

build=
streams=5000
write_docs=no
db=
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--streams) streams=$2; shift ;;
	--db) db=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/streams.sh [--build DIR] [--streams N] [--db LOG] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
. "$(dirname "$0")/lib.sh"
bench_start streams

worker=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -n 1)
rss_fcgi0=$(bench_rss "$fcgi")
rss_nginx0=$(bench_rss "$worker")

t0=$(date +%s%N)
"$load" --port "$port" --path /events/smoke --connections "$streams" \
    --expect 1 --timeout 120 > "$dir/load.out" &
loadpid=$!
until grep -q '^connected' "$dir/load.out" 2>/dev/null; do
	kill -0 "$loadpid" 2>/dev/null || break
	sleep 0.1
done
t1=$(date +%s%N)
sleep 1		# let the last connections settle in the responder
rss_fcgi1=$(bench_rss "$fcgi")
rss_nginx1=$(bench_rss "$worker")
open=$(bench_counters >/dev/null; grep 'stats:' "$dir/fcgi.log" | tail -n 1 |
    sed 's/.*stats: \([0-9]*\) open streams.*/\1/')
t2=$(date +%s%N)
"$build/sselog" -d "$db" publish smoke "1 $(date +%s%N)" >/dev/null
status=0
wait "$loadpid" || status=$?
t3=$(date +%s%N)
summary=$(tail -n 1 "$dir/load.out")

table=$dir/table
{
	echo "| figure | value |"
	echo "|---|--:|"
	echo "| streams asked for | $streams |"
	echo "| streams open in the responder | $open |"
	echo "| load client | \`$summary\` |"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "| time to open them all | %.2f s |\n", (b - a) / 1e9 }'
	awk -v a="$t2" -v b="$t3" 'BEGIN { printf "| publish until every stream has the event | %.0f ms |\n", (b - a) / 1e6 }'
	awk -v a="$rss_fcgi0" -v b="$rss_fcgi1" -v n="$streams" 'BEGIN { printf "| sselog-fcgi resident memory, per stream | %.2f KiB |\n", (b - a) / n }'
	awk -v a="$rss_nginx0" -v b="$rss_nginx1" -v n="$streams" 'BEGIN { printf "| nginx worker resident memory, per stream | %.2f KiB |\n", (b - a) / n }'
} > "$table"
cat "$table"
echo "($(bench_machine))"
if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`bench/streams.sh --streams $streams --write-docs\` ($(bench_machine)):"
		echo
		cat "$table"
	} > "$dir/doc-section"
	bench_write_docs streams.sh "$dir/doc-section"
fi
exit "$status"
