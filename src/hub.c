#include "hub.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

struct hub_topic {
	struct hub_topic *next;		/* in its bucket */
	struct hub_link *first, *last;
	uint64_t hash;
	char name[];
};

struct hub {
	struct hub_topic **buckets;
	size_t nbuckets;		/* a power of two */
	size_t ntopics;
	/* Subscribers choose the names: with an unkeyed hash they could
	 * put every topic in one bucket and make each hand-out walk all of
	 * them. A random key per hub makes such names a matter of luck. */
	unsigned char key[SIPHASH_KEY_LEN];
};

static uint64_t
hash_name(const struct hub *h, const char *s)
{
	return siphash24(h->key, s, strlen(s));
}

struct hub *
hub_new(void)
{
	struct hub *h = calloc(1, sizeof *h);

	if (h == NULL)
		return NULL;
	h->nbuckets = 64;
	if (siphash_random_key(h->key) == -1 ||
	    (h->buckets = calloc(h->nbuckets, sizeof *h->buckets)) == NULL) {
		int saved = errno;
		free(h);
		errno = saved;
		return NULL;
	}
	return h;
}

void
hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		for (struct hub_topic *t = h->buckets[i], *next; t; t = next) {
			next = t->next;
			free(t);
		}
	}
	free(h->buckets);
	free(h);
}

static struct hub_topic *
find(const struct hub *h, const char *name, uint64_t hash)
{
	for (struct hub_topic *t = h->buckets[hash & (h->nbuckets - 1)];
	    t != NULL; t = t->next)
		if (t->hash == hash && strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* Doubles the buckets once there are more topics than buckets; a failed
 * allocation only leaves the chains longer. */
static void
grow(struct hub *h)
{
	size_t n = h->nbuckets * 2;
	struct hub_topic **b = calloc(n, sizeof *b);

	if (b == NULL)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		for (struct hub_topic *t = h->buckets[i], *next; t; t = next) {
			next = t->next;
			t->next = b[t->hash & (n - 1)];
			b[t->hash & (n - 1)] = t;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = n;
}

int
hub_join(struct hub *h, const char *stream, struct hub_link *link,
    void *subscriber, size_t index)
{
	uint64_t hash = hash_name(h, stream);
	struct hub_topic *t = find(h, stream, hash);

	if (t == NULL) {
		size_t len = strlen(stream);
		if ((t = calloc(1, sizeof *t + len + 1)) == NULL)
			return -1;
		memcpy(t->name, stream, len + 1);
		t->hash = hash;
		if (h->ntopics >= h->nbuckets)
			grow(h);
		struct hub_topic **bucket = &h->buckets[hash & (h->nbuckets -
		    1)];
		t->next = *bucket;
		*bucket = t;
		h->ntopics++;
	}
	link->topic = t;
	link->subscriber = subscriber;
	link->index = index;
	link->next = NULL;
	link->prev = t->last;
	if (t->last != NULL)
		t->last->next = link;
	else
		t->first = link;
	t->last = link;
	return 0;
}

void
hub_leave(struct hub *h, struct hub_link *link)
{
	struct hub_topic *t = link->topic;

	if (t == NULL)
		return;
	if (link->prev != NULL)
		link->prev->next = link->next;
	else
		t->first = link->next;
	if (link->next != NULL)
		link->next->prev = link->prev;
	else
		t->last = link->prev;
	link->topic = NULL;
	if (t->first != NULL)
		return;
	for (struct hub_topic **p = &h->buckets[t->hash & (h->nbuckets - 1)];
	    *p != NULL; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	h->ntopics--;
	free(t);
}

void
hub_each(struct hub *h, const char *stream,
    void (*fn)(struct hub_link *link, void *ctx), void *ctx)
{
	struct hub_topic *t = find(h, stream, hash_name(h, stream));

	if (t == NULL)
		return;
	for (struct hub_link *l = t->first; l != NULL; l = l->next)
		fn(l, ctx);
}

size_t
hub_topics(const struct hub *h)
{
	return h->ntopics;
}
