# tests/cli/streams.sh: `sselog streams` prints a line per stream that has
# events, tab-separated: name, number of events, first id, last id,
# open|closed; sorted by name (byte order); nothing for an empty log.
. "$SRCDIR/tests/cli/lib.sh"

pub() {
	sselog -d t.db publish "$@" >/dev/null
}

sselog -d t.db init

run sselog -d t.db streams
is_status "an empty log: status 0" 0
is_out "an empty log: prints nothing" ""
is_quiet "an empty log: nothing on stderr"

pub b one		# 1
pub a/2 one		# 2
pub a/10 one		# 3
pub A one		# 4
pub b two		# 5
pub a one		# 6
pub @x one		# 7
pub z one		# 8
pub b three		# 9
sselog -d t.db close a/10 >/dev/null	# 10
pub z two		# 11

run sselog -d t.db streams
is_status "streams: status 0" 0
is_quiet "streams: nothing on stderr"
is_out_bytes "streams: name, events, first id, last id, state; by name" \
'@x\t1\t7\t7\topen\n'\
'A\t1\t4\t4\topen\n'\
'a\t1\t6\t6\topen\n'\
'a/10\t2\t3\t10\tclosed\n'\
'a/2\t1\t2\t2\topen\n'\
'b\t3\t1\t9\topen\n'\
'z\t2\t8\t11\topen\n'

# After a prune: first id and count follow; a stream left without events
# is no longer listed; a closed one keeps its close event and state.
sselog -d t.db prune --keep 1 b >/dev/null
sselog -d t.db prune --keep 0 z a/10 >/dev/null
run sselog -d t.db streams
is_out_bytes "streams after prune" \
'@x\t1\t7\t7\topen\n'\
'A\t1\t4\t4\topen\n'\
'a\t1\t6\t6\topen\n'\
'a/10\t1\t10\t10\tclosed\n'\
'a/2\t1\t2\t2\topen\n'\
'b\t1\t9\t9\topen\n'

# Rows written with plain SQL count the same.
sql t.db "INSERT INTO events (stream, data) VALUES ('a', 'by SQL')"
sql t.db "INSERT INTO events (stream, event, data) VALUES ('a', 'sselog.close', '')"
run sselog -d t.db streams
check "a stream closed by SQL is listed closed" grep -q "$(printf '^a\t3\t6\t13\tclosed$')" "$OUT"

run sselog -d t.db streams extra
refused "streams takes no arguments: exit 2" 2 "no arguments"
run sselog -d missing.db streams
refused "streams of a missing database: exit 1" 1 "missing.db"
check "which is not created" test ! -e missing.db

done_testing
