# tests/pg/schema.sh: sql/postgresql.sql, through psql on a throw-away
# PostgreSQL 15 cluster (tests/pg/lib.sh; needs root). The same rules as
# sql/schema.sql with the same words and one SQLSTATE (SL001); UPDATE
# refused; one key per stream; what DELETE and TRUNCATE record in pruned;
# init run again changes nothing and upgrades in place; and the order:
# a writer waits for the one before it, concurrent writers with random
# delays and rollbacks never let a reader skip an id (and the same run on a
# log numbered by a sequence does skip, so this check can fail), one
# notification per writing transaction, never an event after a close.

. "$SRCDIR/tests/tap.sh"
. "$SRCDIR/tests/pg/lib.sh"

t_cleanup() {
	cd / && rm -rf "$T_WORK"
}
t_work pg
pg_cluster

is "the database is UTF8" "$(pg_sql 'SHOW server_encoding')" UTF8
is "the schema version is 2" "$(pg_sql 'SELECT version FROM sselog_schema')" 2
is "the objects" "$(pg_sql "SELECT string_agg(relname, ' ' ORDER BY relname)
    FROM pg_class WHERE relnamespace = 'public'::regnamespace")" \
    "events events_closed events_lock events_lock_pkey events_pkey events_stream_id events_stream_idem pruned pruned_pkey sselog_schema sselog_schema_pkey"
is "the triggers" "$(pg_sql "SELECT string_agg(tgname, ' ' ORDER BY tgname)
    FROM pg_trigger WHERE tgrelid = 'events'::regclass")" \
    "events_check_insert events_no_update events_notify events_record_prune events_record_truncate"

# ---- the rules, in the words of sql/schema.sql ----

# Every message of the SQLite schema is in this one, but the NUL byte's:
# PostgreSQL text cannot hold one (see below).
grep -o "RAISE(ABORT, '[^']*')" "$SRCDIR/sql/schema.sql" |
    sed "s/^RAISE(ABORT, '//; s/')\$//" >words
is "sql/schema.sql has its 9 messages" "$(wc -l <words)" 9
while IFS= read -r words; do
	case $words in
	*"NUL byte"*) continue ;;
	esac
	check "postgresql.sql says: $words" \
	    grep -qF "MESSAGE = '$words'" "$SRCDIR/sql/postgresql.sql"
done <words
bad_name=$(grep '^invalid stream name' words)
bad_type=$(grep '^invalid event type: it must' words)
reserved=$(grep '^invalid event type: types' words)
bad_key=$(grep '^invalid idempotency key' words)

# The cases run in one psql (a connection costs much on a busy machine),
# which goes on after an error and tells it in :SQLSTATE and
# :LAST_ERROR_MESSAGE. refused DESC SQLSTATE WORDS SQL: SQL fails with
# "SQLSTATE: WORDS" and leaves the events and the highest id as they were
# (a refused insert takes no id). taken DESC ID SQL: SQL (RETURNING id)
# succeeds with that id. run_cases runs them and checks each.
state="SELECT count(*) || ' ' || max(id) FROM events"
n_cases=0
: >cases.sql
refused() {
	n_cases=$((n_cases + 1))
	printf '%s\n' "$1" "$2: $3" >"case.$n_cases.want"
	printf '%s\n' '\echo @@' "$state;" "$4;" \
	    '\echo :SQLSTATE: :LAST_ERROR_MESSAGE' "$state;" >>cases.sql
}
taken() {
	n_cases=$((n_cases + 1))
	printf '%s\n' "$1" "$2" >"case.$n_cases.want"
	printf '%s\n' '\echo @@' "$3;" '\echo :SQLSTATE' >>cases.sql
}
run_cases() {
	pg_psql -v ON_ERROR_STOP=0 -f cases.sql >cases.out 2>/dev/null
	awk '/^@@$/ { n++; next } { print > ("case." n ".got") }' cases.out
	i=0
	while [ "$i" -lt "$n_cases" ]; do
		i=$((i + 1))
		{ read -r desc; read -r want; } <"case.$i.want"
		g1= g2= g3=
		[ -f "case.$i.got" ] &&
			{ read -r g1; read -r g2; read -r g3; } <"case.$i.got"
		case $want in
		*:*)	if [ "$g2" != "$want" ]; then
				not_ok "$desc" "expected: $want" "got: $g2"
			else
				is "$desc" "$g3" "$g1"
			fi ;;
		*)	is "$desc" "$g1 $g2" "$want 00000" ;;
		esac
	done
	n_cases=0
	: >cases.sql
}

