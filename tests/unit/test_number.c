/* Unit tests for src/number.h: numbers that come from outside. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "number.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* The reasons number.c gives, word for word. */
#define NOT_NUMBER "not a plain non-negative decimal integer"
#define TOO_LARGE "number too large"
#define BAD_DURATION \
	"not a duration: use a number and a unit, as in 90s, 30m, 12h, 7d or 2w"
#define LONG_DURATION "duration too long"

/* Something no parser would write, to see that a refusal leaves *out be. */
#define UNTOUCHED INT64_C(-12345)

struct number_case {
	const char *in;
	const char *why;	/* NULL: accepted */
	int64_t want;		/* the value when accepted */
};

/* Asserts that a parser's answer for c is c's, and that a refused input
 * does not write to *out. */
static void
check_case(const struct number_case *c, const char *why, int64_t out)
{
	if (c->why == NULL) {
		if (why != NULL)
			fail_msg("\"%s\" refused: %s", c->in, why);
		assert_int_equal(out, c->want);
	} else {
		if (why == NULL)
			fail_msg("\"%s\" accepted as %lld", c->in,
			    (long long)out);
		assert_string_equal(why, c->why);
		assert_int_equal(out, UNTOUCHED);
	}
}

/* parse_event_id takes a plain decimal integer from 0 to INT64_MAX and
 * nothing else: no sign, space, hex, exponent or fraction, and no value
 * that needs 64 bits. */
static void
test_event_id(void **state)
{
	static const struct number_case cases[] = {
		{ "0", NULL, 0 },
		{ "1", NULL, 1 },
		{ "42", NULL, 42 },
		{ "007", NULL, 7 },
		{ "0000000000000000000000000001", NULL, 1 },
		{ "9223372036854775806", NULL, INT64_MAX - 1 },
		{ "9223372036854775807", NULL, INT64_MAX },
		{ "9223372036854775808", TOO_LARGE, 0 },
		{ "9223372036854775810", TOO_LARGE, 0 },
		{ "9999999999999999999", TOO_LARGE, 0 },
		{ "12345678901234567890", TOO_LARGE, 0 },
		{ "99999999999999999999", TOO_LARGE, 0 },
		{ "18446744073709551616", TOO_LARGE, 0 },
		{ "", NOT_NUMBER, 0 },
		{ "abc", NOT_NUMBER, 0 },
		{ "-1", NOT_NUMBER, 0 },
		{ "-0", NOT_NUMBER, 0 },
		{ "+1", NOT_NUMBER, 0 },
		{ "1e3", NOT_NUMBER, 0 },
		{ " 5", NOT_NUMBER, 0 },
		{ "5 ", NOT_NUMBER, 0 },
		{ "5\n", NOT_NUMBER, 0 },
		{ "\t5", NOT_NUMBER, 0 },
		{ "0x10", NOT_NUMBER, 0 },
		{ "1.0", NOT_NUMBER, 0 },
		{ "1,000", NOT_NUMBER, 0 },
		{ "1_000", NOT_NUMBER, 0 },
		{ "5abc", NOT_NUMBER, 0 },
		{ "\xd9\xa1", NOT_NUMBER, 0 },	/* ARABIC-INDIC DIGIT ONE */
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t out = UNTOUCHED;
		const char *why = parse_event_id(cases[i].in, &out);
		check_case(&cases[i], why, out);
	}
}

/* parse_uint honours its maximum exactly, for every maximum: the largest
 * value passes, one more is too large, including maxima below 10 where the
 * next digit alone exceeds the maximum. */
static void
test_uint_max(void **state)
{
	static const struct {
		int64_t max;
		struct number_case c;
	} cases[] = {
		{ 0, { "0", NULL, 0 } },
		{ 0, { "1", TOO_LARGE, 0 } },
		{ 0, { "9", TOO_LARGE, 0 } },
		{ 1, { "1", NULL, 1 } },
		{ 1, { "2", TOO_LARGE, 0 } },
		{ 5, { "5", NULL, 5 } },
		{ 5, { "6", TOO_LARGE, 0 } },
		{ 5, { "10", TOO_LARGE, 0 } },
		{ 9, { "9", NULL, 9 } },
		{ 9, { "10", TOO_LARGE, 0 } },
		{ 10, { "10", NULL, 10 } },
		{ 10, { "11", TOO_LARGE, 0 } },
		{ 99, { "99", NULL, 99 } },
		{ 99, { "100", TOO_LARGE, 0 } },
		{ 100, { "099", NULL, 99 } },
		{ INT32_MAX, { "2147483647", NULL, INT32_MAX } },
		{ INT32_MAX, { "2147483648", TOO_LARGE, 0 } },
		{ INT32_MAX, { "-5", NOT_NUMBER, 0 } },
		{ INT64_MAX, { "9223372036854775807", NULL, INT64_MAX } },
		{ INT64_MAX, { "9223372036854775808", TOO_LARGE, 0 } },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t out = UNTOUCHED;
		const char *why = parse_uint(cases[i].c.in, cases[i].max, &out);
		check_case(&cases[i].c, why, out);
	}
}

