/* Fuzz target: the number parsers (src/number.h).
 *
 * Input: a selector byte (parse_uint, parse_event_id or
 * parse_duration_ms), 8 bytes that give parse_uint's max, then the text up
 * to a NUL. Each result is compared with a reference that works
 * differently: it checks the form of the whole text first, then adds the
 * digits up in 128-bit arithmetic and compares with the limit at the end,
 * where src/number.c checks for overflow digit by digit. They must agree
 * on success and on the value; every failure must come with a one-line
 * reason, and must leave the output alone.
 */
#include "fuzz.h"
#include "number.h"

typedef unsigned __int128 u128;

/* The digits s[0..n) as a number, saturated at 2^100 (far above any
 * limit) so that long strings cannot wrap. */
static u128
digits_value(const char *s, size_t n)
{
	const u128 cap = (u128)1 << 100;
	u128 v = 0;

	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (u128)(s[i] - '0');
		if (v > cap)
			v = cap;
	}
	return v;
}

static size_t
count_digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* parse_uint: true and *out when s is only digits, at least one, and
 * their value is at most max. */
static bool
reference_uint(const char *s, int64_t max, int64_t *out)
{
	size_t n = count_digits(s);

	if (n == 0 || s[n] != '\0')
		return false;
	u128 v = digits_value(s, n);
	if (v > (u128)max)
		return false;
	*out = (int64_t)v;
	return true;
}

/* parse_duration_ms: digits with a value of at least 1, then one of
 * s m h d w, then the end; the product in ms must fit in int64. */
static bool
reference_duration(const char *s, int64_t *out)
{
	size_t n = count_digits(s);

	if (n == 0 || s[n] == '\0' || s[n + 1] != '\0')
		return false;
	u128 ms;
	switch (s[n]) {
	case 's': ms = 1000; break;
	case 'm': ms = 60000; break;
	case 'h': ms = 3600000; break;
	case 'd': ms = 86400000; break;
	case 'w': ms = 604800000; break;
	default: return false;
	}
	u128 v = digits_value(s, n);
	if (v == 0 || v * ms > (u128)INT64_MAX)
		return false;
	*out = (int64_t)(v * ms);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	struct input in = { bytes, size };
	uint8_t sel = take_u8(&in);
	uint64_t raw_max = take_uint(&in, 8);
	char *s = take_string(&in, NULL);
	int64_t got = -42, want = -42;
	const char *err;
	bool ok;

	switch (sel % 3) {
	case 0: {
		/* Small limits too: parse_digits has a special case below 9. */
		int64_t max = sel & 0x80 ? (int64_t)(raw_max & INT64_MAX) :
		    (int64_t)(raw_max % 1001);
		err = parse_uint(s, max, &got);
		ok = reference_uint(s, max, &want);
		break;
	}
	case 1:
		err = parse_event_id(s, &got);
		ok = reference_uint(s, INT64_MAX, &want);
		break;
	default:
		err = parse_duration_ms(s, &got);
		ok = reference_duration(s, &want);
		break;
	}
	if (ok) {
		CHECK(err == NULL);
		CHECK(got == want);
	} else {
		CHECK(err != NULL && err[0] != '\0' &&
		    one_line(err, strlen(err)));
		CHECK(got == -42);
	}
	free(s);
	return 0;
}
