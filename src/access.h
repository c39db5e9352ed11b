/* Who may read and publish which streams: the --access rules file, the
 * grants a token carries, and the decision for one request.
 *
 * Grants add up; there is no deny rule. A rule grants to a REMOTE_USER
 * (the user the web server authenticated), to "*" (any such user) or to
 * "anonymous" (everyone, signed in or not); a token grants to whoever
 * holds it. In a rule's patterns {user} is the REMOTE_USER, in a token's
 * its "sub" (src/pattern.h).
 */
#ifndef SSELOG_ACCESS_H
#define SSELOG_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "token.h"

enum access_right {
	ACCESS_READ = 1,
	ACCESS_PUBLISH = 2,
};

/* The rules of an --access file. */
struct access_rules;

/* Reads the rules file at path: one rule a line, WHO ACCESS PATTERN...,
 * where ACCESS is read, publish or both joined by a comma; "#" starts a
 * comment. Returns the rules (access_rules_free() them), or NULL with
 * "PATH:LINE: reason" (or "PATH: reason") in err. */
struct access_rules *access_rules_load(const char *path, char *err,
    size_t errlen);

/* The same, from the len bytes at text, called name in errors. */
struct access_rules *access_rules_parse(const char *text, size_t len,
    const char *name, char *err, size_t errlen);

void access_rules_free(struct access_rules *r);

/* Who is asking. */
struct access_who {
	const char *remote_user;	/* NULL or "": the web server
					 * authenticated nobody */
	const struct token_claims *token;	/* NULL: no valid token */
	bool token_invalid;	/* a token was given and does not verify */
	bool token_in_header;	/* it came in Authorization, not in a
				 * cookie or the query: only then may it
				 * publish (any site can make a browser send
				 * a cookie) */
};

enum access_verdict {
	ACCESS_ALLOWED,
	ACCESS_NO_CREDENTIALS,	/* 401: nobody is signed in, and anonymous
				 * may not */
	ACCESS_BAD_TOKEN,	/* 401 invalid_token: a token that does not
				 * verify is never taken for anonymous */
	ACCESS_FORBIDDEN,	/* 403: signed in, without the grant */
};

/* Decides whether who may have right on every one of the n streams.
 * rules may be NULL (tokens only). On ACCESS_FORBIDDEN and
 * ACCESS_NO_CREDENTIALS sets *refused to the first stream refused. */
enum access_verdict access_check(const struct access_rules *rules,
    const struct access_who *who, enum access_right right,
    const char *const *streams, size_t n, const char **refused);

#endif
