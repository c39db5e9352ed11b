/* Unit tests for src/token.h: which tokens verify, and what they grant.
 * Tokens of every shape are made here with libjwt directly (a test may
 * reach past token.c; the programs may not), signed with the keys in
 * tests/keys/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>

#include "token.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])
#define NOW 1800000000	/* 2027-01-15: the tests' clock */

static char keydir[4096];

static const char *
key_path(const char *name)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/%s", keydir, name);
	return path;
}

/* The bytes of a key file, with the trailing newline an HMAC secret
 * loses. */
static unsigned char *
key_bytes(const char *name, int *len)
{
	FILE *f = fopen(key_path(name), "rb");
	static unsigned char bytes[8192];
	size_t n;

	assert_non_null(f);
	n = fread(bytes, 1, sizeof bytes - 1, f);
	fclose(f);
	if (strstr(name, ".secret") != NULL && n > 0 && bytes[n - 1] == '\n')
		n--;
	bytes[n] = '\0';
	*len = (int)n;
	return bytes;
}

/* A token with the claims given (JSON), signed by alg with the key file
 * (NULL: alg none). The caller frees it. */
static char *
make(jwt_alg_t alg, const char *key, const char *claims)
{
	jwt_t *j;
	int len = 0;
	unsigned char *bytes = key != NULL ? key_bytes(key, &len) : NULL;

	assert_int_equal(jwt_new(&j), 0);
	assert_int_equal(jwt_add_grants_json(j, claims), 0);
	assert_int_equal(jwt_set_alg(j, alg, bytes, len), 0);
	char *token = jwt_encode_str(j);
	assert_non_null(token);
	jwt_free(j);
	return token;
}

static struct token_keys *
keys(const char *const *specs, size_t n)
{
	struct token_keys *k = token_keys_new();
	char err[512];

	assert_non_null(k);
	for (size_t i = 0; i < n; i++) {
		char spec[4300];
		const char *colon = strchr(specs[i], ':');
		snprintf(spec, sizeof spec, "%.*s:%s", (int)(colon - specs[i]),
		    specs[i], key_path(colon + 1));
		if (token_keys_add(k, spec, err, sizeof err) != 0)
			fail_msg("%s: %s", spec, err);
	}
	return k;
}

#define GOOD "{\"sub\":\"alice\",\"exp\":1800000600,\"sselog\":" \
	"{\"subscribe\":[\"build/**\",\"user/{user}/**\"],\"publish\":[\"build/1\"]}}"

