/* Unit tests for src/fcgi_input.h: the records after a responder's request
 * head (FastCGI 1.0 specification, sections 3.3, 5.3 and 6.2).
 *
 * Each case is a list of records, written here from the specification,
 * with the body and events it must give. The bytes are fed whole, cut at
 * every position and every pair of positions, and byte by byte: the body,
 * the events and the offsets where END and ABORT are reported (right
 * after their record, padding included, as the builder notes them) must
 * be the same every time.
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

#include "fcgi_input.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Record types, section 8. */
enum {
	BEGIN_REQUEST = 1, ABORT_REQUEST = 2, END_REQUEST = 3, PARAMS = 4,
	STDIN = 5, STDOUT = 6, STDERR = 7, DATA = 8, GET_VALUES = 9,
	UNKNOWN_TYPE = 11,
	RAW = 0x100,		/* not a record: content as raw bytes */
};

#define ID 1			/* the request's id, unless a case says */
#define V1 1

/* One record: version (0 means 1), type, request id (0 means ID unless
 * mgmt), content, padding. */
struct rec {
	unsigned type;
	const char *content;
	unsigned padding;
	unsigned id;
	bool mgmt;		/* request id 0 */
	unsigned version;
};

#define RECS_MAX 12

/* The records of the tables. */
#define R(t, c, p) { .type = (t), .content = (c), .padding = (p) }
#define RID(t, c, p, i) { .type = (t), .content = (c), .padding = (p), \
	.id = (i) }
#define RM(t, c, p) { .type = (t), .content = (c), .padding = (p), \
	.mgmt = true }
#define RV(t, c, v) { .type = (t), .content = (c), .version = (v) }
#define RMV(t, c, v) { .type = (t), .content = (c), .mgmt = true, \
	.version = (v) }
#define RAWB(c) { .type = RAW, .content = (c) }

struct input_case {
	const char *what;
	unsigned id;		/* 0: ID */
	struct rec recs[RECS_MAX];
	const char *body;
	const char *events;	/* "END ABORT ", "ERROR " ...; "" */
	const char *error;	/* for ERROR: the reason, word for word */
};

/* The wire bytes of the records of c; where each ends, for those that
 * are to end in an event. */
struct wire {
	unsigned char bytes[140000];
	size_t len;
	size_t ends[RECS_MAX];	/* offset after each record */
	size_t nrecs;
};

static void
emit(struct wire *w, const struct rec *r, unsigned id)
{
	size_t clen = r->content ? strlen(r->content) : 0;
	unsigned char *p = w->bytes + w->len;

	if (r->type == RAW) {
		assert_true(clen <= sizeof w->bytes - w->len);
		memcpy(p, r->content, clen);
		w->len += clen;
		return;
	}
	assert_true(clen <= 0xFFFF && r->padding <= 0xFF);
	assert_true(8 + clen + r->padding <= sizeof w->bytes - w->len);
	if (r->id != 0)
		id = r->id;
	if (r->mgmt)
		id = 0;
	p[0] = (unsigned char)(r->version ? r->version : V1);
	p[1] = (unsigned char)r->type;
	p[2] = (unsigned char)(id >> 8);
	p[3] = (unsigned char)id;
	p[4] = (unsigned char)(clen >> 8);
	p[5] = (unsigned char)clen;
	p[6] = (unsigned char)r->padding;
	p[7] = 0;
	memcpy(p + 8, r->content ? r->content : "", clen);
	memset(p + 8 + clen, 0xEE, r->padding);
	w->len += 8 + clen + r->padding;
}

static void
build(const struct input_case *c, struct wire *w)
{
	w->len = 0;
	w->nrecs = 0;
	for (size_t i = 0; i < RECS_MAX && c->recs[i].type != 0; i++) {
		emit(w, &c->recs[i], c->id ? c->id : ID);
		w->ends[w->nrecs++] = w->len;
	}
}

/* What the reader made of the bytes: the body, and each event but
 * CONTENT with the offset in the whole input where it was reported. */
