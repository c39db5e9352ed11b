/* Fuzz target: utf8_valid(), validate_data() and utf8_repair()
 * (src/validate.h).
 *
 * Input: an offset byte, then the bytes to check. The result is compared
 * with a slow reference that decodes one code point at a time from the
 * bit patterns of RFC 3629 section 3 and then refuses overlong forms,
 * surrogates and code points above U+10FFFF, where src/validate.c uses the
 * byte ranges of the table in section 4 and skips ASCII eight bytes at a
 * time. The offset moves the bytes within their block, so that the
 * eight-byte reads run at every alignment and up to the end of the block.
 */
#include "fuzz.h"
#include "validate.h"

static bool
reference_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if ((c & 0x80) == 0) {
			n = 1; cp = c; min = 0;
		} else if ((c & 0xE0) == 0xC0) {
			n = 2; cp = c & 0x1F; min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3; cp = c & 0x0F; min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4; cp = c & 0x07; min = 0x10000;
		} else {
			return false;	/* continuation byte or F8..FF */
		}
		if (len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min)
			return false;		/* overlong */
		if (cp >= 0xD800 && cp <= 0xDFFF)
			return false;		/* surrogate */
		if (cp > 0x10FFFF)
			return false;
		i += n;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	struct input in = { bytes, size };
	size_t off = take_u8(&in) % 8;
	size_t len = in.left;
	/* The bytes end exactly at the end of the block. */
	unsigned char *block = malloc(off + len + 1);

	CHECK(block != NULL);
	memset(block, 'A', off);
	if (len > 0)
		memcpy(block + off, in.p, len);
	const char *s = (const char *)block + off;

	bool want = reference_utf8((const unsigned char *)s, len);
	CHECK(utf8_valid(s, len) == want);

	const char *why = validate_data(s, len);
	bool has_nul = memchr(s, '\0', len) != NULL;
	CHECK((why == NULL) == (want && !has_nul));
	if (why != NULL)
		CHECK(why[0] != '\0' && one_line(why, strlen(why)));

	/* Every prefix that ends between two code points is valid too; the
	 * one that cuts the last sequence short is not. */
	if (want && len > 0) {
		size_t cut = len - 1;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
		CHECK(utf8_valid(s, cut));
		if (cut < len - 1)
			CHECK(!utf8_valid(s, len - 1));
	}

	/* utf8_repair: always valid data, the same bytes when they were
	 * valid already, at most three bytes for each one given. */
	size_t fixed_len = 0;
	char *fixed = utf8_repair(s, len, &fixed_len);
	CHECK(fixed != NULL);
	CHECK(validate_data(fixed, fixed_len) == NULL);
	CHECK(fixed_len <= 3 * len);
	if (why == NULL)
		CHECK(fixed_len == len && memcmp(fixed, s, len) == 0);
	free(fixed);
	free(block);
	return 0;
}
