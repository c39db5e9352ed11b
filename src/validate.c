#include "validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keep these words identical to the RAISE messages in sql/schema.sql. */
static const char bad_stream[] =
    "invalid stream name: use 1-200 characters of A-Z a-z 0-9 . _ - : / @ "
    "in /-separated segments that are not empty, . or ..";
static const char bad_type[] =
    "invalid event type: it must be non-empty text without CR, LF or NUL";
static const char reserved_type[] =
    "invalid event type: types starting with sselog. are reserved, "
    "except sselog.close";
static const char bad_utf8[] = "invalid data: it is not valid UTF-8";
/* (A PostgreSQL log refuses such a type itself: checked here, both logs
 * refuse it in the same words, before anything is written.) */
static const char bad_type_utf8[] =
    "invalid event type: it is not valid UTF-8";
static const char nul_data[] = "invalid data: it contains a NUL byte";

static bool
stream_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == ':' || c == '/' || c == '@';
}

const char *
validate_stream(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > STREAM_NAME_MAX)
		return bad_stream;
	const char *seg = name;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && !stream_char_ok((unsigned char)name[i]))
			return bad_stream;
		if (i == len || name[i] == '/') {
			size_t seg_len = (size_t)(name + i - seg);
			if (seg_len == 0 ||
			    (seg_len == 1 && seg[0] == '.') ||
			    (seg_len == 2 && seg[0] == '.' && seg[1] == '.'))
				return bad_stream;
			seg = name + i + 1;
		}
	}
	return NULL;
}

const char *
validate_event_type(const char *type)
{
	if (type[0] == '\0' || strpbrk(type, "\r\n") != NULL)
		return bad_type;
	if (!utf8_valid(type, strlen(type)))
		return bad_type_utf8;
	if (strncmp(type, "sselog.", 7) == 0 && strcmp(type, "sselog.close") != 0)
		return reserved_type;
	return NULL;
}

const char *
validate_data(const char *data, size_t len)
{
	if (memchr(data, '\0', len) != NULL)
		return nul_data;
	if (!utf8_valid(data, len))
		return bad_utf8;
	return NULL;
}

bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		/* Skip ASCII eight bytes at a time: log lines are mostly ASCII
		 * and this check sits on the path of every piped line. */
		while (i + 8 <= len) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= len)
			break;
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;	/* overlong */
			else if (c == 0xED)
				hi = 0x9F;	/* UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;	/* overlong */
			else if (c == 0xF4)
				hi = 0x8F;	/* above U+10FFFF */
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += n + 1;
	}
	return true;
}

char *
utf8_repair(const char *str, size_t len, size_t *out_len)
{
	static const char fffd[] = "\xEF\xBF\xBD";
	const unsigned char *s = (const unsigned char *)str;
	/* Each input byte becomes at most one U+FFFD, three bytes. */
	char *out = len > (SIZE_MAX - 1) / 3 ? NULL : malloc(3 * len + 1);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		unsigned char c = s[i];
		size_t n = 0, k;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c > 0 && c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, lo = c == 0xE0 ? 0xA0 : 0x80,
			    hi = c == 0xED ? 0x9F : 0xBF;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, lo = c == 0xF0 ? 0x90 : 0x80,
			    hi = c == 0xF4 ? 0x8F : 0xBF;
		/* The continuation bytes that fit, the first in [lo, hi]. */
		for (k = 1; k <= n && i + k < len; k++) {
			unsigned char lo_k = k == 1 ? lo : 0x80;
			unsigned char hi_k = k == 1 ? hi : 0xBF;
			if (s[i + k] < lo_k || s[i + k] > hi_k)
				break;
		}
		if (n > 0 && k == n + 1) {
			memcpy(out + o, s + i, n + 1);
			o += n + 1;
			i += n + 1;
		} else {
			/* NUL, a byte that starts nothing, or a sequence cut
			 * short: one U+FFFD for the bytes it took. */
			memcpy(out + o, fffd, 3);
			o += 3;
			i += k > 1 ? k : 1;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

const char *
validate_idem_key(const char *key)
{
	size_t len = strlen(key);

	if (len < 1 || len > 128)
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (key[i] < '!' || key[i] > '~')
			goto bad;
	return NULL;
bad:
	return "invalid idempotency key: use 1-128 visible ASCII characters";
}