long=$(printf '%0200d' 0)
for name in 'a/../b' .. . '' 'a b' a//b /a a/ "${long}b" "$(printf 'caf\303\251')" \
    "$(printf 'a\tb')"; do
	refused "stream '$(printf '%.12s' "$name" | tr '\t' ' ')' refused" SL001 "$bad_name" \
	    "INSERT INTO events (stream, data) VALUES ('$name', 'x')"
done
refused "a NULL stream refused" SL001 "$bad_name" \
    "INSERT INTO events (stream, data) VALUES (NULL, 'x')"
ins="INSERT INTO events (stream, data) VALUES"
taken "a name of 200 characters is taken" 1 "$ins ('$long', 'x') RETURNING id"
taken "every allowed character is taken" 2 "$ins ('Az09._:@-/.../x', 'x') RETURNING id"

for type in "''" "E'a\\nb'" "E'a\\rb'"; do
	refused "event type $(printf '%s' "$type" | tr '\\' /) refused" SL001 "$bad_type" \
	    "INSERT INTO events (stream, event, data) VALUES ('s', $type, 'x')"
done
refused "event type sselog.gap refused (reserved)" SL001 "$reserved" \
    "INSERT INTO events (stream, event, data) VALUES ('s', 'sselog.gap', 'x')"
taken "event type sselog is not reserved" 3 \
    "INSERT INTO events (stream, event, data) VALUES ('s', 'sselog', 'x') RETURNING id"
taken "event type sselogx is not reserved" 4 \
    "INSERT INTO events (stream, event, data) VALUES ('s', 'sselogx', 'x') RETURNING id"
refused "NULL data refused" SL001 "invalid data: it must be text" \
    "$ins ('s', NULL)"
refused "retry -1 refused" SL001 \
    "invalid retry: it must be a non-negative integer (milliseconds)" \
    "INSERT INTO events (stream, data, retry) VALUES ('s', 'x', -1)"
taken "retry 0 is taken" 5 \
    "INSERT INTO events (stream, data, retry) VALUES ('s', 'x', 0) RETURNING id"
for key in "''" "'has space'" "E'tab\\there'" "'caf$(printf '\303\251')'" \
    "'$(printf '%0129d' 0)'"; do
	refused "key $(printf '%.14s' "$key" | tr '\\' /) refused" SL001 "$bad_key" \
	    "INSERT INTO events (stream, data, idem) VALUES ('s', 'x', $key)"
done
key128=$(printf '%0128d' 0)
taken "a key of 128 characters is taken" 6 \
    "INSERT INTO events (stream, data, idem) VALUES ('s', 'x', '$key128') RETURNING id"
refused "the same key again in the stream: unique_violation" 23505 \
    "duplicate key value violates unique constraint \"events_stream_idem\"" \
    "INSERT INTO events (stream, data, idem) VALUES ('s', 'y', '$key128')"
taken "the same key in another stream is another event" 7 \
    "INSERT INTO events (stream, data, idem) VALUES ('t', 'x', '$key128') RETURNING id"
refused "bytes that are not UTF-8 refused by PostgreSQL" 22021 \
    'invalid byte sequence for encoding "UTF8": 0xff' "$ins ('s', E'a\\377b')"
refused "a NUL byte refused by PostgreSQL" 22021 \
    'invalid byte sequence for encoding "UTF8": 0x00' "$ins ('s', E'a\\000b')"
