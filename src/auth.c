#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "siphash.h"
#include "tokcache.h"
#include "token.h"

/* The verifications remembered: enough for every token of a large site's
 * reconnecting clients, within a few MiB. An entry of a typical token
 * (a few hundred bytes, a handful of grants) takes under 1 KiB; the byte
 * bound matters only for long tokens, of up to TOKCACHE_TOKEN_MAX. */
#define CACHE_ENTRIES 4096
#define CACHE_BYTES (4 << 20)

struct auth {
	struct access_rules *rules;	/* NULL: tokens only */
	struct token_keys *keys;
	char *cookie;
	bool query;
	/* What tokens verified to under these keys, rules, audience and
	 * issuer: it lives and dies with them, so a reload starts empty. */
	struct tokcache *verified;
};

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	access_rules_free(a->rules);
	token_keys_free(a->keys);
	tokcache_free(a->verified);
	free(a->cookie);
	free(a);
}

struct auth *
auth_load(const struct auth_config *cfg, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof *a);
	unsigned char key[SIPHASH_KEY_LEN];

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* A new random key for each cache, so one for each reload too. */
	if (siphash_random_key(key) == -1) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	a->verified = tokcache_new(CACHE_ENTRIES, CACHE_BYTES, key);
	explicit_bzero(key, sizeof key);
	if (a->verified == NULL || (a->keys = token_keys_new()) == NULL ||
	    (a->cookie = strdup(cfg->cookie)) == NULL ||
	    token_keys_expect(a->keys, cfg->audience, cfg->issuer) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->query = cfg->query;
	for (size_t i = 0; i < cfg->n_keys; i++)
		if (token_keys_add(a->keys, cfg->key_specs[i], err, errlen) ==
		    -1)
			goto fail;
	if (cfg->access_file != NULL &&
	    (a->rules = access_rules_load(cfg->access_file, err, errlen)) ==
	    NULL)
		goto fail;
	return a;
fail:
	auth_free(a);
	return NULL;
}

void
credentials_free(struct credentials *c)
{
	free(c->remote_user);
	free(c->token);
	memset(c, 0, sizeof *c);
}

int
credentials_take(const struct auth *a, const char *remote_user,
    const char *authorization, const char *cookie, const char *query_token,
    struct credentials *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (remote_user != NULL && remote_user[0] != '\0' &&
	    (out->remote_user = strdup(remote_user)) == NULL)
		return -1;
	if ((rc = credential_bearer(authorization, &out->token)) == 1) {
		out->token_in_header = true;
		return 0;
	}
	if (rc == 0)
		rc = credential_cookie(cookie, a->cookie, &out->token);
	if (rc == 0 && a->query && query_token != NULL)
		rc = (out->token = strdup(query_token)) == NULL ? -1 : 1;
	if (rc == -1) {
		credentials_free(out);
		return -1;
	}
	return 0;
}

void
auth_forget_tokens(struct auth *a)
{
	tokcache_clear(a->verified);
}

/* The claims of token at now: from the cache while they are in force
 * there, else from a verification, which the cache keeps when it
 * succeeds. Returns them (*owned: the caller frees them with
 * token_claims_free()), or NULL with the reason in *s. */
static const struct token_claims *
claims_of(struct auth *a, const char *token, int64_t now_s,
    struct token_claims *verified, bool *owned, enum token_status *s)
{
	const struct token_claims *hit = tokcache_get(a->verified, token,
	    now_s);

	*owned = false;
	if (hit != NULL) {
		*s = TOKEN_VALID;
		return hit;
	}
	/* A refusal is not kept: most cost little to find again (the
	 * framing, the header, an unknown algorithm), and strangers could
	 * fill the cache with them. */
	if ((*s = token_verify(a->keys, token, now_s, verified)) != TOKEN_VALID)
		return NULL;
	*owned = true;
	/* Out of memory only costs the next verification its speed. */
	(void)tokcache_put(a->verified, token, verified);
	return verified;
}

int
auth_decide(struct auth *a, const struct credentials *cr,
    enum access_right right, const char *const *streams, size_t n,
    int64_t now_s, struct auth_decision *d)
{
	struct token_claims verified;
	bool owned = false;
	struct access_who who = {
		.remote_user = cr->remote_user,
		.token_in_header = cr->token_in_header,
	};

	memset(d, 0, sizeof *d);
	if (cr->token != NULL) {
		enum token_status s;
		who.token = claims_of(a, cr->token, now_s, &verified, &owned,
		    &s);
		if (s == TOKEN_NO_MEMORY)
			return -1;
		if (who.token != NULL) {
			d->expires_s = who.token->exp;
		} else {
			who.token_invalid = true;
			d->why = token_status_reason(s);
		}
	}
	d->verdict = access_check(a->rules, &who, right, streams, n,
	    &d->refused);
	if (owned)
		token_claims_free(&verified);
	return 0;
}
