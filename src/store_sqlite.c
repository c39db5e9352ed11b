/* The event log in SQLite: the only file of sselog that includes sqlite3.h.
 * store.c forwards the calls of store.h here for a log that is a file. */
#include "store_backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

/* The text of sql/schema.sql, generated into schema_sql.c at build time. */
extern const char store_schema_sql[];

/* A writer that finds the database locked waits this long inside SQLite,
 * then backs off and tries again, up to BEGIN_TRIES times. */
#define BUSY_TIMEOUT_MS 5000
#define BEGIN_TRIES 6

/* Rows per multi-row INSERT in store_append_batch(). SQLite's cost per
 * statement (and AUTOINCREMENT's sqlite_sequence update, done once per
 * statement) is shared by this many rows: 1.5 times the rows per second
 * of one row per statement; more rows per statement gain little. */
#define INSERT_MANY 16

/* Prepared reads of one stream kept for the next cursors: a request may
 * follow --max-streams streams (32 by default). */
#define IDLE_READS 32

static const char read_stream_sql[] =
    "SELECT id, stream, event, data, retry, created FROM events"
    " WHERE stream = ?1 AND id > ?2 ORDER BY id";
static const char read_all_sql[] =
    "SELECT id, stream, event, data, retry, created FROM events"
    " WHERE id > ?1 ORDER BY id";

struct sqlite_store {
	struct store base;	/* first: what every backend has */
	sqlite3 *db;
	sqlite3_stmt *insert;
	sqlite3_stmt *insert_many;	/* INSERT_MANY rows at once */
	sqlite3_stmt *find_idem;
	sqlite3_stmt *last_id;
	sqlite3_stmt *first_id;
	sqlite3_stmt *close_id;
	sqlite3_stmt *pruned_id;
	sqlite3_stmt *data_version;
	sqlite3_stmt *begin_read, *end_read;	/* BEGIN, COMMIT */
	/* Reads of events, prepared once and kept between cursors: preparing
	 * costs more than the rest of opening a new client's stream. */
	sqlite3_stmt *idle_reads[IDLE_READS];	/* WHERE stream = ? AND id > ? */
	size_t nidle_reads;
	sqlite3_stmt *idle_read_all;		/* WHERE id > ?, or NULL */
	bool own_read;		/* store_read_begin() opened a transaction */
};

struct sqlite_cursor {
	struct store_cursor base;
	struct sqlite_store *st;
	bool all;		/* reads every stream: one idle_read_all */
	size_t n;
	sqlite3_stmt **stmts;
	bool *has_row;		/* stmts[i] stands on a row not yet returned */
	size_t returned;	/* index of the row last returned, or n */
	bool own_txn;
};

static void
set_error(struct sqlite_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct sqlite_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	store_vset_error(&st->base, fmt, ap);
	va_end(ap);
}

/* Records a failure of SQLite: a rule of the schema in its own words,
 * anything else with what we were doing and the database's path. */
static void
set_sqlite_error(struct sqlite_store *st, const char *doing)
{
	int code = sqlite3_extended_errcode(st->db);

	if (code == SQLITE_CONSTRAINT_TRIGGER) {
		set_error(st, "%s", sqlite3_errmsg(st->db));
		st->base.refused = true;
	} else
		set_error(st, "%s: %s: %s", st->base.path, doing,
		    sqlite3_errmsg(st->db));
	st->base.busy = (code & 0xff) == SQLITE_BUSY ||
	    (code & 0xff) == SQLITE_LOCKED || (code & 0xff) == SQLITE_PROTOCOL;
}

/* The responder's handles must never wait inside SQLite: its event
 * loop would stop every stream meanwhile. A busy timeout bounds the waits
 * for locks, but not all of them: a reader that finds the WAL's read
 * marks locked by another process (a recovery, a stuck checkpoint) tries
 * again up to 100 times, sleeping longer each time, about 10 s in all
 * whatever the busy timeout (walTryBeginRead() in SQLite's wal.c). Those
 * sleeps go through the VFS: this one is the default VFS with a sleep
 * that returns at once, so that such a read fails within microseconds
 * (SQLITE_PROTOCOL or SQLITE_BUSY) and is tried again on a timer. */
#define NOWAIT_VFS "sselog-nowait"

static int
sleep_not(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return us;
}

static bool
register_nowait_vfs(void)
{
	static sqlite3_vfs vfs;
	sqlite3_vfs *base;

	if (vfs.zName != NULL)
		return true;
	if ((base = sqlite3_vfs_find(NULL)) == NULL)
		return false;
	vfs = *base;
	vfs.zName = NOWAIT_VFS;
	vfs.xSleep = sleep_not;
	if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
		vfs.zName = NULL;
		return false;
	}
	return true;
}

static int
prepare(struct sqlite_store *st, sqlite3_stmt **slot, const char *sql)
{
	if (*slot != NULL) {
		sqlite3_reset(*slot);
		return 0;	/* every caller binds every parameter anew */
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    slot, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot prepare a statement");
		return -1;
	}
	return 0;
}