taken "an id given by the writer is ignored" 8 \
    "INSERT INTO events (id, stream, data) VALUES (1000, 's', 'x') RETURNING id"

taken "a close event" 9 \
    "INSERT INTO events (stream, event, data) VALUES ('c', 'sselog.close', '') RETURNING id"
refused "an event after the close refused" SL001 "stream is closed" \
    "$ins ('c', 'x')"
refused "a second close refused" SL001 "stream is closed" \
    "INSERT INTO events (stream, event, data) VALUES ('c', 'sselog.close', '')"
# After a first append in a transaction the trigger knows the stream it
# appended to: a bad name that follows, or the same name after its
# close, is still refused.
refused "a bad name after a good one in one statement refused" SL001 "$bad_name" \
    "$ins ('m', '1'), ('m/../x', '2')"
refused "an empty name after a good one in one statement refused" SL001 "$bad_name" \
    "$ins ('m', '1'), ('', '2')"
refused "a NULL name after a good one in one statement refused" SL001 "$bad_name" \
    "$ins ('m', '1'), (NULL, '2')"
refused "a close and an event in one statement refused" SL001 "stream is closed" \
    "INSERT INTO events (stream, event, data) VALUES ('c2', 'sselog.close', ''), ('c2', NULL, 'x')"
taken "a stream named like the closed one is open" 10 "$ins ('c/x', 'x') RETURNING id"
refused "UPDATE refused" SL001 \
    "events are append-only: append a new event instead of updating one" \
    "UPDATE events SET data = 'changed' WHERE id = 3"
taken "several rows in one statement: consecutive ids" "11 12 13" \
    "WITH r AS ($ins ('m', '1'), ('m', '2'), ('m', '3') RETURNING id)
     SELECT string_agg(id::text, ' ' ORDER BY id) FROM r"
run_cases

is "no id is lost to the refusals (gapless)" "$(pg_sql "$state")" "13 13"
is "created is now, in ms" "$(pg_sql "SELECT abs(created - $(t_now_ms)) < 60000 FROM events WHERE id = 8")" t

# ins STREAM: a plain SQL insert of one event; prints its id.
ins() {
	pg_sql "$ins ('$1', 'x') RETURNING id"
}

# ---- pruned ----

# p: 14 16 18, q: 15 17 19
pg_sql "$ins ('p', '1'), ('q', '1'), ('p', '2'), ('q', '2'), ('p', '3'), ('q', '3')"
prunes() {
	pg_sql "SELECT string_agg(stream || '=' || last_id, ' ' ORDER BY stream) FROM pruned"
}
pg_sql "DELETE FROM events WHERE stream = 'p' AND id < 18"
is "DELETE records the highest id per stream" "$(prunes)" "p=16"
pg_sql "DELETE FROM events WHERE id IN (15, 18)"
is "a second DELETE: both streams" "$(prunes)" "p=18 q=15"
pg_sql "INSERT INTO pruned VALUES ('r', 1000)"
is "an event in r" "$(ins r)" 20
pg_sql "DELETE FROM events WHERE stream IN ('q', 'r')"
is "a lower id deleted never lowers it" "$(prunes)" "p=18 q=19 r=1000"
is "the newest event deleted, its id is not given again" "$(ins s)" 21
pg_sql "DELETE FROM events WHERE false"
is "a DELETE of nothing records nothing" "$(prunes)" "p=18 q=19 r=1000"

# ---- init again, upgrades, refusals of init ----

