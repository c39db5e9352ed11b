# tests/cli/publish.sh: `sselog publish` appends one event and prints its
# id; DATA comes verbatim from the argument or, with - or no argument, from
# standard input byte for byte. Every bad input is refused with the right
# exit status (1 runtime, 2 usage), one line on stderr, and the database
# unchanged, including a database the user may read but not write.

# shellcheck disable=SC2086 # $nobody (below) is a command and its options
. "$SRCDIR/tests/cli/lib.sh"

# The bytes of a file in upper-case hex, as SQLite's hex() prints them.
hexof() {
	od -An -v -tx1 "$1" | tr -d ' \n' | tr a-f A-F
}

# The stored data of event $1, in hex.
data_hex() {
	sql t.db "SELECT hex(data) FROM events WHERE id = $1"
}

# The acceptance check.
run sh -c '"$SSELOG" -d t.db init && "$SSELOG" -d t.db publish build/1 -e progress '"'"'{"pct":10}'"'"
is_status "init && publish succeed" 0
is_out "publish prints the new id, 1" 1
is_quiet "publish writes nothing on stderr"
is "the row holds stream, type, data, no retry" \
    "$(sql t.db "SELECT stream || '|' || event || '|' || data || '|' || quote(retry) FROM events WHERE id = 1")" \
    'build/1|progress|{"pct":10}|NULL'
now_ms=$(($(date +%s) * 1000))
created=$(sql t.db 'SELECT created FROM events WHERE id = 1')
check "created is the current Unix time in ms" \
    test "$created" -gt $((now_ms - 60000)) -a "$created" -lt $((now_ms + 60000))

# DATA from the argument, verbatim: quotes, spaces, UTF-8, CR and LF.
data=$(printf 'say "hi",\tdear  h\303\251llo \342\234\223\r\nnext\rlast')
printf '%s' "$data" >expected
run sselog -d t.db publish build/1 "$data"
is_out "an argument: prints id 2" 2
is "an argument is stored byte for byte" "$(data_hex 2)" "$(hexof expected)"
is "an event without -e has no type" "$(sql t.db 'SELECT quote(event) FROM events WHERE id = 2')" NULL

run sselog -d t.db publish build/1 ''
is_out "an empty argument: prints id 3" 3
is "an empty argument is empty text data" \
    "$(sql t.db "SELECT typeof(data) || ':' || length(data) FROM events WHERE id = 3")" "text:0"

# DATA from standard input, with - and without an argument.
printf 'line one\nline two \303\251\n\n' >input
run sselog -d t.db publish build/1 - <input
is_out "- reads standard input: prints id 4" 4
is "- keeps every byte, trailing newlines included" "$(data_hex 4)" "$(hexof input)"

run sselog -d t.db publish build/1 <input
is_out "no DATA reads standard input: prints id 5" 5
is "no DATA keeps every byte too" "$(data_hex 5)" "$(hexof input)"

: >empty
run sselog -d t.db publish build/1 - <empty
is_out "empty standard input: prints id 6" 6
is "empty standard input is empty data" "$(sql t.db 'SELECT length(data) FROM events WHERE id = 6')" 0

# Larger than one read() of 64 KiB.
i=0
while [ $i -lt 2000 ]; do
	echo "line $i of a long input that takes more than one read to collect"
	i=$((i + 1))
done >big
run sselog -d t.db publish build/big <big
is_out "a large standard input: prints id 7" 7
is "a large standard input is stored whole" \
    "$(sql t.db 'SELECT length(data) FROM events WHERE id = 7')" "$(wc -c <big | tr -d ' ')"

# Options: -r, long forms, options after DATA, data after --.
run sselog -d t.db publish build/1 -r 2500 -e tick x
is_out "-r: prints id 8" 8
is "-r is stored as retry" "$(sql t.db "SELECT retry || '|' || event FROM events WHERE id = 8")" "2500|tick"
run sselog -d t.db publish build/1 --retry=0 --type tock y
is_out "--retry=0 --type: prints id 9" 9
is "retry 0 is stored as 0" "$(sql t.db "SELECT retry || '|' || event FROM events WHERE id = 9")" "0|tock"
run sselog -d t.db publish build/1 z -e late
is_out "an option after DATA still counts: prints id 10" 10
is "its type is stored" "$(sql t.db 'SELECT event FROM events WHERE id = 10')" late
run sselog -d t.db publish build/1 -- -x
is_out "-- then data with a leading dash: prints id 11" 11
is "the dash data is stored" "$(sql t.db 'SELECT data FROM events WHERE id = 11')" "-x"
run sselog -d t.db publish build/1 -e t -- --help
is_out "-- then --help is data: prints id 12" 12
is "--help is stored as data" "$(sql t.db 'SELECT data FROM events WHERE id = 12')" "--help"

