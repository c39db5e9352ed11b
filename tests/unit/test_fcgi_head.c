/* Unit tests for src/fcgi_head.h: the verdict on the first bytes of a
 * FastCGI connection (FastCGI 1.0 specification, sections 3.3, 3.4, 5.1
 * and 8).
 *
 * The heads are built here from the specification, record by record and
 * pair by pair; the expected verdicts, request ids and roles are written
 * in the tables, and the places where a verdict is due are worked out from
 * the records' sizes, not from the code under test.
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

#include "fcgi_head.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* From the specification, section 8. */
#define SPEC_VERSION_1 1
#define SPEC_BEGIN_REQUEST 1
#define SPEC_ABORT_REQUEST 2
#define SPEC_END_REQUEST 3
#define SPEC_PARAMS 4
#define SPEC_STDIN 5
#define SPEC_STDOUT 6
#define SPEC_DATA 8
#define SPEC_GET_VALUES 9
#define SPEC_RESPONDER 1
#define SPEC_AUTHORIZER 2
#define SPEC_FILTER 3
#define SPEC_KEEP_CONN 1

static const char *const verdict_names[] = {
	"WAIT", "READY", "BAD", "TOO_LARGE", "UNKNOWN_ROLE",
};

static const char *
verdict_name(enum fcgi_head_verdict v)
{
	return (unsigned)v < NELEM(verdict_names) ? verdict_names[v] : "?";
}

/* ---- building heads ---- */

struct bytes {
	unsigned char *data;
	size_t len, cap;
};

