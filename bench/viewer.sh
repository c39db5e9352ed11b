#!/bin/sh
# The log viewer (www/viewer.html) on a long log, in headless Chromium
# through nginx: the time until 100,000 replayed lines are on the page
# (from the start of its load), and the longest task (PerformanceObserver
# 'longtask') while it follows a stream that grows by 1,000 lines a
# second for 10 s. The measurement is tests/browser/viewer-long.sh's,
# which also asserts the bounds (5 s, 200 ms): this runs it RUNS times
# (default 3), one after the other, and reports the median of each of
# its "# figure:" lines and the worst run.
#
# Needs what that test needs: root, nginx, chromium, Node.js 20 and
# tests/browser/node_modules (build-aux/deps test). Run it alone: the
# figures are wall-clock times on the page's main thread.
#
# usage: bench/viewer.sh [--build DIR] [--runs N] [--write-docs]
set -eu

usage() {
	echo "usage: bench/viewer.sh [--build DIR] [--runs N] [--write-docs]" >&2
	exit 2
}
build=
write_docs=no
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -gt 1 ] || usage; build=$2; shift ;;
	--runs) [ $# -gt 1 ] || usage; runs=$2; shift
		case $runs in '' | *[!0-9]* | 0) usage ;; esac ;;
	--write-docs) write_docs=yes ;;
	*) usage ;;
	esac
	shift
done
bench_name=viewer
. "$(dirname "$0")/lib.sh"
bench_find_build
dir=$(mktemp -d "/tmp/sselog-viewer.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# One run of the test: its "# figure:" lines appended to $dir/figures.
run() {
	rc=0
	SRCDIR=$top BUILDDIR=$build SSELOG=$build/sselog \
	    SSELOG_FCGI=$build/sselog-fcgi sh "$top/tests/browser/viewer-long.sh" \
	    >"$dir/out" 2>&1 || rc=$?
	if ! grep -q '^# figure: follow_rate=' "$dir/out"; then
		sed 's/^/viewer.sh: /' "$dir/out" >&2
		echo "viewer.sh: tests/browser/viewer-long.sh measured nothing (exit $rc)" >&2
		exit 1
	fi
	# The figures, also when they miss the test's bounds (which it says).
	grep '^not ok' "$dir/out" | sed "s/^/viewer.sh: run $1: /" >&2 || :
	grep '^# figure: ' "$dir/out" | tr '\n' ' ' >>"$dir/figures"
	echo >>"$dir/figures"
	echo "viewer.sh: run $1: $(tail -n 1 "$dir/figures")" >&2
}
: >"$dir/figures"
r=1
while [ "$r" -le "$runs" ]; do
	run "$r"
	r=$((r + 1))
done

# fig NAME [max]: the median over the runs of the value of NAME=VALUE
# on the "# figure:" lines (the largest with max).
fig() {
	sed -n "s/.*\b$1=\([0-9-]*\).*/\1/p" "$dir/figures" | sort -n |
	    awk -v m="${2:-}" '{ a[NR] = $1 } END {
		if (NR == 0) print "-"
		else if (m == "max") print a[NR]
		else if (NR % 2) print a[(NR + 1) / 2]
		else printf "%d\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
replay_lines=$(fig replay_lines)
replay_ms=$(fig replay_ms) replay_max=$(fig replay_ms max)
replay_task=$(fig replay_longest_task_ms)
rate=$(fig follow_rate)
seconds=$(fig follow_seconds)
follow_task=$(fig follow_longest_task_ms)
follow_max=$(fig follow_longest_task_ms max)
long_tasks=$(fig long_tasks)
# No task of 50 ms or more (the long-task threshold) is no figure.
follow_cell="$follow_task ms ($long_tasks tasks over 50 ms)"
[ "$follow_task" != 0 ] || follow_cell="none over 50 ms"
[ "$follow_max" != 0 ] || follow_max="none over 50"

{
	echo "### The log viewer (\`bench/viewer.sh\`)"
	echo
	echo "$(bench_machine), load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end."
	echo "\`www/viewer.html\` in headless Chromium through nginx and"
	echo "sselog-fcgi (\`tests/browser/viewer-long.sh\`, which asserts the"
	echo "bounds); the median of $runs runs, one after the other, and the"
	echo "worst of them:"
	echo
	echo "| | median | worst | bound |"
	echo "|---|---|---|---|"
	echo "| $replay_lines lines replayed, on the page from the start of its load | $replay_ms ms | $replay_max ms | 5000 ms |"
	echo "| the longest task meanwhile | $replay_task ms | | |"
	echo "| the longest task following $rate lines/s for $seconds s (past 100,000 lines: the oldest dropped) | $follow_cell | $follow_max ms | 200 ms |"
} >"$dir/section.md"
cat "$dir/section.md"
if [ "$write_docs" = yes ]; then
	bench_write_docs viewer.sh "$dir/section.md"
	echo "viewer.sh: docs/performance.md updated"
fi
