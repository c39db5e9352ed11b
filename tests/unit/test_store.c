/* Unit tests for src/store.h against real SQLite files.
 *
 * Every case gets a fresh database in one mkdtemp directory under /tmp,
 * which the group teardown removes (templog.h). The tests talk to the same files through
 * the plain sqlite3 API as well, to set up states the store cannot make (old
 * rows, damaged schemas) and to check that the schema's rules hold for
 * writers that use plain SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "templog.h"
#include "validate.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* The schema's words (sql/schema.sql), which the store passes on as is. */
#define BAD_STREAM "invalid stream name: use 1-200 characters of " \
	"A-Z a-z 0-9 . _ - : / @ in /-separated segments that are not " \
	"empty, . or .."
#define BAD_TYPE \
	"invalid event type: it must be non-empty text without CR, LF or NUL"
#define RESERVED_TYPE "invalid event type: types starting with sselog. " \
	"are reserved, except sselog.close"
#define DATA_NOT_TEXT "invalid data: it must be text"
#define NUL_DATA "invalid data: it contains a NUL byte"
#define BAD_RETRY \
	"invalid retry: it must be a non-negative integer (milliseconds)"
#define CLOSED "stream is closed"
#define APPEND_ONLY "events are append-only: append a new event instead " \
	"of updating one"

#define MINUTE_MS INT64_C(60000)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the store, succeeding ---- */

static int64_t
publish(struct store *st, const char *stream, const char *type,
    const char *data)
{
	struct store_new_event ev = { stream, type, data, strlen(data), -1, NULL };
	int64_t id = 0;

	if (store_publish(st, &ev, &id, NULL) == -1)
		fail_msg("publish to %s: %s", stream, store_error(st));
	return id;
}

static int64_t
prune(struct store *st, const char *stream, int64_t keep, int64_t older)
{
	int64_t deleted = -1;

	if (store_prune(st, &stream, 1, keep, older, &deleted) == -1)
		fail_msg("prune %s: %s", stream, store_error(st));
	return deleted;
}

static int64_t
last_id(struct store *st)
{
	int64_t id = -1;

	if (store_last_id(st, &id) == -1)
		fail_msg("store_last_id: %s", store_error(st));
	return id;
}

/* The ids cursor c returns, as "1 4 10", checking on the way that they
 * rise past after, that each belongs to one of the n streams asked for
 * (any stream when streams is NULL) and that the data is what fixtures
 * write ("stream#id"). Closes c. */
static char *
drain_ids(struct store_cursor *c, const char *const *streams, size_t n,
    int64_t after)
{
	struct store_event ev;
	char *out = calloc(1, 4096), data[256];
	size_t len = 0;
	int64_t prev = after;
	int rc;

	assert_non_null(out);
	while ((rc = store_cursor_next(c, &ev)) == 1) {
		bool asked = streams == NULL;
		for (size_t i = 0; i < n; i++)
			asked |= strcmp(ev.stream, streams[i]) == 0;
		assert_true(asked);
		assert_true(ev.id > prev);
		prev = ev.id;
		snprintf(data, sizeof data, "%s#%lld", ev.stream,
		    (long long)ev.id);
		assert_int_equal(ev.data_len, strlen(data));
		assert_memory_equal(ev.data, data, ev.data_len);
		len += (size_t)snprintf(out + len, 4096 - len, "%s%lld",
		    len ? " " : "", (long long)ev.id);
	}
	assert_int_equal(rc, 0);
	/* The end stays the end. */
	assert_int_equal(store_cursor_next(c, &ev), 0);
	assert_int_equal(store_cursor_next(c, &ev), 0);
	store_cursor_close(c);
	return out;
}

/* The ids store_cursor_open gives for n streams after an id. */
static char *
cursor_ids(struct store *st, const char *const *streams, size_t n,
    int64_t after)
{
	struct store_cursor *c = store_cursor_open(st, streams, n, after);

	if (c == NULL)
		fail_msg("store_cursor_open: %s", store_error(st));
	return drain_ids(c, streams, n, after);
}

/* ---- plain SQL on the same file ---- */

static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		fail_msg("sqlite3_open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Runs sql; returns NULL, or SQLite's error message in msg. */
static const char *
raw_try(sqlite3 *db, const char *sql, char *msg, size_t size)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return NULL;
	snprintf(msg, size, "%s", sqlite3_errmsg(db));
	return msg;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char msg[512];

	if (raw_try(db, sql, msg, sizeof msg) != NULL)
		fail_msg("%s: %s", sql, msg);
}

/* The rows of a one-column query, as "a b c". */
static char *
raw_column(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	char *out = calloc(1, 8192);
	size_t len = 0;
	int rc;

	assert_non_null(out);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(stmt, 0);
		len += (size_t)snprintf(out + len, 8192 - len, "%s%s",
		    len ? " " : "", v ? v : "NULL");
		assert_true(len < 8192);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(stmt);
	return out;
}

/* Appends an event created age_ms ago, which only plain SQL can do; its
 * data is "stream#id" as everywhere in these tests. */
