/* Unit tests for src/credential.h: finding the token in a request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "credential.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static void
test_bearer(void **state)
{
	static const struct {
		const char *header;
		int want_rc;
		const char *want;
	} cases[] = {
		{ NULL, 0, NULL },
		{ "", 0, NULL },
		{ "Basic YWxpY2U6c2VjcmV0", 0, NULL },
		{ "Bearerx abc", 0, NULL },
		{ "Bearer abc.def.ghi", 1, "abc.def.ghi" },
		{ "bearer abc", 1, "abc" },
		{ "BEARER   abc  ", 1, "abc" },
		{ "  Bearer\tabc", 1, "abc" },
		{ "Bearer", 1, "" },
		{ "Bearer ", 1, "" },
		{ "Bearer a b", 1, "" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *got;
		int rc = credential_bearer(cases[i].header, &got);
		if (rc != cases[i].want_rc)
			fail_msg("\"%s\": rc %d", cases[i].header ?
			    cases[i].header : "(none)", rc);
		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void
test_cookie(void **state)
{
	static const struct {
		const char *header, *name;
		int want_rc;
		const char *want;
	} cases[] = {
		{ NULL, "t", 0, NULL },
		{ "", "t", 0, NULL },
		{ "t=abc", "t", 1, "abc" },
		{ "a=1; t=abc; b=2", "t", 1, "abc" },
		{ "a=1;t=abc", "t", 1, "abc" },
		{ "a=1; t=\"abc\"", "t", 1, "abc" },
		{ "at=1; t=2", "t", 1, "2" },
		{ "tt=1", "t", 0, NULL },
		{ "t=1; t=2", "t", 1, "1" },
		{ "t=", "t", 1, "" },
		{ "t", "t", 0, NULL },
		{ "x=a=b; t=c=d", "t", 1, "c=d" },
		{ "sselog_token=e.f.g", "sselog_token", 1, "e.f.g" },
		{ ";;; t=1 ;", "t", 1, "1" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *got;
		int rc = credential_cookie(cases[i].header, cases[i].name, &got);
		if (rc != cases[i].want_rc)
			fail_msg("\"%s\": rc %d", cases[i].header ?
			    cases[i].header : "(none)", rc);
		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_cookie),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
