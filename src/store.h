/* The event log, whichever database holds it (store.c picks the backend:
 * store_sqlite.c for a file, store_pg.c for a postgresql:// URI); the rest
 * of sselog sees only this.
 *
 * Every function that can fail returns 0 (or a documented non-negative
 * value) on success and -1 on failure, after which store_error() holds one
 * line that says what failed and why. A rule of the schema that refused an
 * append (a bad name, "stream is closed") is reported in the schema's own
 * words, the same that a plain SQL writer sees.
 */
#ifndef SSELOG_STORE_H
#define SSELOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 2

enum store_mode {
	STORE_READ,	/* read-only handle: `sselog watch` */
	STORE_READ_NOWAIT,	/* read-only, never waiting inside SQLite:
				 * a lock fails at once (store_busy()); the
				 * responder's event loop */
	STORE_WRITE,	/* publish, pipe, close, prune */
	STORE_WRITE_NOWAIT,	/* read-write, never waiting inside SQLite:
				 * a lock fails at once (store_busy()), and
				 * store_begin() tries once; the responder's
				 * writer with --publish */
	STORE_CREATE,	/* like STORE_WRITE, and create the file: `sselog init` */
};

/* A new event. type NULL: no type; retry negative: none. */
struct store_new_event {
	const char *stream;
	const char *type;
	const char *data;
	size_t data_len;
	int64_t retry;
	const char *idem;	/* Idempotency-Key, or NULL */
};

/* A stored event. The pointers belong to the store and stay valid until the
 * next call on the cursor that produced it. */
struct store_event {
	int64_t id;
	const char *stream;
	const char *type;	/* NULL when the event has no type */
	const char *data;
	size_t data_len;
	int64_t retry;		/* negative when not set */
	int64_t created;	/* Unix time, ms */
};

/* A line of `sselog streams`. */
struct store_stream_summary {
	const char *name;
	int64_t events;
	int64_t first_id;
	int64_t last_id;
	bool closed;
};

struct store;
struct store_cursor;

/* True when path names a PostgreSQL log (a postgresql:// or postgres://
 * connection URI) rather than an SQLite file. */
bool store_is_postgresql(const char *path);

/* The log's name as messages show it, into out (len bytes): a file's
 * path as it is; a URI without its password and query (which may hold
 * one). */
void store_display_path(const char *path, char *out, size_t len);

/* Opens the log at path. Apart from STORE_CREATE, the file must exist and
 * carry this version's schema. Returns the handle, or NULL with the reason
 * in err (errlen bytes). Free it with store_close(). */
struct store *store_open(const char *path, enum store_mode mode, char *err,
    size_t errlen);
void store_close(struct store *st);
const char *store_error(const struct store *st);

/* True when the last failure was the log being locked by another
 * connection (a process holding the WAL's locks, as a recovery does; one
 * in exclusive locking mode): worth trying again soon, not worth an error
 * in the log. */
bool store_busy(const struct store *st);

/* True when the last failure was the database being out of reach (a
 * PostgreSQL log whose connection was lost and cannot be made again
 * yet): busy too, but not worth waiting for. */
bool store_down(const struct store *st);

/* True when the last failure was a rule of the schema refusing an append
 * (a bad name, "stream is closed"): store_error() then holds the rule's
 * words alone. */
bool store_refused(const struct store *st);

/* Creates the schema, or upgrades an older one; running it again changes
 * nothing. Needs STORE_CREATE or STORE_WRITE. */
int store_init(struct store *st);

/* A write transaction, taken at once (BEGIN IMMEDIATE) so that concurrent
 * writers queue up on the busy timeout instead of failing with "database is
 * locked". Appends inside one transaction become visible together. With
 * STORE_WRITE_NOWAIT, one try: a locked log fails at once, store_busy(). */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Appends ev inside the current transaction and sets *id to its id. */
int store_append(struct store *st, const struct store_new_event *ev,
    int64_t *id);

/* Appends the n events of evs, in order, inside the current transaction:
 * faster than one store_append() per event. On failure, some of them may
 * have been appended: roll the transaction back. */
int store_append_batch(struct store *st, const struct store_new_event *evs,
    size_t n);

/* The id of the event last appended on this handle (by store_append()
 * or store_append_batch()), 0 before any. */
int64_t store_last_appended(const struct store *st);

/* Appends ev in a transaction of its own. When ev->idem is set and the
 * stream has an event with that key already, appends nothing: sets *id to
 * that event's id and *existed (when not NULL) to true. */
int store_publish(struct store *st, const struct store_new_event *ev,
    int64_t *id, bool *existed);

/* As store_publish(), inside the transaction the caller began
 * (store_begin()) and commits, so that several events share one commit
 * (and one fsync). A rule of the schema that refuses the append
 * (store_refused()) undoes that append alone: the transaction goes on.
 * After any other failure, roll it back. */
int store_publish_in(struct store *st, const struct store_new_event *ev,
    int64_t *id, bool *existed);

/* Deletes, from each of the n streams (all streams when n is 0), the events
 * that meet every condition given: not among the newest keep (keep < 0: no
 * such condition) and created before now minus older_than_ms (negative: no
 * such condition). A stream's sselog.close event is never deleted, so a
 * closed stream stays closed. The schema records each stream's highest
 * deleted id. Sets *deleted to the number of events deleted. */
