/* Unit tests for src/tokcache.h, the cache of token verifications, and
 * for its use by auth_decide() (auth.h): a token that comes back is not
 * verified again while its exp and nbf allow it, a refusal is, and a new
 * configuration or auth_forget_tokens() starts afresh. token_verify() is
 * wrapped (-Wl,--wrap) to count the verifications auth.c asks for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "siphash.h"
#include "tokcache.h"
#include "token.h"

#define NOW 1800000000	/* 2027-01-15: the tests' clock */

static const unsigned char test_key[SIPHASH_KEY_LEN] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};
static char keydir[4096];

/* ---- token_verify(), counted ---- */

static int verifications;

enum token_status __real_token_verify(const struct token_keys *k,
    const char *token, int64_t now, struct token_claims *out);
enum token_status __wrap_token_verify(const struct token_keys *k,
    const char *token, int64_t now, struct token_claims *out);

enum token_status
__wrap_token_verify(const struct token_keys *k, const char *token,
    int64_t now, struct token_claims *out)
{
	verifications++;
	return __real_token_verify(k, token, now, out);
}

/* ---- the cache alone ---- */

static char *subscribe[] = { "build/**", "user/{user}/**" };
static char *publish[] = { "build/**" };

static struct token_claims
claims(const char *sub, int64_t exp, int64_t nbf)
{
	return (struct token_claims){ .sub = (char *)sub, .exp = exp,
	    .nbf = nbf, .subscribe = subscribe, .n_subscribe = 2,
	    .publish = publish, .n_publish = 1 };
}

/* Each test of the cache alone starts with an empty one of 8 entries. */
static int
new_cache(void **state)
{
	*state = tokcache_new(8, 1 << 20, test_key);
	return *state != NULL ? 0 : -1;
}

static int
free_cache(void **state)
{
	tokcache_free(*state);
	return 0;
}

static void
test_hit(void **state)
{
	struct tokcache *c = *state;
	assert_null(tokcache_get(c, "a.b.c", NOW));

	/* The cache keeps a copy: what it was given may go. */
	char *sub = strdup("alice");
	struct token_claims in = claims(sub, NOW + 60, INT64_MIN);
	assert_int_equal(tokcache_put(c, "a.b.c", &in), 0);
	free(sub);
	const struct token_claims *out = tokcache_get(c, "a.b.c", NOW);
	assert_non_null(out);
	assert_string_equal(out->sub, "alice");
	assert_int_equal(out->exp, NOW + 60);
	assert_int_equal(out->n_subscribe, 2);
	assert_string_equal(out->subscribe[0], "build/**");
	assert_string_equal(out->subscribe[1], "user/{user}/**");
	assert_int_equal(out->n_publish, 1);
	assert_string_equal(out->publish[0], "build/**");

	/* The exact bytes: a prefix, a longer token, another byte miss. */
	assert_null(tokcache_get(c, "a.b.", NOW));
	assert_null(tokcache_get(c, "a.b.cd", NOW));
	assert_null(tokcache_get(c, "a.b.C", NOW));

	/* No sub, no grants. */
	struct token_claims bare = { .exp = NOW + 60, .nbf = INT64_MIN };
	assert_int_equal(tokcache_put(c, "x.y.z", &bare), 0);
	out = tokcache_get(c, "x.y.z", NOW);
	assert_non_null(out);
	assert_null(out->sub);
	assert_int_equal(out->n_subscribe, 0);
	assert_int_equal(out->n_publish, 0);

	/* The same token again replaces its entry. */
	in = claims("bob", NOW + 90, INT64_MIN);
	assert_int_equal(tokcache_put(c, "a.b.c", &in), 0);
	assert_int_equal(tokcache_count(c), 2);
	assert_string_equal(tokcache_get(c, "a.b.c", NOW)->sub, "bob");
}

static void
test_exp(void **state)
{
	struct tokcache *c = *state;
	struct token_claims in = claims("alice", NOW + 60, INT64_MIN);

	assert_int_equal(tokcache_put(c, "a.b.c", &in), 0);
	assert_non_null(tokcache_get(c, "a.b.c", NOW + 59));
	/* At exp the token has expired (RFC 7519, 4.1.4: "on or after"),
	 * as token_verify() says: the entry goes. */
	assert_null(tokcache_get(c, "a.b.c", NOW + 60));
	assert_int_equal(tokcache_count(c), 0);
	assert_null(tokcache_get(c, "a.b.c", NOW));
}

static void
test_nbf(void **state)
{
	struct tokcache *c = *state;
	struct token_claims in = claims("alice", NOW + 60, NOW + 10);

	/* Kept at NOW + 10 and found before its nbf (a clock set back):
	 * with 1 s of leeway, as token_verify() judges nbf. */
	assert_int_equal(tokcache_put(c, "a.b.c", &in), 0);
	assert_non_null(tokcache_get(c, "a.b.c", NOW + 10));
	assert_non_null(tokcache_get(c, "a.b.c", NOW + 9));
	assert_null(tokcache_get(c, "a.b.c", NOW + 8));
	assert_int_equal(tokcache_count(c), 0);
}

