/* Fuzz target: the text/event-stream encoder (src/sse.h).
 *
 * Input: a flags byte, an id and a retry (8 bytes each), the event type up
 * to a NUL, and the data (the rest, any bytes). The encoder's output is read
 * back with a parser written from WHATWG HTML 9.2.6 "Interpreting an event
 * stream", which must find exactly one event, with the data given (its CR,
 * LF and CRLF made LF), the type (its CR and LF made spaces), id and retry,
 * and no field line other than data, id, event and retry. Flags also select
 * sse_encode_comment() (one comment line, nothing dispatched) and
 * sse_encode_gap(), and bytes already in the buffer, which must stay.
 */
#include <inttypes.h>

#include "buf.h"
#include "fuzz.h"
#include "sse.h"

enum {
	F_ID = 1 << 0,
	F_TYPE = 1 << 1,
	F_RETRY = 1 << 2,
	F_COMMENT = 1 << 3,
	F_GAP = 1 << 4,
	F_PREFIX = 1 << 5,
};

/* What the parser read: the fields of one event, by kind. */
struct parsed {
	size_t lines;		/* lines read, blank ones included */
	size_t blank;		/* blank lines: events dispatched */
	size_t comments;
	size_t data_lines;
	size_t ids, events, retries;
	struct buf data;	/* the data buffer, lines joined with LF */
	struct buf id, type, retry;
	struct buf comment;	/* the last comment's text after ':' */
	bool blank_last;	/* the last line read was blank */
	bool tail;		/* bytes after the last line ending */
};

static void
set_buf(struct buf *b, const char *s, size_t n)
{
	buf_clear(b);
	CHECK(buf_append(b, s, n) == 0);
}

/* WHATWG 9.2.6: a line is a field name, optionally ':' and a value whose
 * one leading space is dropped. */
static void
parse_line(struct parsed *r, const char *line, size_t len)
{
	r->lines++;
	r->blank_last = len == 0;
	if (len == 0) {
		r->blank++;
		return;
	}
	const char *colon = memchr(line, ':', len);
	if (colon == line) {
		r->comments++;
		set_buf(&r->comment, line + 1, len - 1);
		return;
	}
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t vlen = colon ? len - nlen - 1 : 0;
	if (vlen > 0 && value[0] == ' ') {
		value++;
		vlen--;
	}
#define NAME_IS(s) (nlen == strlen(s) && memcmp(line, s, nlen) == 0)
	if (NAME_IS("data")) {
		r->data_lines++;
		CHECK(buf_append(&r->data, value, vlen) == 0);
		CHECK(buf_append(&r->data, "\n", 1) == 0);
	} else if (NAME_IS("id")) {
		r->ids++;
		set_buf(&r->id, value, vlen);
	} else if (NAME_IS("event")) {
		r->events++;
		set_buf(&r->type, value, vlen);
	} else if (NAME_IS("retry")) {
		r->retries++;
		set_buf(&r->retry, value, vlen);
	} else {
		fprintf(stderr, "unexpected field \"%.*s\"\n", (int)nlen, line);
		CHECK(!"a field other than data, id, event or retry");
	}
#undef NAME_IS
}

/* Splits s into lines at CRLF, LF or a lone CR, as a browser does. */
static void
parse_stream(struct parsed *r, const char *s, size_t len)
{
	size_t start = 0, i = 0;

	while (i < len) {
		if (s[i] != '\r' && s[i] != '\n') {
			i++;
			continue;
		}
		parse_line(r, s + start, i - start);
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			i++;
		start = ++i;
	}
	r->tail = start < len;
}

static void
parsed_free(struct parsed *r)
{
	buf_free(&r->data);
	buf_free(&r->id);
	buf_free(&r->type);
	buf_free(&r->retry);
	buf_free(&r->comment);
}

static bool
buf_equals(const struct buf *b, const char *s, size_t n)
{
	return b->len == n && (n == 0 || memcmp(b->data, s, n) == 0);
}