/* Runs a statement that returns at most one integer, into *out (left alone
 * when there is no row). */
static int
query_int(struct sqlite_store *st, sqlite3_stmt *stmt, const char *doing,
    int64_t *out)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_DONE) {
		set_sqlite_error(st, doing);
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	return 0;
}

static int
exec(struct sqlite_store *st, const char *sql, const char *doing)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_sqlite_error(st, doing);
		return -1;
	}
	return 0;
}

/* Runs BEGIN or COMMIT of a read, which every new client's request does:
 * kept prepared in *stmt, since preparing costs more than running them. */
static int
exec_kept(struct sqlite_store *st, sqlite3_stmt **stmt, const char *sql,
    const char *doing)
{
	if (*stmt == NULL && sqlite3_prepare_v3(st->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK) {
		set_sqlite_error(st, doing);
		return -1;
	}
	int rc = sqlite3_step(*stmt);
	if (rc != SQLITE_DONE)
		set_sqlite_error(st, doing);
	sqlite3_reset(*stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
schema_version(struct sqlite_store *st, int64_t *version)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*version = 0;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot read the schema version");
		return -1;
	}
	rc = query_int(st, stmt, "cannot read the schema version", version);
	sqlite3_finalize(stmt);
	return rc;
}

static int
check_version(struct sqlite_store *st)
{
	int64_t v;

	if (schema_version(st, &v) == -1)
		return -1;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v == 0)
		set_error(st, "%s is not an sselog database: run 'sselog -d %s "
		    "init' first", st->base.path, st->base.path);
	else if (v < STORE_SCHEMA_VERSION)
		set_error(st, "%s has schema version %lld, older than this "
		    "sselog's %d: run 'sselog -d %s init' to upgrade it",
		    st->base.path, (long long)v, STORE_SCHEMA_VERSION,
		    st->base.path);
	else
		set_error(st, "%s has schema version %lld, newer than this "
		    "sselog's %d: upgrade sselog", st->base.path, (long long)v,
		    STORE_SCHEMA_VERSION);
	return -1;
}

/* Counts every statement SQLite starts on this handle: the measure of the
 * load the responder puts on the database. */
static int
count_statement(unsigned type, void *ctx, void *p, void *x)
{
	(void)type;
	(void)p;
	(void)x;
	((struct store *)ctx)->statements++;
	return 0;
}

static void sqlite_close(struct store *base);
static void sqlite_rollback(struct store *base);
static void sqlite_cursor_close(struct store_cursor *base);

