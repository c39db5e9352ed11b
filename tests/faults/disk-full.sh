#!/bin/sh
# A full disk under the event log: the log lives on a small tmpfs of its
# own, filled up while a responder (behind nginx) streams it. `sselog
# pipe` and `sselog publish` must say so on standard error and exit 1;
# the log must stay consistent (PRAGMA integrity_check), hold every event
# that a publisher was told was written (the ids sselog publish printed,
# and a gapless prefix of what sselog pipe read), and the stream opened
# before must have had each of them exactly once. Once space is freed,
# publishing works again.

# Several functions below are only called through wait_until; start_daemon,
# open_stream and eval set PID_*, STREAM_* and the like; the sh -c scripts
# expand their own arguments.
# shellcheck disable=SC2317,SC2154,SC2016
. "$SRCDIR/tests/faults/lib.sh"

command -v mount >/dev/null 2>&1 || bail "mount is not installed"
STREAM=disk/1
DISK=$T_WORK/disk
mkdir -p "$DISK" || bail "cannot make $DISK"
mount -t tmpfs -o size=2m,mode=0755 sselog-fault-disk "$DISK" ||
	bail "cannot mount a tmpfs on $DISK"
f_umount() {
	if mountpoint -q "$DISK" 2>/dev/null; then
		umount "$DISK" 2>/dev/null || umount -l "$DISK"
	fi
}
# The daemons first (the responder holds the log open), then the mount,
# then the rest of lib.sh's clean-up.
trap 'stop_all; f_umount; t_cleanup' EXIT

DBDIR=$DISK/db
DB=$DBDIR/events.db
if ! mkdir -p "$DBDIR" || ! "$SSELOG" -d "$DB" init ||
    ! chown -R "$WWW_USER:$WWW_USER" "$DBDIR"; then
	bail "cannot make the log"
fi

f_helpers
PORT=$(free_port)
f_nginx_conf "$PORT"
f_responder_start responder
f_nginx_start nginx
B=http://127.0.0.1:$PORT/events/
open_stream s "${B}$STREAM?lastEventId=0"

avail() {
	df --output=avail -B1 "$DISK" | tail -n 1 | tr -d ' '
}

# ---- events written before the disk fills ----

: >"$T_WORK/acked"
i=0
while [ "$i" -lt 5 ]; do
	i=$((i + 1))
	id=$(sselog publish "$STREAM" "before $i") &&
	    printf '%s\tbefore %s\n' "$id" "$i" >>"$T_WORK/acked"
done
arrives "the stream is open and has the first events" s \
    "id: $(tail -n 1 "$T_WORK/acked" | cut -f 1)"

# Leave about 200 KB.
t_fill=$(($(avail) - 200 * 1024))
dd if=/dev/zero of="$DISK/fill" bs=4096 count=$((t_fill / 4096)) \
    2>/dev/null
echo "# $(avail) bytes left on the tmpfs"

# ---- sselog pipe runs into the full disk ----

# Lines of 2 KB ("SEQ NS xxx..."), one every millisecond: many small
# batches. pipe stops writing once the disk is full but reads its input to
# the end, so that the producer is not killed by SIGPIPE.
{ "$FAULT_CLIENT" tick 1 4000 2000 2>/dev/null; echo $? >"$T_WORK/tick.rc"; } |
    timeout -k 5 30 "$SSELOG" -d "$DB" pipe "$STREAM" 2>"$T_WORK/pipe.err"
is "sselog pipe on a full disk exits 1" "$?" 1
is "... once its producer is done, which it did not kill" \
    "$(cat "$T_WORK/tick.rc")" 0
t_err=$(cat "$T_WORK/pipe.err")
case $t_err in
"sselog: "*full*)
	if [ "$(wc -l <"$T_WORK/pipe.err")" = 1 ]; then
		ok "... and says so in one line: $t_err"
	else
		not_ok "... and says so in one line" "stderr: $t_err"
	fi ;;
*) not_ok "... and says so in one line" "stderr: $t_err" ;;
esac

# ---- sselog publish on the full disk ----

