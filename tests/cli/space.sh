# tests/cli/space.sh: the log gives its space back. `prune --forget-closed
# DURATION` forgets the streams closed that long ago (0: every closed
# one), close events and records of pruning included, so that a stream
# per build leaves nothing behind; prune and forget give the freed pages
# back to the file system (auto_vacuum = INCREMENTAL, which `sselog init`
# sets) and truncate the -wal file, even while a reader has the log open;
# `sselog vacuum` does the same once for a log created without
# auto_vacuum. Before, 100,006 events pruned left a 5.6 MB file, a 7 MB
# -wal and a close event and a `pruned` row per stream for ever.
. "$SRCDIR/tests/cli/lib.sh"

size() {
	if [ -e "$1" ]; then stat -c %s "$1"; else echo 0; fi
}

# Fills a log: 100,000 lines in build/1 and two events in each of
# build/2 .. build/6, every stream closed, and "live" open.
fill() {
	seq 100000 | sselog -d "$1" pipe build/1
	sselog -d "$1" close build/1 >/dev/null
	for b in 2 3 4 5 6; do
		sselog -d "$1" publish "build/$b" "step of $b" >/dev/null
		sselog -d "$1" close "build/$b" >/dev/null
	done
	sselog -d "$1" publish live x >/dev/null
}

# A reader that keeps the log DB open, as the responder does: the -wal
# file stays, and the checkpoints must truncate it all the same. Sets
# $reader.
hold_open() {
	"$SSELOG" -d "$1" watch live >watch.out 2>watch.err &
	reader=$!
	track "$reader"
	wait_until 10 [ -e "$1-wal" ]
}

sselog -d t.db init
is "init makes logs that give space back" \
    "$(sql t.db 'PRAGMA auto_vacuum')" 2
fill t.db
sselog -d t.db prune --keep 0 live >/dev/null
before=$(size t.db)
check "the full log is over 1 MB ($before bytes)" [ "$before" -gt 1000000 ]

hold_open t.db

run sselog -d t.db prune --keep 0 --forget-closed 0
is_status "prune --keep 0 --forget-closed 0: succeeds" 0
is_out "it says how many events and streams went" \
    "pruned 100011 events; forgot 6 streams"
is_quiet "nothing on stderr"
is "no event is left" "$(sql t.db 'SELECT count(*) FROM events')" 0
is "only the open stream's record of pruning is left" \
    "$(sql t.db 'SELECT group_concat(stream) FROM pruned')" live
after=$(size t.db)
check "the file shrank to a few pages ($before -> $after bytes)" \
    [ "$after" -lt 200000 ]
check "the -wal file is truncated ($(size t.db-wal) bytes)" \
    [ "$(size t.db-wal)" -lt 100000 ]
check "the reader is still there" t_alive "$reader"
kill "$reader"
run sselog -d t.db publish build/1 again
is_out "ids go on after the forgotten ones" 100013

# --forget-closed DURATION: only what was closed that long ago; among the
# named streams when some are; with --keep, the others are pruned too.
ins() {
	sql t.db "INSERT INTO events (stream, event, data, created)
	    VALUES ('$1', $2, '', CAST((julianday('now') - 2440587.5)
	    * 86400000.0 AS INTEGER) - $3)"
}
day=86400000
ins old1 NULL $((9 * day))
ins old1 "'sselog.close'" $((9 * day))
ins old2 NULL $((9 * day))
ins old2 "'sselog.close'" $((9 * day))
ins recent NULL $((1 * day))
ins recent "'sselog.close'" $((1 * day))
ins open NULL $((9 * day))
ins open NULL 0
run sselog -d t.db prune --forget-closed 7d old1 recent open
is_out "--forget-closed 7d old1 recent open: only old1" \
    "pruned 2 events; forgot 1 stream"
is "old2 was not named, recent is too young, open is open" \
    "$(sql t.db "SELECT group_concat(DISTINCT stream) FROM (SELECT stream FROM events ORDER BY stream)")" \
    "build/1,old2,open,recent"
run sselog -d t.db prune --forget-closed 2d --keep 1
is_out "--forget-closed 2d --keep 1 on every stream" \
    "pruned 4 events; forgot 1 stream"
is "old2 is forgotten, open and recent are pruned to one event" \
    "$(sql t.db "SELECT group_concat(stream || ':' || coalesce(event, '-')) FROM (SELECT * FROM events ORDER BY id)")" \
    "build/1:-,recent:sselog.close,open:-"

snapshot t.db
for d in 5 5x -1d 1.5h 7dd '' -0; do
	run sselog -d t.db prune --forget-closed "$d"
	refused "--forget-closed '$d': exit 2" 2 "--forget-closed $d"
done
run sselog -d t.db prune --forget-closed 0 'bad name'
refused "a bad stream name: exit 1" 1 "invalid stream name"
is_unchanged "the refused prunes changed nothing" t.db

# A log made before auto_vacuum (the schema run by the sqlite3 shell):
# prune frees pages that the file keeps, and says so; sselog vacuum
# gives them back, for good.
sql old.db 'PRAGMA journal_mode = WAL' >/dev/null
sql old.db ".read $SRCDIR/sql/schema.sql"
is "the old log has no auto_vacuum" "$(sql old.db 'PRAGMA auto_vacuum')" 0
fill old.db
run sselog -d old.db prune --keep 0
is_out "prune on the old log" "pruned 100006 events"
is_err "it says that sselog vacuum would give the space back" \
    "'sselog vacuum' gives it back"
kept=$(size old.db)
check "the old log kept its size ($kept bytes)" [ "$kept" -gt 1000000 ]
hold_open old.db
run sselog -d old.db vacuum
is_status "vacuum: succeeds" 0
is_out "vacuum prints nothing" ""
is_quiet "nothing on stderr"
check "vacuum shrank the old log ($kept -> $(size old.db) bytes)" \
    [ "$(size old.db)" -lt 200000 ]
check "and truncated its -wal file ($(size old.db-wal) bytes)" \
    [ "$(size old.db-wal)" -lt 100000 ]
is "the old log gives space back from now on" \
    "$(sql old.db 'PRAGMA auto_vacuum')" 2
is "the close events are still there" \
    "$(sql old.db "SELECT count(*) FROM events WHERE event = 'sselog.close'")" 6
kill "$reader"
run sselog -d old.db publish live y
is_out "ids go on from where they were" 100013
run sselog -d old.db vacuum extra
refused "vacuum takes no arguments: exit 2" 2 "no arguments"

done_testing
