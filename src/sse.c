#include "sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DATA_FIELD "data: "

/* Number of lines in data: one more than the number of line endings, where
 * CRLF counts once. Empty data is one empty line: `data: ` makes the client
 * dispatch an event with empty data, whereas no data line at all would make
 * it drop the event. */
static size_t
count_lines(const char *data, size_t len)
{
	size_t lines = 1;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			lines++;
		} else if (data[i] == '\r') {
			lines++;
			if (i + 1 < len && data[i + 1] == '\n')
				i++;
		}
	}
	return lines;
}

static char *
put(char *p, const void *bytes, size_t n)
{
	memcpy(p, bytes, n);
	return p + n;
}

static char *
put_field_text(char *p, const char *name, const char *text, size_t len)
{
	p = put(p, name, strlen(name));
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		*p++ = (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
	}
	*p++ = '\n';
	return p;
}

int
sse_encode_event(struct buf *out, const struct sse_event *ev)
{
	char id[32] = "", retry[32] = "";
	size_t id_len = 0, retry_len = 0, type_len = 0;

	if (ev->id >= 0)
		id_len = (size_t)snprintf(id, sizeof id, "id: %" PRId64 "\n", ev->id);
	if (ev->retry >= 0)
		retry_len = (size_t)snprintf(retry, sizeof retry,
		    "retry: %" PRId64 "\n", ev->retry);
	if (ev->type != NULL)
		type_len = strlen(ev->type);

	/* Reserve everything first so that a failure leaves out untouched and
	 * the copy loop below cannot fail half-way. */
	size_t lines = count_lines(ev->data, ev->data_len);
	size_t need = id_len + retry_len + 1;
	if (ev->type != NULL)
		need += strlen("event: ") + type_len + 1;
	if (lines > (SIZE_MAX - need - ev->data_len) / (strlen(DATA_FIELD) + 1))
		return -1;
	need += ev->data_len + lines * (strlen(DATA_FIELD) + 1);
	if (buf_reserve(out, need) == -1)
		return -1;

	char *p = out->data + out->len;
	p = put(p, id, id_len);
	if (ev->type != NULL)
		p = put_field_text(p, "event: ", ev->type, type_len);
	p = put(p, retry, retry_len);

	const char *d = ev->data, *end = ev->data + ev->data_len;
	for (;;) {
		const char *eol = d;
		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		p = put(p, DATA_FIELD, strlen(DATA_FIELD));
		p = put(p, d, (size_t)(eol - d));
		*p++ = '\n';
		if (eol == end)
			break;
		d = eol + 1;
		if (*eol == '\r' && d < end && *d == '\n')
			d++;
	}
	*p++ = '\n';
	out->len = (size_t)(p - out->data);
	return 0;
}

int
sse_encode_comment(struct buf *out, const char *text)
{
	size_t len = strlen(text);

	if (buf_reserve(out, len + 3) == -1)
		return -1;
	char *p = out->data + out->len;
	if (len == 0) {
		p = put(p, ":\n", 2);
	} else {
		p = put_field_text(p, ": ", text, len);
	}
	out->len = (size_t)(p - out->data);
	return 0;
}

int
sse_encode_gap(struct buf *out, int64_t last_event_id,
    int64_t first_available_id)
{
	char data[96];
	int n = snprintf(data, sizeof data,
	    "{\"lastEventId\":%" PRId64 ",\"firstAvailableId\":%" PRId64 "}",
	    last_event_id, first_available_id);
	struct sse_event ev = {
		.id = -1,
		.type = "sselog.gap",
		.data = data,
		.data_len = (size_t)n,
		.retry = -1,
	};
	return sse_encode_event(out, &ev);
}

/* Bytes that text takes as the inside of a JSON string (RFC 8259, 7):
 * quote, backslash and the C0 controls escaped, the rest as it is (the log
 * holds UTF-8). put_json_text() writes exactly that many. */
static size_t
json_text_len(const char *text, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t')
			n += 1;
		else if (c < 0x20)
			n += 5;		/* \u00XX */
	}
	return n;
}

static char *
put_json_text(char *p, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		switch (c) {
		case '"': p = put(p, "\\\"", 2); break;
		case '\\': p = put(p, "\\\\", 2); break;
		case '\n': p = put(p, "\\n", 2); break;
		case '\r': p = put(p, "\\r", 2); break;
		case '\t': p = put(p, "\\t", 2); break;
		default:
			if (c < 0x20) {
				p = put(p, "\\u00", 4);
				*p++ = hex[c >> 4];
				*p++ = hex[c & 0xf];
			} else {
				*p++ = (char)c;
			}
		}
	}
	return p;
}

int
sse_encode_close(struct buf *out, const struct sse_event *ev,
    const char *stream)
{
	static const char head[] = "{\"stream\":\"", mid[] = "\",\"data\":\"";
	size_t stream_len = strlen(stream);
	size_t json_len = strlen(head) + json_text_len(stream, stream_len) +
	    2;	/* "} */
	if (ev->data_len > 0)
		json_len += strlen(mid) + json_text_len(ev->data, ev->data_len);

	/* The JSON has no line ending in it, so it is one data line: write it
	 * in place of the stored data. */
	struct buf json = BUF_INIT;
	if (buf_reserve_exact(&json, json_len) == -1)
		return -1;
	char *p = json.data;
	p = put(p, head, strlen(head));
	p = put_json_text(p, stream, stream_len);
	if (ev->data_len > 0) {
		p = put(p, mid, strlen(mid));
		p = put_json_text(p, ev->data, ev->data_len);
	}
	p = put(p, "\"}", 2);
	json.len = (size_t)(p - json.data);

	struct sse_event end = *ev;
	end.type = "sselog.close";
	end.data = json.data;
	end.data_len = json.len;
	int rc = sse_encode_event(out, &end);
	buf_free(&json);
	return rc;
}