# Stream names: every allowed character, and the longest allowed.
name200=$(printf '%200s' '' | tr ' ' a)
run sselog -d t.db publish "A-Z_a.z:0/9@x/..a/b.." ok
is_out "a name with every allowed character: prints id 13" 13
run sselog -d t.db publish "$name200" ok
is_out "a 200-character name: prints id 14" 14

# Everything below is refused and changes nothing.
refuse() {
	r_desc=$1 r_status=$2 r_phrase=$3
	shift 3
	snapshot t.db
	run "$@"
	refused "$r_desc: exit $r_status, one line" "$r_status" "$r_phrase"
	is_unchanged "$r_desc: database unchanged" t.db
}

bad_name="invalid stream name: use 1-200 characters of A-Z a-z 0-9 . _ - : / @ in /-separated segments that are not empty, . or .."
refuse "stream a/../b" 1 "$bad_name" sselog -d t.db publish 'a/../b' x
refuse "stream .." 1 "$bad_name" sselog -d t.db publish .. x
refuse "stream ." 1 "$bad_name" sselog -d t.db publish . x
refuse "empty stream" 1 "$bad_name" sselog -d t.db publish '' x
refuse "stream of 201 characters" 1 "$bad_name" sselog -d t.db publish "${name200}b" x
refuse "stream 'a b'" 1 "$bad_name" sselog -d t.db publish 'a b' x
refuse "stream a//b" 1 "$bad_name" sselog -d t.db publish a//b x
refuse "stream /a" 1 "$bad_name" sselog -d t.db publish /a x
refuse "stream a/" 1 "$bad_name" sselog -d t.db publish a/ x
refuse "stream with a non-ASCII letter" 1 "$bad_name" sselog -d t.db publish "$(printf 'caf\303\251')" x

# The schema refuses the same names with the same words, for SQL writers.
snapshot t.db
for name in 'a/../b' .. . '' 'a b' a//b "${name200}b"; do
	run sqlite3 t.db "INSERT INTO events (stream, data) VALUES ('$name', 'x')"
	check "SQL refuses stream '$(printf '%.12s' "$name")' in the same words" \
	    grep -qF "$bad_name" "$ERR"
done
is_unchanged "the refused SQL inserts changed nothing" t.db

printf 'ok so far \377 then not\n' >bad-utf8
refuse "invalid UTF-8 on stdin" 1 "UTF-8" sselog -d t.db publish s - <bad-utf8
printf '\300\200' >overlong
refuse "an overlong encoding on stdin" 1 "UTF-8" sselog -d t.db publish s <overlong
printf '\355\240\200' >surrogate
refuse "a UTF-16 surrogate on stdin" 1 "UTF-8" sselog -d t.db publish s <surrogate
printf 'ab\303' >truncated
refuse "a truncated sequence at the end of stdin" 1 "UTF-8" sselog -d t.db publish s <truncated
refuse "invalid UTF-8 in the argument" 1 "UTF-8" sselog -d t.db publish s "$(printf 'x\377y')"
printf 'a\000b' >nul
refuse "a NUL byte on stdin" 1 "NUL" sselog -d t.db publish s <nul

bad_type="invalid event type"
refuse "empty -e" 1 "$bad_type" sselog -d t.db publish s -e '' x
refuse "-e with a newline" 1 "$bad_type" sselog -d t.db publish s -e "$(printf 'a\nb')" x
refuse "-e with a CR" 1 "$bad_type" sselog -d t.db publish s -e "$(printf 'a\rb')" x
refuse "-e not UTF-8" 1 "$bad_type: it is not valid UTF-8" sselog -d t.db publish s -e "$(printf 'a\377')" x
refuse "-e sselog.gap (reserved)" 1 "reserved" sselog -d t.db publish s -e sselog.gap x

refuse "-r -1" 2 "-r -1" sselog -d t.db publish s -r -1 x
refuse "-r abc" 2 "-r abc" sselog -d t.db publish s -r abc x
refuse "-r 1.5" 2 "-r 1.5" sselog -d t.db publish s -r 1.5 x
refuse "-r beyond 32 bits" 2 "-r 2147483648" sselog -d t.db publish s -r 2147483648 x
refuse "too many arguments" 2 "too many arguments" sselog -d t.db publish s x y

