#!/bin/sh
# Restoring an older copy of the log under a running responder (behind
# nginx), as docs/faults.md ("Restoring the log") says to, while three
# clients (tests/faults/sse-follow, which reconnect with Last-Event-ID as
# EventSource does) follow a stream from the start:
#
# (a) the file replaced atomically (mv of an older copy over it): every
#     open stream ends; the clients, reconnecting with a Last-Event-ID
#     past the new log's end, get sselog.gap naming the new log's first
#     id, then the log from its start, then what is published next;
# (b) the same with an overwrite in place that keeps the inode (sqlite3's
#     .restore, SQLite's backup API), which the responder notices by the
#     ids going backwards.
#
# Each client must end up with exactly the expected sequence of events,
# the log must pass PRAGMA integrity_check, and the responder must say
# what happened in its error log.

# Functions below are only called through wait_until; f_follow sets
# FOLLOW_*.
# shellcheck disable=SC2317,SC2154
. "$SRCDIR/tests/faults/lib.sh"

PORT=$(free_port)
f_nginx_conf "$PORT"
f_responder_start responder
f_nginx_start nginx
RLOG=$RUNDIR/responder.log
B=http://127.0.0.1:$PORT/events/
FOLLOWERS="f1 f2 f3"

publish() {	# FIRST LAST: events "e FIRST" to "e LAST" on rs/1
	t_i=$1
	while [ "$t_i" -le "$2" ]; do
		sselog publish rs/1 "e $t_i" >/dev/null || bail "cannot publish"
		t_i=$((t_i + 1))
	done
}
have() {	# N: every follower has received N events (in all its responses)
	for t_f in $FOLLOWERS; do
		[ "$(cat "$T_WORK/follow/$t_f"/body.* 2>/dev/null |
		    grep -c '^data:')" -ge "$1" ] || return 1
	done
}
# A copy of the log as it is now, in one file (no -wal), as a backup
# would be made.
backup() {	# FILE
	rm -f "$1"
	if ! sql ".backup '$1'" ||
	    [ "$(sqlite3 "$1" 'PRAGMA journal_mode')" != wal ]; then
		bail "cannot back the log up"
	fi
}

publish 1 5
backup "$T_WORK/older.db"
for f in $FOLLOWERS; do
	f_follow "$f" "${B}rs/1?lastEventId=0" 50
done
publish 6 15
wait_until 10 have 15 || bail "the followers did not get the first 15 events"

# ---- (a) an older copy moved over the log ----
# The procedure: writers stopped (none runs here); the WAL checkpointed
# into the log and emptied; the copy put next to the log, then renamed
# over it in one step.
sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null || bail "cannot checkpoint"
if ! cp "$T_WORK/older.db" "$DBDIR/restore.tmp" ||
    ! chown "$WWW_USER:" "$DBDIR/restore.tmp"; then
	bail "cannot copy the backup"
fi
t0=$(t_now_ms)
mv "$DBDIR/restore.tmp" "$DB" || bail "cannot move the backup in place"
if wait_until 10 have 21; then
	ok "(a) replaced by mv: every client got the gap and the log from its start within $(($(t_now_ms) - t0)) ms"
else
	not_ok "(a) replaced by mv: every client got the gap and the log from its start" \
	    "$(for f in $FOLLOWERS; do tail -n 3 "$T_WORK/follow/$f/events"; done)"
fi
# The responder still holds its shared lock on the -shm file (the byte
# that tells a new connection whether it is the first): had it dropped
# it, the next writer would reset the -shm file under the responder's
# mapping.
shm_held=$(python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128, os.SEEK_SET)
    print("free")
except OSError:
    print("held")' "$DB")
is "(a) the responder still holds its lock on the -shm file" "$shm_held" held
n1=$(sselog publish rs/1 "new 1")
publish 7 10
backup "$T_WORK/older2.db"	# ids 1 to 10 of the restored log
publish 11 12
wait_until 10 have 28 || bail "the followers did not get the events published after the restore"

# ---- (b) an older copy written over the log in place ----
t0=$(t_now_ms)
sql ".restore '$T_WORK/older2.db'" || bail "cannot restore in place"
if wait_until 10 have 39; then
	ok "(b) overwritten in place: every client got the gap and the log from its start within $(($(t_now_ms) - t0)) ms"
else
	not_ok "(b) overwritten in place: every client got the gap and the log from its start" \
	    "$(for f in $FOLLOWERS; do tail -n 3 "$T_WORK/follow/$f/events"; done)"
fi
ec=$(sselog close rs/1)

# ---- what each client saw ----
{
	i=1
	while [ "$i" -le 15 ]; do printf '%s\tmessage\te %s\n' "$i" "$i"; i=$((i + 1)); done
	printf '15\tsselog.gap\t{"lastEventId":15,"firstAvailableId":1}\n'
	i=1
	while [ "$i" -le 5 ]; do printf '%s\tmessage\te %s\n' "$i" "$i"; i=$((i + 1)); done
	printf '%s\tmessage\tnew 1\n' "$n1"
	i=7
	while [ "$i" -le 12 ]; do printf '%s\tmessage\te %s\n' "$((i + n1 - 6))" "$i"; i=$((i + 1)); done
	last=$((12 + n1 - 6))
	printf '%s\tsselog.gap\t{"lastEventId":%s,"firstAvailableId":1}\n' "$last" "$last"
	i=1
	while [ "$i" -le 5 ]; do printf '%s\tmessage\te %s\n' "$i" "$i"; i=$((i + 1)); done
	printf '%s\tmessage\tnew 1\n' "$n1"
	i=7
	while [ "$i" -le 10 ]; do printf '%s\tmessage\te %s\n' "$((i + n1 - 6))" "$i"; i=$((i + 1)); done
	printf '%s\tsselog.close\t{"stream":"rs/1"}\n' "$ec"
} >"$T_WORK/expected"
for f in $FOLLOWERS; do
	eval "pid=\$FOLLOW_$f"
	wait_until 10 t_gone "$pid"
	wait "$pid"
	rc=$?
	if [ "$rc" = 0 ] && cmp -s "$T_WORK/follow/$f/events" "$T_WORK/expected"; then
		ok "$f: every event in order, a gap at each restore, then 204 after the close ($(wc -l <"$T_WORK/follow/$f/requests") requests)"
	else
		not_ok "$f: every event in order, a gap at each restore, then 204 after the close" \
		    "sse-follow exit $rc" \
		    "$(diff "$T_WORK/expected" "$T_WORK/follow/$f/events" | head -n 20)" \
		    "requests: $(cat "$T_WORK/follow/$f/requests")"
	fi
	# Each restore ended the open response cleanly (200, curl exit 0):
	# no request but the last (204) was cut off or refused.
	bad=$(awk -F '\t' '$4 != 200 && $4 != 204 || $5 != 0' \
	    "$T_WORK/follow/$f/requests")
	is "$f: every response ended cleanly (200, then 204)" "$bad" ""
done

is "the log passes PRAGMA integrity_check" "$(sql 'PRAGMA integrity_check')" ok
if grep -q 'replaced' "$RLOG" && grep -q 'ending every open stream' "$RLOG"
then
	ok "the error log says the log was replaced and the streams ended: $(grep 'ending every open stream' "$RLOG" | tail -n 1)"
else
	not_ok "the error log says the log was replaced and the streams ended" \
	    "log: $(cat "$RLOG")"
fi

no_leftovers
[ "$T_FAILED" -eq 0 ] || f_diag 15
done_testing
