/* JSON Web Tokens (RFC 7519): verifying the tokens clients bring, and
 * minting them for `sselog token`. The only file that includes libjwt's
 * header, so that another JWT library can replace it in one place.
 *
 * Keys pin their algorithm: a token is verified only by a key of the
 * algorithm its header names, so that an RSA or EC public key can never
 * serve as an HMAC secret (the "algorithm confusion" attack), and "none"
 * is never accepted.
 */
#ifndef SSELOG_TOKEN_H
#define SSELOG_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a valid token says. Owned by the struct: token_claims_free(). */
struct token_claims {
	char *sub;		/* the principal, or NULL */
	int64_t exp;		/* expiry, Unix time in seconds */
	int64_t nbf;		/* not before, likewise; INT64_MIN: none */
	char **subscribe;	/* "sselog": {"subscribe": [...]} */
	size_t n_subscribe;
	char **publish;		/* "sselog": {"publish": [...]} */
	size_t n_publish;
};

void token_claims_free(struct token_claims *c);

/* The verification keys (--jwt-key, repeatable) and what a token must
 * say besides (--jwt-audience, --jwt-issuer). */
struct token_keys;

struct token_keys *token_keys_new(void);
void token_keys_free(struct token_keys *k);

/* Adds the key named by spec, ALG:FILE: HS256, HS384 or HS512 with a
 * secret file (its bytes; one trailing newline is not part of the
 * secret), RS256/384/512 or ES256/384/512 with a PEM public key. Returns 0,
 * or -1 with a one-line reason in err. */
int token_keys_add(struct token_keys *k, const char *spec, char *err,
    size_t errlen);

/* Copies audience and issuer (NULL: not checked). Returns 0, or -1 when
 * memory runs out. */
int token_keys_expect(struct token_keys *k, const char *audience,
    const char *issuer);

enum token_status {
	TOKEN_VALID,
	TOKEN_MALFORMED,	/* not a JWT we can read */
	TOKEN_BAD_ALG,		/* "none", or no key of its algorithm */
	TOKEN_BAD_SIGNATURE,	/* no key of its algorithm verifies it */
	TOKEN_NO_EXP,		/* no "exp" claim */
	TOKEN_EXPIRED,		/* "exp" is past */
	TOKEN_NOT_YET_VALID,	/* "nbf" is to come */
	TOKEN_BAD_AUDIENCE,	/* "aud" does not name --jwt-audience */
	TOKEN_BAD_ISSUER,	/* "iss" is not --jwt-issuer */
	TOKEN_BAD_CLAIM,	/* "sub" or "sselog" of the wrong shape */
	TOKEN_NO_MEMORY,
};

/* A one-line reason for a status that is not TOKEN_VALID ("the token has
 * expired"). */
const char *token_status_reason(enum token_status s);

/* Verifies token against the keys at time now (Unix seconds, with 1 s of
 * leeway for "nbf"). On TOKEN_VALID fills *out, which the caller frees
 * with token_claims_free(); on anything else *out is left empty. */
enum token_status token_verify(const struct token_keys *k,
    const char *token, int64_t now, struct token_claims *out);

/* Whether the claims of a token that verified are in force at now, as
 * token_verify() judges it: TOKEN_VALID, TOKEN_EXPIRED at or after "exp",
 * or TOKEN_NOT_YET_VALID before "nbf" (less the leeway). For whoever
 * keeps claims to use them again (auth.c's cache of verifications). */
enum token_status token_claims_in_force(const struct token_claims *c,
    int64_t now);

/* What `sselog token` signs. */
struct token_mint {
	const char *alg;		/* "HS256", ... */
	const char *key_file;		/* HMAC secret, or PEM private key */
	const char *sub;		/* NULL: none */
	const char *const *subscribe;
	size_t n_subscribe;
	const char *const *publish;
	size_t n_publish;
	int64_t now, ttl;		/* seconds: iat and exp = now + ttl */
	const char *audience, *issuer;	/* NULL: none */
};

/* Signs a token. Returns it (the caller frees it), or NULL with a
 * one-line reason in err. */
char *token_mint(const struct token_mint *m, char *err, size_t errlen);

#endif