static void
raw_insert_aged(sqlite3 *db, const char *stream, const char *type,
    int64_t age_ms)
{
	static const char sql[] = "INSERT INTO events (stream, event, data,"
	    " created) VALUES (?1, ?2, ?1 || '#' || (SELECT coalesce(max(seq),"
	    " 0) + 1 FROM sqlite_sequence WHERE name = 'events'), ?3)";
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(stmt, 1, stream, -1, SQLITE_STATIC);
	if (type != NULL)
		sqlite3_bind_text(stmt, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now_ms() - age_ms);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		fail_msg("insert into %s: %s", stream, sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
}

/* Everything that defines the schema of the file at path: each object's
 * SQL by name, and the version. */
static char *
schema_of(const char *path)
{
	sqlite3 *db = raw_open(path);
	char *objs = raw_column(db, "SELECT type || ' ' || name || ': ' ||"
	    " coalesce(sql, '') FROM sqlite_master ORDER BY name");
	char *version = raw_column(db, "PRAGMA user_version");
	size_t len = strlen(objs) + strlen(version) + 16;
	char *out = malloc(len);

	assert_non_null(out);
	snprintf(out, len, "%s\nversion %s", objs, version);
	free(objs);
	free(version);
	sqlite3_close(db);
	return out;
}

/* ---- opening ---- */

enum file_kind {
	NO_FILE,	/* nothing at the path */
	EMPTY_FILE,	/* zero bytes */
	NOT_SQLITE,	/* a text file */
	RAW_SQL,	/* a SQLite file made by sql */
};

/* store_open refuses, in either mode that needs a log, a missing file, a
 * file that is not SQLite, and a SQLite file without sselog's schema or with
 * a newer one; the reason names the path and says what to do: run init
 * (with the very path), or upgrade sselog. */
static void
test_open_refused(void **state)
{
	static const struct {
		enum file_kind kind;
		const char *sql;
		enum store_mode mode;
		const char *words;	/* found in the error */
		bool says_init;		/* "'sselog -d PATH init'" in it */
	} cases[] = {
		{ NO_FILE, NULL, STORE_READ, "no such database", true },
		{ NO_FILE, NULL, STORE_WRITE, "no such database", true },
		{ EMPTY_FILE, NULL, STORE_READ, "not an sselog database", true },
		{ EMPTY_FILE, NULL, STORE_WRITE, "not an sselog database",
		  true },
		{ RAW_SQL, "CREATE TABLE t (x)", STORE_READ,
		  "not an sselog database", true },
		{ RAW_SQL, "CREATE TABLE t (x); PRAGMA user_version = 0",
		  STORE_WRITE, "not an sselog database", true },
		{ RAW_SQL, "PRAGMA user_version = 99", STORE_READ,
		  "schema version 99, newer than this sselog's 2: upgrade "
		  "sselog", false },
		{ RAW_SQL, "PRAGMA user_version = 99", STORE_WRITE,
		  "schema version 99, newer", false },
		{ RAW_SQL, "PRAGMA user_version = 3", STORE_WRITE,
		  "schema version 3, newer", false },
		{ NOT_SQLITE, NULL, STORE_READ, "not a database", false },
		{ NOT_SQLITE, NULL, STORE_WRITE, "not a database", false },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256], err[512] = "", init[512];
		FILE *f;

		templog_path(path, sizeof path);
		switch (cases[i].kind) {
		case NO_FILE:
			break;
		case EMPTY_FILE:
		case NOT_SQLITE:
			f = fopen(path, "w");
			assert_non_null(f);
			for (int k = 0; cases[i].kind == NOT_SQLITE && k < 64;
			    k++)
				fprintf(f, "%d,build/42,a CSV file, not a "
				    "SQLite database\n", k);
			fclose(f);
			break;
		case RAW_SQL: {
			sqlite3 *db = raw_open(path);
			raw_exec(db, cases[i].sql);
			sqlite3_close(db);
			break;
		}
		}
		assert_null(store_open(path, cases[i].mode, err, sizeof err));
		if (strstr(err, path) == NULL || strstr(err, cases[i].words) ==
		    NULL)
			fail_msg("case %zu: \"%s\" lacks the path or \"%s\"", i,
			    err, cases[i].words);
		snprintf(init, sizeof init, "'sselog -d %s init'", path);
		assert_int_equal(strstr(err, init) != NULL, cases[i].says_init);
		assert_null(strchr(err, '\n'));
		/* Refusing leaves a missing file missing. */
		struct stat sb;
		assert_int_equal(stat(path, &sb) == 0, cases[i].kind != NO_FILE);
	}

	/* A short err buffer gets a truncated, terminated reason. */
	char path[256], err[8];
	templog_path(path, sizeof path);
	memset(err, 'x', sizeof err);
	assert_null(store_open(path, STORE_READ, err, sizeof err));
	assert_int_equal(strlen(err), sizeof err - 1);
}

/* Each mode opens an initialised log; only STORE_READ refuses to write,
 * with an error that names the file. STORE_CREATE also creates a missing
 * file. */
static void
test_open_modes(void **state)
{
	static const struct {
		enum store_mode mode;
		bool writes;
	} cases[] = {
		{ STORE_READ, false },
		{ STORE_WRITE, true },
		{ STORE_CREATE, true },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *setup = templog_new(path, sizeof path);
		publish(setup, "s", NULL, "s#1");
		store_close(setup);

		struct store *st = templog_open(path, cases[i].mode);
		struct store_new_event ev = { "s", NULL, "s#2", 3, -1, NULL };
		int64_t id = 0;
		int rc = store_publish(st, &ev, &id, NULL);
		const char *s[] = { "s" };
		char *ids = cursor_ids(st, s, 1, 0);
		if (cases[i].writes) {
			assert_int_equal(rc, 0);
			assert_int_equal(id, 2);
			assert_string_equal(ids, "1 2");
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(store_error(st), path));
			assert_non_null(strstr(store_error(st), "readonly"));
			assert_string_equal(ids, "1");
		}
		free(ids);
		store_close(st);
	}

	char path[256];
	struct stat sb;
	templog_path(path, sizeof path);
	store_close(templog_open(path, STORE_CREATE));
	assert_int_equal(stat(path, &sb), 0);
}

/* ---- the schema ---- */

/* store_init is idempotent: run again, from the same or a new handle of
 * either writing mode, it leaves the schema as it was and every event in
 * place, and the log is in WAL mode. */
static void
test_init_idempotent(void **state)
{
	static const struct {
		int runs;		/* after the first */
		bool reopen;		/* a new handle for each run */
		enum store_mode mode;	/* of that handle */
	} cases[] = {
		{ 1, false, STORE_CREATE },
		{ 2, false, STORE_CREATE },
		{ 1, true, STORE_WRITE },
		{ 3, true, STORE_CREATE },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *st = templog_new(path, sizeof path);
		char *before = schema_of(path);

		publish(st, "s", NULL, "s#1");
		publish(st, "s", "sselog.close", "s#2");
		for (int k = 0; k < cases[i].runs; k++) {
			if (cases[i].reopen) {
				store_close(st);
				st = templog_open(path, cases[i].mode);
			}
			if (store_init(st) == -1)
				fail_msg("init again: %s", store_error(st));
			char *after = schema_of(path);
			assert_string_equal(after, before);
			free(after);
		}
		const char *s[] = { "s" };
		char *ids = cursor_ids(st, s, 1, 0);
		assert_string_equal(ids, "1 2");
		free(ids);
		assert_int_equal(last_id(st), 2);
		store_close(st);

		sqlite3 *db = raw_open(path);
		char *mode = raw_column(db, "PRAGMA journal_mode");
		assert_string_equal(mode, "wal");
		free(mode);
		sqlite3_close(db);
		free(before);
	}
}

/* store_init upgrades: whatever index or trigger an older schema lacks or
 * has in another form, and version 0, init restores this version's schema
 * exactly and keeps the events. */
static void
test_init_upgrade(void **state)
{
	static const char *const damage[] = {
		"",
		"DROP TRIGGER events_check_insert",
		"DROP TRIGGER events_no_update",
		"DROP TRIGGER events_record_prune",
		"DROP INDEX events_closed",
		"DROP INDEX events_stream_id",
		"DROP TRIGGER events_no_update;"
		" CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
		" BEGIN SELECT 1; END",
		"DROP TRIGGER events_check_insert;"
		" DROP TRIGGER events_no_update;"
		" DROP TRIGGER events_record_prune;"
		" DROP INDEX events_closed; DROP INDEX events_stream_id",
	};
	(void)state;

	for (size_t i = 0; i < NELEM(damage); i++) {
		char path[256], err[512] = "";
		struct store *st = templog_new(path, sizeof path);
		char *want = schema_of(path);

		publish(st, "s", NULL, "s#1");
		publish(st, "t", NULL, "t#2");
		store_close(st);

		sqlite3 *db = raw_open(path);
		raw_exec(db, damage[i]);
		raw_exec(db, "PRAGMA user_version = 0");
		sqlite3_close(db);
		char *damaged = schema_of(path);
		assert_string_not_equal(damaged, want);
		free(damaged);
		assert_null(store_open(path, STORE_WRITE, err, sizeof err));

		st = templog_open(path, STORE_CREATE);
		if (store_init(st) == -1)
			fail_msg("upgrade: %s", store_error(st));
		store_close(st);
		char *got = schema_of(path);
		assert_string_equal(got, want);
		free(got);

		st = templog_open(path, STORE_WRITE);
		const char *s[] = { "s", "t" };
		char *ids = cursor_ids(st, s, 2, 0);
		assert_string_equal(ids, "1 2");
		free(ids);
		store_close(st);
		free(want);
	}
}

/* store_init refuses a log of a newer schema version and leaves it as it
 * is. */
