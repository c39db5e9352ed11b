#include "follow.h"

#include <string.h>

#include "sse.h"

void
follow_init(struct follow *f, const char *const *streams, size_t n,
    int64_t position)
{
	f->streams = streams;
	f->n = n;
	f->position = position;
	f->asked = position;
	f->open = n;
}

bool
follow_is_close(const struct store_event *ev)
{
	return ev->type != NULL && strcmp(ev->type, "sselog.close") == 0;
}

int
follow_encode(struct buf *out, const struct store_event *ev)
{
	struct sse_event e = {
		.id = ev->id, .type = ev->type, .data = ev->data,
		.data_len = ev->data_len, .retry = ev->retry,
	};

	if (follow_is_close(ev))
		return sse_encode_close(out, &e, ev->stream);
	return sse_encode_event(out, &e);
}

int
follow_start(struct follow *f, struct store *st, bool from_now,
    int64_t *gap_first)
{
	int64_t pruned_max = 0, last;

	*gap_first = 0;
	if (store_last_id(st, &last) == -1)
		return -1;
	if (from_now) {
		f->position = f->asked = last;
	} else if (f->position > last) {
		int64_t first;
		if (store_first_id(st, &first) == -1)
			return -1;
		*gap_first = first > 0 ? first : last + 1;
		f->position = 0;
	}
	f->open = f->n;
	for (size_t i = 0; i < f->n; i++) {
		int64_t close_id, pruned;
		if (store_stream_state(st, f->streams[i], &close_id, &pruned)
		    == -1)
			return -1;
		if (close_id != 0 && close_id <= f->position)
			f->open--;
		if (pruned > f->position && pruned > pruned_max)
			pruned_max = pruned;
	}
	if (pruned_max > 0 && f->open > 0 && *gap_first == 0)
		*gap_first = pruned_max + 1;
	return 0;
}

void
follow_note(struct follow *f, const struct store_event *ev)
{
	f->position = ev->id;
	if (follow_is_close(ev) && f->open > 0)
		f->open--;
}

long
follow_read(struct follow *f, struct store *st, size_t max,
    int (*emit)(void *ctx, const struct store_event *ev), void *ctx)
{
	struct store_cursor *c;
	struct store_event ev;
	long count = 0;
	int rc = 0;

	if ((c = store_cursor_open(st, f->streams, f->n, f->position)) ==
	    NULL)
		return -1;
	while ((size_t)count < max && (rc = store_cursor_next(c, &ev)) == 1) {
		int taken = emit(ctx, &ev);
		if (taken == 1)
			break;
		if (taken == -1) {
			rc = -1;
			break;
		}
		follow_note(f, &ev);
		count++;
	}
	store_cursor_close(c);
	return rc == -1 ? -1 : count;
}
