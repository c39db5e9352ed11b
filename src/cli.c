/* sselog: the command-line helper. One function per subcommand; each
 * returns the process's exit status: 0 on success, 1 on a runtime error
 * (including input the log refuses), 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "follow.h"
#include "log.h"
#include "number.h"
#include "pattern.h"
#include "sse.h"
#include "store.h"
#include "token.h"
#include "validate.h"
#include "logfile.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* pipe: a batch is committed once input has been idle this long, or once
 * its first line is this old, so a line is visible within ~25 ms even
 * when input trickles, while a fast producer gets large transactions. */
#define PIPE_IDLE_MS 2
#define PIPE_BATCH_MS 20
#define PIPE_LINE_MAX (64 * 1024 * 1024)
/* watch: how often to look at the log when inotify said nothing. */
#define WATCH_POLL_MS 250

struct command {
	const char *name;
	const char *args;
	const char *help;
};

static const struct command *current;
static volatile sig_atomic_t stop_signal;

static const char global_usage[] =
    "usage: sselog [-d DB] COMMAND [ARGS]\n"
    "\n"
    "Write to and read from an sselog event log (SQLite).\n"
    "\n"
    "Commands:\n"
    "  init                                      create or upgrade the log\n"
    "  publish STREAM [-e TYPE] [-r RETRY_MS] [--key KEY] [DATA|-]\n"
    "                                            append one event, print its id\n"
    "  pipe STREAM [-e TYPE] [--strict]          append one event per input line\n"
    "  close STREAM                              end a stream for good\n"
    "  prune [--keep N] [--older-than DURATION] [--forget-closed DURATION]\n"
    "        [STREAM...]                         delete old events and streams\n"
    "  forget STREAM...                          erase streams, as if never used\n"
    "  vacuum                                    rewrite the log into less space\n"
    "  watch [--since ID] STREAM...              print the text/event-stream\n"
    "  streams                                   list the streams\n"
    "  token --key FILE --alg ALG [--sub NAME] [--subscribe PATTERN]...\n"
    "        [--publish PATTERN]... [--ttl DURATION] [--audience A]\n"
    "        [--issuer I]                        print a signed access token\n"
    "\n"
    "Options:\n"
    "  -d, --db PATH   the log (default: $SSELOG_DB)\n"
    "  -h, --help      this help; 'sselog COMMAND --help' for a command's\n"
    "  --version       print the version\n";

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line: what is wrong, then how the command is used. */
static int
usage_error(const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (current != NULL)
		log_error("%s; usage: sselog [-d DB] %s%s%s", what,
		    current->name, current->args[0] ? " " : "", current->args);
	else
		log_error("%s; usage: sselog [-d DB] COMMAND [ARGS] "
		    "(see sselog --help)", what);
	return EXIT_USAGE;
}

static int
print_command_help(void)
{
	printf("usage: sselog [-d DB] %s%s%s\n\n%s", current->name,
	    current->args[0] ? " " : "", current->args, current->help);
	return 0;
}

/* Options every subcommand takes too, so that -d may also follow it. */
enum { OPT_HELP = 'h', OPT_DB = 'd' };

static struct store *
open_store(const char *db, enum store_mode mode)
{
	char err[512];
	struct store *st = store_open(db, mode, err, sizeof err);

	if (st == NULL)
		log_error("%s", err);
	return st;
}

static int
check_stream(const char *name)
{
	const char *why = validate_stream(name);

	if (why != NULL) {
		log_error("%s: %s", name, why);
		return -1;
	}
	return 0;
}

static int
check_type(const char *type)
{
	const char *why = type != NULL ? validate_event_type(type) : NULL;

	if (why != NULL) {
		log_error("%s", why);
		return -1;
	}
	return 0;
}

/* Reads all of fd into out, byte for byte. */
static int
read_all(int fd, struct buf *out)
{
	for (;;) {
		if (buf_reserve(out, 65536) == -1) {
			log_error("standard input: out of memory");
			return -1;
		}
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_error("standard input: %s", strerror(errno));
			return -1;
		}
		out->len += (size_t)n;
	}
}

/* ---- init ---- */

/* Runs a command that takes no arguments, fn, on the log opened in
 * mode; fn's -1 is a failure that store_error() says. */
static int
run_without_args(const char *db, int argc, enum store_mode mode,
    int (*fn)(struct store *st, const char *db))
{
	if (argc > 0)
		return usage_error("%s takes no arguments", current->name);
	struct store *st = open_store(db, mode);
	if (st == NULL)
		return EXIT_RUNTIME;
	int rc = fn(st, db);
	if (rc == -1)
		log_error("%s", store_error(st));
	store_close(st);
	return rc == -1 ? EXIT_RUNTIME : 0;
}

static int
init_log(struct store *st, const char *db)
{
	(void)db;
	return store_init(st);
}

static int
cmd_init(const char *db, int argc)
{
	return run_without_args(db, argc, STORE_CREATE, init_log);
}

/* ---- publish and close ---- */

static int
append_one(const char *db, const struct store_new_event *ev)
{
	struct store *st = open_store(db, STORE_WRITE);
	int64_t id;
	int rc;

	if (st == NULL)
		return EXIT_RUNTIME;
	if ((rc = store_publish(st, ev, &id, NULL)) == -1)
		log_error("%s: %s", ev->stream, store_error(st));
	store_close(st);
	if (rc == -1)
		return EXIT_RUNTIME;
	printf("%" PRId64 "\n", id);
	return fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
}

