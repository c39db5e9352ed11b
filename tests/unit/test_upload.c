/* Unit tests for src/upload.h: a write's body, from FastCGI records or
 * CGI bytes to one event's data or batches of lines.
 *
 * Each FastCGI case is fed whole, byte by byte, and cut at every
 * position into two pieces: the outcome must not depend on how the bytes
 * arrive.
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

#include "upload.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])
#define ID 1
#define STDIN 5
#define ABORT 2

/* Appends a record of type with content (len bytes) to out at *n. */
static void
record(unsigned char *out, size_t *n, int type, const char *content,
    size_t len)
{
	unsigned char *h = out + *n;

	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = 0;
	h[3] = ID;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;
	h[7] = 0;
	memcpy(h + 8, content, len);
	*n += 8 + len;
}

/* The records of a body sent as pieces (NULL-terminated), then its end
 * when end. */
static size_t
records(unsigned char *out, const char *const *pieces, bool end)
{
	size_t n = 0;

	for (size_t i = 0; pieces[i] != NULL; i++)
		record(out, &n, STDIN, pieces[i], strlen(pieces[i]));
	if (end)
		record(out, &n, STDIN, "", 0);
	return n;
}

/* Feeds bytes in pieces of at most step bytes (0: a cut at cut), taking
 * every batch as it fills into taken (lines joined by '|'). */
static void
feed_all(struct upload *u, const unsigned char *bytes, size_t len,
    size_t step, size_t cut, char *taken, size_t taken_size)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end = step ? pos + step : (pos < cut ? cut : len);
		if (end > len)
			end = len;
		size_t used = upload_feed(u, bytes + pos, end - pos);
		if (used < end - pos) {
			assert_true(upload_batch_full(u));
			for (size_t i = 0; i < u->nbatch; i++)
				snprintf(taken + strlen(taken), taken_size -
				    strlen(taken), "%.*s|",
				    (int)u->batch[i].len,
				    u->data.data + u->batch[i].off);
			upload_batch_taken(u);
		}
		pos += used;
		if (u->state == UPLOAD_BROKEN)
			return;
	}
}

static void
lines_of(const struct upload *u, char *out, size_t size)
{
	for (size_t i = 0; i < u->nbatch; i++)
		snprintf(out + strlen(out), size - strlen(out), "%.*s|",
		    (int)u->batch[i].len, u->data.data + u->batch[i].off);
}

/* One event, or lines, from records, however they are cut: the data or
 * the lines (bytes not UTF-8 made U+FFFD, CRLF and empty lines as
 * lines.h says), 413 past the most, the lines before a line too long
 * kept; DISCARD holds nothing. */