static void
test_init_newer(void **state)
{
	static const int versions[] = { STORE_SCHEMA_VERSION + 1, 99 };
	(void)state;

	for (size_t i = 0; i < NELEM(versions); i++) {
		char path[256], sql[64];
		templog_path(path, sizeof path);
		sqlite3 *db = raw_open(path);
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
		    versions[i]);
		raw_exec(db, sql);
		sqlite3_close(db);
		char *before = schema_of(path);

		struct store *st = templog_open(path, STORE_CREATE);
		assert_int_equal(store_init(st), -1);
		assert_non_null(strstr(store_error(st), path));
		assert_non_null(strstr(store_error(st), "newer"));
		store_close(st);
		char *after = schema_of(path);
		assert_string_equal(after, before);
		free(after);
		free(before);
	}
}

/* ---- appending ---- */

/* Each event comes back exactly as appended (data byte for byte, with
 * line endings, UTF-8, nothing or only part of a string; no type as NULL;
 * no retry as negative) with an id above every earlier one and a creation
 * time of now, whether published alone or appended in a transaction. */
static void
test_append(void **state)
{
	static const struct {
		const char *stream;
		const char *type;
		const char *data;
		size_t len;		/* 0: strlen(data) */
		int64_t retry;
		bool in_txn;		/* store_append, not store_publish */
	} cases[] = {
		{ "s", NULL, "plain", 0, -1, false },
		{ "s", "tick", "with\ntwo lines\r\nand CR\r", 0, 0, false },
		{ "t/1", NULL, "", 0, -1, false },
		{ "s", "t", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
		  3000, true },
		{ "t/1", NULL, "only this|not this", 9, INT32_MAX, true },
		{ "s", "sselog", "  leading: spaces", 0, -1, true },
		{ "u@x:1", "sselog.close", "", 0, -1, false },
	};
	char path[256];
	struct store *st = templog_new(path, sizeof path);
	int64_t ids[NELEM(cases)];
	int64_t t0 = now_ms();
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct store_new_event ev = {
			cases[i].stream, cases[i].type, cases[i].data,
			cases[i].len ? cases[i].len : strlen(cases[i].data),
			cases[i].retry, NULL,
		};
		int rc;
		if (cases[i].in_txn) {
			assert_int_equal(store_begin(st), 0);
			rc = store_append(st, &ev, &ids[i]);
			assert_int_equal(store_commit(st), 0);
		} else {
			rc = store_publish(st, &ev, &ids[i], NULL);
		}
		if (rc == -1)
			fail_msg("case %zu: %s", i, store_error(st));
		assert_true(i == 0 || ids[i] > ids[i - 1]);
		assert_int_equal(last_id(st), ids[i]);
	}
	int64_t t1 = now_ms();

	const char *all[] = { "s", "t/1", "u@x:1" };
	struct store_cursor *c = store_cursor_open(st, all, 3, 0);
	struct store_event ev;
	assert_non_null(c);
	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].data);
		assert_int_equal(store_cursor_next(c, &ev), 1);
		assert_int_equal(ev.id, ids[i]);
		assert_string_equal(ev.stream, cases[i].stream);
		if (cases[i].type == NULL)
			assert_null(ev.type);
		else
			assert_string_equal(ev.type, cases[i].type);
		assert_int_equal(ev.data_len, len);
		assert_memory_equal(ev.data, cases[i].data, len);
		assert_int_equal(ev.retry, cases[i].retry);
		assert_true(ev.created >= t0 && ev.created <= t1);
	}
	assert_int_equal(store_cursor_next(c, &ev), 0);
	store_cursor_close(c);
	store_close(st);
}

/* store_append_batch appends every event in order, for counts below, at
 * and around the 16 rows of one multi-row INSERT, and again in a second
 * transaction on the same handle; a bad event anywhere in the batch fails
 * it with the schema's words, and the rollback leaves nothing of it. */
static void
test_append_batch(void **state)
{
	static const struct {
		size_t n;
		size_t bad_at;		/* SIZE_MAX: every event valid */
	} cases[] = {
		{ 0, SIZE_MAX }, { 1, SIZE_MAX }, { 15, SIZE_MAX },
		{ 16, SIZE_MAX }, { 17, SIZE_MAX }, { 40, SIZE_MAX },
		{ 1, 0 }, { 16, 15 }, { 17, 16 }, { 40, 0 }, { 40, 20 },
		{ 40, 39 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t n = cases[i].n;
		struct store_new_event *evs = calloc(n ? n : 1, sizeof *evs);
		char (*data)[32] = calloc(n ? n : 1, sizeof *data);
		char path[256];
		struct store *st = templog_new(path, sizeof path);
		int64_t first = publish(st, "other", NULL, "other#1");

		assert_non_null(evs);
		assert_non_null(data);
		for (size_t k = 0; k < n; k++) {
			snprintf(data[k], sizeof data[k], "event %zu", k);
			evs[k] = (struct store_new_event){
				.stream = k == cases[i].bad_at ? "bad//name" :
				    "s",
				.type = k % 3 == 0 ? "t" : NULL,
				.data = data[k],
				.data_len = strlen(data[k]),
				.retry = k % 2 ? (int64_t)k : -1,
			};
		}
		int rounds = cases[i].bad_at == SIZE_MAX ? 2 : 1;
		for (int r = 0; r < rounds; r++) {
			assert_int_equal(store_begin(st), 0);
			int rc = store_append_batch(st, evs, n);
			if (cases[i].bad_at != SIZE_MAX) {
				assert_int_equal(rc, -1);
				assert_string_equal(store_error(st),
				    BAD_STREAM);
				store_rollback(st);
			} else {
				if (rc == -1)
					fail_msg("batch of %zu: %s", n,
					    store_error(st));
				assert_int_equal(store_commit(st), 0);
			}
		}

		size_t want = cases[i].bad_at == SIZE_MAX ? 2 * n : 0;
		const char *s[] = { "s" };
		struct store_cursor *c = store_cursor_open(st, s, 1, 0);
		struct store_event ev;
		int64_t prev = first;
		assert_non_null(c);
		for (size_t k = 0; k < want; k++) {
			const struct store_new_event *e = &evs[k % n];
			assert_int_equal(store_cursor_next(c, &ev), 1);
			assert_int_equal(ev.id, prev + 1);
			prev = ev.id;
			assert_int_equal(ev.data_len, e->data_len);
			assert_memory_equal(ev.data, e->data, e->data_len);
			assert_int_equal(ev.type == NULL, e->type == NULL);
			assert_int_equal(ev.retry, e->retry);
		}
		assert_int_equal(store_cursor_next(c, &ev), 0);
		store_cursor_close(c);
		assert_int_equal(last_id(st), first + (int64_t)want);
		store_close(st);
		free(evs);
		free(data);
	}
}

/* ---- reading ---- */

/* The fixture for cursors: ids 1-12 over streams a, b, c, a/x and other. */
static struct store *
cursor_fixture(char *path, size_t size)
{
	static const char *const streams[] = { "a", "b", "other", "a", "c",
	    "b", "b", "a/x", "c", "a", "other", "b" };
	struct store *st = templog_new(path, size);
	char data[64];

	for (size_t i = 0; i < NELEM(streams); i++) {
		snprintf(data, sizeof data, "%s#%zu", streams[i], i + 1);
		assert_int_equal(publish(st, streams[i], NULL, data),
		    (int64_t)i + 1);
	}
	return st;
}

/* A cursor over one or several streams returns their events after the
 * given id merged in id order, whatever the order the streams are named
 * in, skips every other stream (a/x is not a), and returns nothing when no
 * row matches. */
static void
test_cursor_merge(void **state)
{
	static const struct {
		const char *streams[4];
		size_t n;
		int64_t after;
		const char *want;
	} cases[] = {
		{ { "a" }, 1, 0, "1 4 10" },
		{ { "a" }, 1, 1, "4 10" },
		{ { "a" }, 1, 4, "10" },
		{ { "a" }, 1, 10, "" },
		{ { "a/x" }, 1, 0, "8" },
		{ { "a", "b" }, 2, 0, "1 2 4 6 7 10 12" },
		{ { "b", "a" }, 2, 0, "1 2 4 6 7 10 12" },
		{ { "a", "b", "c" }, 3, 5, "6 7 9 10 12" },
		{ { "c", "b", "a", "a/x" }, 4, 0, "1 2 4 5 6 7 8 9 10 12" },
		{ { "c", "b", "a", "a/x" }, 4, 9, "10 12" },
		{ { "nosuch" }, 1, 0, "" },
		{ { "nosuch", "c" }, 2, 0, "5 9" },
		{ { "A" }, 1, 0, "" },
		{ { "a", "b" }, 2, 12, "" },
		{ { "a", "b" }, 2, 1000, "" },
		{ { NULL }, 0, 0, "" },
	};
	char path[256];
	struct store *st = cursor_fixture(path, sizeof path);
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *got = cursor_ids(st, cases[i].streams, cases[i].n,
		    cases[i].after);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got,
			    cases[i].want);
		free(got);
	}
	store_close(st);
}

