#!/bin/sh
# bench/write.sh: how fast sselog writes to the log. A benchmark, not a
# test: it prints figures and fails only when something does not run.
#
#   bench/write.sh [--sselog PATH] [--quick] [--write-docs]
#
# Measures, on a fresh log in a temporary directory (under $TMPDIR, else
# /tmp: choose the file system you care about, since every commit is an
# fsync):
#   - `sselog pipe` lines per second, for 1,000,000 lines of 100 bytes and
#     for the output of `seq 1000000`, fed through a pipe;
#   - `sselog publish`, milliseconds per call over 1,000 calls (a process
#     and a transaction each), alone and while a reader holds the log open
#     as a running responder does;
#   - pipe latency when input trickles: the time from writing one line into
#     the pipe to its row being visible to a reader of the log.
# Each measurement runs 5 times; the table gives the median and the range.
# --quick runs 3 times on a tenth of the input, to check that it works.
# --write-docs replaces the generated section of docs/performance.md.
#
# Needs a C compiler, pkg-config and the SQLite headers (libsqlite3-dev) for
# bench/write-helper.c, which it builds in the temporary directory. No
# network.
set -eu
LC_ALL=C
export LC_ALL

usage() {
	echo "usage: bench/write.sh [--sselog PATH] [--quick] [--write-docs]" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
sselog=
quick=no
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--sselog)
		[ $# -ge 2 ] || usage
		sselog=$2
		shift 2
		;;
	--sselog=*)
		sselog=${1#--sselog=}
		shift
		;;
	--quick)
		quick=yes
		shift
		;;
	--write-docs)
		write_docs=yes
		shift
		;;
	-h | --help)
		sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	*)
		usage
		;;
	esac
done
if [ "$quick" = yes ] && [ "$write_docs" = yes ]; then
	echo "bench/write.sh: --write-docs records a full run: drop --quick" >&2
	exit 2
fi

given=$sselog
if [ -z "$sselog" ]; then
	for candidate in ./sselog ./_build/sselog "$root/sselog" \
	    "$root/_build/sselog"; do
		if [ -x "$candidate" ]; then
			sselog=$candidate
			break
		fi
	done
	if [ -z "$sselog" ]; then
		echo "bench/write.sh: no sselog in . or _build: build it, or" \
		    "give --sselog PATH" >&2
		exit 1
	fi
