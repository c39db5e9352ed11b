/* Unit tests for src/validate.h: what may be appended to the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* The reasons validate.c gives, word for word (the schema's words too). */
#define BAD_STREAM "invalid stream name: use 1-200 characters of " \
	"A-Z a-z 0-9 . _ - : / @ in /-separated segments that are not " \
	"empty, . or .."
#define BAD_TYPE \
	"invalid event type: it must be non-empty text without CR, LF or NUL"
#define RESERVED_TYPE "invalid event type: types starting with sselog. " \
	"are reserved, except sselog.close"
#define BAD_UTF8 "invalid data: it is not valid UTF-8"
#define NUL_DATA "invalid data: it contains a NUL byte"

#define S10 "abcdefghij"
#define S50 S10 S10 S10 S10 S10
#define S200 S50 S50 S50 S50

/* Asserts that a validator's reason is the one wanted (NULL: valid). */
static void
assert_reason(const char *what, const char *got, const char *want)
{
	if (want == NULL && got != NULL)
		fail_msg("\"%s\" refused: %s", what, got);
	if (want != NULL && got == NULL)
		fail_msg("\"%s\" accepted, wanted: %s", what, want);
	if (want != NULL)
		assert_string_equal(got, want);
}

/* A malloc'd copy of len bytes, so that valgrind sees any read past the
 * end. */
static char *
exact_copy(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* Stream names: 1-200 characters of the allowed set, every punctuation
 * mark allowed on its own and together, segments of dots other than "."
 * and ".." allowed, and every way to make an empty, "." or ".." segment
 * refused, as are spaces, control characters and non-ASCII. */
static void
test_stream_names(void **state)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "a", true },
		{ "Z", true },
		{ "0", true },
		{ "build/42", true },
		{ "_", true },
		{ "-", true },
		{ ":", true },
		{ "@", true },
		{ "a.b", true },
		{ "a_b", true },
		{ "a-b", true },
		{ "a:b", true },
		{ "a@b", true },
		{ "a/b", true },
		{ "AZaz09._-:/@x", true },
		{ "user@example.org:8080/feed_1-x.y", true },
		{ "..a", true },
		{ "a..", true },
		{ "...", true },
		{ "a/.../b", true },
		{ ".a", true },
		{ "a.", true },
		{ "a/.b/c", true },
		{ ".well-known/x", true },
		{ S200, true },
		{ S50 "/" S50 "/" S50 "/" S10 S10 S10 S10 "abcdefg", true },
		{ S200 "x", false },
		{ S200 S200, false },
		{ "", false },
		{ ".", false },
		{ "..", false },
		{ "./a", false },
		{ "../a", false },
		{ "a/.", false },
		{ "a/..", false },
		{ "a/./b", false },
		{ "a/../b", false },
		{ "a//b", false },
		{ "/a", false },
		{ "a/", false },
		{ "/", false },
		{ "//", false },
		{ "a b", false },
		{ " a", false },
		{ "a ", false },
		{ "a\nb", false },
		{ "a\rb", false },
		{ "a\tb", false },
		{ "a\\b", false },
		{ "a?b", false },
		{ "a#b", false },
		{ "a%20b", false },
		{ "a+b", false },
		{ "a*b", false },
		{ "a[b]", false },
		{ "a^b", false },
		{ "a~b", false },
		{ "a,b", false },
		{ "a;b", false },
		{ "a=b", false },
		{ "a'b", false },
		{ "a\"b", false },
		{ "\x7f", false },
		{ "caf\xc3\xa9", false },
		{ "\xc3\xa9", false },
		{ "a\xff", false },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		assert_reason(cases[i].name, validate_stream(cases[i].name),
		    cases[i].valid ? NULL : BAD_STREAM);
}

/* Event types: any non-empty UTF-8 text without CR or LF, except the reserved
 * sselog. prefix, where only sselog.close may be appended. The prefix is
 * exactly "sselog." (with the dot, case-sensitive, as the schema's GLOB). */
