/* Unit tests for the responder's core (src/server.h, with src/client.h,
 * src/outq.h and src/handout.h under it): a real server on a temporary
 * log, its clients on socketpairs, driven one turn of the loop at a time.
 * No web server, no root: what a client that does not read, reads
 * slowly, replays a long backlog or meets a locked log costs the others
 * and the responder's memory.
 *
 * Allocation failures: this program is linked with --wrap for malloc,
 * calloc, realloc and strdup, so that the Nth allocation of the code
 * under test can be made to fail.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "loop.h"
#include "server.h"
#include "store.h"
#include "templog.h"
#include "upload.h"

/* ---- failing allocations ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long alloc_countdown = -1;	/* fail when it reaches 0; -1: never */
static long alloc_failures;

static bool
alloc_fails(void)
{
	if (alloc_countdown < 0 || alloc_countdown-- > 0)
		return false;
	alloc_failures++;
	alloc_countdown = -1;	/* one failure, then normal again */
	errno = ENOMEM;
	return true;
}

void *
__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return alloc_fails() ? NULL : __real_strdup(s);
}

/* ---- a server on a temporary log ---- */

struct fixture {
	char path[256];
	struct store *w;	/* a writer */
	struct server *srv;
};

static void
fixture_start(struct fixture *fx, size_t max_pending, int write_timeout_s,
    int heartbeat_s)
{
	char err[256];
	struct server_config cfg = {
		.request = { .prefix = NULL, .max_streams = 8 },
		.heartbeat_s = heartbeat_s,
		.retry_ms = -1,
		.poll_interval_ms = 1000,
		.max_clients = 100,
		.max_pending = max_pending,
		.write_timeout_s = write_timeout_s,
	};

	fx->w = templog_new(fx->path, sizeof fx->path);
	cfg.db_path = fx->path;
	fx->srv = server_new(&cfg, err, sizeof err);
	if (fx->srv == NULL)
		fail_msg("server_new: %s", err);
}

static void
fixture_stop(struct fixture *fx)
{
	server_free(fx->srv);
	store_close(fx->w);
}

/* Appends n events of size bytes each to stream, in one transaction. */
static void
publish(struct fixture *fx, const char *stream, size_t n, size_t size)
{
	char *data = malloc(size + 1);

	assert_non_null(data);
	memset(data, 'x', size);
	data[size] = '\0';
	assert_int_equal(store_begin(fx->w), 0);
	for (size_t i = 0; i < n; i++) {
		struct store_new_event ev = { .stream = stream, .data = data,
		    .data_len = size, .retry = -1 };
		int64_t id;
		if (store_append(fx->w, &ev, &id) == -1)
			fail_msg("append: %s", store_error(fx->w));
	}
	assert_int_equal(store_commit(fx->w), 0);
	free(data);
}

/* A client subscribed with the query string query; returns our end of
 * its connection, non-blocking. sndbuf > 0 sizes the server's end. */
static int
connect_client(struct fixture *fx, const char *query, const char *accept,
    int sndbuf)
{
	int sv[2];
	struct request_params p = {
		.method = "GET", .query_string = query, .accept = accept,
	};

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (sndbuf > 0)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF,
		    &sndbuf, sizeof sndbuf), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	server_accept(fx->srv, sv[0], TRANSPORT_CGI, 0, &p);
	return sv[1];
}

/* Reads what waits on fd into out (when not NULL). Returns the bytes
 * read; sets *eof when the server closed its end. */
static size_t
take(int fd, struct buf *out, bool *eof)
{
	char chunk[65536];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n > 0) {
			if (out != NULL)
				assert_int_equal(buf_append(out, chunk,
				    (size_t)n), 0);
			total += (size_t)n;
			continue;
		}
		if (n == 0 && eof != NULL)
			*eof = true;
		return total;
	}
}

static void
turns(struct fixture *fx, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(server_turn(fx->srv, false), 0);
}

/* memmem, not a memcmp at every byte: the replays here are megabytes,
 * counted again after each read, and under valgrind that took a minute. */