fi
case $sselog in
/*) ;;
*) sselog=$(cd "$(dirname "$sselog")" && pwd)/$(basename "$sselog") ;;
esac
[ -x "$sselog" ] || { echo "bench/write.sh: $sselog: not executable" >&2; exit 1; }

# The command line that reproduces this run, from the top of the tree.
args=
if [ -n "$given" ]; then
	case $sselog in
	"$root"/*) args=" --sselog ${sselog#"$root"/}" ;;
	*) args=" --sselog $sselog" ;;
	esac
fi
[ "$quick" = no ] || args="$args --quick"
[ "$write_docs" = no ] || args="$args --write-docs"
load=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || :)

if [ "$quick" = yes ]; then
	runs=3 lines=100000 calls=100 trickled=10
else
	runs=5 lines=1000000 calls=1000 trickled=20
fi
# Long enough that the input has gone quiet before the next line, so that
# every line is a batch of its own: the worst case for latency.
trickle_ms=50

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sselog-bench.XXXXXX")
reader=
cleanup() {
	if [ -n "$reader" ]; then
		kill "$reader" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() {
	printf '%s\n' "$*" >&2
}

helper=$tmp/write-helper
# shellcheck disable=SC2046 # pkg-config output is meant to be split
cc -std=c11 -O2 -o "$helper" "$here/write-helper.c" \
    $(pkg-config --cflags --libs sqlite3) || {
	say "bench/write.sh: cannot build write-helper.c (needs cc, pkg-config and libsqlite3-dev)"
	exit 1
}

# The input, made once, outside the timings.
say "making the input: $lines lines"
awk -v n="$lines" 'BEGIN {
	pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	pad = pad pad
	for (i = 1; i <= n; i++)
		printf "%08d %s\n", i, substr(pad, 1 + i % 40, 91)
}' > "$tmp/lines100"
seq "$lines" > "$tmp/seq" 2>/dev/null ||
    awk -v n="$lines" 'BEGIN { for (i = 1; i <= n; i++) print i }' > "$tmp/seq"
data100=$(head -n 1 "$tmp/lines100")

# Runs "$@" against a fresh log; the command sees it as $SSELOG_DB.
fresh_log() {
	rm -f "$tmp/log.db" "$tmp/log.db-wal" "$tmp/log.db-shm"
	SSELOG_DB=$tmp/log.db "$sselog" init
}

# Prints the median, min and max of the numbers on standard input.
stats() {
	sort -n | awk '{ v[NR] = $1 }
	END {
		if (NR == 0) exit 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR]
	}'
}

results=$tmp/results
: > "$results"
# record LABEL UNIT FORMAT < FILE: FILE has one figure per run. (Files,
# not pipelines: sh has no pipefail, and a failed run must stop the script.)
record() {
	stats | awk -v label="$1" -v unit="$2" -v fmt="$3" '{
		printf "%s\t%s\t" fmt "\t" fmt "\t" fmt "\n", label, unit, $1, $2, $3
	}' >> "$results"
}

export SSELOG_DB="$tmp/log.db"

# pipe_rate INPUT: lines per second of each run, into $tmp/runs.
pipe_rate() {
	input=$1
	: > "$tmp/runs"
	i=0
	while [ $i -lt $runs ]; do
		i=$((i + 1))
		fresh_log
		# shellcheck disable=SC2016 # expanded by the inner sh
		secs=$("$helper" time sh -c 'cat "$1" | "$2" pipe bench >/dev/null' \
		    sh "$input" "$sselog")
		got=$("$sselog" streams | awk -F '\t' '$1 == "bench" { print $2 }')
		if [ "$got" != "$lines" ]; then
			say "bench/write.sh: pipe wrote ${got:-0} events, not $lines"
			exit 1
		fi
		awk -v n="$lines" -v s="$secs" 'BEGIN { printf "%.0f\n", n / s }' \
		    >> "$tmp/runs"
		say "  run $i: $secs s"
	done
}

say "pipe, $lines lines of 100 bytes, $runs runs"
pipe_rate "$tmp/lines100"
record "\`sselog pipe\`, $lines lines of 100 bytes" "lines/s" "%.0f" < "$tmp/runs"
say "pipe, seq $lines, $runs runs"
pipe_rate "$tmp/seq"
record "\`sselog pipe\`, \`seq $lines\`" "lines/s" "%.0f" < "$tmp/runs"

# publish_rate READER: ms per call of each run, into $tmp/runs. With READER
# "yes", a `sselog watch` holds the log open meanwhile, as a running
# responder does: then a publish is not the last connection to close, and
# does not checkpoint the WAL into the database and delete it.
publish_rate() {
	: > "$tmp/runs"
	i=0
	while [ $i -lt $runs ]; do
		i=$((i + 1))
		fresh_log
		reader=
		if [ "$1" = yes ]; then
			"$sselog" watch idle >/dev/null &
			reader=$!
			n=0
			while [ ! -e "$tmp/log.db-shm" ] && [ $n -lt 100 ]; do
				sleep 0.1 2>/dev/null || sleep 1
				n=$((n + 1))
			done
		fi
		# shellcheck disable=SC2016 # expanded by the inner sh
		secs=$("$helper" time sh -c '
			n=0
			while [ $n -lt "$1" ]; do
				n=$((n + 1))
				"$2" publish bench "$3" >/dev/null || exit 1
			done' sh "$calls" "$sselog" "$data100")
		if [ -n "$reader" ]; then
			kill "$reader"
			wait "$reader" || :
			reader=
		fi
		awk -v n="$calls" -v s="$secs" \
		    'BEGIN { printf "%.3f\n", s * 1000 / n }' >> "$tmp/runs"
		say "  run $i: $secs s"
	done
}

say "publish, $calls calls, $runs runs"
publish_rate no
record "\`sselog publish\`, $calls calls of 100 bytes" "ms/call" "%.2f" < "$tmp/runs"
say "publish while a reader has the log open, $calls calls, $runs runs"
publish_rate yes
record "\`sselog publish\`, $calls calls, log held open by a reader" "ms/call" "%.2f" < "$tmp/runs"

say "pipe latency, $trickled lines $trickle_ms ms apart, $runs runs"
: > "$tmp/latency-all"
: > "$tmp/runs"
i=0
while [ $i -lt $runs ]; do
	i=$((i + 1))
	fresh_log
	"$helper" latency "$sselog" "$tmp/log.db" bench "$trickled" \
	    "$trickle_ms" > "$tmp/latency"
	cat "$tmp/latency" >> "$tmp/latency-all"
	median=$(stats < "$tmp/latency" | awk '{ print $1 }')
	echo "$median" >> "$tmp/runs"
	say "  run $i: median $median ms"
done
record "\`sselog pipe\` latency, median of $trickled trickled lines" "ms" "%.2f" < "$tmp/runs"
stats < "$tmp/latency-all" | awk -v n="$((runs * trickled))" '{
	printf "`sselog pipe` latency, slowest of all %d trickled lines\tms\t%.2f\t\t\n",
	    n, $3
}' >> "$results"

# ---- report ----

cpu=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
fstype=$(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')
machine="- CPUs: $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN), ${cpu:-unknown model}
- memory: ${mem:-unknown}
- kernel: $(uname -sr)
- SQLite: $("$helper" version)
- file system of the log: ${fstype:-unknown} (${TMPDIR:-/tmp})
- sselog: $("$sselog" --version)$(
	commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null) &&
	    echo ", HEAD of the checkout $commit")
- load average when the run started: ${load:-unknown}
- date: $(date -u +%Y-%m-%d)"

table() {
	echo "| measurement | median | min | max | unit |"
	echo "|---|--:|--:|--:|---|"
	awk -F '\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $3, $4, $5, $2 }' "$results"
}

echo
table
echo
echo "$machine"
echo "runs per figure: $runs; trickled lines are $trickle_ms ms apart"

if [ "$write_docs" = yes ]; then
	doc=$root/docs/performance.md
	begin='<!-- bench/write.sh begin -->'
	end='<!-- bench/write.sh end -->'
	section=$tmp/section
	{
		echo "$begin"
		echo "Measured with:"
		echo
		echo '```'
		echo "bench/write.sh$args"
		echo '```'
		echo
		echo "$machine"
		echo
		table
		echo
		echo "Each figure is the median of $runs runs, each on a fresh log;"
		echo "min and max are the extremes of those runs. Lines of 100 bytes"
		echo "are 100 bytes of data each (101 with the newline). Trickled"
		echo "lines are written $trickle_ms ms apart, so that each one is a"
		echo "batch of its own."
		echo "$end"
	} > "$section"
	mkdir -p "$root/docs"
	if [ ! -f "$doc" ]; then
		cat > "$doc" <<-'EOF'
		# Performance

		How fast `sselog` writes to the event log. The figures below come from
		`bench/write.sh`, which builds a small C helper, runs each measurement
		on a fresh log in a temporary directory, and prints the medians; with
		`--write-docs` it replaces the section between the markers below, so
		the figures, the machine and the command always go together.

		What the figures mean:

		- **`sselog pipe` lines/s**: one event per input line, fed through a
		  pipe, with batched transactions. This is the rate for a producer
		  that writes as fast as it can, such as `make 2>&1 | sselog pipe`.
		- **`sselog publish` ms/call**: one process, one connection and one
		  committed transaction per event, in a shell loop. When no other
		  connection has the log open, the closing connection also copies
		  the WAL into the database and deletes it, which costs more
		  fsyncs; with a reader holding the log open, as a running responder
		  does, it does not. Use `pipe`, or SQL in one transaction, for
		  bulk writes.
		- **latency**: from writing one line into `sselog pipe`'s input to the
		  row being visible to a reader of the log (such as the responder),
		  when lines trickle in one at a time. It does not include the
		  responder's own delay in noticing the append.

		The figures depend mostly on the cost of an fsync on the file system
		that holds the log (WAL mode, `synchronous` at SQLite's default,
		FULL), and on what else the machine is doing: run the benchmark on
		an idle machine, with `TMPDIR` set to a directory on the file system
		you care about.

		To reproduce, build `sselog` (for example `mkdir -p _build-doc &&
		cd _build-doc && ../configure && make sselog`), then run the command
		shown below from the top of the source tree; without `--sselog` the
		script uses `./sselog` or `_build/sselog`.

		EOF
		{ cat "$section"; echo; } >> "$doc"
	elif grep -qF "$begin" "$doc" && grep -qF "$end" "$doc"; then
		awk -v begin="$begin" -v end="$end" -v section="$section" '
			$0 == begin {
				while ((getline line < section) > 0)
					print line
				skip = 1
				next
			}
			$0 == end { skip = 0; next }
			!skip' "$doc" > "$tmp/doc"
		cat "$tmp/doc" > "$doc"
	else
		say "bench/write.sh: $doc has no '$begin' ... '$end' section"
		exit 1
	fi
	say "wrote $doc"
fi
