/* Fuzz target: the --access rules file (src/access.h) and the stream
 * patterns it holds (src/pattern.h).
 *
 * Input: the rules text, a NUL, then a principal, a NUL, then a stream
 * name. access_rules_parse() must either refuse with "NAME:LINE: reason"
 * (LINE at most the lines in the text) or accept; and then access_check()
 * must agree with a reference that reads the same text with its own
 * scanner and matches patterns segment by segment with its own code:
 * allowed exactly when some rule that applies to the principal has the
 * right and a pattern that covers the stream.
 */
#include "access.h"
#include "fuzz.h"
#include "pattern.h"
#include "validate.h"

/* ---- the reference ---- */

/* The segments of s (split at '/'), at most max. */
static size_t
segments(const char *s, const char **seg, size_t *len, size_t max)
{
	size_t n = 0;

	for (;;) {
		const char *slash = strchr(s, '/');
		if (n == max)
			return max + 1;
		seg[n] = s;
		len[n] = slash ? (size_t)(slash - s) : strlen(s);
		n++;
		if (slash == NULL)
			return n;
		s = slash + 1;
	}
}

/* Does pattern segment p (plen) with {user} replaced match s (slen)? The
 * replacement is built, then compared. */
static bool
ref_segment(const char *p, size_t plen, const char *s, size_t slen,
    const char *user)
{
	char built[4096];
	size_t n = 0;

	for (size_t i = 0; i < plen;) {
		if (plen - i >= 6 && memcmp(p + i, "{user}", 6) == 0) {
			if (user == NULL)
				return false;
			size_t u = strlen(user);
			if (n + u >= sizeof built)
				return false;
			memcpy(built + n, user, u);
			n += u;
			i += 6;
		} else {
			if (n + 1 >= sizeof built)
				return false;
			built[n++] = p[i++];
		}
	}
	return n == slen && memcmp(built, s, n) == 0;
}

static bool
ref_match(const char *pattern, const char *stream, const char *user)
{
	const char *ps[1000], *ss[1000];
	size_t pl[1000], sl[1000];

	if (pattern_validate(pattern) != NULL)
		return false;
	if (user != NULL && (strchr(user, '/') != NULL || *user == '\0' ||
	    validate_stream(user) != NULL))
		user = NULL;
	size_t np = segments(pattern, ps, pl, 999);
	size_t ns = segments(stream, ss, sl, 999);
	bool tail = pl[np - 1] == 2 && memcmp(ps[np - 1], "**", 2) == 0;
	size_t fixed = tail ? np - 1 : np;
	if (tail ? ns < fixed : ns != fixed)
		return false;
	for (size_t i = 0; i < fixed; i++) {
		if (pl[i] == 1 && ps[i][0] == '*')
			continue;
		if (!ref_segment(ps[i], pl[i], ss[i], sl[i], user))
			return false;
	}
	return true;
}

/* ---- the target ---- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	size_t text_len;
	char *text = take_string(&in, &text_len);
	char *user = take_string(&in, NULL);
	char *stream = take_string(&in, NULL);
	char err[1024];
	size_t lines = 1;

	for (size_t i = 0; i < text_len; i++)
		lines += text[i] == '\n';
	struct access_rules *r = access_rules_parse(text, text_len, "rules",
	    err, sizeof err);
	if (r == NULL) {
		unsigned long line = 0;
		CHECK(strncmp(err, "rules:", 6) == 0);
		if (sscanf(err, "rules:%lu:", &line) == 1)
			CHECK(line >= 1 && line <= lines);
		goto out;
	}
	if (validate_stream(stream) == NULL) {
		const char *refused = NULL, *s = stream;
		struct access_who who = { .remote_user = user };
		for (int right = ACCESS_READ; right <= ACCESS_PUBLISH;
		    right <<= 1) {
			enum access_verdict v = access_check(r, &who, right, &s,
			    1, &refused);
			/* The reference: each accepted line, read again. */
			bool want = false;
			char *copy = strndup(text, text_len);
			char *save = NULL;
			CHECK(copy != NULL);
			for (char *line = strtok_r(copy, "\n", &save);
			    line != NULL; line = strtok_r(NULL, "\n", &save)) {
				char *fs = NULL, *who_f, *acc, *pat;
				who_f = strtok_r(line, " \t\r", &fs);
				if (who_f == NULL || who_f[0] == '#')
					continue;
				acc = strtok_r(NULL, " \t\r", &fs);
				bool applies = strcmp(who_f, "anonymous") == 0 ||
				    (*user != '\0' && (strcmp(who_f, "*") == 0 ||
				    strcmp(who_f, user) == 0));
				bool has = (right == ACCESS_READ &&
				    strstr(acc, "read") != NULL) ||
				    (right == ACCESS_PUBLISH &&
				    strstr(acc, "publish") != NULL);
				while ((pat = strtok_r(NULL, " \t\r", &fs)) !=
				    NULL && pat[0] != '#')
					if (applies && has && ref_match(pat,
					    stream, *user ? user : NULL))
						want = true;
			}
			free(copy);
			CHECK((v == ACCESS_ALLOWED) == want);
			if (v != ACCESS_ALLOWED)
				CHECK(refused == s);
		}
	}
	access_rules_free(r);
out:
	free(text);
	free(user);
	free(stream);
	return 0;
}