static void
test_event_types(void **state)
{
	static const struct {
		const char *type;
		const char *why;
	} cases[] = {
		{ "message", NULL },
		{ "a", NULL },
		{ "a b", NULL },
		{ ":x", NULL },
		{ "caf\xc3\xa9", NULL },
		{ "sselog.close", NULL },
		{ "sselog", NULL },
		{ "sselogx", NULL },
		{ "sselog_gap", NULL },
		{ "SSELOG.gap", NULL },
		{ "x.sselog.gap", NULL },
		{ "", BAD_TYPE },
		{ "a\r", BAD_TYPE },
		{ "a\n", BAD_TYPE },
		{ "\r", BAD_TYPE },
		{ "\n", BAD_TYPE },
		{ "a\r\nb", BAD_TYPE },
		{ "sselog.close\n", BAD_TYPE },
		{ "a\xff", "invalid event type: it is not valid UTF-8" },
		{ "caf\xc3", "invalid event type: it is not valid UTF-8" },
		{ "\xed\xa0\x80", "invalid event type: it is not valid UTF-8" },
		{ "sselog.gap", RESERVED_TYPE },
		{ "sselog.", RESERVED_TYPE },
		{ "sselog.closed", RESERVED_TYPE },
		{ "sselog.close ", RESERVED_TYPE },
		{ "sselog.Close", RESERVED_TYPE },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		assert_reason(cases[i].type,
		    validate_event_type(cases[i].type), cases[i].why);
}

struct bytes_case {
	const char *bytes;
	size_t len;
	bool valid;
};

/* UTF-8 (RFC 3629): every sequence length at its lowest and highest code
 * point is valid; overlong forms, surrogates, code points above U+10FFFF,
 * the bytes that never occur, stray continuation bytes, a wrong byte inside
 * a sequence and a sequence cut short by the end are not. */
static void
test_utf8(void **state)
{
#define B(s, v) { s, sizeof s - 1, v }
	static const struct bytes_case cases[] = {
		B("", true),
		B("a", true),
		B("\x7f", true),
		B(" \0 ", true),		/* NUL is UTF-8; data refuses it */
		B("\xc2\x80", true),		/* U+0080 */
		B("\xdf\xbf", true),		/* U+07FF */
		B("\xe0\xa0\x80", true),	/* U+0800 */
		B("\xed\x9f\xbf", true),	/* U+D7FF */
		B("\xee\x80\x80", true),	/* U+E000 */
		B("\xef\xbf\xbf", true),	/* U+FFFF */
		B("\xf0\x90\x80\x80", true),	/* U+10000 */
		B("\xf3\xbf\xbf\xbf", true),	/* U+FFFFF */
		B("\xf4\x8f\xbf\xbf", true),	/* U+10FFFF */
		B("a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80", true),
		B("\xc0\x80", false),		/* overlong U+0000 */
		B("\xc1\xbf", false),		/* overlong U+007F */
		B("\xe0\x80\x80", false),	/* overlong U+0000 */
		B("\xe0\x9f\xbf", false),	/* overlong U+07FF */
		B("\xf0\x80\x80\x80", false),	/* overlong U+0000 */
		B("\xf0\x8f\xbf\xbf", false),	/* overlong U+FFFF */
		B("\xed\xa0\x80", false),	/* U+D800 */
		B("\xed\xbf\xbf", false),	/* U+DFFF */
		B("\xf4\x90\x80\x80", false),	/* U+110000 */
		B("\xf5\x80\x80\x80", false),
		B("\xf7\xbf\xbf\xbf", false),
		B("\xf8\x88\x80\x80\x80", false),	/* 5-byte form */
		B("\xfc\x84\x80\x80\x80\x80", false),	/* 6-byte form */
		B("\xfe", false),
		B("\xff", false),
		B("a\xfe" "b", false),
		B("\x80", false),
		B("\xbf", false),
		B("a\x80", false),
		B("\xc3\xa9\x80", false),
		B("\x80\xc3\xa9", false),
		B("\xc2", false),
		B("a\xc2", false),
		B("\xe2\x82", false),
		B("\xe2", false),
		B("\xf0\x9f\x98", false),
		B("\xf0\x9f", false),
		B("\xf0", false),
		B("\xc2\x41", false),
		B("\xc2\xc2\x80", false),
		B("\xe2\x41\xac", false),
		B("\xe2\x82\x41", false),
		B("\xf0\x9f\x41\x80", false),
		B("\xf0\x9f\x98\x41", false),
		B("\xf0\x9f\x98\xc0", false),
	};
#undef B
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *p = exact_copy(cases[i].bytes, cases[i].len);
		if (utf8_valid(p, cases[i].len) != cases[i].valid)
			fail_msg("case %zu: utf8_valid is not %d", i,
			    cases[i].valid);
		free(p);
	}
}

/* The ASCII fast path reads eight bytes at a time: one sequence at every
 * offset 0-16 of ASCII runs of several lengths is judged as it is alone,
 * whether the run ends before, inside or after an 8-byte word, and no byte
 * past the end is read (the copy is exact for valgrind). */