struct publish_args {
	const char *type;
	int64_t retry;
	const char *idem;	/* --key */
};

static int
cmd_publish(const char *db, int argc, char **argv, const struct publish_args *a)
{
	struct buf data = BUF_INIT;
	int status;

	if (argc < 1)
		return usage_error("missing STREAM");
	if (argc > 2)
		return usage_error("too many arguments: quote DATA as one "
		    "argument");
	if (check_stream(argv[0]) == -1 || check_type(a->type) == -1)
		return EXIT_RUNTIME;
	const char *why = a->idem != NULL ? validate_idem_key(a->idem) : NULL;
	if (why != NULL) {
		log_error("--key %s: %s", a->idem, why);
		return EXIT_RUNTIME;
	}
	if (argc == 2 && strcmp(argv[1], "-") != 0) {
		if (buf_append_str(&data, argv[1]) == -1) {
			log_error("out of memory");
			return EXIT_RUNTIME;
		}
	} else if (read_all(STDIN_FILENO, &data) == -1) {
		buf_free(&data);
		return EXIT_RUNTIME;
	}
	why = validate_data(data.len ? data.data : "", data.len);
	if (why != NULL) {
		log_error("%s", why);
		buf_free(&data);
		return EXIT_RUNTIME;
	}
	struct store_new_event ev = {
		.stream = argv[0],
		.type = a->type,
		.data = data.len ? data.data : "",
		.data_len = data.len,
		.retry = a->retry,
		.idem = a->idem,
	};
	status = append_one(db, &ev);
	buf_free(&data);
	return status;
}

static int
cmd_close(const char *db, int argc, char **argv)
{
	if (argc != 1)
		return usage_error(argc ? "too many arguments" :
		    "missing STREAM");
	if (check_stream(argv[0]) == -1)
		return EXIT_RUNTIME;
	struct store_new_event ev = {
		.stream = argv[0], .type = "sselog.close",
		.data = "", .data_len = 0, .retry = -1,
	};
	return append_one(db, &ev);
}

/* ---- pipe ---- */

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* Catches SIGINT and SIGTERM without SA_RESTART, so that a blocking read
 * returns EINTR and the command can finish what it was doing. */
static void
catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Ends the process the way the stop signal would have, now that the work
 * is saved. */
