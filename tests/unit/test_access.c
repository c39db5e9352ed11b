/* Unit tests for src/access.h: the --access rules file and the decision
 * for a request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "access.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Writes text to a new file and loads it as rules. */
static struct access_rules *
load(const char *text, char *err, size_t errlen, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "/tmp/sselog-access-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct access_rules *r = access_rules_load(path, err, errlen);
	unlink(path);
	return r;
}

static void
test_bad_files(void **state)
{
	static const struct {
		const char *text;
		const char *want;	/* after "PATH:" */
	} cases[] = {
		{ "alice read\n", "1: a rule is WHO ACCESS PATTERN...: no PATTERN" },
		{ "# ok\n\nalice\n", "3: a rule is WHO ACCESS PATTERN...: ACCESS is missing" },
		{ "alice write build/**\n", "1: unknown access \"write\": use read, publish or read,publish" },
		{ "alice read, build/**\n", "1: unknown access \"read,\"" },
		{ "alice read,read2 x\n", "1: unknown access \"read,read2\"" },
		{ "a read x\nb read a/**/b\n", "2: pattern \"a/**/b\": ** must be the last segment of a pattern" },
		{ "a read x\n\n\nb read x-*\n", "4: pattern \"x-*\": * must be a whole segment" },
		{ "a read # x\n", "1: a rule is WHO ACCESS PATTERN...: no PATTERN" },
		{ "a # read x\n", "1: a rule is WHO ACCESS PATTERN...: ACCESS is missing" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char err[1024] = "", path[64];
		struct access_rules *r = load(cases[i].text, err, sizeof err,
		    path, sizeof path);
		if (r != NULL)
			fail_msg("%s: accepted", cases[i].text);
		size_t plen = strlen(path);
		if (strncmp(err, path, plen) != 0 || err[plen] != ':' ||
		    strncmp(err + plen + 1, cases[i].want,
		    strlen(cases[i].want)) != 0)
			fail_msg("%s: got \"%s\", wanted \"%s:%s\"",
			    cases[i].text, err, path, cases[i].want);
	}
	char err[512];
	assert_null(access_rules_load("/nonexistent/rules", err, sizeof err));
	assert_string_equal(err, "/nonexistent/rules: No such file or directory");
}

static const char rules_text[] =
    "# WHO        ACCESS          PATTERN...\n"
    "alice        read            build/**\n"
    "*            read            public/** user/{user}/**   # comment\n"
    "ci-runner    read,publish    build/**\n"
    "bob\tpublish,read\tbob/*\n"
    "anonymous    read            status\n"
    "\n"
    "   # an indented comment\n";

static void
test_rules(void **state)
{
	static const struct {
		const char *user;	/* REMOTE_USER */
		enum access_right right;
		const char *stream;
		enum access_verdict want;
	} cases[] = {
		{ "alice", ACCESS_READ, "build/42", ACCESS_ALLOWED },
		{ "alice", ACCESS_READ, "build", ACCESS_ALLOWED },
		{ "alice", ACCESS_PUBLISH, "build/42", ACCESS_FORBIDDEN },
		{ "alice", ACCESS_READ, "public/x/y", ACCESS_ALLOWED },
		{ "alice", ACCESS_READ, "user/alice/inbox", ACCESS_ALLOWED },
		{ "alice", ACCESS_READ, "user/bob/inbox", ACCESS_FORBIDDEN },
		{ "alice", ACCESS_READ, "status", ACCESS_ALLOWED },
		{ "alice", ACCESS_READ, "deploy/1", ACCESS_FORBIDDEN },
		{ "carol", ACCESS_READ, "build/42", ACCESS_FORBIDDEN },
		{ "carol", ACCESS_READ, "user/carol", ACCESS_ALLOWED },
		{ "ci-runner", ACCESS_PUBLISH, "build/42", ACCESS_ALLOWED },
		{ "ci-runner", ACCESS_READ, "build/42", ACCESS_ALLOWED },
		{ "ci-runner", ACCESS_PUBLISH, "deploy/42", ACCESS_FORBIDDEN },
		{ "bob", ACCESS_PUBLISH, "bob/x", ACCESS_ALLOWED },
		{ "bob", ACCESS_READ, "bob/x", ACCESS_ALLOWED },
		{ "bob", ACCESS_READ, "bob/x/y", ACCESS_FORBIDDEN },
		{ NULL, ACCESS_READ, "status", ACCESS_ALLOWED },
		{ "", ACCESS_READ, "status", ACCESS_ALLOWED },
		{ NULL, ACCESS_READ, "public/x", ACCESS_NO_CREDENTIALS },
		{ "", ACCESS_READ, "user//x", ACCESS_NO_CREDENTIALS },
		{ NULL, ACCESS_PUBLISH, "status", ACCESS_NO_CREDENTIALS },
		/* A user literally named like the keywords gets only what
		 * they grant to everyone. */
		{ "anonymous", ACCESS_READ, "build/1", ACCESS_FORBIDDEN },
		{ "*", ACCESS_READ, "build/1", ACCESS_FORBIDDEN },
	};
	char err[512], path[64];
	struct access_rules *r = load(rules_text, err, sizeof err, path,
	    sizeof path);
	(void)state;

	if (r == NULL)
		fail_msg("%s", err);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct access_who who = { .remote_user = cases[i].user };
		const char *refused = NULL, *s = cases[i].stream;
		enum access_verdict got = access_check(r, &who, cases[i].right,
		    &s, 1, &refused);
		if (got != cases[i].want)
			fail_msg("%s %s %s: got %d, wanted %d",
			    cases[i].user ? cases[i].user : "(nobody)",
			    cases[i].right == ACCESS_READ ? "read" : "publish",
			    s, got, cases[i].want);
		if (got != ACCESS_ALLOWED)
			assert_ptr_equal(refused, s);
	}
	access_rules_free(r);
}

