/* Unit tests for src/buf.h: the growable byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Asserts that b holds exactly the len bytes at want. */
static void
assert_buf(const struct buf *b, const char *want, size_t len)
{
	assert_int_equal(b->len, len);
	assert_true(b->cap >= b->len);
	if (len > 0)
		assert_memory_equal(b->data, want, len);
}

/* A heap string of n copies of c, NUL-terminated. */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* buf_append and buf_append_str concatenate in order; appending nothing
 * changes nothing (and allocates nothing on an empty buffer). */
static void
test_append(void **state)
{
	static const struct {
		const char *pieces[4];	/* NULL-terminated */
		const char *want;
	} cases[] = {
		{ { NULL }, "" },
		{ { "", NULL }, "" },
		{ { "", "", "", NULL }, "" },
		{ { "a", NULL }, "a" },
		{ { "abc", "", "def", NULL }, "abcdef" },
		{ { "line\n", "\r\n", "x", NULL }, "line\n\r\nx" },
		{ { "\xc3\xa9", "\xe2\x82\xac", NULL }, "\xc3\xa9\xe2\x82\xac" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf a = BUF_INIT, s = BUF_INIT;
		for (size_t k = 0; cases[i].pieces[k] != NULL; k++) {
			const char *p = cases[i].pieces[k];
			assert_int_equal(buf_append(&a, p, strlen(p)), 0);
			assert_int_equal(buf_append_str(&s, p), 0);
		}
		assert_buf(&a, cases[i].want, strlen(cases[i].want));
		assert_buf(&s, cases[i].want, strlen(cases[i].want));
		if (cases[i].want[0] == '\0') {
			assert_null(a.data);
			assert_null(s.data);
		}
		buf_free(&a);
		buf_free(&s);
	}
}

/* Appending total bytes in chunks of every size keeps every byte in place
 * across reallocations, including past the first 256-byte allocation. */
static void
test_append_grows(void **state)
{
	static const struct {
		size_t total;
		size_t chunk;
	} cases[] = {
		{ 255, 1 }, { 256, 1 }, { 257, 1 }, { 256, 256 }, { 257, 257 },
		{ 1000, 7 }, { 4096, 4096 }, { 100000, 999 }, { 1 << 20, 4096 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t total = cases[i].total, chunk = cases[i].chunk;
		char *want = malloc(total);
		struct buf b = BUF_INIT;

		assert_non_null(want);
		for (size_t k = 0; k < total; k++)
			want[k] = (char)('a' + k % 26);
		for (size_t off = 0; off < total; off += chunk) {
			size_t n = total - off < chunk ? total - off : chunk;
			assert_int_equal(buf_append(&b, want + off, n), 0);
		}
		assert_buf(&b, want, total);
		buf_free(&b);
		free(want);
	}
}

/* buf_printf formats numbers exactly and appends after what is there. */
static void
test_printf_numbers(void **state)
{
	static const struct {
		const char *before;
		int64_t id;
		const char *want;
	} cases[] = {
		{ "", 0, "id: 0\n" },
		{ "", 42, "id: 42\n" },
		{ "", -1, "id: -1\n" },
		{ "", INT64_MAX, "id: 9223372036854775807\n" },
		{ "", INT64_MIN, "id: -9223372036854775808\n" },
		{ "x\n", 7, "x\nid: 7\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf b = BUF_INIT;
		assert_int_equal(buf_append_str(&b, cases[i].before), 0);
		assert_int_equal(buf_printf(&b, "id: %lld\n",
		    (long long)cases[i].id), 0);
		assert_buf(&b, cases[i].want, strlen(cases[i].want));
		buf_free(&b);
	}
}

/* buf_printf output of every length around its 128-byte stack buffer (127
 * fits, 128 needs the NUL's room too, so takes the heap path) and far beyond
 * it, after an existing prefix that may or may not leave room. */
static void
test_printf_long(void **state)
{
	static const struct {
		size_t before;		/* bytes already in the buffer */
		int width;		/* "[%*s]" pads the word to this */
		const char *word;
	} cases[] = {
		{ 0, 0, "" },
		{ 0, 0, "word" },
		{ 0, 125, "w" },	/* 127 bytes */
		{ 0, 126, "w" },	/* 128 bytes */
		{ 0, 127, "w" },	/* 129 bytes */
		{ 0, 1000, "end" },
		{ 0, 70000, "end" },
		{ 200, 126, "w" },	/* crosses the first 256 bytes */
		{ 255, 127, "w" },
		{ 256, 1000, "w" },
		{ 3, 100000, "" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t before = cases[i].before, wlen = strlen(cases[i].word);
		size_t field = (size_t)cases[i].width > wlen ?
		    (size_t)cases[i].width : wlen;
		size_t total = before + 1 + field + 1;
		char *prefix = repeat('p', before);
		char *want = malloc(total);
		struct buf b = BUF_INIT;

		assert_non_null(want);
		memcpy(want, prefix, before);
		want[before] = '[';
		memset(want + before + 1, ' ', field - wlen);
		memcpy(want + before + 1 + field - wlen, cases[i].word, wlen);
		want[total - 1] = ']';

		assert_int_equal(buf_append_str(&b, prefix), 0);
		assert_int_equal(buf_printf(&b, "[%*s]", cases[i].width,
		    cases[i].word), 0);
		assert_buf(&b, want, total);
		buf_free(&b);
		free(want);
		free(prefix);
	}
}

/* buf_consume forgets exactly the first n bytes (all of them when n is
 * larger), and the buffer goes on appending after what is left. */
static void
test_consume(void **state)
{
	static const struct {
		size_t n;
		const char *left;
	} cases[] = {
		{ 0, "abcdef" },
		{ 1, "bcdef" },
		{ 3, "def" },
		{ 5, "f" },
		{ 6, "" },
		{ 7, "" },
		{ SIZE_MAX, "" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf b = BUF_INIT;
		char want[16];

		assert_int_equal(buf_append_str(&b, "abcdef"), 0);
		buf_consume(&b, cases[i].n);
		assert_buf(&b, cases[i].left, strlen(cases[i].left));
		assert_int_equal(buf_append_str(&b, "XY"), 0);
		strcpy(want, cases[i].left);
		strcat(want, "XY");
		assert_buf(&b, want, strlen(want));
		buf_free(&b);
	}

	/* Consuming an empty buffer is harmless. */
	struct buf e = BUF_INIT;
	buf_consume(&e, 0);
	buf_consume(&e, 10);
	assert_int_equal(e.len, 0);
	assert_null(e.data);
}

/* buf_reserve makes room for at least extra more bytes without changing the
 * contents, neither grows nor moves the data when there is room already
 * (up to exactly the room left), and refuses sizes that cannot be
 * allocated, leaving the buffer exactly as it was. */
static void
test_reserve(void **state)
{
	static const struct {
		size_t len;		/* bytes in the buffer first */
		size_t extra;
		int rc;
	} cases[] = {
		{ 0, 0, 0 },
		{ 0, 1, 0 },
		{ 0, 256, 0 },
		{ 0, 257, 0 },
		{ 10, 245, 0 },
		{ 10, 246, 0 },		/* exactly the room left */
		{ 10, 247, 0 },
		{ 300, 5000, 0 },
		{ 0, SIZE_MAX, -1 },
		{ 10, SIZE_MAX - 10, -1 },
		{ 10, SIZE_MAX / 2, -1 },
		{ 0, SIZE_MAX / 2 + 1, -1 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *content = repeat('r', cases[i].len);
		struct buf b = BUF_INIT;

		assert_int_equal(buf_append_str(&b, content), 0);
		struct buf old = b;
		assert_int_equal(buf_reserve(&b, cases[i].extra), cases[i].rc);
		assert_buf(&b, content, cases[i].len);
		if (cases[i].extra <= old.cap - old.len) {
			assert_ptr_equal(b.data, old.data);
			assert_int_equal(b.cap, old.cap);
		}
		if (cases[i].rc == 0) {
			assert_true(b.cap - b.len >= cases[i].extra);
			/* Room is there now: a second call must not move it. */
			char *data = b.data;
			size_t cap = b.cap;
			assert_int_equal(buf_reserve(&b, cases[i].extra), 0);
			assert_ptr_equal(b.data, data);
			assert_int_equal(b.cap, cap);
		} else {
			assert_ptr_equal(b.data, old.data);
			assert_int_equal(b.cap, old.cap);
		}
		buf_free(&b);
		free(content);
	}
}

/* buf_clear empties the buffer but keeps its memory; buf_free releases it
 * and leaves an empty buffer that can be freed again or reused. */
static void
test_clear_free(void **state)
{
	static const size_t lens[] = { 0, 1, 255, 256, 257, 10000 };
	(void)state;

	for (size_t i = 0; i < NELEM(lens); i++) {
		char *content = repeat('c', lens[i]);
		struct buf b = BUF_INIT;

		assert_int_equal(buf_append_str(&b, content), 0);
		char *data = b.data;
		size_t cap = b.cap;
		buf_clear(&b);
		assert_int_equal(b.len, 0);
		assert_ptr_equal(b.data, data);
		assert_int_equal(b.cap, cap);

		/* Refilling to the old size reuses the memory. */
		assert_int_equal(buf_append_str(&b, content), 0);
		assert_ptr_equal(b.data, data);
		assert_buf(&b, content, lens[i]);

		buf_free(&b);
		assert_null(b.data);
		assert_int_equal(b.len, 0);
		assert_int_equal(b.cap, 0);
		buf_free(&b);
		assert_null(b.data);

		assert_int_equal(buf_append_str(&b, "again"), 0);
		assert_buf(&b, "again", 5);
		buf_free(&b);
		free(content);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_grows),
		cmocka_unit_test(test_printf_numbers),
		cmocka_unit_test(test_printf_long),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_clear_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