static void
die_of_stop_signal(void)
{
	if (stop_signal != 0) {
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
}

struct pipe_state {
	struct store *st;
	const char *stream;
	const char *type;
	bool strict;		/* refuse lines that are not UTF-8 */
	char **repaired;	/* lines made UTF-8, owned, until appended */
	size_t nrepaired, repaired_cap;
	struct store_new_event *lines;	/* complete lines not yet appended */
	size_t nlines, cap;
	bool in_batch;
	int64_t batch_started;
	uint64_t line_no;
};

/* Appends the lines collected so far; they point into the input buffer,
 * so this runs before the buffer is reused. */
static int
pipe_flush(struct pipe_state *ps)
{
	if (ps->nlines == 0)
		return 0;
	if (!ps->in_batch) {
		if (store_begin(ps->st) == -1)
			goto fail;
		ps->in_batch = true;
		ps->batch_started = monotonic_ms();
	}
	size_t n = ps->nlines;
	ps->nlines = 0;
	int rc = store_append_batch(ps->st, ps->lines, n);
	for (size_t i = 0; i < ps->nrepaired; i++)
		free(ps->repaired[i]);
	ps->nrepaired = 0;
	if (rc == 0)
		return 0;
	store_rollback(ps->st);
	ps->in_batch = false;
fail:
	log_error("%s: %s", ps->stream, store_error(ps->st));
	return -1;
}

/* Makes room for one more element in the array items of *cap elements
 * of size bytes, n of them in use, doubling it when full. Returns the
 * array, moved or not, or NULL when memory runs out (said; items is then
 * left as it was). */
static void *
make_room(void *items, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return items;
	size_t grown_cap = *cap ? *cap * 2 : 64;
	void *grown = realloc(items, grown_cap * size);
	if (grown == NULL) {
		log_error("out of memory");
		return NULL;
	}
	*cap = grown_cap;
	return grown;
}

static int
pipe_line(struct pipe_state *ps, const char *line, size_t len)
{
	ps->line_no++;
	if (len > 0 && line[len - 1] == '\r')
		len--;		/* CRLF input: the CR ends the line too */
	const char *why = validate_data(line, len);
	if (why != NULL && ps->strict) {
		log_error("line %" PRIu64 ": %s; nothing from this line on "
		    "was written", ps->line_no, why);
		return -1;
	}
	if (why != NULL) {
		/* Log text from programs that do not care about encodings (a
		 * Latin-1 file name, a test's binary junk): keep the line,
		 * with U+FFFD for what is not UTF-8. */
		char **repaired = make_room(ps->repaired, &ps->repaired_cap,
		    ps->nrepaired, sizeof *repaired);
		if (repaired == NULL)
			return -1;
		ps->repaired = repaired;
		char *fixed = utf8_repair(line, len, &len);
		if (fixed == NULL) {
			log_error("out of memory");
			return -1;
		}
		ps->repaired[ps->nrepaired++] = fixed;
		line = fixed;
	}
	struct store_new_event *lines = make_room(ps->lines, &ps->cap,
	    ps->nlines, sizeof *lines);
	if (lines == NULL)
		return -1;
	ps->lines = lines;
	ps->lines[ps->nlines++] = (struct store_new_event){
		.stream = ps->stream, .type = ps->type,
		.data = len ? line : "", .data_len = len, .retry = -1,
	};
	return 0;
}

static int
pipe_commit(struct pipe_state *ps)
{
	if (!ps->in_batch)
		return 0;
	ps->in_batch = false;
	if (store_commit(ps->st) == -1) {
		log_error("%s: %s", ps->stream, store_error(ps->st));
		return -1;
	}
	return 0;
}

/* Commits when the batch is old enough or input has gone quiet. */
static int
pipe_maybe_commit(struct pipe_state *ps, int fd)
{
	if (!ps->in_batch)
		return 0;
	int64_t left = ps->batch_started + PIPE_BATCH_MS - monotonic_ms();
	if (left > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int wait = left < PIPE_IDLE_MS ? (int)left : PIPE_IDLE_MS;
		if (poll(&pfd, 1, wait) > 0)
			return 0;	/* more input: keep batching */
	}
	return pipe_commit(ps);
}

static int
pipe_stream(struct pipe_state *ps, int fd)
{
	struct buf in = BUF_INIT;
	size_t start = 0;	/* first byte of the current line in `in` */
	int status = EXIT_RUNTIME;
	sigset_t stops, unblocked;

	/* The stop signals get through only while ppoll() waits for input:
	 * one that came while a batch was being written would otherwise be
	 * noticed only after the next read(), which may block for good. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &unblocked);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);
	for (;;) {
		if (stop_signal != 0)
			break;
		if (in.cap - in.len < 65536) {
			buf_consume(&in, start);
			start = 0;
			if (buf_reserve(&in, 65536) == -1) {
				log_error("out of memory");
				goto out;
			}
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (ppoll(&pfd, 1, NULL, &unblocked) == -1) {
			if (errno == EINTR)
				continue;
			log_error("standard input: %s", strerror(errno));
			goto out;
		}
		ssize_t n = read(fd, in.data + in.len, in.cap - in.len);
		if (n == -1 && errno == EINTR && stop_signal == 0)
			continue;
		if (n == -1 && errno != EINTR) {
			log_error("standard input: %s", strerror(errno));
			goto out;
		}
		if (n <= 0) {
			/* End of input, or a stop signal: a last line without
			 * a newline is still a line. */
			if (n == 0 && in.len > start &&
			    pipe_line(ps, in.data + start, in.len - start) == -1)
				goto out;
			break;
		}
		size_t scan = in.len;
		in.len += (size_t)n;
		for (;;) {
			char *nl = memchr(in.data + scan, '\n', in.len - scan);
			if (nl == NULL)
				break;
			size_t end = (size_t)(nl - in.data);
			if (pipe_line(ps, in.data + start, end - start) == -1)
				goto out;
			start = scan = end + 1;
		}
		if (in.len - start > PIPE_LINE_MAX) {
			log_error("line %" PRIu64 ": longer than %d bytes",
			    ps->line_no + 1, PIPE_LINE_MAX);
			goto out;
		}
		if (pipe_flush(ps) == -1 || pipe_maybe_commit(ps, fd) == -1)
			goto out;
	}
	status = 0;
out:
	/* Lines before a bad one were read and checked: keep them. */
	if (pipe_flush(ps) == -1 || pipe_commit(ps) == -1)
		status = EXIT_RUNTIME;
	sigprocmask(SIG_SETMASK, &unblocked, NULL);
	buf_free(&in);
	return status;
}

/* Reads standard input to its end: a program writing into `sselog pipe`
 * must never die of SIGPIPE because pipe stopped. */
static void
pipe_drain(int fd)
{
	char discard[65536];
	ssize_t n;

	while (stop_signal == 0 &&
	    ((n = read(fd, discard, sizeof discard)) > 0 ||
	    (n == -1 && errno == EINTR)))
		;
}

static int
cmd_pipe(const char *db, int argc, char **argv, const char *type,
    bool strict)
{
	if (argc != 1)
		return usage_error(argc ? "too many arguments" :
		    "missing STREAM");
	catch_stop_signals();
	if (check_stream(argv[0]) == -1 || check_type(type) == -1) {
		pipe_drain(STDIN_FILENO);
		return EXIT_RUNTIME;
	}
	if (type != NULL && strcmp(type, "sselog.close") == 0) {
		log_error("pipe cannot append sselog.close events: use "
		    "'sselog close STREAM' once the input is done");
		pipe_drain(STDIN_FILENO);
		return EXIT_RUNTIME;
	}
	struct pipe_state ps = { .stream = argv[0], .type = type,
	    .strict = strict };
	if ((ps.st = open_store(db, STORE_WRITE)) == NULL) {
		pipe_drain(STDIN_FILENO);
		return EXIT_RUNTIME;
	}
	int status = pipe_stream(&ps, STDIN_FILENO);
	store_close(ps.st);
	free(ps.lines);
	free(ps.repaired);
	if (status != 0)
		pipe_drain(STDIN_FILENO);
	if (status == 0)
		die_of_stop_signal();
	return status;
}

/* ---- prune, forget, vacuum ---- */