static void
test_tokens(void **state)
{
	char *subscribe[] = { "build/**", "user/{user}/**" };
	char *publish[] = { "build/7" };
	struct token_claims t = { .sub = "dave", .exp = 1,
	    .subscribe = subscribe, .n_subscribe = 2,
	    .publish = publish, .n_publish = 1 };
	struct token_claims nosub = t;
	nosub.sub = NULL;
	static const char *const several[] = { "build/1", "user/dave/x",
	    "deploy/1", "build/2" };
	const char *refused = NULL;
	(void)state;

	struct access_who who = { .token = &t, .token_in_header = true };
	assert_int_equal(access_check(NULL, &who, ACCESS_READ, several, 2,
	    &refused), ACCESS_ALLOWED);
	assert_int_equal(access_check(NULL, &who, ACCESS_READ, several, 4,
	    &refused), ACCESS_FORBIDDEN);
	assert_string_equal(refused, "deploy/1");
	const char *b7 = "build/7", *b8 = "build/8", *mine = "user/dave/x";
	assert_int_equal(access_check(NULL, &who, ACCESS_PUBLISH, &b7, 1,
	    &refused), ACCESS_ALLOWED);
	assert_int_equal(access_check(NULL, &who, ACCESS_PUBLISH, &b8, 1,
	    &refused), ACCESS_FORBIDDEN);
	/* A cookie or the query never publishes; it still reads. */
	who.token_in_header = false;
	assert_int_equal(access_check(NULL, &who, ACCESS_PUBLISH, &b7, 1,
	    &refused), ACCESS_FORBIDDEN);
	assert_int_equal(access_check(NULL, &who, ACCESS_READ, &b7, 1,
	    &refused), ACCESS_ALLOWED);
	/* {user} without a sub matches nothing. */
	who.token = &nosub;
	assert_int_equal(access_check(NULL, &who, ACCESS_READ, &mine, 1,
	    &refused), ACCESS_FORBIDDEN);
	/* An invalid token is never anonymous, whatever anonymous may. */
	char err[512], path[64];
	struct access_rules *r = load("anonymous read **\n", err, sizeof err,
	    path, sizeof path);
	assert_non_null(r);
	struct access_who bad = { .token_invalid = true };
	assert_int_equal(access_check(r, &bad, ACCESS_READ, &b7, 1, &refused),
	    ACCESS_BAD_TOKEN);
	struct access_who nobody = { 0 };
	assert_int_equal(access_check(r, &nobody, ACCESS_READ, &b7, 1,
	    &refused), ACCESS_ALLOWED);
	/* Grants add up: rules for the REMOTE_USER and the token's. */
	access_rules_free(r);
	r = load("erin read deploy/**\n", err, sizeof err, path, sizeof path);
	assert_non_null(r);
	struct access_who both = { .remote_user = "erin", .token = &t };
	assert_int_equal(access_check(r, &both, ACCESS_READ, several, 4,
	    &refused), ACCESS_ALLOWED);
	access_rules_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
