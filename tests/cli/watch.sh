# tests/cli/watch.sh: `sselog watch` prints exactly the text/event-stream
# the responder would serve: id:, event:, retry: and one data: line per line
# of data (LF, CRLF and lone CR each end a line); replays after --since,
# announces pruned history with sselog.gap, follows live appends (by sselog
# or by plain SQL) across several streams in id order, ends when every
# stream is closed or on SIGINT, holds no read transaction while its
# output blocks (writers' checkpoints go on), and refuses bad input.
. "$SRCDIR/tests/cli/lib.sh"

# watch must end by itself in these runs: do not wait a minute if it hangs.
RUN_TIMEOUT=10

pub() {
	sselog -d t.db publish "$@" >/dev/null
}

# Starts a watch in the background, output to FILE: bg_watch FILE ARGS...
bg_watch() {
	bg_out=$1
	shift
	"$SSELOG" -d t.db watch "$@" >"$bg_out" 2>"$bg_out.err" &
	WATCH_PID=$!
	track "$WATCH_PID"
}

# A watch without --since follows only what comes after its start: it has
# started once it waits on inotify for the log.
watching() {
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd") in
		*inotify*) return 0 ;;
		esac
	done
	return 1
}

alive() {
	t_alive "$1"
}

sselog -d t.db init

# The acceptance check: a\r\nb\rc is three lines of data.
printf 'a\r\nb\rc' >in
pub build/1 <in
sselog -d t.db close build/1 >/dev/null
run sselog -d t.db watch --since 0 build/1
is_status "watch of a closed stream ends by itself, status 0" 0
is_quiet "watch writes nothing on stderr"
is_out_bytes "CRLF, CR and LF each end a data: line" \
    'id: 1\ndata: a\ndata: b\ndata: c\n\nid: 2\nevent: sselog.close\ndata: {"stream":"build/1"}\n\n'

# Every field, exactly.
pub s hello
pub s -e greet -r 3000 "$(printf 'multi\nline')"
printf 'ends with a newline\n' >in
pub s <in
pub s ''
pub s -e 'with space: and colon' -- '-dash'
sselog -d t.db close s >/dev/null
run sselog -d t.db watch --since 0 s
is_status "watch s: status 0" 0
is_out_bytes "watch s: exact output with id:, event:, retry:, data: and the close" \
'id: 3\ndata: hello\n\n'\
'id: 4\nevent: greet\nretry: 3000\ndata: multi\ndata: line\n\n'\
'id: 5\ndata: ends with a newline\ndata: \n\n'\
'id: 6\ndata: \n\n'\
'id: 7\nevent: with space: and colon\ndata: -dash\n\n'\
'id: 8\nevent: sselog.close\ndata: {"stream":"s"}\n\n'

run sselog -d t.db watch --since 5 s
is_out_bytes "--since 5 starts after event 5" \
    'id: 6\ndata: \n\nid: 7\nevent: with space: and colon\ndata: -dash\n\nid: 8\nevent: sselog.close\ndata: {"stream":"s"}\n\n'
run sselog -d t.db watch --since 7 s s
is_out_bytes "a stream named twice is followed once" 'id: 8\nevent: sselog.close\ndata: {"stream":"s"}\n\n'

run sselog -d t.db watch --since 8 s
is_status "--since 8, at the close: status 0" 0
is_out "--since 8, at the close: no output" ""
# Past the log's last id (8): the log was replaced by an older copy, so
# the gap names its first id and the stream comes again from its start.
for since in 9 100 9223372036854775807; do
	run sselog -d t.db watch --since "$since" s
	is_status "--since $since, past the log's end: status 0" 0
	is_out_bytes "--since $since, past the log's end: the gap, then all of s" \
