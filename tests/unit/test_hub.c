/* Unit tests for src/hub.h: who follows which stream; and for
 * src/siphash.h, the hub's hash.
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

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

#include <cmocka.h>

#include "hub.h"
#include "siphash.h"

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
count(struct hub_link *link, void *ctx)
{
	(void)link;
	(*(size_t *)ctx)++;
}

/* Whether stream has followers, as the hand-out sees it. */
static bool
has(struct hub *h, const char *stream)
{
	size_t n = 0;

	hub_each(h, stream, count, &n);
	return n > 0;
}

/* The hub takes its key from getrandom(). This one, linked in its place,
 * hands out a key the test knows (so that it can choose names that share
 * a bucket, as someone who knew the key could), or fails with
 * getrandom_errno when that is not 0. */
static unsigned char known_key[SIPHASH_KEY_LEN] = "sselog test key";
static int getrandom_errno;

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	(void)flags;
	if (getrandom_errno != 0) {
		errno = getrandom_errno;
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		((unsigned char *)buf)[i] = known_key[i % sizeof known_key];
	return (ssize_t)len;
}

static void
join(struct hub *h, const char *stream, struct sub *sub, size_t index)
{
	assert_int_equal(hub_join(h, stream, &sub->links[index], sub, index),
	    0);
	assert_true(has(h, stream));
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
		assert_false(has(h, cases[i].stream));
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
			assert_int_equal(has(h, "s"), in > 0);
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
		assert_false(has(h, "s"));
		assert_false(has(h, "other"));
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
			assert_true(has(h, name));
			if (cases[i].per == 2)
				snprintf(want, sizeof want, "%zu %zu", k, k);
			else
				snprintf(want, sizeof want, "%zu", k);
			assert_string_equal(followers(h, name, &s), want);
			snprintf(name, sizeof name, "build/%zu/x", k);
			assert_false(has(h, name));
			snprintf(name, sizeof name, "build/%zu", k + n);
			assert_false(has(h, name));
		}
		/* every other one leaves, then the rest */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t k = (size_t)pass; k < n; k += 2) {
				for (int f = 0; f < cases[i].per; f++)
					hub_leave(h, &subs[k].links[f]);
				snprintf(name, sizeof name, "build/%zu", k);
				assert_false(has(h, name));
			}
			size_t left = pass == 0 ? n / 2 : 0;
			assert_int_equal(hub_topics(h), left);
			for (size_t k = 1; pass == 0 && k < n; k += 2) {
				snprintf(name, sizeof name, "build/%zu", k);
				assert_true(has(h, name));
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
		assert_false(has(h, names[i]));
	}

	join(h, "build/42", &sub, 0);
	for (size_t i = 0; i < NELEM(names); i++) {
		hub_each(h, names[i], never, NULL);
		assert_false(has(h, names[i]));
	}

	hub_leave(h, &sub.links[0]);
	hub_each(h, "build/42", never, NULL);
	assert_false(has(h, "build/42"));
	assert_int_equal(hub_topics(h), 0);
	hub_free(h);

	hub_free(NULL);
}

/* ---- names that share a bucket ---- */

/* How the hub places a name: the low bits of its hash under the hub's
 * key pick the bucket, whatever the table's size. */
static uint64_t
hub_hash(const char *name)
{
	return siphash24(known_key, name, strlen(name));
}

/* Names chosen, with the key, to fall in one bucket at every size the
 * table reaches (their hashes' low 10 bits are 0, and the table stays
 * below 1,024 buckets): each is still found with its own followers only,
 * names of that bucket that were never joined are not, and leaving them
 * in any order leaves the rest intact. Slower, not wrong. (test_no_key
 * shows that the hub takes its key from the getrandom() above.) */
