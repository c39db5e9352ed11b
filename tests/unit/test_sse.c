/* Unit tests for src/sse.h: the text/event-stream encoder.
 *
 * Besides exact bytes, the output is read back with a small parser that
 * follows WHATWG HTML 9.2.6 "Interpreting an event stream", so that what a
 * browser would see is checked too, not only what we think we wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "sse.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* ---- a WHATWG event-stream parser ---- */

struct parsed_event {
	char *type;		/* "message" when the stream gave none */
	struct buf data;
	char *last_id;		/* the last event ID string at dispatch */
};

struct parser {
	struct parsed_event *events;
	size_t n;
	struct buf data;	/* the data buffer */
	struct buf type;	/* the event type buffer */
	struct buf id;		/* the last event ID buffer */
	int64_t retry;		/* reconnection time; -1 until set */
};

static char *
buf_strdup(const struct buf *b)
{
	char *s = malloc(b->len + 1);

	assert_non_null(s);
	if (b->len > 0)
		memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	return s;
}

/* "Dispatch the event". */
static void
parser_dispatch(struct parser *p)
{
	if (p->data.len == 0) {
		buf_clear(&p->type);
		return;
	}
	if (p->data.data[p->data.len - 1] == '\n')
		p->data.len--;
	p->events = realloc(p->events, (p->n + 1) * sizeof *p->events);
	assert_non_null(p->events);
	struct parsed_event *ev = &p->events[p->n++];
	if (p->type.len == 0) {
		ev->type = strdup("message");
		assert_non_null(ev->type);
	} else {
		ev->type = buf_strdup(&p->type);
	}
	ev->data = p->data;	/* hand the bytes over */
	ev->last_id = buf_strdup(&p->id);
	p->data = (struct buf)BUF_INIT;
	buf_clear(&p->type);
}

/* "Process the field" for one line that is neither empty nor a comment. */
static void
parser_field(struct parser *p, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t value_len = (size_t)(line + len - value);

	if (value_len > 0 && value[0] == ' ') {
		value++;
		value_len--;
	}
#define IS(name) (name_len == strlen(name) && memcmp(line, name, name_len) == 0)
	if (IS("event")) {
		buf_clear(&p->type);
		assert_int_equal(buf_append(&p->type, value, value_len), 0);
	} else if (IS("data")) {
		assert_int_equal(buf_append(&p->data, value, value_len), 0);
		assert_int_equal(buf_append(&p->data, "\n", 1), 0);
	} else if (IS("id")) {
		if (memchr(value, '\0', value_len) == NULL) {
			buf_clear(&p->id);
			assert_int_equal(buf_append(&p->id, value, value_len),
			    0);
		}
	} else if (IS("retry")) {
		int64_t v = 0;
		size_t i;
		for (i = 0; i < value_len && value[i] >= '0' &&
		    value[i] <= '9'; i++)
			v = v * 10 + (value[i] - '0');
		if (value_len > 0 && i == value_len)
			p->retry = v;
	}
#undef IS
}

/* Parses the whole stream s. Lines end with CRLF, LF or CR; a last line or
 * event without its end is discarded, as at the end of a real stream. */
static void
parse_stream(struct parser *p, const char *s, size_t len)
{
	size_t i = 0;

	memset(p, 0, sizeof *p);
	p->retry = -1;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		size_t start = i;
		while (i < len && s[i] != '\r' && s[i] != '\n')
			i++;
		if (i == len)
			break;		/* no line ending: discarded */
		size_t line_len = i - start;
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			i++;
		i++;
		if (line_len == 0)
			parser_dispatch(p);
		else if (s[start] != ':')
			parser_field(p, s + start, line_len);
	}
}

static void
parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->events[i].type);
		buf_free(&p->events[i].data);
		free(p->events[i].last_id);
	}
	free(p->events);
	buf_free(&p->data);
	buf_free(&p->type);
	buf_free(&p->id);
}

/* ---- helpers ---- */