static void
test_utf8_every_offset(void **state)
{
#define B(s, v) { s, sizeof s - 1, v }
	static const struct bytes_case seqs[] = {
		B("\x80", false),
		B("\xff", false),
		B("\xc0\x80", false),
		B("\xed\xa0\x80", false),
		B("\xf4\x90\x80\x80", false),
		B("\xc2", false),		/* cut short */
		B("\xc3\xa9", true),
		B("\xe2\x82\xac", true),
		B("\xf0\x9f\x98\x80", true),
	};
#undef B
	static const size_t tails[] = { 0, 1, 7, 8, 9, 16, 23 };
	(void)state;

	for (size_t s = 0; s < NELEM(seqs); s++) {
		for (size_t off = 0; off <= 16; off++) {
			for (size_t t = 0; t < NELEM(tails); t++) {
				size_t len = off + seqs[s].len + tails[t];
				char *p = malloc(len);

				assert_non_null(p);
				memset(p, 'a', len);
				memcpy(p + off, seqs[s].bytes, seqs[s].len);
				if (utf8_valid(p, len) != seqs[s].valid)
					fail_msg("sequence %zu at offset %zu "
					    "with %zu bytes after: not %d", s,
					    off, tails[t], seqs[s].valid);
				free(p);
			}
		}
	}
}

/* A sequence cut short by len is invalid even when the bytes that would
 * complete it follow in memory: nothing past len is looked at. */
static void
test_utf8_cut_by_len(void **state)
{
	static const char *const seqs[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	};
	static const size_t before[] = { 0, 1, 7, 8, 15 };
	(void)state;

	for (size_t s = 0; s < NELEM(seqs); s++) {
		size_t seq_len = strlen(seqs[s]);
		for (size_t b = 0; b < NELEM(before); b++) {
			char p[32];
			memset(p, 'a', before[b]);
			memcpy(p + before[b], seqs[s], seq_len);
			assert_true(utf8_valid(p, before[b] + seq_len));
			for (size_t cut = 1; cut < seq_len; cut++)
				if (utf8_valid(p, before[b] + cut))
					fail_msg("sequence %zu after %zu bytes, "
					    "cut to %zu, passes", s, before[b],
					    cut);
		}
	}
}

/* Data: valid UTF-8 without NUL; NUL is named before any UTF-8 error. */
static void
test_data(void **state)
{
#define D(s, why) { s, sizeof s - 1, why }
	static const struct {
		const char *bytes;
		size_t len;
		const char *why;
	} cases[] = {
		D("", NULL),
		D("abc", NULL),
		D("a\nb\r\nc\r", NULL),
		D("caf\xc3\xa9 \xe2\x82\xac", NULL),
		D("\0", NUL_DATA),
		D("a\0b", NUL_DATA),
		D("abc\0", NUL_DATA),
		D("\xff\0", NUL_DATA),
		D("\xff", BAD_UTF8),
		D("a\xc3", BAD_UTF8),
		D("\xed\xa0\x80", BAD_UTF8),
	};
#undef D
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *p = exact_copy(cases[i].bytes, cases[i].len);
		const char *why = validate_data(p, cases[i].len);
		if ((why == NULL) != (cases[i].why == NULL))
			fail_msg("case %zu: got %s", i, why ? why : "valid");
		if (why != NULL)
			assert_string_equal(why, cases[i].why);
		free(p);
	}
}

/* utf8_repair: good UTF-8 is kept byte for byte; each maximal ill-formed
 * subpart (Unicode 15, 3.9, and its table 3-8) and each NUL becomes one
 * U+FFFD; the result always passes validate_data(). */
static void
test_utf8_repair(void **state)
{
#define R "\xEF\xBF\xBD"
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "", 0, "" },
		{ "plain", 5, "plain" },
		{ "caf\xC3\xA9 \xF0\x9F\x98\x80", 10,
		  "caf\xC3\xA9 \xF0\x9F\x98\x80" },
		{ "\xE9t\xE9", 3, R "t" R },		/* Latin-1 */
		{ "a\0b", 3, "a" R "b" },			/* NUL */
		{ "\xFF", 1, R },
		{ "\xC0\xAF", 2, R R },			/* overlong lead */
		{ "\xE0\x80\xAF", 3, R R R },		/* overlong */
		{ "\xED\xA0\x80", 3, R R R },		/* surrogate */
		{ "\xE2\x82", 2, R },			/* cut at the end */
		{ "\xE2\x82x", 3, R "x" },		/* cut short */
		{ "\xF0\x9F\x98", 3, R },
		{ "\xF4\x90\x80\x80", 4, R R R R },	/* above U+10FFFF */
		{ "\x80\x80", 2, R R },			/* lone continuation */
		/* Unicode's example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
		{ "a\xF1\x80\x80\xE1\x80\xC2" "b\x80" "c\x80\xBF" "d", 13,
		  "a" R R R "b" R "c" R R "d" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t len = 0;
		char *out = utf8_repair(cases[i].in, cases[i].len, &len);
		assert_non_null(out);
		if (len != strlen(cases[i].want) ||
		    memcmp(out, cases[i].want, len) != 0)
			fail_msg("case %zu: got %zu bytes", i, len);
		assert_null(validate_data(out, len));
		free(out);
	}
#undef R
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_names),
		cmocka_unit_test(test_event_types),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_utf8_every_offset),
		cmocka_unit_test(test_utf8_cut_by_len),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_utf8_repair),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
