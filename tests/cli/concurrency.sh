# tests/cli/concurrency.sh: many writers on one log at once (four loops of
# `sselog publish`, two loops of inserts through the sqlite3 shell with
# .timeout, one `sselog pipe` of 2000 lines) all succeed, none reports the
# database locked or busy, every event arrives, and each writer's events
# have strictly increasing ids in the order it wrote them.
. "$SRCDIR/tests/cli/lib.sh"

N=200		# events per publish loop and per SQL loop
LINES=2000	# lines through pipe
# The passes of tests/run-all that check the build, not the races (the
# sanitizers, distcheck): a quarter, enough to write at the same time.
if [ -n "${SSELOG_TEST_LIGHT:-}" ]; then
	N=100
	LINES=500
fi

sselog -d t.db init

# Each writer puts "WRITER:I" into the shared stream, I counting from 1,
# and exits with the number of its failures.
publish_loop() {
	p_fail=0
	i=1
	while [ $i -le $N ]; do
		sselog -d t.db publish shared "$1:$i" >>"$1.ids" ||
			p_fail=$((p_fail + 1))
		i=$((i + 1))
	done
	exit $p_fail
}

sql_loop() {
	s_fail=0
	i=1
	while [ $i -le $N ]; do
		timeout 60 sqlite3 -cmd '.timeout 10000' t.db \
		    "INSERT INTO events (stream, data) VALUES ('shared', '$1:$i')" ||
			s_fail=$((s_fail + 1))
		i=$((i + 1))
	done
	exit $s_fail
}

# The lines come in bursts over about a second, so that pipe writes while
# the loops do.
feed_pipe() {
	i=1
	while [ $i -le $LINES ]; do
		echo "pipe:$i"
		[ $((i % (LINES / 20))) -eq 0 ] && sleep 0.05
		i=$((i + 1))
	done
}

# The pipe first: its second of bursts spans the others' starts.
writers="pipe pub1 pub2 pub3 pub4 sql1 sql2"
feed_pipe | "$SSELOG" -d t.db pipe shared >/dev/null 2>pipe.err &
pids=$!
track $!
for w in pub1 pub2 pub3 pub4; do
	publish_loop "$w" >/dev/null 2>"$w.err" &
	pids="$pids $!"
	track $!
done
for w in sql1 sql2; do
	sql_loop "$w" >/dev/null 2>"$w.err" &
	pids="$pids $!"
	track $!
done

# shellcheck disable=SC2086 # one word per writer
set -- $writers
for pid in $pids; do
	if wait_exit "$pid" 300; then
		is "$1 finished without a failure" "$WAIT_RC" 0
	else
		not_ok "$1 finished without a failure" "still running after 300 s"
	fi
	shift
done

for w in $writers; do
	if grep -qiE 'locked|busy' "$w.err"; then
		not_ok "$w: no error says locked or busy" "$(head -5 "$w.err")"
	else
		ok "$w: no error says locked or busy"
	fi
	is "$w: nothing at all on stderr" "$(head -c 300 "$w.err")" ""
done

is "the final count is exact" "$(sql t.db 'SELECT count(*) FROM events')" \
    $((6 * N + LINES))
is "every id is distinct and the log has nothing else" \
    "$(sql t.db "SELECT count(DISTINCT id) || ' ' || count(DISTINCT data) FROM events WHERE stream = 'shared'")" \
    "$((6 * N + LINES)) $((6 * N + LINES))"

# A writer's events, in id order, must be its 1, 2, 3, ...
for w in $writers; do
	want=$N
	[ "$w" = pipe ] && want=$LINES
	is "$w: all its events arrived" \
	    "$(sql t.db "SELECT count(*) FROM events WHERE data LIKE '$w:%'")" "$want"
	is "$w: ids strictly increase in the order it wrote" \
	    "$(sql t.db "SELECT count(*) FROM (SELECT data, row_number() OVER (ORDER BY id) AS n FROM events WHERE data LIKE '$w:%') WHERE data <> '$w:' || n")" 0
done

# They did write at the same time: every writer's first id comes before
# every other writer's last id.
is "the writers' id ranges all overlap" \
    "$(sql t.db "WITH r AS (SELECT substr(data, 1, instr(data, ':') - 1) AS w, min(id) AS lo, max(id) AS hi FROM events GROUP BY w) SELECT count(*) FROM r a, r b WHERE a.lo > b.hi")" 0

# The ids that publish printed are the ids stored, in increasing order.
for w in pub1 pub2 pub3 pub4; do
	is "$w: printed ids are those stored, increasing" "$(tr '\n' ' ' <"$w.ids")" \
	    "$(sql t.db "SELECT group_concat(id, ' ') || ' ' FROM (SELECT id FROM events WHERE data LIKE '$w:%' ORDER BY id)")"
done

done_testing
