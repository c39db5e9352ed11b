/* Unit tests for src/hub.h: who follows which stream.
 *
 * hub_each() is observed through a callback that writes the subscriber's
 * number of each link it is called with, so that a case can compare the
 * followers of a stream, in order, against a string like "0 2 4".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* A subscriber; its links are its own, as in the responder's clients. */
struct sub {
	int number;
	struct hub_link links[4];
};

struct seen {
	char text[4096];
	size_t len;
	size_t calls;
	const char *stream;	/* the stream asked for, to check the link */
};

static void
note(struct hub_link *link, void *ctx)
{
	struct seen *s = ctx;
	const struct sub *sub = link->subscriber;

	assert_non_null(sub);
	assert_true(link->index < NELEM(sub->links));
	/* the link is the subscriber's own, at the index it gave */
	assert_ptr_equal(link, &sub->links[link->index]);
	s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len,
	    "%s%d", s->len ? " " : "", sub->number);
	assert_true(s->len < sizeof s->text);
	s->calls++;
}

/* The numbers of stream's followers, in the order hub_each() gives. */
static const char *
followers(struct hub *h, const char *stream, struct seen *s)
{
	memset(s, 0, sizeof *s);
	s->stream = stream;
	hub_each(h, stream, note, s);
	return s->text;
}

static void
join(struct hub *h, const char *stream, struct sub *sub, size_t index)
{
	assert_int_equal(hub_join(h, stream, &sub->links[index], sub, index),
	    0);
	assert_true(hub_has(h, stream));
}

/* ---- order and streams ---- */

/* Followers come out in the order they joined, however many; a
 * subscriber of several streams is in each, with its own link and index;
 * each stream lists only its own followers; hub_topics counts streams,
 * not followers. */