/* The decimal digits of v >= 0, written without printf. */
static size_t
decimal(int64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, k = 0;
	uint64_t u = (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	while (n > 0)
		out[k++] = tmp[--n];
	return k;
}

static void
check_event(const char *out, size_t len, int64_t id, const char *type,
    const char *data, size_t data_len, int64_t retry)
{
	struct parsed r = { 0 };
	char num[24];
	size_t n;

	parse_stream(&r, out, len);
	CHECK(!r.tail);				/* ends with a line ending */
	CHECK(len >= 2 && out[len - 1] == '\n' && out[len - 2] == '\n');
	CHECK(r.blank == 1 && r.blank_last);	/* one event, at the end */
	CHECK(r.comments == 0);

	/* The data: CRLF, CR and LF all become LF, one data line each. */
	struct buf want = BUF_INIT;
	size_t endings = 0;
	for (size_t i = 0; i < data_len; i++) {
		if (data[i] == '\r' || data[i] == '\n') {
			endings++;
			if (data[i] == '\r' && i + 1 < data_len &&
			    data[i + 1] == '\n')
				i++;
			CHECK(buf_append(&want, "\n", 1) == 0);
		} else {
			CHECK(buf_append(&want, data + i, 1) == 0);
		}
	}
	CHECK(r.data_lines == endings + 1);
	/* The parser's buffer ends with the LF a browser strips. */
	CHECK(r.data.len >= 1 && r.data.data[r.data.len - 1] == '\n');
	CHECK(want.len == r.data.len - 1 &&
	    (want.len == 0 || memcmp(want.data, r.data.data, want.len) == 0));
	buf_free(&want);

	if (id >= 0) {
		n = decimal(id, num);
		CHECK(r.ids == 1 && buf_equals(&r.id, num, n));
	} else {
		CHECK(r.ids == 0);
	}
	if (retry >= 0) {
		n = decimal(retry, num);
		CHECK(r.retries == 1 && buf_equals(&r.retry, num, n));
	} else {
		CHECK(r.retries == 0);
	}
	if (type != NULL) {
		size_t tlen = strlen(type);
		CHECK(r.events == 1 && r.type.len == tlen);
		for (size_t i = 0; i < tlen; i++) {
			char c = type[i] == '\r' || type[i] == '\n' ? ' ' :
			    type[i];
			CHECK(r.type.data[i] == c);
		}
	} else {
		CHECK(r.events == 0);
	}
	parsed_free(&r);
}

static void
check_comment(const char *out, size_t len, const char *text)
{
	struct parsed r = { 0 };
	size_t tlen = strlen(text);

	parse_stream(&r, out, len);
	CHECK(!r.tail && len > 0 && out[len - 1] == '\n');
	CHECK(r.lines == 1 && r.comments == 1 && r.blank == 0);
	if (tlen == 0) {
		CHECK(r.comment.len == 0);
	} else {
		CHECK(r.comment.len == tlen + 1 && r.comment.data[0] == ' ');
		for (size_t i = 0; i < tlen; i++) {
			char c = text[i] == '\r' || text[i] == '\n' ? ' ' :
			    text[i];
			CHECK(r.comment.data[i + 1] == c);
		}
	}
	parsed_free(&r);
}

static void
check_gap(const char *out, size_t len, int64_t last, int64_t first)
{
	struct parsed r = { 0 };
	char want[96];

	parse_stream(&r, out, len);
	CHECK(!r.tail && r.blank == 1 && r.blank_last && r.comments == 0);
	CHECK(r.ids == 0 && r.retries == 0 && r.data_lines == 1);
	CHECK(buf_equals(&r.type, "sselog.gap", strlen("sselog.gap")));
	int n = snprintf(want, sizeof want,
	    "{\"lastEventId\":%" PRId64 ",\"firstAvailableId\":%" PRId64 "}\n",
	    last, first);
	CHECK(n > 0 && buf_equals(&r.data, want, (size_t)n));
	parsed_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	struct input in = { bytes, size };
	uint8_t flags = take_u8(&in);
	uint64_t raw_id = take_uint(&in, 8), raw_retry = take_uint(&in, 8);
	/* Ids and retries: non-negative when the flag is set, else negative
	 * (any negative value means "no such line"). */
	int64_t id = flags & F_ID ? (int64_t)(raw_id & INT64_MAX) :
	    (int64_t)(raw_id | (UINT64_C(1) << 63));
	int64_t retry = flags & F_RETRY ? (int64_t)(raw_retry & INT64_MAX) :
	    (int64_t)(raw_retry | (UINT64_C(1) << 63));
	char *type = take_string(&in, NULL);
	size_t data_len;
	uint8_t *data = take_rest(&in, &data_len);

	/* Bytes already in the buffer, such as the previous event, must be
	 * left as they were. */
	static const char before[] = "id: 1\ndata: before\n\n";
	struct buf out = BUF_INIT;
	size_t start = 0;
	if (flags & F_PREFIX) {
		CHECK(buf_append_str(&out, before) == 0);
		start = out.len;
	}

	if (flags & F_COMMENT) {
		CHECK(sse_encode_comment(&out, type) == 0);
		check_comment(out.data + start, out.len - start, type);
	} else if (flags & F_GAP) {
		CHECK(sse_encode_gap(&out, (int64_t)raw_id,
		    (int64_t)raw_retry) == 0);
		check_gap(out.data + start, out.len - start, (int64_t)raw_id,
		    (int64_t)raw_retry);
	} else {
		struct sse_event ev = {
			.id = id,
			.type = flags & F_TYPE ? type : NULL,
			.data = (const char *)data,
			.data_len = data_len,
			.retry = retry,
		};
		CHECK(sse_encode_event(&out, &ev) == 0);
		check_event(out.data + start, out.len - start, id, ev.type,
		    ev.data, data_len, retry);
	}
	if (flags & F_PREFIX)
		CHECK(memcmp(out.data, before, strlen(before)) == 0);

	buf_free(&out);
	free(type);
	free(data);
	return 0;
}