/* Free space, inside the log's file, above which prune and forget say
 * that `sselog vacuum` would give it back: a log created before
 * auto_vacuum keeps it. */
#define FREE_NOTE_BYTES (1024 * 1024)

/* Says what store_shrink() or store_vacuum() returned that is worth
 * knowing; neither is a failure of the command, whose work is done. */
static void
say_shrunk(struct store *st, const char *db, int rc, int64_t free_bytes)
{
	if (rc == 1)
		log_warn("%s: the -wal file keeps its size until a later "
		    "checkpoint: a reader still reads an older snapshot", db);
	else if (rc == -1)
		log_warn("%s", store_error(st));
	if (free_bytes >= FREE_NOTE_BYTES)
		log_warn("%s: %.1f MB of the file are free space that it "
		    "keeps, as a log created before auto_vacuum does: "
		    "'sselog vacuum' gives it back (see man sselog)", db,
		    (double)free_bytes / 1e6);
}

/* Gives back the space of what was just deleted. */
static void
shrink(struct store *st, const char *db)
{
	int64_t free_bytes;
	int rc = store_shrink(st, &free_bytes);

	say_shrunk(st, db, rc, free_bytes);
}

static int
check_streams(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (check_stream(argv[i]) == -1)
			return -1;
	return 0;
}

/* What prune and forget share: the names checked, the log opened, the
 * deletion (forget the named streams, or prune by rule), the space given
 * back. Returns 0 or an exit status. */
static int
delete_and_shrink(const char *db, int argc, char **argv,
    const struct store_prune_rule *rule, int64_t *deleted,
    int64_t *forgotten)
{
	const char *const *streams = (const char *const *)argv;

	if (check_streams(argc, argv) == -1)
		return EXIT_RUNTIME;
	struct store *st = open_store(db, STORE_WRITE);
	if (st == NULL)
		return EXIT_RUNTIME;
	int rc = rule == NULL ?
	    store_forget(st, streams, (size_t)argc, forgotten, deleted) :
	    store_prune_forget(st, streams, (size_t)argc, rule, deleted,
	    forgotten);
	if (rc == -1)
		log_error("%s", store_error(st));
	else
		shrink(st, db);
	store_close(st);
	return rc == -1 ? EXIT_RUNTIME : 0;
}

static int
cmd_prune(const char *db, int argc, char **argv,
    const struct store_prune_rule *rule)
{
	int64_t deleted, forgotten;
	int status;

	if (rule->keep < 0 && rule->older_than_ms < 0 &&
	    rule->forget_closed_ms < 0)
		return usage_error("say what to delete: --keep N, "
		    "--older-than DURATION, --forget-closed DURATION, or "
		    "several");
	if ((status = delete_and_shrink(db, argc, argv, rule, &deleted,
	    &forgotten)) != 0)
		return status;
	printf("pruned %" PRId64 " event%s", deleted, deleted == 1 ? "" : "s");
	if (rule->forget_closed_ms >= 0)
		printf("; forgot %" PRId64 " stream%s", forgotten,
		    forgotten == 1 ? "" : "s");
	putchar('\n');
	return fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
}

static int
cmd_forget(const char *db, int argc, char **argv)
{
	int64_t deleted, forgotten;
	int status;

	if (argc < 1)
		return usage_error("missing STREAM");
	if ((status = delete_and_shrink(db, argc, argv, NULL, &deleted,
	    &forgotten)) != 0)
		return status;
	printf("forgot %" PRId64 " stream%s (%" PRId64 " event%s)\n",
	    forgotten, forgotten == 1 ? "" : "s", deleted,
	    deleted == 1 ? "" : "s");
	return fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
}

static int
vacuum_log(struct store *st, const char *db)
{
	int rc = store_vacuum(st);

	if (rc != -1)
		say_shrunk(st, db, rc, 0);
	return rc;
}

static int
cmd_vacuum(const char *db, int argc)
{
	return run_without_args(db, argc, STORE_WRITE, vacuum_log);
}

/* ---- watch ---- */

/* Events are read a page at a time, and the read ends (COMMIT) before the
 * page is written out: a snapshot held while standard output blocks
 * (`sselog watch ... | less`) would keep every writer's checkpoint from
 * going past it, and the -wal file would grow without bound. A page ends
 * before the first event that would start past this much output; one
 * event always fits. */
#define WATCH_PAGE_BYTES 65536

struct watcher {
	struct follow f;
	struct buf out;
	bool page_full;		/* emit_event() stopped the read there */
	bool out_of_memory;	/* emit_event() failed and said why */
};

