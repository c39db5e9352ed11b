/* The event log in PostgreSQL: the only file of sselog that includes
 * libpq-fe.h. store.c forwards the calls of store.h here for a log named
 * by a postgresql:// or postgres:// URI. sql/postgresql.sql is the schema;
 * it keeps the rules, the order of ids and the pruned bookkeeping, so
 * that this file only asks and reads.
 */
#include "store_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"

/* The text of sql/postgresql.sql, generated at build time. */
extern const char store_pg_schema_sql[];

/* The SQLSTATE of every refusal by a rule of the schema
 * (sql/postgresql.sql), and PostgreSQL's own ones that are refusals of
 * what was asked too: a second event with one idempotency key in a
 * stream, bytes that are not UTF-8. */
#define SQLSTATE_REFUSED "SL001"
#define SQLSTATE_UNIQUE "23505"
#define SQLSTATE_BAD_BYTES "22021"
/* Not an sselog log: the table sselog_schema is not there. */
#define SQLSTATE_NO_TABLE "42P01"
/* FOR UPDATE NOWAIT found the append lock taken; a deadlock broken, a
 * REPEATABLE READ writer behind another: all worth trying again. */
#define SQLSTATE_LOCKED "55P03"
#define SQLSTATE_DEADLOCK "40P01"
#define SQLSTATE_SERIALIZATION "40001"

/* The responder's handles (STORE_*_NOWAIT) serve an event loop that must
 * not stop: a query waits at most ANSWER_WAIT_MS for its answer, after
 * which the connection is given up (the server ends the query when the
 * connection goes); and a new connection is made a slice of at most
 * CONNECT_SLICE_MS per call, the calls that come while it is under way
 * being told that the log is busy. A writer does not wait for another
 * one's append lock either: it finds it taken (NOWAIT) and is busy. */
#define ANSWER_WAIT_MS 1000
#define CONNECT_SLICE_MS 100
/* A connection that could not be made is tried again after this long,
 * twice as long each time up to the most (a database out of reach then
 * costs the loop one slice a second, not one a turn). */
#define RECONNECT_FIRST_MS 100
#define RECONNECT_MAX_MS 1000

/* Rows per page of a cursor: a replay of a long stream holds this many
 * events in memory at a time, not the whole stream. */
#define PAGE_ROWS 1000

#define EVENT_COLUMNS "id, stream, event, data, retry, created"
/* The connection parameters sselog gives libpq around the log's URI
 * (connect_keys[URI_AT] is "dbname", whose value, the URI, libpq expands in
 * place). Those before it are defaults that the URI may override: TCP
 * keepalives after 10 s of silence, every 5 s, 3 unanswered and the
 * connection is dead, and unacknowledged data given up after 30 s, so that
 * a network that drops a listening connection without a word (a NAT's
 * table, a firewall, a cable) is noticed in about half a minute and the
 * connection made anew, rather than after the kernel's two hours. Those
 * after it are sselog's own: events are UTF-8 whatever the client's
 * locale says. */
static const char *const connect_keys[] = { "keepalives",
    "keepalives_idle", "keepalives_interval", "keepalives_count",
    "tcp_user_timeout", "dbname", "client_encoding", NULL };
#define URI_AT 5

/* Fills values (as many as connect_keys) for uri. */
static void
connect_values(const char *values[], const char *uri)
{
	static const char *const fixed[] = { "1", "10", "5", "3", "30000",
	    NULL, "UTF8", NULL };
	_Static_assert(sizeof fixed == sizeof connect_keys,
	    "a value for every key");

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		values[i] = fixed[i];
	values[URI_AT] = uri;
}


struct pg_store {
	struct store base;	/* first: what every backend has */
	PGconn *conn;		/* NULL while a NOWAIT handle has none */
	PostgresPollingStatusType connecting;	/* PGRES_POLLING_OK: not */
	uint64_t generation;	/* one more for each connection given up */
	int64_t next_try_ms;	/* no new connection before then */
	int64_t backoff_ms;	/* the wait after the last that failed */
	bool in_tx;		/* a transaction is open: a lost connection is
				 * not made again until it ends */
	char xid[24];		/* a NOWAIT writer's transaction, to learn
				 * whether a commit cut short went through */
	char sqlstate[6];	/* of the last failure, "" when none */
	bool writer;		/* STORE_WRITE_NOWAIT: take the append lock
				 * without waiting */
	char *name;		/* the log as shown in messages: no password */
	int64_t last_appended;
	int64_t notifications;	/* NOTIFY sselog received (data_version),
				 * and one per new connection: notifications
				 * sent while there was none are lost */
	bool listening;
};

struct pg_cursor {
	struct store_cursor base;
	struct pg_store *st;
	char *streams;		/* a text[] literal, or NULL for all */
	int64_t after;		/* the last id returned */
	PGresult *page;
	int row, rows;
	bool last_page;		/* fewer than PAGE_ROWS: no page after it */
};

static void
set_error(struct pg_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct pg_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	store_vset_error(&st->base, fmt, ap);
	va_end(ap);
}

/* The first line of a libpq message (they end with a newline and may go
 * on with DETAIL lines). */
static void
first_line(char *out, size_t outlen, const char *message)
{
	size_t n = strcspn(message, "\n");

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, message, n);
	out[n] = '\0';
}

static void lose_connection(struct pg_store *st);

/* True when the SQLSTATE is one of the two given. */
static bool
state_is(const char *state, const char *a, const char *b)
{
	return state != NULL && (strcmp(state, a) == 0 ||
	    (b != NULL && strcmp(state, b) == 0));
}

/* Records the failure of res (NULL: of the connection): a refusal in the
 * schema's own words, anything else with what we were doing. A lost
 * connection is given up (its socket closed: nothing waits on a dead
 * one) and is down; a lock or a conflict is busy: worth trying again
 * later. */
