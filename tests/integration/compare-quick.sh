# bench/compare.sh --quick: sselog, nchan and the tutorial polling endpoint
# side by side on one nginx, with small numbers, so that the benchmark
# cannot rot. It checks sanity only (every load run delivered every event
# once, in order, on every connection; nothing failed), not the targets,
# which only the full run by hand measures (docs/performance.md).
# Needs root, nginx, libnginx-mod-nchan, spawn-fcgi and python3
# (build-aux/deps test).
build=$(dirname "$SSELOG_FCGI")
log=$(mktemp "${TMPDIR:-/tmp}/compare-quick.XXXXXX") || {
	echo "Bail out! cannot make a temporary file"
	exit 99
}
sh "$SRCDIR/bench/compare.sh" --build "$build" --quick --tap 2>"$log"
status=$?
sed 's/^/# /' "$log"
rm -f "$log"
if [ $status -ne 0 ]; then
	echo "# bench/compare.sh --quick exited with status $status"
	exit 1
fi
