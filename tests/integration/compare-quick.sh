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
# One awk over the rows, which prints for each "ok<TAB>DESC" or
# "bad<TAB>DESC<TAB>WHAT": a sed, a grep or an awk per cell took 4 CPU
# seconds over the 37 rows.
grep '^| ' report | sed 1d | awk -F '|' '
function trim(x) { sub(/^ +/, "", x); sub(/ +$/, "", x); return x }
{
	workload = trim($2); figure = trim($3)
	v["sselog"] = trim($4); v["nchan"] = trim($5); v["poll"] = trim($7)
	target = trim($8)
	if (figure ~ /fewest–most/) rule = "range"
	else if (figure ~ /%/ || figure == "seconds to open them all") rule = "nonneg"
	else rule = (target == "0") ? "zero" : "positive"
	bad = ""
	split("sselog nchan poll", sys, " ")
	for (i = 1; i <= 3; i++) {
		s = sys[i]; x = v[s]
		if (s != "sselog" && (x == "" || x == "-" ||
		    (s == "nchan" && x == "no database")))
			continue
		if (rule == "range")
			good = (x ~ /^[1-9][0-9]*–[1-9][0-9]*$/)
		else if (rule == "zero")
			good = (x == "0")
		else
			good = (x ~ /^[0-9]+(\.[0-9]+)?$/) &&
			    (rule == "nonneg" || x + 0 > 0)
		if (!good)
			bad = bad " " s "=" x
	}
	if (bad == "") {
		d = workload ": " figure ": " v["sselog"]
		if (v["nchan"] != "") d = d " / " v["nchan"]
		if (v["poll"] != "") d = d " / " v["poll"]
		printf "ok\t%s\n", d
	} else
		printf "bad\t%s: %s\texpected %s, got:%s\n", workload, figure, rule, bad
}' >rows
rows=0
tab=$(printf '\t')
while IFS=$tab read -r verdict desc what; do
	rows=$((rows + 1))
	if [ "$verdict" = ok ]; then
		ok "$desc"
	else
		not_ok "$desc" "$what"
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