/* store_cursor_open_all returns the events of every stream after the given
 * id, in id order, and nothing past the last. */
static void
test_cursor_all(void **state)
{
	static const struct {
		int64_t after;
		const char *want;
	} cases[] = {
		{ -1, "1 2 3 4 5 6 7 8 9 10 11 12" },
		{ 0, "1 2 3 4 5 6 7 8 9 10 11 12" },
		{ 5, "6 7 8 9 10 11 12" },
		{ 11, "12" },
		{ 12, "" },
		{ INT64_MAX, "" },
	};
	char path[256];
	struct store *st = cursor_fixture(path, sizeof path);
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct store_cursor *c = store_cursor_open_all(st,
		    cases[i].after);
		if (c == NULL)
			fail_msg("store_cursor_open_all: %s", store_error(st));
		char *got = drain_ids(c, NULL, 0, cases[i].after);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
	store_close(st);
}

/* A cursor reads one snapshot: an event committed by another connection
 * while it is open is not among its rows, and a read transaction of the
 * caller's holds one snapshot over several cursors. */
static void
test_cursor_snapshot(void **state)
{
	static const struct {
		bool outer_txn;
	} cases[] = { { false }, { true } };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *w = cursor_fixture(path, sizeof path);
		struct store *r = templog_open(path, STORE_READ);
		const char *s[] = { "c" };
		struct store_event ev;

		if (cases[i].outer_txn)
			assert_int_equal(store_read_begin(r), 0);
		struct store_cursor *c = store_cursor_open(r, s, 1, 0);
		assert_non_null(c);
		assert_int_equal(store_cursor_next(c, &ev), 1);
		assert_int_equal(ev.id, 5);
		assert_int_equal(publish(w, "c", NULL, "c#13"), 13);
		assert_int_equal(store_cursor_next(c, &ev), 1);
		assert_int_equal(ev.id, 9);
		assert_int_equal(store_cursor_next(c, &ev), 0);
		store_cursor_close(c);

		char *got = cursor_ids(r, s, 1, 0);
		assert_string_equal(got, cases[i].outer_txn ? "5 9" :
		    "5 9 13");
		free(got);
		if (cases[i].outer_txn) {
			store_read_end(r);
			got = cursor_ids(r, s, 1, 0);
			assert_string_equal(got, "5 9 13");
			free(got);
		}
		store_close(r);
		store_close(w);
	}
}

/* store_last_id is the highest id ever given, not the highest id left:
 * 0 for an empty log, unchanged when the newest events are deleted (by
 * prune or plain SQL), and the next event gets the id after it. */