static void
set_pg_error(struct pg_store *st, const PGresult *res, const char *doing)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	const char *primary = res ? PQresultErrorField(res,
	    PG_DIAG_MESSAGE_PRIMARY) : NULL;
	bool lost = st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK;
	char line[400];

	first_line(line, sizeof line, primary != NULL ? primary :
	    st->conn != NULL ? PQerrorMessage(st->conn) : "no connection");
	if (state_is(state, SQLSTATE_REFUSED, NULL)) {
		set_error(st, "%s", line);
		st->base.refused = true;
	} else if (state_is(state, SQLSTATE_BAD_BYTES, NULL)) {
		set_error(st, "invalid text: it is not valid UTF-8");
		st->base.refused = true;
	} else {
		set_error(st, "%s: %s: %s", st->name, doing, line);
		st->base.down = lost;
		st->base.busy = lost || state_is(state, SQLSTATE_LOCKED,
		    NULL) || state_is(state, SQLSTATE_DEADLOCK,
		    SQLSTATE_SERIALIZATION);
	}
	snprintf(st->sqlstate, sizeof st->sqlstate, "%s", state ? state : "");
	if (lost)
		lose_connection(st);
}

/* True when res is what a command that worked returns. */
static bool
worked(const PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the connection's socket is ready for events, at most
 * timeout_ms (negative: for ever). Returns 1 when ready, 0 when the time
 * ran out. */
static int
wait_socket(PGconn *conn, short events, int64_t timeout_ms)
{
	struct pollfd pfd = { .fd = PQsocket(conn), .events = events };
	int rc;

	do
		rc = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
	while (rc == -1 && errno == EINTR);
	return rc != 0;		/* an error: let libpq find it */
}

/* Closes the connection (a new one is made on the next call, for a
 * NOWAIT handle outside a transaction). */
static void
lose_connection(struct pg_store *st)
{
	if (st->conn == NULL)
		return;
	PQfinish(st->conn);
	st->conn = NULL;
	st->connecting = PGRES_POLLING_OK;
	st->generation++;
}

/* Gives the connection up, with why as the error: busy and down. */
static void
drop_connection(struct pg_store *st, const char *why)
{
	set_error(st, "%s: %s", st->name, why);
	st->base.busy = st->base.down = true;
	st->sqlstate[0] = '\0';
	lose_connection(st);
}

static int setup_connection(struct pg_store *st);

/* The database is out of reach: busy and down, and the next connection
 * is tried after the back-off. */
static int
unreachable(struct pg_store *st)
{
	st->backoff_ms = st->backoff_ms == 0 ? RECONNECT_FIRST_MS :
	    st->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS :
	    st->backoff_ms * 2;
	st->next_try_ms = now_ms() + st->backoff_ms;
	st->base.busy = st->base.down = true;
	return -1;
}

/* The connection, made anew for a NOWAIT handle when it was lost (not
 * inside a transaction: its statements would go on outside it), a slice
 * of CONNECT_SLICE_MS at a time. Returns 0 when it is there, -1 (busy,
 * down) while it is not. */
static int
connection(struct pg_store *st)
{
	const char *values[sizeof connect_keys / sizeof connect_keys[0]];
	int64_t until = now_ms() + CONNECT_SLICE_MS;

	if (st->conn != NULL && st->connecting == PGRES_POLLING_OK) {
		if (PQstatus(st->conn) == CONNECTION_OK)
			return 0;
		drop_connection(st, "the connection to the database was "
		    "lost");
	}
	if (st->conn == NULL && (!st->base.nowait || st->in_tx)) {
		set_error(st, "%s: the connection to the database was lost%s",
		    st->name, st->in_tx ? " during a transaction" : "");
		st->base.busy = st->base.down = true;
		return -1;
	}
	if (st->conn == NULL) {
		if (now_ms() < st->next_try_ms) {
			set_error(st, "%s: the database cannot be reached: "
			    "trying again", st->name);
			st->base.busy = st->base.down = true;
			return -1;
		}
		/* Polled from the start as if it had asked to write. */
		connect_values(values, st->base.path);
		st->conn = PQconnectStartParams(connect_keys, values, 1);
		st->connecting = PGRES_POLLING_WRITING;
		if (st->conn == NULL || PQstatus(st->conn) == CONNECTION_BAD) {
			drop_connection(st, "cannot connect: out of memory");
			return unreachable(st);
		}
	}
	while (st->connecting != PGRES_POLLING_OK) {
		int64_t left = until - now_ms();
		if (st->connecting == PGRES_POLLING_FAILED) {
			char line[400];
			first_line(line, sizeof line, PQerrorMessage(st->conn));
			lose_connection(st);
			set_error(st, "%s: cannot connect: %s", st->name, line);
			return unreachable(st);
		}
		if (left <= 0 || !wait_socket(st->conn,
		    st->connecting == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		    left)) {
			set_error(st, "%s: connecting to the database",
			    st->name);
			st->base.busy = st->base.down = true;
			return -1;
		}
		st->connecting = PQconnectPoll(st->conn);
	}
	/* Sends that cannot go at once wait in libpq, under the deadline
	 * (flush()), instead of blocking. */
	if (PQsetnonblocking(st->conn, 1) != 0) {
		drop_connection(st, "cannot make the connection non-blocking");
		return unreachable(st);
	}
	st->notifications++;	/* read again: some may have been missed */
	if (setup_connection(st) == -1) {
		/* Not kept: a connection that does not listen (a standby
		 * refuses LISTEN) would leave new events to the poll. */
		if (st->conn == NULL)
			return -1;	/* given up, backing off (settle()) */
		lose_connection(st);
		return unreachable(st);
	}
	return 0;
}

/* Counts the notifications that came with what was read. */
static void
count_notifications(struct pg_store *st)
{
	PGnotify *n;

	while ((n = PQnotifies(st->conn)) != NULL) {
		st->notifications++;
		PQfreemem(n);
	}
}

/* Waits until libpq has what it needs: everything sent (flush) or a
 * result read (!PQisBusy), a NOWAIT handle until `until` at most, after
 * which the connection is given up. Returns 0, or -1 (recorded). */
static int
settle(struct pg_store *st, bool flush, int64_t until, const char *doing)
{
	for (;;) {
		int pending = flush ? PQflush(st->conn) : PQisBusy(st->conn);
		if (pending == 0)
			return 0;
		if (pending == -1) {
			set_pg_error(st, NULL, doing);
			return -1;
		}
		int64_t left = st->base.nowait ? until - now_ms() : -1;
		/* Reading while sending: the server may wait for us to read
		 * before it reads more. */
		if (st->base.nowait && (left <= 0 || !wait_socket(st->conn,
		    flush ? POLLIN | POLLOUT : POLLIN, left))) {
			char why[160];
			snprintf(why, sizeof why, "%s: the database did not "
			    "answer within %d ms", doing, ANSWER_WAIT_MS);
			drop_connection(st, why);
			/* The next connection after the back-off: one at once
			 * would hold the loop for the same wait again. */
			return unreachable(st);
		}
		if (!st->base.nowait)
			wait_socket(st->conn, flush ? POLLIN | POLLOUT : POLLIN,
			    -1);
		if (PQconsumeInput(st->conn) == 0) {
			set_pg_error(st, NULL, doing);
			return -1;
		}
	}
}

/* The first result of the query sent, once it has come (a NOWAIT
 * handle waits at most ANSWER_WAIT_MS, then gives the connection up);
 * any other results are read and dropped, but a COPY's, which goes on.
 * NULL when there is none (the failure recorded). */
static PGresult *
answer(struct pg_store *st, const char *doing)
{
	int64_t until = now_ms() + ANSWER_WAIT_MS;
	PGresult *res, *more;

	if (settle(st, true, until, doing) == -1 ||
	    settle(st, false, until, doing) == -1)
		return NULL;
	res = PQgetResult(st->conn);
	if (res != NULL && PQresultStatus(res) == PGRES_COPY_IN)
		return res;
	for (;;) {
		if (settle(st, false, until, doing) == -1) {
			PQclear(res);
			return NULL;
		}
		if ((more = PQgetResult(st->conn)) == NULL)
			break;
		PQclear(more);
	}
	count_notifications(st);
	if (res == NULL) {
		set_pg_error(st, NULL, doing);
		return NULL;
	}
	/* The database answers: the back-off starts from its first step
	 * at the next failure (not at a mere connect, after which a query
	 * may still time out). */
	st->backoff_ms = 0;
	st->next_try_ms = 0;
	return res;
}

/* Sends sql with the n parameters params (text, NULL for SQL NULL) and
 * returns its result, whatever it is, or NULL when none came (the
 * failure recorded). */
static PGresult *
ask(struct pg_store *st, const char *doing, const char *sql, int n,
    const char *const *params)
{
	PGresult *res = NULL;

	/* A connection that the server ended (a restart, an administrator)
	 * looks fine until it is used: outside a transaction, where the
	 * statement can go again without doing anything twice, one new
	 * connection is tried at once before the log is called down. */
	for (int tries = 0; tries < 2; tries++) {
		uint64_t generation = st->generation;
		int64_t start = now_ms();
		if (connection(st) == -1)
			return NULL;
		st->base.statements++;
		if (PQsendQueryParams(st->conn, sql, n, NULL, params, NULL,
		    NULL, 0) == 0)
			set_pg_error(st, NULL, doing);
		else if ((res = answer(st, doing)) != NULL)
			return res;
		/* Not after a wait: a server that does not answer is not
		 * asked again at once. */
		if (!st->base.nowait || st->in_tx || st->conn != NULL ||
		    st->generation == generation ||
		    now_ms() - start >= CONNECT_SLICE_MS)
			break;
	}
	return res;
}

/* Runs sql with the n parameters params (text, NULL for SQL NULL).
 * Returns the result, which the caller clears, or NULL after recording
 * the failure. */
static PGresult *
run(struct pg_store *st, const char *doing, const char *sql, int n,
    const char *const *params)
{
	PGresult *res = ask(st, doing, sql, n, params);

	if (res != NULL && worked(res))
		return res;
	if (res != NULL)
		set_pg_error(st, res, doing);
	PQclear(res);
	return NULL;
}

/* Runs a command and forgets its result. */
static int
exec(struct pg_store *st, const char *doing, const char *sql)
{
	PGresult *res = run(st, doing, sql, 0, NULL);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/* Reads an integer column (NULL: 0). */
static int64_t
int_at(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 :
	    strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Runs a query of one integer (NULL or no row: 0) into *out. */
static int
query_int(struct pg_store *st, const char *doing, const char *sql, int n,
    const char *const *params, int64_t *out)
{
	PGresult *res = run(st, doing, sql, n, params);

	if (res == NULL)
		return -1;
	*out = PQntuples(res) > 0 ? int_at(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

/* "postgresql://user@host:port/db" from the connection, never the
 * password that the URI may carry. */
static char *
display_name(PGconn *conn)
{
	const char *host = PQhost(conn), *port = PQport(conn),
	    *db = PQdb(conn), *user = PQuser(conn);
	size_t len = strlen(host) + strlen(port) + strlen(db) + strlen(user) +
	    32;
	char *name = malloc(len);

	if (name != NULL)
		snprintf(name, len, "postgresql://%s@%s%s%s/%s", user,
		    host[0] == '/' ? "" : host, port[0] ? ":" : "", port, db);
	return name;
}

static int
check_version(struct pg_store *st)
{
	PGresult *res = ask(st, "cannot read the schema version",
	    "SELECT version FROM sselog_schema", 0, NULL);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	int64_t v;

	if (state != NULL && strcmp(state, SQLSTATE_NO_TABLE) == 0) {
		set_error(st, "%s is not an sselog log: run 'sselog -d %s init' "
		    "first", st->name, st->name);
		PQclear(res);
		return -1;
	}
	if (res == NULL || !worked(res)) {
		set_pg_error(st, res, "cannot read the schema version");
		PQclear(res);
		return -1;
	}
	v = PQntuples(res) > 0 ? int_at(res, 0, 0) : 0;
	PQclear(res);
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v < STORE_SCHEMA_VERSION)
		set_error(st, "%s has schema version %" PRId64 ", older than "
		    "this sselog's %d: run 'sselog -d %s init' to upgrade it",
		    st->name, v, STORE_SCHEMA_VERSION, st->name);
	else
		set_error(st, "%s has schema version %" PRId64 ", newer than "
		    "this sselog's %d: upgrade sselog", st->name, v,
		    STORE_SCHEMA_VERSION);
	return -1;
}

/* libpq prints the server's notices and the reason a connection ended on
 * standard error by default: the failures that matter reach the user
 * through store_error() instead. */
static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* What each new connection needs. The words of the schema's refusals
 * are ours, in English: the server's own messages stay in the server's
 * language. */
static int
setup_connection(struct pg_store *st)
{
	PQsetNoticeProcessor(st->conn, ignore_notice, NULL);
	/* Notices (an init run again) are not for the user. */
	if (exec(st, "cannot set up the connection",
	    "SET client_min_messages = warning") == -1)
		return -1;
	if (st->listening && exec(st, "cannot listen for appends",
	    "LISTEN sselog") == -1)
		return -1;
	return 0;
}

static void pg_close(struct store *base);

static struct store *
pg_open(const char *path, enum store_mode mode, char *err, size_t errlen)
{
	struct pg_store *st = calloc(1, sizeof *st);

	if (st == NULL || (st->base.path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(st);
		return NULL;
	}
	const char *values[sizeof connect_keys / sizeof connect_keys[0]];

	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(path, &why);

	/* libpq's reasons for a URI it cannot read quote the URI, and with
	 * it any password: say which part is wrong in our words. */
	if (opts == NULL) {
		snprintf(err, errlen, "the log's PostgreSQL URI is not a valid "
		    "connection URI (see libpq's \"Connection URIs\")");
		PQfreemem(why);
		goto fail;
	}
	PQconninfoFree(opts);
	st->base.nowait = mode == STORE_READ_NOWAIT ||
	    mode == STORE_WRITE_NOWAIT;
	st->writer = mode == STORE_WRITE_NOWAIT;
	connect_values(values, path);
	st->conn = PQconnectdbParams(connect_keys, values, 1);
	if (st->conn == NULL) {
		snprintf(err, errlen, "cannot connect to the PostgreSQL log: "
		    "out of memory");
		goto fail;
	}
	if (PQstatus(st->conn) != CONNECTION_OK) {
		char line[400];
		first_line(line, sizeof line, PQerrorMessage(st->conn));
		/* libpq's message names the host; the URI may hold a
		 * password, so it is not repeated. */
		snprintf(err, errlen, "cannot connect to the PostgreSQL log: "
		    "%s", line);
		goto fail;
	}
	st->connecting = PGRES_POLLING_OK;
	if (st->base.nowait && PQsetnonblocking(st->conn, 1) != 0) {
		snprintf(err, errlen, "cannot use the PostgreSQL connection "
		    "without blocking");
		goto fail;
	}
	if ((st->name = display_name(st->conn)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (setup_connection(st) == -1 ||
	    (mode != STORE_CREATE && check_version(st) == -1)) {
		snprintf(err, errlen, "%s", st->base.err);
		goto fail;
	}
	return &st->base;
fail:
	pg_close(&st->base);
	return NULL;
}

static void
pg_close(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;

	if (st == NULL)
		return;
	PQfinish(st->conn);
	free(st->name);
	free(st->base.path);
	free(st);
}

static int
pg_init(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	/* The file is one transaction of several statements: the simple
	 * query protocol runs it whole. */
	PGresult *res = PQexec(st->conn, store_pg_schema_sql);

	st->base.statements++;
	if (res == NULL || !worked(res)) {
		set_pg_error(st, res, "cannot create the schema");
		st->base.refused = false;
		PQclear(res);
		exec(st, "cannot end a failed init", "ROLLBACK");
		return -1;
	}
	PQclear(res);
	return 0;
}

static void pg_rollback(struct store *base);

/* A NOWAIT writer takes the append lock (sql/postgresql.sql) at once or
 * not at all: taken by another writer's transaction, the log is busy,
 * as a locked SQLite file is. It keeps its transaction's id, to learn
 * whether a commit whose answer never came went through. */
static int
pg_begin(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	PGresult *res;

	st->xid[0] = '\0';
	if (exec(st, "cannot start a write transaction", "BEGIN") == -1)
		return -1;
	st->in_tx = true;
	if (!st->writer)
		return 0;
	res = run(st, "cannot start a write transaction", "SELECT "
	    "pg_current_xact_id()::text FROM events_lock FOR UPDATE NOWAIT",
	    0, NULL);
	if (res == NULL || PQntuples(res) != 1) {
		struct store saved = st->base;
		PQclear(res);
		pg_rollback(base);
		st->base = saved;
		return -1;
	}
	snprintf(st->xid, sizeof st->xid, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* A COMMIT whose answer never came (the connection lost or too slow)
 * may have gone through: a new connection asks. Returns 0 when it did,
 * -1 when it did not (busy, as the failure was: trying again is safe) or
 * when nobody can tell (a failure, not busy: trying again could append
 * twice). */
static int
commit_outcome(struct pg_store *st)
{
	struct store lost = st->base;
	const char *params[] = { st->xid };
	PGresult *res = run(st, "cannot learn a commit's outcome",
	    "SELECT pg_xact_status($1::xid8)", 1, params);
	const char *status = res != NULL && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
	int rc = strcmp(status, "committed") == 0 ? 0 :
	    strcmp(status, "aborted") == 0 ? -1 : -2;

	PQclear(res);
	if (rc == -1)
		st->base = lost;
	if (rc == -2) {
		set_error(st, "%s: the connection was lost during a commit, "
		    "which may or may not have gone through (%s)", st->name,
		    lost.err);
		rc = -1;
	}
	return rc;
}

static int
pg_commit(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;

	if (exec(st, "cannot commit", "COMMIT") == 0) {
		st->in_tx = false;
		return 0;
	}
	st->in_tx = false;
	if (st->conn != NULL) {
		/* Refused (a deferred rule): the transaction is over. */
		struct store saved = st->base;
		pg_rollback(base);
		st->base = saved;
		return -1;
	}
	return st->xid[0] != '\0' ? commit_outcome(st) : -1;
}

/* Ends the transaction, if any, without what it did; on a lost
 * connection there is nothing to end (the server ended it). */
static void
pg_rollback(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;

	st->in_tx = false;
	if (st->conn != NULL && st->connecting == PGRES_POLLING_OK &&
	    PQstatus(st->conn) == CONNECTION_OK &&
	    PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		PQclear(ask(st, "cannot roll back", "ROLLBACK", 0, NULL));
}

/* The text of a retry for a parameter: NULL when there is none. */
static const char *
retry_text(char *buf, size_t len, int64_t retry)
{
	if (retry < 0)
		return NULL;
	snprintf(buf, len, "%" PRId64, retry);
	return buf;
}

static int
pg_append(struct store *base, const struct store_new_event *ev, int64_t *id)
{
	struct pg_store *st = (struct pg_store *)base;
	char retry[24], *data = NULL;
	const char *params[5];
	PGresult *res;

	/* Text parameters end at a NUL: a NUL in the data is refused as
	 * the SQLite schema refuses it. */
	if (memchr(ev->data, '\0', ev->data_len) != NULL) {
		set_error(st, "invalid data: it contains a NUL byte");
		st->base.refused = true;
		return -1;
	}
	if ((data = strndup(ev->data, ev->data_len)) == NULL) {
		set_error(st, "%s: out of memory appending an event", st->name);
		return -1;
	}
	params[0] = ev->stream;
	params[1] = ev->type;
	params[2] = data;
	params[3] = retry_text(retry, sizeof retry, ev->retry);
	params[4] = ev->idem;
	res = run(st, "cannot append an event", "INSERT INTO events "
	    "(stream, event, data, retry, idem) VALUES ($1, $2, $3, $4, $5) "
	    "RETURNING id", 5, params);
	free(data);
	if (res == NULL)
		return -1;
	*id = st->last_appended = int_at(res, 0, 0);
	PQclear(res);
	return 0;
}

/* Adds text to b as a field of COPY's text format: backslash, newline,
 * carriage return and tab escaped; NULL as \N. */
static int
copy_field(struct buf *b, const char *text, size_t len)
{
	if (text == NULL)
		return buf_append(b, "\\N", 2);
	for (size_t i = 0; i < len; i++) {
		const char *esc = text[i] == '\\' ? "\\\\" : text[i] == '\n' ?
		    "\\n" : text[i] == '\r' ? "\\r" : text[i] == '\t' ? "\\t" :
		    NULL;
		if (esc != NULL ? buf_append(b, esc, 2) :
		    buf_append(b, text + i, 1))
			return -1;
	}
	return 0;
}

/* Sends the rows of a COPY and its end, which wait in libpq while the
 * socket is full (a NOWAIT handle under the deadline). A failure gives
 * the connection up: the COPY, and the transaction, cannot go on. */
static int
send_copy(struct pg_store *st, const struct buf *rows)
{
	static const char doing[] = "cannot append events";
	int64_t until = now_ms() + ANSWER_WAIT_MS;
	int r;

	if (rows->len > INT_MAX) {
		drop_connection(st, "cannot append events: too many at once");
		return -1;
	}
	while ((r = PQputCopyData(st->conn, rows->data, (int)rows->len)) == 0)
		if (settle(st, true, until, doing) == -1)
			return -1;
	while (r == 1 && (r = PQputCopyEnd(st->conn, NULL)) == 0)
		if (settle(st, true, until, doing) == -1)
			return -1;
	if (r != 1) {
		drop_connection(st, "cannot append events: the connection "
		    "failed");
		return -1;
	}
	return 0;
}

/* Appends n events with one COPY: the rows go through the schema's
 * triggers as INSERTs do, at a fraction of the round trips. */
static int
pg_append_batch(struct store *base, const struct store_new_event *evs,
    size_t n)
{
	struct pg_store *st = (struct pg_store *)base;
	struct buf rows = BUF_INIT;
	PGresult *res;
	char retry[24];
	int rc = -1;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_new_event *ev = &evs[i];
		const char *r = retry_text(retry, sizeof retry, ev->retry);
		if (memchr(ev->data, '\0', ev->data_len) != NULL) {
			set_error(st, "invalid data: it contains a NUL byte");
			st->base.refused = true;
			goto out;
		}
		if (copy_field(&rows, ev->stream, strlen(ev->stream)) ||
		    buf_append(&rows, "\t", 1) ||
		    copy_field(&rows, ev->type, ev->type ? strlen(ev->type) :
		    0) || buf_append(&rows, "\t", 1) ||
		    copy_field(&rows, ev->data, ev->data_len) ||
		    buf_append(&rows, "\t", 1) ||
		    copy_field(&rows, r, r ? strlen(r) : 0) ||
		    buf_append(&rows, "\t", 1) ||
		    copy_field(&rows, ev->idem, ev->idem ? strlen(ev->idem) :
		    0) || buf_append(&rows, "\n", 1)) {
			set_error(st, "%s: out of memory appending events",
			    st->name);
			goto out;
		}
	}
	res = ask(st, "cannot append events", "COPY events (stream, event,"
	    " data, retry, idem) FROM STDIN", 0, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		if (res != NULL)
			set_pg_error(st, res, "cannot append events");
		PQclear(res);
		goto out;
	}
	PQclear(res);
	if (send_copy(st, &rows) == -1)
		goto out;
	res = answer(st, "cannot append events");
	if (res == NULL || !worked(res)) {
		if (res != NULL)
			set_pg_error(st, res, "cannot append events");
		PQclear(res);
		goto out;
	}
	PQclear(res);
	/* The transaction holds the append lock: the highest id is its
	 * own last. */
	if (query_int(st, "cannot append events", "SELECT max(id) FROM events",
	    0, NULL, &st->last_appended) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&rows);
	return rc;
}

static int64_t
pg_last_appended(const struct store *base)
{
	return ((const struct pg_store *)base)->last_appended;
}

/* The id of the event of stream with key idem into *id: 1 when there is
 * one, 0 when not, -1 on failure. */
static int
find_idem(struct pg_store *st, const char *stream, const char *idem,
    int64_t *id)
{
	const char *params[] = { stream, idem };
	PGresult *res = run(st, "cannot look up an idempotency key",
	    "SELECT id FROM events WHERE stream = $1 AND idem = $2", 2,
	    params);
	int found;

	if (res == NULL)
		return -1;
	found = PQntuples(res) > 0;
	if (found)
		*id = int_at(res, 0, 0);
	PQclear(res);
	return found;
}

/* Inside the transaction the caller began; a refused append undoes
 * itself alone (a savepoint: PostgreSQL would otherwise refuse every
 * later statement of the transaction). */
static int
pg_publish_in(struct store *base, const struct store_new_event *ev,
    int64_t *id, bool *existed)
{
	struct pg_store *st = (struct pg_store *)base;
	int found = 0;

	if (existed != NULL)
		*existed = false;
	/* The key is looked for first: a retry of a request that did append
	 * gets that event's id, even once the stream is closed. */
	if (ev->idem != NULL &&
	    (found = find_idem(st, ev->stream, ev->idem, id)) == -1)
		return -1;
	if (found == 0) {
		if (exec(st, "cannot append an event",
		    "SAVEPOINT sselog_publish") == -1)
			return -1;
		if (pg_append(base, ev, id) == 0)
			return exec(st, "cannot append an event",
			    "RELEASE SAVEPOINT sselog_publish");
		/* Keep what went wrong over what undoing it says. A lost
		 * connection took the transaction with it: nothing to
		 * undo. */
		struct store saved = st->base;
		bool unique = strcmp(st->sqlstate, SQLSTATE_UNIQUE) == 0;
		if (st->conn == NULL)
			return -1;
		if (exec(st, "cannot undo an append",
		    "ROLLBACK TO SAVEPOINT sselog_publish") == -1)
			return -1;
		st->base = saved;
		/* Another writer appended the key meanwhile (it held the
		 * append lock, then committed): that event is the one. (The
		 * responder's writer holds the lock from its BEGIN on: only
		 * the command line's can meet this.) */
		if (!unique || ev->idem == NULL ||
		    find_idem(st, ev->stream, ev->idem, id) != 1)
			return -1;
		found = 1;
	}
	if (found == 1 && existed != NULL)
		*existed = true;
	return 0;
}

/* The names of the streams (n of them, or every stream with events when
 * n is 0) as a text[] literal; NULL when memory runs out. Stream names
 * are checked before they get here, but are quoted all the same. */
static char *
array_literal(const char *const *names, size_t n)
{
	struct buf b = BUF_INIT;
	bool ok = buf_append(&b, "{", 1) == 0;

	for (size_t i = 0; ok && i < n; i++) {
		ok = (i == 0 || buf_append(&b, ",", 1) == 0) &&
		    buf_append(&b, "\"", 1) == 0;
		for (const char *p = names[i]; ok && *p; p++)
			ok = (*p != '"' && *p != '\\' ? 0 :
			    buf_append(&b, "\\", 1)) == 0 &&
			    buf_append(&b, p, 1) == 0;
		ok = ok && buf_append(&b, "\"", 1) == 0;
	}
	if (!ok || buf_append(&b, "}", 2) == -1) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* Runs sql with the streams (as $1, a text[]; all when n is 0, which
 * the statement must allow with "$1::text[] = '{}'") and two
 * integers. */
static PGresult *
run_streams(struct pg_store *st, const char *doing, const char *sql,
    const char *const *streams, size_t n, int64_t a, int64_t b)
{
	char *names = array_literal(streams, n);
	char ta[24], tb[24];
	const char *params[] = { names, ta, tb };
	PGresult *res;

	if (names == NULL) {
		set_error(st, "%s: %s: out of memory", st->name, doing);
		return NULL;
	}
	snprintf(ta, sizeof ta, "%" PRId64, a);
	snprintf(tb, sizeof tb, "%" PRId64, b);
	res = run(st, doing, sql, 3, params);
	free(names);
	return res;
}

/* Inside the current transaction: deletes from each of the n streams
 * (all when n is 0) what store_prune() says; adds the count to
 * *deleted. The cut-off time is the server's clock, as created is. */
static int
prune_streams(struct pg_store *st, const char *const *streams, size_t n,
    int64_t keep, int64_t older_than_ms, int64_t *deleted)
{
	/* $2 and $3 switch each condition off when negative. Per stream,
	 * the events past the newest keep are those ranked below it. The
	 * close event is ranked with the others, as on SQLite ("not among
	 * the newest n events of its stream", sselog(1)): it is one of the
	 * newest n, and is never deleted itself. */
	static const char sql[] =
	    "WITH ranked AS (SELECT id, event, created, row_number() OVER"
	    " (PARTITION BY stream ORDER BY id DESC) AS rank FROM events"
	    " WHERE ($1::text[] = '{}' OR stream = ANY ($1::text[])))"
	    " DELETE FROM events WHERE id IN (SELECT id FROM ranked"
	    " WHERE event IS DISTINCT FROM 'sselog.close' AND"
	    " ($2::bigint < 0 OR rank > $2::bigint) AND"
	    " ($3::bigint < 0 OR created < floor(extract(epoch FROM"
	    " clock_timestamp()) * 1000) - $3::bigint))";
	PGresult *res;

	res = run_streams(st, "cannot prune", sql, streams, n, keep,
	    older_than_ms);
	if (res == NULL)
		return -1;
	*deleted += strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* Inside the current transaction: forgets the n streams (or, with
 * closed_for_ms >= 0, those of them closed that long ago or longer; all
 * closed ones when n is 0): their events, then the record of what was
 * pruned from them, which deleting the events has just brought up to
 * date (so not in the same statement). */
static int
forget_streams(struct pg_store *st, const char *const *streams, size_t n,
    int64_t closed_for_ms, int64_t *forgotten, int64_t *deleted)
{
	char *names = array_literal(streams, n);
	const char *params[2] = { names, NULL };
	PGresult *closed = NULL, *res = NULL;
	char ms[24];
	int rc = -1;

	if (names == NULL) {
		set_error(st, "%s: out of memory forgetting streams", st->name);
		return -1;
	}
	if (closed_for_ms >= 0) {
		snprintf(ms, sizeof ms, "%" PRId64, closed_for_ms);
		params[1] = ms;
		closed = run(st, "cannot list the closed streams",
		    "SELECT coalesce(array_agg(stream), '{}') FROM events"
		    " WHERE event = 'sselog.close' AND ($1::text[] = '{}' OR"
		    " stream = ANY ($1::text[])) AND created <= floor(extract("
		    "epoch FROM clock_timestamp()) * 1000) - $2::bigint", 2,
		    params);
		if (closed == NULL)
			goto out;
		params[0] = PQgetvalue(closed, 0, 0);
	}
	if ((res = run(st, "cannot forget streams", "SELECT count(*) FROM"
	    " (SELECT stream FROM events WHERE stream = ANY ($1::text[])"
	    " UNION SELECT stream FROM pruned WHERE stream = ANY"
	    " ($1::text[])) AS had", 1, params)) == NULL)
		goto out;
	*forgotten += int_at(res, 0, 0);
	PQclear(res);
	if ((res = run(st, "cannot forget streams", "DELETE FROM events"
	    " WHERE stream = ANY ($1::text[])", 1, params)) == NULL)
		goto out;
	*deleted += strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if ((res = run(st, "cannot forget streams", "DELETE FROM pruned"
	    " WHERE stream = ANY ($1::text[])", 1, params)) == NULL)
		goto out;
	rc = 0;
out:
	PQclear(res);
	PQclear(closed);
	free(names);
	return rc;
}

/* Ends the transaction of a step that returned rc_of_fn: commits it, or
 * rolls it back when the step failed. */
static int
end_transaction(struct pg_store *st, int rc_of_fn)
{
	if (rc_of_fn == -1) {
		pg_rollback(&st->base);
		return -1;
	}
	return pg_commit(&st->base);
}

static int
pg_prune(struct store *base, const char *const *streams, size_t n,
    int64_t keep, int64_t older_than_ms, int64_t *deleted)
{
	struct pg_store *st = (struct pg_store *)base;

	*deleted = 0;
	if (pg_begin(base) == -1)
		return -1;
	if (end_transaction(st, prune_streams(st, streams, n, keep,
	    older_than_ms, deleted)) == -1) {
		*deleted = 0;
		return -1;
	}
	return 0;
}

static int
pg_prune_forget(struct store *base, const char *const *streams, size_t n,
    const struct store_prune_rule *rule, int64_t *deleted,
    int64_t *forgotten)
{
	struct pg_store *st = (struct pg_store *)base;

	*deleted = 0;
	*forgotten = 0;
	if (pg_begin(base) == -1)
		return -1;
	/* Forgetting first spares the prune the streams that go whole. */
	if (end_transaction(st, (rule->forget_closed_ms >= 0 &&
	    forget_streams(st, streams, n, rule->forget_closed_ms, forgotten,
	    deleted) == -1) || ((rule->keep >= 0 || rule->older_than_ms >= 0)
	    && prune_streams(st, streams, n, rule->keep, rule->older_than_ms,
	    deleted) == -1) ? -1 : 0) == -1) {
		*deleted = *forgotten = 0;
		return -1;
	}
	return 0;
}

static int
pg_forget(struct store *base, const char *const *streams, size_t n,
    int64_t *forgotten, int64_t *deleted)
{
	struct pg_store *st = (struct pg_store *)base;

	*forgotten = *deleted = 0;
	if (n == 0)
		return 0;
	if (pg_begin(base) == -1)
		return -1;
	if (end_transaction(st, forget_streams(st, streams, n, -1, forgotten,
	    deleted)) == -1) {
		*forgotten = *deleted = 0;
		return -1;
	}
	return 0;
}

/* PostgreSQL's autovacuum reuses the space of deleted rows: nothing to
 * give back by hand. */
static int
pg_shrink(struct store *base, int64_t *free_bytes)
{
	(void)base;
	*free_bytes = 0;
	return 0;
}

static int
pg_vacuum(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;

	return exec(st, "cannot vacuum", "VACUUM events") == -1 ||
	    exec(st, "cannot vacuum", "VACUUM pruned") == -1 ? -1 : 0;
}

/* One snapshot for several reads. */
static int
pg_read_begin(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;

	if (exec(st, "cannot start a read",
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") == -1)
		return -1;
	st->in_tx = true;
	return 0;
}

static void
pg_read_end(struct store *base)
{
	pg_rollback(base);
}

static int
pg_last_id(struct store *base, int64_t *id)
{
	return query_int((struct pg_store *)base, "cannot read the last id",
	    "SELECT greatest((SELECT max(id) FROM events),"
	    " (SELECT last_gone FROM events_lock), 0)", 0, NULL, id);
}

static int
pg_first_id(struct store *base, int64_t *id)
{
	return query_int((struct pg_store *)base, "cannot read the first id",
	    "SELECT coalesce(min(id), 0) FROM events", 0, NULL, id);
}

static int
pg_stream_state(struct store *base, const char *stream, int64_t *close_id,
    int64_t *pruned_id)
{
	struct pg_store *st = (struct pg_store *)base;
	const char *params[] = { stream };
	PGresult *res = run(st, "cannot read a stream's state",
	    "SELECT (SELECT id FROM events WHERE stream = $1 AND"
	    " event = 'sselog.close' LIMIT 1),"
	    " (SELECT last_id FROM pruned WHERE stream = $1)", 1, params);

	if (res == NULL)
		return -1;
	*close_id = int_at(res, 0, 0);
	*pruned_id = int_at(res, 0, 1);
	PQclear(res);
	return 0;
}

static int
pg_list_streams(struct store *base,
    int (*fn)(void *ctx, const struct store_stream_summary *s), void *ctx)
{
	struct pg_store *st = (struct pg_store *)base;
	PGresult *res = run(st, "cannot list streams",
	    "SELECT stream, count(*), min(id), max(id),"
	    " bool_or(event = 'sselog.close') FROM events"
	    " GROUP BY stream ORDER BY stream COLLATE \"C\"", 0, NULL);
	int rc = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct store_stream_summary s = {
			.name = PQgetvalue(res, i, 0),
			.events = int_at(res, i, 1),
			.first_id = int_at(res, i, 2),
			.last_id = int_at(res, i, 3),
			.closed = strcmp(PQgetvalue(res, i, 4), "t") == 0,
		};
		rc = fn(ctx, &s);
	}
	PQclear(res);
	return rc;
}

/* Starts listening on the log's channel, once. */
static int
listen_once(struct pg_store *st)
{
	if (st->listening)
		return 0;
	if (exec(st, "cannot listen for appends", "LISTEN sselog") == -1)
		return -1;
	st->listening = true;
	return 0;
}

static int
pg_change_fd(struct store *base, uint64_t *generation)
{
	struct pg_store *st = (struct pg_store *)base;
	int fd = connection(st) == -1 || listen_once(st) == -1 ? -1 :
	    PQsocket(st->conn);

	*generation = st->generation;
	return fd;
}

/* The notifications received on the log's channel: a new value means
 * something was appended. The first call starts listening. */
static int
pg_data_version(struct store *base, int64_t *version)
{
	struct pg_store *st = (struct pg_store *)base;

	if (connection(st) == -1 || listen_once(st) == -1)
		return -1;
	if (PQconsumeInput(st->conn) != 1) {
		set_pg_error(st, NULL, "cannot read notifications");
		return -1;
	}
	count_notifications(st);
	*version = st->notifications;
	return 0;
}

/* Reads the next page of c's events, past the last one returned. */
static int
next_page(struct pg_cursor *c)
{
	/* Each page costs its rows, not what is left of the log: all
	 * streams walk the primary key; named ones walk (stream, id) each,
	 * a page's worth at most, and the pages merge by id. (One "stream =
	 * ANY" scan would read and sort all of the rest of the streams for
	 * every page.) The bounds are row comparisons, not "stream = s.name
	 * AND id > $1": with an equality the planner takes stream for a
	 * constant, finds the primary key in id order as good as (stream,
	 * id), and walks every later event of every stream to find a page of
	 * this one (seconds, on a big log, for a stream that is quiet while
	 * others are not). A row range in (stream, id) order only that index
	 * serves. */
	static const char all[] =
	    "SELECT " EVENT_COLUMNS " FROM events WHERE id > $1::bigint"
	    " ORDER BY id LIMIT $2::integer";
	static const char named[] =
	    "SELECT e.* FROM unnest($3::text[]) AS s(name) CROSS JOIN LATERAL"
	    " (SELECT " EVENT_COLUMNS " FROM events"
	    " WHERE (stream, id) > (s.name, $1::bigint)"
	    " AND (stream, id) <= (s.name, 9223372036854775807)"
	    " ORDER BY stream, id LIMIT $2::integer) AS e"
	    " ORDER BY e.id LIMIT $2::integer";
	char after[24], limit[24];
	const char *params[] = { after, limit, c->streams };

	PQclear(c->page);
	snprintf(after, sizeof after, "%" PRId64, c->after);
	snprintf(limit, sizeof limit, "%d", PAGE_ROWS);
	c->page = run(c->st, "cannot read events", c->streams ? named : all,
	    c->streams ? 3 : 2, params);
	c->st->base.event_queries++;
	if (c->page == NULL)
		return -1;
	c->row = 0;
	c->rows = PQntuples(c->page);
	c->last_page = c->rows < PAGE_ROWS;
	return 0;
}

/* Pages of events past after_id, in id order; streams NULL: all.
 * Pages read later may hold events committed after the first: ids
 * become visible in id order (sql/postgresql.sql), so none is
 * skipped. */
static struct store_cursor *
cursor_new(struct pg_store *st, const char *const *streams, size_t n,
    int64_t after_id)
{
	struct pg_cursor *c = calloc(1, sizeof *c);

	if (c == NULL || (streams != NULL &&
	    (c->streams = array_literal(streams, n)) == NULL)) {
		set_error(st, "%s: out of memory reading events", st->name);
		free(c);
		return NULL;
	}
	c->st = st;
	c->after = after_id;
	if (next_page(c) == -1) {
		free(c->streams);
		free(c);
		return NULL;
	}
	return &c->base;
}

static struct store_cursor *
pg_cursor_open(struct store *base, const char *const *streams, size_t n,
    int64_t after_id)
{
	return cursor_new((struct pg_store *)base, streams, n, after_id);
}

static struct store_cursor *
pg_cursor_open_all(struct store *base, int64_t after_id)
{
	return cursor_new((struct pg_store *)base, NULL, 0, after_id);
}

static int
pg_cursor_next(struct store_cursor *base, struct store_event *ev)
{
	struct pg_cursor *c = (struct pg_cursor *)base;
	PGresult *p;
	int r;

	if (c->row == c->rows && (c->last_page || next_page(c) == -1 ||
	    c->rows == 0))
		return c->page == NULL ? -1 : 0;
	p = c->page;
	r = c->row++;
	ev->id = c->after = int_at(p, r, 0);
	ev->stream = PQgetvalue(p, r, 1);
	ev->type = PQgetisnull(p, r, 2) ? NULL : PQgetvalue(p, r, 2);
	ev->data = PQgetvalue(p, r, 3);
	ev->data_len = (size_t)PQgetlength(p, r, 3);
	ev->retry = PQgetisnull(p, r, 4) ? -1 : int_at(p, r, 4);
	ev->created = int_at(p, r, 5);
	return 1;
}

static void
pg_cursor_close(struct store_cursor *base)
{
	struct pg_cursor *c = (struct pg_cursor *)base;

	PQclear(c->page);
	free(c->streams);
	free(c);
}

/* user@host:port/dbname, each part as libpq reads it from the URI: a
 * scan of our own would have to find where libpq ends the password (an
 * unescaped ? or @ may be in it), and a mistake would print part of it. */
void
store_pg_display(const char *uri, char *out, size_t len)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &why);
	const char *user = NULL, *host = NULL, *port = NULL, *dbname = NULL;

	if (opts == NULL) {
		PQfreemem(why);		/* it quotes the URI */
		snprintf(out, len, "the PostgreSQL URI");
		return;
	}
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	/* An IPv6 address in brackets, as in a URI. */
	bool v6 = host != NULL && strchr(host, ':') != NULL &&
	    strchr(host, ',') == NULL;
	snprintf(out, len, "postgresql://%s%s%s%s%s%s%s/%s",
	    user != NULL ? user : "", user != NULL ? "@" : "",
	    v6 ? "[" : "", host != NULL ? host : "", v6 ? "]" : "",
	    port != NULL ? ":" : "", port != NULL ? port : "",
	    dbname != NULL ? dbname : "");
	PQconninfoFree(opts);
}

const struct store_backend store_pg = {
	.open = pg_open,
	.close = pg_close,
	.init = pg_init,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.append = pg_append,
	.append_batch = pg_append_batch,
	.last_appended = pg_last_appended,
	.publish_in = pg_publish_in,
	.prune = pg_prune,
	.prune_forget = pg_prune_forget,
	.forget = pg_forget,
	.shrink = pg_shrink,
	.vacuum = pg_vacuum,
	.read_begin = pg_read_begin,
	.read_end = pg_read_end,
	.last_id = pg_last_id,
	.first_id = pg_first_id,
	.stream_state = pg_stream_state,
	.list_streams = pg_list_streams,
	.data_version = pg_data_version,
	.change_fd = pg_change_fd,
	.cursor_open = pg_cursor_open,
	.cursor_open_all = pg_cursor_open_all,
	.cursor_next = pg_cursor_next,
	.cursor_close = pg_cursor_close,
};
