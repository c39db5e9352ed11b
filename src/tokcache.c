#include "tokcache.h"

#include <stdlib.h>
#include <string.h>

/* One token and its claims in one allocation: the claims' string arrays
 * (ptrs), then the token, its "sub" and each grant, NUL-terminated. One
 * block per entry keeps the bytes counted against the bound the bytes
 * actually used, and a hit touches one place in memory. */
struct entry {
	struct entry *next;		/* in its bucket */
	struct entry *newer, *older;	/* in order of use */
	uint64_t hash;
	size_t len;			/* of the token */
	size_t size;			/* of the whole block */
	const char *token;
	struct token_claims claims;	/* pointing into the block */
	char *ptrs[];
};

struct tokcache {
	struct entry **buckets;
	size_t nbuckets;		/* a power of two */
	struct entry *newest, *oldest;
	size_t count, bytes;
	size_t max_entries, max_bytes;
	unsigned char key[SIPHASH_KEY_LEN];
};

struct tokcache *
tokcache_new(size_t max_entries, size_t max_bytes,
    const unsigned char key[SIPHASH_KEY_LEN])
{
	struct tokcache *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	/* As many buckets as entries: chains of one on average. */
	c->nbuckets = 1;
	while (c->nbuckets < max_entries)
		c->nbuckets *= 2;
	if ((c->buckets = calloc(c->nbuckets, sizeof *c->buckets)) == NULL) {
		free(c);
		return NULL;
	}
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	memcpy(c->key, key, sizeof c->key);
	return c;
}

void
tokcache_clear(struct tokcache *c)
{
	struct entry *e = c->newest;

	while (e != NULL) {
		struct entry *older = e->older;
		free(e);
		e = older;
	}
	memset(c->buckets, 0, c->nbuckets * sizeof *c->buckets);
	c->newest = c->oldest = NULL;
	c->count = c->bytes = 0;
}

void
tokcache_free(struct tokcache *c)
{
	if (c == NULL)
		return;
	tokcache_clear(c);
	free(c->buckets);
	/* The key does not outlive the cache. */
	explicit_bzero(c->key, sizeof c->key);
	free(c);
}

size_t
tokcache_count(const struct tokcache *c)
{
	return c->count;
}

size_t
tokcache_bytes(const struct tokcache *c)
{
	return c->bytes;
}

static void
unlink_use(struct tokcache *c, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
link_newest(struct tokcache *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* The link that points at token's entry in its bucket, or at the NULL
 * that ends the bucket. The full bytes are compared: two tokens may share
 * a bucket or, if rarely, a hash. */
static struct entry **
find(struct tokcache *c, const char *token, size_t len, uint64_t hash)
{
	struct entry **link = &c->buckets[hash & (c->nbuckets - 1)];

	while (*link != NULL && ((*link)->hash != hash ||
	    (*link)->len != len || memcmp((*link)->token, token, len) != 0))
		link = &(*link)->next;
	return link;
}

static void
drop(struct tokcache *c, struct entry **link)
{
	struct entry *e = *link;

	*link = e->next;
	unlink_use(c, e);
	c->count--;
	c->bytes -= e->size;
	free(e);
}

static void
evict_oldest(struct tokcache *c)
{
	struct entry *e = c->oldest;

	drop(c, find(c, e->token, e->len, e->hash));
}

const struct token_claims *
tokcache_get(struct tokcache *c, const char *token, int64_t now)
{
	size_t len = strnlen(token, TOKCACHE_TOKEN_MAX + 1);

	if (len > TOKCACHE_TOKEN_MAX)
		return NULL;
	uint64_t hash = siphash24(c->key, token, len);
	struct entry **link = find(c, token, len, hash);
	struct entry *e = *link;
	if (e == NULL)
		return NULL;
	if (token_claims_in_force(&e->claims, now) != TOKEN_VALID) {
		drop(c, link);
		return NULL;
	}
	unlink_use(c, e);
	link_newest(c, e);
	return &e->claims;
}

/* Copies s to *at, which it advances. Returns the copy. */
static char *
put_string(char **at, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = memcpy(*at, s, n);

	*at += n;
	return copy;
}

/* Copies n strings into the block: their pointers at ptrs, their bytes
 * at *at. */
static void
put_strings(char **ptrs, char **at, char *const *strings, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ptrs[i] = put_string(at, strings[i]);
}

static size_t
strings_size(char *const *strings, size_t n)
{
	size_t size = n * sizeof(char *);

	for (size_t i = 0; i < n; i++)
		size += strlen(strings[i]) + 1;
	return size;
}

int
tokcache_put(struct tokcache *c, const char *token,
    const struct token_claims *claims)
{
	size_t len = strnlen(token, TOKCACHE_TOKEN_MAX + 1);

	if (len > TOKCACHE_TOKEN_MAX || c->max_entries == 0)
		return 0;
	uint64_t hash = siphash24(c->key, token, len);
	struct entry **link = find(c, token, len, hash);
	if (*link != NULL)
		drop(c, link);
	size_t size = sizeof(struct entry) + len + 1 +
	    (claims->sub != NULL ? strlen(claims->sub) + 1 : 0) +
	    strings_size(claims->subscribe, claims->n_subscribe) +
	    strings_size(claims->publish, claims->n_publish);
	if (size > c->max_bytes)
		return 0;
	while (c->count + 1 > c->max_entries || c->bytes + size > c->max_bytes)
		evict_oldest(c);
	struct entry *e = malloc(size);
	if (e == NULL)
		return -1;
	char **ptrs = e->ptrs;
	char *at = (char *)(ptrs + claims->n_subscribe + claims->n_publish);
	*e = (struct entry){ .hash = hash, .len = len, .size = size };
	e->token = put_string(&at, token);
	e->claims = (struct token_claims){ .exp = claims->exp,
	    .nbf = claims->nbf, .n_subscribe = claims->n_subscribe,
	    .n_publish = claims->n_publish };
	if (claims->sub != NULL)
		e->claims.sub = put_string(&at, claims->sub);
	if (claims->n_subscribe > 0) {
		e->claims.subscribe = ptrs;
		put_strings(ptrs, &at, claims->subscribe, claims->n_subscribe);
		ptrs += claims->n_subscribe;
	}
	if (claims->n_publish > 0) {
		e->claims.publish = ptrs;
		put_strings(ptrs, &at, claims->publish, claims->n_publish);
	}
	/* The bucket again: eviction may have changed its chain. */
	link = find(c, token, len, hash);
	e->next = NULL;
	*link = e;
	link_newest(c, e);
	c->count++;
	c->bytes += size;
	return 0;
}