static void
test_last_id(void **state)
{
	static const struct {
		int events;
		int64_t keep;		/* prune with this; negative: don't */
		const char *sql;	/* then run this, unless NULL */
	} cases[] = {
		{ 0, -1, NULL },
		{ 1, -1, NULL },
		{ 5, -1, NULL },
		{ 1, 0, NULL },
		{ 5, 0, NULL },
		{ 5, 2, NULL },
		{ 5, -1, "DELETE FROM events WHERE id >= 4" },
		{ 5, -1, "DELETE FROM events" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *st = templog_new(path, sizeof path);

		assert_int_equal(last_id(st), 0);
		for (int k = 0; k < cases[i].events; k++)
			publish(st, "s", NULL, "x");
		if (cases[i].keep >= 0)
			prune(st, "s", cases[i].keep, -1);
		if (cases[i].sql != NULL) {
			sqlite3 *db = raw_open(path);
			raw_exec(db, cases[i].sql);
			sqlite3_close(db);
		}
		assert_int_equal(last_id(st), cases[i].events);
		assert_int_equal(publish(st, "s", NULL, "x"),
		    cases[i].events + 1);
		assert_int_equal(last_id(st), cases[i].events + 1);
		store_close(st);
	}
}

/* ---- pruning ---- */

/* The prune fixture, ids 1-11: streams s and t of several ages, and c,
 * whose close event (11) is as old as the rest of it. */
static void
prune_fixture(const char *path)
{
	static const struct {
		const char *stream;
		const char *type;
		int64_t age_ms;
	} rows[] = {
		{ "s", NULL, 10 * DAY_MS },		/* 1 */
		{ "t", NULL, 10 * DAY_MS },		/* 2 */
		{ "s", NULL, 5 * DAY_MS },		/* 3 */
		{ "s", NULL, 3 * HOUR_MS },		/* 4 */
		{ "t", NULL, 1 * HOUR_MS + MINUTE_MS },	/* 5 */
		{ "s", NULL, 1 * MINUTE_MS },		/* 6 */
		{ "t", NULL, 0 },			/* 7 */
		{ "s", NULL, 0 },			/* 8 */
		{ "c", NULL, 10 * DAY_MS },		/* 9 */
		{ "c", NULL, 10 * DAY_MS },		/* 10 */
		{ "c", "sselog.close", 10 * DAY_MS },	/* 11 */
	};
	sqlite3 *db = raw_open(path);

	for (size_t i = 0; i < NELEM(rows); i++)
		raw_insert_aged(db, rows[i].stream, rows[i].type,
		    rows[i].age_ms);
	sqlite3_close(db);
}

/* store_prune: --keep N spares each stream's newest N; --older-than spares
 * what is younger; with both, a row goes only if neither spares it; no
 * streams means all; a close event always stays; and the pruned table holds
 * each stream's highest deleted id, never lowered (here after a plain SQL
 * DELETE of a younger row). */
static void
test_prune(void **state)
{
	static const struct {
		const char *sql;	/* run first, unless NULL */
		const char *streams[3];
		size_t n;
		int64_t keep;
		int64_t older;
		int64_t deleted;
		const char *left;	/* the ids left */
		const char *pruned;	/* the pruned table: stream=id */
	} cases[] = {
		{ NULL, { "s" }, 1, 2, -1, 3,
		  "2 5 6 7 8 9 10 11", "s=4" },
		{ NULL, { "s" }, 1, -1, DAY_MS, 2,
		  "2 4 5 6 7 8 9 10 11", "s=3" },
		{ NULL, { "s" }, 1, 0, -1, 5,
		  "2 5 7 9 10 11", "s=8" },
		{ NULL, { "s" }, 1, 100, -1, 0,
		  "1 2 3 4 5 6 7 8 9 10 11", "" },
		{ NULL, { "s" }, 1, -1, 30 * DAY_MS, 0,
		  "1 2 3 4 5 6 7 8 9 10 11", "" },
		/* Both: keep 2 alone takes 1 3 4, older than 1 day 1 3. */
		{ NULL, { "s" }, 1, 2, DAY_MS, 2,
		  "2 4 5 6 7 8 9 10 11", "s=3" },
		/* Both: keep 4 alone takes 1, older than 1 hour 1 3 4. */
		{ NULL, { "s" }, 1, 4, HOUR_MS, 1,
		  "2 3 4 5 6 7 8 9 10 11", "s=1" },
		/* Both: keep 0 takes all, older than 1 hour 1 3 4. */
		{ NULL, { "s" }, 1, 0, HOUR_MS, 3,
		  "2 5 6 7 8 9 10 11", "s=4" },
		{ NULL, { "s", "t" }, 2, 1, -1, 6,
		  "7 8 9 10 11", "s=6 t=5" },
		{ NULL, { NULL }, 0, 0, -1, 10,
		  "11", "c=10 s=8 t=7" },
		{ NULL, { NULL }, 0, 2, -1, 5,
		  "5 6 7 8 10 11", "c=9 s=4 t=2" },
		{ NULL, { NULL }, 0, -1, DAY_MS, 5,
		  "4 5 6 7 8 11", "c=10 s=3 t=2" },
		{ NULL, { NULL }, 0, -1, HOUR_MS, 7,
		  "6 7 8 11", "c=10 s=4 t=5" },
		{ NULL, { "c" }, 1, 0, -1, 2,
		  "1 2 3 4 5 6 7 8 11", "c=10" },
		{ NULL, { "c" }, 1, 1, DAY_MS, 2,
		  "1 2 3 4 5 6 7 8 11", "c=10" },
		{ NULL, { "nosuch" }, 1, 0, -1, 0,
		  "1 2 3 4 5 6 7 8 9 10 11", "" },
		/* Longer ago than 1970: nothing is that old, so nothing goes
		 * (not: the cutoff is negative, so the condition is off). */
		{ NULL, { NULL }, 0, -1, 200 * 366 * DAY_MS, 0,
		  "1 2 3 4 5 6 7 8 9 10 11", "" },
		{ NULL, { "s" }, 1, 0, INT64_MAX, 0,
		  "1 2 3 4 5 6 7 8 9 10 11", "" },
		{ "DELETE FROM events WHERE id = 6", { "s" }, 1, -1, DAY_MS, 2,
		  "2 4 5 7 8 9 10 11", "s=6" },
		{ "DELETE FROM events WHERE id = 6", { "s" }, 1, 0, -1, 4,
		  "2 5 7 9 10 11", "s=8" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *st = templog_new(path, sizeof path);
		int64_t deleted = -1, close_id, pruned_id;

		prune_fixture(path);
		if (cases[i].sql != NULL) {
			sqlite3 *db = raw_open(path);
			raw_exec(db, cases[i].sql);
			sqlite3_close(db);
		}
		if (store_prune(st, cases[i].streams, cases[i].n,
		    cases[i].keep, cases[i].older, &deleted) == -1)
			fail_msg("case %zu: %s", i, store_error(st));
		assert_int_equal(deleted, cases[i].deleted);

		sqlite3 *db = raw_open(path);
		char *left = raw_column(db, "SELECT id FROM events ORDER BY id");
		char *pruned = raw_column(db, "SELECT stream || '=' || last_id"
		    " FROM pruned ORDER BY stream");
		if (strcmp(left, cases[i].left) != 0 ||
		    strcmp(pruned, cases[i].pruned) != 0)
			fail_msg("case %zu: left \"%s\", pruned \"%s\"", i,
			    left, pruned);
		free(left);
		free(pruned);
		sqlite3_close(db);

		assert_int_equal(store_stream_state(st, "c", &close_id,
		    &pruned_id), 0);
		assert_int_equal(close_id, 11);
		store_close(st);
	}
}

/* store_stream_state tells open from closed and what was pruned, for
 * every combination, from a read-only handle too; a stream nobody wrote to
 * is open with nothing pruned. */
static void
test_stream_state(void **state)
{
	static const struct {
		const char *stream;
		int64_t close_id;
		int64_t pruned_id;
	} cases[] = {
		{ "open", 0, 0 },
		{ "closed", 4, 0 },
		{ "pruned", 0, 6 },
		{ "both", 10, 9 },
		{ "gone", 0, 12 },
		{ "nosuch", 0, 0 },
	};
	static const struct {
		const char *stream;
		const char *type;
	} appends[] = {
		{ "open", NULL }, { "open", NULL },			/* 1-2 */
		{ "closed", NULL }, { "closed", "sselog.close" },	/* 3-4 */
		{ "pruned", NULL }, { "pruned", NULL },			/* 5-6 */
		{ "pruned", NULL },					/* 7 */
		{ "both", NULL }, { "both", NULL },			/* 8-9 */
		{ "both", "sselog.close" },				/* 10 */
		{ "gone", NULL }, { "gone", NULL },			/* 11-12 */
	};
	char path[256];
	struct store *w = templog_new(path, sizeof path);
	(void)state;

	for (size_t i = 0; i < NELEM(appends); i++)
		publish(w, appends[i].stream, appends[i].type, "x");
	assert_int_equal(prune(w, "pruned", 1, -1), 2);
	assert_int_equal(prune(w, "both", 0, -1), 2);
	assert_int_equal(prune(w, "gone", 0, -1), 2);

	struct store *r = templog_open(path, STORE_READ);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct store *handles[] = { w, r };
		for (size_t h = 0; h < NELEM(handles); h++) {
			int64_t close_id = -1, pruned_id = -1;
			assert_int_equal(store_stream_state(handles[h],
			    cases[i].stream, &close_id, &pruned_id), 0);
			assert_int_equal(close_id, cases[i].close_id);
			assert_int_equal(pruned_id, cases[i].pruned_id);
		}
	}
	store_close(r);
	store_close(w);
}

/* ---- closed streams ---- */

enum append_way { PUBLISH, APPEND, BATCH, CLOSE_AGAIN, PLAIN_SQL };

/* Once a stream is closed (by sselog or by plain SQL), every way of
 * appending to it fails with exactly "stream is closed", nothing is
 * written, and other streams go on. */
static void
test_closed(void **state)
{
	static const struct {
		bool closed_by_sql;
		enum append_way way;
	} cases[] = {
		{ false, PUBLISH }, { false, APPEND }, { false, BATCH },
		{ false, CLOSE_AGAIN }, { false, PLAIN_SQL },
		{ true, PUBLISH }, { true, BATCH },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256], msg[512];
		struct store *st = templog_new(path, sizeof path);
		sqlite3 *db = raw_open(path);
		struct store_new_event ev = { "s", NULL, "late", 4, -1, NULL };
		struct store_new_event batch[] = {
			{ "other", NULL, "x", 1, -1, NULL }, ev,
			{ "other", NULL, "y", 1, -1, NULL },
		};
		int64_t id = 0;
		int rc = 0;

		publish(st, "s", NULL, "s#1");
		if (cases[i].closed_by_sql)
			raw_exec(db, "INSERT INTO events (stream, event, data,"
			    " created) VALUES ('s', 'sselog.close', 's#2', 0)");
		else
			publish(st, "s", "sselog.close", "s#2");

		switch (cases[i].way) {
		case PUBLISH:
			rc = store_publish(st, &ev, &id, NULL);
			break;
		case APPEND:
			assert_int_equal(store_begin(st), 0);
			rc = store_append(st, &ev, &id);
			store_rollback(st);
			break;
		case BATCH:
			assert_int_equal(store_begin(st), 0);
			rc = store_append_batch(st, batch, NELEM(batch));
			store_rollback(st);
			break;
		case CLOSE_AGAIN:
			ev.type = "sselog.close";
			rc = store_publish(st, &ev, &id, NULL);
			break;
		case PLAIN_SQL:
			assert_non_null(raw_try(db, "INSERT INTO events (stream,"
			    " data, created) VALUES ('s', 'late', 0)", msg,
			    sizeof msg));
			assert_string_equal(msg, CLOSED);
			rc = -1;
			break;
		}
		assert_int_equal(rc, -1);
		if (cases[i].way != PLAIN_SQL)
			assert_string_equal(store_error(st), CLOSED);

		const char *s[] = { "s", "other" };
		char *ids = cursor_ids(st, s, 1, 0);
		assert_string_equal(ids, "1 2");
		free(ids);
		assert_int_equal(publish(st, "other", NULL, "other#3"), 3);
		ids = cursor_ids(st, s + 1, 1, 0);
		assert_string_equal(ids, "3");
		free(ids);
		sqlite3_close(db);
		store_close(st);
	}
}

