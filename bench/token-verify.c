/* token-verify: what verifying one token costs, per algorithm, as the
 * responder does it for each new stream (src/token.c: the header read,
 * then libjwt verifying with the key of its algorithm, then the claims).
 * A benchmark helper, not part of sselog.
 *
 *   token-verify KEYDIR N
 *
 * KEYDIR holds hs256.secret, rs256-{private,public}.pem and
 * es256-{private,public}.pem (tests/keys). Prints one line per
 * algorithm, "ALG us_per_verify=X us_per_cached=Y verifies=N": X is
 * token_verify() alone, Y a whole decision (auth_decide(), src/auth.c)
 * for the same token once it is remembered; then "none us_per_decide=Z",
 * the decision for a request without a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "token.h"

static double now_s(void);

/* The microseconds of one auth_decide() for cr, over n, under the key
 * spec (NULL: none; and then no --jwt-key at all, only --access). */
static double
us_per_decision(const char *spec, const char *rules, struct credentials *cr,
    int n)
{
	const char *specs[] = { spec };
	struct auth_config cfg = { .key_specs = specs, .n_keys = spec != NULL,
	    .access_file = rules, .cookie = "sselog_token" };
	const char *streams[] = { "build/1" };
	struct auth_decision d;
	char err[512];
	struct auth *a = auth_load(&cfg, err, sizeof err);

	if (a == NULL) {
		fprintf(stderr, "token-verify: %s\n", err);
		exit(1);
	}
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (auth_decide(a, cr, ACCESS_READ, streams, 1, time(NULL),
		    &d) == -1 || d.verdict != ACCESS_ALLOWED) {
			fprintf(stderr, "token-verify: not allowed\n");
			exit(1);
		}
	}
	double us = (now_s() - t0) * 1e6 / n;
	auth_free(a);
	return us;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *alg, *sign, *verify;
	} algs[] = {
		{ "HS256", "hs256.secret", "hs256.secret" },
		{ "RS256", "rs256-private.pem", "rs256-public.pem" },
		{ "ES256", "es256-private.pem", "es256-public.pem" },
	};
	static const char *const subscribe[] = { "build/**", "user/{user}/**" };
	char sign[4096], spec[4200], err[512];

	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: token-verify KEYDIR N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
		snprintf(sign, sizeof sign, "%s/%s", argv[1], algs[a].sign);
		struct token_mint m = { .alg = algs[a].alg, .key_file = sign,
		    .sub = "alice", .subscribe = subscribe, .n_subscribe = 2,
		    .now = time(NULL), .ttl = 3600 };
		char *token = token_mint(&m, err, sizeof err);
		struct token_keys *k = token_keys_new();
		snprintf(spec, sizeof spec, "%s:%s/%s", algs[a].alg, argv[1],
		    algs[a].verify);
		if (token == NULL || k == NULL ||
		    token_keys_add(k, spec, err, sizeof err) == -1) {
			fprintf(stderr, "token-verify: %s: %s\n", algs[a].alg, err);
			return 1;
		}
		double t0 = now_s();
		for (int i = 0; i < n; i++) {
			struct token_claims c;
			if (token_verify(k, token, m.now, &c) != TOKEN_VALID) {
				fprintf(stderr, "token-verify: %s did not verify\n",
				    algs[a].alg);
				return 1;
			}
			token_claims_free(&c);
		}
		double us = (now_s() - t0) * 1e6 / n;
		struct credentials cr = { .token = token,
		    .token_in_header = true };
		/* Many more: a remembered token costs little. */
		double cached = us_per_decision(spec, NULL, &cr, n * 100);
		printf("%s us_per_verify=%.1f us_per_cached=%.2f verifies=%d\n",
		    algs[a].alg, us, cached, n);
		free(token);
		token_keys_free(k);
	}
	/* No token: the rules let anyone read, as the streams without a
	 * token in bench/tokens.sh may. */
	char rules[] = "/tmp/token-verify-rules.XXXXXX";
	int fd = mkstemp(rules);
	static const char anyone[] = "anonymous read **\n";
	if (fd == -1 || write(fd, anyone, sizeof anyone - 1) !=
	    (ssize_t)(sizeof anyone - 1) || close(fd) == -1) {
		fprintf(stderr, "token-verify: %s: cannot write\n", rules);
		return 1;
	}
	struct credentials none = { 0 };
	double plain = us_per_decision(NULL, rules, &none, n * 100);
	unlink(rules);
	printf("none us_per_decide=%.2f decisions=%d\n", plain, n * 100);
	return 0;
}
