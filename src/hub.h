/* Who follows which stream. A topic per stream name that has subscribers,
 * found by hashing, with the links of its subscribers in a list; the live
 * hand-out walks one topic's list per new event. The hub allocates topics;
 * each link is owned by its subscriber (an array in the client, say), so
 * following a stream costs one small struct and no allocation of the hub's
 * beyond the first follower of a name.
 */
#ifndef SSELOG_HUB_H
#define SSELOG_HUB_H

#include <stddef.h>

struct hub;
struct hub_topic;

struct hub_link {
	struct hub_topic *topic;
	struct hub_link *prev, *next;
	void *subscriber;
	size_t index;		/* the subscriber's own number for the stream */
};

/* Returns an empty hub, or NULL with errno set when memory runs out or
 * the system gives no random key for its hash (getrandom()). */
struct hub *hub_new(void);
/* Frees the hub; every link must have left. */
void hub_free(struct hub *h);

/* Adds link (caller-owned, kept until hub_leave) to the followers of
 * stream. Returns 0, or -1 when memory runs out. */
int hub_join(struct hub *h, const char *stream, struct hub_link *link,
    void *subscriber, size_t index);
/* Removes link; frees the topic when it was the last follower. */
void hub_leave(struct hub *h, struct hub_link *link);

/* Calls fn for each follower of stream, in the order they joined. fn must
 * not join or leave. */
void hub_each(struct hub *h, const char *stream,
    void (*fn)(struct hub_link *link, void *ctx), void *ctx);

/* The number of streams that have followers. */
size_t hub_topics(const struct hub *h);

#endif
