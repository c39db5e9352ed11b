#include "upload.h"

#include <stdlib.h>
#include <string.h>

#include "validate.h"

void
upload_init(struct upload *u, enum upload_kind kind, bool fcgi,
    unsigned request_id, int64_t content_length, size_t max)
{
	*u = (struct upload){ .kind = kind, .fcgi = fcgi, .max = max,
	    .data = BUF_INIT, .batch_lines = UPLOAD_BATCH_LINES,
	    .batch_bytes = UPLOAD_BATCH_BYTES };
	if (fcgi)
		fcgi_input_init(&u->in, request_id);
	else if ((u->cgi_left = content_length) <= 0)
		u->state = UPLOAD_ENDED;	/* RFC 3875, 4.2: no body */
	lines_init(&u->lines, max);
}

void
upload_free(struct upload *u)
{
	buf_free(&u->data);
	lines_free(&u->lines);
	free(u->batch);
	u->batch = NULL;
	u->nbatch = u->batch_cap = 0;
}

void
upload_discard(struct upload *u)
{
	u->kind = UPLOAD_DISCARD;
	buf_free(&u->data);
	lines_free(&u->lines);
	u->nbatch = 0;
}

static void
no_memory(struct upload *u)
{
	u->error = UPLOAD_NO_MEMORY;
	upload_discard(u);
}

/* Adds a line to the batch, as UTF-8 without NUL: log text, as `sselog
 * pipe` takes it, where a byte that is not UTF-8 becomes U+FFFD rather
 * than failing the upload. */
static void
add_line(struct upload *u, const char *line, size_t len)
{
	char *fixed = NULL;

	if (validate_data(line, len) != NULL) {
		if ((fixed = utf8_repair(line, len, &len)) == NULL) {
			no_memory(u);
			return;
		}
		line = fixed;
	}
	if (u->nbatch == u->batch_cap) {
		size_t cap = u->batch_cap ? u->batch_cap * 2 : 64;
		struct upload_line *grown = realloc(u->batch,
		    cap * sizeof *grown);
		if (grown == NULL) {
			free(fixed);
			no_memory(u);
			return;
		}
		u->batch = grown;
		u->batch_cap = cap;
	}
	if (buf_append(&u->data, line, len) == -1) {
		free(fixed);
		no_memory(u);
		return;
	}
	u->batch[u->nbatch++] = (struct upload_line){
		.off = u->data.len - len, .len = len };
	free(fixed);
}

/* Splits what came into lines until it is all taken or the upload
 * stops. */
static void
take_lines(struct upload *u, const char *bytes, size_t len, bool end)
{
	struct lines_out out;

	for (;;) {
		if (u->kind != UPLOAD_LINES)
			return;
		if (len > 0) {
			size_t n = lines_feed(&u->lines, bytes, len, &out);
			bytes += n;
			len -= n;
		} else if (end) {
			lines_finish(&u->lines, &out);
		} else {
			return;
		}
		switch (out.event) {
		case LINES_LINE:
			add_line(u, out.line, out.len);
			break;
		case LINES_TOO_LONG:
			/* The lines before it stay (lines.h). */
			u->error = UPLOAD_TOO_LARGE;
			u->too_long = out.number;
			u->kind = UPLOAD_DISCARD;
			lines_free(&u->lines);
			return;
		case LINES_NO_MEMORY:
			no_memory(u);
			return;
		case LINES_MORE:
		case LINES_END:
			if (len == 0 && (!end || out.event == LINES_END))
				return;
			break;
		}
	}
}

/* Body bytes: into the event's data, the lines, or nowhere. */
static void
take_body(struct upload *u, const unsigned char *bytes, size_t len)
{
	switch (u->kind) {
	case UPLOAD_EVENT:
		if (len > u->max - u->data.len) {
			u->error = UPLOAD_TOO_LARGE;
			upload_discard(u);
		} else if (buf_append(&u->data, bytes, len) == -1) {
			no_memory(u);
		}
		break;
	case UPLOAD_LINES:
		take_lines(u, (const char *)bytes, len, false);
		break;
	case UPLOAD_DISCARD:
		break;
	}
}

static void
body_ended(struct upload *u)
{
	u->state = UPLOAD_ENDED;
	take_lines(u, NULL, 0, true);
}

size_t
upload_feed(struct upload *u, const unsigned char *bytes, size_t len)
{
	size_t used = 0;

	if (u->state == UPLOAD_BROKEN)
		return 0;
	if (!u->fcgi) {
		if (u->state == UPLOAD_ENDED)
			return len;	/* past CONTENT_LENGTH */
		size_t n = (uint64_t)u->cgi_left < len ? (size_t)u->cgi_left :
		    len;
		if (upload_batch_full(u))
			return 0;
		take_body(u, bytes, n);
		u->cgi_left -= (int64_t)n;
		if (u->cgi_left == 0)
			body_ended(u);
		return len;
	}
	while (used < len && !upload_batch_full(u)) {
		struct fcgi_input_out out;
		used += fcgi_input_feed(&u->in, bytes + used, len - used, &out);
		switch (out.event) {
		case FCGI_INPUT_MORE:
			break;
		case FCGI_INPUT_CONTENT:
			if (u->state == UPLOAD_READING)
				take_body(u, out.data, out.len);
			break;
		case FCGI_INPUT_END:
			body_ended(u);
			break;
		case FCGI_INPUT_ABORT:
			u->state = UPLOAD_BROKEN;
			u->why = "the web server aborted the request";
			return used;
		case FCGI_INPUT_ERROR:
			u->state = UPLOAD_BROKEN;
			u->why = out.error;
			return used;
		}
	}
	return used;
}

void
upload_eof(struct upload *u)
{
	if (u->state != UPLOAD_READING)
		return;
	u->state = UPLOAD_BROKEN;
	u->why = u->fcgi ? "the web server closed the connection before the "
	    "end of the request body" : "standard input ended before "
	    "CONTENT_LENGTH bytes of request body";
}

bool
upload_batch_full(const struct upload *u)
{
	return u->kind == UPLOAD_LINES && (u->nbatch >= u->batch_lines ||
	    u->data.len >= u->batch_bytes);
}

void
upload_batch_taken(struct upload *u)
{
	u->nbatch = 0;
	buf_clear(&u->data);
}