struct result {
	char body[140000];
	size_t body_len;
	char events[512];
	size_t offsets[16];
	enum fcgi_input_event kinds[16];
	size_t nevents;
	const char *error;
	bool boundary;		/* at a boundary at the end */
};

static const char *
event_name(enum fcgi_input_event e)
{
	switch (e) {
	case FCGI_INPUT_END: return "END";
	case FCGI_INPUT_ABORT: return "ABORT";
	case FCGI_INPUT_ERROR: return "ERROR";
	default: return "?";
	}
}

/* Feeds the len bytes at bytes in pieces ending at each of the ncuts
 * ascending offsets in cuts, each piece a block of its own size. */
static void
feed(unsigned id, const unsigned char *bytes, size_t len, const size_t *cuts,
    size_t ncuts, struct result *r)
{
	struct fcgi_input in;
	struct fcgi_input_out out;
	size_t from = 0;
	bool final = false;

	memset(r, 0, sizeof *r);
	fcgi_input_init(&in, id);
	for (size_t c = 0; c <= ncuts && !final; c++) {
		size_t to = c < ncuts ? cuts[c] : len;
		size_t n = to - from;
		unsigned char *piece = malloc(n ? n : 1);
		assert_non_null(piece);
		memcpy(piece, bytes + from, n);
		size_t off = 0;
		while (!final) {
			size_t used = fcgi_input_feed(&in, piece + off,
			    n - off, &out);
			assert_true(used <= n - off);
			if (out.event == FCGI_INPUT_MORE) {
				assert_int_equal(used, n - off);
				break;
			}
			if (out.event == FCGI_INPUT_CONTENT) {
				/* 1 or more bytes, inside what was fed,
				 * ending where the consumed bytes do. */
				assert_true(out.len >= 1);
				assert_ptr_equal(out.data + out.len,
				    piece + off + used);
				assert_true(out.data >= piece + off);
				memcpy(r->body + r->body_len, out.data,
				    out.len);
				r->body_len += out.len;
			} else {
				assert_true(r->nevents < NELEM(r->offsets));
				r->kinds[r->nevents] = out.event;
				r->offsets[r->nevents++] = from + off + used;
				strcat(r->events, event_name(out.event));
				strcat(r->events, " ");
				if (out.event == FCGI_INPUT_ERROR) {
					assert_non_null(out.error);
					r->error = out.error;
				}
				if (out.event != FCGI_INPUT_END) {
					final = true;
					/* And again, consuming nothing. */
					struct fcgi_input_out again;
					assert_int_equal(fcgi_input_feed(&in,
					    piece, n, &again), 0);
					assert_int_equal(again.event,
					    out.event);
				}
			}
			off += used;
		}
		free(piece);
		from = to;
	}
	r->boundary = fcgi_input_at_boundary(&in);
}

static void
same(const char *what, const char *how, const struct result *a,
    const struct result *b)
{
	if (a->body_len != b->body_len ||
	    memcmp(a->body, b->body, a->body_len) != 0)
		fail_msg("%s, %s: body of %zu bytes, want %zu", what, how,
		    a->body_len, b->body_len);
	if (strcmp(a->events, b->events) != 0)
		fail_msg("%s, %s: events \"%s\", want \"%s\"", what, how,
		    a->events, b->events);
	for (size_t i = 0; i < a->nevents; i++)
		if (a->offsets[i] != b->offsets[i])
			fail_msg("%s, %s: event %zu at byte %zu, want %zu",
			    what, how, i, a->offsets[i], b->offsets[i]);
	if (a->boundary != b->boundary)
		fail_msg("%s, %s: at a boundary: %d, want %d", what, how,
		    a->boundary, b->boundary);
}

/* For large inputs, the cuts worth making: around the ends of records
 * (header, content and padding edges of the next one), and every 997
 * bytes. */
static bool
near_an_end(const struct wire *w, size_t cut)
{
	if (cut % 997 == 0)
		return true;
	for (size_t k = 0; k < w->nrecs; k++) {
		size_t start = k ? w->ends[k - 1] : 0;
		if ((cut >= start && cut <= start + 10) ||
		    (cut + 270 >= w->ends[k] && cut <= w->ends[k]))
			return true;
	}
	return false;
}