/* The data as a client gets it back: CRLF and lone CR made LF. */
static struct buf
normalize_newlines(const char *data, size_t len)
{
	struct buf b = BUF_INIT;

	assert_int_equal(buf_reserve(&b, len + 1), 0);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r') {
			b.data[b.len++] = '\n';
			if (i + 1 < len && data[i + 1] == '\n')
				i++;
		} else {
			b.data[b.len++] = data[i];
		}
	}
	return b;
}

static void
assert_bytes(const struct buf *got, const char *want, size_t want_len)
{
	assert_int_equal(got->len, want_len);
	if (want_len > 0)
		assert_memory_equal(got->data, want, want_len);
}

/* Asserts that a parsed event carries ev's data (line endings made LF),
 * type and, when ev has one, id. */
static void
assert_round_trip(const struct parsed_event *got, const struct sse_event *ev,
    const char *prev_id)
{
	struct buf want = normalize_newlines(ev->data, ev->data_len);
	assert_bytes(&got->data, want.data, want.len);
	buf_free(&want);
	assert_string_equal(got->type, ev->type ? ev->type : "message");
	if (ev->id >= 0) {
		char id[32];
		snprintf(id, sizeof id, "%lld", (long long)ev->id);
		assert_string_equal(got->last_id, id);
	} else {
		assert_string_equal(got->last_id, prev_id);
	}
}

/* ---- exact bytes ---- */

struct data_case {
	const char *data;
	size_t len;		/* 0: strlen(data) */
	const char *want;	/* the data: lines that follow "id: 7\n" */
};

/* Every line-ending mix becomes one data: line per line, where LF, CRLF and
 * a lone CR each end exactly one line; empty data is one empty data: line;
 * leading spaces, colons and field names inside the data stay data; and only
 * data_len bytes are read. The client reads each case back as the data with
 * CR and CRLF made LF. */