static void
test_verify(void **state)
{
	static const char *const all[] = {
		"HS256:hs256.secret", "RS256:rs256-public.pem",
		"ES256:es256-public.pem",
	};
	static const char *const only_rs[] = { "RS256:rs256-public.pem" };
	static const char *const only_es[] = { "ES256:es256-public.pem" };
	static const struct {
		const char *what;
		const char *const *keys;
		size_t n_keys;
		jwt_alg_t alg;
		const char *sign_with;
		const char *claims;
		enum token_status want;
	} cases[] = {
		{ "HS256", all, 3, JWT_ALG_HS256, "hs256.secret", GOOD, TOKEN_VALID },
		{ "RS256", all, 3, JWT_ALG_RS256, "rs256-private.pem", GOOD, TOKEN_VALID },
		{ "ES256", all, 3, JWT_ALG_ES256, "es256-private.pem", GOOD, TOKEN_VALID },
		{ "ES256 by another key", only_es, 1, JWT_ALG_ES256,
		  "other-es256-private.pem", GOOD, TOKEN_BAD_SIGNATURE },
		{ "alg none", all, 3, JWT_ALG_NONE, NULL, GOOD, TOKEN_BAD_ALG },
		/* The attack: the server's public key, which anyone has,
		 * used as an HMAC secret. */
		{ "HS256 signed with the RS256 public key", only_rs, 1,
		  JWT_ALG_HS256, "rs256-public.pem", GOOD, TOKEN_BAD_ALG },
		{ "HS256 signed with the ES256 public key", all, 3,
		  JWT_ALG_HS256, "es256-public.pem", GOOD, TOKEN_BAD_SIGNATURE },
		{ "RS384: no key of that algorithm", all, 3, JWT_ALG_RS384,
		  "rs256-private.pem", GOOD, TOKEN_BAD_ALG },
		{ "expired", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000000}", TOKEN_EXPIRED },
		{ "expired long ago", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1}", TOKEN_EXPIRED },
		{ "no exp", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"sub\":\"alice\"}", TOKEN_NO_EXP },
		{ "exp not a number", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":\"1800000600\"}", TOKEN_BAD_CLAIM },
		{ "exp with a fraction", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000000.5}", TOKEN_EXPIRED },
		{ "exp with a fraction, to come", all, 3, JWT_ALG_HS256,
		  "hs256.secret", "{\"exp\":1800000001.5}", TOKEN_VALID },
		{ "nbf to come", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000600,\"nbf\":1800000002}", TOKEN_NOT_YET_VALID },
		{ "nbf within the leeway", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000600,\"nbf\":1800000001}", TOKEN_VALID },
		{ "nbf past", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000600,\"nbf\":1700000000}", TOKEN_VALID },
		{ "sub a number", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000600,\"sub\":7}", TOKEN_BAD_CLAIM },
		{ "sselog a string", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000600,\"sselog\":\"all\"}", TOKEN_BAD_CLAIM },
		{ "subscribe a string", all, 3, JWT_ALG_HS256, "hs256.secret",
		  "{\"exp\":1800000600,\"sselog\":{\"subscribe\":\"x\"}}",
		  TOKEN_BAD_CLAIM },
		{ "subscribe with a number", all, 3, JWT_ALG_HS256,
		  "hs256.secret",
		  "{\"exp\":1800000600,\"sselog\":{\"subscribe\":[\"x\",1]}}",
		  TOKEN_BAD_CLAIM },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct token_keys *k = keys(cases[i].keys, cases[i].n_keys);
		char *token = make(cases[i].alg, cases[i].sign_with,
		    cases[i].claims);
		struct token_claims c;
		enum token_status got = token_verify(k, token, NOW, &c);
		if (got != cases[i].want)
			fail_msg("%s: got \"%s\", wanted \"%s\"", cases[i].what,
			    token_status_reason(got),
			    token_status_reason(cases[i].want));
		if (got == TOKEN_VALID)
			token_claims_free(&c);
		else
			assert_null(c.sub);
		free(token);
		token_keys_free(k);
	}
}

static void
test_claims(void **state)
{
	static const char *const hs[] = { "HS256:hs256.secret" };
	struct token_keys *k = keys(hs, 1);
	char *token = make(JWT_ALG_HS256, "hs256.secret", GOOD);
	struct token_claims c;
	(void)state;

	assert_int_equal(token_verify(k, token, NOW, &c), TOKEN_VALID);
	assert_string_equal(c.sub, "alice");
	assert_int_equal(c.exp, 1800000600);
	assert_int_equal(c.n_subscribe, 2);
	assert_string_equal(c.subscribe[0], "build/**");
	assert_string_equal(c.subscribe[1], "user/{user}/**");
	assert_int_equal(c.n_publish, 1);
	assert_string_equal(c.publish[0], "build/1");
	token_claims_free(&c);
	free(token);

	/* No sub, no grants: valid, grants nothing. */
	token = make(JWT_ALG_HS256, "hs256.secret", "{\"exp\":1800000600}");
	assert_int_equal(token_verify(k, token, NOW, &c), TOKEN_VALID);
	assert_null(c.sub);
	assert_int_equal(c.n_subscribe + c.n_publish, 0);
	token_claims_free(&c);
	free(token);
	token_keys_free(k);
}

static void
test_audience_issuer(void **state)
{
	static const char *const hs[] = { "HS256:hs256.secret" };
	static const struct {
		const char *claims;
		enum token_status want;
	} cases[] = {
		{ "{\"exp\":1800000600,\"aud\":\"sselog\",\"iss\":\"ci\"}", TOKEN_VALID },
		{ "{\"exp\":1800000600,\"aud\":[\"x\",\"sselog\"],\"iss\":\"ci\"}", TOKEN_VALID },
		{ "{\"exp\":1800000600,\"aud\":\"other\",\"iss\":\"ci\"}", TOKEN_BAD_AUDIENCE },
		{ "{\"exp\":1800000600,\"aud\":[\"other\"],\"iss\":\"ci\"}", TOKEN_BAD_AUDIENCE },
		{ "{\"exp\":1800000600,\"iss\":\"ci\"}", TOKEN_BAD_AUDIENCE },
		{ "{\"exp\":1800000600,\"aud\":\"sselog\",\"iss\":\"cj\"}", TOKEN_BAD_ISSUER },
		{ "{\"exp\":1800000600,\"aud\":\"sselog\"}", TOKEN_BAD_ISSUER },
		{ "{\"exp\":1800000600,\"aud\":\"sselog\",\"iss\":[\"ci\"]}", TOKEN_BAD_ISSUER },
	};
	(void)state;

	struct token_keys *k = keys(hs, 1);
	assert_int_equal(token_keys_expect(k, "sselog", "ci"), 0);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *token = make(JWT_ALG_HS256, "hs256.secret", cases[i].claims);
		struct token_claims c;
		enum token_status got = token_verify(k, token, NOW, &c);
		if (got != cases[i].want)
			fail_msg("%s: got \"%s\"", cases[i].claims,
			    token_status_reason(got));
		token_claims_free(&c);
		free(token);
	}
	token_keys_free(k);
}

