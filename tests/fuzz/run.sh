#!/bin/sh
# Runs each libFuzzer target of tests/fuzz/ (built by `make fuzz` into
# fuzz/ of the build directory) for a few seconds, from its seed corpus in
# tests/fuzz/corpus/TARGET/, which is read first: a seed that once crashed
# is a regression test. One TAP case per target. New inputs go to a
# temporary directory, never into the source tree.
#
# Environment: FUZZ_SECONDS (default 2) per target; FUZZ_DIR, the
# directory of the programs (default ./fuzz); SRCDIR, the source tree.
# A crash leaves its input in FUZZ_DIR/crash-TARGET-*; reproduce with
# `fuzz/fuzz_TARGET FILE`.
set -u

srcdir=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bindir=${FUZZ_DIR:-$PWD/fuzz}
seconds=${FUZZ_SECONDS:-2}
targets="sse request url_decode number utf8 fcgi_record fcgi_head fcgi_input lines rules token upload"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sselog-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

set -- $targets
echo "1..$#"
n=0
for t in $targets; do
	n=$((n + 1))
	prog=$bindir/fuzz_$t
	if ! [ -x "$prog" ]; then
		echo "not ok $n - $t: $prog not built (make fuzz)"
		continue
	fi
	mkdir -p "$tmp/$t"
	log=$tmp/$t.log
	# -seed fixed per target: a failure here reproduces with the same
	# command. The new inputs land in the first directory only.
	if "$prog" -max_total_time="$seconds" -timeout=10 -seed=$n \
	    -print_final_stats=1 -artifact_prefix="$tmp/$t-" \
	    "$tmp/$t" "$srcdir/tests/fuzz/corpus/$t" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok $n - $t: ${runs:-?} runs in ${seconds}s, no crash"
	else
		echo "not ok $n - $t: crash or failed check"
		grep -E 'ERROR|check failed|SUMMARY|^    #[0-9]' "$log" |
		    head -n 25 | sed 's/^/# /'
		for f in "$tmp/$t"-*; do
			[ -f "$f" ] || continue
			keep=$bindir/crash-$t-${f##*-}
			cp "$f" "$keep"
			echo "# input kept in $keep; reproduce: $prog $keep"
		done
	fi
done