static void
test_data_lines(void **state)
{
	static const struct data_case cases[] = {
		{ "x", 0, "data: x\n" },
		{ "", 0, "data: \n" },
		{ "a\nb", 0, "data: a\ndata: b\n" },
		{ "a\r\nb", 0, "data: a\ndata: b\n" },
		{ "a\rb", 0, "data: a\ndata: b\n" },
		{ "a\r\r\nb", 0, "data: a\ndata: \ndata: b\n" },
		{ "a\n\rb", 0, "data: a\ndata: \ndata: b\n" },
		{ "a\n\r\nb", 0, "data: a\ndata: \ndata: b\n" },
		{ "a\r\n\nb", 0, "data: a\ndata: \ndata: b\n" },
		{ "a\r\n\r\nb", 0, "data: a\ndata: \ndata: b\n" },
		{ "a\rb\nc\r\nd", 0, "data: a\ndata: b\ndata: c\ndata: d\n" },
		{ "a\n", 0, "data: a\ndata: \n" },
		{ "a\r\n", 0, "data: a\ndata: \n" },
		{ "a\r", 0, "data: a\ndata: \n" },
		{ "\n", 0, "data: \ndata: \n" },
		{ "\r", 0, "data: \ndata: \n" },
		{ "\r\n", 0, "data: \ndata: \n" },
		{ "\n\n\n", 0, "data: \ndata: \ndata: \ndata: \n" },
		{ "\r\r", 0, "data: \ndata: \ndata: \n" },
		{ "\r\n\r\n", 0, "data: \ndata: \ndata: \n" },
		{ "\n\r", 0, "data: \ndata: \ndata: \n" },
		{ "\r\r\n", 0, "data: \ndata: \ndata: \n" },
		{ "\na", 0, "data: \ndata: a\n" },
		{ "  x", 0, "data:   x\n" },
		{ " ", 0, "data:  \n" },
		{ ":x", 0, "data: :x\n" },
		{ ":", 0, "data: :\n" },
		{ "data: x", 0, "data: data: x\n" },
		{ "a\nid: 9\nevent: forged\nretry: 1", 0,
		  "data: a\ndata: id: 9\ndata: event: forged\ndata: retry: 1\n" },
		{ "a\r\rdata: b", 0, "data: a\ndata: \ndata: data: b\n" },
		{ "\xc3\xa9\n\xe2\x82\xac", 0, "data: \xc3\xa9\ndata: \xe2\x82\xac\n" },
		{ "abc\ndef", 5, "data: abc\ndata: d\n" },
		{ "abc\r\ndef", 4, "data: abc\ndata: \n" },
		{ "x\ny", 1, "data: x\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct data_case *c = &cases[i];
		struct sse_event ev = {
			.id = 7,
			.type = NULL,
			.data = c->data,
			.data_len = c->len ? c->len : strlen(c->data),
			.retry = -1,
		};
		struct buf out = BUF_INIT, want = BUF_INIT;
		struct parser p;

		assert_int_equal(buf_printf(&want, "id: 7\n%s\n", c->want), 0);
		assert_int_equal(sse_encode_event(&out, &ev), 0);
		assert_bytes(&out, want.data, want.len);

		parse_stream(&p, out.data, out.len);
		assert_int_equal(p.n, 1);
		assert_round_trip(&p.events[0], &ev, "");
		parser_free(&p);
		buf_free(&out);
		buf_free(&want);
	}
}

/* The fields around the data: id: only when the id is not negative,
 * event: only for a type, with CR and LF in it written as spaces, retry:
 * only when set, in the order id, event, retry, data. */
static void
test_fields(void **state)
{
	static const struct {
		int64_t id;
		const char *type;
		int64_t retry;
		const char *want;
	} cases[] = {
		{ -1, NULL, -1, "data: x\n\n" },
		{ INT64_MIN, NULL, -1, "data: x\n\n" },
		{ 0, NULL, -1, "id: 0\ndata: x\n\n" },
		{ 1, NULL, -1, "id: 1\ndata: x\n\n" },
		{ INT64_MAX, NULL, -1, "id: 9223372036854775807\ndata: x\n\n" },
		{ -1, "build", -1, "event: build\ndata: x\n\n" },
		{ -1, "sselog.close", -1, "event: sselog.close\ndata: x\n\n" },
		{ -1, "a b", -1, "event: a b\ndata: x\n\n" },
		{ -1, " a", -1, "event:  a\ndata: x\n\n" },
		{ -1, "a\rb", -1, "event: a b\ndata: x\n\n" },
		{ -1, "a\nb", -1, "event: a b\ndata: x\n\n" },
		{ -1, "a\r\nb", -1, "event: a  b\ndata: x\n\n" },
		{ -1, "\r", -1, "event:  \ndata: x\n\n" },
		{ -1, "x\ndata: forged", -1,
		  "event: x data: forged\ndata: x\n\n" },
		{ -1, NULL, 0, "retry: 0\ndata: x\n\n" },
		{ -1, NULL, 3000, "retry: 3000\ndata: x\n\n" },
		{ -1, NULL, INT64_MIN, "data: x\n\n" },
		{ 42, "tick", 1000,
		  "id: 42\nevent: tick\nretry: 1000\ndata: x\n\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct sse_event ev = {
			.id = cases[i].id,
			.type = cases[i].type,
			.data = "x",
			.data_len = 1,
			.retry = cases[i].retry,
		};
		struct buf out = BUF_INIT;
		struct parser p;

		assert_int_equal(sse_encode_event(&out, &ev), 0);
		assert_bytes(&out, cases[i].want, strlen(cases[i].want));

		/* A client sees one event with one line of data, the retry
		 * when set, and a type that never swallowed the data. */
		parse_stream(&p, out.data, out.len);
		assert_int_equal(p.n, 1);
		assert_bytes(&p.events[0].data, "x", 1);
		assert_int_equal(p.retry, cases[i].retry < 0 ? -1 :
		    cases[i].retry);
		assert_null(strpbrk(p.events[0].type, "\r\n"));
		parser_free(&p);
		buf_free(&out);
	}
}

/* Comments: ":" alone for no text, ": text" otherwise, CR and LF made
 * spaces so a comment stays one line; a client dispatches nothing for it
 * and it does not disturb the event that follows. */
static void
test_comments(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "", ":\n" },
		{ "hi", ": hi\n" },
		{ " x", ":  x\n" },
		{ ":", ": :\n" },
		{ "a\rb\nc", ": a b c\n" },
		{ "a\r\nb", ": a  b\n" },
		{ "\r\n", ":   \n" },
		{ "\n", ":  \n" },
		{ "x\n\ndata: forged\n\n", ": x  data: forged  \n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct parser p;
		struct sse_event ev = { 3, NULL, "after", 5, -1 };

		assert_int_equal(sse_encode_comment(&out, cases[i].text), 0);
		assert_bytes(&out, cases[i].want, strlen(cases[i].want));

		assert_int_equal(sse_encode_event(&out, &ev), 0);
		parse_stream(&p, out.data, out.len);
		assert_int_equal(p.n, 1);
		assert_round_trip(&p.events[0], &ev, "");
		parser_free(&p);
		buf_free(&out);
	}
}

