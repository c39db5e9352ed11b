#!/bin/sh
# What the responder holds for clients that read slowly or not at all,
# from its resident memory (VmRSS sampled every 0.1 s, VmHWM at the end,
# /proc/PID/status), with --max-pending at its default, 1 MiB:
#
#   hold    20 clients that read nothing ask for a stream of 600 events of
#           256 KiB from the start (Last-Event-ID: 0), and hold it open
#           for 8 s: straight on the responder's FastCGI socket (bench/
#           slow-client.py sends the request as a web server does), then
#           through nginx (contrib/nginx.conf; each client's socket gets a
#           4 KiB receive buffer). Bound: 20 × (max-pending + one event +
#           64 KiB).
#   slow    one live client reading 64 KiB/s while events of 64 KiB are
#           appended at 8 per second for 20 s (`sselog pipe`): it falls
#           behind by 448 KiB/s until the responder drops it; FastCGI,
#           then through nginx (whose sockets take a few MiB first).
#           Bound: max-pending + one event + 64 KiB. Each is run again
#           with a client that reads as fast as it can: the difference is
#           what the responder held for the slow one.
#
# Each measurement gets a fresh responder; the growth is from its VmRSS
# just before the clients come to the highest value seen. It includes what
# the process allocates once, whatever the clients (SQLite's page cache,
# up to 2 MiB, the buffer an event is encoded in): the figures are an
# upper bound of what it holds for the clients.
#
# usage: bench/memory-bound.sh [--build DIR] [--write-docs]
set -eu
LC_ALL=C
export LC_ALL

build=${build:-}
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || exit 2; build=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/memory-bound.sh [--build DIR] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
command_line=bench/memory-bound.sh
[ -n "$build" ] && command_line="$command_line --build $build"

. "$(dirname "$0")/lib.sh"

HOLDERS=20
BIG=262144
BIG_EVENTS=600
HOLD_SECS=8
SLOW_RATE=65536
SLOW_SECS=20
LIVE=65536
LIVE_MS=125
MAX_PENDING=1048576

py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
client="$py $top/bench/slow-client.py"
say() { echo "memory-bound: $*" >&2; }
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

load_avg=$(cut -d ' ' -f 1-3 /proc/loadavg)
t_start=$(date +%s)
bench_setup memory-bound
bench_sselog_conf
port=$(bench_free_port)
say "appending $BIG_EVENTS events of $BIG bytes"
$client tick 0 "$BIG_EVENTS" "$BIG" | "$build/sselog" -d "$db" pipe mem/big

# sample PID FILE: VmRSS every 0.1 s while $dir/sampling exists (at most
# 10 minutes); the highest into FILE.
sample() {
	hi=0
	n=0
	while [ -e "$dir/sampling" ] && [ $n -lt 6000 ]; do
		r=$(bench_rss "$1" 2>/dev/null || echo 0)
		[ "${r:-0}" -gt "$hi" ] && hi=$r
		sleep 0.1
		n=$((n + 1))
	done
	echo "$hi" > "$2"
}

# measure NAME VIA CMD...: a fresh responder (and nginx when VIA is http),
# CMD run against it (the word TARGET in CMD becomes fcgi:SOCKET or
# http:PORT) while the responder's memory is sampled. Appends "NAME rss0
# max_rss hwm nginx_growth client_output" to $results.
measure() {
	name=$1 via=$2
	shift 2
	: > "$dir/fcgi.log"
	bench_responder --max-pending "$MAX_PENDING"
	target=fcgi:$dir/fcgi.sock
	workers=
	if [ "$via" = http ]; then
		bench_nginx 1
		target=http:$port
		workers=$(bench_children "$nginx_pid" | tr '\n' ' ')
	fi
	sleep 0.5
	rss0=$(bench_rss "$fcgi")
	# shellcheck disable=SC2086
	n0=$(bench_mem $workers | cut -d ' ' -f 1)
	touch "$dir/sampling"
	sample "$fcgi" "$dir/$name.max" &
	sp=$!
	args=
	for a in "$@"; do
		[ "$a" = TARGET ] && a=$target
		args="$args $a"
	done
	# shellcheck disable=SC2086
	$client $args > "$dir/$name.out" &
	cp_=$!
	pub_pid=
	if [ -n "${publisher:-}" ]; then
		sleep 0.3
		eval "$publisher"
		pub_pid=$!
	fi
	wait "$cp_" || true
	# Until the publisher is done: what a dropped client leaves.
	[ -n "$pub_pid" ] && { wait "$pub_pid" || true; }
	# shellcheck disable=SC2086
	n1=$(bench_mem $workers | cut -d ' ' -f 1)
	hwm=$(bench_hwm "$fcgi")
	rm -f "$dir/sampling"
	wait "$sp"
	out=$(tail -n 1 "$dir/$name.out")
	dropped=$(grep -c 'dropped a client' "$dir/fcgi.log" || true)
	say "$name: rss before $rss0 KiB, highest $(cat "$dir/$name.max") KiB, VmHWM $hwm KiB; nginx +$((n1 - n0)) KiB; drops logged: $dropped; client: $out"
	echo "$name $rss0 $(cat "$dir/$name.max") $hwm $((n1 - n0)) $dropped $out" >> "$results"
	# shellcheck disable=SC2086
	bench_stop $nginx_pid $fcgi
	nginx_pid=
}

