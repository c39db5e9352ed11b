/* Unit tests for src/lines.h: the lines of an upload, from bytes that come
 * in pieces of any size.
 *
 * Each case is fed whole, then cut at every position, at every pair of
 * positions, and byte by byte; the lines, their numbers and the final
 * event must be the same every time, and the ones in the table.
 *
 * Allocation failures: this program is linked with --wrap=realloc, so
 * that the splitter's buffer can be made not to grow.
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

#include "lines.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static bool realloc_fails;

void *
__wrap_realloc(void *p, size_t n)
{
	return realloc_fails ? NULL : __real_realloc(p, n);
}

/* What a body made: "N:line" for each line, then "END", "TOO_LONG N" or
 * "NO_MEMORY", each followed by a newline (lines in the tables hold
 * none). */
struct result {
	char text[4096];
	size_t len;
};

static void
add_text(struct result *r, const char *p, size_t n)
{
	assert_true(n < sizeof r->text - r->len);
	memcpy(r->text + r->len, p, n);
	r->len += n;
	r->text[r->len] = '\0';
}

static void
add_event(struct result *r, const struct lines_out *out)
{
	char head[64];

	switch (out->event) {
	case LINES_LINE:
		snprintf(head, sizeof head, "%llu:",
		    (unsigned long long)out->number);
		add_text(r, head, strlen(head));
		add_text(r, out->line, out->len);
		add_text(r, "\n", 1);
		break;
	case LINES_END:
		add_text(r, "END\n", 4);
		break;
	case LINES_TOO_LONG:
		snprintf(head, sizeof head, "TOO_LONG %llu\n",
		    (unsigned long long)out->number);
		add_text(r, head, strlen(head));
		break;
	case LINES_NO_MEMORY:
		add_text(r, "NO_MEMORY\n", 10);
		break;
	default:
		fail_msg("event %d reported", (int)out->event);
	}
}

/* Checks what any line given out must be: 1 to max bytes, no LF, and
 * inside the piece fed or the splitter's buffer. */
static void
check_line(const struct lines *ls, const struct lines_out *out,
    const char *piece, size_t piece_len)
{
	assert_true(out->len >= 1 && out->len <= ls->max);
	assert_null(memchr(out->line, '\n', out->len));
	bool in_piece = piece != NULL && out->line >= piece &&
	    out->line + out->len <= piece + piece_len;
	bool in_buf = ls->buf != NULL && out->line >= ls->buf &&
	    out->line + out->len <= ls->buf + ls->cap;
	assert_true(in_piece || in_buf);
}

/* Feeds the len bytes at body to a splitter of max bytes, in pieces that
 * end at each of the ncuts positions in cuts (ascending), then finishes
 * it. Each piece is a block of its own size, so that ASan sees a read
 * past it. */
static void
split(const char *body, size_t len, size_t max, const size_t *cuts,
    size_t ncuts, struct result *r)
{
	struct lines ls;
	struct lines_out out;
	size_t from = 0;
	bool final = false;

	r->len = 0;
	r->text[0] = '\0';
	lines_init(&ls, max);
	for (size_t c = 0; c <= ncuts && !final; c++) {
		size_t to = c < ncuts ? cuts[c] : len;
		size_t n = to - from;
		char *piece = malloc(n ? n : 1);
		assert_non_null(piece);
		memcpy(piece, body + from, n);
		size_t off = 0;
		for (;;) {
			size_t used = lines_feed(&ls, piece + off, n - off,
			    &out);
			assert_true(used <= n - off);
			assert_true(ls.cap <= max && ls.len <= max);
			off += used;
			if (out.event == LINES_MORE) {
				assert_int_equal(off, n);
				break;
			}
			if (out.event != LINES_LINE) {
				add_event(r, &out);
				final = true;
				break;
			}
			check_line(&ls, &out, piece, n);
			add_event(r, &out);
		}
		free(piece);
		from = to;
	}
	while (!final) {
		lines_finish(&ls, &out);
		if (out.event == LINES_LINE)
			check_line(&ls, &out, NULL, 0);
		add_event(r, &out);
		final = out.event != LINES_LINE;
	}
	lines_free(&ls);
}

struct lines_case {
	const char *what;
	const char *body;
	size_t max;		/* 0: 1 MiB */
	const char *want;	/* as struct result writes it */
};

/* The body of c whole, cut once and twice everywhere, and byte by byte,
 * gives c->want. */
