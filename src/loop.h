/* A tiny event loop over epoll: descriptors with a callback, repeating
 * timers, run. Single-threaded; every callback runs on the loop's thread.
 *
 * The caller owns each struct loop_io and struct loop_timer (usually
 * embedded in a larger struct, found again with container_of) and must
 * remove it before freeing it.
 */
#ifndef SSELOG_LOOP_H
#define SSELOG_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct loop;

struct loop_io {
	int fd;
	/* events: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP */
	void (*fn)(struct loop_io *io, uint32_t events);
};

struct loop_timer {
	int64_t interval_ms;
	void (*fn)(struct loop_timer *t);
	int64_t due_us;		/* the loop's own */
	struct loop_timer *next;
};

/* Returns a new loop, or NULL with errno set. */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Starts, changes or stops waiting for events on io->fd. Return 0, or -1 with
 * errno set. */
int loop_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_modify(struct loop *l, struct loop_io *io, uint32_t events);
void loop_remove(struct loop *l, struct loop_io *io);

/* Calls t->fn every t->interval_ms from now on, until loop_cancel(). */
void loop_every(struct loop *l, struct loop_timer *t);
void loop_cancel(struct loop *l, struct loop_timer *t);
/* Moves the next call of a running timer to us microseconds from now. */
void loop_next_in_us(struct loop_timer *t, int64_t us);

/* Waits for events and timers and runs their callbacks, once; without
 * block, only takes what is ready now (the caller has work of its own).
 * Returns 0, or -1 with errno set when epoll itself fails. */
int loop_run_once(struct loop *l, bool block);

/* Milliseconds (microseconds) on the monotonic clock. */
int64_t loop_now_ms(void);
int64_t loop_now_us(void);

#endif
