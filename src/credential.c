#include "credential.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int
copy_out(const char *s, size_t len, char **out)
{
	if ((*out = strndup(s, len)) == NULL)
		return -1;
	return 1;
}

int
credential_bearer(const char *authorization, char **out)
{
	static const char scheme[] = "Bearer";
	size_t n = strlen(scheme);

	*out = NULL;
	if (authorization == NULL)
		return 0;
	while (is_space(*authorization))
		authorization++;
	if (strncasecmp(authorization, scheme, n) != 0 ||
	    (authorization[n] != '\0' && !is_space(authorization[n])))
		return 0;
	const char *t = authorization + n;
	while (is_space(*t))
		t++;
	size_t len = strlen(t);
	while (len > 0 && is_space(t[len - 1]))
		len--;
	/* RFC 6750's b64token has no space in it: "Bearer a b" is not a
	 * token we could have issued; it is given, and invalid. */
	for (size_t i = 0; i < len; i++)
		if (is_space(t[i]))
			return copy_out("", 0, out);
	return copy_out(t, len, out);
}

int
credential_cookie(const char *cookie_header, const char *name, char **out)
{
	size_t name_len = strlen(name);

	*out = NULL;
	if (cookie_header == NULL || name_len == 0)
		return 0;
	/* cookie-string = cookie-pair *( ";" SP cookie-pair ); browsers
	 * keep to it, other clients may leave out the space. */
	for (const char *p = cookie_header; *p != '\0';) {
		while (is_space(*p) || *p == ';')
			p++;
		size_t pair = strcspn(p, ";");
		const char *eq = memchr(p, '=', pair);
		if (eq != NULL) {
			size_t key = (size_t)(eq - p);
			while (key > 0 && is_space(p[key - 1]))
				key--;
			if (key == name_len && memcmp(p, name, name_len) == 0) {
				const char *v = eq + 1;
				size_t len = pair - (size_t)(v - p);
				while (len > 0 && is_space(*v))
					v++, len--;
				while (len > 0 && is_space(v[len - 1]))
					len--;
				if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
					v++, len -= 2;
				return copy_out(v, len, out);
			}
		}
		p += pair;
	}
	return 0;
}