static void
check_case(const struct lines_case *c)
{
	size_t len = strlen(c->body);
	size_t max = c->max ? c->max : 1024 * 1024;
	size_t cuts[2];
	struct result r;
	char where[64];

	split(c->body, len, max, NULL, 0, &r);
	if (strcmp(r.text, c->want) != 0)
		fail_msg("%s, whole: got\n%s\nwant\n%s", c->what, r.text,
		    c->want);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		split(c->body, len, max, cuts, 1, &r);
		snprintf(where, sizeof where, "cut at %zu", cuts[0]);
		if (strcmp(r.text, c->want) != 0)
			fail_msg("%s, %s: got\n%s\nwant\n%s", c->what, where,
			    r.text, c->want);
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			split(c->body, len, max, cuts, 2, &r);
			if (strcmp(r.text, c->want) != 0)
				fail_msg("%s, cut at %zu and %zu: got\n%s\n"
				    "want\n%s", c->what, cuts[0], cuts[1],
				    r.text, c->want);
		}
	}
	size_t *each = malloc((len + 1) * sizeof *each);
	assert_non_null(each);
	for (size_t i = 0; i <= len; i++)
		each[i] = i;
	split(c->body, len, max, each, len + 1, &r);
	free(each);
	if (strcmp(r.text, c->want) != 0)
		fail_msg("%s, byte by byte: got\n%s\nwant\n%s", c->what,
		    r.text, c->want);
}

