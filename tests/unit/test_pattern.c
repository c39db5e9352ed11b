/* Unit tests for src/pattern.h: which streams a grant covers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pattern.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static void
test_validate(void **state)
{
	static const struct {
		const char *pattern;
		const char *want;	/* NULL: well formed */
	} cases[] = {
		{ "build/42", NULL },
		{ "build/*", NULL },
		{ "build/**", NULL },
		{ "**", NULL },
		{ "*", NULL },
		{ "*/logs/**", NULL },
		{ "user/{user}/**", NULL },
		{ "inbox-{user}", NULL },
		{ "{user}{user}", NULL },
		{ "a.b_c-d:e@f", NULL },
		{ "", "empty pattern" },
		{ "/build", "empty segment in pattern" },
		{ "build/", "empty segment in pattern" },
		{ "a//b", "empty segment in pattern" },
		{ "**/x", "** must be the last segment of a pattern" },
		{ "a/**/b", "** must be the last segment of a pattern" },
		{ "build-*", "* must be a whole segment of a pattern" },
		{ "***", "* must be a whole segment of a pattern" },
		{ "a b", "invalid character in pattern" },
		{ "{usr}", "invalid character in pattern" },
		{ "{user", "invalid character in pattern" },
		{ "a/../b", "segment . or .. in pattern" },
		{ ".", "segment . or .. in pattern" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *got = pattern_validate(cases[i].pattern);
		if (cases[i].want == NULL && got != NULL)
			fail_msg("\"%s\" refused: %s", cases[i].pattern, got);
		if (cases[i].want != NULL && got == NULL)
			fail_msg("\"%s\" accepted", cases[i].pattern);
		if (cases[i].want != NULL)
			assert_string_equal(got, cases[i].want);
	}
}

static void
test_match(void **state)
{
	static const struct {
		const char *pattern, *stream, *user;
		bool want;
	} cases[] = {
		{ "build/42", "build/42", NULL, true },
		{ "build/42", "build/43", NULL, false },
		{ "build/42", "build/420", NULL, false },
		{ "build/42", "build/4", NULL, false },
		{ "build/42", "build/42/x", NULL, false },
		{ "build/*", "build/42", NULL, true },
		{ "build/*", "build", NULL, false },
		{ "build/*", "build/42/x", NULL, false },
		{ "*/x", "a/x", NULL, true },
		{ "*/x", "a/y", NULL, false },
		{ "*", "status", NULL, true },
		{ "*", "a/b", NULL, false },
		/* ** : zero or more further segments. */
		{ "build/**", "build", NULL, true },
		{ "build/**", "build/42", NULL, true },
		{ "build/**", "build/42/log/x", NULL, true },
		{ "build/**", "builds/1", NULL, false },
		{ "build/**", "buil", NULL, false },
		{ "**", "anything/at/all", NULL, true },
		{ "**", "x", NULL, true },
		{ "*/**", "a", NULL, true },
		{ "a/*/**", "a", NULL, false },
		/* {user} */
		{ "user/{user}/**", "user/alice/inbox", "alice", true },
		{ "user/{user}/**", "user/alice", "alice", true },
		{ "user/{user}/**", "user/bob/inbox", "alice", false },
		{ "user/{user}/**", "user/alice/inbox", NULL, false },
		{ "user/{user}/**", "user/alicex/inbox", "alice", false },
		{ "user/{user}/**", "user/ali/inbox", "alice", false },
		{ "inbox-{user}", "inbox-carol", "carol", true },
		{ "inbox-{user}", "inbox-", "", false },
		{ "{user}{user}", "abab", "ab", true },
		{ "{user}", "a@example.com", "a@example.com", true },
		/* A principal that is not one segment matches nothing. */
		{ "user/{user}/**", "user/alice/bob/x", "alice/bob", false },
		{ "user/{user}", "user/..", "..", false },
		{ "user/{user}", "user/a b", "a b", false },
		/* A malformed pattern matches nothing. */
		{ "build-*", "build-1", NULL, false },
		{ "a/**/b", "a/x/b", NULL, false },
		{ "", "", NULL, false },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		bool got = pattern_match(cases[i].pattern, cases[i].stream,
		    cases[i].user);
		if (got != cases[i].want)
			fail_msg("pattern \"%s\", stream \"%s\", user %s%s%s: "
			    "got %s", cases[i].pattern, cases[i].stream,
			    cases[i].user ? "\"" : "",
			    cases[i].user ? cases[i].user : "none",
			    cases[i].user ? "\"" : "", got ? "match" : "no match");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