"event: sselog.gap\ndata: {\"lastEventId\":$since,\"firstAvailableId\":1}\n\n"\
'id: 3\ndata: hello\n\n'\
'id: 4\nevent: greet\nretry: 3000\ndata: multi\ndata: line\n\n'\
'id: 5\ndata: ends with a newline\ndata: \n\n'\
'id: 6\ndata: \n\n'\
'id: 7\nevent: with space: and colon\ndata: -dash\n\n'\
'id: 8\nevent: sselog.close\ndata: {"stream":"s"}\n\n'
done
run sselog -d t.db watch s build/1
is_status "without --since, every stream closed: ends at once" 0
is_out "and prints nothing" ""

# Several streams: interleaved in id order, ending only when all are closed.
pub x x1		# 9
pub y y1		# 10
pub x x2		# 11
sselog -d t.db close x >/dev/null	# 12
pub other not-watched	# 13
bg_watch multi.out --since 0 x y
check "x's events and close arrive" wait_until 2 grep -q '^id: 12$' multi.out
sleep 0.3
check "watch goes on while y is open" alive "$WATCH_PID"
pub y y2		# 14
check "a new event of y arrives" wait_until 2 grep -q '^data: y2$' multi.out
sselog -d t.db close y >/dev/null	# 15
check "watch ends once y is closed too" wait_exit "$WATCH_PID" 5
is "with status 0" "$WAIT_RC" 0
is_file "several streams: exact output, in id order" multi.out \
'id: 9\ndata: x1\n\nid: 10\ndata: y1\n\nid: 11\ndata: x2\n\n'\
'id: 12\nevent: sselog.close\ndata: {"stream":"x"}\n\n'\
'id: 14\ndata: y2\n\nid: 15\nevent: sselog.close\ndata: {"stream":"y"}\n\n'
is "nothing on stderr" "$(cat multi.out.err)" ""

# Live: without --since, only what is appended after the start, by sselog
# or by the sqlite3 shell.
pub live before		# 16
bg_watch live.out live
check "watch started (waits on inotify)" wait_until 2 watching "$WATCH_PID"
pub live "from sselog"	# 17
check "an event published by sselog appears within 2 s" \
    wait_until 2 grep -q '^data: from sselog$' live.out
sql t.db "INSERT INTO events (stream, event, data) VALUES ('live', 'sql', 'from SQL')"
check "a row inserted with the sqlite3 shell appears within 2 s" \
    wait_until 2 grep -q '^data: from SQL$' live.out
is "while watch waits for changes, a checkpoint completes (busy 0)" \
    "$(sql t.db 'PRAGMA wal_checkpoint(TRUNCATE);' | cut -d '|' -f 1)" 0
kill -INT "$WATCH_PID"
check "SIGINT ends watch" wait_exit "$WATCH_PID" 5
is "with status 0" "$WAIT_RC" 0
is_file "live: exact output, nothing from before the start" live.out \
    'id: 17\ndata: from sselog\n\nid: 18\nevent: sql\ndata: from SQL\n\n'
is "nothing on stderr" "$(cat live.out.err)" ""

# Gap: history that was pruned is announced first, without an id.
pub g g1		# 19
pub g g2		# 20
pub g g3		# 21
sselog -d t.db close g >/dev/null	# 22
sselog -d t.db prune --keep 2 g >/dev/null	# deletes 19 and 20
run sselog -d t.db watch --since 0 g
is_status "watch after a prune: status 0" 0
is_out_bytes "--since 0 after a prune: sselog.gap first, then what is left" \
'event: sselog.gap\ndata: {"lastEventId":0,"firstAvailableId":21}\n\n'\
'id: 21\ndata: g3\n\nid: 22\nevent: sselog.close\ndata: {"stream":"g"}\n\n'
run sselog -d t.db watch --since 19 g
is_out_bytes "--since 19 (pruned too): the gap names 19" \
'event: sselog.gap\ndata: {"lastEventId":19,"firstAvailableId":21}\n\n'\
'id: 21\ndata: g3\n\nid: 22\nevent: sselog.close\ndata: {"stream":"g"}\n\n'
run sselog -d t.db watch --since 20 g
is_out_bytes "--since 20 (the last pruned): no gap" \
    'id: 21\ndata: g3\n\nid: 22\nevent: sselog.close\ndata: {"stream":"g"}\n\n'

