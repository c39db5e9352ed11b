# tests/cli/pipe.sh: `sselog pipe` appends one event per input line (LF or
# CRLF, last line with or without newline, empty lines too), keeps order,
# stops at the first invalid line keeping the ones before it, refuses a
# closed stream, commits a batch as soon as input goes idle (not at end of
# input), and keeps what it read when stopped by SIGTERM.
. "$SRCDIR/tests/cli/lib.sh"

sselog -d t.db init

# The data of a stream's events, one per line, in id order.
rows() {
	sql t.db "SELECT data FROM events WHERE stream = '$1' ORDER BY id"
}

# The number of events of a stream.
count() {
	sql t.db "SELECT count(*) FROM events WHERE stream = '$1'"
}

# Succeeds when the stream's events are exactly the lines $2.
rows_are() {
	[ "$(rows "$1")" = "$2" ]
}

printf 'alpha\nbeta gamma\n\303\251t\303\251\n' >in
run sselog -d t.db pipe lines <in
is_status "pipe succeeds" 0
is_out "pipe prints nothing" ""
is_quiet "pipe writes nothing on stderr"
is "one event per line, in order" "$(rows lines)" "$(printf 'alpha\nbeta gamma\n\303\251t\303\251')"
is "no line keeps its newline" "$(sql t.db "SELECT count(*) FROM events WHERE stream = 'lines' AND instr(data, char(10)) > 0")" 0
is "without -e the events have no type" "$(sql t.db "SELECT count(*) FROM events WHERE stream = 'lines' AND event IS NULL")" 3

printf 'one\r\ntwo\r\nin\rside\r\n' >in
run sselog -d t.db pipe crlf <in
is_status "CRLF input: succeeds" 0
is "CRLF lines lose the CR, a CR inside a line stays" \
    "$(sql t.db "SELECT group_concat(hex(data), ' ') FROM (SELECT data FROM events WHERE stream = 'crlf' ORDER BY id)")" \
    "6F6E65 74776F 696E0D73696465"

printf 'first\nlast without newline' >in
run sselog -d t.db pipe nonl <in
is_status "a last line without newline: succeeds" 0
is "the last line without newline is an event" "$(rows nonl)" "$(printf 'first\nlast without newline')"

printf 'a\n\n\nb\n\n' >in
run sselog -d t.db pipe empties <in
is_status "empty lines: succeeds" 0
is "empty lines are empty events" \
    "$(sql t.db "SELECT group_concat(quote(data), ',') FROM (SELECT data FROM events WHERE stream = 'empties' ORDER BY id)")" \
    "'a','','','b',''"

: >in
run sselog -d t.db pipe nothing <in
is_status "empty input: succeeds" 0
is "empty input appends nothing" "$(count nothing)" 0

# Many lines, in order, in several batches.
i=1
while [ $i -le 10000 ]; do
	echo "$i"
	i=$((i + 1))
done >in
run sselog -d t.db pipe many <in
is_status "10,000 lines: succeeds" 0
is "10,000 lines: all arrive" "$(count many)" 10000
is "10,000 lines: in order, with consecutive ids" \
    "$(sql t.db "SELECT count(*) FROM events WHERE stream = 'many' AND CAST(data AS INTEGER) <> id - (SELECT min(id) FROM events WHERE stream = 'many') + 1")" 0

# -e: every event gets the type.
printf 'x\ny\nz\n' >in
run sselog -d t.db pipe typed -e log.line <in
is_status "-e: succeeds" 0
is "-e: every event has the type" \
    "$(sql t.db "SELECT count(*) || '/' || sum(event = 'log.line') FROM events WHERE stream = 'typed'")" "3/3"

# Log text that is not UTF-8 (a Latin-1 file name, binary junk, NUL):
# each maximal ill-formed part becomes U+FFFD, and the pipe goes on.
printf 'ok\n\351t\351\nnul \000 here\ncut \342\202 short\n\360\237\230\200 fine\nlast\n' >in
run sselog -d t.db pipe junk <in
is_status "bytes that are not UTF-8: succeeds" 0
is_quiet "bytes that are not UTF-8: nothing on stderr"
is "each bad part becomes U+FFFD; good UTF-8 is kept" "$(rows junk)" \
    "$(printf 'ok\n\357\277\275t\357\277\275\nnul \357\277\275 here\ncut \357\277\275 short\n\360\237\230\200 fine\nlast')"

# The program writing into the pipe is never killed by SIGPIPE: the
# README's own recipe, with junk in the output.
status=$( { printf 'a\n\377\n'; i=0; while [ $i -lt 3000 ]; do
	printf 'line %d padding padding padding padding\n' $i; i=$((i + 1))
done; echo "producer: $?" >&2; } 2>prod.err |
    sselog -d t.db pipe build/1; echo $?)
