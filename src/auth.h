/* Access control in the responder: the configuration (--access, --jwt-*)
 * loaded and reloaded as one, the credentials a request brings, and the
 * decision for them (access.h, token.h, credential.h put together).
 */
#ifndef SSELOG_AUTH_H
#define SSELOG_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"

/* The options, as given. */
struct auth_config {
	const char *access_file;	/* --access, or NULL */
	const char *const *key_specs;	/* --jwt-key ALG:FILE, repeatable */
	size_t n_keys;
	const char *audience;		/* --jwt-audience, or NULL */
	const char *issuer;		/* --jwt-issuer, or NULL */
	const char *cookie;		/* --jwt-cookie */
	bool query;			/* --jwt-query */
};

/* The rules and keys read from their files. */
struct auth;

/* Reads the files the configuration names. Returns the result
 * (auth_free() it), or NULL with a one-line reason in err. */
struct auth *auth_load(const struct auth_config *cfg, char *err,
    size_t errlen);
void auth_free(struct auth *a);

/* Forgets every token verification remembered (auth_decide). A reload
 * that reads new keys or rules makes a new struct auth, which starts
 * with none. */
void auth_forget_tokens(struct auth *a);

/* What a request brings, kept by its stream so that a reload can judge
 * it again. Owned by the struct: credentials_free(). */
struct credentials {
	char *remote_user;	/* REMOTE_USER, or NULL */
	char *token;		/* the token as given, or NULL */
	bool token_in_header;	/* from Authorization: may publish */
};

/* Takes the credentials from a request: REMOTE_USER; the token of an
 * Authorization: Bearer header, else of the cookie, else (only with
 * --jwt-query) of the access_token query parameter (query_token, already
 * decoded). Returns 0, or -1 when memory runs out. */
int credentials_take(const struct auth *a, const char *remote_user,
    const char *authorization, const char *cookie, const char *query_token,
    struct credentials *out);
void credentials_free(struct credentials *c);

/* The decision for one request. */
struct auth_decision {
	enum access_verdict verdict;
	const char *refused;	/* the first stream refused */
	const char *why;	/* for ACCESS_BAD_TOKEN: what is wrong */
	int64_t expires_s;	/* the token's exp, or 0: no token used */
};

/* Decides whether the credentials give right on every one of the n
 * streams at time now_s (Unix seconds). A token that verifies is
 * remembered (at most 4096, the least recently used forgotten first) and
 * not verified again while its "exp" and "nbf" allow it. Returns 0 with
 * *d filled, or -1 when memory runs out. */
int auth_decide(struct auth *a, const struct credentials *cr,
    enum access_right right, const char *const *streams, size_t n,
    int64_t now_s, struct auth_decision *d);

#endif
