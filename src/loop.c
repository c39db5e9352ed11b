#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Events taken per epoll_wait: enough that a burst over thousands of
 * clients costs few system calls. */
#define MAX_EVENTS 256

struct loop {
	int epfd;
	struct loop_timer *timers;	/* few: a plain list */
};

int64_t
loop_now_ms(void)
{
	return loop_now_us() / 1000;
}

int64_t
loop_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l);
}

static int
control(struct loop *l, int op, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	return epoll_ctl(l->epfd, op, io->fd, &ev);
}

int
loop_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	return control(l, EPOLL_CTL_ADD, io, events);
}

int
loop_modify(struct loop *l, struct loop_io *io, uint32_t events)
{
	return control(l, EPOLL_CTL_MOD, io, events);
}

void
loop_remove(struct loop *l, struct loop_io *io)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void
loop_every(struct loop *l, struct loop_timer *t)
{
	t->due_us = loop_now_us() + t->interval_ms * 1000;
	t->next = l->timers;
	l->timers = t;
}

void
loop_cancel(struct loop *l, struct loop_timer *t)
{
	for (struct loop_timer **p = &l->timers; *p != NULL; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			return;
		}
	}
}

void
loop_next_in_us(struct loop_timer *t, int64_t us)
{
	t->due_us = loop_now_us() + (us > 0 ? us : 1);
}

/* Microseconds until the next timer is due (at most a minute), or -1 when
 * there is none. */
static int64_t
next_timeout_us(struct loop *l, int64_t now)
{
	int64_t wait = -1;

	for (struct loop_timer *t = l->timers; t != NULL; t = t->next) {
		int64_t left = t->due_us > now ? t->due_us - now : 0;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return wait > 60000000 ? 60000000 : wait;
}

/* epoll_wait() counts in milliseconds; epoll_pwait2() (Linux 5.11) in
 * nanoseconds, which the quick re-checks of the log need. */
static int
wait_events(struct loop *l, struct epoll_event *events, int64_t timeout_us)
{
	static bool no_pwait2;

	if (!no_pwait2) {
		struct timespec ts = {
			.tv_sec = timeout_us / 1000000,
			.tv_nsec = timeout_us % 1000000 * 1000,
		};
		int n = epoll_pwait2(l->epfd, events, MAX_EVENTS,
		    timeout_us < 0 ? NULL : &ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return n;
		no_pwait2 = true;
	}
	return epoll_wait(l->epfd, events, MAX_EVENTS, timeout_us < 0 ? -1 :
	    (int)((timeout_us + 999) / 1000));
}

static void
run_timers(struct loop *l)
{
	int64_t now = loop_now_us();

	/* From the head each time: a callback may cancel any timer, the
	 * next one included. Each due timer runs once per pass, since its
	 * next due time is set, past now, before it runs. */
	for (;;) {
		struct loop_timer *t = l->timers;
		while (t != NULL && t->due_us > now)
			t = t->next;
		if (t == NULL)
			return;
		/* Catch up from now, not from the missed due time: a
		 * stalled loop should not fire a burst of heartbeats. */
		t->due_us = now + (t->interval_ms > 0 ?
		    t->interval_ms * 1000 : 1000);
		t->fn(t);
	}
}

int
loop_run_once(struct loop *l, bool block)
{
	struct epoll_event events[MAX_EVENTS];
	int n = wait_events(l, events, block ?
	    next_timeout_us(l, loop_now_us()) : 0);

	if (n == -1 && errno != EINTR)
		return -1;
	for (int i = 0; i < n; i++) {
		struct loop_io *io = events[i].data.ptr;
		io->fn(io, events[i].events);
	}
	run_timers(l);
	return 0;
}