/* The gap event: type sselog.gap, the JSON object as its one data line,
 * and no id line, so the client's last event ID does not move. */
static void
test_gap(void **state)
{
	static const struct {
		int64_t last, first;
		const char *want;
	} cases[] = {
		{ 0, 1, "event: sselog.gap\n"
		  "data: {\"lastEventId\":0,\"firstAvailableId\":1}\n\n" },
		{ 5, 9, "event: sselog.gap\n"
		  "data: {\"lastEventId\":5,\"firstAvailableId\":9}\n\n" },
		{ INT64_MAX - 1, INT64_MAX, "event: sselog.gap\n"
		  "data: {\"lastEventId\":9223372036854775806,"
		  "\"firstAvailableId\":9223372036854775807}\n\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct parser p;
		struct sse_event before = { 4, NULL, "x", 1, -1 };

		assert_int_equal(sse_encode_gap(&out, cases[i].last,
		    cases[i].first), 0);
		assert_bytes(&out, cases[i].want, strlen(cases[i].want));

		/* After an event with id 4, the gap leaves the client at 4. */
		buf_clear(&out);
		assert_int_equal(sse_encode_event(&out, &before), 0);
		assert_int_equal(sse_encode_gap(&out, cases[i].last,
		    cases[i].first), 0);
		parse_stream(&p, out.data, out.len);
		assert_int_equal(p.n, 2);
		assert_string_equal(p.events[1].type, "sselog.gap");
		assert_string_equal(p.events[1].last_id, "4");
		parser_free(&p);
		buf_free(&out);
	}
}

/* A close event's data is one line of JSON naming its stream; stored
 * text rides along as "data", escaped so that no byte can end the line or
 * the string early; id and retry are kept. */
static void
test_close(void **state)
{
	static const struct {
		const char *stream;
		const char *data;
		size_t data_len;
		int64_t retry;
		const char *want;
	} cases[] = {
		{ "build/42", "", 0, -1,
		  "id: 9\nevent: sselog.close\ndata: {\"stream\":\"build/42\"}\n\n" },
		{ "a", "ok", 2, 500, "id: 9\nevent: sselog.close\nretry: 500\n"
		  "data: {\"stream\":\"a\",\"data\":\"ok\"}\n\n" },
		{ "a", "q\"b\\\r\n\t\x01\x1f\x7f\xc3\xa9", 12, -1,
		  "id: 9\nevent: sselog.close\ndata: {\"stream\":\"a\","
		  "\"data\":\"q\\\"b\\\\\\r\\n\\t\\u0001\\u001f\x7f\xc3\xa9\"}\n\n" },
		{ "a", "x\0y", 3, -1, "id: 9\nevent: sselog.close\n"
		  "data: {\"stream\":\"a\",\"data\":\"x\\u0000y\"}\n\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct sse_event ev = { 9, "sselog.close", cases[i].data,
		    cases[i].data_len, cases[i].retry };

		assert_int_equal(buf_append(&out, "p", 1), 0);
		assert_int_equal(sse_encode_close(&out, &ev, cases[i].stream),
		    0);
		assert_int_equal(out.len, 1 + strlen(cases[i].want));
		assert_memory_equal(out.data, "p", 1);
		assert_memory_equal(out.data + 1, cases[i].want, out.len - 1);
		buf_free(&out);
	}
}

/* Encoding appends: what was in the buffer stays, byte for byte, whatever
 * its size relative to the buffer's capacity. */
static void
test_appends(void **state)
{
	static const size_t before[] = { 0, 1, 200, 255, 256, 5000 };
	static const char event[] = "id: 1\nevent: t\ndata: a\ndata: b\n\n";
	(void)state;

	for (size_t i = 0; i < NELEM(before); i++) {
		struct buf out = BUF_INIT;
		struct sse_event ev = { 1, "t", "a\nb", 3, -1 };

		for (size_t k = 0; k < before[i]; k++)
			assert_int_equal(buf_append(&out, "p", 1), 0);
		assert_int_equal(sse_encode_event(&out, &ev), 0);
		assert_int_equal(out.len, before[i] + strlen(event));
		for (size_t k = 0; k < before[i]; k++)
			assert_int_equal(out.data[k], 'p');
		assert_memory_equal(out.data + before[i], event,
		    strlen(event));
		buf_free(&out);
	}
}

/* Fills b with filler bytes so that exactly room bytes are left before its
 * capacity, which is at least min_cap. */
static void
leave_room(struct buf *b, size_t min_cap, size_t room)
{
	assert_int_equal(buf_reserve(b, min_cap + room), 0);
	while (b->cap - b->len > room)
		assert_int_equal(buf_append(b, "f", 1), 0);
	assert_int_equal(b->cap - b->len, room);
}

/* The encoders reserve all they write: with one byte less room than the
 * output needs the buffer must grow, with exactly the room or more it need
 * not; in every case len stays within cap, the filler stays, and the bytes
 * are right. (An encoder that counted lines or bytes short would write past
 * the end, which valgrind reports too.) */
static void
test_tight_room(void **state)
{
	static const struct {
		const char *type;	/* "#": a comment of the data instead */
		const char *data;
		const char *want;
	} cases[] = {
		{ NULL, "", "id: 7\ndata: \n\n" },
		{ NULL, "x", "id: 7\ndata: x\n\n" },
		{ NULL, "\r", "id: 7\ndata: \ndata: \n\n" },
		{ NULL, "\r\r\r\r", "id: 7\ndata: \ndata: \ndata: \ndata: \n"
		  "data: \n\n" },
		{ NULL, "\n\n\n\n", "id: 7\ndata: \ndata: \ndata: \ndata: \n"
		  "data: \n\n" },
		{ NULL, "\r\n\r\n", "id: 7\ndata: \ndata: \ndata: \n\n" },
		{ NULL, "a\rb\nc\r\nd", "id: 7\ndata: a\ndata: b\ndata: c\n"
		  "data: d\n\n" },
		{ "t\r\n", "x", "id: 7\nevent: t  \ndata: x\n\n" },
		{ "#", "", ":\n" },
		{ "#", "hi", ": hi\n" },
		{ "#", "a\r\nb", ": a  b\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t want_len = strlen(cases[i].want);
		for (size_t room = want_len - 1; room <= want_len + 1; room++) {
			struct buf out = BUF_INIT;
			struct sse_event ev = { 7, cases[i].type,
			    cases[i].data, strlen(cases[i].data), -1 };
			int rc;

			leave_room(&out, 256, room);
			size_t filler = out.len, cap = out.cap;
			if (ev.type != NULL && strcmp(ev.type, "#") == 0)
				rc = sse_encode_comment(&out, cases[i].data);
			else
				rc = sse_encode_event(&out, &ev);
			assert_int_equal(rc, 0);
			assert_true(out.len <= out.cap);
			assert_int_equal(out.len, filler + want_len);
			if (room < want_len)
				assert_true(out.cap > cap);
			for (size_t k = 0; k < filler; k++)
				assert_int_equal(out.data[k], 'f');
			assert_memory_equal(out.data + filler, cases[i].want,
			    want_len);
			buf_free(&out);
		}
	}
}

/* ---- round trip of large data ---- */

/* Fills len bytes of data from an alphabet, with a line ending every so
 * often chosen among those allowed, deterministically from seed. */
static char *
make_data(size_t len, unsigned seed, const char *const *endings,
    unsigned line_every)
{
	static const char alphabet[] = "abc XYZ:019 \t{}\"\\/";
	char *d = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;
	size_t i = 0;

	assert_non_null(d);
	while (i < len) {
		x = x * 1664525u + 1013904223u;
		if (endings[0] != NULL && line_every > 0 &&
		    (x >> 8) % line_every == 0) {
			size_t k = 0;
			while (endings[k] != NULL)
				k++;
			const char *e = endings[(x >> 20) % k];
			for (; *e != '\0' && i < len; e++)
				d[i++] = *e;
		} else if ((x >> 24) % 16 == 0 && i + 2 <= len) {
			d[i++] = '\xc3';	/* é: UTF-8 passes untouched */
			d[i++] = '\xa9';
		} else {
			d[i++] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
		}
	}
	return d;
}

/* 1 MiB of data with every mix of line endings, encoded three events to
 * a buffer, reads back as the same three events, each with its data intact
 * but for CR and CRLF made LF. */
static void
test_round_trip_large(void **state)
{
	static const char *const lf[] = { "\n", NULL };
	static const char *const crlf[] = { "\r\n", NULL };
	static const char *const cr[] = { "\r", NULL };
	static const char *const mixed[] = { "\n", "\r\n", "\r", "\r\r\n",
	    "\n\r", "\n\n", NULL };
	static const char *const none[] = { NULL };
	static const struct {
		size_t len;
		const char *const *endings;
		unsigned line_every;	/* about one line ending per this many */
	} cases[] = {
		{ 1 << 20, lf, 80 },
		{ 1 << 20, crlf, 80 },
		{ 1 << 20, cr, 80 },
		{ 1 << 20, mixed, 40 },
		{ 1 << 20, mixed, 2 },		/* mostly empty lines */
		{ 1 << 20, mixed, 1 },		/* nothing but line endings */
		{ 1 << 20, none, 0 },		/* one line of 1 MiB */
		{ 1, cr, 1 },
		{ 0, none, 0 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct sse_event evs[3];
		char *data[3];
		struct buf out = BUF_INIT;
		struct parser p;

		for (size_t k = 0; k < 3; k++) {
			data[k] = make_data(cases[i].len, (unsigned)(i * 3 + k),
			    cases[i].endings, cases[i].line_every);
			evs[k] = (struct sse_event){
				.id = k == 1 ? -1 : (int64_t)(1000 + k),
				.type = k == 2 ? "big" : NULL,
				.data = data[k],
				.data_len = cases[i].len,
				.retry = k == 0 ? 5000 : -1,
			};
			assert_int_equal(sse_encode_event(&out, &evs[k]), 0);
		}
		parse_stream(&p, out.data, out.len);
		assert_int_equal(p.n, 3);
		assert_round_trip(&p.events[0], &evs[0], "");
		assert_round_trip(&p.events[1], &evs[1], "1000");
		assert_round_trip(&p.events[2], &evs[2], "");
		assert_int_equal(p.retry, 5000);
		parser_free(&p);
		buf_free(&out);
		for (size_t k = 0; k < 3; k++)
			free(data[k]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_lines),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_tight_room),
		cmocka_unit_test(test_round_trip_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
