/* A bounded cache of token verifications: the claims a token produced
 * when it verified, found again by the token's exact bytes, so that a
 * token that comes back (a browser reconnecting, many clients with the
 * same few tokens after a restart) costs a hash and a comparison instead
 * of a signature check (about 400 µs for ES256 or RS256 with libjwt 1.10,
 * docs/performance.md).
 *
 * Only verifications that succeeded go in: a refusal is cheap to repeat
 * for most bad tokens and caching it would let strangers fill the cache.
 * An entry is used only while token_claims_in_force() says so; one found
 * at or after its "exp", or before its "nbf", is dropped and the token
 * verified again. The cache holds no key: its owner empties it
 * (tokcache_clear) or makes a new one whenever the keys, the rules or
 * the audience and issuer expected change.
 */
#ifndef SSELOG_TOKCACHE_H
#define SSELOG_TOKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"
#include "token.h"

/* A token longer than this is not kept: such tokens are rare, and the
 * bound keeps an entry within a few KiB. */
#define TOKCACHE_TOKEN_MAX 2048

struct tokcache;

/* A cache of at most max_entries tokens whose entries (token, claims and
 * bookkeeping) take at most max_bytes together; the oldest used is
 * evicted first. key is the SipHash key for its buckets (random: tokens
 * are chosen by strangers). Returns NULL when memory runs out. */
struct tokcache *tokcache_new(size_t max_entries, size_t max_bytes,
    const unsigned char key[SIPHASH_KEY_LEN]);
void tokcache_free(struct tokcache *c);

/* Forgets every entry. */
void tokcache_clear(struct tokcache *c);

/* The claims token verified to, if it is cached and they are in force at
 * now (Unix seconds); NULL otherwise (an entry out of force is dropped).
 * The claims belong to the cache: valid until the next tokcache_put,
 * tokcache_clear or tokcache_free. */
const struct token_claims *tokcache_get(struct tokcache *c,
    const char *token, int64_t now);

/* Keeps a copy of claims, which token verified to, evicting the oldest
 * used entries to stay within the bounds. A token longer than
 * TOKCACHE_TOKEN_MAX is not kept. Returns 0, or -1 when memory runs out
 * (the cache is as it was, less what was evicted). */
int tokcache_put(struct tokcache *c, const char *token,
    const struct token_claims *claims);

/* How many tokens it holds, and the bytes their entries take. */
size_t tokcache_count(const struct tokcache *c);
size_t tokcache_bytes(const struct tokcache *c);

#endif
