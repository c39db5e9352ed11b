# tests/cli/init.sh: `sselog init` creates the log in WAL mode at schema
# version 2, is idempotent, keeps existing data, upgrades an older schema,
# refuses a newer one and reports a path it cannot create in one line.
. "$SRCDIR/tests/cli/lib.sh"

# A new log.
run sselog -d t.db init
is_status "init on a new path succeeds" 0
is_out "init prints nothing" ""
is_quiet "init writes nothing on stderr"
check "init creates the file" test -f t.db
is "the log is in WAL mode" "$(sql t.db 'PRAGMA journal_mode')" wal
is "user_version is 2" "$(sql t.db 'PRAGMA user_version')" 2
is "the tables, indexes and triggers exist" "$(sql t.db "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name)")" \
    "events events_check_insert events_closed events_no_update events_record_prune events_stream_id events_stream_idem pruned"

# Again: nothing changes.
snapshot t.db
run sselog -d t.db init
is_status "init twice succeeds" 0
is_unchanged "init twice leaves the same dump" t.db

# With data in the log.
run sselog -d t.db publish build/1 one
run sselog -d t.db publish build/2 -e step -r 500 two
run sselog -d t.db close build/1
is "three events to keep" "$(sql t.db 'SELECT count(*) FROM events')" 3
snapshot t.db
run sselog -d t.db init
is_status "init on a log with data succeeds" 0
is_unchanged "init keeps the data (same dump)" t.db
is "the events are all there" "$(sql t.db "SELECT group_concat(id || ':' || stream || ':' || data, ' ') FROM events")" \
    "1:build/1:one 2:build/2:two 3:build/1:"

# Upgrade: a log of an older version lacks a trigger and has user_version 0.
sql t.db 'DROP TRIGGER events_check_insert; PRAGMA user_version = 0'
run sselog -d t.db publish build/2 x
refused "an un-upgraded log is refused by publish" 1 "init"
run sselog -d t.db init
is_status "init upgrades it" 0
is_quiet "the upgrade writes nothing on stderr"
is "user_version is 2 again" "$(sql t.db 'PRAGMA user_version')" 2
is "the trigger is back" "$(sql t.db "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'events_check_insert'")" 1
is_unchanged "the upgraded log is the same as before (dump)" t.db
run sqlite3 t.db "INSERT INTO events (stream, data) VALUES ('build/1', 'x')"
check "the restored trigger works: SQL cannot append to a closed stream" \
    grep -q "stream is closed" "$ERR"

# A log made by the previous release (schema version 1, without the idem
# column, tests/cli/schema-v1.sql) is upgraded in place, its events kept.
sqlite3 v1.db 'PRAGMA journal_mode = WAL' >/dev/null
sqlite3 v1.db <"$SRCDIR/tests/cli/schema-v1.sql"
sql v1.db "INSERT INTO events (stream, data) VALUES ('old/1', 'a'), ('old/1', 'b');
    INSERT INTO events (stream, event, data) VALUES ('old/2', 'sselog.close', '')"
run sselog -d v1.db publish old/1 c
refused "a version 1 log is refused by publish, which says to run init" 1 \
    "has schema version 1, older than this sselog's 2: run 'sselog -d v1.db init'"
run sselog -d v1.db init
is_status "init upgrades a version 1 log" 0
is_quiet "... quietly"
is "user_version is 2" "$(sql v1.db 'PRAGMA user_version')" 2
is "the events are kept, ids and all" \
    "$(sql v1.db "SELECT group_concat(id || ':' || stream || ':' || data || ':' || quote(idem), ' ') FROM events")" \
    "1:old/1:a:NULL 2:old/1:b:NULL 3:old/2::NULL"
run sselog -d v1.db publish --key k1 old/1 c
is_out "the upgraded log takes --key" 4
run sselog -d v1.db publish --key k1 old/1 c-again
is_out "... and finds it again" 4
run sselog -d v1.db publish old/2 x
refused "... and old/2 is still closed" 1 "stream is closed"
snapshot v1.db
run sselog -d v1.db init
is_unchanged "init on the upgraded log changes nothing" v1.db

# A newer log is refused and left alone.
sql t.db 'PRAGMA user_version = 99'
snapshot t.db
run sselog -d t.db init
refused "init refuses a log of a newer version" 1 "newer"
is_unchanged "the newer log is unchanged" t.db
is "its user_version is still 99" "$(sql t.db 'PRAGMA user_version')" 99
run sselog -d t.db publish build/2 x
refused "publish refuses a newer log too" 1 "newer"

# Somewhere it cannot be created.
run sselog -d no/such/dir/t.db init
refused "init into a missing directory fails in one line" 1 "no/such/dir/t.db"
check "nothing was created" test ! -e no

# A file that is not SQLite is refused and left alone.
printf 'not a database, just text\n' >text.db
run sselog -d text.db init
refused "init refuses a file that is not a database" 1 "text.db"
is "the file is unchanged" "$(cat text.db)" "not a database, just text"

done_testing