/* Tokens that are not JWTs, or were changed after signing. */
static void
test_malformed(void **state)
{
	static const char *const hs[] = { "HS256:hs256.secret" };
	struct token_keys *k = keys(hs, 1);
	char *good = make(JWT_ALG_HS256, "hs256.secret", GOOD);
	char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
	char buf[4096];
	struct token_claims c;
	(void)state;

	const char *bad[] = { "", "x", "a.b", "a.b.c", "...", "..",
	    "eyJhbGciOiJIUzI1NiJ9..", "!!!.!!!.!!!",
	    /* header of JSON that is not an object */
	    "WzFd.e30.c2ln",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		enum token_status got = token_verify(k, bad[i], NOW, &c);
		if (got == TOKEN_VALID)
			fail_msg("\"%s\" verified", bad[i]);
		token_claims_free(&c);
	}
	/* A payload changed after signing: {"sub":"root",...}. */
	snprintf(buf, sizeof buf, "%.*s.%s%s", (int)(dot1 - good), good,
	    "eyJzdWIiOiJyb290IiwiZXhwIjoxODAwMDAwNjAwfQ", dot2);
	assert_int_equal(token_verify(k, buf, NOW, &c), TOKEN_BAD_SIGNATURE);
	/* The signature cut short. */
	snprintf(buf, sizeof buf, "%.*s", (int)strlen(good) - 4, good);
	assert_int_not_equal(token_verify(k, buf, NOW, &c), TOKEN_VALID);
	/* Far too long. */
	char *huge = malloc(20000);
	assert_non_null(huge);
	memset(huge, 'a', 19999);
	huge[19999] = '\0';
	assert_int_equal(token_verify(k, huge, NOW, &c), TOKEN_MALFORMED);
	free(huge);
	free(good);
	token_keys_free(k);
}

/* Signed by Node.js's crypto: ES256 signatures as JWS wants them (r||s). */
static void
test_other_implementation(void **state)
{
	static const char *const keyset[] = {
		"ES256:es256-public.pem", "RS256:rs256-public.pem",
	};
	static const char *const files[] = { "node-es256.jwt", "node-rs256.jwt" };
	struct token_keys *k = keys(keyset, 2);
	(void)state;

	for (size_t i = 0; i < NELEM(files); i++) {
		FILE *f = fopen(key_path(files[i]), "r");
		char token[4096];
		struct token_claims c;
		assert_non_null(f);
		assert_non_null(fgets(token, sizeof token, f));
		fclose(f);
		token[strcspn(token, "\n")] = '\0';
		enum token_status got = token_verify(k, token, NOW, &c);
		if (got != TOKEN_VALID)
			fail_msg("%s: %s", files[i], token_status_reason(got));
		assert_string_equal(c.sub, "node");
		assert_int_equal(c.n_subscribe, 1);
		token_claims_free(&c);
	}
	token_keys_free(k);
}

