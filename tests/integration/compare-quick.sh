# bench/compare.sh --quick: sselog, nchan and the tutorial polling endpoint
# side by side on one nginx, with small numbers, so that the benchmark
# cannot rot. Checked here, each a TAP line of its own: every load run
# delivered every event once, in order, on every connection (compare.sh's
# own checks, passed on); the run ended well; and every figure of its
# table came out as a number that means something: 0 where it counts
# failed connections, at least 0 for the spreads in % and the seconds to
# open the streams (rounded to 0.1 s, which a quick run can be under), a
# positive number everywhere else, so that a workload that did not run
# or measured nothing ("-", 0) shows. The targets are not checked: only
# the full run by hand measures them (docs/performance.md).
# Needs root, nginx, libnginx-mod-nchan, spawn-fcgi and python3
# (build-aux/deps test).
. "$SRCDIR/tests/tap.sh"

t_cleanup() {
	cd / && rm -rf "$T_WORK"
}
t_work compare-quick

build=$(dirname "$SSELOG_FCGI")
sh "$SRCDIR/bench/compare.sh" --build "$build" --quick --tap \
    >tap 2>report
status=$?

# compare.sh's checks: "ok N - NAME: ..." or "not ok N - NAME: ...",
# followed by "#   SUMMARY" of the load client.
runs=0
while IFS= read -r line; do
	case $line in
	"ok "*)
		runs=$((runs + 1))
		ok "load run ${line#ok * - }" ;;
	"not ok "*)
		runs=$((runs + 1))
		desc=${line#not ok * - }
		not_ok "load run $desc" \
		    "$(grep -F -A 1 -e "$line" tap | sed -n '2s/^#   //p')" ;;
	esac
done <tap
check "load runs were checked ($runs)" test "$runs" -gt 0

# The table: | workload | figure | sselog | nchan | ÷ | polling | target |
# met |, after its header line. "-" is what compare.sh prints for a
# figure it does not have: always wrong for sselog, and for nchan and the
# poller where they were not measured (the poller at 1 subscriber).
trim() {
	printf '%s' "$1" | sed 's/^ *//; s/ *$//'
}
rows=0
grep '^| ' report | sed 1d >rows
while IFS='|' read -r _ workload figure sselog nchan _ poll target _; do
	rows=$((rows + 1))
	workload=$(trim "$workload") figure=$(trim "$figure")
	sselog=$(trim "$sselog") nchan=$(trim "$nchan") poll=$(trim "$poll")
	target=$(trim "$target")
	case $figure in
	*fewest–most*) rule=range ;;
	*%*|"seconds to open them all") rule=nonneg ;;
	*) [ "$target" = 0 ] && rule=zero || rule=positive ;;
	esac
	bad=
	for sys in sselog nchan poll; do
		eval "v=\$$sys"
		case $sys:$v in
		sselog:*) ;;
		*:|*:-|"nchan:no database") continue ;;
		esac
		case $rule in
		range)
			echo "$v" | grep -Eq '^[1-9][0-9]*–[1-9][0-9]*$' ;;
		zero)
			[ "$v" = 0 ] ;;
		*)
			echo "$v" | grep -Eq '^[0-9]+(\.[0-9]+)?$' &&
			    { [ "$rule" = nonneg ] ||
			    awk -v x="$v" 'BEGIN { exit !(x > 0) }'; } ;;
		esac || bad="$bad $sys=$v"
	done
	if [ -z "$bad" ]; then
		ok "$workload: $figure: $sselog${nchan:+ / $nchan}${poll:+ / $poll}"
	else
		not_ok "$workload: $figure" "expected $rule, got:$bad"
	fi
done <rows
check "the table has figures ($rows rows)" test "$rows" -gt 0

if [ "$status" -eq 0 ]; then
	ok "bench/compare.sh --quick ended with status 0"
else
	not_ok "bench/compare.sh --quick ended with status 0" \
	    "status $status; its last lines:" "$(tail -n 15 report)"
fi
[ "$T_FAILED" -eq 0 ] || sed 's/^/# /' report
done_testing