/* ---- the schema's rules for plain SQL ---- */

/* The schema refuses, with its own one-line words, every bad row plain SQL
 * may try (names, types, NUL in data, retry, blobs, nulls) and every
 * UPDATE, and accepts good rows. */
static void
test_schema_rules(void **state)
{
#define INS "INSERT INTO events (stream, event, data, retry, created) VALUES "
	static const struct {
		const char *sql;
		const char *why;	/* NULL: accepted */
	} cases[] = {
		{ INS "('ok', NULL, 'x', NULL, 0)", NULL },
		{ INS "('ok', 't', 'x', 0, 0)", NULL },
		{ INS "('ok', 'sselog', '', 5, 0)", NULL },
		{ INS "(replace(hex(zeroblob(200)), '00', 'a'), NULL, 'x',"
		  " NULL, 0)", NULL },
		{ INS "('closing', 'sselog.close', 'bye', NULL, 0)", NULL },
		{ INS "('a b', NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "('a/../b', NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "('a//b', NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "('', NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "(NULL, NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "(x'61', NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "('caf\xc3\xa9', NULL, 'x', NULL, 0)", BAD_STREAM },
		{ INS "(replace(hex(zeroblob(201)), '00', 'a'), NULL, 'x',"
		  " NULL, 0)", BAD_STREAM },
		{ INS "('ok', '', 'x', NULL, 0)", BAD_TYPE },
		{ INS "('ok', 'a' || char(13), 'x', NULL, 0)", BAD_TYPE },
		{ INS "('ok', 'a' || char(10), 'x', NULL, 0)", BAD_TYPE },
		{ INS "('ok', 'a' || char(0) || 'b', 'x', NULL, 0)", BAD_TYPE },
		{ INS "('ok', x'41', 'x', NULL, 0)", BAD_TYPE },
		{ INS "('ok', 'sselog.gap', 'x', NULL, 0)", RESERVED_TYPE },
		{ INS "('ok', 'sselog.', 'x', NULL, 0)", RESERVED_TYPE },
		{ INS "('ok', NULL, 'a' || char(0) || 'b', NULL, 0)", NUL_DATA },
		{ INS "('ok', NULL, char(0), NULL, 0)", NUL_DATA },
		{ INS "('ok', NULL, x'41', NULL, 0)", DATA_NOT_TEXT },
		{ INS "('ok', NULL, zeroblob(4), NULL, 0)", DATA_NOT_TEXT },
		{ INS "('ok', NULL, NULL, NULL, 0)", DATA_NOT_TEXT },
		{ INS "('ok', NULL, 'x', -1, 0)", BAD_RETRY },
		{ INS "('ok', NULL, 'x', 1.5, 0)", BAD_RETRY },
		{ INS "('ok', NULL, 'x', 'soon', 0)", BAD_RETRY },
		{ INS "('ok', NULL, 'x', x'01', 0)", BAD_RETRY },
		{ INS "('closing', NULL, 'x', NULL, 0)", CLOSED },
		{ "UPDATE events SET data = 'changed'", APPEND_ONLY },
		{ "UPDATE events SET stream = 'other' WHERE id = 1",
		  APPEND_ONLY },
		{ "UPDATE events SET event = NULL WHERE event = 'sselog.close'",
		  APPEND_ONLY },
	};
#undef INS
	char path[256], msg[512];
	struct store *st = templog_new(path, sizeof path);
	sqlite3 *db = raw_open(path);
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *why = raw_try(db, cases[i].sql, msg, sizeof msg);
		if ((why == NULL) != (cases[i].why == NULL))
			fail_msg("%s: %s", cases[i].sql, why ? why :
			    "accepted");
		if (why != NULL)
			assert_string_equal(why, cases[i].why);
	}
	/* The refusals changed nothing: the five good rows, unchanged. */
	char *rows = raw_column(db, "SELECT count(*) FROM events");
	assert_string_equal(rows, "5");
	free(rows);
	rows = raw_column(db, "SELECT count(*) FROM events WHERE"
	    " data = 'changed' OR stream = 'other' OR event IS NULL AND"
	    " stream = 'closing'");
	assert_string_equal(rows, "0");
	free(rows);
	sqlite3_close(db);
	store_close(st);
}

/* The C validators and the schema refuse with the same words. */
static void
test_same_words(void **state)
{
	static const struct {
		const char *stream, *type, *data;
		size_t data_len;
	} cases[] = {
		{ "a b", NULL, "x", 1 },
		{ "a/./b", NULL, "x", 1 },
		{ "ok", "", "x", 1 },
		{ "ok", "a\nb", "x", 1 },
		{ "ok", "sselog.gap", "x", 1 },
		{ "ok", NULL, "a\0b", 3 },
	};
	char path[256];
	struct store *st = templog_new(path, sizeof path);
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *c_why = validate_stream(cases[i].stream);
		if (c_why == NULL && cases[i].type != NULL)
			c_why = validate_event_type(cases[i].type);
		if (c_why == NULL)
			c_why = validate_data(cases[i].data,
			    cases[i].data_len);
		assert_non_null(c_why);

		struct store_new_event ev = { cases[i].stream, cases[i].type,
		    cases[i].data, cases[i].data_len, -1, NULL };
		int64_t id;
		assert_int_equal(store_publish(st, &ev, &id, NULL), -1);
		assert_string_equal(store_error(st), c_why);
	}
	assert_int_equal(last_id(st), 0);
	store_close(st);
}

/* For every stream name, validate_stream and the schema agree with each
 * other and with the table: valid names insert, invalid names are refused
 * with the stream rule's words, including the names that play on GLOB's
 * special characters. */
static void
test_names_agree(void **state)
{
#define S10 "abcdefghij"
#define S50 S10 S10 S10 S10 S10
#define S200 S50 S50 S50 S50
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "a", true }, { "build/42", true }, { "_", true },
		{ "-", true }, { ":", true }, { "@", true },
		{ "A-Za-z0-9._:/@", true }, { "a-z", true },
		{ "..a", true }, { "a..", true }, { "...", true },
		{ "a/.../b", true }, { ".a/b.", true }, { S200, true },
		{ S50 "/" S50 "/" S50 "/" S10 S10 S10 S10 "abcdefg", true },
		{ S200 "x", false }, { "", false }, { ".", false },
		{ "..", false }, { "./a", false }, { "a/.", false },
		{ "a/..", false }, { "a/./b", false }, { "a/../b", false },
		{ "a//b", false }, { "/a", false }, { "a/", false },
		{ "/", false }, { "a b", false }, { "a\nb", false },
		{ "a\rb", false }, { "a\tb", false }, { "*", false },
		{ "a*", false }, { "?", false }, { "[", false },
		{ "]", false }, { "a]", false }, { "[a]", false },
		{ "^", false }, { "%", false }, { "a\\b", false },
		{ "a'b", false }, { "\x7f", false }, { "caf\xc3\xa9", false },
		{ "\xc3\xa9", false }, { "a\xff", false },
	};