static int
write_out(struct buf *out)
{
	if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len) {
		log_error("standard output: %s", strerror(errno));
		return -1;
	}
	buf_clear(out);
	if (fflush(stdout) != 0) {
		log_error("standard output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Refusing an event ends follow_read() before it, which does not note it:
 * the next page starts with it. */
static int
emit_event(void *ctx, const struct store_event *ev)
{
	struct watcher *w = ctx;

	if (w->out.len >= WATCH_PAGE_BYTES) {
		w->page_full = true;
		return -1;
	}
	if (follow_encode(&w->out, ev) == -1) {
		log_error("out of memory");
		w->out_of_memory = true;
		return -1;
	}
	return 0;
}

/* Reads the events after the position into w->out, up to a page.
 * Returns 1 when the page is full (more may follow), 0 at the end of the
 * log, -1 on failure (said). */
static int
read_page(struct store *st, struct watcher *w)
{
	w->page_full = false;
	if (follow_read(&w->f, st, SIZE_MAX, emit_event, w) != -1)
		return 0;
	if (w->page_full)
		return 1;
	if (!w->out_of_memory)
		log_error("%s", store_error(st));
	return -1;
}

/* Sends every event after the position, a page per read transaction;
 * stops at the end of the log or on a stop signal. */
static int
watch_read(struct store *st, struct watcher *w)
{
	int more;

	do {
		if ((more = read_page(st, w)) == -1 ||
		    write_out(&w->out) == -1)
			return -1;
	} while (more == 1 && stop_signal == 0);
	return 0;
}

/* The start, in one snapshot: which streams are already over, whether
 * history after the start was pruned, and the first page. */
static int
watch_start(struct store *st, struct watcher *w, bool from_now)
{
	int64_t gap_first;
	int more = -1;

	if (store_read_begin(st) == -1 ||
	    follow_start(&w->f, st, from_now, &gap_first) == -1) {
		log_error("%s", store_error(st));
		goto out;
	}
	if (w->f.open == 0) {
		more = 0;	/* the responder answers 204 here */
		goto out;
	}
	if (gap_first > 0 &&
	    sse_encode_gap(&w->out, w->f.asked, gap_first) == -1) {
		log_error("out of memory");
		goto out;
	}
	more = read_page(st, w);
out:
	store_read_end(st);
	if (more == -1 || write_out(&w->out) == -1)
		return -1;
	return more == 1 && stop_signal == 0 ? watch_read(st, w) : 0;
}

static int
watch_live(struct store *st, struct watcher *w, const char *db)
{
	char err[256];
	struct logfile *changes = NULL;
	int64_t version, seen;
	int status = EXIT_RUNTIME;
	/* PostgreSQL notifies on the connection; an SQLite file is watched
	 * from outside. */
	uint64_t generation;
	int notify_fd = store_change_fd(st, &generation);

	if (notify_fd == -1 && store_error(st)[0] != '\0') {
		log_error("%s", store_error(st));
		return EXIT_RUNTIME;
	}
	if (notify_fd == -1 && (changes = logfile_open(db, WATCH_POLL_MS, err,
	    sizeof err)) == NULL) {
		log_error("%s", err);
		return EXIT_RUNTIME;
	}
	/* Appends after the start snapshot change data_version; read once
	 * more after taking it, in case they came before. */
	if (store_data_version(st, &seen) == -1) {
		log_error("%s", store_error(st));
		goto out;
	}
	if (watch_read(st, w) == -1)
		goto out;
	while (w->f.open > 0 && stop_signal == 0) {
		struct pollfd pfd = { .fd = changes ? logfile_fd(changes) :
		    notify_fd, .events = POLLIN };
		int64_t us = changes ? logfile_next_check_us(changes) :
		    WATCH_POLL_MS * 1000LL;
		struct timespec ts = { us / 1000000, us % 1000000 * 1000 };
		int ready = ppoll(&pfd, 1, &ts, NULL);
		if (ready == -1 && errno != EINTR) {
			log_error("ppoll: %s", strerror(errno));
			goto out;
		}
		if (ready > 0 && changes && logfile_drain(changes) == -1) {
			log_error("inotify: %s", strerror(errno));
			goto out;
		}
		if (store_data_version(st, &version) == -1) {
			log_error("%s", store_error(st));
			goto out;
		}
		if (version == seen)
			continue;
		seen = version;
		if (watch_read(st, w) == -1)
			goto out;
	}
	status = 0;
out:
	logfile_close(changes);
	return status;
}

static int
cmd_watch(const char *db, int argc, char **argv, bool since_given,
    int64_t since)
{
	struct watcher w = { .out = BUF_INIT };
	const char **streams;
	struct store *st = NULL;
	size_t n = 0;
	int status = EXIT_RUNTIME;

	if (argc < 1)
		return usage_error("missing STREAM");
	if ((streams = calloc((size_t)argc, sizeof *streams)) == NULL) {
		log_error("out of memory");
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < argc; i++) {
		if (check_stream(argv[i]) == -1)
			goto out;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen = seen || strcmp(streams[k], argv[i]) == 0;
		if (!seen)
			streams[n++] = argv[i];
	}
	follow_init(&w.f, streams, n, since_given ? since : 0);
	if ((st = open_store(db, STORE_READ)) == NULL)
		goto out;
	catch_stop_signals();
	if (watch_start(st, &w, !since_given) == -1)
		goto out;
	status = w.f.open == 0 ? 0 : watch_live(st, &w, db);
out:
	store_close(st);
	buf_free(&w.out);
	free(streams);
	return status;
}

/* ---- streams ---- */

static int
print_stream(void *ctx, const struct store_stream_summary *s)
{
	(void)ctx;
	printf("%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\n", s->name,
	    s->events, s->first_id, s->last_id, s->closed ? "closed" : "open");
	return 0;
}

static int
cmd_streams(const char *db, int argc, char **argv)
{
	(void)argv;
	if (argc > 0)
		return usage_error("streams takes no arguments");
	struct store *st = open_store(db, STORE_READ);
	if (st == NULL)
		return EXIT_RUNTIME;
	int rc = store_list_streams(st, print_stream, NULL);
	if (rc == -1)
		log_error("%s", store_error(st));
	store_close(st);
	if (rc == -1)
		return EXIT_RUNTIME;
	return fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
}

/* ---- option parsing and dispatch ---- */

enum {
	OPT_KEEP = 256,
	OPT_OLDER_THAN,
	OPT_FORGET_CLOSED,
	OPT_SINCE,
	OPT_STRICT,
	OPT_VERSION,
	OPT_KEY,
	OPT_ALG,
	OPT_SUB,
	OPT_SUBSCRIBE,
	OPT_PUBLISH,
	OPT_TTL,
	OPT_AUDIENCE,
	OPT_ISSUER,
};

static const struct option long_options[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "type", required_argument, NULL, 'e' },
	{ "retry", required_argument, NULL, 'r' },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
	{ "forget-closed", required_argument, NULL, OPT_FORGET_CLOSED },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "sub", required_argument, NULL, OPT_SUB },
	{ "subscribe", required_argument, NULL, OPT_SUBSCRIBE },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "audience", required_argument, NULL, OPT_AUDIENCE },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ NULL, 0, NULL, 0 },
};