static size_t
count(const struct buf *b, const char *needle)
{
	size_t n = 0, len = strlen(needle);
	const char *p = b->data, *end = b->data + b->len;

	while (len > 0 && p != NULL && (size_t)(end - p) >= len &&
	    (p = memmem(p, (size_t)(end - p), needle, len)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* Whether the "id: N" lines of b are 1, 2, ... last, each once and in
 * that order; if not, says which came instead. */
static void
assert_ids_in_order(const struct buf *b, long last, int client)
{
	const char *p = b->data, *end = b->data + b->len;
	long want = 1;

	while (p != NULL && (p = memmem(p, (size_t)(end - p), "id: ",
	    4)) != NULL) {
		p += 4;
		long got = strtol(p, NULL, 10);
		if (got != want)
			fail_msg("client %d: id %ld came where %ld was due",
			    client, got, want);
		want++;
	}
	if (want != last + 1)
		fail_msg("client %d: %ld events of %ld came", client, want - 1,
		    last);
}

/* What malloc has handed out, from the heap and in chunks of their own. */
static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* ---- bounded memory ---- */

/* Clients that do not read, replaying a backlog of large events: each
 * costs the responder at most about --max-pending plus one event, however
 * long the backlog; the old core queued a 1,000-event page whatever its
 * size. Then they read, and get every event, in order. */
static void
test_replay_is_bounded(void **state)
{
	enum { CLIENTS = 8, EVENTS = 60, SIZE = 64 * 1024 };
	const size_t max_pending = 128 * 1024;
	struct fixture fx;
	int fd[CLIENTS];

	(void)state;
	fixture_start(&fx, max_pending, 30, 15);
	publish(&fx, "big", EVENTS, SIZE);
	size_t before = heap_in_use();
	for (int i = 0; i < CLIENTS; i++)
		fd[i] = connect_client(&fx, "stream=big&lastEventId=0", NULL,
		    16 * 1024);
	turns(&fx, 50);
	size_t grown = heap_in_use() - before;
	/* Per client: what may be pending, one event beyond it, a block of
	 * slack; and 2 MiB for SQLite's page cache, shared. */
	size_t bound = CLIENTS * (max_pending + SIZE + 64 * 1024) +
	    2 * 1024 * 1024;
	if (grown > bound)
		fail_msg("%d clients that do not read grew the heap by %zu "
		    "bytes, over %zu", CLIENTS, grown, bound);
	assert_int_equal(server_clients(fx.srv), CLIENTS);

	/* They read now, and get everything. */
	struct buf got[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		got[i] = (struct buf)BUF_INIT;
	for (int t = 0; t < 2000; t++) {
		size_t n = 0;
		for (int i = 0; i < CLIENTS; i++)
			n += take(fd[i], &got[i], NULL);
		turns(&fx, 1);
		if (n == 0 && count(&got[0], "\nid: ") + 1 >= EVENTS &&
		    count(&got[CLIENTS - 1], "\nid: ") + 1 >= EVENTS)
			break;
	}
	for (int i = 0; i < CLIENTS; i++) {
		assert_ids_in_order(&got[i], EVENTS, i);
		buf_free(&got[i]);
		close(fd[i]);
	}
	turns(&fx, 3);
	assert_int_equal(server_clients(fx.srv), 0);
	fixture_stop(&fx);
}

/* A live client that reads only part of what comes is dropped once more
 * than --max-pending waits for it, and what was written is freed as it
 * goes: the heap never holds much more than that for it. */
static void
test_slow_live_reader_is_bounded(void **state)
{
	enum { SIZE = 64 * 1024 };
	const size_t max_pending = 256 * 1024;
	struct fixture fx;
	size_t peak = 0;
	bool eof = false;

	(void)state;
	fixture_start(&fx, max_pending, 30, 15);
	int fd = connect_client(&fx, "stream=s", NULL, 16 * 1024);
	/* Fill both connections' page caches first: they are not the
	 * client's. */
	publish(&fx, "warm", 40, SIZE);
	turns(&fx, 5);
	size_t before = heap_in_use();
	for (int i = 0; i < 40 && !eof; i++) {
		publish(&fx, "s", 1, SIZE);
		turns(&fx, 3);
		char chunk[8192];	/* reads 8 KiB per 64 KiB event */
		if (read(fd, chunk, sizeof chunk) == 0)
			eof = true;
		size_t now = heap_in_use() - before;
		if (now > peak && now < SIZE_MAX / 2)
			peak = now;
	}
	take(fd, NULL, &eof);
	assert_true(eof);	/* dropped: it reconnects and loses nothing */
	/* max_pending + one event + a block; SQLite reads a 64 KiB row into
	 * its cache too. */
	if (peak > max_pending + 3 * SIZE + 64 * 1024)
		fail_msg("a slow reader made the heap grow by %zu bytes",
		    peak);
	close(fd);
	turns(&fx, 2);
	assert_int_equal(server_clients(fx.srv), 0);
	fixture_stop(&fx);
}

/* ---- fairness ---- */

/* A client replaying a long backlog gets one page a turn, and a live
 * client's new event goes out within a turn or two of the write, long
 * before the backlog is done. */
static void
test_replay_yields_to_live(void **state)
{
	enum { BACKLOG = 20000, SIZE = 100 };
	struct fixture fx;
	struct buf a = BUF_INIT, b = BUF_INIT;

	(void)state;
	fixture_start(&fx, 1024 * 1024, 30, 15);
	publish(&fx, "bulk", BACKLOG, SIZE);
	int live = connect_client(&fx, "stream=live", NULL, 0);
	int bulk = connect_client(&fx, "stream=bulk&lastEventId=0", NULL,
	    1024 * 1024);
	turns(&fx, 2);
	take(live, &b, NULL);
	take(bulk, &a, NULL);
	publish(&fx, "live", 1, 10);
	int t = 0;
	for (; t < 20 && count(&b, "id: ") == 0; t++) {
		size_t before = a.len;
		turns(&fx, 1);
		take(bulk, &a, NULL);
		take(live, &b, NULL);
		/* One page a turn: at most 64 KiB and one event. */
		assert_true(a.len - before <= 64 * 1024 + 2 * SIZE);
	}
	if (count(&b, "id: ") != 1)
		fail_msg("the live event did not arrive within %d turns", t);
	assert_true(t <= 3);
	assert_true(count(&a, "id: ") < BACKLOG / 2);
	close(live);
	close(bulk);
	turns(&fx, 2);
	buf_free(&a);
	buf_free(&b);
	fixture_stop(&fx);
}

/* ---- the write timeout ---- */

/* A client with output pending that reads nothing is dropped after
 * --write-timeout; an idle client that reads its heartbeats stays. */
static void
test_write_timeout(void **state)
{
	struct fixture fx;
	struct buf idle_got = BUF_INIT;
	bool stuck_eof = false, idle_eof = false;

	(void)state;
	fixture_start(&fx, 64 * 1024 * 1024, 1, 1);
	publish(&fx, "big", 64, 16 * 1024);
	int stuck = connect_client(&fx, "stream=big&lastEventId=0", NULL,
	    16 * 1024);
	int idle = connect_client(&fx, "stream=quiet", NULL, 0);
	int64_t start = loop_now_ms();
	while (loop_now_ms() - start < 3500) {
		assert_int_equal(server_turn(fx.srv, true), 0);
		take(idle, &idle_got, &idle_eof);
	}
	assert_int_equal(server_clients(fx.srv), 1);
	take(stuck, NULL, &stuck_eof);
	assert_true(stuck_eof);
	assert_false(idle_eof);
	/* the comment after the headers, then heartbeats */
	assert_true(count(&idle_got, ":\n") >= 2);
	close(stuck);
	close(idle);
	buf_free(&idle_got);
	turns(&fx, 2);
	fixture_stop(&fx);
}

/* ---- a locked log ---- */

/* A child process that holds every lock of the log's WAL index (the
 * -shm file's lock bytes, SQLite's wal.c: what a process recovering the
 * log holds) until the parent says. Returns its pid; *release is the
 * pipe to close to let it go. */
static pid_t
hold_wal_locks(const char *path, int *release)
{
	char shm[300];
	int ready[2], go[2];
	char c;

	snprintf(shm, sizeof shm, "%s-shm", path);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
		    .l_start = 120, .l_len = 8 };
		int fd = open(shm, O_RDWR);
		if (fd == -1 || fcntl(fd, F_SETLKW, &fl) == -1)
			_exit(1);
		if (write(ready[1], "L", 1) != 1)
			_exit(1);
		close(go[1]);
		(void)!read(go[0], &c, 1);	/* until the parent closes */
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release = go[1];
	return pid;
}

/* While another process holds the log's locks: no turn of the loop waits
 * on them for long (SQLite alone would retry for about 10 s), a new
 * client waits for its start, a live client gets heartbeats; once the
 * locks go, both get every event. */
static void
test_locked_log(void **state)
{
	struct fixture fx;
	struct buf live_got = BUF_INIT, new_got = BUF_INIT;
	int release, status;

	(void)state;
	fixture_start(&fx, 1024 * 1024, 30, 1);
	publish(&fx, "s", 1, 10);	/* id 1 */
	int live = connect_client(&fx, "stream=s", NULL, 0);
	turns(&fx, 2);
	take(live, &live_got, NULL);

	pid_t holder = hold_wal_locks(fx.path, &release);
	int fresh = connect_client(&fx, "stream=s&lastEventId=0", NULL, 0);
	int64_t start = loop_now_ms(), longest = 0;
	while (loop_now_ms() - start < 2500) {
		int64_t t0 = loop_now_us();
		assert_int_equal(server_turn(fx.srv, false), 0);
		if (loop_now_us() - t0 > longest)
			longest = loop_now_us() - t0;
		take(live, &live_got, NULL);
		take(fresh, &new_got, NULL);
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	/* A few ms is the aim; this leaves room for valgrind. */
	if (longest > 200000)
		fail_msg("a turn of the loop took %lld us while the log was "
		    "locked", (long long)longest);
	assert_int_equal(new_got.len, 0);	/* not started yet */
	assert_true(count(&live_got, ":\n") >= 2);	/* heartbeats */

	close(release);
	/* Its status says little: under valgrind, the copy of the test's
	 * memory it never frees makes it exit 1. That it held the locks,
	 * it said before. */
	assert_int_equal(waitpid(holder, &status, 0), holder);
	assert_true(WIFEXITED(status));
	publish(&fx, "s", 1, 10);	/* id 2 */
	start = loop_now_ms();
	while (loop_now_ms() - start < 3000 && (count(&live_got, "id: 2\n") == 0
	    || count(&new_got, "id: 2\n") == 0)) {
		assert_int_equal(server_turn(fx.srv, true), 0);
		take(live, &live_got, NULL);
		take(fresh, &new_got, NULL);
	}
	assert_int_equal(count(&live_got, "id: 1\n"), 0);
	assert_int_equal(count(&live_got, "id: 2\n"), 1);
	assert_int_equal(count(&new_got, "id: 1\n"), 1);
	assert_int_equal(count(&new_got, "id: 2\n"), 1);
	close(live);
	close(fresh);
	buf_free(&live_got);
	buf_free(&new_got);
	turns(&fx, 2);
	fixture_stop(&fx);
}

/* ---- transient answers ---- */

/* While draining: an EventSource request gets 200, a comment, a retry:
 * and the end; another client gets 503 with Retry-After; an open stream
 * ends with a retry:. */
static void
test_draining(void **state)
{
	struct fixture fx;
	struct buf open_got = BUF_INIT, es = BUF_INIT, plain = BUF_INIT;
	bool open_eof = false, es_eof = false, plain_eof = false;

	(void)state;
	fixture_start(&fx, 1024 * 1024, 30, 15);
	int open = connect_client(&fx, "stream=s", NULL, 0);
	turns(&fx, 2);
	server_stop(fx.srv);
	int a = connect_client(&fx, "stream=s", "text/event-stream", 0);
	int b = connect_client(&fx, "stream=s", "*/*", 0);
	turns(&fx, 3);
	take(open, &open_got, &open_eof);
	take(a, &es, &es_eof);
	take(b, &plain, &plain_eof);
	assert_true(open_eof && es_eof && plain_eof);
	assert_int_equal(count(&open_got, "\nretry: "), 1);
	assert_int_equal(count(&es, "Status: 200 OK\r\n"), 1);
	assert_int_equal(count(&es, "text/event-stream"), 1);
	assert_int_equal(count(&es, "\n: the server is restarting"), 1);
	assert_int_equal(count(&es, "\nretry: "), 1);
	assert_int_equal(count(&plain, "Status: 503"), 1);
	assert_int_equal(count(&plain, "Retry-After: "), 1);
	close(open);
	close(a);
	close(b);
	buf_free(&open_got);
	buf_free(&es);
	buf_free(&plain);
	turns(&fx, 2);
	fixture_stop(&fx);
}

/* ---- forgetting a stream, vacuuming the log ---- */

/* Appends one event of type type (NULL: none) to stream; returns its id. */
static int64_t
publish_one(struct fixture *fx, const char *stream, const char *type,
    const char *data)
{
	struct store_new_event ev = { .stream = stream, .type = type,
	    .data = data, .data_len = strlen(data), .retry = -1 };
	int64_t id;

	if (store_publish(fx->w, &ev, &id, NULL) == -1)
		fail_msg("publish to %s: %s", stream, store_error(fx->w));
	return id;
}

static void
forget(struct fixture *fx, const char *stream)
{
	int64_t forgotten, deleted;

	if (store_forget(fx->w, &stream, 1, &forgotten, &deleted) == -1)
		fail_msg("forget %s: %s", stream, store_error(fx->w));
	assert_int_equal(forgotten, 1);
}

/* A client of stream from after id (its Last-Event-ID). */
static int
connect_after(struct fixture *fx, const char *stream, int64_t id)
{
	char query[128];

	snprintf(query, sizeof query, "stream=%s&lastEventId=%lld", stream,
	    (long long)id);
	return connect_client(fx, query, NULL, 0);
}

/* Turns the loop and reads what the client fd got into got, until it has
 * want events ("id: " lines) or its end; then a few turns more, so that
 * anything sent twice would show. */
static void
take_events(struct fixture *fx, int fd, struct buf *got, size_t want,
    bool *eof)
{
	for (int t = 0; t < 200 && !*eof && count(got, "id: ") < want; t++) {
		turns(fx, 1);
		take(fd, got, eof);
	}
	turns(fx, 3);
	take(fd, got, eof);
}

/* A job re-run under the same stream name (sselog forget, then the new
 * run): a page that saw the old run's close got the end and 204 on
 * reconnect; a client following it when it is forgotten (open, or closed
 * but following another open stream) goes on and gets the new run; a
 * page loaded after gets the new run from its start; a reconnect with an
 * id of the old run gets the new run, without sselog.gap. Before forget
 * existed, the new run could not be written at all (stream is closed). */
static void
test_forget_and_rerun(void **state)
{
	struct fixture fx;
	struct buf page = BUF_INIT, follower = BUF_INIT, both = BUF_INIT,
	    again = BUF_INIT, fresh = BUF_INIT, old_id = BUF_INIT;
	bool page_eof = false, follower_eof = false, both_eof = false,
	    again_eof = false, fresh_eof = false, old_eof = false;

	(void)state;
	fixture_start(&fx, 1024 * 1024, 30, 15);
	/* follower: the open stream "open" alone, forgotten under it. both:
	 * "job" and the open "other", so it goes on after job's close. */
	int follow_fd = connect_client(&fx, "stream=open", NULL, 0);
	int both_fd = connect_client(&fx, "stream=job&stream=other", NULL, 0);
	turns(&fx, 2);
	publish_one(&fx, "open", NULL, "open-1");
	int64_t run1 = publish_one(&fx, "job", NULL, "run-1");
	publish_one(&fx, "job", NULL, "run-1b");
	int64_t close1 = publish_one(&fx, "job", "sselog.close", "");
	int page_fd = connect_client(&fx, "stream=job&lastEventId=0", NULL, 0);
	take_events(&fx, page_fd, &page, 3, &page_eof);
	take_events(&fx, both_fd, &both, 3, &both_eof);
	take_events(&fx, follow_fd, &follower, 1, &follower_eof);
	assert_true(page_eof);	/* the old run's end */
	assert_int_equal(count(&page, "data: run-1\n"), 1);
	assert_false(both_eof);
	int again_fd = connect_after(&fx, "job", close1);
	take_events(&fx, again_fd, &again, 1, &again_eof);
	assert_true(again_eof);
	assert_int_equal(count(&again, "Status: 204"), 1);

	forget(&fx, "job");
	forget(&fx, "open");
	turns(&fx, 5);
	take(follow_fd, &follower, &follower_eof);
	take(both_fd, &both, &both_eof);
	assert_false(follower_eof);
	assert_false(both_eof);
	assert_int_equal(server_clients(fx.srv), 2);

	/* The new runs. */
	int64_t open2 = publish_one(&fx, "open", NULL, "open-2");
	int64_t run2 = publish_one(&fx, "job", NULL, "run-2");
	publish_one(&fx, "job", NULL, "run-2b");
	assert_true(open2 > close1 && run2 > open2);
	take_events(&fx, follow_fd, &follower, 2, &follower_eof);
	take_events(&fx, both_fd, &both, 5, &both_eof);
	assert_false(follower_eof);
	assert_int_equal(count(&follower, "id: "), 2);
	assert_int_equal(count(&follower, "data: open-2\n"), 1);
	assert_int_equal(count(&both, "id: "), 5);
	assert_int_equal(count(&both, "data: run-2\n"), 1);
	assert_int_equal(count(&both, "data: run-2b\n"), 1);

	/* A page loaded now: the new run from its start, nothing of the
	 * old one, no gap. */
	int fresh_fd = connect_client(&fx, "stream=job&lastEventId=0", NULL,
	    0);
	take_events(&fx, fresh_fd, &fresh, 2, &fresh_eof);
	assert_int_equal(count(&fresh, "id: "), 2);
	assert_int_equal(count(&fresh, "data: run-2\n"), 1);
	assert_int_equal(count(&fresh, "run-1"), 0);
	assert_int_equal(count(&fresh, "sselog.gap"), 0);

	/* A reconnect with an id of the old run: the new run, no gap. */
	int old_fd = connect_after(&fx, "job", run1);
	take_events(&fx, old_fd, &old_id, 2, &old_eof);
	assert_false(old_eof);
	assert_int_equal(count(&old_id, "id: "), 2);
	assert_int_equal(count(&old_id, "data: run-2\n"), 1);
	assert_int_equal(count(&old_id, "sselog.gap"), 0);

	close(page_fd);
	close(again_fd);
	close(follow_fd);
	close(both_fd);
	close(fresh_fd);
	close(old_fd);
	turns(&fx, 3);
	assert_int_equal(server_clients(fx.srv), 0);
	buf_free(&page);
	buf_free(&follower);
	buf_free(&both);
	buf_free(&again);
	buf_free(&fresh);
	buf_free(&old_id);
	fixture_stop(&fx);
}

/* sselog vacuum under a live client and a client replaying a long
 * backlog: the log is rewritten in place (same file, same ids), so the
 * responder sees neither a restore nor ids going backwards: no stream
 * ends, and every event arrives once. */
static void
test_vacuum_under_clients(void **state)
{
	enum { OLD = 4000, BACKLOG = 4000, SIZE = 200 };
	struct fixture fx;
	struct buf live = BUF_INIT, replay = BUF_INIT;
	bool live_eof = false, replay_eof = false;
	int64_t deleted;
	const char *old = "old";

	(void)state;
	fixture_start(&fx, 1024 * 1024, 30, 15);
	/* Free pages for VACUUM to squeeze out, then the backlog. */
	publish(&fx, old, OLD, SIZE);
	publish(&fx, "bulk", BACKLOG, SIZE);
	assert_int_equal(store_prune(fx.w, &old, 1, 0, -1, &deleted), 0);
	assert_int_equal(deleted, OLD);
	int live_fd = connect_client(&fx, "stream=live", NULL, 0);
	int replay_fd = connect_client(&fx, "stream=bulk&lastEventId=0", NULL,
	    64 * 1024);
	turns(&fx, 2);
	take(live_fd, &live, &live_eof);
	take(replay_fd, &replay, &replay_eof);
	assert_true(count(&replay, "id: ") < BACKLOG);	/* still replaying */

	int rc = store_vacuum(fx.w);
	if (rc == -1)
		fail_msg("vacuum: %s", store_error(fx.w));
	publish(&fx, "live", 1, 10);
	publish(&fx, "bulk", 1, 10);
	take_events(&fx, live_fd, &live, 1, &live_eof);
	take_events(&fx, replay_fd, &replay, BACKLOG + 1, &replay_eof);
	assert_false(live_eof);
	assert_false(replay_eof);
	assert_int_equal(count(&live, "id: "), 1);
	assert_int_equal(count(&replay, "id: "), BACKLOG + 1);
	char want[32];
	for (int id = OLD + 1; id <= OLD + BACKLOG; id += 97) {
		snprintf(want, sizeof want, "\nid: %d\n", id);
		assert_int_equal(count(&replay, want), 1);
	}
	assert_int_equal(server_clients(fx.srv), 2);
	close(live_fd);
	close(replay_fd);
	turns(&fx, 3);
	buf_free(&live);
	buf_free(&replay);
	fixture_stop(&fx);
}

/* ---- failure paths ---- */

/* The Nth allocation of a request's start fails, for every N: the client
 * either streams or its connection ends; none is left holding a slot
 * with nothing coming, and every one goes once its peer hangs up. */
static void
test_allocation_failures(void **state)
{
	struct fixture fx;

	(void)state;
	fixture_start(&fx, 1024 * 1024, 30, 15);
	publish(&fx, "a", 3, 100);
	long n;
	for (n = 0; n < 200; n++) {
		struct buf got = BUF_INIT;
		bool eof = false;
		long failures = alloc_failures;

		alloc_countdown = n;
		int fd = connect_client(&fx, "stream=a&stream=b&lastEventId=0",
		    NULL, 0);
		turns(&fx, 3);
		alloc_countdown = -1;
		turns(&fx, 2);
		take(fd, &got, &eof);
		if (alloc_failures == failures) {
			/* past the last allocation: a whole stream */
			assert_int_equal(count(&got, "id: "), 3);
			close(fd);
			turns(&fx, 2);
			buf_free(&got);
			break;
		}
		/* Still open: then it streams, every event. */
		if (!eof && count(&got, "id: ") != 3)
			fail_msg("allocation %ld failed: the client neither "
			    "got its stream nor ended (%zu bytes)", n, got.len);
		close(fd);
		turns(&fx, 2);
		if (server_clients(fx.srv) != 0)
			fail_msg("allocation %ld failed: a client stayed",
			    n);
		buf_free(&got);
	}
	assert_true(n > 5 && n < 200);

	/* The same for the live hand-out of an event: the client gets it, or
	 * its connection ends (it reconnects and loses nothing). */
	for (n = 0; n < 200; n++) {
		struct buf got = BUF_INIT;
		bool eof = false;
		long failures = alloc_failures;

		int fd = connect_client(&fx, "stream=live", NULL, 0);
		turns(&fx, 3);
		take(fd, NULL, NULL);
		publish(&fx, "live", 1, 100);
		alloc_countdown = n;	/* the turns below read it */
		turns(&fx, 3);
		alloc_countdown = -1;
		/* A read that failed is made again on the next check. */
		int64_t start = loop_now_ms();
		while (!eof && count(&got, "id: ") == 0 &&
		    loop_now_ms() - start < 3000) {
			assert_int_equal(server_turn(fx.srv, true), 0);
			take(fd, &got, &eof);
		}
		bool failed = alloc_failures != failures;
		if (!eof && count(&got, "id: ") != 1)
			fail_msg("allocation %ld failed in the hand-out: the "
			    "client neither got the event nor ended", n);
		close(fd);
		turns(&fx, 2);
		assert_int_equal(server_clients(fx.srv), 0);
		buf_free(&got);
		if (!failed)
			break;
	}
	assert_true(n > 0 && n < 200);
	fixture_stop(&fx);
}

/* ---- an upload of lines ---- */

/* A FastCGI record of type on request 1 with len bytes of content,
 * appended to b. */
static void
fcgi_record(struct buf *b, unsigned type, const char *content, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	assert_int_equal(buf_append(b, h, sizeof h), 0);
	assert_int_equal(buf_append(b, content, len), 0);
}

/* An upload of lines much larger than a batch, all of it waiting on the
 * connection, goes in at the speed of the log: each full batch is
 * appended and the rest of the body is read on. The responder used to
 * stop reading after each full batch until the lines that the batch left
 * over were BATCH_MS (20 ms, src/publish.c) old, one 20 ms wait per
 * batch: at most 256 KiB of lines each 20 ms, however fast the log. The
 * log is on a tmpfs, so that its fsync()s do not count. */
static void
test_upload_of_lines_is_not_held(void **state)
{
	enum { BATCHES = 64, LINE = 4001, WAIT_MS = 20 };
	char dir[] = "/dev/shm/sselog-unit-XXXXXX";
	char path[300], rules[300], err[256];
	struct buf body = BUF_INIT, got = BUF_INIT;
	char line[LINE];
	bool eof = false;
	int sv[2];

	(void)state;
	if (mkdtemp(dir) == NULL)
		skip();		/* no tmpfs to put the log on */
	snprintf(path, sizeof path, "%s/events.db", dir);
	snprintf(rules, sizeof rules, "%s/access", dir);
	FILE *f = fopen(rules, "w");
	assert_non_null(f);
	fputs("anonymous publish **\n", f);
	assert_int_equal(fclose(f), 0);
	struct store *w = templog_open(path, STORE_CREATE);
	assert_int_equal(store_init(w), 0);
	struct auth_config ac = { .access_file = rules, .cookie = "token" };
	struct auth *auth = auth_load(&ac, err, sizeof err);
	if (auth == NULL)
		fail_msg("auth_load: %s", err);
	struct server_config cfg = {
		.db_path = path,
		.request = { .max_streams = 8, .publish = true },
		.max_event_size = 64 * 1024,
		.heartbeat_s = 15, .retry_ms = -1, .poll_interval_ms = 1000,
		.max_clients = 100, .max_pending = 1024 * 1024,
		.write_timeout_s = 10, .auth = auth,
	};
	struct server *srv = server_new(&cfg, err, sizeof err);
	if (srv == NULL)
		fail_msg("server_new: %s", err);

	/* Lines of 4,000 bytes (an odd length: a batch never ends with a
	 * read), in records of 8 KiB as nginx sends them. */
	memset(line, 'x', LINE - 1);
	line[LINE - 1] = '\n';
	size_t nlines = BATCHES * (UPLOAD_BATCH_BYTES / LINE + 1);
	struct buf lines = BUF_INIT;
	for (size_t i = 0; i < nlines; i++)
		assert_int_equal(buf_append(&lines, line, LINE), 0);
	for (size_t off = 0; off < lines.len; off += 8192)
		fcgi_record(&body, 5, lines.data + off,
		    lines.len - off < 8192 ? lines.len - off : 8192);
	fcgi_record(&body, 5, "", 0);
	buf_free(&lines);

	struct request_params params = { .method = "POST",
	    .query_string = "lines", .path_info = "/up" };
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	int64_t start = loop_now_ms();
	server_accept(srv, sv[0], TRANSPORT_FCGI, 1, &params);
	size_t sent = 0;
	while (!eof && loop_now_ms() - start < 10000) {
		ssize_t n = sent < body.len ? write(sv[1], body.data + sent,
		    body.len - sent) : 0;
		if (n > 0)
			sent += (size_t)n;
		assert_int_equal(server_turn(srv, false), 0);
		take(sv[1], &got, &eof);
	}
	int64_t took = loop_now_ms() - start;
	if (count(&got, "Status: 201") != 1)
		fail_msg("the upload was not answered 201 (%zu bytes came, "
		    "%s)", got.len, eof ? "then the end" : "no end");
	/* Waiting between batches costs at least WAIT_MS each: the whole
	 * of that is the bound, which a loaded machine does not reach
	 * (about 130 ms here, against 1,500 with the wait). Under valgrind
	 * (tests/run-all's memory checks) the work itself takes longer than
	 * that: there, only the memory is checked. */
	if (took >= BATCHES * WAIT_MS &&
	    getenv("SSELOG_UNDER_VALGRIND") == NULL)
		fail_msg("%zu lines (%d batches) took %" PRId64 " ms: the "
		    "body waited between batches", nlines, BATCHES, took);
	close(sv[1]);
	buf_free(&body);
	buf_free(&got);
	server_free(srv);
	auth_free(auth);
	store_close(w);
	char file[320];
	const char *suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(file, sizeof file, "%s%s", path, suffix[i]);
		unlink(file);
	}
	unlink(rules);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_is_bounded),
		cmocka_unit_test(test_slow_live_reader_is_bounded),
		cmocka_unit_test(test_replay_yields_to_live),
		cmocka_unit_test(test_write_timeout),
		cmocka_unit_test(test_locked_log),
		cmocka_unit_test(test_draining),
		cmocka_unit_test(test_forget_and_rerun),
		cmocka_unit_test(test_vacuum_under_clients),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_upload_of_lines_is_not_held),
	};

	return cmocka_run_group_tests(tests, templog_setup, templog_teardown);
}
