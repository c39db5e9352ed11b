# 5,000 concurrent streams through nginx on one sselog-fcgi process, the
# smoke run of bench/streams.sh, kept in the suite so that it cannot rot.
# Checked as 5,000 open pages would see it, from the load client's
# summary: each connects and stays connected (none refused, failed or
# ended), and each receives the one event published, once, within 5 s of
# its publication (about 0.1 s on a quiet machine: docs/performance.md).
#
# With SSELOG_TEST_LOG=postgresql (tests/pg/streams.sh), on a PostgreSQL
# log (tests/pg/lib.sh): one notification, one query, 5,000 deliveries.
. "$SRCDIR/tests/tap.sh"

n=5000
build=$(dirname "$SSELOG_FCGI")
set --
if [ "${SSELOG_TEST_LOG:-sqlite}" = postgresql ]; then
	. "$SRCDIR/tests/pg/lib.sh"
	pg_cluster
	set -- --db "$PG_URI"
fi
out=$(sh "$SRCDIR/bench/streams.sh" --build "$build" --streams "$n" "$@" 2>&1)
status=$?

# connections=N failed=N ended=N short=N events=N dups=N gaps=N
# p50_ms=X p99_ms=X max_ms=X ...
summary=$(printf '%s\n' "$out" | grep -o 'connections=[^`]*' | tail -n 1)
kv() {
	printf '%s\n' "$summary" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

is "bench/streams.sh ended with status 0" "$status" 0
is "all $n streams connected and stayed open (connections failed ended)" \
    "$(kv connections) $(kv failed) $(kv ended)" "$n 0 0"
is "each received the event, once (events short dups gaps)" \
    "$(kv events) $(kv short) $(kv dups) $(kv gaps)" "$n 0 0 0"
max=$(kv max_ms)
if [ -n "$max" ] && awk -v m="$max" 'BEGIN { exit !(m <= 5000) }'; then
	ok "the last stream had it within 5 s of its publication ($max ms)"
else
	not_ok "the last stream had it within 5 s of its publication" \
	    "max_ms: '$max'"
fi
printf '%s\n' "$out" | sed 's/^/# /'
done_testing
