/* Unit tests for src/loop.h: timers and descriptors.
 *
 * Timing bounds are loose on the slow side (a loaded machine or valgrind
 * may run a timer late, never early), tight on the fast side: a timer must
 * never fire before its time. A short guard timer keeps loop_run_once()
 * from waiting for ever where a case expects no descriptor to be ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

#define MAX_FIRES 512

/* A timer that notes when it fires; it may act on others when it does. */
struct ticker {
	struct loop_timer timer;
	struct loop *loop;
	int64_t fired[MAX_FIRES];
	size_t n;
	size_t cancel_self_at;		/* cancel itself on this fire (1-based) */
	struct ticker *cancel_other;	/* cancel this one on the first fire */
	size_t other_n;			/* its calls when it was cancelled */
	int64_t next_in;		/* >= 0: ms to the next fire, set on each */
};

static void
on_tick(struct loop_timer *t)
{
	struct ticker *k = container_of(t, struct ticker, timer);

	assert_true(k->n < MAX_FIRES);
	k->fired[k->n++] = loop_now_ms();
	if (k->cancel_self_at != 0 && k->n == k->cancel_self_at)
		loop_cancel(k->loop, t);
	if (k->cancel_other != NULL && k->n == 1) {
		loop_cancel(k->loop, &k->cancel_other->timer);
		k->other_n = k->cancel_other->n;
	}
	if (k->next_in >= 0)
		loop_next_in_us(t, k->next_in * 1000);
}

static void
ticker_init(struct ticker *k, struct loop *l, int64_t interval_ms)
{
	memset(k, 0, sizeof *k);
	k->loop = l;
	k->timer.interval_ms = interval_ms;
	k->timer.fn = on_tick;
	k->next_in = -1;
}

