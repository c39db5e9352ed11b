# bench/pg.sh --quick: every workload of the PostgreSQL benchmark with
# small numbers, so that it cannot rot. Checked: the run ended with status
# 0, which it does only when every load run delivered every event once,
# in order, on every connection; and every figure of its tables came out
# as a number (a workload that did not run or measured nothing shows as
# "-" or 0). The targets are not checked: only the full run by hand
# measures them (docs/performance.md). Needs root, nginx and PostgreSQL
# 15 (build-aux/deps test).
. "$SRCDIR/tests/tap.sh"

t_cleanup() {
	cd / && rm -rf "$T_WORK"
}
t_work pg-bench-quick

build=$(dirname "$SSELOG_FCGI")
sh "$SRCDIR/bench/pg.sh" --build "$build" --quick >report 2>progress
status=$?

# The rows of the tables, without their header lines: each cell that is
# not a name (it has letters) nor a percentage against the first row is a
# positive number, but the failed connections (the last cell of the rows
# that have a percentage), which are 0.
rows=0
grep -E '^\| ([0-9]|`|replay)' report >rows
while IFS= read -r row; do
	rows=$((rows + 1))
	bad=$(printf '%s\n' "$row" | awk -F '|' '{
		pct = ($0 ~ / %/)
		for (i = 2; i < NF; i++) {
			v = $i
			gsub(/^ +| +$/, "", v)
			sub(/ ×$/, "", v)
			if (v ~ /[a-zA-Z`…]/ || v ~ /^[+-][0-9.]+ %$/)
				continue
			if (pct && i == NF - 1) {
				if (v != "0") print "failed connections " v
			} else if (v !~ /^[0-9]+(\.[0-9]+)?$/ || v + 0 <= 0)
				print "cell " i - 1 ": " v
		}
	}')
	is "figures, each a number where one belongs: $row" "$bad" ""
done <rows
check "the tables have figures ($rows rows)" test "$rows" -ge 8
check "the report says every load run delivered everything" \
    grep -q 'every load run delivered every event once' report

is "bench/pg.sh --quick: its exit status" "$status" 0 ||
	tail -n 15 progress | sed 's/^/# /'
[ "$T_FAILED" -eq 0 ] || sed 's/^/# /' report
done_testing