static struct store *
sqlite_open(const char *path, enum store_mode mode, char *err, size_t errlen)
{
	struct sqlite_store *st;
	struct stat sb;
	int flags;

	if ((st = calloc(1, sizeof *st)) == NULL ||
	    (st->base.path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(st);
		return NULL;
	}
	/* SQLite says only "unable to open database file"; say which. */
	if (mode != STORE_CREATE && stat(path, &sb) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no such database: create it "
			    "with 'sselog -d %s init'", path, path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	switch (mode) {
	case STORE_READ:
	case STORE_READ_NOWAIT:
		flags = SQLITE_OPEN_READONLY;
		break;
	case STORE_WRITE:
	case STORE_WRITE_NOWAIT:
		flags = SQLITE_OPEN_READWRITE;
		break;
	default:
		flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		break;
	}
	/* A handle is only ever used by one thread at a time: SQLite's own
	 * locking around every call would be pure cost. */
	flags |= SQLITE_OPEN_NOMUTEX;
	st->base.nowait = mode == STORE_READ_NOWAIT ||
	    mode == STORE_WRITE_NOWAIT;
	if (st->base.nowait && !register_nowait_vfs()) {
		snprintf(err, errlen, "%s: cannot set up SQLite", path);
		goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, flags, st->base.nowait ? NOWAIT_VFS :
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* SQLite opens a file it may not write read-only, and says so only
	 * at the first write: the responder says it at its start. */
	if (mode == STORE_WRITE_NOWAIT &&
	    sqlite3_db_readonly(st->db, "main") == 1) {
		snprintf(err, errlen, "%s: the log is readonly for this user "
		    "(--publish writes to it): give its group write "
		    "permission", path);
		goto fail;
	}
	/* No busy handler for the event loop's handles: a lock fails at
	 * once, and the loop tries again on a timer. */
	sqlite3_busy_timeout(st->db, st->base.nowait ? 0 : BUSY_TIMEOUT_MS);
	sqlite3_trace_v2(st->db, SQLITE_TRACE_STMT, count_statement, st);
	/* FULL: a commit is on disk before the id is handed out, so an id a
	 * client has seen can never be lost in a power cut and reused. It is
	 * SQLite's usual default; say it rather than depend on the build. */
	if (mode != STORE_READ && mode != STORE_READ_NOWAIT &&
	    sqlite3_exec(st->db,
	    "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	/* A -wal file that one large transaction (a prune, a VACUUM) made
	 * big is cut back to 4 MiB once a checkpoint has emptied it, rather
	 * than kept for ever. 4 MiB holds the 1000 pages after which SQLite
	 * checkpoints, so ordinary appends never pay for regrowing it. */
	if (mode != STORE_READ && mode != STORE_READ_NOWAIT &&
	    sqlite3_exec(st->db, "PRAGMA journal_size_limit = 4194304", NULL,
	    NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (mode != STORE_CREATE && check_version(st) == -1) {
		/* A WAL reader writes the -shm file beside the log. */
		if ((sqlite3_extended_errcode(st->db) & 0xff) == SQLITE_READONLY)
			snprintf(err, errlen, "%s: cannot read the log: its "
			    "directory or its -shm file is not writable by "
			    "this user, and SQLite readers need to write the "
			    "-shm file", path);
		else
			snprintf(err, errlen, "%s", st->base.err);
		goto fail;
	}
	return &st->base;
fail:
	sqlite_close(&st->base);
	return NULL;
}

static void
sqlite_close(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (st == NULL)
		return;
	sqlite3_finalize(st->insert);
	sqlite3_finalize(st->insert_many);
	sqlite3_finalize(st->find_idem);
	sqlite3_finalize(st->last_id);
	sqlite3_finalize(st->first_id);
	sqlite3_finalize(st->close_id);
	sqlite3_finalize(st->pruned_id);
	sqlite3_finalize(st->data_version);
	sqlite3_finalize(st->begin_read);
	sqlite3_finalize(st->end_read);
	for (size_t i = 0; i < st->nidle_reads; i++)
		sqlite3_finalize(st->idle_reads[i]);
	sqlite3_finalize(st->idle_read_all);
	sqlite3_close(st->db);
	free(st->base.path);
	free(st);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
sqlite_begin(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	long backoff = 10;

	for (int try = 1;; try++) {
		int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || try == BEGIN_TRIES ||
		    st->base.nowait) {
			set_sqlite_error(st, "cannot start a write transaction");
			return -1;
		}
		sleep_ms(backoff);
		backoff *= 4;
	}
}

static int
sqlite_commit(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (exec(st, "COMMIT", "cannot commit") == -1) {
		sqlite_rollback(&st->base);
		return -1;
	}
	return 0;
}

static void
sqlite_rollback(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Adds the idem column (schema version 2) to an events table made by
 * version 1, which lacks it; does nothing to a new log or a newer table. */
static int
add_idem_column(struct sqlite_store *st)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM pragma_table_info('events')) > 0"
	    " AND (SELECT count(*) FROM pragma_table_info('events')"
	    " WHERE name = 'idem') = 0";
	sqlite3_stmt *stmt = NULL;
	int64_t lacking;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot read the events table");
		return -1;
	}
	int rc = query_int(st, stmt, "cannot read the events table", &lacking);
	sqlite3_finalize(stmt);
	if (rc == -1 || !lacking)
		return rc;
	return exec(st, "ALTER TABLE events ADD COLUMN idem TEXT",
	    "cannot add the idem column");
}

static int
sqlite_init(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	int64_t version;
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (schema_version(st, &version) == -1)
		return -1;
	if (version > STORE_SCHEMA_VERSION) {
		set_error(st, "%s has schema version %lld, newer than this "
		    "sselog's %d: upgrade sselog", st->base.path,
		    (long long)version,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	/* The free pages of what prune and forget delete go back to the
	 * file system (store_shrink()). Only a file without tables takes
	 * this mode: on an older log it changes nothing, and VACUUM
	 * (store_vacuum()) is what converts it. It must come before WAL
	 * mode, which writes the file's first page. */
	if (exec(st, "PRAGMA auto_vacuum = INCREMENTAL",
	    "cannot set auto_vacuum") == -1)
		return -1;
	/* WAL: readers never block the writer nor each other, and every
	 * commit touches the -wal file, which is what watchers wait on. The
	 * mode is stored in the file, so SQL writers get it too. */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt,
	    NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot switch to WAL mode");
		return -1;
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW || sqlite3_stricmp(
	    (const char *)sqlite3_column_text(stmt, 0), "wal") != 0) {
		if (rc == SQLITE_ROW)
			set_error(st, "%s: cannot switch to WAL mode (the file "
			    "system may not support it)", st->base.path);
		else
			set_sqlite_error(st, "cannot switch to WAL mode");
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);

	/* The schema is idempotent: running it on an older version replaces
	 * its indexes and triggers with this version's. */
	if (sqlite_begin(&st->base) == -1)
		return -1;
	/* Version 2 added the idem column: the schema's CREATE TABLE IF NOT
	 * EXISTS leaves an older table as it is. */
	if (add_idem_column(st) == -1) {
		sqlite_rollback(&st->base);
		return -1;
	}
	if (exec(st, store_schema_sql, "cannot create the schema") == -1) {
		sqlite_rollback(&st->base);
		return -1;
	}
	return sqlite_commit(&st->base);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Binds ev to the six parameters of one row, starting at parameter p. */
static int
bind_event(sqlite3_stmt *s, int p, const struct store_new_event *ev,
    int64_t created)
{
	/* SQLITE_STATIC: the caller's strings outlive the step. */
	if (sqlite3_bind_text(s, p, ev->stream, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	if (ev->type != NULL ? sqlite3_bind_text(s, p + 1, ev->type, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(s, p + 1))
		return -1;
	if (sqlite3_bind_text64(s, p + 2, ev->data, ev->data_len, SQLITE_STATIC,
	    SQLITE_UTF8) != SQLITE_OK)
		return -1;
	if (ev->retry >= 0 ? sqlite3_bind_int64(s, p + 3, ev->retry) :
	    sqlite3_bind_null(s, p + 3))
		return -1;
	if (sqlite3_bind_int64(s, p + 4, created) != SQLITE_OK)
		return -1;
	return (ev->idem != NULL ? sqlite3_bind_text(s, p + 5, ev->idem, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(s, p + 5)) == SQLITE_OK ? 0 : -1;
}

static int
insert_rows(struct sqlite_store *st, sqlite3_stmt **slot, const char *sql,
    const struct store_new_event *evs, size_t n)
{
	int64_t created = now_ms();

	if (prepare(st, slot, sql) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (bind_event(*slot, (int)(i * 6 + 1), &evs[i], created) == -1) {
			set_sqlite_error(st, "cannot bind an event");
			return -1;
		}
	}
	if (sqlite3_step(*slot) != SQLITE_DONE) {
		set_sqlite_error(st, "cannot append an event");
		sqlite3_reset(*slot);
		return -1;
	}
	sqlite3_reset(*slot);
	return 0;
}

#define INSERT_SQL \
	"INSERT INTO events (stream, event, data, retry, created, idem) VALUES "
#define ROW "(?, ?, ?, ?, ?, ?)"
#define ROWS4 ROW ", " ROW ", " ROW ", " ROW

static int
sqlite_append(struct store *base, const struct store_new_event *ev, int64_t *id)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (insert_rows(st, &st->insert, INSERT_SQL ROW, ev, 1) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int
sqlite_append_batch(struct store *base, const struct store_new_event *evs,
    size_t n)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	_Static_assert(INSERT_MANY == 16, "the SQL below has 16 rows");
	static const char many[] = INSERT_SQL ROWS4 ", " ROWS4 ", " ROWS4 ", "
	    ROWS4;

	for (; n >= INSERT_MANY; n -= INSERT_MANY, evs += INSERT_MANY)
		if (insert_rows(st, &st->insert_many, many, evs,
		    INSERT_MANY) == -1)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (insert_rows(st, &st->insert, INSERT_SQL ROW, &evs[i], 1)
		    == -1)
			return -1;
	return 0;
}

static int64_t
sqlite_last_appended(const struct store *base)
{
	const struct sqlite_store *st = (const struct sqlite_store *)base;
	return sqlite3_last_insert_rowid(st->db);
}

/* The id of the event of stream with key idem: 1 when there is one, 0
 * when not, -1 on failure. */
static int
find_idem(struct sqlite_store *st, const char *stream, const char *idem,
    int64_t *id)
{
	if (prepare(st, &st->find_idem, "SELECT id FROM events "
	    "WHERE stream = ? AND idem = ?") == -1)
		return -1;
	sqlite3_stmt *s = st->find_idem;
	if (sqlite3_bind_text(s, 1, stream, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, idem, -1, SQLITE_STATIC) != SQLITE_OK) {
		set_sqlite_error(st, "cannot look up an idempotency key");
		sqlite3_reset(s);
		return -1;
	}
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		set_sqlite_error(st, "cannot look up an idempotency key");
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_publish_in(struct store *base, const struct store_new_event *ev,
    int64_t *id, bool *existed)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	int found = 0;

	if (existed != NULL)
		*existed = false;
	/* The key is looked for first: a retry of a request that did append
	 * gets that event's id, even once the stream is closed. Writers are
	 * serialized (BEGIN IMMEDIATE), so nobody appends the key between
	 * the look-up and the insert; the unique index holds for SQL. */
	if (ev->idem != NULL &&
	    (found = find_idem(st, ev->stream, ev->idem, id)) == -1)
		return -1;
	if (found == 0 && sqlite_append(&st->base, ev, id) == -1)
		return -1;
	if (found == 1 && existed != NULL)
		*existed = true;
	return 0;
}

static void
free_names(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The stream names that the prepared statement stmt (bound, a name per
 * row) gives, in a NULL-terminated array the caller frees with
 * free_names(). Finalizes stmt. */
static char **
stream_names(struct sqlite_store *st, sqlite3_stmt *stmt, size_t *n)
{
	char **names = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(names, cap * sizeof *names);
			if (grown == NULL)
				goto nomem;
			names = grown;
		}
		names[*n] = strdup((const char *)sqlite3_column_text(stmt, 0));
		if (names[*n] == NULL)
			goto nomem;
		names[++*n] = NULL;
	}
	if (rc != SQLITE_DONE) {
		set_sqlite_error(st, "cannot list streams");
		goto fail;
	}
	sqlite3_finalize(stmt);
	if (names == NULL && (names = calloc(1, sizeof *names)) == NULL) {
		set_error(st, "%s: out of memory listing streams",
		    st->base.path);
		return NULL;
	}
	return names;
nomem:
	set_error(st, "%s: out of memory listing streams",
	    st->base.path);
fail:
	sqlite3_finalize(stmt);
	free_names(names, *n);
	return NULL;
}

/* The names of all streams that have events (see stream_names()). */
static char **
all_stream_names(struct sqlite_store *st, size_t *n)
{
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT DISTINCT stream FROM events",
	    -1, &stmt, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot list streams");
		return NULL;
	}
	return stream_names(st, stmt, n);
}

/* The names of the streams whose close event was appended closed_for_ms
 * ago or longer; 0: of every closed stream (see stream_names()). */
static char **
closed_stream_names(struct sqlite_store *st, int64_t closed_for_ms, size_t *n)
{
	/* event = 'sselog.close': the partial index events_closed. */
	static const char sql[] =
	    "SELECT stream FROM events WHERE event = 'sselog.close'"
	    " AND (?1 = 0 OR created <= ?2) ORDER BY stream";
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot list the closed streams");
		return NULL;
	}
	if (sqlite3_bind_int64(stmt, 1, closed_for_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 2, now_ms() - closed_for_ms) !=
	    SQLITE_OK) {
		set_sqlite_error(st, "cannot list the closed streams");
		sqlite3_finalize(stmt);
		return NULL;
	}
	return stream_names(st, stmt, n);
}

/* Deletes, inside the current transaction, from each of the n streams
 * (all when n is 0) what store_prune() says; adds the count to
 * *deleted. */
static int
prune_streams(struct sqlite_store *st, const char *const *streams, size_t n,
    int64_t keep, int64_t older_than_ms, int64_t *deleted)
{
	/* ?2 and ?3 switch each condition off when negative. The subquery
	 * finds the newest event not kept; it does not depend on the row, so
	 * SQLite runs it once. */
	static const char sql[] =
	    "DELETE FROM events WHERE stream = ?1"
	    " AND (event IS NULL OR event <> 'sselog.close')"
	    " AND (?2 < 0 OR id <= (SELECT id FROM events WHERE stream = ?1"
	    "      ORDER BY id DESC LIMIT 1 OFFSET ?2))"
	    " AND (?3 = 0 OR created < ?4)";
	sqlite3_stmt *stmt = NULL;
	char **all = NULL;
	/* A duration longer than the time since 1970 makes a cutoff before
	 * any event: nothing is that old. */
	int64_t cutoff = older_than_ms < 0 ? 0 : now_ms() - older_than_ms;
	int rc = -1;

	if (n == 0) {
		if ((all = all_stream_names(st, &n)) == NULL)
			return -1;
		streams = (const char *const *)all;
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot prepare to prune");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(stmt);
		if (sqlite3_bind_text(stmt, 1, streams[i], -1, SQLITE_STATIC)
		    != SQLITE_OK ||
		    sqlite3_bind_int64(stmt, 2, keep) != SQLITE_OK ||
		    sqlite3_bind_int(stmt, 3, older_than_ms >= 0) != SQLITE_OK ||
		    sqlite3_bind_int64(stmt, 4, cutoff) != SQLITE_OK) {
			set_sqlite_error(st, "cannot bind a prune");
			goto out;
		}
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			set_sqlite_error(st, "cannot prune");
			goto out;
		}
		*deleted += sqlite3_changes(st->db);
	}
	rc = 0;
out:
	sqlite3_finalize(stmt);
	free_names(all, n);
	return rc;
}

/* Forgets each of the n streams inside the current transaction: every
 * event, then the record of what was pruned from it (which the trigger
 * events_record_prune has just brought up to date). Adds the events
 * deleted to *deleted and the streams that had anything to *forgotten. */
static int
forget_streams(struct sqlite_store *st, const char *const *streams, size_t n,
    int64_t *forgotten, int64_t *deleted)
{
	sqlite3_stmt *events = NULL, *pruned = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM events WHERE stream = ?1",
	    -1, &events, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "DELETE FROM pruned WHERE stream = ?1",
	    -1, &pruned, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot prepare to forget");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t rows;
		sqlite3_reset(events);
		sqlite3_reset(pruned);
		if (sqlite3_bind_text(events, 1, streams[i], -1, SQLITE_STATIC)
		    != SQLITE_OK || sqlite3_bind_text(pruned, 1, streams[i],
		    -1, SQLITE_STATIC) != SQLITE_OK) {
			set_sqlite_error(st, "cannot bind a forget");
			goto out;
		}
		if (sqlite3_step(events) != SQLITE_DONE) {
			set_sqlite_error(st, "cannot forget a stream");
			goto out;
		}
		rows = sqlite3_changes(st->db);
		if (sqlite3_step(pruned) != SQLITE_DONE) {
			set_sqlite_error(st, "cannot forget a stream");
			goto out;
		}
		*deleted += rows;
		if (rows > 0 || sqlite3_changes(st->db) > 0)
			(*forgotten)++;
	}
	rc = 0;
out:
	sqlite3_finalize(events);
	sqlite3_finalize(pruned);
	return rc;
}

/* True when name is one of the n names. */
static bool
named(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Forgets, inside the current transaction, the closed streams that
 * store_prune_forget() says. */
static int
forget_closed(struct sqlite_store *st, const char *const *streams, size_t n,
    int64_t closed_for_ms, int64_t *forgotten, int64_t *deleted)
{
	size_t nclosed, kept = 0;
	char **closed = closed_stream_names(st, closed_for_ms, &nclosed);
	int rc;

	if (closed == NULL)
		return -1;
	/* Only the named streams, when some are. */
	for (size_t i = 0; i < nclosed; i++) {
		if (n > 0 && !named(closed[i], streams, n)) {
			free(closed[i]);
			continue;
		}
		closed[kept++] = closed[i];
	}
	rc = forget_streams(st, (const char *const *)closed, kept, forgotten,
	    deleted);
	free_names(closed, kept);
	return rc;
}

static int
sqlite_prune(struct store *base, const char *const *streams, size_t n,
    int64_t keep, int64_t older_than_ms, int64_t *deleted)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	*deleted = 0;
	if (sqlite_begin(&st->base) == -1)
		return -1;
	if (prune_streams(st, streams, n, keep, older_than_ms, deleted) ==
	    -1) {
		sqlite_rollback(&st->base);
		*deleted = 0;
		return -1;
	}
	return sqlite_commit(&st->base);
}

static int
sqlite_prune_forget(struct store *base, const char *const *streams, size_t n,
    const struct store_prune_rule *rule, int64_t *deleted,
    int64_t *forgotten)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	*deleted = 0;
	*forgotten = 0;
	if (sqlite_begin(&st->base) == -1)
		return -1;
	/* Forgetting first spares the prune the streams that go whole. */
	if ((rule->forget_closed_ms >= 0 && forget_closed(st, streams, n,
	    rule->forget_closed_ms, forgotten, deleted) == -1) ||
	    ((rule->keep >= 0 || rule->older_than_ms >= 0) &&
	    prune_streams(st, streams, n, rule->keep, rule->older_than_ms,
	    deleted) == -1)) {
		sqlite_rollback(&st->base);
		*deleted = *forgotten = 0;
		return -1;
	}
	return sqlite_commit(&st->base);
}

static int
sqlite_forget(struct store *base, const char *const *streams, size_t n,
    int64_t *forgotten, int64_t *deleted)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	*forgotten = 0;
	*deleted = 0;
	if (sqlite_begin(&st->base) == -1)
		return -1;
	if (forget_streams(st, streams, n, forgotten, deleted) == -1) {
		sqlite_rollback(&st->base);
		*forgotten = *deleted = 0;
		return -1;
	}
	return sqlite_commit(&st->base);
}

/* Truncates the -wal file once every frame in it is in the database
 * (which also cuts the database file to its new size). A reader on an
 * older snapshot keeps the frames it may still read: then SQLite waits
 * for it up to the busy timeout, and the file keeps its size until a
 * later checkpoint. */
static int
checkpoint_truncate(struct sqlite_store *st)
{
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	set_sqlite_error(st, "cannot truncate the write-ahead log");
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ?
	    1 : -1;
}

static int
sqlite_shrink(struct store *base, int64_t *free_bytes)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	sqlite3_stmt *stmt = NULL;
	int64_t pages = 0, page_size = 0;

	*free_bytes = 0;
	/* Under auto_vacuum = INCREMENTAL, gives the free pages back to the
	 * file system (moving pages from the end of the file into them);
	 * under NONE it does nothing, and what is free stays in the file. */
	if (exec(st, "PRAGMA incremental_vacuum", "cannot free the space of "
	    "what was deleted") == -1)
		return -1;
	if (sqlite3_prepare_v2(st->db, "SELECT freelist_count, page_size"
	    " FROM pragma_freelist_count, pragma_page_size", -1, &stmt,
	    NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot count the free pages");
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		pages = sqlite3_column_int64(stmt, 0);
		page_size = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	*free_bytes = pages * page_size;
	return checkpoint_truncate(st);
}

static int
sqlite_vacuum(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	/* VACUUM rebuilds the file with the auto_vacuum mode set just
	 * before, which no other statement can change once the file has
	 * tables. It keeps every id (an INTEGER PRIMARY KEY) and
	 * sqlite_sequence, and writes the database through the -wal file,
	 * in place: readers go on, and the file stays the same file. */
	if (exec(st, "PRAGMA auto_vacuum = INCREMENTAL",
	    "cannot set auto_vacuum") == -1 ||
	    exec(st, "VACUUM", "cannot vacuum") == -1)
		return -1;
	return checkpoint_truncate(st);
}

static int
sqlite_read_begin(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (exec_kept(st, &st->begin_read, "BEGIN",
	    "cannot start a read transaction") == -1)
		return -1;
	st->own_read = true;
	return 0;
}

static void
sqlite_read_end(struct store *base)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (st->own_read && !sqlite3_get_autocommit(st->db))
		exec_kept(st, &st->end_read, "COMMIT", "cannot end a read");
	st->own_read = false;
}

static int
sqlite_last_id(struct store *base, int64_t *id)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	/* sqlite_sequence, not max(id): after a prune of the newest events
	 * max(id) would go back, while new ids continue from seq. */
	*id = 0;
	if (prepare(st, &st->last_id, "SELECT seq FROM sqlite_sequence "
	    "WHERE name = 'events'") == -1)
		return -1;
	return query_int(st, st->last_id, "cannot read the last id", id);
}

static int
sqlite_first_id(struct store *base, int64_t *id)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (prepare(st, &st->first_id, "SELECT min(id) FROM events") == -1)
		return -1;
	*id = 0;
	/* min() of no rows is NULL, read as 0. */
	return query_int(st, st->first_id, "cannot read the first id", id);
}

static int
sqlite_stream_state(struct store *base, const char *stream, int64_t *close_id,
    int64_t *pruned_id)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	*close_id = 0;
	*pruned_id = 0;
	if (prepare(st, &st->close_id, "SELECT id FROM events "
	    "WHERE stream = ?1 AND event = 'sselog.close'") == -1 ||
	    sqlite3_bind_text(st->close_id, 1, stream, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    query_int(st, st->close_id, "cannot read a stream's state",
	    close_id) == -1)
		return -1;
	if (prepare(st, &st->pruned_id, "SELECT last_id FROM pruned "
	    "WHERE stream = ?1") == -1 ||
	    sqlite3_bind_text(st->pruned_id, 1, stream, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    query_int(st, st->pruned_id, "cannot read a stream's state",
	    pruned_id) == -1)
		return -1;
	return 0;
}

static int
sqlite_list_streams(struct store *base,
    int (*fn)(void *ctx, const struct store_stream_summary *s), void *ctx)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	static const char sql[] =
	    "SELECT stream, count(*), min(id), max(id),"
	    " EXISTS (SELECT 1 FROM events c"
	    "         WHERE c.stream = e.stream AND c.event = 'sselog.close')"
	    " FROM events e GROUP BY stream ORDER BY stream";
	sqlite3_stmt *stmt = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		set_sqlite_error(st, "cannot list streams");
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_stream_summary s = {
			.name = (const char *)sqlite3_column_text(stmt, 0),
			.events = sqlite3_column_int64(stmt, 1),
			.first_id = sqlite3_column_int64(stmt, 2),
			.last_id = sqlite3_column_int64(stmt, 3),
			.closed = sqlite3_column_int(stmt, 4) != 0,
		};
		if ((ret = fn(ctx, &s)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		set_sqlite_error(st, "cannot list streams");
		ret = -1;
	}
	sqlite3_finalize(stmt);
	return ret;
}

static int
sqlite_data_version(struct store *base, int64_t *version)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	if (prepare(st, &st->data_version, "PRAGMA data_version") == -1)
		return -1;
	return query_int(st, st->data_version, "cannot read data_version",
	    version);
}

/* Moves stmt i to its next row. */
static int
cursor_step(struct sqlite_cursor *c, size_t i)
{
	int rc = sqlite3_step(c->stmts[i]);

	if (rc == SQLITE_ROW) {
		c->has_row[i] = true;
		return 0;
	}
	c->has_row[i] = false;
	if (rc != SQLITE_DONE) {
		set_sqlite_error(c->st, "cannot read events");
		return -1;
	}
	return 0;
}

/* A prepared read, from those kept or new. Returns NULL on failure, with
 * the error set. */
static sqlite3_stmt *
take_read(struct sqlite_store *st, bool all)
{
	sqlite3_stmt *s = NULL;

	if (all && st->idle_read_all != NULL) {
		s = st->idle_read_all;
		st->idle_read_all = NULL;
	} else if (!all && st->nidle_reads > 0) {
		s = st->idle_reads[--st->nidle_reads];
	} else if (sqlite3_prepare_v3(st->db, all ? read_all_sql :
	    read_stream_sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
	    SQLITE_OK) {
		set_sqlite_error(st, "cannot prepare to read events");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Keeps a read taken with take_read() for the next cursor. */
static void
give_back_read(struct sqlite_store *st, sqlite3_stmt *s, bool all)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (all && st->idle_read_all == NULL)
		st->idle_read_all = s;
	else if (!all && st->nidle_reads < IDLE_READS)
		st->idle_reads[st->nidle_reads++] = s;
	else
		sqlite3_finalize(s);
}

static struct sqlite_cursor *
cursor_new(struct sqlite_store *st, size_t n, bool all)
{
	struct sqlite_cursor *c;

	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->stmts = calloc(n ? n : 1, sizeof *c->stmts)) == NULL ||
	    (c->has_row = calloc(n ? n : 1, sizeof *c->has_row)) == NULL) {
		set_error(st, "%s: out of memory reading events",
		    st->base.path);
		if (c != NULL)
			free(c->stmts);
		free(c);
		return NULL;
	}
	c->st = st;
	c->all = all;
	c->n = n;
	c->returned = n;
	return c;
}

static struct store_cursor *
sqlite_cursor_open(struct store *base, const char *const *streams, size_t n,
    int64_t after_id)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	struct sqlite_cursor *c = cursor_new(st, n, false);

	if (c == NULL)
		return NULL;
	if (sqlite3_get_autocommit(st->db)) {
		if (exec_kept(st, &st->begin_read, "BEGIN",
	    "cannot start a read transaction") == -1)
			goto fail;
		c->own_txn = true;
	}
	/* One ordered index range per stream, merged here by id: linear in
	 * the events read, where "stream IN (...) ORDER BY id" would sort. */
	st->base.event_queries += n;
	for (size_t i = 0; i < n; i++) {
		if ((c->stmts[i] = take_read(st, false)) == NULL)
			goto fail;
		if (sqlite3_bind_text(c->stmts[i], 1, streams[i], -1,
		    SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_bind_int64(c->stmts[i], 2, after_id) != SQLITE_OK) {
			set_sqlite_error(st, "cannot prepare to read events");
			goto fail;
		}
		if (cursor_step(c, i) == -1)
			goto fail;
	}
	return &c->base;
fail:
	sqlite_cursor_close(&c->base);
	return NULL;
}

static struct store_cursor *
sqlite_cursor_open_all(struct store *base, int64_t after_id)
{
	struct sqlite_store *st = (struct sqlite_store *)base;
	struct sqlite_cursor *c = cursor_new(st, 1, true);

	if (c == NULL)
		return NULL;
	st->base.event_queries++;
	if ((c->stmts[0] = take_read(st, true)) == NULL)
		goto fail;
	if (sqlite3_bind_int64(c->stmts[0], 1, after_id) != SQLITE_OK) {
		set_sqlite_error(st, "cannot prepare to read events");
		goto fail;
	}
	if (cursor_step(c, 0) == -1)
		goto fail;
	return &c->base;
fail:
	sqlite_cursor_close(&c->base);
	return NULL;
}

static int
sqlite_cursor_next(struct store_cursor *base, struct store_event *ev)
{
	struct sqlite_cursor *c = (struct sqlite_cursor *)base;
	size_t best = c->n;

	/* The row returned last time had to stay valid until now. */
	if (c->returned < c->n && cursor_step(c, c->returned) == -1)
		return -1;
	c->returned = c->n;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->has_row[i])
			continue;
		if (best == c->n || sqlite3_column_int64(c->stmts[i], 0) <
		    sqlite3_column_int64(c->stmts[best], 0))
			best = i;
	}
	if (best == c->n)
		return 0;

	sqlite3_stmt *s = c->stmts[best];
	ev->id = sqlite3_column_int64(s, 0);
	ev->stream = (const char *)sqlite3_column_text(s, 1);
	ev->type = (const char *)sqlite3_column_text(s, 2);
	ev->data = (const char *)sqlite3_column_text(s, 3);
	ev->data_len = (size_t)sqlite3_column_bytes(s, 3);
	ev->retry = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, 4);
	ev->created = sqlite3_column_int64(s, 5);
	if (ev->data == NULL)
		ev->data = "";
	c->returned = best;
	return 1;
}