static void
check_cases(const struct lines_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

/* LF and CRLF end a line; a last line needs neither. */
static void
test_endings(void **state)
{
	static const struct lines_case cases[] = {
		{ "nothing", "", 0, "END\n" },
		{ "one line", "build started\n", 0, "1:build started\nEND\n" },
		{ "no final LF", "a\nb", 0, "1:a\n2:b\nEND\n" },
		{ "only a last line", "tail", 0, "1:tail\nEND\n" },
		{ "CRLF", "a\r\nb\r\n", 0, "1:a\n2:b\nEND\n" },
		{ "LF and CRLF mixed", "a\nb\r\nc\n", 0,
		    "1:a\n2:b\n3:c\nEND\n" },
		{ "last line with a CR", "a\nb\r", 0, "1:a\n2:b\nEND\n" },
		{ "only the CR of the last is dropped", "a\r\r", 0,
		    "1:a\r\nEND\n" },
		{ "only the CR of a CRLF is dropped", "a\r\r\nb\n", 0,
		    "1:a\r\n2:b\nEND\n" },
		{ "a lone CR is data", "a\rb\nc\r d\n", 0,
		    "1:a\rb\n2:c\r d\nEND\n" },
		{ "CR first", "\rx\n", 0, "1:\rx\nEND\n" },
		{ "LF CR", "a\n\rb\n", 0, "1:a\n2:\rb\nEND\n" },
		{ "control bytes as they are", "a\tb\x01\x7f\n", 0,
		    "1:a\tb\x01\x7f\nEND\n" },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* Empty lines are skipped but counted. */
static void
test_empty(void **state)
{
	static const struct lines_case cases[] = {
		{ "one LF", "\n", 0, "END\n" },
		{ "one CRLF", "\r\n", 0, "END\n" },
		{ "one CR", "\r", 0, "END\n" },
		{ "blank lines between", "a\n\n\r\n\nb\n", 0,
		    "1:a\n5:b\nEND\n" },
		{ "blank lines first and last", "\n\nx\n\n", 0,
		    "3:x\nEND\n" },
		{ "a space is not empty", " \n", 0, "1: \nEND\n" },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* A character of UTF-8 cut between pieces comes out whole: lines split
 * at LF alone. Invalid bytes are given as they are. */
static void
test_utf8(void **state)
{
	static const struct lines_case cases[] = {
		{ "two- to four-byte characters",
		    "\xc3\xa9t\xc3\xa9\n\xe2\x82\xac 5\n\xf0\x9f\x9a\x80\n", 0,
		    "1:\xc3\xa9t\xc3\xa9\n2:\xe2\x82\xac 5\n"
		    "3:\xf0\x9f\x9a\x80\nEND\n" },
		{ "Latin-1", "caf\xe9\n", 0, "1:caf\xe9\nEND\n" },
		{ "a truncated character at the end", "ok\n\xe2\x82", 0,
		    "1:ok\n2:\xe2\x82\nEND\n" },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* max bytes is the most a line holds, its LF or CRLF aside; one more is
 * TOO_LONG, which ends the splitting, with the lines before given. */
static void
test_max(void **state)
{
	static const struct lines_case cases[] = {
		{ "max bytes", "abcd\n", 4, "1:abcd\nEND\n" },
		{ "max bytes and CRLF", "abcd\r\n", 4, "1:abcd\nEND\n" },
		{ "max bytes and a last CR", "abcd\r", 4, "1:abcd\nEND\n" },
		{ "max bytes, no LF", "abcd", 4, "1:abcd\nEND\n" },
		{ "one more", "abcde\n", 4, "TOO_LONG 1\n" },
		{ "one more, no LF", "abcde", 4, "TOO_LONG 1\n" },
		{ "a CR is one more", "abcd\rx\n", 4, "TOO_LONG 1\n" },
		{ "max, then CR CR LF", "abcd\r\r\n", 4, "TOO_LONG 1\n" },
		{ "the lines before stay", "ab\n\ncd\nabcdefgh\nef\n", 4,
		    "1:ab\n3:cd\nTOO_LONG 4\n" },
		{ "the last line too long", "ab\nabcdefgh", 4,
		    "1:ab\nTOO_LONG 2\n" },
		{ "max 1", "a\nb\r\n\nc\nde\n", 1,
		    "1:a\n2:b\n4:c\nTOO_LONG 5\n" },
		{ "many lines at max", "abc\nabc\r\nabc\nabc", 3,
		    "1:abc\n2:abc\n3:abc\n4:abc\nEND\n" },
	};
	(void)state;
	check_cases(cases, NELEM(cases));
}

/* Lines longer than the buffer's first size, up to max, and one past it
 * found without waiting for the LF; the buffer never passes max. */
static void
test_long(void **state)
{
	enum { MAX = 5000 };
	char *body = malloc(3 * MAX + 16);
	struct lines ls;
	struct lines_out out;
	(void)state;

	assert_non_null(body);
	memset(body, 'x', MAX);
	memcpy(body + MAX, "\r\n", 2);
	memset(body + MAX + 2, 'y', MAX);
	body[2 * MAX + 2] = '\n';
	memset(body + 2 * MAX + 3, 'z', MAX + 10);

	/* Piece by piece of 7: every line goes through the buffer. */
	lines_init(&ls, MAX);
	size_t off = 0, end = 3 * MAX + 13;
	int lines = 0;
	bool too_long = false;
	while (off < end && !too_long) {
		size_t n = end - off < 7 ? end - off : 7;
		size_t used = lines_feed(&ls, body + off, n, &out);
		assert_true(ls.cap <= MAX);
		off += used;
		if (out.event == LINES_LINE) {
			assert_int_equal(out.len, MAX);
			assert_int_equal(out.line[0], lines ? 'y' : 'x');
			assert_int_equal(out.line[MAX - 1], lines ? 'y' : 'x');
			lines++;
		} else if (out.event == LINES_TOO_LONG) {
			assert_int_equal(out.number, 3);
			too_long = true;
		}
	}
	assert_int_equal(lines, 2);
	assert_true(too_long);
	/* Found at byte MAX + 1 of line 3, long before its end. */
	assert_true(off <= 2 * MAX + 3 + MAX + 7);
	/* Final: nothing more is taken. */
	assert_int_equal(lines_feed(&ls, "a\n", 2, &out), 0);
	assert_int_equal(out.event, LINES_TOO_LONG);
	lines_finish(&ls, &out);
	assert_int_equal(out.event, LINES_TOO_LONG);
	lines_free(&ls);
	free(body);
}

/* A line whole in the piece fed points into it: no copy. */
static void
test_no_copy(void **state)
{
	static const char body[] = "first\nsecond\r\nthi";
	struct lines ls;
	struct lines_out out;
	(void)state;

	lines_init(&ls, 100);
	size_t used = lines_feed(&ls, body, sizeof body - 1, &out);
	assert_int_equal(out.event, LINES_LINE);
	assert_ptr_equal(out.line, body);
	assert_int_equal(out.len, 5);
	assert_int_equal(used, 6);
	used += lines_feed(&ls, body + used, sizeof body - 1 - used, &out);
	assert_int_equal(out.event, LINES_LINE);
	assert_ptr_equal(out.line, body + 6);
	assert_int_equal(out.len, 6);
	assert_int_equal(used, 14);
	assert_null(ls.buf);
	used += lines_feed(&ls, body + used, sizeof body - 1 - used, &out);
	assert_int_equal(out.event, LINES_MORE);
	assert_int_equal(used, sizeof body - 1);
	lines_finish(&ls, &out);
	assert_int_equal(out.event, LINES_LINE);
	assert_int_equal(out.number, 3);
	assert_memory_equal(out.line, "thi", 3);
	lines_finish(&ls, &out);
	assert_int_equal(out.event, LINES_END);
	lines_finish(&ls, &out);
	assert_int_equal(out.event, LINES_END);
	lines_free(&ls);
}

/* The buffer cannot grow: NO_MEMORY, final, and nothing lost before. */
static void
test_no_memory(void **state)
{
	struct lines ls;
	struct lines_out out;
	(void)state;

	lines_init(&ls, 100);
	assert_int_equal(lines_feed(&ls, "ok\npart", 7, &out), 3);
	assert_int_equal(out.event, LINES_LINE);
	realloc_fails = true;
	lines_feed(&ls, "part", 4, &out);
	realloc_fails = false;
	assert_int_equal(out.event, LINES_NO_MEMORY);
	assert_int_equal(lines_feed(&ls, "\n", 1, &out), 0);
	assert_int_equal(out.event, LINES_NO_MEMORY);
	lines_finish(&ls, &out);
	assert_int_equal(out.event, LINES_NO_MEMORY);
	lines_free(&ls);
	lines_free(&ls);	/* twice is harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endings),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_no_copy),
		cmocka_unit_test(test_no_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
