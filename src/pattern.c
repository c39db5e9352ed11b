#include "pattern.h"

#include <stddef.h>
#include <string.h>

#include "validate.h"

#define USER_MARK "{user}"

/* The length of the segment that starts at s: up to the next "/" or the
 * end. */
static size_t
segment_len(const char *s)
{
	return strcspn(s, "/");
}

static bool
is_segment(const char *seg, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(seg, word, len) == 0;
}

/* True when the user can stand in one segment of a stream name: the
 * characters of stream names, no "/", not "." or "..". */
static bool
user_fits_segment(const char *user)
{
	size_t len = strlen(user);

	if (len == 0 || len > STREAM_NAME_MAX || strchr(user, '/') != NULL)
		return false;
	return validate_stream(user) == NULL;
}

const char *
pattern_validate(const char *pattern)
{
	size_t len = strlen(pattern);

	if (len == 0)
		return "empty pattern";
	if (len > 4 * STREAM_NAME_MAX)
		return "pattern too long";
	for (const char *seg = pattern;;) {
		size_t n = segment_len(seg);
		bool last = seg[n] == '\0';

		if (n == 0)
			return "empty segment in pattern";
		if (is_segment(seg, n, "**")) {
			if (!last)
				return "** must be the last segment of a pattern";
		} else if (!is_segment(seg, n, "*")) {
			/* Literal text and {user}: the characters of stream
			 * names once {user} is taken out. */
			for (size_t i = 0; i < n; i++) {
				if (strncmp(seg + i, USER_MARK,
				    strlen(USER_MARK)) == 0 &&
				    i + strlen(USER_MARK) <= n) {
					i += strlen(USER_MARK) - 1;
					continue;
				}
				char c = seg[i];
				if (!((c >= 'a' && c <= 'z') ||
				    (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') ||
				    strchr("._-:@", c) != NULL))
					return c == '*' ?
					    "* must be a whole segment of a pattern" :
					    "invalid character in pattern";
			}
			if (is_segment(seg, n, ".") || is_segment(seg, n, ".."))
				return "segment . or .. in pattern";
		}
		if (last)
			return NULL;
		seg += n + 1;
	}
}

/* True when the stream segment s (len bytes) is the pattern segment p
 * (plen bytes) with each {user} replaced by user. */
static bool
segment_match(const char *p, size_t plen, const char *s, size_t len,
    const char *user)
{
	size_t ulen = user != NULL ? strlen(user) : 0;
	size_t mark = strlen(USER_MARK);

	while (plen > 0) {
		if (plen >= mark && memcmp(p, USER_MARK, mark) == 0) {
			if (user == NULL || len < ulen ||
			    memcmp(s, user, ulen) != 0)
				return false;
			p += mark, plen -= mark;
			s += ulen, len -= ulen;
			continue;
		}
		if (len == 0 || *p != *s)
			return false;
		p++, plen--;
		s++, len--;
	}
	return len == 0;
}

bool
pattern_match(const char *pattern, const char *stream, const char *user)
{
	if (pattern_validate(pattern) != NULL)
		return false;
	if (user != NULL && !user_fits_segment(user))
		user = NULL;
	const char *p = pattern, *s = stream;
	for (;;) {
		size_t plen = segment_len(p), slen = segment_len(s);

		if (is_segment(p, plen, "**"))
			return true;	/* validated: the last segment */
		if (!is_segment(p, plen, "*") &&
		    !segment_match(p, plen, s, slen, user))
			return false;
		if (p[plen] == '\0' || s[slen] == '\0') {
			/* Both must end here, unless what is left of the
			 * pattern is a last segment of two stars, which
			 * matches no segment too. */
			if (p[plen] == '\0' && s[slen] == '\0')
				return true;
			return s[slen] == '\0' && strcmp(p + plen, "/**") == 0;
		}
		p += plen + 1;
		s += slen + 1;
	}
}
