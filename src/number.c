#include "number.h"

#include <stddef.h>
#include <string.h>

static const char not_number[] = "not a plain non-negative decimal integer";
static const char too_large[] = "number too large";
static const char bad_duration[] =
    "not a duration: use a number and a unit, as in 90s, 30m, 12h, 7d or 2w";
static const char long_duration[] = "duration too long";

/* Parses the digits of s up to its end or up to the first non-digit, which
 * is left in *end. */
static const char *
parse_digits(const char *s, int64_t max, int64_t *out, const char **end)
{
	int64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return not_number;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';
		/* d > max first: for max < 9, (max - d) / 10 truncates to 0. */
		if (d > max || v > (max - d) / 10)
			return too_large;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return NULL;
}

const char *
parse_uint(const char *s, int64_t max, int64_t *out)
{
	const char *end, *err;
	int64_t v;

	if ((err = parse_digits(s, max, &v, &end)) != NULL)
		return err;
	if (*end != '\0')
		return not_number;
	*out = v;
	return NULL;
}

const char *
parse_event_id(const char *s, int64_t *out)
{
	return parse_uint(s, INT64_MAX, out);
}

const char *
parse_duration_ms(const char *s, int64_t *out_ms)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {
		{ 's', 1000 },
		{ 'm', 60 * 1000 },
		{ 'h', 60 * 60 * 1000 },
		{ 'd', 24 * 60 * 60 * 1000 },
		{ 'w', 7 * 24 * 60 * 60 * 1000 },
	};
	const char *end, *err;
	int64_t n;

	if ((err = parse_digits(s, INT64_MAX, &n, &end)) != NULL)
		return err == too_large ? long_duration : bad_duration;
	if (n == 0 || end[0] == '\0' || end[1] != '\0')
		return bad_duration;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (units[i].unit != end[0])
			continue;
		if (n > INT64_MAX / units[i].ms)
			return long_duration;
		*out_ms = n * units[i].ms;
		return NULL;
	}
	return bad_duration;
}

const char *
parse_age_ms(const char *s, int64_t *out_ms)
{
	const char *why = parse_duration_ms(s, out_ms), *end = s;
	int64_t n = -1;

	/* Zero, with or without a unit: no age at all. */
	if (why == bad_duration && parse_digits(s, INT64_MAX, &n, &end) ==
	    NULL && n == 0 && (end[0] == '\0' ||
	    (strchr("smhdw", end[0]) != NULL && end[1] == '\0'))) {
		*out_ms = 0;
		return NULL;
	}
	return why;
}