static void
test_order(void **state)
{
	static const struct {
		const char *joins;	/* "stream:subscriber:index ..." */
		const char *stream;
		const char *want;
		size_t topics;
	} cases[] = {
		{ "a:0:0", "a", "0", 1 },
		{ "a:0:0 a:1:0 a:2:0", "a", "0 1 2", 1 },
		{ "a:2:0 a:0:0 a:1:0", "a", "2 0 1", 1 },
		{ "a:0:0 b:1:0 a:2:0 b:3:0 c:4:0", "a", "0 2", 3 },
		{ "a:0:0 b:1:0 a:2:0 b:3:0 c:4:0", "b", "1 3", 3 },
		{ "a:0:0 b:1:0 a:2:0 b:3:0 c:4:0", "c", "4", 3 },
		{ "a:0:0 a:1:0 b:0:1 b:1:1", "b", "0 1", 2 },
		{ "a:0:0 b:0:1 c:0:2 d:0:3", "c", "0", 4 },
		{ "x/1:0:0 x/2:1:0 x:2:0", "x", "2", 3 },
		{ "x/1:0:0 x/2:1:0 x:2:0", "x/1", "0", 3 },
		{ "A:0:0 a:1:0", "a", "1", 2 },
		{ "A:0:0 a:1:0", "A", "0", 2 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hub *h = hub_new();
		struct sub subs[5];
		struct {
			struct sub *sub;
			size_t index;
		} joined[16];
		size_t njoined = 0;
		char joins[256], *save = NULL;
		struct seen s;

		assert_non_null(h);
		for (int k = 0; k < 5; k++)
			subs[k] = (struct sub){ .number = k };
		snprintf(joins, sizeof joins, "%s", cases[i].joins);
		for (char *tok = strtok_r(joins, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			char *c1 = strchr(tok, ':');
			assert_non_null(c1);
			*c1 = '\0';
			int sub = atoi(c1 + 1);
			size_t index = (size_t)atoi(strchr(c1 + 1, ':') + 1);
			join(h, tok, &subs[sub], index);
			joined[njoined].sub = &subs[sub];
			joined[njoined++].index = index;
		}
		assert_string_equal(followers(h, cases[i].stream, &s),
		    cases[i].want);
		assert_int_equal(hub_topics(h), cases[i].topics);
		for (size_t k = 0; k < njoined; k++)
			hub_leave(h, &joined[k].sub->links[joined[k].index]);
		assert_int_equal(hub_topics(h), 0);
		assert_false(hub_has(h, cases[i].stream));
		hub_free(h);
	}
}

/* ---- leaving ---- */

/* Leaving unlinks only that follower, whether it is the first, a middle
 * one or the last, alone or several in any order; the others keep their
 * order; the topic goes (hub_has false, hub_topics down) with the last
 * follower and only then; leaving twice is harmless; a follower that
 * joins again comes last. */
static void
test_leave(void **state)
{
	static const struct {
		int n;			/* followers 0..n-1 of "s" */
		const char *leave;	/* who leaves, in order */
		const char *rejoin;	/* who joins again afterwards */
		const char *want;	/* who follows at the end */
	} cases[] = {
		{ 1, "0", "", "" },
		{ 2, "0", "", "1" },
		{ 2, "1", "", "0" },
		{ 3, "0", "", "1 2" },
		{ 3, "1", "", "0 2" },
		{ 3, "2", "", "0 1" },
		{ 3, "0 1 2", "", "" },
		{ 3, "2 1 0", "", "" },
		{ 3, "1 0 2", "", "" },
		{ 3, "1 1", "", "0 2" },
		{ 5, "1 3", "", "0 2 4" },
		{ 5, "0 4", "", "1 2 3" },
		{ 5, "2 0 4 1", "", "3" },
		{ 3, "0", "0", "1 2 0" },
		{ 3, "1", "1", "0 2 1" },
		{ 3, "2", "2", "0 1 2" },
		{ 3, "0 1 2", "1", "1" },
		{ 3, "0 1 2", "2 0", "2 0" },
		{ 1, "0 0", "0", "0" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hub *h = hub_new();
		struct sub subs[5];
		char list[64], *save = NULL;
		struct seen s;
		int in = cases[i].n;

		assert_non_null(h);
		for (int k = 0; k < cases[i].n; k++) {
			subs[k] = (struct sub){ .number = k };
			join(h, "s", &subs[k], 0);
			/* a bystander on another stream, never disturbed */
			join(h, "other", &subs[k], 1);
		}
		snprintf(list, sizeof list, "%s", cases[i].leave);
		for (char *tok = strtok_r(list, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			struct hub_link *l = &subs[atoi(tok)].links[0];
			if (l->topic != NULL)
				in--;
			hub_leave(h, l);
			assert_null(l->topic);
			assert_int_equal(hub_has(h, "s"), in > 0);
			assert_int_equal(hub_topics(h), in > 0 ? 2 : 1);
		}
		snprintf(list, sizeof list, "%s", cases[i].rejoin);
		for (char *tok = strtok_r(list, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			join(h, "s", &subs[atoi(tok)], 0);
		assert_string_equal(followers(h, "s", &s), cases[i].want);

		char all[64] = "";
		for (int k = 0; k < cases[i].n; k++)
			snprintf(all + strlen(all), sizeof all - strlen(all),
			    "%s%d", k ? " " : "", k);
		assert_string_equal(followers(h, "other", &s), all);

		for (int k = 0; k < cases[i].n; k++) {
			hub_leave(h, &subs[k].links[0]);
			hub_leave(h, &subs[k].links[1]);
		}
		assert_int_equal(hub_topics(h), 0);
		assert_false(hub_has(h, "s"));
		assert_false(hub_has(h, "other"));
		hub_free(h);
	}
}

/* ---- many topics ---- */

/* 10,000 streams, far more than the table starts with, so that it grows
 * several times while full of topics: each is found (hub_has, hub_each
 * with its own follower only) after all joined, names that were never
 * joined are not, and leaving them (every other one first) brings the
 * count down to 0 with the rest still found. Run with 1 and 2 followers
 * per stream. */
static void
test_many_topics(void **state)
{
	static const struct {
		size_t n;
		int per;	/* followers per stream */
	} cases[] = {
		{ 10000, 1 },
		{ 10000, 2 },
		{ 65, 1 },	/* just past the first growth */
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t n = cases[i].n;
		struct hub *h = hub_new();
		struct sub *subs = calloc(n, sizeof *subs);
		char name[64], want[64];
		struct seen s;

		assert_non_null(h);
		assert_non_null(subs);
		for (size_t k = 0; k < n; k++) {
			subs[k].number = (int)k;
			snprintf(name, sizeof name, "build/%zu", k);
			for (int f = 0; f < cases[i].per; f++)
				join(h, name, &subs[k], (size_t)f);
			assert_int_equal(hub_topics(h), k + 1);
		}
		for (size_t k = 0; k < n; k++) {
			snprintf(name, sizeof name, "build/%zu", k);
			assert_true(hub_has(h, name));
			if (cases[i].per == 2)
				snprintf(want, sizeof want, "%zu %zu", k, k);
			else
				snprintf(want, sizeof want, "%zu", k);
			assert_string_equal(followers(h, name, &s), want);
			snprintf(name, sizeof name, "build/%zu/x", k);
			assert_false(hub_has(h, name));
			snprintf(name, sizeof name, "build/%zu", k + n);
			assert_false(hub_has(h, name));
		}
		/* every other one leaves, then the rest */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t k = (size_t)pass; k < n; k += 2) {
				for (int f = 0; f < cases[i].per; f++)
					hub_leave(h, &subs[k].links[f]);
				snprintf(name, sizeof name, "build/%zu", k);
				assert_false(hub_has(h, name));
			}
			size_t left = pass == 0 ? n / 2 : 0;
			assert_int_equal(hub_topics(h), left);
			for (size_t k = 1; pass == 0 && k < n; k += 2) {
				snprintf(name, sizeof name, "build/%zu", k);
				assert_true(hub_has(h, name));
				followers(h, name, &s);
				assert_int_equal(s.calls, (size_t)cases[i].per);
			}
		}
		hub_free(h);
		free(subs);
	}
}

/* ---- streams nobody follows ---- */

static void
never(struct hub_link *link, void *ctx)
{
	(void)link;
	(void)ctx;
	fail_msg("hub_each called back for a stream nobody follows");
}

/* hub_each on a stream without followers calls nothing: on an empty hub,
 * for names close to a followed one (prefix, extension, case, empty), and
 * for a stream whose last follower left. */
static void
test_unknown(void **state)
{
	static const char *const names[] = {
		"a", "", "build", "build/4", "build/42/", "build/420",
		"Build/42", "build/42 ", "uild/42",
	};
	(void)state;

	struct hub *h = hub_new();
	struct sub sub = { .number = 0 };
	assert_non_null(h);
	for (size_t i = 0; i < NELEM(names); i++) {
		hub_each(h, names[i], never, NULL);
		assert_false(hub_has(h, names[i]));
	}

	join(h, "build/42", &sub, 0);
	for (size_t i = 0; i < NELEM(names); i++) {
		hub_each(h, names[i], never, NULL);
		assert_false(hub_has(h, names[i]));
	}

	hub_leave(h, &sub.links[0]);
	hub_each(h, "build/42", never, NULL);
	assert_false(hub_has(h, "build/42"));
	assert_int_equal(hub_topics(h), 0);
	hub_free(h);

	hub_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_many_topics),
		cmocka_unit_test(test_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