# Publish until it fails (a little room may be left after pipe's last
# batch was rolled back): each id printed is an acknowledged event.
t_pad=$(printf '%01000d' 0)
rc=0
i=0
while [ "$i" -lt 300 ]; do
	i=$((i + 1))
	if id=$(sselog publish "$STREAM" "full $i $t_pad" 2>"$T_WORK/pub.err"); then
		printf '%s\tfull %s %s\n' "$id" "$i" "$t_pad" >>"$T_WORK/acked"
	else
		rc=$?
		break
	fi
done
is "sselog publish on a full disk exits 1 (after $((i - 1)) that fit)" \
    "$rc" 1
t_err=$(cat "$T_WORK/pub.err")
case $t_err in
"sselog: "*full*)
	if [ "$(wc -l <"$T_WORK/pub.err")" = 1 ] && [ -z "$id" ]; then
		ok "... says so in one line and prints no id: $t_err"
	else
		not_ok "... says so in one line and prints no id" \
		    "stderr: $t_err" "stdout: $id"
	fi ;;
*) not_ok "... says so in one line and prints no id" "stderr: $t_err" ;;
esac
# As large as the one that did not fit: a smaller one may fit in what is
# left of a page.
t_ec=$(printf 'full again %s' "$t_pad" |
    timeout -k 5 30 "$SSELOG" -d "$DB" publish "$STREAM" - 2>/dev/null)
is "... every time (data from standard input)" "$?:$t_ec" "1:"

# ---- the log is consistent ----

is "PRAGMA integrity_check on the full disk: ok" \
    "$(sql 'PRAGMA integrity_check;' 2>&1)" ok
acked_present() {
	t_missing=0
	while IFS="$(printf '\t')" read -r t_id t_data; do
		t_got=$(sql "SELECT data FROM events WHERE id = $t_id;")
		[ "$t_got" = "$t_data" ] || t_missing=$((t_missing + 1))
	done <"$T_WORK/acked"
	echo "$t_missing"
}
is "every acknowledged event ($(wc -l <"$T_WORK/acked") of them) is in the log, with its data" \
    "$(acked_present)" 0
# sselog pipe's lines: SEQ 1 to k, each once, in id order.
t_pipe=$(sql "SELECT count(*), coalesce(sum(s = r), 0) FROM (SELECT
    CAST(data AS INTEGER) AS s, row_number() OVER (ORDER BY id) AS r
    FROM events WHERE stream = '$STREAM' AND data GLOB '[0-9]*');")
t_k=${t_pipe%%|*}
is "what sselog pipe wrote is its first $t_k lines, each once, in order" \
    "$t_pipe" "$t_k|$t_k"
echo "# sselog pipe wrote $t_k lines of 2 KB before the disk was full"

# ---- the open stream ----

t_last=$(tail -n 1 "$T_WORK/acked" | cut -f 1)
arrives "the stream opened before has the last acknowledged event" s \
    "id: $t_last"
if t_alive "$F_RESPONDER"; then
	ok "the responder keeps running on the full disk"
else
	not_ok "the responder keeps running on the full disk" \
	    "$(cat "$RUNDIR/responder.log")"
fi

# ---- space again ----

rm -f "$DISK/fill"
id=$(sselog publish "$STREAM" "after")
is "with space again, sselog publish works" "$?" 0
printf '%s\tafter\n' "$id" >>"$T_WORK/acked"
ec=$(sselog close "$STREAM")
end_stream s 10
t_stream_ok "the stream ends cleanly when it is closed" s
sql "SELECT id || char(9) || data FROM events WHERE stream = '$STREAM'
    AND id < $ec ORDER BY id;" |
    while IFS="$(printf '\t')" read -r t_id t_data; do
	    ev "$t_id" "$t_data"
    done >"$T_WORK/s.expected"
ev_close "$ec" "$STREAM" >>"$T_WORK/s.expected"
is_body_file "... having had every event in the log exactly once, in order" s \
    "$T_WORK/s.expected"
is "PRAGMA integrity_check: ok" "$(sql 'PRAGMA integrity_check;' 2>&1)" ok
is "every acknowledged event is still there" "$(acked_present)" 0

no_leftovers
f_umount
if mountpoint -q "$DISK"; then
	not_ok "the tmpfs is unmounted"
else
	ok "the tmpfs is unmounted"
fi
[ "$T_FAILED" -eq 0 ] || f_diag 15
done_testing
