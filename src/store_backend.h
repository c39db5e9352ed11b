/* What a backend of the event log provides (store.h is what the rest of
 * sselog sees): store.c picks the backend by the log's name and forwards
 * each call of store.h to it. Only the store's own files include this.
 *
 * A backend embeds struct store (and struct store_cursor) as the first
 * member of its own handle (cursor), so that the one converts to the other
 * with a cast, and fills the common fields: store_set_error() for every
 * failure, busy or refused where store.h says so, and the statement
 * counts.
 */
#ifndef SSELOG_STORE_BACKEND_H
#define SSELOG_STORE_BACKEND_H

#include <stdarg.h>

#include "store.h"

struct store_backend;

struct store {
	const struct store_backend *backend;	/* set by store_open() */
	char *path;		/* the log's name, as given; owned */
	bool nowait;		/* STORE_*_NOWAIT */
	bool busy;		/* the last failure: the log was locked */
	bool refused;		/* the last failure: a rule of the schema */
	bool down;		/* the last failure: the database is out of
				 * reach (busy too) */
	uint64_t statements;	/* statements run, for store_statements() */
	uint64_t event_queries;	/* of which reads of events */
	char err[512];
};

struct store_cursor {
	const struct store_backend *backend;	/* set by store.c */
};

/* Each as the store.h function of the same name. open() allocates the
 * backend's handle and fills path and nowait; close() frees it, path
 * included. */
struct store_backend {
	struct store *(*open)(const char *path, enum store_mode mode,
	    char *err, size_t errlen);
	void (*close)(struct store *st);
	int (*init)(struct store *st);
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);
	int (*append)(struct store *st, const struct store_new_event *ev,
	    int64_t *id);
	int (*append_batch)(struct store *st,
	    const struct store_new_event *evs, size_t n);
	int64_t (*last_appended)(const struct store *st);
	int (*publish_in)(struct store *st, const struct store_new_event *ev,
	    int64_t *id, bool *existed);
	int (*prune)(struct store *st, const char *const *streams, size_t n,
	    int64_t keep, int64_t older_than_ms, int64_t *deleted);
	int (*prune_forget)(struct store *st, const char *const *streams,
	    size_t n, const struct store_prune_rule *rule, int64_t *deleted,
	    int64_t *forgotten);
	int (*forget)(struct store *st, const char *const *streams, size_t n,
	    int64_t *forgotten, int64_t *deleted);
	int (*shrink)(struct store *st, int64_t *free_bytes);
	int (*vacuum)(struct store *st);
	int (*read_begin)(struct store *st);
	void (*read_end)(struct store *st);
	int (*last_id)(struct store *st, int64_t *id);
	int (*first_id)(struct store *st, int64_t *id);
	int (*stream_state)(struct store *st, const char *stream,
	    int64_t *close_id, int64_t *pruned_id);
	int (*list_streams)(struct store *st,
	    int (*fn)(void *ctx, const struct store_stream_summary *s),
	    void *ctx);
	int (*data_version)(struct store *st, int64_t *version);
	int (*change_fd)(struct store *st, uint64_t *generation); /* or NULL */
	struct store_cursor *(*cursor_open)(struct store *st,
	    const char *const *streams, size_t n, int64_t after_id);
	struct store_cursor *(*cursor_open_all)(struct store *st,
	    int64_t after_id);
	int (*cursor_next)(struct store_cursor *c, struct store_event *ev);
	void (*cursor_close)(struct store_cursor *c);
};

/* The log in an SQLite file (store_sqlite.c). */
extern const struct store_backend store_sqlite;
/* The log in PostgreSQL (store_pg.c). */
extern const struct store_backend store_pg;
/* store_display_path() for a PostgreSQL URI: read by libpq's own parser,
 * so that no part of a password it would take can be shown. */
void store_pg_display(const char *uri, char *out, size_t len);

/* Records a failure: one line, neither busy, refused nor down (set those
 * after it where they apply). */
void store_vset_error(struct store *st, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