static void
test_one_bucket(void **state)
{
	enum { N = 400, MASK = 1023 };
	char (*names)[32] = calloc(2 * N, sizeof *names);
	struct sub *subs = calloc(N, sizeof *subs);
	struct hub *h = hub_new();
	struct seen s;
	char want[32];
	size_t found = 0;
	(void)state;

	assert_non_null(names);
	assert_non_null(subs);
	assert_non_null(h);
	/* 2 * N names: the first N join, the others never do. */
	for (unsigned long k = 0; found < 2 * N; k++) {
		snprintf(names[found], sizeof names[found], "room/%lu", k);
		if ((hub_hash(names[found]) & MASK) == 0)
			found++;
	}
	for (size_t k = 0; k < N; k++) {
		subs[k].number = (int)k;
		join(h, names[k], &subs[k], 0);
	}
	assert_int_equal(hub_topics(h), N);
	for (size_t k = 0; k < N; k++) {
		snprintf(want, sizeof want, "%zu", k);
		assert_string_equal(followers(h, names[k], &s), want);
		assert_false(has(h, names[N + k]));
	}
	/* the odd ones leave, then the even ones from the last */
	for (size_t k = 1; k < N; k += 2)
		hub_leave(h, &subs[k].links[0]);
	assert_int_equal(hub_topics(h), N / 2);
	for (size_t k = 0; k < N; k++)
		assert_int_equal(has(h, names[k]), k % 2 == 0);
	for (size_t k = N; k-- > 0; )
		if (k % 2 == 0)
			hub_leave(h, &subs[k].links[0]);
	assert_int_equal(hub_topics(h), 0);
	for (size_t k = 0; k < N; k++)
		assert_false(has(h, names[k]));
	hub_free(h);
	free(subs);
	free(names);
}

/* ---- the key ---- */

/* Without a random key there is no hub: NULL, with getrandom()'s errno,
 * and nothing leaked (valgrind). */
static void
test_no_key(void **state)
{
	static const int errs[] = { ENOSYS, EAGAIN, EFAULT };
	(void)state;

	for (size_t i = 0; i < NELEM(errs); i++) {
		getrandom_errno = errs[i];
		errno = 0;
		assert_null(hub_new());
		assert_int_equal(errno, errs[i]);
	}
	getrandom_errno = 0;
	struct hub *h = hub_new();
	assert_non_null(h);
	hub_free(h);
}

/* ---- SipHash-2-4 ---- */

/* The test vectors of the SipHash paper (Aumasson and Bernstein, 2012,
 * appendix A, and the reference code's vectors.h): key 00 01 .. 0f, the
 * message 00 01 .. of each length from 0 to 63 bytes; each hash as the
 * paper writes it, its bytes in little-endian order. The paper's worked
 * example is length 15, a129ca6149be45e5. */
static void
test_siphash_vectors(void **state)
{
	static const uint64_t want[64] = {
		0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a,
		0x85676696d7fb7e2d, 0xcf2794e0277187b7, 0x18765564cd99a68d,
		0xcbc9466e58fee3ce, 0xab0200f58b01d137, 0x93f5f5799a932462,
		0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
		0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee,
		0xa129ca6149be45e5, 0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794,
		0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd, 0xbed65cf21aa2ee98,
		0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
		0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3,
		0x2f2e6163076bcfad, 0xde4daaaca71dc9a5, 0xa6a2506687956571,
		0xad87a3535c49ef28, 0x32d892fad841c342, 0x7127512f72f27cce,
		0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
		0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d,
		0x9abfd8766a33735c, 0x0e3ea96b5304a7d0, 0xad0c42d6fc585992,
		0x187306c89bc215a9, 0xd4a60abcf3792b95, 0xf935451de4f21df2,
		0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
		0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72,
		0xa192d576b245165a, 0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f,
		0x7fa8220ba3b2ecea, 0x245731c13ca42499, 0xb78dbfaf3a8d83bd,
		0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
		0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57,
		0x958a324ceb064572,
	};
	unsigned char key[SIPHASH_KEY_LEN], msg[64];
	(void)state;

	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)i;
	for (size_t len = 0; len < NELEM(want); len++)
		if (siphash24(key, msg, len) != want[len])
			fail_msg("length %zu: %016llx, want %016llx", len,
			    (unsigned long long)siphash24(key, msg, len),
			    (unsigned long long)want[len]);
	/* another key changes every hash */
	key[0] ^= 1;
	for (size_t len = 0; len < NELEM(want); len++)
		assert_true(siphash24(key, msg, len) != want[len]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_many_topics),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_one_bucket),
		cmocka_unit_test(test_no_key),
		cmocka_unit_test(test_siphash_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