run sselog -d missing.db publish s x
refused "a missing database file: exit 1, one line" 1 "missing.db"
check "the missing database is not created" test ! -e missing.db

# A database the user may read but not write. Root ignores file modes, so
# this runs as nobody, on a log that nobody can read (its directory and
# files are root's, 755 and 644) but not write. The -wal and -shm files
# are kept, so that nobody's reads work and only the write itself fails.
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
check "setpriv is installed" sh -c 'command -v setpriv >/dev/null'
chmod 711 "$T_WORK"
mkdir -m 755 bin ro
cp "$SSELOG" bin/sselog && chmod 755 bin/sselog
sselog -d ro/t.db init && sselog -d ro/t.db publish s before >/dev/null
sql ro/t.db '.filectrl persist_wal 1' 'SELECT count(*) FROM events' >/dev/null
chmod 644 ro/t.db ro/t.db-wal ro/t.db-shm
is "setpriv makes us nobody" "$($nobody id -u)" 65534
check "nobody cannot write the log" $nobody sh -c '! test -w ro/t.db'
run $nobody bin/sselog -d ro/t.db streams
is_out "nobody can read the log (so only writing fails below)" "$(printf 's\t1\t1\t1\topen')"
snapshot ro/t.db
run $nobody bin/sselog -d ro/t.db publish s x
refused "publish to a read-only log: exit 1, one line" 1 "readonly"
is_unchanged "the read-only log is unchanged" ro/t.db
printf 'from stdin\n' >line
run $nobody bin/sselog -d ro/t.db publish s <line
refused "publish from stdin to a read-only log: exit 1, one line" 1 "readonly"
run $nobody bin/sselog -d ro/t.db close s
refused "close of a read-only log: exit 1, one line" 1 "readonly"
is_unchanged "the read-only log is still unchanged" ro/t.db
check "its -wal file was still there (reads did not need to write)" test -e ro/t.db-wal

# --key: an idempotency key. A retry with the same key in the same stream
# appends nothing and prints the first event's id.
sselog -d k.db init
run sselog -d k.db publish --key job-7-step-1 build/7 "step 1"
is_status "--key: exit 0" 0
is_out "--key: prints the new id" 1
run sselog -d k.db publish --key job-7-step-1 build/7 "step 1, sent again"
is_status "the same key again: exit 0" 0
is_out "... prints the first event's id" 1
is_quiet "... and says nothing more"
is "... and appended nothing" "$(sql k.db 'SELECT count(*) || quote(idem) FROM events')" "1'job-7-step-1'"
run sselog -d k.db publish --key job-7-step-1 build/8 "other stream"
is_out "the same key in another stream is another event" 2
sselog -d k.db close build/7 >/dev/null
run sselog -d k.db publish --key job-7-step-1 build/7 "after the close"
is_out "a retry after the stream closed still gets its id (exit 0)" 1
snapshot k.db
for bad in '' 'has space' "$(printf 'tab\there')" "$(printf 'caf\303\251')" \
    "$(printf '%0129d' 0)"; do
	run sselog -d k.db publish --key "$bad" build/9 x
	refused "--key '$bad': exit 1" 1 "invalid idempotency key: use 1-128 visible ASCII characters"
done
run sselog -d k.db publish --key "$(printf '%0128d' 0)" build/9 x
is_out "a key of 128 characters is taken" 4
sselog -d k.db prune --keep 0 build/9 >/dev/null
run sselog -d k.db publish --key "$(printf '%0128d' 0)" build/9 x
is_out "a pruned event's key is forgotten: a new event" 5
# SQL writers get the same rules from the schema.
run sqlite3 k.db "INSERT INTO events (stream, data, idem) VALUES ('build/8', 'x', 'job-7-step-1')"
check "an SQL insert of a key the stream has fails" grep -q "UNIQUE constraint failed" "$ERR"
run sqlite3 k.db "INSERT INTO events (stream, data, idem) VALUES ('build/8', 'x', 'a b')"
check "an SQL insert of a bad key fails with the same words" \
    grep -q "invalid idempotency key: use 1-128 visible ASCII characters" "$ERR"
run sqlite3 k.db "INSERT INTO events (stream, data, idem) VALUES ('build/8', 'x', x'6162')"
check "an SQL insert of a key that is a blob fails" \
    grep -q "invalid idempotency key" "$ERR"

done_testing