static void
sqlite_cursor_close(struct store_cursor *base)
{
	struct sqlite_cursor *c = (struct sqlite_cursor *)base;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		give_back_read(c->st, c->stmts[i], c->all);
	if (c->own_txn && !sqlite3_get_autocommit(c->st->db))
		exec_kept(c->st, &c->st->end_read, "COMMIT",
		    "cannot end a read");
	free(c->stmts);
	free(c->has_row);
	free(c);
}

const struct store_backend store_sqlite = {
	.open = sqlite_open,
	.close = sqlite_close,
	.init = sqlite_init,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.append = sqlite_append,
	.append_batch = sqlite_append_batch,
	.last_appended = sqlite_last_appended,
	.publish_in = sqlite_publish_in,
	.prune = sqlite_prune,
	.prune_forget = sqlite_prune_forget,
	.forget = sqlite_forget,
	.shrink = sqlite_shrink,
	.vacuum = sqlite_vacuum,
	.read_begin = sqlite_read_begin,
	.read_end = sqlite_read_end,
	.last_id = sqlite_last_id,
	.first_id = sqlite_first_id,
	.stream_state = sqlite_stream_state,
	.list_streams = sqlite_list_streams,
	.data_version = sqlite_data_version,
	.cursor_open = sqlite_cursor_open,
	.cursor_open_all = sqlite_cursor_open_all,
	.cursor_next = sqlite_cursor_next,
	.cursor_close = sqlite_cursor_close,
};