int store_prune(struct store *st, const char *const *streams, size_t n,
    int64_t keep, int64_t older_than_ms, int64_t *deleted);

/* What store_prune_forget() deletes. */
struct store_prune_rule {
	int64_t keep;		/* as store_prune(); negative: no such
				 * condition */
	int64_t older_than_ms;	/* as store_prune(); negative: no such
				 * condition. Both negative: no event is
				 * pruned, streams are only forgotten */
	int64_t forget_closed_ms;	/* forget the streams closed this long
					 * ago or longer, 0: every closed
					 * stream; negative: none */
};

/* In one transaction: forgets (as store_forget()) each of the n streams
 * (every stream when n is 0) whose sselog.close event was appended at
 * least rule->forget_closed_ms ago, then prunes the others as
 * store_prune() does. Sets *deleted to the number of events deleted, the
 * forgotten streams' included, and *forgotten to the streams forgotten. */
int store_prune_forget(struct store *st, const char *const *streams,
    size_t n, const struct store_prune_rule *rule, int64_t *deleted,
    int64_t *forgotten);

/* Erases each of the n streams, open or closed, in one transaction: its
 * every event and the record of what was pruned from it, so that its name
 * is as if never used (ids stay unique: a new event gets a new id, never
 * one of those deleted). A name with nothing to forget is no error. Sets
 * *forgotten to the number of streams that had events or a record,
 * *deleted to the events deleted. */
int store_forget(struct store *st, const char *const *streams, size_t n,
    int64_t *forgotten, int64_t *deleted);

/* After a prune or forget: gives the pages they freed back to the file
 * system (on a log created with auto_vacuum = INCREMENTAL, as store_init()
 * does) and truncates the -wal file (a checkpoint). Sets *free_bytes to
 * the free space left inside the file: a log created before auto_vacuum
 * keeps it until store_vacuum(). Returns 0; 1 when the checkpoint could
 * not finish because a reader still reads an older snapshot (the -wal
 * file keeps its size until a later checkpoint; store_error() says so);
 * -1 on failure. */
int store_shrink(struct store *st, int64_t *free_bytes);

/* Rewrites the whole log into the least space, with auto_vacuum =
 * INCREMENTAL from then on (VACUUM), then truncates the -wal file.
 * Writers wait for it; readers go on. Returns as store_shrink(). */
int store_vacuum(struct store *st);

/* A read transaction: everything read until store_read_end() sees one
 * snapshot of the log. */
int store_read_begin(struct store *st);
void store_read_end(struct store *st);

/* The highest id ever given to an event (0 for an empty log); the next
 * event will have a larger one. */
int store_last_id(struct store *st, int64_t *id);

/* The lowest id in the log, 0 when it has no events. */
int store_first_id(struct store *st, int64_t *id);

/* The id of stream's sselog.close event, 0 when it is open; and the highest
 * id pruned from it, 0 when none was. */
int store_stream_state(struct store *st, const char *stream,
    int64_t *close_id, int64_t *pruned_id);

/* Calls fn for every stream that has events, by name. Stops early and
 * returns fn's value when fn returns non-zero. */
int store_list_streams(struct store *st,
    int (*fn)(void *ctx, const struct store_stream_summary *s), void *ctx);

/* The number of SQL statements run on this handle so far (each BEGIN,
 * query and PRAGMA counts one). */
uint64_t store_statements(const struct store *st);
/* Of those, the queries that read events (one per stream a cursor reads). */
uint64_t store_event_queries(const struct store *st);

/* Changes when another connection commits (SQLite: PRAGMA data_version;
 * PostgreSQL: the notifications received, see store_change_fd()). */
int store_data_version(struct store *st, int64_t *version);

/* A descriptor that becomes readable when something may have been
 * appended: PostgreSQL's connection, listening for the log's
 * notifications from this call on. -1 when the backend has none (an
 * SQLite file is watched from outside: logfile.h) or on failure, which
 * leaves store_error() set (it is empty otherwise). *generation changes
 * whenever the connection was given up: the descriptor that went with
 * the old value is closed (and so out of any epoll set), even if the
 * new one has the same number. */
int store_change_fd(struct store *st, uint64_t *generation);

/* Reads the events of n distinct streams with id > after_id, in id order.
 * Opens a read transaction unless one is already open, so that the streams
 * are read from one snapshot (reading them from different snapshots could
 * skip an event committed in between). Returns NULL on failure. */
struct store_cursor *store_cursor_open(struct store *st,
    const char *const *streams, size_t n, int64_t after_id);
/* Reads the events of every stream with id > after_id, in id order: the
 * one query per wake-up of the responder's live hand-out. A single
 * statement is its own snapshot. Returns NULL on failure. */
struct store_cursor *store_cursor_open_all(struct store *st,
    int64_t after_id);
/* Returns 1 with the next event in *ev, 0 at the end, -1 on failure. */
int store_cursor_next(struct store_cursor *c, struct store_event *ev);
void store_cursor_close(struct store_cursor *c);

#endif
