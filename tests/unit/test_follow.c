/* Unit tests for src/follow.h: what a subscriber of several streams is
 * sent, read from a real log.
 *
 * Each case writes its own log in one mkdtemp directory (templog.h: removed
 * by the group teardown) through a writing handle, as `sselog` would, and
 * follows it through a read-only handle, as the responder does. A log is
 * written as a line of stream names, one event each, ids 1, 2, 3... in
 * order; "a!" is the close event of a. Every event's data is "stream#id".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "follow.h"
#include "store.h"
#include "templog.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

#define CLOSE "sselog.close"

/* ---- a log to follow ---- */

struct log {
	char path[512];
	struct store *w;	/* writes, like sselog */
	struct store *r;	/* reads, like the responder */
	int64_t last;		/* the last id written */
};

/* Appends one event per name of the space-separated list; a name ending in
 * ! is a close event. Asserts the ids follow on from lg->last. */
static void
log_write(struct log *lg, const char *events)
{
	char list[1024], *save = NULL, data[256];

	snprintf(list, sizeof list, "%s", events);
	for (char *tok = strtok_r(list, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(tok);
		bool close = tok[len - 1] == '!';
		if (close)
			tok[len - 1] = '\0';
		snprintf(data, sizeof data, "%s#%lld", tok,
		    (long long)lg->last + 1);
		struct store_new_event ev = { tok, close ? CLOSE : NULL, data,
		    strlen(data), -1, NULL };
		int64_t id = 0;
		if (store_publish(lg->w, &ev, &id, NULL) == -1)
			fail_msg("publish %s: %s", tok, store_error(lg->w));
		assert_int_equal(id, lg->last + 1);
		lg->last = id;
	}
}

/* Prunes each "stream:keep" of the space-separated list. */
static void
log_prune(struct log *lg, const char *prunes)
{
	char list[256], *save = NULL;

	snprintf(list, sizeof list, "%s", prunes);
	for (char *tok = strtok_r(list, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *colon = strchr(tok, ':');
		int64_t deleted;
		assert_non_null(colon);
		*colon = '\0';
		const char *stream = tok;
		if (store_prune(lg->w, &stream, 1, atoll(colon + 1), -1,
		    &deleted) == -1)
			fail_msg("prune %s: %s", tok, store_error(lg->w));
	}
}

static void
log_open(struct log *lg, const char *events, const char *prunes)
{
	memset(lg, 0, sizeof *lg);
	lg->w = templog_new(lg->path, sizeof lg->path);
	log_write(lg, events);
	log_prune(lg, prunes);
	lg->r = templog_open(lg->path, STORE_READ);
}

static void
log_close(struct log *lg)
{
	store_close(lg->r);
	store_close(lg->w);
}

/* The names of a space-separated list, in an array that follow borrows. */
struct names {
	char buf[256];
	const char *v[16];
	size_t n;
};

static void
split_names(struct names *nm, const char *list)
{
	char *save = NULL;

	snprintf(nm->buf, sizeof nm->buf, "%s", list);
	nm->n = 0;
	for (char *tok = strtok_r(nm->buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		assert_true(nm->n < NELEM(nm->v));
		nm->v[nm->n++] = tok;
	}
}

/* ---- what emit is handed ---- */

struct sink {
	struct follow *f;	/* to check each event is one it follows */
	char ids[8192];
	size_t len;
	int64_t prev;
	size_t count;
	size_t refuse_at;	/* emit returns -1 for this event (1-based) */
};

static int
emit(void *ctx, const struct store_event *ev)
{
	struct sink *s = ctx;
	char data[256];
	bool followed = false;

	if (s->refuse_at != 0 && s->count + 1 == s->refuse_at) {
		s->refuse_at = 0;
		return -1;
	}
	for (size_t i = 0; i < s->f->n; i++)
		followed |= strcmp(ev->stream, s->f->streams[i]) == 0;
	if (!followed)
		fail_msg("event %lld of %s, which is not followed",
		    (long long)ev->id, ev->stream);
	if (ev->id <= s->prev)
		fail_msg("event %lld after %lld", (long long)ev->id,
		    (long long)s->prev);
	/* the position moves on only after emit took the event */
	assert_int_equal(s->f->position, s->prev);
	snprintf(data, sizeof data, "%s#%lld", ev->stream, (long long)ev->id);
	assert_int_equal(ev->data_len, strlen(data));
	assert_memory_equal(ev->data, data, ev->data_len);
	s->prev = ev->id;
	s->count++;
	s->len += (size_t)snprintf(s->ids + s->len, sizeof s->ids - s->len,
	    "%s%lld", s->len ? " " : "", (long long)ev->id);
	assert_true(s->len < sizeof s->ids);
	return 0;
}

static void
sink_init(struct sink *s, struct follow *f)
{
	memset(s, 0, sizeof *s);
	s->f = f;
	s->prev = f->position;
}

/* Reads everything that is left, max events a page, into s; asserts
 * each page is at most max and only the last one is short. Returns the
 * number of pages. */
static size_t
read_all(struct follow *f, struct store *st, size_t max, struct sink *s)
{
	size_t pages = 0;

	for (;;) {
		size_t before = s->count;
		long n = follow_read(f, st, max, emit, s);
		if (n == -1)
			fail_msg("follow_read: %s", store_error(st));
		assert_int_equal((size_t)n, s->count - before);
		assert_true((size_t)n <= max);
		assert_int_equal(f->position, s->prev);
		pages++;
		if ((size_t)n < max)
			return pages;
	}
}

/* ---- one case: start, then read ---- */

struct follow_case {
	const char *log;	/* the events, written first */
	const char *prune;	/* then pruned: "stream:keep ..." */
	const char *follow;	/* the streams followed */
	int64_t start;
	bool from_now;
	size_t open;		/* f.open after follow_start */
	int64_t gap;		/* gap_first */
	const char *ids;	/* then read, in id order */
	size_t open_after;	/* f.open after those */
	const char *more;	/* events written afterwards */
	const char *more_ids;	/* and the next read */
};

static void
run_case(const struct follow_case *c)
{
	struct log lg;
	struct names nm;
	struct follow f;
	struct sink s;
	int64_t gap = -1;

	log_open(&lg, c->log, c->prune ? c->prune : "");
	split_names(&nm, c->follow);
	follow_init(&f, nm.v, nm.n, c->start);
	assert_int_equal(f.open, nm.n);
	assert_int_equal(f.position, c->start);

	/* follow_start and the first read from one snapshot */
	if (store_read_begin(lg.r) == -1 ||
	    follow_start(&f, lg.r, c->from_now, &gap) == -1)
		fail_msg("follow_start: %s", store_error(lg.r));
	if (c->from_now)
		assert_int_equal(f.position, lg.last);
	else if (c->start > lg.last)
		assert_int_equal(f.position, 0);	/* an older log */
	else
		assert_int_equal(f.position, c->start);
	assert_int_equal(f.asked, c->from_now ? lg.last : c->start);
	if (f.open != c->open || gap != c->gap)
		fail_msg("log \"%s\" pruned \"%s\", following \"%s\" from "
		    "%lld%s: want open %zu gap %lld, got open %zu gap %lld",
		    c->log, c->prune ? c->prune : "", c->follow,
		    (long long)c->start, c->from_now ? " (now)" : "", c->open,
		    (long long)c->gap, f.open, (long long)gap);
	sink_init(&s, &f);
	read_all(&f, lg.r, 1000, &s);
	store_read_end(lg.r);
	if (strcmp(s.ids, c->ids) != 0)
		fail_msg("log \"%s\" pruned \"%s\", following \"%s\" from "
		    "%lld: want \"%s\", got \"%s\"", c->log,
		    c->prune ? c->prune : "", c->follow, (long long)c->start,
		    c->ids, s.ids);
	assert_int_equal(f.open, c->open_after);

	if (c->more != NULL) {
		log_write(&lg, c->more);
		sink_init(&s, &f);
		read_all(&f, lg.r, 1000, &s);
		assert_string_equal(s.ids, c->more_ids);
	}
	log_close(&lg);
}

static void
run_table(const struct follow_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_case(&cases[i]);
}

/* ---- start positions ---- */

/* Reading starts after the start position: from 0 everything of the
 * followed streams, from the middle what follows, from the end nothing;
 * from beyond the end (the log was replaced by an older copy), a gap
 * naming the log's first id and everything from there; from_now starts at the log's last id whatever the position,
 * and then gets exactly what is appended; a stream never written to is
 * followed like any other. */
static void
test_start(void **state)
{
	static const struct follow_case cases[] = {
		{ "a b a b c a", 0, "a b", 0, false, 2, 0, "1 2 3 4 6", 2,
		  "b c a", "7 9" },
		{ "a b a b c a", 0, "a b", 3, false, 2, 0, "4 6", 2, 0, 0 },
		{ "a b a b c a", 0, "a b", 5, false, 2, 0, "6", 2, 0, 0 },
		{ "a b a b c a", 0, "a b", 6, false, 2, 0, "", 2, "a", "7" },
		/* past the log's end: an older copy of the log was put in
		 * place; the gap names its first id, and it is read from its
		 * start */
		{ "a b a b c a", 0, "a b", 100, false, 2, 1, "1 2 3 4 6", 2,
		  "a", "7" },
		{ "a b a b c a", "a:1 b:1", "a b", 100, false, 2, 4, "4 6", 2,
		  0, 0 },
		{ "", 0, "a", 5, false, 1, 1, "", 1, "a", "1" },
		{ "a b a b c a", 0, "a b", 0, true, 2, 0, "", 2, "c b a",
		  "8 9" },
		{ "a b a b c a", 0, "a b", 2, true, 2, 0, "", 2, "a", "7" },
		{ "a b a b c a", 0, "c", 0, false, 1, 0, "5", 1, 0, 0 },
		{ "a b a b c a", 0, "b a c", 0, false, 3, 0, "1 2 3 4 5 6", 3,
		  0, 0 },
		{ "a b a b c a", 0, "z", 0, false, 1, 0, "", 1, "z", "7" },
		{ "a b a b c a", 0, "a z", 4, false, 2, 0, "6", 2, "z z",
		  "7 8" },
		{ "", 0, "a", 0, false, 1, 0, "", 1, "a", "1" },
		{ "", 0, "a", 0, true, 1, 0, "", 1, "b a", "2" },
		{ "a", 0, "a", 0, true, 1, 0, "", 1, "a a!", "2 3" },
		{ "x/1 x x/2 x", 0, "x", 0, false, 1, 0, "2 4", 1, 0, 0 },
		{ "x/1 x x/2 x", 0, "x/1 x/2", 0, false, 2, 0, "1 3", 2, 0, 0 },
	};
	(void)state;

	run_table(cases, NELEM(cases));
}

/* ---- the end of streams ---- */

/* open counts the streams whose close event is after the start: 0 (the
 * responder's 204) exactly when every followed stream closed at or before
 * the start, not when only some did; a close event after the start is
 * read like any event and counted down. */
static void
test_closed(void **state)
{
	static const struct follow_case cases[] = {
		{ "a a!", 0, "a", 2, false, 0, 0, "", 0, 0, 0 },
		{ "a a!", 0, "a", 9, false, 1, 1, "1 2", 0, 0, 0 },
		{ "a a!", 0, "a", 1, false, 1, 0, "2", 0, 0, 0 },
		{ "a a!", 0, "a", 0, false, 1, 0, "1 2", 0, 0, 0 },
		{ "a a!", 0, "a", 0, true, 0, 0, "", 0, 0, 0 },
		{ "a!", 0, "a", 0, false, 1, 0, "1", 0, 0, 0 },
		{ "a!", 0, "a", 1, false, 0, 0, "", 0, 0, 0 },
		{ "a! b", 0, "a b", 1, false, 1, 0, "2", 1, "b", "3" },
		{ "a! b", 0, "a b", 5, false, 2, 1, "1 2", 1, 0, 0 },
		{ "a! b", 0, "a b", 0, true, 1, 0, "", 1, "b!", "3" },
		{ "a! b!", 0, "a b", 2, false, 0, 0, "", 0, 0, 0 },
		{ "a! b!", 0, "a b", 1, false, 1, 0, "2", 0, 0, 0 },
		{ "a! b!", 0, "a b", 0, false, 2, 0, "1 2", 0, 0, 0 },
		{ "a! b!", 0, "a b", 0, true, 0, 0, "", 0, 0, 0 },
		{ "a! b!", 0, "a", 1, false, 0, 0, "", 0, 0, 0 },
		{ "a! b!", 0, "b", 1, false, 1, 0, "2", 0, 0, 0 },
		{ "a b a! b!", 0, "a b", 3, false, 1, 0, "4", 0, 0, 0 },
		{ "a b a! b!", 0, "a b", 4, false, 0, 0, "", 0, 0, 0 },
		{ "a b a! b!", 0, "a b", 2, false, 2, 0, "3 4", 0, 0, 0 },
		{ "a!", 0, "a z", 1, false, 1, 0, "", 1, "z!", "2" },
		{ "a! b! c", 0, "a b c", 2, false, 1, 0, "3", 1, 0, 0 },
		/* a close event kept by pruning still ends the stream */
		{ "a a a a!", "a:0", "a", 4, false, 0, 0, "", 0, 0, 0 },
		{ "a a a a!", "a:0", "a", 3, false, 1, 0, "4", 0, 0, 0 },
	};
	(void)state;

	run_table(cases, NELEM(cases));
}

/* ---- pruned history ---- */

/* After pruning, gap_first is the highest id pruned from the followed
 * streams, plus one, when the start is below that id (some event after the
 * start is gone), and 0 when the start is at or past it, when nothing was
 * pruned, when from_now, and when nothing more will come (204); every
 * event from gap_first on is still read.
 * The log: a1 a2 a3 b4 b5 a6 b7; keeping 1 prunes a up to 3, b up to 5. */
static void
test_gap(void **state)
{
#define LOG "a a a b b a b"
#define PRUNE "a:1 b:1"
	static const struct follow_case cases[] = {
		{ LOG, PRUNE, "a", 0, false, 1, 4, "6", 1, 0, 0 },
		{ LOG, PRUNE, "a", 2, false, 1, 4, "6", 1, 0, 0 },
		{ LOG, PRUNE, "a", 3, false, 1, 0, "6", 1, 0, 0 },
		{ LOG, PRUNE, "a", 4, false, 1, 0, "6", 1, 0, 0 },
		{ LOG, PRUNE, "a", 6, false, 1, 0, "", 1, 0, 0 },
		{ LOG, PRUNE, "a", 0, true, 1, 0, "", 1, 0, 0 },
		{ LOG, PRUNE, "b", 0, false, 1, 6, "7", 1, 0, 0 },
		{ LOG, PRUNE, "b", 4, false, 1, 6, "7", 1, 0, 0 },
		{ LOG, PRUNE, "b", 5, false, 1, 0, "7", 1, 0, 0 },
		{ LOG, PRUNE, "a b", 0, false, 2, 6, "6 7", 2, 0, 0 },
		{ LOG, PRUNE, "a b", 3, false, 2, 6, "6 7", 2, 0, 0 },
		{ LOG, PRUNE, "a b", 4, false, 2, 6, "6 7", 2, 0, 0 },
		{ LOG, PRUNE, "b a", 4, false, 2, 6, "6 7", 2, 0, 0 },
		{ LOG, PRUNE, "a b", 5, false, 2, 0, "6 7", 2, 0, 0 },
		{ LOG, PRUNE, "a b", 0, true, 2, 0, "", 2, 0, 0 },
		{ LOG, PRUNE, "c", 0, false, 1, 0, "", 1, 0, 0 },
		{ LOG, "a:1", "a b", 0, false, 2, 4, "4 5 6 7", 2, 0, 0 },
		{ LOG, "a:1", "b", 0, false, 1, 0, "4 5 7", 1, 0, 0 },
		{ LOG, "", "a b", 0, false, 2, 0, "1 2 3 4 5 6 7", 2, 0, 0 },
		{ LOG, "a:10", "a", 0, false, 1, 0, "1 2 3 6", 1, 0, 0 },
		/* the newest events pruned: the ids go on regardless */
		{ "a a a", "a:0", "a", 0, false, 1, 4, "", 1, "a", "4" },
		{ "a a a", "a:0", "a", 2, false, 1, 4, "", 1, "a", "4" },
		{ "a a a", "a:0", "a", 3, false, 1, 0, "", 1, "a", "4" },
		{ "a a a", "a:0", "a", 0, true, 1, 0, "", 1, "a", "4" },
		/* a closed stream: its close event stays */
		{ "a a a!", "a:0", "a", 0, false, 1, 3, "3", 0, 0, 0 },
		{ "a a a!", "a:0", "a", 1, false, 1, 3, "3", 0, 0, 0 },
		{ "a a a!", "a:0", "a", 2, false, 1, 0, "3", 0, 0, 0 },
		{ "a a a!", "a:0", "a", 3, false, 0, 0, "", 0, 0, 0 },
		{ "a a! b b", "a:0 b:1", "a b", 0, false, 2, 4, "2 4", 1, 0,
		  0 },
		{ "a a! b b", "a:0 b:1", "a b", 2, false, 1, 4, "4", 1, 0, 0 },
		{ "a a! b b", "a:0 b:1", "a b", 3, false, 1, 0, "4", 1, 0, 0 },
		/* pruning is per stream: older events of a stream that was
		 * not pruned still come, before gap_first */
		{ "a b b a", "b:0", "a b", 0, false, 2, 4, "1 4", 2, 0, 0 },
	};
#undef LOG
#undef PRUNE
	(void)state;

	run_table(cases, NELEM(cases));
}

/* ---- pages ---- */

/* Reading in pages of 1, 2, 7 or 1000 events gives the same events as
 * one read, in id order, with no duplicate or gap across pages, also when
 * events are appended between pages (they come after, in order) and from
 * a start in the middle; only the last page is short. The log: 120 events
 * over four streams, of which three are followed. */
static void
test_pages(void **state)
{
	static const struct {
		size_t max;
		int64_t start;
		bool append_between;
	} cases[] = {
		{ 1, 0, false },
		{ 2, 0, false },
		{ 7, 0, false },
		{ 1000, 0, false },
		{ 1, 57, false },
		{ 2, 58, false },
		{ 1000, 57, false },
		{ 1, 0, true },
		{ 2, 0, true },
		{ 7, 33, true },
		{ 1000, 0, true },
		{ 3, 120, true },
	};
	static const char *const stream_of[] = { "a", "b", "c", "d" };
	static const char *const followed[] = { "a", "c", "d" };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct log lg;
		struct follow f;
		struct sink s;
		char want[8192] = "";
		size_t wlen = 0;
		int64_t gap;
		uint32_t x = 7;
		size_t pages = 0;

		log_open(&lg, "", "");
		for (int k = 0; k < 120; k++) {
			/* an uneven mix, with runs of one stream */
			x = x * 1664525u + 1013904223u;
			const char *name = stream_of[(x >> 16) % 4];
			log_write(&lg, name);
			if (strcmp(name, "b") != 0 && lg.last > cases[i].start)
				wlen += (size_t)snprintf(want + wlen,
				    sizeof want - wlen, "%s%lld",
				    wlen ? " " : "", (long long)lg.last);
		}
		follow_init(&f, followed, NELEM(followed), cases[i].start);
		assert_int_equal(follow_start(&f, lg.r, false, &gap), 0);
		assert_int_equal(gap, 0);
		sink_init(&s, &f);
		for (;;) {
			size_t before = s.count;
			long n = follow_read(&f, lg.r, cases[i].max, emit, &s);
			assert_true(n >= 0 && (size_t)n <= cases[i].max);
			assert_int_equal((size_t)n, s.count - before);
			pages++;
			if (cases[i].append_between && pages <= 3) {
				/* b is not followed: only the others count */
				log_write(&lg, "a b c");
				wlen += (size_t)snprintf(want + wlen,
				    sizeof want - wlen, "%s%lld %lld",
				    wlen ? " " : "", (long long)lg.last - 2,
				    (long long)lg.last);
				continue;
			}
			if ((size_t)n < cases[i].max)
				break;
		}
		assert_string_equal(s.ids, want);
		/* the end stays the end */
		assert_int_equal(follow_read(&f, lg.r, cases[i].max, emit, &s),
		    0);
		log_close(&lg);
	}
}

/* When emit refuses an event, follow_read returns -1 and the position
 * stays on the last event emit took, so the next read starts with the
 * refused one: nothing is lost or sent twice. */
static void
test_emit_refused(void **state)
{
	static const struct {
		size_t refuse_at;	/* 1-based */
		size_t max;
		int64_t position;	/* after the refusal */
	} cases[] = {
		{ 1, 1000, 0 },
		{ 2, 1000, 1 },
		{ 3, 1000, 2 },
		{ 4, 1000, 4 },
		{ 1, 1, 0 },
		{ 2, 2, 1 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct log lg;
		struct follow f;
		struct sink s;
		static const char *const ab[] = { "a", "b" };
		int64_t gap;

		/* a b c a b a: a and b are followed */
		log_open(&lg, "a b c a b a", "");
		follow_init(&f, ab, 2, 0);
		assert_int_equal(follow_start(&f, lg.r, false, &gap), 0);
		sink_init(&s, &f);
		s.refuse_at = cases[i].refuse_at;
		assert_int_equal(follow_read(&f, lg.r, cases[i].max, emit, &s),
		    -1);
		assert_int_equal(f.position, cases[i].position);
		read_all(&f, lg.r, 1000, &s);
		assert_string_equal(s.ids, "1 2 4 5 6");
		log_close(&lg);
	}
}

/* open counts down with each close event read, one page at a time, to
 * 0 when the last followed stream closes; nothing comes after. */
static void
test_open_countdown(void **state)
{
	static const struct {
		const char *log;
		const char *follow;
		const char *open;	/* open after each event read */
	} cases[] = {
		{ "a b a! b c! b!", "a b c", "3 3 2 2 1 0" },
		{ "a! b! c!", "a b c", "2 1 0" },
		{ "c! b! a!", "a b c", "2 1 0" },
		{ "a b a!", "a b", "2 2 1" },
		{ "x a! x b!", "a b", "1 0" },
		{ "a!", "a", "0" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct log lg;
		struct names nm;
		struct follow f;
		struct sink s;
		char got[64] = "";
		size_t len = 0;
		int64_t gap;

		log_open(&lg, cases[i].log, "");
		split_names(&nm, cases[i].follow);
		follow_init(&f, nm.v, nm.n, 0);
		assert_int_equal(follow_start(&f, lg.r, false, &gap), 0);
		assert_int_equal(f.open, nm.n);
		sink_init(&s, &f);
		while (follow_read(&f, lg.r, 1, emit, &s) == 1)
			len += (size_t)snprintf(got + len, sizeof got - len,
			    "%s%zu", len ? " " : "", f.open);
		assert_string_equal(got, cases[i].open);
		assert_int_equal(follow_read(&f, lg.r, 1000, emit, &s), 0);
		log_close(&lg);
	}
}

/* ---- events sent by other means ---- */

/* follow_note moves the position to the event's id and counts down open
 * for a close event only (the type exactly sselog.close), never below 0;
 * follow_is_close agrees. */
static void
test_note(void **state)
{
	static const struct {
		int64_t id;
		const char *type;
		size_t open_before;
		size_t open_after;
	} cases[] = {
		{ 10, NULL, 2, 2 },
		{ 11, "build", 2, 2 },
		{ 12, CLOSE, 2, 1 },
		{ 13, CLOSE, 1, 0 },
		{ 14, CLOSE, 0, 0 },
		{ 15, "sselog.closed", 2, 2 },
		{ 16, "sselog.clos", 2, 2 },
		{ 17, "SSELOG.CLOSE", 2, 2 },
		{ 18, "sselog.gap", 2, 2 },
		{ 19, "", 2, 2 },
		{ INT64_MAX, CLOSE, 3, 2 },
	};
	static const char *const three[] = { "a", "b", "c" };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct follow f;
		struct store_event ev = {
			.id = cases[i].id,
			.stream = "a",
			.type = cases[i].type,
			.data = "x",
			.data_len = 1,
			.retry = -1,
			.created = 0,
		};

		follow_init(&f, three, 3, 5);
		f.open = cases[i].open_before;
		assert_int_equal(follow_is_close(&ev),
		    cases[i].type != NULL &&
		    strcmp(cases[i].type, CLOSE) == 0);
		follow_note(&f, &ev);
		assert_int_equal(f.position, cases[i].id);
		assert_int_equal(f.open, cases[i].open_after);
		assert_ptr_equal(f.streams, three);
		assert_int_equal(f.n, 3);
	}
}

/* A live hand-out (follow_note) and then a backlog read (follow_read)
 * join without a gap or duplicate: the read starts after the last event
 * noted. */
static void
test_note_then_read(void **state)
{
	static const struct {
		int64_t noted;		/* the last id handed out live */
		const char *ids;
	} cases[] = {
		{ 0, "1 2 4 5 6" },
		{ 2, "4 5 6" },
		{ 3, "4 5 6" },
		{ 5, "6" },
		{ 6, "" },
	};
	static const char *const ab[] = { "a", "b" };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct log lg;
		struct follow f;
		struct sink s;
		int64_t gap;

		log_open(&lg, "a b c a b a", "");
		follow_init(&f, ab, 2, 0);
		assert_int_equal(follow_start(&f, lg.r, false, &gap), 0);
		if (cases[i].noted > 0) {
			struct store_event ev = { cases[i].noted, "a", NULL,
			    "x", 1, -1, 0 };
			follow_note(&f, &ev);
		}
		sink_init(&s, &f);
		read_all(&f, lg.r, 2, &s);
		assert_string_equal(s.ids, cases[i].ids);
		log_close(&lg);
	}
}

/* follow_encode appends a stored event as the wire format has it: id,
 * type and retry when set, the data a data: line per line; after what
 * the buffer held. */
static void
test_encode(void **state)
{
	static const struct {
		struct store_event ev;
		const char *want;
	} cases[] = {
		{ { .id = 1, .stream = "a", .data = "x", .data_len = 1,
		    .retry = -1 }, "id: 1\ndata: x\n\n" },
		{ { .id = 42, .stream = "a", .type = "greet", .data = "a\r\nb",
		    .data_len = 4, .retry = 3000 },
		  "id: 42\nevent: greet\nretry: 3000\ndata: a\ndata: b\n\n" },
		{ { .id = 7, .stream = "a", .type = "sselog.close", .data = "",
		    .data_len = 0, .retry = -1 },
		  "id: 7\nevent: sselog.close\ndata: {\"stream\":\"a\"}\n\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		size_t len = strlen(cases[i].want);

		assert_int_equal(buf_append_str(&out, "before"), 0);
		assert_int_equal(follow_encode(&out, &cases[i].ev), 0);
		assert_int_equal(out.len, 6 + len);
		assert_memory_equal(out.data, "before", 6);
		assert_memory_equal(out.data + 6, cases[i].want, len);
		buf_free(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_closed),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_emit_refused),
		cmocka_unit_test(test_open_countdown),
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_note_then_read),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests(tests, templog_setup, templog_teardown);
}