#undef S10
#undef S50
#undef S200
	static const char sql[] = "INSERT INTO events (stream, data, created)"
	    " VALUES (?1, 'x', 0)";
	char path[256];
	struct store *st = templog_new(path, sizeof path);
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *stmt = NULL;
	(void)state;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *c_why = validate_stream(cases[i].name);
		sqlite3_reset(stmt);
		sqlite3_bind_text(stmt, 1, cases[i].name, -1, SQLITE_STATIC);
		int rc = sqlite3_step(stmt);
		bool sql_ok = rc == SQLITE_DONE;

		if ((c_why == NULL) != cases[i].valid ||
		    sql_ok != cases[i].valid)
			fail_msg("\"%s\": C says %s, SQL says %s", cases[i].name,
			    c_why ? "invalid" : "valid", sql_ok ? "valid" :
			    "invalid");
		if (!sql_ok)
			assert_string_equal(sqlite3_errmsg(db), BAD_STREAM);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	store_close(st);
}

/* ---- listing and watching ---- */

struct listed {
	char name[64];
	int64_t events, first_id, last_id;
	bool closed;
};

struct list_ctx {
	struct listed rows[8];
	size_t n;
	size_t stop_at;		/* return 7 on this call (1-based); 0: never */
};

static int
collect(void *arg, const struct store_stream_summary *s)
{
	struct list_ctx *ctx = arg;

	assert_true(ctx->n < NELEM(ctx->rows));
	struct listed *l = &ctx->rows[ctx->n++];
	snprintf(l->name, sizeof l->name, "%s", s->name);
	l->events = s->events;
	l->first_id = s->first_id;
	l->last_id = s->last_id;
	l->closed = s->closed;
	return ctx->n == ctx->stop_at ? 7 : 0;
}

/* store_list_streams gives every stream that has events, by name, with its
 * count, first and last id and whether it is closed; a stream pruned to
 * nothing is gone; a non-zero answer from the callback stops the listing
 * and is returned. An empty log lists nothing. */
static void
test_list_streams(void **state)
{
	static const struct listed want[] = {
		{ "a", 1, 4, 4, false },
		{ "b", 4, 1, 13, false },
		{ "c", 3, 5, 7, true },
		{ "e", 1, 12, 12, false },
	};
	static const size_t stops[] = { 0, 1, 2, 4, 5 };
	static const char *const appends[] = { "b", "b", "b", "a", "c",
	    "c", "c", "d", "d", "e", "e", "e", "b" };
	char path[256];
	struct store *st = templog_new(path, sizeof path);
	struct list_ctx ctx = { .stop_at = 0 };
	(void)state;

	assert_int_equal(store_list_streams(st, collect, &ctx), 0);
	assert_int_equal(ctx.n, 0);
	for (size_t i = 0; i < NELEM(appends); i++)
		publish(st, appends[i], i == 6 ? "sselog.close" : NULL, "x");
	prune(st, "d", 0, -1);
	prune(st, "e", 1, -1);

	for (size_t i = 0; i < NELEM(stops); i++) {
		size_t stop = stops[i];
		size_t calls = stop == 0 || stop > NELEM(want) ? NELEM(want) :
		    stop;

		memset(&ctx, 0, sizeof ctx);
		ctx.stop_at = stop;
		assert_int_equal(store_list_streams(st, collect, &ctx),
		    calls == stop ? 7 : 0);
		assert_int_equal(ctx.n, calls);
		for (size_t k = 0; k < calls; k++) {
			assert_string_equal(ctx.rows[k].name, want[k].name);
			assert_int_equal(ctx.rows[k].events, want[k].events);
			assert_int_equal(ctx.rows[k].first_id,
			    want[k].first_id);
			assert_int_equal(ctx.rows[k].last_id, want[k].last_id);
			assert_int_equal(ctx.rows[k].closed, want[k].closed);
		}
	}
	store_close(st);
}

enum writer { NOBODY, SELF, OTHER_STORE, OTHER_SQL, OTHER_ROLLED_BACK };

/* store_data_version changes when another connection commits (through
 * the store or plain SQL), and not for nothing, a rollback, or the
 * handle's own commits. */
static void
test_data_version(void **state)
{
	static const struct {
		enum writer who;
		bool changes;
	} cases[] = {
		{ NOBODY, false },
		{ SELF, false },
		{ OTHER_STORE, true },
		{ OTHER_SQL, true },
		{ OTHER_ROLLED_BACK, false },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *st = templog_new(path, sizeof path);
		struct store *other = templog_open(path, STORE_WRITE);
		sqlite3 *db = raw_open(path);
		int64_t before = -1, after = -1;

		assert_int_equal(store_data_version(st, &before), 0);
		switch (cases[i].who) {
		case NOBODY:
			break;
		case SELF:
			publish(st, "s", NULL, "x");
			break;
		case OTHER_STORE:
			publish(other, "s", NULL, "x");
			break;
		case OTHER_SQL:
			raw_exec(db, "INSERT INTO events (stream, data, created)"
			    " VALUES ('s', 'x', 0)");
			break;
		case OTHER_ROLLED_BACK:
			raw_exec(db, "BEGIN; INSERT INTO events (stream, data,"
			    " created) VALUES ('s', 'x', 0); ROLLBACK");
			break;
		}
		assert_int_equal(store_data_version(st, &after), 0);
		assert_int_equal(after != before, cases[i].changes);
		/* Asking again, with nothing new, gives the same. */
		assert_int_equal(store_data_version(st, &before), 0);
		assert_int_equal(before, after);
		sqlite3_close(db);
		store_close(other);
		store_close(st);
	}
}

/* ---- transactions ---- */

/* Appends inside one transaction become visible to other connections
 * together at commit, and not at all after a rollback. */
