# tests/cli/prune.sh: `sselog prune` deletes, per stream, the events that
# meet every condition given (--keep N: not among the newest N;
# --older-than D: created more than D ago), of the named streams or of all;
# never a close event; records the highest deleted id per stream in
# `pruned`; reports the count; and refuses bad input without deleting.
. "$SRCDIR/tests/cli/lib.sh"

sselog -d t.db init

# Appends an event whose `created` is AGE ago: ins STREAM DATA AGE_MS [TYPE].
ins() {
	ins_type=NULL
	[ $# -ge 4 ] && ins_type="'$4'"
	sql t.db "INSERT INTO events (stream, event, data, created)
	    VALUES ('$1', $ins_type, '$2',
	    CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) - $3)"
}

# The data of a stream's events, comma-separated, in id order.
left() {
	sql t.db "SELECT coalesce(group_concat(data, ','), '') FROM (SELECT data FROM events WHERE stream = '$1' ORDER BY id)"
}

pruned() {
	sql t.db "SELECT coalesce(group_concat(stream || '=' || last_id, ' '), '') FROM (SELECT * FROM pruned ORDER BY stream)"
}

for i in 1 2 3 4 5 6 7 8 9 10; do ins a "a$i" 0; done	# ids 1-10
for i in 1 2 3 4 5; do ins b "b$i" 0; done		# ids 11-15
for i in 1 2 3; do ins c "c$i" 0; done			# ids 16-18
sselog -d t.db close c >/dev/null			# id 19

# Refused, and nothing deleted.
snapshot t.db
run sselog -d t.db prune
refused "no condition: exit 2" 2 "--keep"
run sselog -d t.db prune a
refused "a stream but no condition: exit 2" 2 "--keep"
for d in 5 5x -1d 0d 1.5h 7dd ''; do
	run sselog -d t.db prune --older-than "$d"
	refused "--older-than '$d': exit 2" 2 "--older-than $d"
done
run sselog -d t.db prune --keep -1
refused "--keep -1: exit 2" 2 "--keep -1"
run sselog -d t.db prune --keep abc
refused "--keep abc: exit 2" 2 "--keep abc"
run sselog -d t.db prune --keep 1 a 'b c'
refused "a bad stream name: exit 1" 1 "invalid stream name"
run sselog -d t.db prune --keep 1 'a/../b'
refused "a stream a/../b: exit 1" 1 "invalid stream name"
run sselog -d missing.db prune --keep 1
refused "a missing database: exit 1" 1 "missing.db"
is_unchanged "the refused prunes deleted nothing" t.db
is "and recorded nothing" "$(pruned)" ""

# --keep N on one stream.
run sselog -d t.db prune --keep 3 a
is_status "--keep 3 a: succeeds" 0
is_out "--keep 3 a: reports the count" "pruned 7 events"
is_quiet "--keep 3 a: nothing on stderr"
is "--keep 3 a: the newest 3 of a are left" "$(left a)" "a8,a9,a10"
is "--keep 3 a: other streams untouched" "$(left b)" "b1,b2,b3,b4,b5"
is "--keep 3 a: pruned records a's highest deleted id" "$(pruned)" "a=7"

run sselog -d t.db prune --keep 3 a
is_out "pruning again deletes nothing" "pruned 0 events"
is "and keeps the record" "$(pruned)" "a=7"

# Several streams; a closed one keeps its close event.
run sselog -d t.db prune --keep 2 b c
is_out "--keep 2 b c: reports the count" "pruned 5 events"
is "--keep 2 b c: b keeps its newest 2" "$(left b)" "b4,b5"
is "--keep 2 b c: c keeps its newest 2, the close event among them" \
    "$(sql t.db "SELECT group_concat(id, ',') FROM (SELECT id FROM events WHERE stream = 'c' ORDER BY id)")" "18,19"
is "--keep 2 b c: both recorded" "$(pruned)" "a=7 b=13 c=17"

run sselog -d t.db prune --keep 0 c
is_out "--keep 0 on a closed stream: only the close event is left" "pruned 1 event"
is "the close event is never deleted" "$(sql t.db "SELECT group_concat(id || ':' || event) FROM events WHERE stream = 'c'")" "19:sselog.close"
run sselog -d t.db publish c x
refused "the stream stays closed" 1 "stream is closed"

# All streams.
run sselog -d t.db prune --keep 1
is_out "--keep 1 on all streams: reports the count" "pruned 3 events"
is "--keep 1: a keeps its newest" "$(left a)" "a10"
is "--keep 1: b keeps its newest" "$(left b)" "b5"
is "--keep 1: records the highest deleted ids" "$(pruned)" "a=9 b=14 c=18"
run sselog -d t.db streams
is_out "streams after pruning" "$(printf 'a\t1\t10\t10\topen\nb\t1\t15\t15\topen\nc\t1\t19\t19\tclosed')"

run sselog -d t.db prune --keep 1 nosuch
is_out "a stream without events: nothing to prune" "pruned 0 events"

# --older-than, on events inserted with an old `created`.
min=60000 hour=3600000 day=86400000
ins old "40m" $((40 * min))		# ids 20-23
ins old "13h" $((13 * hour))
ins old "8d" $((8 * day))
ins old "now" 0
run sselog -d t.db prune --older-than 7d old
is_out "--older-than 7d: reports the count" "pruned 1 event"
is "--older-than 7d: only the 8-day-old event goes" "$(left old)" "40m,13h,now"
run sselog -d t.db prune --older-than 12h old
is_out "--older-than 12h: reports the count" "pruned 1 event"
is "--older-than 12h: the 13-hour-old event goes" "$(left old)" "40m,now"
run sselog -d t.db prune --older-than 2w old
is_out "--older-than 2w: nothing that young" "pruned 0 events"
run sselog -d t.db prune --older-than 30m
is_out "--older-than 30m on all streams: reports the count" "pruned 1 event"
is "--older-than 30m: the 40-minute-old event goes" "$(left old)" "now"
run sselog -d t.db prune --older-than 90s old
is_out "--older-than 90s: not the new event" "pruned 0 events"
is "pruned keeps the highest deleted id of old (8d: 22), not the last (40m: 20)" \
    "$(sql t.db "SELECT last_id FROM pruned WHERE stream = 'old'")" 22

# Both conditions: only events that meet both are deleted.
ins both "old1" $((8 * day))
ins both "new1" 0
ins both "old2" $((8 * day))
ins both "new2" 0
run sselog -d t.db prune --keep 2 --older-than 7d both
is_out "--keep 2 --older-than 7d: reports the count" "pruned 1 event"
is "only old1 is old and outside the newest 2" "$(left both)" "new1,old2,new2"

# An old close event is kept however old it is.
ins oldclosed "x" $((30 * day))
ins oldclosed "" $((30 * day)) sselog.close
run sselog -d t.db prune --keep 0 --older-than 1d oldclosed
is_out "an old closed stream: everything but the close event goes" "pruned 1 event"
is "the old close event is kept" "$(sql t.db "SELECT group_concat(event) FROM events WHERE stream = 'oldclosed'")" "sselog.close"

done_testing