/* The option that getopt_long() just refused, as the user wrote it:
 * argv[optind - 1] is the option only for a long one; for a short one it
 * may be the previous argument or the option's value. */
static const char *
refused_option(char **argv, int opt, int longindex, const char *shorts,
    char *buf, size_t len)
{
	if (opt == '?') {
		/* Unknown short option: optopt. Long option: optopt is 0 or
		 * the option's value, and the option is the argument just
		 * read. */
		if (optopt <= 0 || optopt > 127 || strchr(shorts, optopt))
			return argv[optind - 1];
		snprintf(buf, len, "-%c", optopt);
	} else if (longindex >= 0) {
		snprintf(buf, len, "--%s", long_options[longindex].name);
	} else {
		snprintf(buf, len, "-%c", opt);
	}
	return buf;
}

/* The options a subcommand takes besides -d and -h. */
struct sub_options {
	const char *type;	/* -e */
	int64_t retry;		/* -r, -1 when not given */
	int64_t keep;		/* --keep, -1 when not given */
	int64_t older_than_ms;	/* --older-than, -1 when not given */
	int64_t forget_closed_ms;	/* --forget-closed, -1 when not given */
	int64_t since;		/* --since */
	bool since_given;
	bool strict;		/* --strict */
	const char *key;	/* --key */
	bool help;
	struct token_mint token;	/* token's options; the pattern
					 * arrays hold argc pointers into argv */
	const char **subscribe, **publish;
	int64_t ttl_ms;
};

static bool
allowed(const char *name, int opt)
{
	static const struct {
		const char *command;
		int opt;
	} table[] = {
		{ "publish", 'e' }, { "publish", 'r' }, { "publish", OPT_KEY },
		{ "pipe", 'e' },
		{ "prune", OPT_KEEP }, { "prune", OPT_OLDER_THAN },
		{ "prune", OPT_FORGET_CLOSED },
		{ "watch", OPT_SINCE }, { "pipe", OPT_STRICT },
		{ "token", OPT_KEY }, { "token", OPT_ALG }, { "token", OPT_SUB },
		{ "token", OPT_SUBSCRIBE }, { "token", OPT_PUBLISH },
		{ "token", OPT_TTL }, { "token", OPT_AUDIENCE },
		{ "token", OPT_ISSUER },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].opt == opt && strcmp(table[i].command, name) == 0)
			return true;
	return false;
}

/* Parses a subcommand's options (argv[0] is its name). Returns -1 to go on,
 * or an exit status. Leaves optind on the first operand. */
static int
parse_sub_options(int argc, char **argv, const char **db,
    struct sub_options *o)
{
	static const char shorts[] = ":d:he:r:";
	char name[64];
	int opt, longindex;
	const char *why;

	optind = 0;	/* GNU getopt: start over, permuting operands */
	opterr = 0;
	/* longindex is set only for a long option: reset it each time. */
	while ((longindex = -1, opt = getopt_long(argc, argv, shorts,
	    long_options, &longindex)) != -1) {
		if (opt == OPT_DB) {
			*db = optarg;
			continue;
		}
		if (opt == OPT_HELP) {
			o->help = true;
			continue;
		}
		if (opt == ':')
			return usage_error("option %s needs a value",
			    argv[optind - 1]);
		if (opt == '?' || !allowed(current->name, opt))
			return usage_error("unknown option %s", refused_option(
			    argv, opt, longindex, shorts, name, sizeof name));
		switch (opt) {
		case 'e':
			o->type = optarg;
			break;
		case 'r':
			if ((why = parse_uint(optarg, INT32_MAX, &o->retry)))
				return usage_error("-r %s: %s", optarg, why);
			break;
		case OPT_KEEP:
			if ((why = parse_uint(optarg, INT64_MAX, &o->keep)))
				return usage_error("--keep %s: %s", optarg,
				    why);
			break;
		case OPT_OLDER_THAN:
			if ((why = parse_duration_ms(optarg,
			    &o->older_than_ms)))
				return usage_error("--older-than %s: %s",
				    optarg, why);
			break;
		case OPT_FORGET_CLOSED:
			if ((why = parse_age_ms(optarg, &o->forget_closed_ms)))
				return usage_error("--forget-closed %s: %s",
				    optarg, why);
			break;
		case OPT_SINCE:
			if ((why = parse_event_id(optarg, &o->since)))
				return usage_error("--since %s: %s", optarg,
				    why);
			o->since_given = true;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case OPT_KEY:
			/* token: the key file; publish: the idempotency
			 * key. */
			o->key = optarg;
			o->token.key_file = optarg;
			break;
		case OPT_ALG:
			o->token.alg = optarg;
			break;
		case OPT_SUB:
			o->token.sub = optarg;
			break;
		case OPT_SUBSCRIBE:
		case OPT_PUBLISH:
			if ((why = pattern_validate(optarg)))
				return usage_error("--%s %s: %s",
				    long_options[longindex].name, optarg, why);
			if (opt == OPT_SUBSCRIBE)
				o->subscribe[o->token.n_subscribe++] = optarg;
			else
				o->publish[o->token.n_publish++] = optarg;
			break;
		case OPT_TTL:
			if ((why = parse_duration_ms(optarg, &o->ttl_ms)))
				return usage_error("--ttl %s: %s", optarg, why);
			break;
		case OPT_AUDIENCE:
			o->token.audience = optarg;
			break;
		case OPT_ISSUER:
			o->token.issuer = optarg;
			break;
		}
	}
	return -1;
}