static void
test_keys(void **state)
{
	static const struct {
		const char *spec;	/* FILE is below tests/keys */
		const char *want;	/* in the reason; NULL: taken */
	} cases[] = {
		{ "HS256:hs256.secret", NULL },
		{ "HS512:hs256.secret", NULL },
		{ "RS256:rs256-public.pem", NULL },
		{ "ES256:es256-public.pem", NULL },
		{ "ES256:es256-private.pem", "PEM public key" },
		{ "RS256:hs256.secret", "PEM public key" },
		{ "HS256:missing", "No such file" },
		{ "none:hs256.secret", "unknown algorithm none" },
		{ "PS256:rs256-public.pem", "unknown algorithm PS256" },
		{ "HS256:README", NULL },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct token_keys *k = token_keys_new();
		char spec[4300], err[512] = "";
		const char *colon = strchr(cases[i].spec, ':');
		snprintf(spec, sizeof spec, "%.*s:%s",
		    (int)(colon - cases[i].spec), cases[i].spec,
		    key_path(colon + 1));
		int rc = token_keys_add(k, spec, err, sizeof err);
		if (cases[i].want == NULL && rc != 0)
			fail_msg("%s refused: %s", cases[i].spec, err);
		if (cases[i].want != NULL &&
		    (rc == 0 || strstr(err, cases[i].want) == NULL))
			fail_msg("%s: got \"%s\", wanted \"%s\"", cases[i].spec,
			    err, cases[i].want);
		token_keys_free(k);
	}
	/* Malformed specs. */
	const char *bad[] = { "HS256", ":x", "HS256:", "HS256-long-name-here:x" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct token_keys *k = token_keys_new();
		char err[512];
		assert_int_equal(token_keys_add(k, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "ALG:FILE"));
		token_keys_free(k);
	}
}

/* A short secret is refused: RFC 7518 wants as many bytes as the hash. */
static void
test_short_secret(void **state)
{
	char path[] = "/tmp/sselog-test-secret-XXXXXX", spec[64], err[512];
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short-secret\n", 13), 13);
	close(fd);
	snprintf(spec, sizeof spec, "HS256:%s", path);
	struct token_keys *k = token_keys_new();
	assert_int_equal(token_keys_add(k, spec, err, sizeof err), -1);
	assert_non_null(strstr(err, "at least 32 bytes"));
	token_keys_free(k);
	unlink(path);
}

/* What token_mint() signs verifies, with the claims asked for. */
static void
test_mint(void **state)
{
	static const struct {
		const char *alg, *sign, *verify;
	} cases[] = {
		{ "HS256", "hs256.secret", "HS256:hs256.secret" },
		{ "HS384", "hs256.secret", "HS384:hs256.secret" },
		{ "RS256", "rs256-private.pem", "RS256:rs256-public.pem" },
		{ "ES256", "es256-private.pem", "ES256:es256-public.pem" },
	};
	static const char *const sub[] = { "build/**", "user/{user}/**" };
	static const char *const pub[] = { "build/7" };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char err[512] = "";
		struct token_mint m = {
			.alg = cases[i].alg, .key_file = key_path(cases[i].sign),
			.sub = "ci", .subscribe = sub, .n_subscribe = 2,
			.publish = pub, .n_publish = 1, .now = NOW, .ttl = 3600,
			.audience = "sselog", .issuer = "tests",
		};
		char *token = token_mint(&m, err, sizeof err);
		if (token == NULL)
			fail_msg("%s: %s", cases[i].alg, err);
		const char *spec[] = { cases[i].verify };
		struct token_keys *k = keys(spec, 1);
		assert_int_equal(token_keys_expect(k, "sselog", "tests"), 0);
		struct token_claims c;
		assert_int_equal(token_verify(k, token, NOW, &c), TOKEN_VALID);
		assert_string_equal(c.sub, "ci");
		assert_int_equal(c.exp, NOW + 3600);
		assert_int_equal(c.n_subscribe, 2);
		assert_string_equal(c.subscribe[1], "user/{user}/**");
		assert_int_equal(c.n_publish, 1);
		assert_string_equal(c.publish[0], "build/7");
		token_claims_free(&c);
		/* An hour later it has expired. */
		assert_int_equal(token_verify(k, token, NOW + 3600, &c),
		    TOKEN_EXPIRED);
		token_keys_free(k);
		free(token);
	}
	/* Signing with a public key, or with an unknown algorithm, fails. */
	char err[512];
	struct token_mint m = { .alg = "RS256",
	    .key_file = key_path("rs256-public.pem"), .now = NOW, .ttl = 60 };
	assert_null(token_mint(&m, err, sizeof err));
	assert_non_null(strstr(err, "PEM private key"));
	m.alg = "none";
	assert_null(token_mint(&m, err, sizeof err));
	assert_non_null(strstr(err, "unknown algorithm"));
}

int
main(void)
{
	const char *srcdir = getenv("SRCDIR");
	snprintf(keydir, sizeof keydir, "%s/tests/keys",
	    srcdir != NULL ? srcdir : "..");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_audience_issuer),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_other_implementation),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_short_secret),
		cmocka_unit_test(test_mint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