/* parse_duration_ms takes a positive integer and exactly one unit among
 * s, m, h, d and w, gives milliseconds, and refuses anything that would
 * not fit in 63 bits of milliseconds. */
static void
test_duration(void **state)
{
	static const struct number_case cases[] = {
		{ "1s", NULL, 1000 },
		{ "90s", NULL, 90 * 1000 },
		{ "30m", NULL, 30 * 60 * 1000 },
		{ "12h", NULL, 12 * 3600 * 1000 },
		{ "7d", NULL, INT64_C(7) * 86400 * 1000 },
		{ "2w", NULL, INT64_C(14) * 86400 * 1000 },
		{ "1w", NULL, INT64_C(7) * 86400 * 1000 },
		{ "01m", NULL, 60 * 1000 },
		{ "3650d", NULL, INT64_C(3650) * 86400 * 1000 },
		/* The largest of each unit, then one more. */
		{ "9223372036854775s", NULL, INT64_C(9223372036854775000) },
		{ "9223372036854776s", LONG_DURATION, 0 },
		{ "15250284452w", NULL, INT64_C(15250284452) * 604800000 },
		{ "15250284453w", LONG_DURATION, 0 },
		{ "106751991167d", NULL, INT64_C(106751991167) * 86400000 },
		{ "106751991168d", LONG_DURATION, 0 },
		{ "9223372036854775807s", LONG_DURATION, 0 },
		/* Too many digits for any number at all. */
		{ "99999999999999999999s", LONG_DURATION, 0 },
		{ "0s", BAD_DURATION, 0 },
		{ "0w", BAD_DURATION, 0 },
		{ "00d", BAD_DURATION, 0 },
		{ "7", BAD_DURATION, 0 },
		{ "7x", BAD_DURATION, 0 },
		{ "7ms", BAD_DURATION, 0 },
		{ "7dd", BAD_DURATION, 0 },
		{ "7D", BAD_DURATION, 0 },
		{ "7 d", BAD_DURATION, 0 },
		{ " 7d", BAD_DURATION, 0 },
		{ "7d ", BAD_DURATION, 0 },
		{ "d", BAD_DURATION, 0 },
		{ "", BAD_DURATION, 0 },
		{ "-1s", BAD_DURATION, 0 },
		{ "+1s", BAD_DURATION, 0 },
		{ "1.5h", BAD_DURATION, 0 },
		{ "1e3s", BAD_DURATION, 0 },
		{ "0x10s", BAD_DURATION, 0 },
		{ "1h30m", BAD_DURATION, 0 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t out = UNTOUCHED;
		const char *why = parse_duration_ms(cases[i].in, &out);
		check_case(&cases[i], why, out);
	}
}

/* parse_age_ms takes what parse_duration_ms takes, and zero too, with or
 * without a unit (prune --forget-closed 0: every closed stream). */
static void
test_age(void **state)
{
	static const struct number_case cases[] = {
		{ "0", NULL, 0 },
		{ "0s", NULL, 0 },
		{ "0w", NULL, 0 },
		{ "00d", NULL, 0 },
		{ "90s", NULL, 90 * 1000 },
		{ "7d", NULL, INT64_C(7) * 86400 * 1000 },
		{ "9223372036854776s", LONG_DURATION, 0 },
		{ "7", BAD_DURATION, 0 },
		{ "0x", BAD_DURATION, 0 },
		{ "0ss", BAD_DURATION, 0 },
		{ "0 ", BAD_DURATION, 0 },
		{ "-0", BAD_DURATION, 0 },
		{ "", BAD_DURATION, 0 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t out = UNTOUCHED;
		const char *why = parse_age_ms(cases[i].in, &out);
		check_case(&cases[i], why, out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_id),
		cmocka_unit_test(test_uint_max),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_age),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