# The schema and the rows; not the random key of its \restrict lines.
dump() {
	timeout -k 5 60 "$PG_BIN/pg_dump" -h "$PG_DIR" -p "$PG_PORT" -U postgres sselog |
	    grep -v '^\\\(un\)\{0,1\}restrict ' | sha256sum
}
before=$(dump)
is "init again: no output, no error" "$(pg_load)" ""
is "... and nothing changed (pg_dump)" "$(dump)" "$before"
pg_sql "DROP TRIGGER events_no_update ON events" "DROP INDEX events_closed"
is "init on a log that lacks a trigger and an index: no output" "$(pg_load)" ""
is "... they are back, the same (pg_dump)" "$(dump)" "$before"
pg_sql "DROP TABLE events_lock"
is "init on a log without events_lock: no output" "$(pg_load)" ""
is "... ids go on after the highest one deleted (r=1000 in pruned)" "$(ins s)" 1001
pg_sql "UPDATE sselog_schema SET version = 3"
before=$(dump)
pg_load >out
check "init on a log of a newer version is refused" \
    grep -q 'the log has schema version 3, newer than this sselog knows (2)' out
is "... and changes nothing" "$(dump)" "$before"
pg_sql "UPDATE sselog_schema SET version = 2"
ascii=$(pg_admin_psql -d postgres \
    -c "CREATE DATABASE ascii OWNER sselog ENCODING 'SQL_ASCII' TEMPLATE template0" &&
    echo "postgresql://sselog@127.0.0.1:$PG_PORT/ascii")
pg_load "$ascii" >out
check "init on a database that is not UTF8 is refused" \
    grep -q 'the sselog log needs a UTF8 database, not SQL_ASCII' out
is "... and creates nothing" "$(pg_psql -d "$ascii" -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" 0

# ---- order: a writer waits for the one before it ----

# waits_on_lock NAME: the session waits for a lock.
waits_on_lock() {
	[ "$(pg_state "$1")" = "active Lock" ]
}
in_transaction() {
	[ "$(pg_state "$1")" = "idle in transaction Client" ]
}
last=$(pg_sql 'SELECT max(id) FROM events')
pg_session A
pg_session B
pg_send A "BEGIN; INSERT INTO events (stream, data) VALUES ('o', 'A') RETURNING id;"
check "A appended and keeps its transaction open" wait_until 10 in_transaction A
pg_send B "INSERT INTO events (stream, data) VALUES ('o', 'B') RETURNING id;"
check "B's append waits for A's lock" wait_until 10 waits_on_lock B
sleep 0.2
check "... and still waits" waits_on_lock B
is "... and nothing of either is visible yet" "$(pg_sql "SELECT count(*) FROM events WHERE stream = 'o'")" 0
pg_send A "COMMIT;"
b_committed() {
	[ -n "$(pg_sql "SELECT 1 FROM events WHERE stream = 'o' AND data = 'B'")" ]
}
check "when A commits, B goes on" wait_until 10 b_committed
check "A's and B's sessions end" pg_end A && pg_end B
is "A got the next id, B the one after" "$(cat A.out B.out | tr '\n' ' ')" \
    "$((last + 1)) $((last + 2)) "
is "in commit order" "$(pg_sql "SELECT string_agg(data, '' ORDER BY pg_xact_commit_timestamp(xmin), id)
    FROM events WHERE stream = 'o'")" AB

pg_session A
pg_session B
pg_send A "BEGIN; INSERT INTO events (stream, data) VALUES ('o', 'A2');"
wait_until 10 in_transaction A
pg_send B "INSERT INTO events (stream, data) VALUES ('o', 'B2') RETURNING id;"
check "B waits for A again" wait_until 10 waits_on_lock B
pg_send A "ROLLBACK;"
pg_end A && pg_end B
is "A rolled back: B gets A's id, no gap" "$(cat B.out)" "$((last + 3))"

pg_session A
pg_session B
pg_send A "BEGIN; INSERT INTO events (stream, data) VALUES ('o', 'A3');"
wait_until 10 in_transaction A
pg_send B "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;"
pg_send B "INSERT INTO events (stream, data) VALUES ('o', 'B3');"
wait_until 10 waits_on_lock B
pg_send A "COMMIT;"
pg_end A && pg_end B
check "a REPEATABLE READ writer that waited gets a serialization failure" \
    grep -q "ERROR:  40001: could not serialize access due to concurrent update" B.out