static void
test_eviction(void **state)
{
	(void)state;
	struct tokcache *c = tokcache_new(4, 1 << 20, test_key);
	struct token_claims in = claims("alice", NOW + 60, INT64_MIN);
	char token[32];

	for (int i = 0; i < 4; i++) {
		snprintf(token, sizeof token, "tok.%d.sig", i);
		assert_int_equal(tokcache_put(c, token, &in), 0);
	}
	/* tok.0 used again: tok.1 is now the oldest used. */
	assert_non_null(tokcache_get(c, "tok.0.sig", NOW));
	for (int i = 4; i < 100; i++) {
		snprintf(token, sizeof token, "tok.%d.sig", i);
		assert_int_equal(tokcache_put(c, token, &in), 0);
		assert_true(tokcache_count(c) <= 4);
		if (i == 4) {
			assert_non_null(tokcache_get(c, "tok.0.sig", NOW));
			assert_null(tokcache_get(c, "tok.1.sig", NOW));
		}
	}
	assert_int_equal(tokcache_count(c), 4);
	for (int i = 96; i < 100; i++) {
		snprintf(token, sizeof token, "tok.%d.sig", i);
		assert_non_null(tokcache_get(c, token, NOW));
	}
	size_t one = tokcache_bytes(c) / 4;
	tokcache_free(c);

	/* The byte bound: room for two and a half entries holds two. */
	c = tokcache_new(100, one * 5 / 2, test_key);
	for (int i = 0; i < 10; i++) {
		snprintf(token, sizeof token, "tok.%d.sig", 90 + i);
		assert_int_equal(tokcache_put(c, token, &in), 0);
		assert_true(tokcache_bytes(c) <= one * 5 / 2);
	}
	assert_int_equal(tokcache_count(c), 2);
	assert_non_null(tokcache_get(c, "tok.99.sig", NOW));

	/* A token longer than the bound is not kept. */
	char *long_token = malloc(TOKCACHE_TOKEN_MAX + 2);
	memset(long_token, 'a', TOKCACHE_TOKEN_MAX + 1);
	long_token[TOKCACHE_TOKEN_MAX + 1] = '\0';
	assert_int_equal(tokcache_put(c, long_token, &in), 0);
	assert_null(tokcache_get(c, long_token, NOW));
	assert_int_equal(tokcache_count(c), 2);
	free(long_token);
	tokcache_free(c);
}

static void
test_clear(void **state)
{
	struct tokcache *c = *state;
	struct token_claims in = claims("alice", NOW + 60, INT64_MIN);

	assert_int_equal(tokcache_put(c, "a.b.c", &in), 0);
	assert_int_equal(tokcache_put(c, "d.e.f", &in), 0);
	tokcache_clear(c);
	assert_int_equal(tokcache_count(c), 0);
	assert_int_equal(tokcache_bytes(c), 0);
	assert_null(tokcache_get(c, "a.b.c", NOW));
	assert_null(tokcache_get(c, "d.e.f", NOW));
	/* And it fills again. */
	assert_int_equal(tokcache_put(c, "a.b.c", &in), 0);
	assert_non_null(tokcache_get(c, "a.b.c", NOW));
}

/* Three tokens of one length in one bucket (of 4: the cache holds 4):
 * each finds its own claims, whichever order they came in. */
static void
test_same_bucket(void **state)
{
	(void)state;
	struct tokcache *c = tokcache_new(4, 1 << 20, test_key);
	char tokens[3][32];
	const char *subs[] = { "first", "second", "third" };
	int found = 0;

	for (int i = 0; found < 3; i++) {
		char t[32];
		snprintf(t, sizeof t, "hdr.%06d.sig", i);
		uint64_t h = siphash24(test_key, t, strlen(t));
		if (found > 0 && (h & 3) != (siphash24(test_key, tokens[0],
		    strlen(tokens[0])) & 3))
			continue;
		memcpy(tokens[found++], t, sizeof t);
	}
	struct token_claims in = claims(subs[0], NOW + 60, INT64_MIN);
	assert_int_equal(tokcache_put(c, tokens[0], &in), 0);
	assert_null(tokcache_get(c, tokens[1], NOW));
	for (int i = 1; i < 3; i++) {
		in = claims(subs[i], NOW + 60, INT64_MIN);
		assert_int_equal(tokcache_put(c, tokens[i], &in), 0);
	}
	for (int i = 0; i < 3; i++)
		assert_string_equal(tokcache_get(c, tokens[i], NOW)->sub,
		    subs[i]);
	/* One dropped from the middle of the chain: the others stay. */
	in = claims(subs[1], NOW + 1, INT64_MIN);
	assert_int_equal(tokcache_put(c, tokens[1], &in), 0);
	assert_null(tokcache_get(c, tokens[1], NOW + 1));
	assert_string_equal(tokcache_get(c, tokens[0], NOW + 1)->sub, "first");
	assert_string_equal(tokcache_get(c, tokens[2], NOW + 1)->sub, "third");
	assert_int_equal(tokcache_count(c), 2);
	tokcache_free(c);
}