/* Runs l for ms milliseconds of the monotonic clock. */
static void
run_for(struct loop *l, int64_t ms)
{
	int64_t end = loop_now_ms() + ms;

	while (loop_now_ms() < end)
		assert_int_equal(loop_run_once(l, true), 0);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- timers ---- */

/* Timers of different intervals run side by side, each at about its own
 * interval: never before it is due (the first not before one interval
 * after loop_every, the others not less than an interval apart, give or
 * take the 1 ms of the clock), at most one call per interval, and not
 * much fewer than that either. */
static void
test_every(void **state)
{
	static const struct {
		int64_t intervals[3];	/* 0: no timer */
		int64_t run_ms;
	} cases[] = {
		{ { 20, 0, 0 }, 300 },
		{ { 15, 40, 100 }, 400 },
		{ { 50, 50, 0 }, 300 },
		{ { 1, 0, 0 }, 100 },
		{ { 250, 0, 0 }, 300 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct loop *l = loop_new();
		struct ticker k[3];
		int64_t start;

		assert_non_null(l);
		start = loop_now_ms();
		for (size_t t = 0; t < 3 && cases[i].intervals[t] > 0; t++) {
			ticker_init(&k[t], l, cases[i].intervals[t]);
			loop_every(l, &k[t].timer);
		}
		run_for(l, cases[i].run_ms);
		int64_t ran = loop_now_ms() - start;
		for (size_t t = 0; t < 3 && cases[i].intervals[t] > 0; t++) {
			int64_t iv = cases[i].intervals[t];
			int64_t ideal = ran / iv;
			/* A loaded machine delays turns (more so for 1 ms
			 * timers): the floor only catches a timer that does
			 * not repeat; the ceiling is exact. */
			if (k[t].n < 1 || (int64_t)k[t].n < ideal / 10)
				fail_msg("every %lld ms for %lld ms: only %zu "
				    "calls", (long long)iv, (long long)ran,
				    k[t].n);
			if ((int64_t)k[t].n > ideal + 1)
				fail_msg("every %lld ms for %lld ms: %zu calls",
				    (long long)iv, (long long)ran, k[t].n);
			if (k[t].fired[0] - start < iv)
				fail_msg("every %lld ms: first call after "
				    "%lld ms", (long long)iv,
				    (long long)(k[t].fired[0] - start));
			for (size_t f = 1; f < k[t].n; f++) {
				int64_t gap = k[t].fired[f] - k[t].fired[f - 1];
				if (gap < iv - 1)
					fail_msg("every %lld ms: calls %lld ms "
					    "apart", (long long)iv,
					    (long long)gap);
			}
		}
		for (size_t t = 0; t < 3 && cases[i].intervals[t] > 0; t++)
			loop_cancel(l, &k[t].timer);
		loop_free(l);
	}
}

/* loop_cancel stops one timer and no other: from outside the loop, from
 * the timer's own call, or from another timer's call even when both are
 * due in the same turn of the loop (the cancelled one must not run after
 * its cancel); cancelling a timer that is not running changes nothing;
 * a cancelled timer can be started again. */
static void
test_cancel(void **state)
{
	enum how { OUTSIDE, SELF, OTHER_FIRST, OTHER_SECOND, NOT_RUNNING,
	    RESTART };
	static const struct {
		enum how how;
		const char *what;
	} cases[] = {
		{ OUTSIDE, "from outside" },
		{ SELF, "from its own call" },
		{ OTHER_FIRST, "from another timer due in the same turn, "
		  "started after it" },
		{ OTHER_SECOND, "from another timer due in the same turn, "
		  "started before it" },
		{ NOT_RUNNING, "a timer that is not running" },
		{ RESTART, "then started again" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct loop *l = loop_new();
		struct ticker a, b, idle;
		size_t a_fires;

		assert_non_null(l);
		ticker_init(&a, l, 10);
		ticker_init(&b, l, 10);
		ticker_init(&idle, l, 10);
		switch (cases[i].how) {
		case OUTSIDE:
			loop_every(l, &a.timer);
			loop_every(l, &b.timer);
			while (a.n < 3)
				assert_int_equal(loop_run_once(l, true), 0);
			loop_cancel(l, &a.timer);
			a_fires = 3;
			break;
		case SELF:
			a.cancel_self_at = 2;
			loop_every(l, &a.timer);
			loop_every(l, &b.timer);
			a_fires = 2;
			break;
		case OTHER_FIRST:
		case OTHER_SECOND:
			/* Both overdue when the loop next turns, started in
			 * either order so that the canceller runs before the
			 * cancelled one in one of the two cases, whatever
			 * the order the loop runs due timers in. */
			b.cancel_other = &a;
			if (cases[i].how == OTHER_FIRST) {
				loop_every(l, &a.timer);
				loop_every(l, &b.timer);
			} else {
				loop_every(l, &b.timer);
				loop_every(l, &a.timer);
			}
			sleep_ms(30);
			assert_int_equal(loop_run_once(l, true), 0);
			assert_int_equal(b.n, 1);
			a_fires = b.other_n;	/* none after the cancel */
			break;
		case NOT_RUNNING:
			loop_every(l, &a.timer);
			loop_every(l, &b.timer);
			loop_cancel(l, &idle.timer);
			a_fires = SIZE_MAX;
			break;
		case RESTART:
			loop_every(l, &a.timer);
			loop_every(l, &b.timer);
			loop_cancel(l, &a.timer);
			loop_every(l, &a.timer);
			a_fires = SIZE_MAX;
			break;
		}
		run_for(l, 120);
		if (a_fires == SIZE_MAX) {
			if (a.n < 3)
				fail_msg("%s: the timer ran %zu times",
				    cases[i].what, a.n);
		} else if (a.n != a_fires) {
			fail_msg("%s: want %zu calls, got %zu", cases[i].what,
			    a_fires, a.n);
		}
		/* the other timer went on */
		if (b.n < 3)
			fail_msg("%s: the other timer ran %zu times",
			    cases[i].what, b.n);
		assert_int_equal(idle.n, 0);
		loop_cancel(l, &a.timer);
		loop_cancel(l, &b.timer);
		loop_free(l);
	}
}

/* loop_next_in_us moves a running timer's next call, earlier or later, from
 * outside or from its own call (which then sets its pace), and 0 means
 * the next turn; the interval applies again after that call. */
static void
test_next_in(void **state)
{
	static const struct {
		int64_t interval;
		int64_t next_in;	/* right after loop_every */
		int64_t each_call;	/* loop_next_in_us from the call, or -1 */
		int64_t run_ms;
		int64_t first_min, first_max;	/* the first call, from start */
		int64_t gap_min;	/* between later calls */
		size_t min_calls, max_calls;
	} cases[] = {
		/* earlier */
		{ 1000, 30, -1, 200, 30, 150, 0, 1, 1 },
		{ 1000, 0, -1, 100, 0, 80, 0, 1, 1 },
		/* later */
		{ 30, 200, -1, 300, 200, 290, 29, 1, 4 },
		/* from the call: every 20 ms instead of every second */
		{ 1000, 20, 20, 300, 20, 150, 19, 4, 15 },
		/* from the call: later than the interval */
		{ 20, 20, 100, 320, 20, 150, 99, 2, 4 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct loop *l = loop_new();
		struct ticker k, guard;

		assert_non_null(l);
		ticker_init(&k, l, cases[i].interval);
		ticker_init(&guard, l, 5);
		k.next_in = cases[i].each_call;
		int64_t start = loop_now_ms();
		loop_every(l, &k.timer);
		loop_every(l, &guard.timer);
		loop_next_in_us(&k.timer, cases[i].next_in * 1000);
		run_for(l, cases[i].run_ms);

		if (k.n < cases[i].min_calls || k.n > cases[i].max_calls)
			fail_msg("case %zu: %zu calls", i, k.n);
		if (k.n > 0) {
			int64_t first = k.fired[0] - start;
			if (first < cases[i].first_min ||
			    first > cases[i].first_max)
				fail_msg("case %zu: first call after %lld ms",
				    i, (long long)first);
		}
		for (size_t f = 1; f < k.n; f++)
			if (k.fired[f] - k.fired[f - 1] < cases[i].gap_min)
				fail_msg("case %zu: calls %lld ms apart", i,
				    (long long)(k.fired[f] - k.fired[f - 1]));
		loop_cancel(l, &k.timer);
		loop_cancel(l, &guard.timer);
		loop_free(l);
	}
}

/* ---- descriptors ---- */

/* An io embedded in what it belongs to, found again with container_of. */
struct pipe_end {
	const char *name;
	struct loop_io io;
	size_t calls;
	uint32_t events;	/* of the last call */
};

static void
on_ready(struct loop_io *io, uint32_t events)
{
	struct pipe_end *e = container_of(io, struct pipe_end, io);

	e->calls++;
	e->events = events;
}

/* A pipe's two ends through a sequence of steps, one turn of the loop
 * after each: the read end is called back with EPOLLIN while data waits,
 * again on each turn until it is read (level-triggered), with its own
 * watch; not after loop_modify() took EPOLLIN away nor after
 * loop_remove(), and again after loop_modify() or loop_add() give it back;
 * the write end is called with EPOLLOUT, each end with its own events in
 * the same turn; closing the write end wakes the read end (EPOLLHUP);
 * adding an fd twice or changing one never added fails with errno. */
static void
test_watch(void **state)
{
	enum step { NOTHING, WRITE, READ, READ_NONE, READ_IN, ADD_WRITE,
	    REMOVE_WRITE, REMOVE_READ, ADD_READ, ADD_READ_AGAIN,
	    MODIFY_WRITE_GONE, CLOSE_WRITE };
	static const struct {
		enum step step;
		bool read_called;
		uint32_t read_events;	/* all of them, when called */
		bool write_called;
		uint32_t write_events;
	} steps[] = {
		{ NOTHING, false, 0, false, 0 },
		{ WRITE, true, EPOLLIN, false, 0 },
		{ NOTHING, true, EPOLLIN, false, 0 },
		{ READ_NONE, false, 0, false, 0 },
		{ NOTHING, false, 0, false, 0 },
		{ READ_IN, true, EPOLLIN, false, 0 },
		{ READ, false, 0, false, 0 },
		{ ADD_WRITE, false, 0, true, EPOLLOUT },
		{ WRITE, true, EPOLLIN, true, EPOLLOUT },
		{ REMOVE_WRITE, true, EPOLLIN, false, 0 },
		{ MODIFY_WRITE_GONE, true, EPOLLIN, false, 0 },
		{ REMOVE_READ, false, 0, false, 0 },
		{ WRITE, false, 0, false, 0 },
		{ ADD_READ, true, EPOLLIN, false, 0 },
		{ ADD_READ_AGAIN, true, EPOLLIN, false, 0 },
		{ READ, false, 0, false, 0 },
		{ CLOSE_WRITE, true, EPOLLHUP, false, 0 },
	};
	int fds[2];
	struct loop *l = loop_new();
	struct pipe_end r = { .name = "read end" }, w = { .name = "write end" };
	struct ticker guard;
	char byte;
	(void)state;

	assert_non_null(l);
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	r.io = (struct loop_io){ fds[0], on_ready };
	w.io = (struct loop_io){ fds[1], on_ready };
	ticker_init(&guard, l, 10);
	loop_every(l, &guard.timer);
	assert_int_equal(loop_add(l, &r.io, EPOLLIN), 0);

	for (size_t i = 0; i < NELEM(steps); i++) {
		switch (steps[i].step) {
		case NOTHING:
			break;
		case WRITE:
			assert_int_equal(write(fds[1], "x", 1), 1);
			break;
		case READ:
			while (read(fds[0], &byte, 1) == 1)
				;
			break;
		case READ_NONE:
			assert_int_equal(loop_modify(l, &r.io, 0), 0);
			break;
		case READ_IN:
			assert_int_equal(loop_modify(l, &r.io, EPOLLIN), 0);
			break;
		case ADD_WRITE:
			assert_int_equal(loop_add(l, &w.io, EPOLLOUT), 0);
			break;
		case REMOVE_WRITE:
			loop_remove(l, &w.io);
			break;
		case REMOVE_READ:
			loop_remove(l, &r.io);
			break;
		case ADD_READ:
			assert_int_equal(loop_add(l, &r.io, EPOLLIN), 0);
			break;
		case ADD_READ_AGAIN:
			errno = 0;
			assert_int_equal(loop_add(l, &r.io, EPOLLIN), -1);
			assert_int_equal(errno, EEXIST);
			break;
		case MODIFY_WRITE_GONE:
			errno = 0;
			assert_int_equal(loop_modify(l, &w.io, EPOLLOUT),
			    -1);
			assert_int_equal(errno, ENOENT);
			break;
		case CLOSE_WRITE:
			close(fds[1]);
			fds[1] = -1;
			break;
		}
		r.calls = w.calls = 0;
		r.events = w.events = 0;
		assert_int_equal(loop_run_once(l, true), 0);
		if ((r.calls > 0) != steps[i].read_called ||
		    (w.calls > 0) != steps[i].write_called)
			fail_msg("step %zu: read end called %zu times, write "
			    "end %zu times", i, r.calls, w.calls);
		assert_true(r.calls <= 1 && w.calls <= 1);
		if (r.calls > 0)
			assert_int_equal(r.events, steps[i].read_events);
		if (w.calls > 0)
			assert_int_equal(w.events, steps[i].write_events);
	}

	loop_remove(l, &r.io);
	loop_cancel(l, &guard.timer);
	close(fds[0]);
	loop_free(l);
}

/* The clock only goes forward, in milliseconds. */
static void
test_now(void **state)
{
	static const long sleeps[] = { 0, 1, 5, 20 };
	(void)state;

	for (size_t i = 0; i < NELEM(sleeps); i++) {
		int64_t before = loop_now_ms();
		sleep_ms(sleeps[i]);
		int64_t after = loop_now_ms();
		assert_true(after - before >= sleeps[i]);
		assert_true(after - before < sleeps[i] + 1000);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_next_in),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