static void
put(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		assert_non_null(b->data);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
put_byte(struct bytes *b, unsigned c)
{
	unsigned char x = (unsigned char)c;

	put(b, &x, 1);
}

static void
put_fill(struct bytes *b, int c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_byte(b, (unsigned)c);
}

static void
bytes_free(struct bytes *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* A record (section 3.3): version, type, requestId (B1, B0),
 * contentLength (B1, B0), paddingLength, reserved, then the content and
 * the padding (filled with 0xEE: nobody may read it). */
static void
put_record_v(struct bytes *b, unsigned version, unsigned type, unsigned id,
    const void *content, size_t clen, unsigned padding)
{
	assert_true(clen <= 0xFFFF && padding <= 0xFF);
	put_byte(b, version);
	put_byte(b, type);
	put_byte(b, id >> 8 & 0xFF);
	put_byte(b, id & 0xFF);
	put_byte(b, clen >> 8 & 0xFF);
	put_byte(b, clen & 0xFF);
	put_byte(b, padding);
	put_byte(b, 0);
	put(b, content, clen);
	put_fill(b, 0xEE, padding);
}

static void
put_record(struct bytes *b, unsigned type, unsigned id, const void *content,
    size_t clen, unsigned padding)
{
	put_record_v(b, SPEC_VERSION_1, type, id, content, clen, padding);
}

/* FCGI_BEGIN_REQUEST (section 5.1): role (B1, B0), flags, 5 reserved. */
static void
put_begin(struct bytes *b, unsigned id, unsigned role, unsigned padding)
{
	const unsigned char body[8] = {
		(unsigned char)(role >> 8), (unsigned char)role,
		SPEC_KEEP_CONN, 0, 0, 0, 0, 0,
	};

	put_record(b, SPEC_BEGIN_REQUEST, id, body, sizeof body, padding);
}

/* A length of a name-value pair (section 3.4): one byte when below 128
 * unless four are asked for, else four with the top bit set. */
static void
put_length(struct bytes *b, size_t n, bool four)
{
	if (n > 127 || four) {
		put_byte(b, 0x80 | (unsigned)(n >> 24 & 0x7F));
		put_byte(b, (unsigned)(n >> 16 & 0xFF));
		put_byte(b, (unsigned)(n >> 8 & 0xFF));
		put_byte(b, (unsigned)(n & 0xFF));
	} else {
		put_byte(b, (unsigned)n);
	}
}

static void
put_pair(struct bytes *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	put_length(b, nl, false);
	put_length(b, vl, false);
	put(b, name, nl);
	put(b, value, vl);
}

/* FCGI_PARAMS records carrying the pairs p, at most chunk content bytes
 * each, then the empty one. */
static void
put_params(struct bytes *b, unsigned id, const struct bytes *p, size_t chunk,
    unsigned padding)
{
	for (size_t off = 0; off < p->len; off += chunk) {
		size_t n = p->len - off < chunk ? p->len - off : chunk;
		put_record(b, SPEC_PARAMS, id, p->data + off, n, padding);
	}
	put_record(b, SPEC_PARAMS, id, NULL, 0, padding);
}

/* The parameters nginx sends for GET /events/build/42 with its default
 * fastcgi_params, plus the browser's headers. */
static void
nginx_pairs(struct bytes *p)
{
	static const char *const pairs[][2] = {
		{ "QUERY_STRING", "lastEventId=17" },
		{ "REQUEST_METHOD", "GET" },
		{ "CONTENT_TYPE", "" },
		{ "CONTENT_LENGTH", "" },
		{ "SCRIPT_NAME", "/events/build/42" },
		{ "REQUEST_URI", "/events/build/42?lastEventId=17" },
		{ "DOCUMENT_URI", "/events/build/42" },
		{ "DOCUMENT_ROOT", "/usr/share/nginx/html" },
		{ "SERVER_PROTOCOL", "HTTP/1.1" },
		{ "REQUEST_SCHEME", "http" },
		{ "GATEWAY_INTERFACE", "CGI/1.1" },
		{ "SERVER_SOFTWARE", "nginx/1.22.1" },
		{ "REMOTE_ADDR", "127.0.0.1" },
		{ "REMOTE_PORT", "51234" },
		{ "SERVER_ADDR", "127.0.0.1" },
		{ "SERVER_PORT", "80" },
		{ "SERVER_NAME", "localhost" },
		{ "REDIRECT_STATUS", "200" },
		{ "HTTP_HOST", "localhost" },
		{ "HTTP_ACCEPT", "text/event-stream" },
		{ "HTTP_CACHE_CONTROL", "no-cache" },
		{ "HTTP_LAST_EVENT_ID", "41" },
		{ "HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64) "
		    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
		    "Safari/537.36 and some more to pass 127 bytes of value, "
		    "which takes a four-byte length" },
	};

	for (size_t i = 0; i < NELEM(pairs); i++)
		put_pair(p, pairs[i][0], pairs[i][1]);
}

/* nginx's head: FCGI_BEGIN_REQUEST with FCGI_KEEP_CONN, one FCGI_PARAMS
 * record padded to a multiple of 8, the empty one. */
static void
nginx_head(struct bytes *b, unsigned id)
{
	struct bytes p = { 0 };

	nginx_pairs(&p);
	put_begin(b, id, SPEC_RESPONDER, 0);
	put_record(b, SPEC_PARAMS, id, p.data, p.len,
	    (unsigned)((8 - p.len % 8) % 8));
	put_record(b, SPEC_PARAMS, id, NULL, 0, 0);
	bytes_free(&p);
}

/* ---- checking ---- */

static enum fcgi_head_verdict
judge(const unsigned char *buf, size_t len, struct fcgi_head *head)
{
	/* Exactly len bytes, so that ASan sees a read past them. */
	unsigned char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, buf, len);
	memset(head, 0xA5, sizeof *head);
	enum fcgi_head_verdict v = fcgi_head_check(copy, len, head);
	free(copy);
	return v;
}

/* The bytes of a whole head at buf, walked record by record: the begin
 * record, then FCGI_PARAMS records through the first empty one, each
 * with its padding. */
static size_t
head_length(const unsigned char *buf, size_t len)
{
	size_t start = 0;

	for (;;) {
		assert_true(start + 8 <= len);
		const unsigned char *r = buf + start;
		size_t clen = (size_t)r[4] << 8 | r[5];
		size_t end = start + 8 + clen + r[6];
		assert_true(end <= len);
		if (start > 0 && clen == 0)
			return end;
		start = end;
	}
}

/* The verdict on the first len bytes is want; with the request id and
 * role for READY, TOO_LARGE and UNKNOWN_ROLE; for WAIT, head.need is past
 * len; for READY, head.length is the head's bytes, whatever follows. */
static void
expect(const char *what, const unsigned char *buf, size_t len,
    enum fcgi_head_verdict want, unsigned id, unsigned role)
{
	struct fcgi_head head;
	enum fcgi_head_verdict v = judge(buf, len, &head);

	if (v != want)
		fail_msg("%s (%zu bytes): %s, want %s", what, len,
		    verdict_name(v), verdict_name(want));
	if (v == FCGI_HEAD_WAIT && head.need <= len)
		fail_msg("%s (%zu bytes): WAIT for %zu bytes", what, len,
		    head.need);
	if (v == FCGI_HEAD_READY || v == FCGI_HEAD_TOO_LARGE ||
	    v == FCGI_HEAD_UNKNOWN_ROLE) {
		if (head.request_id != id)
			fail_msg("%s (%zu bytes): request id %u, want %u",
			    what, len, head.request_id, id);
	}
	if (v == FCGI_HEAD_READY || v == FCGI_HEAD_UNKNOWN_ROLE) {
		if (head.role != role)
			fail_msg("%s (%zu bytes): role %u, want %u", what,
			    len, head.role, role);
	}
	if (v == FCGI_HEAD_READY && head.length != head_length(buf, len))
		fail_msg("%s (%zu bytes): a head of %zu bytes, want %zu",
		    what, len, head.length, head_length(buf, len));
}

/* READY, for a head of exactly head_len bytes followed by the rest of
 * the len bytes at buf. */
static void
expect_length(const char *what, const unsigned char *buf, size_t len,
    size_t head_len)
{
	struct fcgi_head head;
	enum fcgi_head_verdict v = judge(buf, len, &head);

	if (v != FCGI_HEAD_READY || head.length != head_len)
		fail_msg("%s (%zu bytes): %s, a head of %zu bytes; want READY, "
		    "%zu", what, len, verdict_name(v), head.length, head_len);
}

/* The bytes to wait for after the first len of the well-formed records
 * at h: the end of the header being received, or the role's two bytes of
 * the begin record, or else the end of the record's content and padding. */
static size_t
want_need(const struct bytes *h, size_t len)
{
	size_t start = 0;

	for (;;) {
		if (len < start + 8)
			return start + 8;
		if (start == 0 && len < 10)
			return 10;
		const unsigned char *r = h->data + start;
		size_t end = start + 8 + ((size_t)r[4] << 8 | r[5]) + r[6];
		if (len < end)
			return end;
		start = end;
	}
}

/* Every prefix of a whole responder head h (full bytes) is WAIT, for
 * the end of the header or record being received, and every length
 * between the prefix and its need is WAIT as well; h itself is READY,
 * and stays READY with trailing bytes. */
static void
expect_prefixes(const char *what, const struct bytes *h, unsigned id)
{
	struct bytes more = { 0 };

	for (size_t len = 0; len < h->len; len++) {
		struct fcgi_head head;
		enum fcgi_head_verdict v = judge(h->data, len, &head);
		if (v != FCGI_HEAD_WAIT)
			fail_msg("%s: %zu of %zu bytes: %s, want WAIT", what,
			    len, h->len, verdict_name(v));
		if (head.need <= len || head.need > h->len)
			fail_msg("%s: %zu of %zu bytes: WAIT for %zu", what,
			    len, h->len, head.need);
		if (head.need != want_need(h, len))
			fail_msg("%s: %zu of %zu bytes: WAIT for %zu, want "
			    "%zu", what, len, h->len, head.need,
			    want_need(h, len));
		/* The verdict cannot change before need. */
		for (size_t k = len + 1; k < head.need; k++) {
			struct fcgi_head later;
			if (judge(h->data, k, &later) != FCGI_HEAD_WAIT ||
			    later.need != head.need)
				fail_msg("%s: %zu bytes wait for %zu, %zu "
				    "bytes for %zu", what, len, head.need, k,
				    later.need);
			if (k - len > 300)	/* enough: keep it quick */
				break;
		}
	}
	expect(what, h->data, h->len, FCGI_HEAD_READY, id, SPEC_RESPONDER);
	expect_length(what, h->data, h->len, h->len);
	put(&more, h->data, h->len);
	put_record(&more, SPEC_STDIN, id, NULL, 0, 0);
	expect(what, more.data, more.len, FCGI_HEAD_READY, id,
	    SPEC_RESPONDER);
	expect_length(what, more.data, more.len, h->len);
	put_fill(&more, 0xFF, 100);
	expect(what, more.data, more.len, FCGI_HEAD_READY, id,
	    SPEC_RESPONDER);
	expect_length(what, more.data, more.len, h->len);
	bytes_free(&more);
}

/* ---- whole heads ---- */

static void
test_nginx(void **state)
{
	static const unsigned ids[] = { 1, 2, 0x0100, 0xBEEF, 0xFFFF };
	(void)state;

	for (size_t i = 0; i < NELEM(ids); i++) {
		struct bytes h = { 0 };
		nginx_head(&h, ids[i]);
		expect("nginx head", h.data, h.len, FCGI_HEAD_READY, ids[i],
		    SPEC_RESPONDER);
		bytes_free(&h);
	}
}

/* What follows the head is the body, FCGI_STDIN, and none of the head's
 * business: even bytes that are no record at all. */
static void
test_trailing_stdin(void **state)
{
	static const struct {
		const char *what;
		const char *stdin_content;	/* NULL: no STDIN record */
		const char *garbage;		/* raw bytes after it */
		size_t garbage_len;
	} cases[] = {
		{ "empty STDIN", "", "", 0 },
		{ "STDIN with a body", "a=1&b=2", "", 0 },
		{ "STDIN then part of the next", "x", "\1\5\0", 3 },
		{ "bytes that are no record", NULL, "\0\0\0\0\0\0\0\0\0", 9 },
		{ "a half record", NULL, "\1\5\0\1\0\x10", 6 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct bytes h = { 0 };
		nginx_head(&h, 7);
		size_t head_len = h.len;
		if (cases[i].stdin_content != NULL)
			put_record(&h, SPEC_STDIN, 7, cases[i].stdin_content,
			    strlen(cases[i].stdin_content), 3);
		put(&h, cases[i].garbage, cases[i].garbage_len);
		expect(cases[i].what, h.data, h.len, FCGI_HEAD_READY, 7,
		    SPEC_RESPONDER);
		expect_length(cases[i].what, h.data, h.len, head_len);
		bytes_free(&h);
	}
}

/* Heads that must be waited for, then READY. */
static void
test_prefixes(void **state)
{
	(void)state;

	struct bytes h = { 0 };
	nginx_head(&h, 1);
	expect_prefixes("nginx head", &h, 1);
	bytes_free(&h);

	/* No parameters at all: the begin, then the empty record. */
	put_begin(&h, 3, SPEC_RESPONDER, 0);
	put_record(&h, SPEC_PARAMS, 3, NULL, 0, 0);
	expect_prefixes("no parameters", &h, 3);
	bytes_free(&h);

	/* Padded everywhere, the pairs in records of 5 bytes. */
	struct bytes p = { 0 };
	put_pair(&p, "REQUEST_METHOD", "GET");
	put_pair(&p, "PATH_INFO", "/build/42");
	put_begin(&h, 0xABCD, SPEC_RESPONDER, 7);
	put_params(&h, 0xABCD, &p, 5, 3);
	expect_prefixes("padded, small records", &h, 0xABCD);
	bytes_free(&h);
	bytes_free(&p);

	/* A value of 300 bytes: four-byte length, two records. */
	char value[301];
	memset(value, 'v', 300);
	value[300] = '\0';
	put_pair(&p, "HTTP_COOKIE", value);
	put_begin(&h, 9, SPEC_RESPONDER, 0);
	put_params(&h, 9, &p, 200, 0);
	expect_prefixes("long value", &h, 9);
	bytes_free(&h);
	bytes_free(&p);
}

/* The web server may split the pairs anywhere (section 3.4): within a
 * length of one or four bytes, a name or a value. */
static void
test_split_pairs(void **state)
{
	struct bytes p = { 0 };
	char value[200];
	(void)state;

	memset(value, 'x', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	put_pair(&p, "A", "1");
	put_pair(&p, "HTTP_X_LONG", value);	/* four-byte value length */
	put_pair(&p, "", "");
	put_length(&p, 3, true);		/* four bytes for short ones */
	put_length(&p, 2, true);
	put(&p, "KEYvv", 5);
	put_pair(&p, "LAST", "z");

	for (size_t split = 1; split < p.len; split++) {
		struct bytes h = { 0 };
		char what[64];
		put_begin(&h, 42, SPEC_RESPONDER, 0);
		put_record(&h, SPEC_PARAMS, 42, p.data, split, 0);
		put_record(&h, SPEC_PARAMS, 42, p.data + split,
		    p.len - split, (unsigned)(split % 8));
		put_record(&h, SPEC_PARAMS, 42, NULL, 0, 0);
		snprintf(what, sizeof what, "split at %zu of %zu", split,
		    p.len);
		expect(what, h.data, h.len, FCGI_HEAD_READY, 42,
		    SPEC_RESPONDER);
		/* Three headers, the begin's body, the pairs, the padding. */
		expect_length(what, h.data, h.len, 3 * 8 + 8 + 8 + p.len +
		    split % 8);
		/* Before the second record is whole: WAIT. */
		expect(what, h.data, h.len - 9, FCGI_HEAD_WAIT, 0, 0);
		bytes_free(&h);
	}
	/* One byte per record. */
	struct bytes h = { 0 };
	put_begin(&h, 42, SPEC_RESPONDER, 0);
	put_params(&h, 42, &p, 1, 0);
	expect("one byte per record", h.data, h.len, FCGI_HEAD_READY, 42,
	    SPEC_RESPONDER);
	bytes_free(&h);
	bytes_free(&p);
}

/* Name and value lengths of one byte (0 to 127) and four (any, even
 * below 128), each in the smallest and largest form. */
static void
test_length_encodings(void **state)
{
	static const struct {
		size_t name_len, value_len;
		bool name_four, value_four;
	} cases[] = {
		{ 0, 0, false, false },
		{ 1, 0, false, false },
		{ 0, 1, false, false },
		{ 127, 127, false, false },
		{ 128, 0, true, false },
		{ 0, 128, false, true },
		{ 128, 128, true, true },
		{ 1, 1, true, true },
		{ 0, 0, true, true },
		{ 5, 300, false, true },
		{ 300, 5, true, false },
		{ 65535, 1, true, false },
		{ 1, 100000, false, true },
		{ 60000, 60000, true, true },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct bytes p = { 0 }, h = { 0 };
		char what[80];
		put_length(&p, cases[i].name_len, cases[i].name_four);
		put_length(&p, cases[i].value_len, cases[i].value_four);
		put_fill(&p, 'n', cases[i].name_len);
		put_fill(&p, 'v', cases[i].value_len);
		put_begin(&h, 5, SPEC_RESPONDER, 0);
		put_params(&h, 5, &p, 65535, 0);
		snprintf(what, sizeof what, "name %zu (%d bytes), value %zu "
		    "(%d bytes)", cases[i].name_len,
		    cases[i].name_four ? 4 : 1, cases[i].value_len,
		    cases[i].value_four ? 4 : 1);
		expect(what, h.data, h.len, FCGI_HEAD_READY, 5,
		    SPEC_RESPONDER);
		bytes_free(&h);
		bytes_free(&p);
	}
}

/* paddingLength bytes follow the content of any record, the empty one
 * included: the head is whole only with them. */
static void
test_padding(void **state)
{
	static const struct {
		unsigned begin, params, empty;
	} cases[] = {
		{ 0, 0, 0 },
		{ 1, 0, 0 },
		{ 0, 1, 0 },
		{ 0, 0, 1 },
		{ 255, 255, 255 },
		{ 7, 6, 8 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct bytes p = { 0 }, h = { 0 };
		put_pair(&p, "REQUEST_METHOD", "GET");
		put_begin(&h, 2, SPEC_RESPONDER, cases[i].begin);
		put_record(&h, SPEC_PARAMS, 2, p.data, p.len,
		    cases[i].params);
		put_record(&h, SPEC_PARAMS, 2, NULL, 0, cases[i].empty);
		expect("padded", h.data, h.len, FCGI_HEAD_READY, 2,
		    SPEC_RESPONDER);
		expect_length("padded", h.data, h.len,
		    3 * 8 + 8 + p.len + cases[i].begin + cases[i].params +
		    cases[i].empty);
		if (cases[i].empty > 0)
			expect("last padding byte missing", h.data,
			    h.len - 1, FCGI_HEAD_WAIT, 0, 0);
		/* Padding holding what looks like records changes nothing. */
		if (cases[i].begin >= 16) {
			memset(h.data + 16, 0, 16);
			expect("zeros in the padding", h.data, h.len,
			    FCGI_HEAD_READY, 2, SPEC_RESPONDER);
		}
		bytes_free(&h);
		bytes_free(&p);
	}
}

/* ---- refusals ---- */

enum bad_kind {
	BAD_VERSION_0,
	BAD_VERSION_2,
	BAD_PARAMS_VERSION,
	BAD_FIRST_PARAMS,
	BAD_FIRST_STDIN,
	BAD_FIRST_GET_VALUES,
	BAD_FIRST_END_REQUEST,
	BAD_BEGIN_ID_0,
	BAD_BEGIN_LEN_0,
	BAD_BEGIN_LEN_7,
	BAD_BEGIN_LEN_9,
	BAD_PARAMS_OTHER_ID,
	BAD_STDIN_EARLY,
	BAD_ABORT_EARLY,
	BAD_DATA_EARLY,
	BAD_MANAGEMENT,
	BAD_SECOND_BEGIN,
	BAD_STDOUT,
	BAD_EMPTY_AFTER_NAME_LEN,
	BAD_EMPTY_IN_FOUR_BYTE_LEN,
	BAD_EMPTY_IN_NAME,
	BAD_EMPTY_IN_VALUE,
	BAD_EMPTY_BEFORE_VALUE_LEN,
};

/* Builds a head with one fault; returns the bytes it takes to see it
 * (the verdict is BAD from there on, whatever follows). */
static size_t
bad_head(struct bytes *h, enum bad_kind kind)
{
	struct bytes p = { 0 };
	size_t at;

	put_pair(&p, "REQUEST_METHOD", "GET");
	switch (kind) {
	case BAD_VERSION_0:
	case BAD_VERSION_2: {
		const unsigned char body[8] = { 0, SPEC_RESPONDER };
		put_record_v(h, kind == BAD_VERSION_0 ? 0 : 2,
		    SPEC_BEGIN_REQUEST, 1, body, 8, 0);
		at = 8;
		break;
	}
	case BAD_FIRST_PARAMS:
		put_record(h, SPEC_PARAMS, 1, p.data, p.len, 0);
		at = 8;
		break;
	case BAD_FIRST_STDIN:
		put_record(h, SPEC_STDIN, 1, NULL, 0, 0);
		at = 8;
		break;
	case BAD_FIRST_GET_VALUES:
		put_record(h, SPEC_GET_VALUES, 0, NULL, 0, 0);
		at = 8;
		break;
	case BAD_FIRST_END_REQUEST: {
		const unsigned char body[8] = { 0 };
		put_record(h, SPEC_END_REQUEST, 1, body, 8, 0);
		at = 8;
		break;
	}
	case BAD_BEGIN_ID_0:
		put_begin(h, 0, SPEC_RESPONDER, 0);
		at = 8;
		break;
	case BAD_BEGIN_LEN_0:
	case BAD_BEGIN_LEN_7:
	case BAD_BEGIN_LEN_9: {
		const unsigned char body[9] = { 0, SPEC_RESPONDER };
		put_record(h, SPEC_BEGIN_REQUEST, 1, body,
		    kind == BAD_BEGIN_LEN_0 ? 0 :
		    kind == BAD_BEGIN_LEN_7 ? 7 : 9, 0);
		at = 8;
		break;
	}
	default:
		put_begin(h, 1, SPEC_RESPONDER, 0);
		put_record(h, SPEC_PARAMS, 1, p.data, p.len, 0);
		at = h->len + 8;
		switch (kind) {
		case BAD_PARAMS_VERSION:
			put_record_v(h, 0, SPEC_PARAMS, 1, NULL, 0, 0);
			break;
		case BAD_PARAMS_OTHER_ID:
			put_record(h, SPEC_PARAMS, 2, p.data, p.len, 0);
			break;
		case BAD_STDIN_EARLY:
			put_record(h, SPEC_STDIN, 1, "x", 1, 0);
			break;
		case BAD_ABORT_EARLY:
			put_record(h, SPEC_ABORT_REQUEST, 1, NULL, 0, 0);
			break;
		case BAD_DATA_EARLY:
			put_record(h, SPEC_DATA, 1, NULL, 0, 0);
			break;
		case BAD_MANAGEMENT:
			put_record(h, SPEC_GET_VALUES, 0, NULL, 0, 0);
			break;
		case BAD_SECOND_BEGIN:
			put_begin(h, 1, SPEC_RESPONDER, 0);
			break;
		case BAD_STDOUT:
			put_record(h, SPEC_STDOUT, 1, "x", 1, 0);
			break;
		default: {
			/* An incomplete pair, then the empty record. */
			/* A name length; 3 bytes of 4; a name short; a
			 * value short; no value length. */
			static const unsigned char tails[][4] = {
				{ 5 },
				{ 0x80, 0, 1 },
				{ 3, 1, 'A', 'B' },
				{ 1, 3, 'A', 'B' },
				{ 0x80, 0, 0, 1 },
			};
			static const size_t tail_lens[] = { 1, 3, 4, 4, 4 };
			size_t t = (size_t)(kind - BAD_EMPTY_AFTER_NAME_LEN);
			put_record(h, SPEC_PARAMS, 1, tails[t], tail_lens[t],
			    0);
			put_record(h, SPEC_PARAMS, 1, NULL, 0, 0);
			at = h->len;
			break;
		}
		}
		break;
	}
	bytes_free(&p);
	return at;
}

static void
test_bad(void **state)
{
	static const struct {
		enum bad_kind kind;
		const char *what;
	} cases[] = {
		{ BAD_VERSION_0, "version 0" },
		{ BAD_VERSION_2, "version 2" },
		{ BAD_PARAMS_VERSION, "params of version 0" },
		{ BAD_FIRST_PARAMS, "first record FCGI_PARAMS" },
		{ BAD_FIRST_STDIN, "first record FCGI_STDIN" },
		{ BAD_FIRST_GET_VALUES, "first record FCGI_GET_VALUES" },
		{ BAD_FIRST_END_REQUEST, "first record FCGI_END_REQUEST" },
		{ BAD_BEGIN_ID_0, "begin with request id 0" },
		{ BAD_BEGIN_LEN_0, "begin of 0 bytes" },
		{ BAD_BEGIN_LEN_7, "begin of 7 bytes" },
		{ BAD_BEGIN_LEN_9, "begin of 9 bytes" },
		{ BAD_PARAMS_OTHER_ID, "params of another request id" },
		{ BAD_STDIN_EARLY, "FCGI_STDIN before the params end" },
		{ BAD_ABORT_EARLY, "FCGI_ABORT_REQUEST before the params end" },
		{ BAD_DATA_EARLY, "FCGI_DATA before the params end" },
		{ BAD_MANAGEMENT, "management record (id 0)" },
		{ BAD_SECOND_BEGIN, "a second FCGI_BEGIN_REQUEST" },
		{ BAD_STDOUT, "FCGI_STDOUT from the web server" },
		{ BAD_EMPTY_AFTER_NAME_LEN, "end after a name length" },
		{ BAD_EMPTY_IN_FOUR_BYTE_LEN, "end within a four-byte length" },
		{ BAD_EMPTY_IN_NAME, "end within a name" },
		{ BAD_EMPTY_IN_VALUE, "end within a value" },
		{ BAD_EMPTY_BEFORE_VALUE_LEN, "end before a value length" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct bytes h = { 0 };
		size_t at = bad_head(&h, cases[i].kind);
		assert_true(at <= h.len);
		expect(cases[i].what, h.data, h.len, FCGI_HEAD_BAD, 0, 0);
		expect(cases[i].what, h.data, at, FCGI_HEAD_BAD, 0, 0);
		expect(cases[i].what, h.data, at - 1, FCGI_HEAD_WAIT, 0, 0);
		/* What follows cannot mend it. */
		nginx_head(&h, 1);
		expect(cases[i].what, h.data, h.len, FCGI_HEAD_BAD, 0, 0);
		bytes_free(&h);
	}
}

/* Authorizer, filter and roles that do not exist: answered with the
 * request's id, known as soon as the role is (10 bytes). */
static void
test_unknown_role(void **state)
{
	static const struct {
		unsigned role;
		unsigned id;
	} cases[] = {
		{ SPEC_AUTHORIZER, 1 },
		{ SPEC_FILTER, 0x1234 },
		{ 99, 0xFFFF },
		{ 0, 3 },
		{ 0x0100, 4 },	/* 256: the role is two bytes */
		{ 0x0101, 5 },
		{ 0xFFFF, 6 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct bytes h = { 0 };
		char what[48];
		snprintf(what, sizeof what, "role %u", cases[i].role);
		put_begin(&h, cases[i].id, cases[i].role, 2);
		put_record(&h, SPEC_PARAMS, cases[i].id, NULL, 0, 0);
		for (size_t len = 0; len < 10; len++)
			expect(what, h.data, len, FCGI_HEAD_WAIT, 0, 0);
		for (size_t len = 10; len <= h.len; len++)
			expect(what, h.data, len, FCGI_HEAD_UNKNOWN_ROLE,
			    cases[i].id, cases[i].role);
		/* Whatever follows the begin. */
		put_fill(&h, 0, 300);
		expect(what, h.data, h.len, FCGI_HEAD_UNKNOWN_ROLE,
		    cases[i].id, cases[i].role);
		bytes_free(&h);
	}
}

/* ---- limits ---- */

/* A pair stream of exactly n bytes (n >= 9): one name of 4 bytes, one
 * value of the rest, its length in four bytes. */
static void
pairs_of_size(struct bytes *p, size_t n)
{
	put_length(p, 4, false);
	put_length(p, n - 9, true);
	put(p, "NAME", 4);
	put_fill(p, 'v', n - 9);
}

/* FCGI_HEAD_PARAMS_MAX bytes of parameters pass, one more does not,
 * however the records cut them; the verdict comes as soon as the header
 * of the record that passes the bound is in. */
static void
test_params_bound(void **state)
{
	static const size_t chunks[] = { 65535, 32768, 8000, 4096 };
	(void)state;

	assert_int_equal(FCGI_HEAD_PARAMS_MAX, 131072);
	for (size_t i = 0; i < NELEM(chunks); i++) {
		struct bytes p = { 0 }, h = { 0 };
		char what[64];

		snprintf(what, sizeof what, "128 KiB in records of %zu",
		    chunks[i]);
		pairs_of_size(&p, FCGI_HEAD_PARAMS_MAX);
		put_begin(&h, 77, SPEC_RESPONDER, 0);
		put_params(&h, 77, &p, chunks[i], 0);
		expect(what, h.data, h.len, FCGI_HEAD_READY, 77,
		    SPEC_RESPONDER);
		bytes_free(&h);
		bytes_free(&p);

		snprintf(what, sizeof what, "128 KiB + 1 in records of %zu",
		    chunks[i]);
		pairs_of_size(&p, FCGI_HEAD_PARAMS_MAX + 1);
		put_begin(&h, 78, SPEC_RESPONDER, 0);
		put_params(&h, 78, &p, chunks[i], 0);
		/* The record holding byte 131073 ends here; its header
		 * ends before its content. */
		size_t records = (FCGI_HEAD_PARAMS_MAX + 1 + chunks[i] - 1) /
		    chunks[i];
		size_t end = 16 + records * 8 + FCGI_HEAD_PARAMS_MAX + 1;
		size_t last = FCGI_HEAD_PARAMS_MAX + 1 -
		    (records - 1) * chunks[i];
		size_t header_end = end - last;
		assert_true(end <= FCGI_HEAD_BYTES_MAX);
		expect(what, h.data, h.len, FCGI_HEAD_TOO_LARGE, 78, 0);
		expect(what, h.data, header_end, FCGI_HEAD_TOO_LARGE, 78, 0);
		expect(what, h.data, header_end - 1, FCGI_HEAD_WAIT, 0, 0);
		bytes_free(&h);
		bytes_free(&p);
	}

	/* Many pairs, 200 KiB in all. */
	struct bytes p = { 0 }, h = { 0 };
	char value[1000];
	memset(value, 'x', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	while (p.len < 200 * 1024)
		put_pair(&p, "HTTP_X_MANY", value);
	put_begin(&h, 79, SPEC_RESPONDER, 0);
	put_params(&h, 79, &p, 16384, 0);
	expect("200 KiB of pairs", h.data, h.len, FCGI_HEAD_TOO_LARGE, 79, 0);
	bytes_free(&h);
	bytes_free(&p);
}

/* A pair that claims more than the parameters may hold is refused as
 * soon as its value length is in, before any of its bytes: libfcgi would
 * try to allocate them. */
static void
test_huge_pair(void **state)
{
	static const struct {
		size_t name_len, value_len;
	} cases[] = {
		{ (size_t)1 << 30, (size_t)1 << 30 },
		{ 0x7FFFFFFF, 0 },
		{ 0x7FFFFFFF, 0x7FFFFFFF },
		{ 0, 0x7FFFFFFF },
		{ 1, 0x7FFFFFFF },
		{ FCGI_HEAD_PARAMS_MAX, 1 },
		{ 1, FCGI_HEAD_PARAMS_MAX },
		{ FCGI_HEAD_PARAMS_MAX + 1, 0 },
		{ 65536, 65537 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct bytes h = { 0 }, p = { 0 };
		char what[64];
		snprintf(what, sizeof what, "name %zu, value %zu",
		    cases[i].name_len, cases[i].value_len);
		put_pair(&p, "REQUEST_METHOD", "GET");
		put_length(&p, cases[i].name_len, true);
		put_length(&p, cases[i].value_len, true);
		put(&p, "abc", 3);
		put_begin(&h, 0x0102, SPEC_RESPONDER, 0);
		put_record(&h, SPEC_PARAMS, 0x0102, p.data, p.len, 0);
		expect(what, h.data, h.len, FCGI_HEAD_TOO_LARGE, 0x0102, 0);
		/* Split between the two lengths, then within the second. */
		for (size_t cut = 0; cut < 4; cut++) {
			struct bytes h2 = { 0 };
			size_t at = 1 + 1 + 14 + 3 + 4 + cut;
			put_begin(&h2, 0x0102, SPEC_RESPONDER, 0);
			put_record(&h2, SPEC_PARAMS, 0x0102, p.data, at, 0);
			expect(what, h2.data, h2.len, FCGI_HEAD_WAIT, 0, 0);
			put_record(&h2, SPEC_PARAMS, 0x0102, p.data + at,
			    p.len - at, 0);
			expect(what, h2.data, h2.len, FCGI_HEAD_TOO_LARGE,
			    0x0102, 0);
			bytes_free(&h2);
		}
		bytes_free(&h);
		bytes_free(&p);
	}

	/* Name and value of exactly the bound together: the claim passes,
	 * the bytes cannot (their lengths take 8 more). */
	struct bytes h = { 0 }, p = { 0 };
	put_length(&p, 1000, true);
	put_length(&p, FCGI_HEAD_PARAMS_MAX - 1000, true);
	put_begin(&h, 1, SPEC_RESPONDER, 0);
	put_record(&h, SPEC_PARAMS, 1, p.data, p.len, 0);
	expect("name and value of the bound", h.data, h.len, FCGI_HEAD_WAIT,
	    0, 0);
	bytes_free(&p);
	put_fill(&p, 'x', FCGI_HEAD_PARAMS_MAX);
	put_params(&h, 1, &p, 65535, 0);
	expect("name and value of the bound", h.data, h.len,
	    FCGI_HEAD_TOO_LARGE, 1, 0);
	bytes_free(&h);
	bytes_free(&p);
}

/* Records of 1 content byte and 255 of padding carry little parameter
 * data in many bytes: the record whose end passes FCGI_HEAD_BYTES_MAX is
 * refused from its header. */
static void
test_bytes_bound(void **state)
{
	struct bytes h = { 0 };
	size_t over = 0;	/* where the header past the bound starts */
	(void)state;

	assert_int_equal(FCGI_HEAD_BYTES_MAX, 160 * 1024);
	put_begin(&h, 0x4242, SPEC_RESPONDER, 0);
	/* Pairs of an empty name and value, a byte at a time. */
	while (over == 0) {
		size_t start = h.len;
		put_record(&h, SPEC_PARAMS, 0x4242, "\0", 1, 255);
		if (h.len > FCGI_HEAD_BYTES_MAX)
			over = start;
	}
	/* One content byte a record: far below the parameters' bound. */
	assert_true((over - 16) / 264 < FCGI_HEAD_PARAMS_MAX / 100);
	expect("1 + 255 bytes a record", h.data, h.len, FCGI_HEAD_TOO_LARGE,
	    0x4242, 0);
	expect("1 + 255 bytes a record", h.data, over + 8,
	    FCGI_HEAD_TOO_LARGE, 0x4242, 0);
	expect("1 + 255 bytes a record", h.data, over + 7, FCGI_HEAD_WAIT, 0,
	    0);
	/* The same records, ended just before the bound: READY. */
	h.len = over;
	put_record(&h, SPEC_PARAMS, 0x4242, NULL, 0, 0);
	expect("1 + 255 bytes a record, ended in time", h.data, h.len,
	    FCGI_HEAD_READY, 0x4242, SPEC_RESPONDER);
	bytes_free(&h);

	/* A head that ends exactly at the bound: READY; one byte of padding
	 * more: TOO_LARGE. */
	put_begin(&h, 0x4242, SPEC_RESPONDER, 0);
	while (FCGI_HEAD_BYTES_MAX - h.len > 2000) {
		put_record(&h, SPEC_PARAMS, 0x4242, "\0\0", 2, 255);
	}
	size_t gap = FCGI_HEAD_BYTES_MAX - h.len - 16;	/* two headers */
	unsigned char zeros[2000] = { 0 };
	put_record(&h, SPEC_PARAMS, 0x4242, zeros, gap - gap % 2,
	    (unsigned)(gap % 2));
	size_t last = h.len;
	put_record(&h, SPEC_PARAMS, 0x4242, NULL, 0, 0);
	assert_int_equal(h.len, FCGI_HEAD_BYTES_MAX);
	expect("ending at the bound", h.data, h.len, FCGI_HEAD_READY, 0x4242,
	    SPEC_RESPONDER);
	expect_length("ending at the bound", h.data, h.len,
	    FCGI_HEAD_BYTES_MAX);
	h.len = last;
	put_record(&h, SPEC_PARAMS, 0x4242, NULL, 0, 1);
	expect("ending a byte past the bound", h.data, h.len,
	    FCGI_HEAD_TOO_LARGE, 0x4242, 0);
	expect("ending a byte past the bound", h.data, last + 8,
	    FCGI_HEAD_TOO_LARGE, 0x4242, 0);
	bytes_free(&h);

	/* One record of 65535 + 255 bytes that would end past the bound. */
	struct bytes p = { 0 };
	pairs_of_size(&p, 100000);
	put_begin(&h, 9, SPEC_RESPONDER, 0);
	put_record(&h, SPEC_PARAMS, 9, p.data, 65535, 255);
	size_t second = h.len;
	put_record(&h, SPEC_PARAMS, 9, p.data + 65535, p.len - 65535, 255);
	put_record(&h, SPEC_PARAMS, 9, NULL, 0, 0);
	expect("100000 bytes, padded", h.data, h.len, FCGI_HEAD_READY, 9,
	    SPEC_RESPONDER);
	bytes_free(&h);
	put_begin(&h, 9, SPEC_RESPONDER, 0);
	put_record(&h, SPEC_PARAMS, 9, p.data, 65535, 255);
	put_record(&h, SPEC_PARAMS, 9, p.data, 65535, 255);
	assert_int_equal(h.len, second + 8 + 65535 + 255);
	/* The third would end at 16 + 3 * 65798 > 163840. */
	put_record(&h, SPEC_PARAMS, 9, p.data, 65535, 255);
	expect("three full records", h.data, second + 8 + 65535 + 255 + 8,
	    FCGI_HEAD_TOO_LARGE, 9, 0);
	bytes_free(&h);
	bytes_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nginx),
		cmocka_unit_test(test_trailing_stdin),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_split_pairs),
		cmocka_unit_test(test_length_encodings),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_unknown_role),
		cmocka_unit_test(test_params_bound),
		cmocka_unit_test(test_huge_pair),
		cmocka_unit_test(test_bytes_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