static void
test_fcgi_bodies(void **state)
{
	static const struct {
		const char *what;
		enum upload_kind kind;
		size_t max;
		const char *pieces[4];
		enum upload_error error;
		const char *want;	/* EVENT: the data; LINES: a|b| */
	} cases[] = {
		{ "one record", UPLOAD_EVENT, 16, { "hello", NULL }, UPLOAD_OK,
		  "hello" },
		{ "three records", UPLOAD_EVENT, 16, { "he", "ll", "o\n",
		  NULL }, UPLOAD_OK, "hello\n" },
		{ "no body", UPLOAD_EVENT, 16, { NULL }, UPLOAD_OK, "" },
		{ "exactly the most", UPLOAD_EVENT, 5, { "hel", "lo", NULL },
		  UPLOAD_OK, "hello" },
		{ "one byte over", UPLOAD_EVENT, 4, { "hel", "lo", NULL },
		  UPLOAD_TOO_LARGE, "" },
		{ "lines", UPLOAD_LINES, 16, { "a\r\nb", "\xff\n\n", "c",
		  NULL }, UPLOAD_OK, "a|b\xef\xbf\xbd|c|" },
		{ "a line too long", UPLOAD_LINES, 3, { "ab\nab", "cd\nx\n",
		  NULL }, UPLOAD_TOO_LARGE, "ab|" },
		{ "discarded", UPLOAD_DISCARD, 2, { "whatever", "else", NULL },
		  UPLOAD_OK, "" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		unsigned char bytes[256];
		size_t len = records(bytes, cases[i].pieces, true);
		for (size_t how = 0; how <= len + 1; how++) {
			struct upload u;
			char got[256] = "", taken[256] = "";
			upload_init(&u, cases[i].kind, true, ID, 0,
			    cases[i].max);
			/* how 0: whole; 1: byte by byte; then a cut. */
			feed_all(&u, bytes, len, how == 1 ? 1 : 0,
			    how >= 2 ? how - 1 : len, taken, sizeof taken);
			if (u.state != UPLOAD_ENDED)
				fail_msg("%s, feed %zu: not ended",
				    cases[i].what, how);
			assert_int_equal(u.error, cases[i].error);
			if (cases[i].kind == UPLOAD_LINES) {
				lines_of(&u, got, sizeof got);
				assert_string_equal(taken, "");
			} else {
				snprintf(got, sizeof got, "%.*s",
				    (int)u.data.len, u.data.data ?
				    u.data.data : "");
			}
			if (strcmp(got, cases[i].want) != 0)
				fail_msg("%s, feed %zu: want \"%s\", got "
				    "\"%s\"", cases[i].what, how,
				    cases[i].want, got);
			upload_free(&u);
		}
	}
}

/* A full batch stops the feed: the bytes not taken are given again once
 * the batch is out, and every line comes out once, in order. */
static void
test_batch_full(void **state)
{
	static const char *const pieces[] = { "1\n", "2\n", "3\n", "4\n5",
	    NULL };
	unsigned char bytes[256];
	size_t len = records(bytes, pieces, true);
	(void)state;

	for (size_t step = 0; step <= 3; step++) {
		struct upload u;
		char taken[256] = "";
		upload_init(&u, UPLOAD_LINES, true, ID, 0, 16);
		u.batch_lines = 2;
		feed_all(&u, bytes, len, step, len, taken, sizeof taken);
		assert_int_equal(u.state, UPLOAD_ENDED);
		lines_of(&u, taken, sizeof taken);
		assert_string_equal(taken, "1|2|3|4|5|");
		upload_free(&u);
	}
}

/* CGI: CONTENT_LENGTH bytes are the body, what follows is ignored; none
 * (or 0) is an empty body; fewer before the end of input is BROKEN. */
static void
test_cgi(void **state)
{
	struct upload u;
	(void)state;

	upload_init(&u, UPLOAD_EVENT, false, 0, 5, 16);
	assert_int_equal(upload_feed(&u, (const unsigned char *)"hel", 3), 3);
	assert_int_equal(u.state, UPLOAD_READING);
	assert_int_equal(upload_feed(&u, (const unsigned char *)"lo!!", 4),
	    4);
	assert_int_equal(u.state, UPLOAD_ENDED);
	assert_int_equal(u.data.len, 5);
	assert_memory_equal(u.data.data, "hello", 5);
	upload_eof(&u);
	assert_int_equal(u.state, UPLOAD_ENDED);
	upload_free(&u);

	upload_init(&u, UPLOAD_LINES, false, 0, 0, 16);
	assert_int_equal(u.state, UPLOAD_ENDED);
	assert_int_equal(u.nbatch, 0);
	upload_free(&u);

	upload_init(&u, UPLOAD_LINES, false, 0, 10, 16);
	upload_feed(&u, (const unsigned char *)"a\nb", 3);
	assert_int_equal(u.nbatch, 1);
	upload_eof(&u);
	assert_int_equal(u.state, UPLOAD_BROKEN);
	assert_non_null(u.why);
	upload_free(&u);
}

/* A connection that ends before the empty FCGI_STDIN record, an abort,
 * and a record of another request leave the body BROKEN, with a reason;
 * nothing is taken after that. */
static void
test_fcgi_broken(void **state)
{
	unsigned char bytes[64];
	size_t n = 0;
	struct upload u;
	(void)state;

	record(bytes, &n, STDIN, "abc", 3);
	upload_init(&u, UPLOAD_EVENT, true, ID, 0, 16);
	assert_int_equal(upload_feed(&u, bytes, n), n);
	upload_eof(&u);
	assert_int_equal(u.state, UPLOAD_BROKEN);
	assert_non_null(u.why);
	assert_int_equal(upload_feed(&u, bytes, n), 0);
	upload_free(&u);

	record(bytes, &n, ABORT, "", 0);
	upload_init(&u, UPLOAD_EVENT, true, ID, 0, 16);
	assert_int_equal(upload_feed(&u, bytes, n), n);
	assert_int_equal(u.state, UPLOAD_BROKEN);
	upload_free(&u);

	n = 0;
	record(bytes, &n, STDIN, "abc", 3);
	bytes[3] = ID + 1;
	upload_init(&u, UPLOAD_EVENT, true, ID, 0, 16);
	upload_feed(&u, bytes, n);
	assert_int_equal(u.state, UPLOAD_BROKEN);
	assert_non_null(u.why);
	upload_free(&u);
}

/* upload_discard() drops what is held (a refused request) and reads on
 * to the end for nothing. */
static void
test_discard(void **state)
{
	static const char *const first[] = { "x\ny\n", NULL };
	static const char *const rest[] = { "z\n", NULL };
	unsigned char bytes[64];
	struct upload u;
	(void)state;

	upload_init(&u, UPLOAD_LINES, true, ID, 0, 16);
	size_t n = records(bytes, first, false);
	assert_int_equal(upload_feed(&u, bytes, n), n);
	assert_int_equal(u.nbatch, 2);
	upload_discard(&u);
	assert_int_equal(u.nbatch, 0);
	n = records(bytes, rest, true);
	assert_int_equal(upload_feed(&u, bytes, n), n);
	assert_int_equal(u.nbatch, 0);
	assert_int_equal(u.state, UPLOAD_ENDED);
	upload_free(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fcgi_bodies),
		cmocka_unit_test(test_batch_full),
		cmocka_unit_test(test_cgi),
		cmocka_unit_test(test_fcgi_broken),
		cmocka_unit_test(test_discard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