static void
check_case(const struct input_case *c)
{
	static struct wire w;
	static struct result whole, r;
	unsigned id = c->id ? c->id : ID;
	size_t cuts[2];

	build(c, &w);
	feed(id, w.bytes, w.len, NULL, 0, &whole);
	if (whole.body_len != strlen(c->body) ||
	    memcmp(whole.body, c->body, whole.body_len) != 0)
		fail_msg("%s: body \"%.*s\", want \"%s\"", c->what,
		    (int)whole.body_len, whole.body, c->body);
	if (strcmp(whole.events, c->events) != 0)
		fail_msg("%s: events \"%s\", want \"%s\"", c->what,
		    whole.events, c->events);
	if (c->error != NULL &&
	    (whole.error == NULL || strcmp(whole.error, c->error) != 0))
		fail_msg("%s: error \"%s\", want \"%s\"", c->what,
		    whole.error ? whole.error : "(none)", c->error);
	/* END and ABORT right after a record: one the builder noted. */
	for (size_t i = 0; i < whole.nevents; i++) {
		if (whole.kinds[i] == FCGI_INPUT_ERROR)
			continue;
		bool found = false;
		for (size_t k = 0; k < w.nrecs; k++)
			found |= w.ends[k] == whole.offsets[i];
		if (!found)
			fail_msg("%s: event %zu at byte %zu, not at the end "
			    "of a record", c->what, i, whole.offsets[i]);
	}
	for (cuts[0] = 0; cuts[0] <= w.len; cuts[0]++) {
		char how[64];
		if (w.len > 4096 && !near_an_end(&w, cuts[0]))
			continue;
		snprintf(how, sizeof how, "cut at %zu", cuts[0]);
		feed(id, w.bytes, w.len, cuts, 1, &r);
		same(c->what, how, &r, &whole);
		if (w.len > 200)
			continue;	/* pairs: for the small ones */
		for (cuts[1] = cuts[0]; cuts[1] <= w.len; cuts[1]++) {
			snprintf(how, sizeof how, "cut at %zu and %zu",
			    cuts[0], cuts[1]);
			feed(id, w.bytes, w.len, cuts, 2, &r);
			same(c->what, how, &r, &whole);
		}
	}
	size_t *each = malloc((w.len + 1) * sizeof *each);
	assert_non_null(each);
	for (size_t i = 0; i <= w.len; i++)
		each[i] = i;
	feed(id, w.bytes, w.len, each, w.len + 1, &r);
	free(each);
	same(c->what, "byte by byte", &r, &whole);
}

