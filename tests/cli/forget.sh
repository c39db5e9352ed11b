# tests/cli/forget.sh: `sselog forget STREAM...` erases streams, open or
# closed, with what was recorded of their pruning, so that a CI job re-run
# under the same stream name can write it again (it failed with "stream is
# closed"); ids go on and are never reused; a name with nothing to forget
# is no error; bad input changes nothing. A `sselog watch` that follows a
# stream while it is forgotten goes on with the new run; a watch from an
# id of the old run gets the new run, without sselog.gap.
. "$SRCDIR/tests/cli/lib.sh"

RUN_TIMEOUT=20

count() {
	sql t.db "SELECT count(*) FROM events WHERE stream = '$1'"
}

pruned() {
	sql t.db "SELECT coalesce(group_concat(stream), '') FROM pruned"
}

# Starts `sselog watch --since 0 STREAM...` in the background, its output
# in OUT, and waits until it has printed TEXT: bg_watch OUT TEXT STREAM...
# Sets $watch_pid.
bg_watch() {
	bg_out=$1 bg_text=$2
	shift 2
	"$SSELOG" -d t.db watch --since 0 "$@" >"$bg_out" 2>"$bg_out.err" &
	watch_pid=$!
	track "$watch_pid"
	wait_until 10 grep -q "$bg_text" "$bg_out"
}

# Forgets STREAM, appends DATA to it (the new run), closes CLOSE:
# rerun STREAM DATA CLOSE.
rerun() {
	sselog -d t.db forget "$1" >/dev/null
	sselog -d t.db publish "$1" "$2" >/dev/null
	sselog -d t.db close "$3" >/dev/null
}

# Passes when the background process PID ends by itself, with status 0.
ends() {
	if wait_exit "$2" 10; then
		is "$1" "$WAIT_RC" 0
	else
		not_ok "$1" "it did not end"
	fi
}

sselog -d t.db init

# The first run of a job, and its re-run.
printf 'one\ntwo\nthree\n' >run1
sselog -d t.db pipe build/42 <run1
sselog -d t.db close build/42 >/dev/null			# ids 1-4
run sselog -d t.db pipe build/42 <run1
refused "a closed stream cannot take the re-run" 1 "stream is closed"

run sselog -d t.db forget build/42
is_status "forget: succeeds" 0
is_out "forget: reports what went" "forgot 1 stream (4 events)"
is_quiet "forget: nothing on stderr"
is "no event of build/42 is left" "$(count build/42)" 0
run sselog -d t.db pipe build/42 <run1
is_status "the re-run writes the stream again" 0
is "the re-run's events have new ids" \
    "$(sql t.db "SELECT group_concat(id) FROM events WHERE stream = 'build/42'")" "5,6,7"
run sselog -d t.db streams
is_out "the stream is open again" "$(printf 'build/42\t3\t5\t7\topen')"

# Idempotent: nothing to forget is no error.
run sselog -d t.db forget nosuch
is_status "a name never used: succeeds" 0
is_out "and says nothing went" "forgot 0 streams (0 events)"
run sselog -d t.db forget nosuch build/42 build/42
is_out "several names, one twice" "forgot 1 stream (3 events)"
run sselog -d t.db forget build/42
is_out "forgetting again: nothing" "forgot 0 streams (0 events)"

# What was pruned is forgotten too: no sselog.gap for the next run.
for i in 1 2 3; do sselog -d t.db publish p "p$i" >/dev/null; done	# 8-10
sselog -d t.db prune --keep 1 p >/dev/null
is "prune recorded p" "$(pruned)" p
run sselog -d t.db forget p
is_out "a pruned stream: its events" "forgot 1 stream (1 event)"
is "and its record of pruning" "$(pruned)" ""
sselog -d t.db publish p new >/dev/null				# 11
run sselog -d t.db watch --since 0 p
is_out_bytes "a watch from 0 after the forget: the new run, no gap" \
    'id: 11\ndata: new\n\n'
sselog -d t.db forget p >/dev/null

# A stream whose events were all pruned, open, still has a record.
sselog -d t.db publish q x >/dev/null					# 12
sselog -d t.db prune --keep 0 q >/dev/null
run sselog -d t.db forget q
is_out "a stream with only a record of pruning" "forgot 1 stream (0 events)"
is "the record is gone" "$(pruned)" ""

# Refused, and nothing changed.
sselog -d t.db publish keep x >/dev/null				# 13
snapshot t.db
run sselog -d t.db forget
refused "no STREAM: exit 2" 2 "missing STREAM"
run sselog -d t.db forget keep 'bad name'
refused "a bad name among good ones: exit 1" 1 "invalid stream name"
run sselog -d t.db forget keep a/../b
refused "a/../b: exit 1" 1 "invalid stream name"
run sselog -d t.db forget --keep 1 keep
refused "an option of prune: exit 2" 2 "unknown option --keep"
run sselog -d missing.db forget keep
refused "a missing database: exit 1" 1 "missing.db"
is_unchanged "the refused forgets changed nothing" t.db

# A watch that follows the stream while it is forgotten goes on, and gets
# the new run; one that starts from an id of the old run gets the new run
# without sselog.gap.
sselog -d t.db publish job old-1 >/dev/null				# 14
bg_watch live.out old-1 job
rerun job new-1 job							# 15, 16
ends "the watch ends at the new run's close" "$watch_pid"
is_file "the watch got the old event, then the new run" live.out \
    'id: 14\ndata: old-1\n\nid: 15\ndata: new-1\n\nid: 16\nevent: sselog.close\ndata: {"stream":"job"}\n\n'
run sselog -d t.db watch --since 14 job
is_out_bytes "a watch from the old run's id: the new run, no gap" \
    'id: 15\ndata: new-1\n\nid: 16\nevent: sselog.close\ndata: {"stream":"job"}\n\n'

# A closed stream forgotten under a watch of it and of an open stream.
sselog -d t.db forget job >/dev/null
sselog -d t.db publish job run-1 >/dev/null				# 17
sselog -d t.db close job >/dev/null					# 18
bg_watch both.out sselog.close job other
rerun job run-2 other							# 19, 20
ends "a watch of two streams ends when the other closes" "$watch_pid"
is_file "it got the old run, then the new one" both.out \
    'id: 17\ndata: run-1\n\nid: 18\nevent: sselog.close\ndata: {"stream":"job"}\n\nid: 19\ndata: run-2\n\nid: 20\nevent: sselog.close\ndata: {"stream":"other"}\n\n'

done_testing