/* ---- auth_decide() with the cache ---- */

static struct auth *
load(void)
{
	char spec[4200], err[512];
	snprintf(spec, sizeof spec, "HS256:%s/hs256.secret", keydir);
	const char *specs[] = { spec };
	struct auth_config cfg = { .key_specs = specs, .n_keys = 1,
	    .cookie = "sselog_token" };
	struct auth *a = auth_load(&cfg, err, sizeof err);
	if (a == NULL)
		fail_msg("%s", err);
	return a;
}

static char *
mint(int64_t ttl)
{
	char key[4200], err[512];
	snprintf(key, sizeof key, "%s/hs256.secret", keydir);
	static const char *const subscribe_build[] = { "build/**" };
	struct token_mint m = { .alg = "HS256", .key_file = key,
	    .sub = "carol", .subscribe = subscribe_build, .n_subscribe = 1,
	    .now = NOW, .ttl = ttl };
	char *token = token_mint(&m, err, sizeof err);
	if (token == NULL)
		fail_msg("%s", err);
	return token;
}

/* The verdict for token on build/1 at now. */
static enum access_verdict
decide(struct auth *a, char *token, int64_t now, int64_t *expires)
{
	struct credentials cr = { .token = token, .token_in_header = true };
	const char *streams[] = { "build/1" };
	struct auth_decision d;

	assert_int_equal(auth_decide(a, &cr, ACCESS_READ, streams, 1, now,
	    &d), 0);
	if (expires != NULL)
		*expires = d.expires_s;
	return d.verdict;
}

static void
test_auth_repeats(void **state)
{
	(void)state;
	struct auth *a = load();
	char *token = mint(60);
	int64_t expires = 0;

	verifications = 0;
	assert_int_equal(decide(a, token, NOW, &expires), ACCESS_ALLOWED);
	assert_int_equal(expires, NOW + 60);
	for (int i = 0; i < 10; i++) {
		expires = 0;
		assert_int_equal(decide(a, token, NOW + i, &expires),
		    ACCESS_ALLOWED);
		assert_int_equal(expires, NOW + 60);
	}
	assert_int_equal(verifications, 1);

	/* At exp: verified again, and refused as expired. */
	assert_int_equal(decide(a, token, NOW + 60, NULL), ACCESS_BAD_TOKEN);
	assert_int_equal(verifications, 2);

	/* A refusal is not remembered: each costs a verification. */
	char *bad = strdup(token);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	verifications = 0;
	assert_int_equal(decide(a, bad, NOW, NULL), ACCESS_BAD_TOKEN);
	assert_int_equal(decide(a, bad, NOW, NULL), ACCESS_BAD_TOKEN);
	assert_int_equal(verifications, 2);
	free(bad);
	free(token);
	auth_free(a);
}

/* A reload (a new struct auth, as SIGHUP makes) starts with nothing
 * remembered, and so does one that forgot. */
static void
test_auth_reload(void **state)
{
	(void)state;
	struct auth *a = load();
	char *token = mint(60);

	verifications = 0;
	assert_int_equal(decide(a, token, NOW, NULL), ACCESS_ALLOWED);
	assert_int_equal(decide(a, token, NOW, NULL), ACCESS_ALLOWED);
	assert_int_equal(verifications, 1);
	auth_forget_tokens(a);
	assert_int_equal(decide(a, token, NOW, NULL), ACCESS_ALLOWED);
	assert_int_equal(verifications, 2);

	struct auth *reloaded = load();
	auth_free(a);
	assert_int_equal(decide(reloaded, token, NOW, NULL), ACCESS_ALLOWED);
	assert_int_equal(decide(reloaded, token, NOW, NULL), ACCESS_ALLOWED);
	assert_int_equal(verifications, 3);
	free(token);
	auth_free(reloaded);
}

/* The keys of tests/keys, from the source tree (SRCDIR under make
 * check, else the parent of the build directory). */
static int
find_keys(void **state)
{
	const char *srcdir = getenv("SRCDIR");

	(void)state;
	snprintf(keydir, sizeof keydir, "%s/tests/keys",
	    srcdir != NULL ? srcdir : "..");
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit, new_cache, free_cache),
		cmocka_unit_test_setup_teardown(test_exp, new_cache, free_cache),
		cmocka_unit_test_setup_teardown(test_nbf, new_cache, free_cache),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test_setup_teardown(test_clear, new_cache,
		    free_cache),
		cmocka_unit_test(test_same_bucket),
		cmocka_unit_test(test_auth_repeats),
		cmocka_unit_test(test_auth_reload),
	};
	return cmocka_run_group_tests(tests, find_keys, NULL);
}