static const struct command commands[] = {
	{ "init", "",
	    "Creates the event log at DB, or upgrades an older one to this\n"
	    "version's schema. Running it again changes nothing.\n" },
	{ "publish", "STREAM [-e TYPE] [-r RETRY_MS] [--key KEY] [DATA|-]",
	    "Appends one event to STREAM and prints its id. DATA is taken\n"
	    "verbatim; with - or without DATA, all of standard input is the\n"
	    "data, a trailing newline included. Use -- before DATA that\n"
	    "starts with a dash.\n"
	    "\n"
	    "  -e, --type TYPE      the event type (EventSource listener name)\n"
	    "  -r, --retry MS       ask clients to reconnect after MS ms\n"
	    "  --key KEY            an idempotency key (1-128 visible ASCII\n"
	    "                       characters): when STREAM has an event with\n"
	    "                       KEY already, append nothing and print its\n"
	    "                       id, so that a retry never publishes twice\n" },
	{ "pipe", "STREAM [-e TYPE] [--strict]",
	    "Appends one event per line of standard input (without its LF or\n"
	    "CRLF), in batches: a line is visible to readers within about\n"
	    "25 ms of being read. Bytes that are not UTF-8, and NUL, become\n"
	    "U+FFFD. When it stops on an error, it still reads its input to\n"
	    "the end, so that the program writing into it is not killed.\n"
	    "\n"
	    "  -e, --type TYPE      the event type of every line\n"
	    "  --strict             stop at the first line that is not valid\n"
	    "                       UTF-8, keeping the lines before it\n" },
	{ "close", "STREAM",
	    "Appends the sselog.close event to STREAM and prints its id.\n"
	    "Clients receive it, then the response ends; reconnecting clients\n"
	    "get 204 No Content. Nothing can be appended to STREAM after it.\n" },
	{ "prune", "[--keep N] [--older-than DURATION] [--forget-closed DURATION]"
	    " [STREAM...]",
	    "Deletes events of the STREAMs (of all streams when none is named)\n"
	    "that meet every condition given, and records per stream the\n"
	    "highest id deleted, so that a client asking for them is told\n"
	    "(the sselog.gap event). A stream's close event is kept, unless\n"
	    "the stream is forgotten whole. Then gives the space back and\n"
	    "truncates the -wal file.\n"
	    "\n"
	    "  --keep N                keep the newest N events of each stream\n"
	    "  --older-than DURATION   delete only events older than DURATION:\n"
	    "                          90s, 30m, 12h, 7d, 2w\n"
	    "  --forget-closed DURATION\n"
	    "                          forget (as 'sselog forget') the streams\n"
	    "                          closed at least DURATION ago; 0: every\n"
	    "                          closed stream\n" },
	{ "forget", "STREAM...",
	    "Erases each STREAM, open or closed: its every event and the\n"
	    "record of what was pruned from it, so that the name is as if\n"
	    "never used and can be written to again (a re-run of a job).\n"
	    "New events get new ids; ids are never reused. A name with\n"
	    "nothing to forget is not an error. Then gives the space back\n"
	    "and truncates the -wal file.\n" },
	{ "vacuum", "",
	    "Rewrites the whole log into the least space and makes it give\n"
	    "the space of what prune and forget delete back from then on\n"
	    "(auto_vacuum), as a log made by 'sselog init' does already;\n"
	    "for logs created before. Needs free disk about twice the log's\n"
	    "size; writers wait until it is done; readers go on.\n" },
	{ "watch", "[--since ID] STREAM...",
	    "Prints the text/event-stream that the responder sends a client\n"
	    "of the STREAMs (without heartbeat comments), following new\n"
	    "events until every stream is closed or until interrupted.\n"
	    "\n"
	    "  --since ID   start after event ID (0: from the beginning);\n"
	    "               without it, only events appended from now on\n" },
	{ "streams", "",
	    "Lists the streams, one per line, tab-separated: name, number of\n"
	    "events, first id, last id, open or closed.\n" },
	{ "token", "--key FILE --alg ALG [--sub NAME] [--subscribe PATTERN]..."
	    " [--publish PATTERN]... [--ttl DURATION] [--audience A]"
	    " [--issuer I]",
	    "Prints a JSON Web Token signed with the key in FILE, which\n"
	    "sselog-fcgi --jwt-key verifies: for scripts, tests and CI jobs.\n"
	    "Needs no log.\n"
	    "\n"
	    "  --key FILE            an HMAC secret (HS256, HS384, HS512; one\n"
	    "                        trailing newline is not part of it) or a\n"
	    "                        PEM private key (RS256..., ES256...)\n"
	    "  --alg ALG             HS256, HS384, HS512, RS256, RS384, RS512,\n"
	    "                        ES256, ES384 or ES512\n"
	    "  --sub NAME            the principal ({user} in patterns)\n"
	    "  --subscribe PATTERN   may read the streams PATTERN matches\n"
	    "  --publish PATTERN     may publish to them\n"
	    "                        (PATTERN: * one segment, ** the rest,\n"
	    "                        {user} the sub)\n"
	    "  --ttl DURATION        valid for DURATION (default 1h)\n"
	    "  --audience A, --issuer I   the aud and iss claims\n" },
};