static void
test_transactions(void **state)
{
	static const struct {
		int appends;
		bool commit;
	} cases[] = {
		{ 1, true }, { 3, true }, { 1, false }, { 3, false },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[256];
		struct store *w = templog_new(path, sizeof path);
		struct store *r = templog_open(path, STORE_READ);
		const char *s[] = { "s" };
		char data[32];
		int64_t id;

		assert_int_equal(store_begin(w), 0);
		for (int k = 0; k < cases[i].appends; k++) {
			snprintf(data, sizeof data, "s#%d", k + 1);
			struct store_new_event ev = { "s", NULL, data,
			    strlen(data), -1, NULL };
			assert_int_equal(store_append(w, &ev, &id), 0);
			assert_int_equal(id, k + 1);
			char *seen = cursor_ids(r, s, 1, 0);
			assert_string_equal(seen, "");
			free(seen);
		}
		if (cases[i].commit)
			assert_int_equal(store_commit(w), 0);
		else
			store_rollback(w);
		char *seen = cursor_ids(r, s, 1, 0);
		assert_string_equal(seen, !cases[i].commit ? "" :
		    cases[i].appends == 1 ? "1" : "1 2 3");
		free(seen);
		assert_int_equal(last_id(r), cases[i].commit ?
		    cases[i].appends : 0);
		store_close(r);
		store_close(w);
	}
}

/* STORE_WRITE_NOWAIT, the responder's writer with --publish: a log that
 * another writer holds fails at once, as busy, and appends nothing; once
 * free it appends; a closed stream is a refusal in the schema's words,
 * not busy; the last id appended is known. */
static void
test_write_nowait(void **state)
{
	char path[512];
	struct store *other = templog_new(path, sizeof path);
	struct store *st = templog_open(path, STORE_WRITE_NOWAIT);
	struct store_new_event ev = { .stream = "s", .data = "x",
	    .data_len = 1, .retry = -1 };
	int64_t id = 0, last = 0;
	(void)state;

	assert_int_equal(store_begin(other), 0);
	int64_t t0 = now_ms();
	assert_int_equal(store_publish(st, &ev, &id, NULL), -1);
	assert_true(now_ms() - t0 < 500);
	assert_true(store_busy(st));
	assert_false(store_refused(st));
	store_rollback(other);
	assert_int_equal(store_last_id(other, &last), 0);
	assert_int_equal(last, 0);

	assert_int_equal(store_publish(st, &ev, &id, NULL), 0);
	assert_int_equal(store_last_appended(st), id);
	struct store_new_event close = { .stream = "s",
	    .type = "sselog.close", .data = "", .retry = -1 };
	assert_int_equal(store_publish(st, &close, &id, NULL), 0);
	assert_int_equal(store_publish(st, &ev, &id, NULL), -1);
	assert_false(store_busy(st));
	assert_true(store_refused(st));
	assert_string_equal(store_error(st), "stream is closed");
	store_close(st);
	store_close(other);
}

/* Several publishes in one transaction (the responder's commit per turn
 * of its loop): a refused one (a closed stream, a bad name) undoes itself
 * alone and the transaction goes on; a key appended earlier in the same
 * transaction is found; nothing is visible before the commit, all of it
 * after. */
static void
test_publish_in(void **state)
{
	char path[512];
	struct store *st = templog_new(path, sizeof path);
	struct store *r = templog_open(path, STORE_READ);
	struct store_new_event close = { .stream = "shut",
	    .type = "sselog.close", .data = "", .retry = -1 };
	struct store_new_event ok = { .stream = "s", .data = "x",
	    .data_len = 1, .retry = -1 };
	struct store_new_event keyed = { .stream = "s", .data = "k",
	    .data_len = 1, .retry = -1, .idem = "once" };
	struct store_new_event late = { .stream = "shut", .data = "y",
	    .data_len = 1, .retry = -1 };
	struct store_new_event bad = { .stream = "a//b", .data = "z",
	    .data_len = 1, .retry = -1 };
	int64_t id1, id2, id3, id4, id, last;
	bool existed;
	(void)state;

	assert_int_equal(store_publish(st, &close, &id, NULL), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_publish_in(st, &ok, &id1, &existed), 0);
	assert_false(existed);
	assert_int_equal(store_publish_in(st, &late, &id, &existed), -1);
	assert_true(store_refused(st));
	assert_string_equal(store_error(st), "stream is closed");
	assert_int_equal(store_publish_in(st, &keyed, &id2, &existed), 0);
	assert_false(existed);
	assert_int_equal(store_publish_in(st, &bad, &id, &existed), -1);
	assert_true(store_refused(st));
	assert_int_equal(store_publish_in(st, &keyed, &id3, &existed), 0);
	assert_true(existed);
	assert_int_equal(id3, id2);
	assert_int_equal(store_publish_in(st, &ok, &id4, &existed), 0);
	assert_int_equal(store_last_id(r, &last), 0);
	assert_int_equal(last, 1);	/* the close alone, before the commit */
	assert_int_equal(store_commit(st), 0);

	/* The refused appends took no id. */
	assert_int_equal(id1, 2);
	assert_int_equal(id2, 3);
	assert_int_equal(id4, 4);
	assert_int_equal(store_last_id(r, &last), 0);
	assert_int_equal(last, 4);
	store_close(r);
	store_close(st);
}

/* How messages name a log: a file as it is; a PostgreSQL URI as
 * user@host:port/dbname, never any part of a password, wherever libpq
 * would read one (an unescaped ? or @ in it, the query). */
static void
test_display_path(void **state)
{
	const char *cases[][2] = {
		{ "/var/lib/sselog/events.db", "/var/lib/sselog/events.db" },
		{ "postgresql://sselog:s3cret@db.example.com:5433/sselog",
		    "postgresql://sselog@db.example.com:5433/sselog" },
		{ "postgresql://sselog:se?cr3t@db.example.com/sselog",
		    "postgresql://sselog@db.example.com/sselog" },
		{ "postgres://sselog:se%40cr3t@db/sselog?sslmode=require",
		    "postgresql://sselog@db/sselog" },
		{ "postgresql://sselog@db/sselog?password=s3cret",
		    "postgresql://sselog@db/sselog" },
		{ "postgresql://[::1]:5432/sselog", "postgresql://[::1]:5432/sselog" },
		{ "postgresql://sselog:s3cret@db/sselog?no_such_option=1",
		    "the PostgreSQL URI" },
	};
	char shown[512];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		store_display_path(cases[i][0], shown, sizeof shown);
		assert_string_equal(shown, cases[i][1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_open_modes),
		cmocka_unit_test(test_init_idempotent),
		cmocka_unit_test(test_init_upgrade),
		cmocka_unit_test(test_init_newer),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_batch),
		cmocka_unit_test(test_write_nowait),
		cmocka_unit_test(test_publish_in),
		cmocka_unit_test(test_cursor_merge),
		cmocka_unit_test(test_cursor_all),
		cmocka_unit_test(test_cursor_snapshot),
		cmocka_unit_test(test_last_id),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_stream_state),
		cmocka_unit_test(test_closed),
		cmocka_unit_test(test_schema_rules),
		cmocka_unit_test(test_same_words),
		cmocka_unit_test(test_names_agree),
		cmocka_unit_test(test_list_streams),
		cmocka_unit_test(test_data_version),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_display_path),
	};
	return cmocka_run_group_tests(tests, templog_setup, templog_teardown);
}
