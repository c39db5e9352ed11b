/* The event log, whichever database holds it: picks the backend by the
 * log's name and forwards each call to it (store_backend.h). What every
 * backend shares is here: the error, busy and refused state, the
 * statement counts, and store_publish() built on store_publish_in(). */
#include "store_backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The backend for a log named path: a PostgreSQL connection URI, or an
 * SQLite file. */
static const struct store_backend *
backend_for(const char *path)
{
	return store_is_postgresql(path) ? &store_pg : &store_sqlite;
}

bool
store_is_postgresql(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0;
}

void
store_display_path(const char *path, char *out, size_t len)
{
	if (store_is_postgresql(path))
		store_pg_display(path, out, len);
	else
		snprintf(out, len, "%s", path);
}

struct store *
store_open(const char *path, enum store_mode mode, char *err, size_t errlen)
{
	const struct store_backend *be = backend_for(path);
	struct store *st = be->open(path, mode, err, errlen);

	if (st != NULL)
		st->backend = be;
	return st;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->backend->close(st);
}

void
store_vset_error(struct store *st, const char *fmt, va_list ap)
{
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	st->busy = false;
	st->refused = false;
	st->down = false;
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

bool
store_busy(const struct store *st)
{
	return st->busy;
}

bool
store_down(const struct store *st)
{
	return st->down;
}

bool
store_refused(const struct store *st)
{
	return st->refused;
}

uint64_t
store_statements(const struct store *st)
{
	return st->statements;
}

uint64_t
store_event_queries(const struct store *st)
{
	return st->event_queries;
}

int
store_init(struct store *st)
{
	return st->backend->init(st);
}

int
store_begin(struct store *st)
{
	return st->backend->begin(st);
}

int
store_commit(struct store *st)
{
	return st->backend->commit(st);
}

void
store_rollback(struct store *st)
{
	st->backend->rollback(st);
}

int
store_append(struct store *st, const struct store_new_event *ev, int64_t *id)
{
	return st->backend->append(st, ev, id);
}

int
store_append_batch(struct store *st, const struct store_new_event *evs,
    size_t n)
{
	return st->backend->append_batch(st, evs, n);
}

int64_t
store_last_appended(const struct store *st)
{
	return st->backend->last_appended(st);
}

int
store_publish_in(struct store *st, const struct store_new_event *ev,
    int64_t *id, bool *existed)
{
	return st->backend->publish_in(st, ev, id, existed);
}

int
store_publish(struct store *st, const struct store_new_event *ev, int64_t *id,
    bool *existed)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_publish_in(st, ev, id, existed) == -1) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st);
}

int
store_prune(struct store *st, const char *const *streams, size_t n,
    int64_t keep, int64_t older_than_ms, int64_t *deleted)
{
	return st->backend->prune(st, streams, n, keep, older_than_ms,
	    deleted);
}

int
store_prune_forget(struct store *st, const char *const *streams, size_t n,
    const struct store_prune_rule *rule, int64_t *deleted,
    int64_t *forgotten)
{
	return st->backend->prune_forget(st, streams, n, rule, deleted,
	    forgotten);
}

int
store_forget(struct store *st, const char *const *streams, size_t n,
    int64_t *forgotten, int64_t *deleted)
{
	return st->backend->forget(st, streams, n, forgotten, deleted);
}

int
store_shrink(struct store *st, int64_t *free_bytes)
{
	return st->backend->shrink(st, free_bytes);
}

int
store_vacuum(struct store *st)
{
	return st->backend->vacuum(st);
}

int
store_read_begin(struct store *st)
{
	return st->backend->read_begin(st);
}

void
store_read_end(struct store *st)
{
	st->backend->read_end(st);
}

int
store_last_id(struct store *st, int64_t *id)
{
	return st->backend->last_id(st, id);
}

int
store_first_id(struct store *st, int64_t *id)
{
	return st->backend->first_id(st, id);
}

int
store_stream_state(struct store *st, const char *stream, int64_t *close_id,
    int64_t *pruned_id)
{
	return st->backend->stream_state(st, stream, close_id, pruned_id);
}

int
store_list_streams(struct store *st,
    int (*fn)(void *ctx, const struct store_stream_summary *s), void *ctx)
{
	return st->backend->list_streams(st, fn, ctx);
}

int
store_data_version(struct store *st, int64_t *version)
{
	return st->backend->data_version(st, version);
}

int
store_change_fd(struct store *st, uint64_t *generation)
{
	st->err[0] = '\0';
	*generation = 0;
	return st->backend->change_fd ? st->backend->change_fd(st,
	    generation) : -1;
}

struct store_cursor *
store_cursor_open(struct store *st, const char *const *streams, size_t n,
    int64_t after_id)
{
	struct store_cursor *c = st->backend->cursor_open(st, streams, n,
	    after_id);

	if (c != NULL)
		c->backend = st->backend;
	return c;
}

struct store_cursor *
store_cursor_open_all(struct store *st, int64_t after_id)
{
	struct store_cursor *c = st->backend->cursor_open_all(st, after_id);

	if (c != NULL)
		c->backend = st->backend;
	return c;
}

int
store_cursor_next(struct store_cursor *c, struct store_event *ev)
{
	return c->backend->cursor_next(c, ev);
}

void
store_cursor_close(struct store_cursor *c)
{
	if (c != NULL)
		c->backend->cursor_close(c);
}