/* ---- token ---- */

static int
cmd_token(int argc, struct sub_options *o)
{
	char err[512];

	if (argc > 0)
		return usage_error("token takes no arguments");
	if (o->token.key_file == NULL || o->token.alg == NULL)
		return usage_error("token needs --key FILE and --alg ALG");
	o->token.subscribe = o->subscribe;
	o->token.publish = o->publish;
	o->token.now = (int64_t)time(NULL);
	o->token.ttl = o->ttl_ms / 1000;
	char *token = token_mint(&o->token, err, sizeof err);
	if (token == NULL) {
		log_error("%s", err);
		return EXIT_RUNTIME;
	}
	int rc = printf("%s\n", token) < 0 || fflush(stdout) != 0;
	free(token);
	return rc ? EXIT_RUNTIME : 0;
}

static int
run(const struct command *cmd, const char *db, int argc, char **argv)
{
	struct sub_options o = { .retry = -1, .keep = -1, .older_than_ms = -1,
	    .forget_closed_ms = -1, .ttl_ms = 3600 * 1000 };
	int status;

	current = cmd;
	/* Room for every pattern the arguments could name. */
	o.subscribe = calloc((size_t)argc, sizeof *o.subscribe);
	o.publish = calloc((size_t)argc, sizeof *o.publish);
	if (o.subscribe == NULL || o.publish == NULL) {
		log_error("out of memory");
		status = EXIT_RUNTIME;
	} else if ((status = parse_sub_options(argc, argv, &db, &o)) == -1) {
		if (o.help)
			status = print_command_help();
		else if (strcmp(cmd->name, "token") == 0)
			status = cmd_token(argc - optind, &o);
	}
	free(o.subscribe);
	free(o.publish);
	if (status != -1 || o.help || strcmp(cmd->name, "token") == 0)
		return status;
	if (db == NULL || db[0] == '\0')
		return usage_error("no database: use -d PATH or set SSELOG_DB");
	argc -= optind;
	argv += optind;
	if (strcmp(cmd->name, "init") == 0)
		return cmd_init(db, argc);
	if (strcmp(cmd->name, "publish") == 0) {
		struct publish_args a = { .type = o.type, .retry = o.retry,
		    .idem = o.key };
		return cmd_publish(db, argc, argv, &a);
	}
	if (strcmp(cmd->name, "pipe") == 0)
		return cmd_pipe(db, argc, argv, o.type, o.strict);
	if (strcmp(cmd->name, "close") == 0)
		return cmd_close(db, argc, argv);
	if (strcmp(cmd->name, "prune") == 0) {
		struct store_prune_rule rule = { .keep = o.keep,
		    .older_than_ms = o.older_than_ms,
		    .forget_closed_ms = o.forget_closed_ms };
		return cmd_prune(db, argc, argv, &rule);
	}
	if (strcmp(cmd->name, "forget") == 0)
		return cmd_forget(db, argc, argv);
	if (strcmp(cmd->name, "vacuum") == 0)
		return cmd_vacuum(db, argc);
	if (strcmp(cmd->name, "watch") == 0)
		return cmd_watch(db, argc, argv, o.since_given, o.since);
	return cmd_streams(db, argc, argv);
}

int
main(int argc, char **argv)
{
	static const char shorts[] = "+:d:h";
	const char *db = getenv("SSELOG_DB");
	char name[64];
	int opt, longindex;

	log_init("sselog");
	/* "+": stop at the subcommand; its options are its own. */
	opterr = 0;
	/* longindex is set only for a long option: reset it each time. */
	while ((longindex = -1, opt = getopt_long(argc, argv, shorts,
	    long_options, &longindex)) != -1) {
		switch (opt) {
		case OPT_DB:
			db = optarg;
			break;
		case OPT_HELP:
			fputs(global_usage, stdout);
			return 0;
		case OPT_VERSION:
			puts(PACKAGE_STRING);
			return 0;
		case ':':
			return usage_error("option %s needs a value",
			    argv[optind - 1]);
		default:
			return usage_error("unknown option %s", refused_option(
			    argv, opt, longindex, shorts, name, sizeof name));
		}
	}
	if (optind >= argc)
		return usage_error("missing COMMAND");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, argv[optind]) == 0)
			return run(&commands[i], db, argc - optind,
			    argv + optind);
	return usage_error("unknown command '%s'", argv[optind]);
}
