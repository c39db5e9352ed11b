#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "token.h"

struct auth {
	struct access_rules *rules;	/* NULL: tokens only */
	struct token_keys *keys;
	char *cookie;
	bool query;
};

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	access_rules_free(a->rules);
	token_keys_free(a->keys);
	free(a->cookie);
	free(a);
}

struct auth *
auth_load(const struct auth_config *cfg, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof *a);

	if (a == NULL || (a->keys = token_keys_new()) == NULL ||
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

int
auth_decide(const struct auth *a, const struct credentials *cr,
    enum access_right right, const char *const *streams, size_t n,
    int64_t now_s, struct auth_decision *d)
{
	struct token_claims claims;
	struct access_who who = {
		.remote_user = cr->remote_user,
		.token_in_header = cr->token_in_header,
	};

	memset(d, 0, sizeof *d);
	if (cr->token != NULL) {
		enum token_status s = token_verify(a->keys, cr->token, now_s,
		    &claims);
		if (s == TOKEN_NO_MEMORY)
			return -1;
		if (s == TOKEN_VALID) {
			who.token = &claims;
			d->expires_s = claims.exp;
		} else {
			who.token_invalid = true;
			d->why = token_status_reason(s);
		}
	}
	d->verdict = access_check(a->rules, &who, right, streams, n,
	    &d->refused);
	if (who.token != NULL)
		token_claims_free(&claims);
	return 0;
}
