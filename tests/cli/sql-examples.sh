# tests/cli/sql-examples.sh: sql/examples.sql, run the way its header says
# (`sqlite3 events.db < examples.sql` on a log made by `sselog init`),
# prints exactly the output below, fails exactly where it says it does (a bad
# stream name, "stream is closed"), and leaves a log that sselog reads the
# same way: streams, and the sselog.gap that its pruning causes.
. "$SRCDIR/tests/cli/lib.sh"

sselog -d events.db init
run sqlite3 events.db <"$SRCDIR/sql/examples.sql"
is_status "the examples run; the two failures on purpose make it exit 1" 1

cat >expected.out <<'EOF'
id
3
id
6

-- build/42 after event 3:
id|event|retry|data
4|||warning: unused variable
  in main.c:12
5|progress||{"pct":90,"step":"link \"sselog\"","ok":true}

-- build/42 and deploy/7 after event 5:
id|stream|event|data
6|deploy/7||queued
7|deploy/7||started
8|deploy/7|host|web-1

-- streams:
name|events|first_id|last_id|state
build/42|6|1|9|closed
deploy/7|3|6|8|open

-- pruned:
stream|last_id
build/42|4

-- build/42 from the beginning, after pruning:
id|event|data
5|progress|{"pct":90,"step":"link \"sselog\"","ok":true}
9|sselog.close|
EOF
if cmp -s "$OUT" expected.out; then
	ok "the examples print the expected output"
else
	not_ok "the examples print the expected output" \
	    "$(diff expected.out "$OUT" | head -40)"
fi

# The shell prefixes errors with where they happened; keep the message.
is "the examples fail only where they say, with the schema's words" \
    "$(sed -e 's/^.*near line [0-9]*: //' -e 's/ ([0-9]*)$//' "$ERR")" \
    "invalid stream name: use 1-200 characters of A-Z a-z 0-9 . _ - : / @ in /-separated segments that are not empty, . or ..
stream is closed"

# What sselog makes of the log the examples left.
run sselog -d events.db streams
is_out_bytes "sselog streams agrees with the log the examples left" \
    'build/42\t2\t5\t9\tclosed\ndeploy/7\t3\t6\t8\topen\n'
run sselog -d events.db watch --since 0 build/42
is_status "sselog watch of the closed stream ends: status 0" 0
is_out_bytes "it starts with the sselog.gap the examples' prune causes" \
'event: sselog.gap\ndata: {"lastEventId":0,"firstAvailableId":5}\n\n'\
'id: 5\nevent: progress\ndata: {"pct":90,"step":"link \\"sselog\\"","ok":true}\n\n'\
'id: 9\nevent: sselog.close\ndata: {"stream":"build/42"}\n\n'

done_testing