# ---- order: concurrent writers, a reader that must never skip ----

# writer N URI: 25 transactions of one or two events in stream wN, each
# with a random delay before it ends, one in five rolled back.
writer() {
	awk -v w="$1" -v seed="$$$1" 'BEGIN {
		srand(seed)
		for (i = 1; i <= 25; i++) {
			print "BEGIN;"
			print "INSERT INTO events (stream, data) VALUES (\047w" w "\047, \047" i "\047);"
			if (rand() < 0.3)
				print "INSERT INTO events (stream, data) VALUES (\047w" w "\047, \047" i "b\047);"
			printf "SELECT pg_sleep(%.4f);\n", rand() * 0.01
			print (rand() < 0.2 ? "ROLLBACK;" : "COMMIT;")
		}
	}' | pg_psql -d "$2" >/dev/null
}

# concurrent URI: 8 writers, and a reader that polls "id > last" until it
# sees the event appended after them all. Leaves the ids the reader saw
# in seen, the ids committed in committed.
concurrent() {
	# The reader is one session; in READ COMMITTED each of its queries
	# sees what has committed when it starts.
	pg_psql -d "$1" >seen <<-'EOF' &
	CREATE TEMP TABLE seen (id bigint);
	DO $$
	DECLARE
	    last bigint := 0;
	    r record;
	BEGIN
	    LOOP
	        FOR r IN SELECT id, stream FROM events WHERE id > last ORDER BY id LOOP
	            IF r.stream = 'done' THEN
	                RETURN;
	            END IF;
	            INSERT INTO seen VALUES (r.id);
	            last := r.id;
	        END LOOP;
	        PERFORM pg_sleep(0.001);
	    END LOOP;
	END $$;
	SELECT id FROM seen ORDER BY id;
	EOF
	c_reader=$!
	c_pids=
	for w in 1 2 3 4 5 6 7 8; do
		writer "$w" "$1" &
		c_pids="$c_pids $!"
	done
	for c_pid in $c_pids; do
		wait "$c_pid"
	done
	pg_psql -d "$1" -c "INSERT INTO events (stream, data) VALUES ('done', '')"
	wait "$c_reader"
	pg_psql -d "$1" -c "SELECT id FROM events WHERE stream LIKE 'w%' ORDER BY id" >committed
}

ordered=$(pg_db ordered)
pg_load "$ordered"
concurrent "$ordered"
n=$(wc -l <committed)
check "8 writers committed events ($n)" test "$n" -gt 50
if cmp -s seen committed; then
	ok "the reader saw exactly the committed events, none skipped, none rolled back"
else
	not_ok "the reader saw exactly the committed events, none skipped, none rolled back" \
	    "$(diff seen committed | head -n 10)"
fi
is "the ids are 1 to $n, no gap" "$(sed -n '1p;$p' committed | tr '\n' ' ')" "1 $n "
is "commit order is id order" "$(pg_psql -d "$ordered" -c "SELECT count(*) FROM
    (SELECT pg_xact_commit_timestamp(xmin) AS at,
            lag(pg_xact_commit_timestamp(xmin)) OVER (ORDER BY id) AS before
     FROM events) AS e WHERE at < before")" 0

pg_psql -d "$ordered" -c "TRUNCATE events"
is "TRUNCATE records the highest id of each stream" "$(pg_psql -d "$ordered" -c "SELECT count(*) || ' ' || max(last_id) FROM pruned")" "9 $((n + 1))"
is "... and ids go on after it" "$(pg_psql -d "$ordered" -c "$ins ('s', 'x') RETURNING id")" "$((n + 2))"

# The same on a log numbered by a sequence, as a plain identity column
# would be: a later id commits first and the reader skips the earlier one.
sequence=$(pg_db sequence)
pg_load "$sequence"
pg_psql -d "$sequence" -c "CREATE SEQUENCE ids" \
    -c "ALTER TABLE events ALTER id SET DEFAULT nextval('ids')" \
    -c "DROP TRIGGER events_check_insert ON events"
