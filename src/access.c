#include "access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define WHO_ANYONE "*"
#define WHO_ANONYMOUS "anonymous"
#define FIELD_SEPARATORS " \t\r\n"

struct rule {
	char *who;
	unsigned rights;
	char **patterns;
	size_t n;
};

struct access_rules {
	struct rule *rules;
	size_t n;
};

static void
rule_free(struct rule *r)
{
	free(r->who);
	for (size_t i = 0; i < r->n; i++)
		free(r->patterns[i]);
	free(r->patterns);
}

void
access_rules_free(struct access_rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_free(&r->rules[i]);
	free(r->rules);
	free(r);
}

/* "read", "publish", "read,publish" (in either order). Returns the
 * rights, or 0 for anything else. */
static unsigned
parse_rights(const char *field)
{
	unsigned rights = 0;

	for (const char *p = field;;) {
		size_t n = strcspn(p, ",");
		if (n == 4 && strncmp(p, "read", 4) == 0)
			rights |= ACCESS_READ;
		else if (n == 7 && strncmp(p, "publish", 7) == 0)
			rights |= ACCESS_PUBLISH;
		else
			return 0;
		if (p[n] == '\0')
			return rights;
		p += n + 1;
	}
}

/* Parses one line (modified in place) into r; a blank or comment line
 * leaves r->who NULL. Returns NULL, or a reason. */
static const char *
parse_line(char *line, struct rule *r, char *why, size_t whylen)
{
	char *save = NULL, *field;
	const char *bad;

	memset(r, 0, sizeof *r);
	if ((field = strtok_r(line, FIELD_SEPARATORS, &save)) == NULL ||
	    field[0] == '#')
		return NULL;
	if ((r->who = strdup(field)) == NULL)
		return "out of memory";
	char *access = strtok_r(NULL, FIELD_SEPARATORS, &save);
	if (access == NULL || access[0] == '#')
		return "a rule is WHO ACCESS PATTERN...: ACCESS is missing";
	if ((r->rights = parse_rights(access)) == 0) {
		snprintf(why, whylen, "unknown access \"%s\": use read, publish or read,publish",
		    access);
		return why;
	}
	while ((field = strtok_r(NULL, FIELD_SEPARATORS, &save)) != NULL &&
	    field[0] != '#') {
		if ((bad = pattern_validate(field)) != NULL) {
			snprintf(why, whylen, "pattern \"%s\": %s", field, bad);
			return why;
		}
		char **grown = realloc(r->patterns, (r->n + 1) * sizeof *grown);
		if (grown == NULL)
			return "out of memory";
		r->patterns = grown;
		if ((r->patterns[r->n] = strdup(field)) == NULL)
			return "out of memory";
		r->n++;
	}
	if (r->n == 0)
		return "a rule is WHO ACCESS PATTERN...: no PATTERN";
	return NULL;
}

/* Reads rules from f, naming them name in errors. Closes f. */
static struct access_rules *
read_rules(FILE *f, const char *name, char *err, size_t errlen)
{
	struct access_rules *rules = calloc(1, sizeof *rules);
	char *line = NULL, why[512];
	size_t cap = 0, lineno = 0;
	ssize_t len;

	if (rules == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		struct rule r;
		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			snprintf(err, errlen, "%s:%zu: a NUL byte", name, lineno);
			goto fail;
		}
		const char *bad = parse_line(line, &r, why, sizeof why);
		if (bad == NULL && r.who != NULL) {
			struct rule *grown = realloc(rules->rules,
			    (rules->n + 1) * sizeof *grown);
			if (grown == NULL)
				bad = "out of memory";
			else
				rules->rules = grown;
		}
		if (bad != NULL) {
			snprintf(err, errlen, "%s:%zu: %s", name, lineno, bad);
			rule_free(&r);
			goto fail;
		}
		if (r.who != NULL)
			rules->rules[rules->n++] = r;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		goto fail;
	}
	free(line);
	fclose(f);
	return rules;
fail:
	free(line);
	fclose(f);
	access_rules_free(rules);
	return NULL;
}

struct access_rules *
access_rules_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	return read_rules(f, path, err, errlen);
}

struct access_rules *
access_rules_parse(const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	if (len == 0) {
		struct access_rules *none = calloc(1, sizeof *none);
		if (none == NULL)
			snprintf(err, errlen, "%s: out of memory", name);
		return none;
	}
	FILE *f = fmemopen((void *)text, len, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	return read_rules(f, name, err, errlen);
}

static bool
any_match(char *const *patterns, size_t n, const char *stream,
    const char *user)
{
	for (size_t i = 0; i < n; i++)
		if (pattern_match(patterns[i], stream, user))
			return true;
	return false;
}

static bool
signed_in(const struct access_who *who)
{
	return who->remote_user != NULL && who->remote_user[0] != '\0';
}

/* Whether a rule applies to who. */
static bool
rule_applies(const struct rule *r, const struct access_who *who)
{
	if (strcmp(r->who, WHO_ANONYMOUS) == 0)
		return true;
	if (!signed_in(who))
		return false;
	return strcmp(r->who, WHO_ANYONE) == 0 ||
	    strcmp(r->who, who->remote_user) == 0;
}

static bool
allowed(const struct access_rules *rules, const struct access_who *who,
    enum access_right right, const char *stream)
{
	const char *user = signed_in(who) ? who->remote_user : NULL;

	for (size_t i = 0; rules != NULL && i < rules->n; i++) {
		const struct rule *r = &rules->rules[i];
		if ((r->rights & right) && rule_applies(r, who) &&
		    any_match(r->patterns, r->n, stream, user))
			return true;
	}
	const struct token_claims *t = who->token;
	if (t == NULL)
		return false;
	if (right == ACCESS_READ)
		return any_match(t->subscribe, t->n_subscribe, stream, t->sub);
	return who->token_in_header &&
	    any_match(t->publish, t->n_publish, stream, t->sub);
}

enum access_verdict
access_check(const struct access_rules *rules, const struct access_who *who,
    enum access_right right, const char *const *streams, size_t n,
    const char **refused)
{
	if (who->token_invalid)
		return ACCESS_BAD_TOKEN;
	for (size_t i = 0; i < n; i++) {
		if (allowed(rules, who, right, streams[i]))
			continue;
		*refused = streams[i];
		if (!signed_in(who) && who->token == NULL)
			return ACCESS_NO_CREDENTIALS;
		return ACCESS_FORBIDDEN;
	}
	return ACCESS_ALLOWED;
}
