# tests/cli/close.sh: `sselog close` appends the sselog.close event and
# prints its id; after it, nothing can be appended to the stream, neither by
# sselog nor by plain SQL ("stream is closed"), while other streams go on.
. "$SRCDIR/tests/cli/lib.sh"

sselog -d t.db init
for s in build/1 build/1 build/10 build/1/x build/2; do
	sselog -d t.db publish "$s" "event of $s" >/dev/null
done

run sselog -d t.db close build/1
is_status "close succeeds" 0
is_out "close prints the id of the close event" 6
is_quiet "close writes nothing on stderr"
is "the close event is type sselog.close with empty data" \
    "$(sql t.db "SELECT stream || '|' || event || '|' || quote(data) || '|' || quote(retry) FROM events WHERE id = 6")" \
    "build/1|sselog.close|''|NULL"

# The acceptance check.
run sselog -d t.db streams
streams_before=$(cat "$OUT")
is "streams shows build/1 closed" "$(grep '^build/1	' "$OUT")" "$(printf 'build/1\t3\t1\t6\tclosed')"
snapshot t.db
run sselog -d t.db publish build/1 x
refused "publish to a closed stream: exit 1" 1 "stream is closed"
run sqlite3 t.db "INSERT INTO events(stream,data) VALUES('build/1','x')"
check "an SQL insert into a closed stream fails" test "$RC" -ne 0
check "and says stream is closed" grep -q "stream is closed" "$ERR"
run sqlite3 t.db "INSERT INTO events(stream,event,data) VALUES('build/1','sselog.close','')"
check "a second close event by SQL fails too" grep -q "stream is closed" "$ERR"
run sselog -d t.db streams
is_out "streams: the closed stream's counts are unchanged" "$streams_before"
is_unchanged "the refused appends left the database unchanged" t.db

run sselog -d t.db close build/1
refused "closing twice fails: exit 1" 1 "stream is closed"
printf 'a\nb\n' >in
run sselog -d t.db pipe build/1 <in
refused "pipe to a closed stream fails: exit 1" 1 "stream is closed"
is_unchanged "and changes nothing" t.db

# Streams whose names merely look alike are not closed.
run sselog -d t.db publish build/10 more
is_out "build/10 is still open (refused appends used no id)" 7
run sselog -d t.db publish build/1/x more
is_out "build/1/x is still open" 8
run sselog -d t.db publish build/2 more
is_out "build/2 is still open" 9
run sselog -d t.db streams
is_out "streams: only build/1 is closed" "$(printf 'build/1\t3\t1\t6\tclosed\nbuild/1/x\t2\t4\t8\topen\nbuild/10\t2\t3\t7\topen\nbuild/2\t2\t5\t9\topen')"

# A close event appended any other way closes the stream too.
run sselog -d t.db publish build/2 -e sselog.close ''
is_out "publish -e sselog.close: prints the id" 10
run sselog -d t.db publish build/2 x
refused "after publish -e sselog.close the stream is closed" 1 "stream is closed"
sql t.db "INSERT INTO events(stream,event,data) VALUES('build/10','sselog.close','')"
run sselog -d t.db publish build/10 x
refused "after a close event inserted by SQL the stream is closed" 1 "stream is closed"

# Closing a stream that never had an event: it exists, closed, at once.
run sselog -d t.db close fresh
is_out "closing an empty stream prints the id" 12
run sselog -d t.db publish fresh x
refused "and it cannot be appended to" 1 "stream is closed"

# Usage.
snapshot t.db
run sselog -d t.db close 'a/../b'
refused "close of a bad stream name: exit 1" 1 "invalid stream name"
run sselog -d t.db close
refused "close without STREAM: exit 2" 2 "missing STREAM"
run sselog -d t.db close a b
refused "close of two streams: exit 2" 2 "too many arguments"
run sselog -d missing.db close a
refused "close on a missing database: exit 1" 1 "missing.db"
is_unchanged "none of them changed anything" t.db

done_testing