results=$dir/results
: > "$results"
nginx_pid=

publisher=
measure hold-fcgi fcgi hold TARGET /events/mem/big "$HOLDERS" "$HOLD_SECS" 0
measure hold-nginx http hold TARGET /events/mem/big "$HOLDERS" "$HOLD_SECS" 0

publisher="$client tick $LIVE_MS $((SLOW_SECS * 1000 / LIVE_MS)) $LIVE | \"$build/sselog\" -d \"$db\" pipe mem/live &"
measure slow-fcgi fcgi slow TARGET /events/mem/live "$SLOW_RATE" "$SLOW_SECS"
measure fast-fcgi fcgi slow TARGET /events/mem/live 1000000000 "$SLOW_SECS"
measure slow-nginx http slow TARGET /events/mem/live "$SLOW_RATE" "$SLOW_SECS"
measure fast-nginx http slow TARGET /events/mem/live 1000000000 "$SLOW_SECS"
wait
t_end=$(date +%s)

table=$dir/table
{
	echo "| clients | via | VmRSS before, MiB | growth, MiB | growth less the reading client's, MiB | bound, MiB | within the bound | nginx worker growth, MiB | drops logged | the clients saw |"
	echo "|---|---|--:|--:|--:|--:|---|--:|--:|---|"
	awk -v h="$HOLDERS" -v big="$BIG" -v live="$LIVE" -v mp="$MAX_PENDING" \
	    -v ev="$BIG_EVENTS" -v hs="$HOLD_SECS" -v rate="$SLOW_RATE" \
	    -v lms="$LIVE_MS" -v ss="$SLOW_SECS" '{
		# growth: to the highest of the VmRSS samples and VmHWM
		# (which the kernel updates lazily)
		hi = $3 > $4 ? $3 : $4
		grow[NR] = (hi - $2) / 1024
		line[NR] = $0
		split($1, w, "-")
		kind[NR] = w[1]
		via[NR] = w[2]
		at[$1] = NR
	}
	END {
		for (r = 1; r <= NR; r++) {
			n = split(line[r], f, " ")
			less = ""
			if (kind[r] == "hold") {
				who = h " not reading, " ev " events of " big / 1024 " KiB from the start, " hs " s"
				bound = h * (mp + big + 65536)
				g = grow[r]
			} else if (kind[r] == "slow") {
				who = "1 reading " rate / 1024 " KiB/s, live events of " live / 1024 " KiB at " 1000 / lms "/s for " ss " s"
				bound = mp + live + 65536
				c = at["fast-" via[r]]
				g = c ? grow[r] - grow[c] : grow[r]
				less = sprintf("%.2f", g)
			} else {
				who = "1 reading as fast as it can, the same events"
				bound = 0
				g = -1
			}
			seen = ""
			for (i = 7; i <= n; i++) seen = seen (i > 7 ? " " : "") f[i]
			printf "| %s | %s | %.1f | %.2f | %s | %s | %s | %.2f | %s | `%s` |\n", \
			    who, via[r] == "fcgi" ? "FastCGI socket" : "nginx", \
			    f[2] / 1024, grow[r], less, \
			    bound ? sprintf("%.2f", bound / 1048576) : "", \
			    bound ? (g * 1048576 <= bound ? "yes" : "**no**") : "", \
			    f[5] / 1024, f[6], seen
		}
	}' "$results"
} > "$table"
machine() {
	echo "$(bench_machine); load average when the run started: $load_avg; the run took $((t_end - t_start)) s"
}
echo
cat "$table"
echo
echo "($(machine))"
if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`$command_line --write-docs\` ($(machine)):"
		echo
		cat "$table"
	} > "$dir/doc-section"
	bench_write_docs memory-bound.sh "$dir/doc-section"
	say "wrote docs/performance.md"
fi
