/* Fuzz target: url_decode() (src/request.h).
 *
 * Input: a flags byte (bit 0: + is a space), then the bytes to decode.
 * The result is compared with a reference decoder written the other way
 * round: it finds each '%' with memchr and decodes its two hex digits with
 * strtol, checked by isxdigit. Both must agree on success or failure and on
 * the decoded bytes; the output must be NUL-terminated right after them.
 */
#include <ctype.h>

#include "fuzz.h"
#include "request.h"

/* Returns the decoded length, or -1 when s is malformed or decodes to a
 * NUL byte. out holds len + 1 bytes. */
static long
reference_decode(const char *s, size_t len, bool plus_is_space, char *out)
{
	size_t o = 0, i = 0;

	while (i < len) {
		const char *pct = memchr(s + i, '%', len - i);
		size_t plain = pct ? (size_t)(pct - (s + i)) : len - i;
		for (size_t k = 0; k < plain; k++) {
			char c = s[i + k];
			out[o++] = c == '+' && plus_is_space ? ' ' : c;
		}
		i += plain;
		if (pct == NULL)
			break;
		if (len - i < 3 || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]))
			return -1;
		char hex[3] = { s[i + 1], s[i + 2], '\0' };
		long v = strtol(hex, NULL, 16);
		if (v == 0)
			return -1;
		out[o++] = (char)v;
		i += 3;
	}
	return (long)o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	struct input in = { bytes, size };
	bool plus_is_space = take_u8(&in) & 1;
	size_t len;
	uint8_t *s = take_rest(&in, &len);
	char *want = malloc(len + 1);
	char *got = (char *)0x1;

	CHECK(want != NULL);
	long n = reference_decode((const char *)s, len, plus_is_space, want);
	int rc = url_decode((const char *)s, len, plus_is_space, &got);
	if (n < 0) {
		CHECK(rc == -1 && got == NULL);
	} else {
		CHECK(rc == 0 && got != NULL);
		CHECK(memcmp(got, want, (size_t)n) == 0 && got[n] == '\0');
	}
	free(got);
	free(want);
	free(s);
	return 0;
}