concurrent "$sequence"
check "with a sequence instead, the same reader skips ids (the check above can fail)" \
    sh -c '! cmp -s seen committed'

# ---- one notification per writing transaction ----

pg_session L
pg_send L "LISTEN sselog;"
# The writes only once it listens: psql connects in the background.
pg_send L "SELECT 'listening';"
wait_until 30 grep -q '^listening$' L.out || bail "the LISTEN session does not answer"
awk 'BEGIN {
	print "BEGIN;"
	for (i = 1; i <= 100; i++)
		print "INSERT INTO events (stream, data) VALUES (\047n\047, \047" i "\047);"
	print "COMMIT;"
	print "INSERT INTO events (stream, data) SELECT \047n\047, \047x\047 WHERE false;"
	print "BEGIN; INSERT INTO events (stream, data) VALUES (\047n\047, \047gone\047); ROLLBACK;"
	print "INSERT INTO events (stream, data) VALUES (\047n\047, \047a\047), (\047m\047, \047b\047);"
}' | pg_psql
# psql prints the notifications that came when it runs its next command.
pg_send L "SELECT pg_sleep(0.3);"
pg_send L "SELECT 'end';"
pg_end L
is "a transaction of 100 inserts, then one of 2 (an empty insert and a rollback: none): 2 notifications" \
    "$(grep -c '^Asynchronous notification "sselog" received' L.out)" 2
check "... without payload" sh -c '! grep -q "with payload" L.out'

# ---- a close racing an append ----

# The close first, the append waits: refused.
pg_session A
pg_session B
pg_send A "BEGIN; INSERT INTO events (stream, event, data) VALUES ('race', 'sselog.close', '');"
wait_until 10 in_transaction A
pg_send B "INSERT INTO events (stream, data) VALUES ('race', 'late');"
check "an append waits for a close in progress" wait_until 10 waits_on_lock B
pg_send A "COMMIT;"
pg_end A && pg_end B
check "... and is refused when it commits" grep -q "ERROR:  SL001: stream is closed" B.out
is "... only the close is in the stream" "$(pg_sql "SELECT string_agg(coalesce(event, data), ' ') FROM events WHERE stream = 'race'")" sselog.close

# The append first, the close waits: the close comes after it.
pg_session A
pg_session B
pg_send A "BEGIN; INSERT INTO events (stream, data) VALUES ('race2', 'early');"
wait_until 10 in_transaction A
pg_send B "INSERT INTO events (stream, event, data) VALUES ('race2', 'sselog.close', '');"
check "a close waits for an append in progress" wait_until 10 waits_on_lock B
pg_send A "COMMIT;"
pg_end A && pg_end B
is "... and comes after it" "$(pg_sql "SELECT string_agg(coalesce(event, data), ' ' ORDER BY id) FROM events WHERE stream = 'race2'")" "early sselog.close"

# Four appenders and a close at a random moment among them.
for w in 1 2 3 4; do
	awk -v seed="$$$w" 'BEGIN {
		srand(seed)
		for (i = 1; i <= 30; i++) {
			print "BEGIN;"
			print "INSERT INTO events (stream, data) VALUES (\047race3\047, \047x\047);"
			printf "SELECT pg_sleep(%.4f);\n", rand() * 0.004
			print "COMMIT;"
		}
	}' | pg_psql -v ON_ERROR_STOP=0 >/dev/null 2>race3-$w.err &
	race_pids="${race_pids:-} $!"
done
sleep 0.1
pg_sql "INSERT INTO events (stream, event, data) VALUES ('race3', 'sselog.close', '')"
for pid in $race_pids; do
	wait "$pid"
done
check "appenders racing a close were refused after it" grep -q "stream is closed" race3-1.err
is "never an event after the close" "$(pg_sql "SELECT count(*) FROM events WHERE stream = 'race3'
    AND id > (SELECT id FROM events WHERE stream = 'race3' AND event = 'sselog.close')")" 0

done_testing