# A watch whose output blocks holds no snapshot of the log: writers go on
# and their checkpoints empty the WAL. The reader of the fifo never reads,
# so the replay (1.5 MB, far more than a pipe holds) blocks in write().
sselog -d pin.db init
awk 'BEGIN { for (i = 1; i <= 5000; i++) printf "%0300d\n", i }' >lines
sselog -d pin.db pipe P <lines
mkfifo pin.fifo
sleep 60 <pin.fifo &
STALLED_READER=$!
track "$STALLED_READER"
"$SSELOG" -d pin.db watch --since 0 P >pin.fifo 2>pin.err &
WATCH_PID=$!
track "$WATCH_PID"
blocked_on_output() {
	case $(cat "/proc/$1/wchan" 2>/dev/null) in
	*pipe_write*) return 0 ;;
	esac
	return 1
}
check "watch --since 0 blocks writing its replay to a reader that does not read" \
    wait_until 5 blocked_on_output "$WATCH_PID"
pub_id=$(sselog -d pin.db publish P "while blocked")
check "a writer publishes meanwhile" test "$pub_id" = 5001
is "... and PRAGMA wal_checkpoint(TRUNCATE) completes (busy 0)" \
    "$(timeout -k 5 30 sqlite3 -cmd '.timeout 3000' pin.db \
    'PRAGMA wal_checkpoint(TRUNCATE);' | cut -d '|' -f 1)" 0
is "... leaving an empty -wal file" "$(stat -c %s pin.db-wal)" 0
# Then the reader reads: every event once, in order, the one published
# while blocked included, then the close.
cat <pin.fifo >pin.out &
DRAIN=$!
track "$DRAIN"
reads_fifo() {
	case $(readlink "/proc/$1/fd/0") in
	*pin.fifo*) return 0 ;;
	esac
	return 1
}
wait_until 5 reads_fifo "$DRAIN"
kill "$STALLED_READER"
sselog -d pin.db close P >/dev/null
check "once read, watch ends with the close" wait_exit "$WATCH_PID" 20
is "with status 0" "$WAIT_RC" 0
wait_exit "$DRAIN" 5
awk 'BEGIN {
	for (i = 1; i <= 5000; i++) printf "id: %d\ndata: %0300d\n\n", i, i
	printf "id: 5001\ndata: while blocked\n\n"
	printf "id: 5002\nevent: sselog.close\ndata: {\"stream\":\"P\"}\n\n"
}' >pin.expected
check "the whole stream, byte for byte, across pages and the checkpoint" \
    cmp -s pin.out pin.expected
is "nothing on stderr" "$(cat pin.err)" ""

# Bad input.
for since in abc -1 1e3 12345678901234567890 '' ' 1' +1; do
	run sselog -d t.db watch --since "$since" s
	refused "--since '$since': exit 2" 2 "--since"
done
run sselog -d t.db watch
refused "watch without STREAM: exit 2" 2 "missing STREAM"
run sselog -d t.db watch --since 0 s 'a/../b'
refused "watch of a bad stream name: exit 1" 1 "invalid stream name"
run sselog -d missing.db watch --since 0 s
refused "watch of a missing database: exit 1" 1 "missing.db"
check "which is not created" test ! -e missing.db

# A close event written with SQL may carry text: it comes as "data",
# JSON-escaped, beside the stream's name.
sselog -d why.db init
sql why.db "INSERT INTO events (stream, event, data) VALUES ('why', 'sselog.close', 'failed: \"make\" exit 2'||char(10)||'tab'||char(9))"
run sselog -d why.db watch --since 0 why
is_out_bytes "a close with text: {\"stream\",\"data\"}, one data line" \
'id: 1\nevent: sselog.close\ndata: {"stream":"why","data":"failed: \\"make\\" exit 2\\ntab\\t"}\n\n'

done_testing