static void
check_cases(const struct input_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

/* Bodies as web servers send them. */
static void
test_bodies(void **state)
{
	static const struct input_case cases[] = {
		{ "no body", 0, { R(STDIN, "", 0) }, "", "END ", NULL },
		{ "one record", 0, { R(STDIN, "hello", 0), R(STDIN, "", 0) },
		    "hello", "END ", NULL },
		{ "nginx's padding to 8", 0, {
		    R(STDIN, "line 1\nline 2\n", 2), R(STDIN, "", 0) },
		    "line 1\nline 2\n", "END ", NULL },
		{ "several records, padded", 0, {
		    R(STDIN, "a", 7), R(STDIN, "bc", 255),
		    R(STDIN, "def", 0), R(STDIN, "", 3) },
		    "abcdef", "END ", NULL },
		{ "a padded end", 0, { R(STDIN, "x", 0), R(STDIN, "", 255) },
		    "x", "END ", NULL },
		{ "request id 65535", 0xFFFF, {
		    R(STDIN, "z", 1), R(STDIN, "", 0) }, "z", "END ", NULL },
		{ "request id 256", 0x100, {
		    R(STDIN, "z", 1), R(STDIN, "", 0) }, "z", "END ", NULL },
		{ "content that looks like a header", 0, {
		    R(STDIN, "\x01\x05\x01\x01", 0), R(STDIN, "", 0) },
		    "\x01\x05\x01\x01", "END ", NULL },
		{ "not ended yet", 0, { R(STDIN, "abc", 5) }, "abc", "", NULL },
		{ "a header not whole yet", 0, {
		    R(STDIN, "abc", 0), RAWB("\x01\x05\x00") },
		    "abc", "", NULL },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* What is skipped: FCGI_DATA, types the application sends or that are
 * unknown, management records; none of them ends the body. */
static void
test_skipped(void **state)
{
	static const struct input_case cases[] = {
		{ "FCGI_DATA", 0, {
		    R(DATA, "filter data", 5), R(STDIN, "body", 0),
		    R(DATA, "", 0), R(STDIN, "", 0) }, "body", "END ", NULL },
		{ "FCGI_DATA after the end", 0, {
		    R(STDIN, "", 0), R(DATA, "late", 4) }, "", "END ", NULL },
		{ "types the application sends", 0, {
		    R(STDOUT, "out", 0), R(STDERR, "err", 1),
		    R(END_REQUEST, "12345678", 0), R(STDIN, "b", 0),
		    R(STDIN, "", 0) }, "b", "END ", NULL },
		{ "unknown types", 0, {
		    R(UNKNOWN_TYPE, "?", 0), R(200, "x", 3),
		    R(STDIN, "b", 0), R(255, "", 0), R(STDIN, "", 0) },
		    "b", "END ", NULL },
		{ "FCGI_GET_VALUES", 0, {
		    R(STDIN, "a", 0),
		    RM(GET_VALUES, "\x0e\x00" "FCGI_MAX_CONNS", 2),
		    R(STDIN, "b", 0), R(STDIN, "", 0) }, "ab", "END ", NULL },
		{ "management records after the end", 0, {
		    R(STDIN, "", 0), RM(STDIN, "data", 3),
		    RM(ABORT_REQUEST, "", 0) }, "", "END ", NULL },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* FCGI_ABORT_REQUEST, before or after the end of the body. */
static void
test_abort(void **state)
{
	static const struct input_case cases[] = {
		{ "before any body", 0, { R(ABORT_REQUEST, "", 0) }, "",
		    "ABORT ", NULL },
		{ "in the body", 0, {
		    R(STDIN, "half", 0), R(ABORT_REQUEST, "", 0),
		    R(STDIN, "more", 0) }, "half", "ABORT ", NULL },
		{ "after the end", 0, {
		    R(STDIN, "all", 0), R(STDIN, "", 0),
		    R(ABORT_REQUEST, "", 0) }, "all", "END ABORT ", NULL },
		{ "with content and padding", 0, {
		    R(ABORT_REQUEST, "why", 5), R(STDIN, "", 0) }, "",
		    "ABORT ", NULL },
		{ "then garbage", 0, {
		    R(ABORT_REQUEST, "", 0), RAWB("\x07garbage") }, "",
		    "ABORT ", NULL },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

#define WHY_VERSION "FastCGI record of a version other than 1"
#define WHY_OTHER \
	"FastCGI record of another request on a connection that does not " \
	"multiplex"
#define WHY_STDIN_AFTER "FCGI_STDIN after the end of the request body"
#define WHY_BEGIN "FCGI_BEGIN_REQUEST for a request already begun"
#define WHY_PARAMS "FCGI_PARAMS after the end of the parameters"

/* What a web server never sends: an error, and nothing after it. */
static void
test_malformed(void **state)
{
	static const struct input_case cases[] = {
		{ "version 255", 0, { RV(STDIN, "a", 0xFF),
		    R(STDIN, "", 0) }, "", "ERROR ", WHY_VERSION },
		{ "version 2 after some body", 0, { R(STDIN, "a", 0),
		    RV(STDIN, "b", 2) }, "a", "ERROR ",
		    WHY_VERSION },
		{ "version 255 of a management record", 0, {
		    RMV(GET_VALUES, "", 0xFF) }, "", "ERROR ",
		    WHY_VERSION },
		{ "another request", 0, { RID(STDIN, "a", 0, 2) }, "",
		    "ERROR ", WHY_OTHER },
		{ "another request's begin after the end", 0, {
		    R(STDIN, "", 0), RID(BEGIN_REQUEST, "", 0, 2) }, "", "END ERROR ", WHY_OTHER },
		{ "a request id one byte off", 0x0102, {
		    RID(STDIN, "a", 0, 0x0201) }, "", "ERROR ", WHY_OTHER },
		{ "STDIN after the end", 0, { R(STDIN, "", 0),
		    R(STDIN, "more", 0) }, "", "END ERROR ",
		    WHY_STDIN_AFTER },
		{ "a second end", 0, { R(STDIN, "x", 0), R(STDIN, "", 0),
		    R(STDIN, "", 0) }, "x", "END ERROR ", WHY_STDIN_AFTER },
		{ "FCGI_BEGIN_REQUEST again", 0, {
		    R(BEGIN_REQUEST, "", 0) }, "", "ERROR ",
		    WHY_BEGIN },
		{ "FCGI_PARAMS after the head", 0, {
		    R(STDIN, "a", 0), R(PARAMS, "\1\1AB", 0) }, "a",
		    "ERROR ", WHY_PARAMS },
		{ "an empty FCGI_PARAMS", 0, { R(PARAMS, "", 0) }, "",
		    "ERROR ", WHY_PARAMS },
		{ "bytes that are no record", 0, {
		    RAWB("GET / HTTP/1.1\r\n\r\n") }, "", "ERROR ",
		    WHY_VERSION },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* A record of 65535 content bytes and 255 of padding, on either side of
 * one byte. */
static void
test_largest(void **state)
{
	static char big[65536];
	struct input_case c = {
		.what = "largest records", .events = "END ",
		.recs = { { STDIN, big, 255 }, { STDIN, "!", 0 },
		    { STDIN, big, 255 }, { STDIN, "", 255 } },
	};
	static char want[2 * 65535 + 2];
	(void)state;

	for (size_t i = 0; i < 65535; i++)
		big[i] = (char)('a' + i % 26);
	memcpy(want, big, 65535);
	want[65535] = '!';
	memcpy(want + 65536, big, 65535);
	c.body = want;
	check_case(&c);
}

/* The offsets a caller keeps: after END, the bytes not consumed start at
 * the next record; CONTENT ends each feed. */
static void
test_consumed(void **state)
{
	static const unsigned char bytes[] = {
		1, STDIN, 0, 7, 0, 2, 1, 0, 'h', 'i', 0xEE,
		1, STDIN, 0, 7, 0, 0, 0, 0,
		1, BEGIN_REQUEST, 0, 8, 0, 8, 0, 0,
	};
	struct fcgi_input in;
	struct fcgi_input_out out;
	(void)state;

	fcgi_input_init(&in, 7);
	assert_true(fcgi_input_at_boundary(&in));
	size_t n = fcgi_input_feed(&in, bytes, sizeof bytes, &out);
	assert_int_equal(out.event, FCGI_INPUT_CONTENT);
	assert_int_equal(n, 10);
	assert_ptr_equal(out.data, bytes + 8);
	assert_int_equal(out.len, 2);
	assert_false(fcgi_input_at_boundary(&in));	/* the padding */
	n += fcgi_input_feed(&in, bytes + n, sizeof bytes - n, &out);
	assert_int_equal(out.event, FCGI_INPUT_END);
	assert_int_equal(n, 19);
	assert_true(fcgi_input_at_boundary(&in));
	/* The next request's begin (after this one's end) is the next
	 * head's: the caller stops feeding at END. Fed here, it is an
	 * error, reported after its header. */
	n += fcgi_input_feed(&in, bytes + n, sizeof bytes - n, &out);
	assert_int_equal(out.event, FCGI_INPUT_ERROR);
	assert_string_equal(out.error, WHY_OTHER);
	assert_int_equal(n, sizeof bytes);
	/* Nothing, from nothing. */
	fcgi_input_init(&in, 7);
	assert_int_equal(fcgi_input_feed(&in, NULL, 0, &out), 0);
	assert_int_equal(out.event, FCGI_INPUT_MORE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_consumed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