is "make 2>&1 | sselog pipe: pipe succeeds on junk" "$status" 0
is "... and the producer finished" "$(cat prod.err)" "producer: 0"
# Even when pipe stops on an error: it reads its input to the end.
sselog -d t.db close build/2 >/dev/null
{ i=0; while [ $i -lt 3000 ]; do
	printf 'line %d padding padding padding padding\n' $i; i=$((i + 1))
done; echo "producer: $?" >&2; } 2>prod.err |
    sselog -d t.db pipe build/2 2>/dev/null
is "a closed stream: the producer still finished" "$(cat prod.err)" \
    "producer: 0"

# --strict: a bad line stops the pipe; the lines before it are kept.
printf 'good 1\ngood 2\ngood 3\nbad \377 4\ngood 5\ngood 6\n' >in
run sselog -d t.db pipe --strict halt <in
refused "--strict, a line of invalid UTF-8: exit 1, one line" 1 "UTF-8"
check "the message names line 4" grep -q "line 4" "$ERR"
is "the lines before it are stored, nothing after" "$(rows halt)" "$(printf 'good 1\ngood 2\ngood 3')"

printf 'ok\nnul \000 here\nnot this\n' >in
run sselog -d t.db pipe --strict halt-nul <in
refused "--strict, a line with a NUL byte: exit 1, one line" 1 "line 2"
is "the line before the NUL is stored, nothing after" "$(rows halt-nul)" "ok"

# Refused before anything is read.
printf 'x\n' >in
sselog -d t.db close shut >/dev/null
snapshot t.db
run sselog -d t.db pipe shut <in
refused "a closed stream: exit 1" 1 "stream is closed"
is_unchanged "a closed stream: nothing written" t.db
run sselog -d t.db pipe 'bad name' <in
refused "a bad stream name: exit 1" 1 "invalid stream name"
run sselog -d t.db pipe s -e sselog.gap <in
refused "a reserved type: exit 1" 1 "reserved"
run sselog -d t.db pipe s x <in
refused "an extra argument: exit 2" 2 "too many arguments"
is_unchanged "refused pipes write nothing" t.db

# Trickling input: a line is visible while input is still open, so batches
# commit when input goes idle, not at end of input. fd 3 is opened read-write
# so that opening the FIFO never blocks; the pipe must not inherit it, or it
# would never see the end of its input.
mkfifo in.fifo
exec 3<>in.fifo
"$SSELOG" -d t.db pipe trickle <in.fifo >pipe.out 2>pipe.err 3>&- &
pid=$!
track "$pid"
printf 'first\n' >&3
check "a trickled line is visible within 1 s, input still open" \
    wait_until 1 rows_are trickle first
printf 'second\n' >&3
check "and so is the next one" \
    wait_until 1 rows_are trickle "$(printf 'first\nsecond')"
exec 3>&-
check "pipe ends at the end of its input" wait_exit "$pid" 10
is "and exits 0" "$WAIT_RC" 0
is "with nothing on stderr" "$(cat pipe.err)" ""

# SIGTERM while input is still open: the process ends at once and what it
# read is stored.
exec 3<>in.fifo
"$SSELOG" -d t.db pipe term <in.fifo >pipe.out 2>pipe.err 3>&- &
pid=$!
track "$pid"
printf 'one\ntwo\n' >&3
check "lines are read before the signal" \
    wait_until 1 rows_are term "$(printf 'one\ntwo')"
printf 'three\n' >&3
kill -TERM "$pid"
check "SIGTERM ends pipe although input is open" wait_exit "$pid" 5
is "pipe dies of SIGTERM (status 143)" "$WAIT_RC" 143
exec 3>&-
# "three" may or may not have been read before the signal.
case $(rows term) in
"one
two" | "one
two
three")
	ok "the lines read are stored, in order, none lost in between" ;;
*)
	not_ok "the lines read are stored, in order, none lost in between" \
	    "got: $(rows term)" ;;
esac

# Succeeds once process $1 has the log open: it is sselog, no longer the
# shell that forked it (which would lose a signal sent now).
has_log_open() {
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd") in
		*/t.db) return 0 ;;
		esac
	done
	return 1
}

# A signal that comes while a batch is being written must not be lost: pipe
# would then block in read() until input ends. Try at several moments.
hung=0
i=0
while [ $i -lt 10 ]; do
	exec 3<>in.fifo
	"$SSELOG" -d t.db pipe race <in.fifo >/dev/null 2>&1 3>&- &
	pid=$!
	track "$pid"
	wait_until 5 has_log_open "$pid"
	printf 'line %s\n' "$i" >&3
	sleep "0.00$((i % 5))"
	kill -TERM "$pid"
	wait_exit "$pid" 2 || hung=$((hung + 1))
	exec 3>&-
	i=$((i + 1))
done
is "SIGTERM at any moment ends pipe (10 tries, hung)" "$hung" 0

done_testing
