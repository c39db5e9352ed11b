#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "follow.h"
#include "handout.h"
#include "hub.h"
#include "log.h"
#include "logfile.h"
#include "loop.h"
#include "metrics.h"
#include "publish.h"
#include "sse.h"
#include "store.h"

/* The most one replay page queues for a client (never more than
 * --max-pending): small enough that a turn of the loop with several
 * clients replaying stays short for the live ones, large enough that a
 * page is one write of a socket's buffer. */
#define REPLAY_PAGE_BYTES (64 * 1024)
/* An open stream whose token expires, or whose grant a reload took away,
 * ends with a retry: of about this much: the client comes back at once
 * with whatever credentials it has by then. */
#define REAUTH_RETRY_MS 1000
/* How long a stopping server waits for its streams to end cleanly. */
#define DRAIN_MS 3000
/* Once the writes in progress are cut (--stop-timeout), how long their
 * answers have to be written and taken before the process exits. */
#define CUT_ANSWER_MS 1000
#define TICK_MS 1000
/* At start, before any client: how long to wait for a locked log. */
#define OPEN_TRIES 100
#define OPEN_PAUSE_NS 50000000
/* Retries of a locked log: the first after this, doubling up to the
 * last. */
#define RETRY_FIRST_US 2000
#define RETRY_MAX_US 250000
/* The longest one turn of the loop reads backlogs for (at least one page
 * is read): the live hand-out waits for at most this and one page. With 5
 * clients replaying 200,000 events, a live subscriber's p99 went from 3.7
 * to 1.9 times its p99 alone (bench/fairness.sh). */
#define WORK_BUDGET_US 1000
/* Say the log is locked once it stays so this long. */
#define BUSY_COMPLAIN_MS 1000
/* A request that the locked log kept from starting this long gets the
 * transient answer. */
#define START_WAIT_MS 10000

struct server {
	struct server_config cfg;
	struct loop *loop;
	struct store *store;
	struct store *writer;	/* --publish: the handle that appends */
	struct publisher publisher;	/* what writes need (publish.h) */
	struct logfile *logfile;	/* an SQLite file, watched from outside */
	struct loop_io logfile_io;
	/* PostgreSQL: the reading connection, which LISTENs for the log's
	 * notifications (store_change_fd()); a new connection, after one was
	 * lost, has another socket. */
	struct loop_io notify_io;
	bool notify_watched;
	uint64_t notify_generation;	/* of the connection in the loop */
	struct loop_timer poll_timer;
	struct loop_timer tick_timer;
	struct hub *hub;
	struct clients clients;
	struct handout handout;
	bool stopping;
	bool once;		/* CGI: stop when the one client is done */
	int64_t drain_deadline;	/* streams still open then are cut off */
	int64_t stop_deadline;	/* writes still in progress then are cut */
	int64_t exit_deadline;	/* once they are: the answers' last moment */
	bool streams_cut;
	bool writes_cut;
	bool hurry;		/* stopped twice: no more waiting */
	bool store_failing;	/* say so once, and once when it recovers */
	bool log_missing;	/* the file is gone or unreadable */
	int64_t busy_since_ms;	/* the log is locked since; 0: it is not */
	int64_t retry_us;	/* the wait before the next try, when locked */
	int64_t retry_at_us;	/* no read of the log before then */
	bool busy_said;
	size_t (*in_flight)(void);	/* connections on their way, or NULL */
	uint64_t served;	/* requests answered */
	struct metrics *metrics;	/* never NULL */
	bool own_metrics;	/* made here (cfg.metrics was NULL) */
	uint64_t queries_seen;	/* SQL statements already counted */
	uint64_t random;	/* xorshift state: spreads retry: values */
	struct buf scratch;
};

/* ---- answers ---- */

static int64_t
random_between(struct server *srv, int64_t lo, int64_t hi)
{
	uint64_t x = srv->random;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	srv->random = x;
	return lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
}

/* Sends the last of a response, which the scratch buffer holds (built:
 * -1 when memory ran out building it), and ends the response. A request
 * whose body is still coming keeps the answer until the body's end
 * (client_answer()). */
static void
send_last(struct server *srv, struct client *c, int built)
{
	client_answer(c, &srv->scratch, built);
}

/* Answers with a status and a one-line body, then ends. */
static void
answer_status(struct server *srv, struct client *c, int status,
    const char *message, int retry_after_s)
{
	buf_clear(&srv->scratch);
	client_status(c, status);
	send_last(srv, c, response_status(&srv->scratch, status,
	    c->allow_origin, message, retry_after_s));
}

/* The event stream's headers and its first comment: Apache holds the
 * headers back until the body has a byte, and EventSource fires "open"
 * only on the headers. Returns 0, or -1 (the client is dropped). */
static int
send_stream_head(struct server *srv, struct client *c)
{
	struct buf *s = &srv->scratch;

	buf_clear(s);
	client_status(c, 200);
	if (response_stream(s, c->allow_origin) == -1 ||
	    (!c->head_only && buf_append_str(s, ":\n") == -1)) {
		log_error("out of memory answering a request");
		client_drop(c);
		return -1;
	}
	return client_send(c, s->data, s->len);
}

/* Ends an open stream with a retry: between lo and hi ms, so that its
 * client reconnects then, with its Last-Event-ID, and clients that end
 * together do not all come back in the same moment. */
static void
end_with_retry(struct server *srv, struct client *c, const char *why,
    int64_t lo_ms, int64_t hi_ms)
{
	struct buf *s = &srv->scratch;

	buf_clear(s);
	send_last(srv, c, sse_encode_comment(s, why) == -1 ||
	    buf_printf(s, "retry: %" PRId64 "\n\n", random_between(srv,
	    lo_ms, hi_ms)) == -1 ? -1 : 0);
}

/* Trouble that will pass (capacity, draining, the log missing or locked).
 * An EventSource gives up for good on any status but 200, so it gets 200,
 * a comment saying why and a spread retry:, then the end: it comes back
 * by itself. Other clients get status with Retry-After. */
static void
answer_transient(struct server *srv, struct client *c, int status,
    const char *why, int64_t lo_ms, int64_t hi_ms)
{
	if (!c->wants_stream || c->head_only) {
		answer_status(srv, c, status, why, (int)((lo_ms + 999) / 1000));
		return;
	}
	if (send_stream_head(srv, c) == 0)
		end_with_retry(srv, c, why, lo_ms, hi_ms);
}

/* How widely the reconnects of a draining server's clients spread: with
 * 1,000 clients, over 5 s (about 200 a second). */
static int64_t
drain_spread_ms(const struct server *srv)
{
	int64_t ms = 2000 + (int64_t)srv->clients.n * 5;

	return ms > 30000 ? 30000 : ms;
}

static void
answer_draining(struct server *srv, struct client *c)
{
	answer_transient(srv, c, 503, "the server is restarting: try again",
	    500, 500 + drain_spread_ms(srv));
}

/* ---- the log ---- */

/* Brings the metrics' SQL statements and last id up to date: after each
 * read of the log, and before its handles are replaced (a new handle
 * counts from 0). */
static void
note_log_figures(struct server *srv)
{
	uint64_t now = (srv->store ? store_statements(srv->store) : 0) +
	    (srv->writer ? store_statements(srv->writer) : 0);

	metrics_count(srv->metrics, M_LOG_QUERIES, now >= srv->queries_seen ?
	    now - srv->queries_seen : now);
	srv->queries_seen = now;
	metrics_gauge_set(srv->metrics, G_LAST_ID, srv->handout.pos >
	    srv->handout.high ? srv->handout.pos : srv->handout.high);
}

/* The log was locked: no read before the back-off has passed. */
static void
log_busy(struct server *srv)
{
	int64_t now = loop_now_ms();

	if (srv->busy_since_ms == 0)
		srv->busy_since_ms = now;
	if (!srv->busy_said && now - srv->busy_since_ms >= BUSY_COMPLAIN_MS) {
		log_warn("%s; trying again", store_error(srv->store));
		srv->busy_said = true;
	}
	srv->retry_us = srv->retry_us == 0 ? RETRY_FIRST_US :
	    srv->retry_us * 2 > RETRY_MAX_US ? RETRY_MAX_US : srv->retry_us * 2;
	srv->retry_at_us = loop_now_us() + srv->retry_us;
	loop_next_in_us(&srv->poll_timer, srv->retry_us);
}

static void
log_failed(struct server *srv)
{
	if (!srv->store_failing)
		log_error("%s", store_error(srv->store));
	srv->store_failing = true;
}

/* A read of the log went through. */
static void
log_readable(struct server *srv)
{
	if (srv->busy_said || srv->store_failing)
		log_info("the event log can be read again");
	srv->busy_since_ms = 0;
	srv->busy_said = false;
	srv->retry_us = 0;
	srv->retry_at_us = 0;
	srv->store_failing = false;
}

static bool
log_waiting(const struct server *srv)
{
	return srv->store == NULL ||
	    (srv->retry_at_us != 0 && loop_now_us() < srv->retry_at_us);
}

/* The log's ids went backwards (handout_rewind()): every open stream
 * ends, with a spread retry:, and its client reconnects with a
 * Last-Event-ID past the log's end, which gets sselog.gap and the log
 * from its start. */
static void
end_rewound(struct server *srv)
{
	if (!srv->handout.rewound)
		return;
	srv->handout.rewound = false;
	for (struct client *c = srv->clients.all; c != NULL; c = c->next)
		if (c->state == CLIENT_LIVE || c->state == CLIENT_REPLAYING)
			end_with_retry(srv, c, "the event log was replaced",
			    500, 500 + drain_spread_ms(srv));
}

/* PostgreSQL: whether notifications came while the last read ran (libpq
 * read them with its answer: the socket will not say so again). */
static bool
notified_since(struct server *srv)
{
	int64_t version;

	return srv->logfile == NULL &&
	    store_data_version(srv->store, &version) == 0 &&
	    version != srv->handout.data_version;
}

static void
answer_unreachable(struct server *srv, struct client *c)
{
	/* Waiting for a database out of reach helps nobody: come back
	 * later. */
	answer_transient(srv, c, 503, "the event log cannot be reached: try "
	    "again later", 1000, 5000);
}

static void
poll_log(struct server *srv)
{
	/* A few reads at most: a log appended to without a pause is read
	 * on at the next turn. */
	for (int reads = 0; reads < 4; reads++) {
		if (log_waiting(srv))
			break;
		enum handout_result r = handout_poll(&srv->handout,
		    srv->store);
		if (r == HANDOUT_DONE)
			log_readable(srv);
		else if (r == HANDOUT_BUSY)
			log_busy(srv);
		else
			log_failed(srv);
		/* PostgreSQL out of reach: every try fails and backs off
		 * again, so run_work() never gets a turn to fail the starts
		 * of new requests, which would hang until START_WAIT_MS.
		 * They get this try's answer; the replaying ones keep their
		 * place. */
		if (r == HANDOUT_BUSY && store_down(srv->store))
			for (struct client *c = srv->clients.all; c != NULL;
			    c = c->next)
				if (c->state == CLIENT_STARTING)
					answer_unreachable(srv, c);
		if (r != HANDOUT_DONE || !notified_since(srv))
			break;
	}
	end_rewound(srv);
	clients_flush(&srv->clients);
	note_log_figures(srv);
}

/* The store keeps reading the file it opened, even after the file is
 * removed, replaced or made unreadable: look at the path itself now and
 * then. Gone or unreadable: say so once; new clients get the transient
 * answer, open streams stay, with heartbeats. Replaced (a restore from a
 * backup, say): reopen; if its ids end before those handed out, end the
 * open streams. Back: say so and serve again. */
static void
check_log_file(struct server *srv)
{
	char err[512];
	int why = 0;

	if (srv->logfile == NULL)
		return;		/* not a file: PostgreSQL */
	switch (logfile_check(srv->logfile, &why)) {
	case LOGFILE_MISSING:
		if (!srv->log_missing)
			log_error("%s: %s: new clients are told to come back "
			    "until the event log is back", srv->cfg.db_path,
			    strerror(why));
		srv->log_missing = true;
		return;
	case LOGFILE_REPLACED: {
		/* The old handle goes first. The old file and the new one
		 * share their -wal and -shm files by name, and SQLite's locks
		 * on those are the process's (POSIX): closing the old handle
		 * after opening the new one would drop the new one's locks
		 * too, and the next writer would take the -shm file for
		 * unused and reset it under our mapping. Until a new handle
		 * is open, nothing reads the log (log_waiting()). */
		note_log_figures(srv);
		store_close(srv->store);
		srv->store = NULL;
		store_close(srv->writer);	/* reopened below */
		srv->writer = NULL;
		struct store *st = store_open(srv->cfg.db_path,
		    STORE_READ_NOWAIT, err, sizeof err);
		int64_t last = 0;
		if (st == NULL) {
			if (!srv->log_missing)
				log_error("%s; new clients are told to come "
				    "back until it can be read", err);
			srv->log_missing = true;
			return;
		}
		if (store_last_id(st, &last) == -1) {
			/* Locked, most likely: look again next time. */
			store_close(st);
			return;
		}
		log_info("%s: the event log was replaced: reading the new "
		    "one", srv->cfg.db_path);
		int64_t sent = srv->handout.pos > srv->handout.high ?
		    srv->handout.pos : srv->handout.high;
		if (last < sent) {
			log_warn("%s: the new event log ends at id %" PRId64
			    ", before the %" PRId64 " already handed out: "
			    "ending every open stream", srv->cfg.db_path,
			    last, sent);
			handout_rewind(&srv->handout, last);
			end_rewound(srv);
		}
		srv->store = st;
		srv->handout.data_version = -1;	/* read what it has */
		/* Writes wait for it (write_failed()) meanwhile. */
		if (srv->cfg.request.publish && (srv->writer = store_open(
		    srv->cfg.db_path, STORE_WRITE_NOWAIT, err,
		    sizeof err)) == NULL)
			log_error("%s; writes are answered 503 until it can be "
			    "written", err);
		logfile_remember(srv->logfile);
		break;
	}
	case LOGFILE_SAME:
		break;
	}
	if (srv->log_missing)
		log_info("%s: the event log is back", srv->cfg.db_path);
	srv->log_missing = false;
}

/* ---- starting a subscription ---- */

/* 204 when every stream is over; else the headers, the gap event if
 * history was pruned, and the first page of the backlog, all from one
 * snapshot of the log. */
static enum handout_result
start(struct server *srv, struct client *c)
{
	struct store *st = srv->store;
	struct buf *s = &srv->scratch;
	int64_t gap_first;

	follow_init(&c->follow, (const char *const *)c->streams, c->nstreams,
	    c->start_given ? c->start : 0);
	if (store_read_begin(st) == -1 ||
	    follow_start(&c->follow, st, !c->start_given, &gap_first) == -1) {
		enum handout_result r = store_busy(st) ? HANDOUT_BUSY :
		    HANDOUT_FAILED;
		store_read_end(st);
		return r;
	}
	if (c->follow.open == 0) {
		/* Every stream was closed at or before the start: 204 tells
		 * EventSource to stop reconnecting. */
		store_read_end(st);
		answer_status(srv, c, 204, NULL, -1);
		return HANDOUT_DONE;
	}
	if (send_stream_head(srv, c) == -1 || c->head_only) {
		store_read_end(st);
		client_end_response(c);
		return HANDOUT_DONE;
	}
	buf_clear(s);
	if ((srv->cfg.retry_ms >= 0 && buf_printf(s, "retry: %" PRId64
	    "\n\n", srv->cfg.retry_ms) == -1) ||
	    (gap_first > 0 && sse_encode_gap(s, c->follow.asked,
	    gap_first) == -1)) {
		store_read_end(st);
		log_error("out of memory starting a stream");
		client_drop(c);
		return HANDOUT_DONE;
	}
	if (client_send(c, s->data, s->len) == -1) {
		store_read_end(st);
		return HANDOUT_DONE;
	}
	client_stream_opened(c);
	if (c->start_given)
		metrics_count(srv->metrics, M_REPLAYS, 1);
	if (gap_first > 0)
		metrics_count(srv->metrics, M_GAPS, 1);
	for (size_t i = 0; i < c->nstreams; i++) {
		if (hub_join(srv->hub, c->streams[i], &c->links[i], c, i) ==
		    -1) {
			store_read_end(st);
			log_error("out of memory starting a stream");
			client_drop(c);
			return HANDOUT_DONE;
		}
	}
	c->state = CLIENT_REPLAYING;
	/* From here, run_work() takes a failure or a locked log as the
	 * replay's: the stream ends, or its page is tried again. */
	enum handout_result r = handout_replay(&srv->handout, st, c);
	store_read_end(st);
	return r;
}

/* One step for each client that waits for the log: a start, or the next
 * page of a backlog. Clients queued meanwhile wait for the next turn, so
 * that each replaying client gets one page a turn and the live hand-out
 * comes in between. */
static void
run_work(struct server *srv)
{
	struct clients *cs = &srv->clients;
	struct client *last = cs->work_tail, *c;
	int64_t until = loop_now_us() + WORK_BUDGET_US;

	if (last == NULL || log_waiting(srv))
		return;
	do {
		if ((c = clients_next_work(cs)) == NULL)
			break;
		enum handout_result r;
		if (c->state == CLIENT_STARTING)
			r = start(srv, c);
		else if (c->state == CLIENT_REPLAYING)
			r = handout_replay(&srv->handout, srv->store, c);
		else
			continue;
		if (r == HANDOUT_BUSY && c->state == CLIENT_STARTING &&
		    store_down(srv->store)) {
			answer_unreachable(srv, c);
			log_busy(srv);
			continue;
		}
		if (r == HANDOUT_BUSY) {
			client_requeue_first(c);
			log_busy(srv);
			break;
		}
		log_readable(srv);
		if (r == HANDOUT_FAILED) {
			log_error("%s", store_error(srv->store));
			if (c->state == CLIENT_STARTING)
				answer_status(srv, c, 500, "the event log "
				    "cannot be read; the server's error log "
				    "says why", -1);
			else
				client_end_response(c);
		}
	} while (c != last && loop_now_us() < until);
	/* PostgreSQL: a notification that came while a replay read took
	 * the connection's input is waiting in libpq, not on the socket. */
	if (srv->logfile == NULL)
		poll_log(srv);
	clients_flush(cs);
}

/* ---- requests ---- */

static struct client *
take_connection(struct server *srv, int fd, enum transport transport,
    unsigned request_id)
{
	struct client *c = client_new(&srv->clients, fd, transport,
	    request_id);

	if (c == NULL) {
		log_error("cannot take a connection: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	srv->served++;
	return c;
}

void
server_refuse(struct server *srv, int fd, unsigned request_id,
    enum refusal why)
{
	struct client *c = take_connection(srv, fd, TRANSPORT_FCGI,
	    request_id);

	if (c == NULL)
		return;
	if (why == REFUSE_TOO_LARGE) {
		answer_status(srv, c, 431, "the request's headers are too "
		    "large (over 128 KiB of FastCGI parameters)", -1);
	} else if (outq_unknown_role(&c->out) == -1) {
		client_close(c);
	} else {
		c->state = CLIENT_ENDING;
		client_send(c, "", 0);
	}
	clients_flush(&srv->clients);
}

/* ---- access control (auth.h) ---- */

/* Tokens expire by the wall clock (their exp is Unix time). */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Answers a request that auth refused: 401 without credentials or with a
 * bad token, 403 with credentials that lack the grant. Both end an
 * EventSource for good, which is what a page without the right should
 * do. */
static void
answer_refused(struct server *srv, struct client *c,
    const struct auth_decision *d, enum access_right right)
{
	char message[512];

	buf_clear(&srv->scratch);
	client_status(c, d->verdict == ACCESS_NO_CREDENTIALS ||
	    d->verdict == ACCESS_BAD_TOKEN ? 401 : 403);
	switch (d->verdict) {
	case ACCESS_NO_CREDENTIALS:
		snprintf(message, sizeof message, "%s needs credentials: a "
		    "token (Authorization: Bearer, or the cookie) or a signed-in "
		    "user", d->refused);
		send_last(srv, c, response_unauthorized(&srv->scratch,
		    c->allow_origin, message, false));
		break;
	case ACCESS_BAD_TOKEN:
		snprintf(message, sizeof message, "invalid token: %s", d->why);
		send_last(srv, c, response_unauthorized(&srv->scratch,
		    c->allow_origin, message, true));
		break;
	default:
		snprintf(message, sizeof message, "not allowed to %s %s",
		    right == ACCESS_PUBLISH ? "publish to" : "read",
		    d->refused);
		answer_status(srv, c, 403, message, -1);
		break;
	}
}

/* Judges c's request for its n streams. Returns 0 when it may go on (its
 * credentials and the token's expiry kept in c), else -1: it was
 * answered. */
static int
check_access(struct server *srv, struct client *c,
    const struct request_params *params, const struct request *req,
    enum access_right right)
{
	struct auth_decision d;
	int64_t now_s = wall_ms() / 1000;

	if (credentials_take(srv->cfg.auth, params->remote_user,
	    params->authorization, params->cookie, req->access_token,
	    &c->cred) == -1 ||
	    auth_decide(srv->cfg.auth, &c->cred, right,
	    (const char *const *)req->streams, req->nstreams, now_s, &d) ==
	    -1) {
		log_error("out of memory checking a request's credentials");
		client_drop(c);
		return -1;
	}
	if (d.verdict != ACCESS_ALLOWED) {
		answer_refused(srv, c, &d, right);
		return -1;
	}
	c->expires_ms = d.expires_s * 1000;
	return 0;
}

/* Ends, cleanly, each open stream that the access control no longer
 * allows at now_ms: its token expired, or (after a reload) its grant or
 * key is gone. */
static void
recheck_access(struct server *srv, int64_t now_ms, bool all)
{
	for (struct client *c = srv->clients.all; c != NULL; c = c->next) {
		struct auth_decision d;
		if (c->state != CLIENT_LIVE && c->state != CLIENT_REPLAYING &&
		    c->state != CLIENT_STARTING)
			continue;
		if (!all && (c->expires_ms == 0 || c->expires_ms > now_ms))
			continue;
		if (srv->cfg.auth == NULL) {
			c->expires_ms = 0;	/* access control is off */
			continue;
		}
		if (auth_decide(srv->cfg.auth, &c->cred, ACCESS_READ,
		    (const char *const *)c->streams, c->nstreams,
		    now_ms / 1000, &d) == -1) {
			client_drop(c);
			continue;
		}
		if (d.verdict == ACCESS_ALLOWED) {
			c->expires_ms = d.expires_s * 1000;
			continue;
		}
		if (c->state == CLIENT_STARTING)	/* nothing sent yet */
			answer_refused(srv, c, &d, ACCESS_READ);
		else
			end_with_retry(srv, c, d.verdict == ACCESS_BAD_TOKEN ?
			    d.why : "no longer allowed", REAUTH_RETRY_MS,
			    REAUTH_RETRY_MS * 2);
	}
	clients_flush(&srv->clients);
}

void
server_set_auth(struct server *srv, struct auth *auth)
{
	srv->cfg.auth = auth;
	recheck_access(srv, wall_ms(), true);
}

/* Takes the subscription over from req: the names, a hub link for each,
 * the start. Returns 0, or -1 when memory runs out. */
static int
subscribe(struct client *c, struct request *req)
{
	if ((c->links = calloc(req->nstreams, sizeof *c->links)) == NULL)
		return -1;
	c->streams = req->streams;
	c->nstreams = req->nstreams;
	req->streams = NULL;
	req->nstreams = 0;
	c->start = req->start;
	c->start_given = req->start_given;
	return 0;
}

/* The answer to a request that parsing refused: 405 with the methods
 * allowed, or status with the reason. */
static void
answer_malformed(struct server *srv, struct client *c, int status,
    const char *err)
{
	/* The site's own mistake (a bad SSELOG_STREAMS), not the client's:
	 * say so where the site looks. */
	if (status == 500)
		log_error("%s", err);
	if (status != 405) {
		answer_status(srv, c, status, err, -1);
		return;
	}
	buf_clear(&srv->scratch);
	client_status(c, 405);
	send_last(srv, c, response_not_allowed(&srv->scratch, c->allow_origin,
	    err, srv->cfg.request.publish));
}

/* SSELOG_METRICS=1, which only the web server's config sets on the
 * location it restricts: the totals of every process on the socket,
 * whatever the path (design.md is silent on metrics: README.md,
 * "Metrics"). GET and HEAD; anything else is a 405. */
static void
answer_metrics(struct server *srv, struct client *c, const char *method)
{
	struct buf body = BUF_INIT;
	int built;

	if (method == NULL)
		method = "GET";
	note_log_figures(srv);
	buf_clear(&srv->scratch);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		client_status(c, 405);
		send_last(srv, c, response_metrics_not_allowed(&srv->scratch));
		return;
	}
	client_status(c, 200);
	built = metrics_render(srv->metrics, &body) == -1 ? -1 :
	    response_metrics(&srv->scratch, &body, strcmp(method, "HEAD") ==
	    0);
	buf_free(&body);
	send_last(srv, c, built);
}

static bool
request_writes(const struct request *req)
{
	return req->kind == REQUEST_PUBLISH || req->kind == REQUEST_LINES ||
	    req->kind == REQUEST_CLOSE;
}

void
server_accept(struct server *srv, int fd, enum transport transport,
    unsigned request_id, const struct request_params *params)
{
	char err[256];
	struct request req;
	struct client *c = take_connection(srv, fd, transport, request_id);

	if (c == NULL)
		return;
	if (transport == TRANSPORT_CGI)
		srv->once = true;
	if (params->metrics != NULL && strcmp(params->metrics, "1") == 0) {
		answer_metrics(srv, c, params->method);
		clients_flush(&srv->clients);
		return;
	}
	/* A write is answered with a status, never as a stream. */
	bool writes = request_method_writes(params->method);
	c->wants_stream = !writes && request_wants_stream(params);
	const char *origin = cors_allowed(&srv->cfg.cors, params->origin);
	if (origin != NULL && (c->allow_origin = strdup(origin)) == NULL) {
		log_error("out of memory answering a request");
		client_close(c);
		return;
	}
	/* Its body is read to the end, whatever the answer. */
	if (writes && publish_start(&srv->publisher, c, params) == -1) {
		log_error("out of memory answering a request");
		client_close(c);
		return;
	}
	int status = request_parse(&srv->cfg.request, params, &req, err,
	    sizeof err);
	if (status != 0) {
		answer_malformed(srv, c, status, err);
		if (c->pub != NULL)
			publish_advance(c);
		clients_flush(&srv->clients);
		return;
	}
	c->head_only = req.kind == REQUEST_HEAD;
	/* Credentials are checked once the request is known to be well
	 * formed (a 400 first), before anything of the log is read or
	 * written. */
	if (srv->cfg.auth != NULL && req.kind != REQUEST_PREFLIGHT &&
	    check_access(srv, c, params, &req, request_writes(&req) ?
	    ACCESS_PUBLISH : ACCESS_READ) == -1) {
		/* answered */
	} else if (srv->stopping) {
		answer_draining(srv, c);
	} else if (srv->log_missing) {
		answer_transient(srv, c, 503, "the event log is unavailable: "
		    "try again later", 2000, 10000);
	} else if (srv->clients.n > srv->cfg.max_clients) {
		answer_transient(srv, c, 503, "too many clients: try again "
		    "later", 5000, 15000);
	} else if (req.kind == REQUEST_PREFLIGHT) {
		buf_clear(&srv->scratch);
		client_status(c, 204);
		send_last(srv, c, response_preflight(&srv->scratch,
		    c->allow_origin, srv->cfg.request.publish));
	} else if (request_writes(&req)) {
		publish_accept(c, &req);
	} else if (subscribe(c, &req) == -1) {
		log_error("out of memory starting a stream");
		client_drop(c);
	} else {
		/* Started in this turn's run_work(), with the others. */
		client_queue_work(c);
	}
	request_free(&req);
	if (c->pub != NULL)
		publish_advance(c);
	clients_flush(&srv->clients);
}

/* ---- timers ---- */

static void
on_log_change(struct loop_io *io, uint32_t events)
{
	struct server *srv = container_of(io, struct server, logfile_io);

	(void)events;
	switch (logfile_drain(srv->logfile)) {
	case -1:
		log_error("inotify: %s", strerror(errno));
		break;
	case 1:
		poll_log(srv);
		if (!log_waiting(srv))
			loop_next_in_us(&srv->poll_timer,
			    logfile_next_check_us(srv->logfile));
		break;
	default:
		break;	/* another file in the log's directory */
	}
}

static void on_notification(struct loop_io *io, uint32_t events);

/* PostgreSQL: puts the reading connection's socket in the loop, once
 * per connection. A connection given up took its socket out of the loop
 * when it closed it, and the number may already be another's (a new
 * client's): it is never removed by number. */
static void
watch_connection(struct server *srv)
{
	uint64_t generation;
	int fd;

	if (srv->store == NULL)
		return;
	fd = store_change_fd(srv->store, &generation);
	if (srv->notify_watched && generation == srv->notify_generation)
		return;		/* the same connection, in the loop */
	srv->notify_watched = false;
	if (fd == -1)
		return;		/* out of reach: the poll timer tries again */
	srv->notify_io.fd = fd;
	srv->notify_io.fn = on_notification;
	if (loop_add(srv->loop, &srv->notify_io, EPOLLIN) == -1) {
		log_error("epoll: %s", strerror(errno));
		return;
	}
	srv->notify_watched = true;
	srv->notify_generation = generation;
}

/* PostgreSQL: a notification came, or the connection's end (which
 * poll_log() finds: the connection is given up and its socket closed,
 * so nothing readable is left behind). */
static void
on_notification(struct loop_io *io, uint32_t events)
{
	struct server *srv = container_of(io, struct server, notify_io);

	(void)events;
	if (log_waiting(srv)) {
		/* Read what came, so that the socket is not readable for
		 * ever; the poll timer reads the log after the back-off. */
		int64_t version;
		if (store_data_version(srv->store, &version) == -1)
			srv->notify_watched = false;
		return;
	}
	poll_log(srv);
	watch_connection(srv);
}

static void
on_poll_timer(struct loop_timer *t)
{
	struct server *srv = container_of(t, struct server, poll_timer);

	check_log_file(srv);
	if (srv->logfile == NULL) {
		/* PostgreSQL: read whatever is new, notified or not
		 * (notifications sent while there was no connection are
		 * lost), and watch the connection there is now. */
		srv->handout.data_version = -1;
		poll_log(srv);
		watch_connection(srv);
		if (!log_waiting(srv))
			loop_next_in_us(t, srv->cfg.poll_interval_ms * 1000LL);
		return;
	}
	poll_log(srv);
	if (!log_waiting(srv))
		loop_next_in_us(t, logfile_next_check_us(srv->logfile));
}

/* Heartbeats, write timeouts, lingering connections (clients_tick()), and
 * the requests a locked log kept from starting for too long. */
static void
on_tick(struct loop_timer *t)
{
	struct server *srv = container_of(t, struct server, tick_timer);
	int64_t now = loop_now_ms();

	for (struct client *c = srv->clients.all; c != NULL; c = c->next)
		if (c->state == CLIENT_STARTING &&
		    now - c->starting_since_ms >= START_WAIT_MS)
			answer_transient(srv, c, 503, "the event log is "
			    "locked: try again later", 1000, 5000);
	recheck_access(srv, wall_ms(), false);
	clients_tick(&srv->clients);
	note_log_figures(srv);	/* the writes' statements, replays' */
}

/* ---- the server ---- */

static uint64_t
random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
		seed = (uint64_t)loop_now_us() ^ (uint64_t)getpid() << 32;
	return seed != 0 ? seed : 1;
}

/* Opens the log in mode, into *out; for the reader (pos not NULL), also
 * reads where it ends. No client waits yet, so a locked log is waited for
 * here, for a while. */
static int
open_log(struct server *srv, enum store_mode mode, struct store **out,
    int64_t *pos, char *err, size_t errlen)
{
	for (int try = 1;; try++) {
		struct store *st = store_open(srv->cfg.db_path, mode, err,
		    errlen);
		if (st != NULL && (pos == NULL ||
		    (store_last_id(st, pos) == 0 &&
		    store_data_version(st, &srv->handout.data_version) == 0))) {
			*out = st;
			return 0;
		}
		if (st != NULL) {
			snprintf(err, errlen, "%s", store_error(st));
			bool busy = store_busy(st);
			store_close(st);
			if (!busy || try == OPEN_TRIES)
				return -1;
		} else if ((strstr(err, "locked") == NULL &&
		    strstr(err, "locking protocol") == NULL) ||
		    try == OPEN_TRIES) {
			return -1;
		}
		nanosleep(&(struct timespec){ 0, OPEN_PAUSE_NS }, NULL);
	}
}

struct server *
server_new(const struct server_config *cfg, char *err, size_t errlen)
{
	struct server *srv = calloc(1, sizeof *srv);

	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	srv->scratch = (struct buf)BUF_INIT;
	srv->metrics = cfg->metrics;
	if (srv->metrics == NULL) {
		if ((srv->metrics = metrics_private()) == NULL) {
			snprintf(err, errlen, "out of memory");
			free(srv);
			return NULL;
		}
		srv->own_metrics = true;
	}
	srv->random = random_seed();
	if ((srv->loop = loop_new()) == NULL) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	if ((srv->hub = hub_new()) == NULL) {
		snprintf(err, errlen, "cannot start the hub: %s",
		    strerror(errno));
		goto fail;
	}
	size_t page = cfg->max_pending < REPLAY_PAGE_BYTES ?
	    cfg->max_pending : REPLAY_PAGE_BYTES;
	/* A page tops what is pending up to page bytes: asking for it at
	 * half keeps the connection busy while it is read. */
	clients_init(&srv->clients, srv->loop, srv->hub, cfg->max_pending,
	    page / 2, cfg->write_timeout_s * 1000LL,
	    cfg->heartbeat_s * 1000LL);
	srv->clients.metrics = srv->metrics;
	handout_init(&srv->handout, srv->hub, &srv->clients, page);
	srv->publisher = (struct publisher){ .loop = srv->loop,
	    .clients = &srv->clients, .writer = &srv->writer,
	    .scratch = &srv->scratch, .max_event_size = cfg->max_event_size,
	    .write_timeout_s = cfg->write_timeout_s };
	/* A PostgreSQL log notifies on its connection; a file is watched. */
	if (!store_is_postgresql(cfg->db_path) &&
	    (srv->logfile = logfile_open(cfg->db_path, cfg->poll_interval_ms,
	    err, errlen)) == NULL)
		goto fail;
	if (open_log(srv, STORE_READ_NOWAIT, &srv->store, &srv->handout.pos,
	    err, errlen) == -1)
		goto fail;
	/* Only --publish writes: the responder otherwise only reads. */
	if (cfg->request.publish && open_log(srv, STORE_WRITE_NOWAIT,
	    &srv->writer, NULL, err, errlen) == -1)
		goto fail;
	note_log_figures(srv);
	if (srv->logfile == NULL)
		watch_connection(srv);
	else if (logfile_fd(srv->logfile) != -1) {
		srv->logfile_io.fd = logfile_fd(srv->logfile);
		srv->logfile_io.fn = on_log_change;
		if (loop_add(srv->loop, &srv->logfile_io, EPOLLIN) == -1) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			goto fail;
		}
	}
	srv->poll_timer.interval_ms = cfg->poll_interval_ms;
	srv->poll_timer.fn = on_poll_timer;
	loop_every(srv->loop, &srv->poll_timer);
	srv->tick_timer.interval_ms = cfg->heartbeat_s * 1000 < TICK_MS ?
	    cfg->heartbeat_s * 1000 : TICK_MS;
	srv->tick_timer.fn = on_tick;
	loop_every(srv->loop, &srv->tick_timer);
	return srv;
fail:
	server_free(srv);
	return NULL;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	clients_free(&srv->clients);
	handout_free(&srv->handout);
	logfile_close(srv->logfile);
	store_close(srv->writer);
	store_close(srv->store);
	hub_free(srv->hub);
	loop_free(srv->loop);
	buf_free(&srv->scratch);
	if (srv->own_metrics)
		metrics_close(srv->metrics);
	free(srv);
}

struct loop *
server_loop(struct server *srv)
{
	return srv->loop;
}

size_t
server_clients(const struct server *srv)
{
	return srv->clients.n;
}

size_t
server_writes(const struct server *srv)
{
	size_t n = 0;

	for (const struct client *c = srv->clients.all; c != NULL; c = c->next)
		n += c->pub != NULL;
	return n;
}

void
server_log_stats(const struct server *srv)
{
	log_info("stats: %zu open streams (%zu stream names), %" PRIu64
	    " requests, %" PRIu64 " events sent, %" PRIu64
	    " clients dropped, %" PRIu64 " SQL statements of which %"
	    PRIu64 " read events, last id %" PRId64, srv->clients.n,
	    hub_topics(srv->hub), srv->served, srv->handout.delivered,
	    srv->clients.dropped, srv->store ? store_statements(srv->store) :
	    0, srv->store ? store_event_queries(srv->store) : 0,
	    srv->handout.pos);
}

void
server_stop(struct server *srv)
{
	int64_t now = loop_now_ms();

	if (srv->stopping) {
		/* A second signal: the operator will not wait. */
		srv->drain_deadline = srv->stop_deadline = now;
		srv->hurry = true;
		return;
	}
	srv->stopping = true;
	srv->drain_deadline = now + DRAIN_MS;
	srv->stop_deadline = now + srv->cfg.stop_timeout_s * 1000LL;
	for (struct client *c = srv->clients.all; c != NULL; c = c->next) {
		switch (c->state) {
		case CLIENT_STARTING:
			answer_draining(srv, c);
			break;
		case CLIENT_REPLAYING:
		case CLIENT_LIVE:
			end_with_retry(srv, c, "the server is restarting",
			    500, 500 + drain_spread_ms(srv));
			break;
		default:
			break;	/* a write goes on (CLIENT_RECEIVING) */
		}
	}
	clients_flush(&srv->clients);
}

/* Stopping: cuts off what outlived its time. Streams have DRAIN_MS to
 * take their end; writes (c->pub, answered or not) have --stop-timeout
 * to reach their answer, which a build's upload of lines needs (cutting
 * it would fail the build), and are then cut, with CUT_ANSWER_MS more for
 * that answer to reach the web server. Returns true when the process
 * should exit now. */
static bool
stop_waited(struct server *srv)
{
	int64_t now = loop_now_ms();
	size_t writes = server_writes(srv), others = srv->clients.n - writes;

	if (now >= srv->drain_deadline && others > 0) {
		if (!srv->streams_cut && !srv->hurry)
			log_warn("stopping: %zu streams did not end in time",
			    others);
		srv->streams_cut = true;
		for (struct client *c = srv->clients.all; c != NULL;
		    c = c->next)
			if (c->pub == NULL)
				client_drop(c);
		clients_flush(&srv->clients);
	}
	if (writes == 0)
		return now >= srv->drain_deadline;
	if (!srv->writes_cut && now >= srv->stop_deadline) {
		size_t cut = 0;
		for (struct client *c = srv->clients.all; c != NULL;
		    c = c->next)
			if (c->pub != NULL && c->state == CLIENT_RECEIVING) {
				publish_cut(c);
				cut++;
			}
		if (cut > 0)
			log_warn("stopping: cut %zu writes still in progress "
			    "%s", cut, srv->hurry ? "on a second signal" :
			    "at --stop-timeout");
		clients_flush(&srv->clients);
		srv->writes_cut = true;
		srv->exit_deadline = now + (srv->hurry ? 0 : CUT_ANSWER_MS);
	}
	return srv->writes_cut && now >= srv->exit_deadline;
}

int
server_turn(struct server *srv, bool block)
{
	bool work = srv->clients.work != NULL && !log_waiting(srv);

	if (loop_run_once(srv->loop, block && !work) == -1) {
		log_error("epoll: %s", strerror(errno));
		return -1;
	}
	publish_commit(&srv->publisher);
	clients_flush(&srv->clients);
	run_work(srv);
	clients_bury(&srv->clients);
	return 0;
}

void
server_wait_for(struct server *srv, size_t (*in_flight)(void))
{
	srv->in_flight = in_flight;
}

int
server_run(struct server *srv)
{
	for (;;) {
		if ((srv->stopping || srv->once) && srv->clients.n == 0 &&
		    (srv->in_flight == NULL || srv->in_flight() == 0))
			break;
		if (srv->stopping && stop_waited(srv))
			break;
		if (server_turn(srv, true) == -1)
			return -1;
	}
	clients_free(&srv->clients);
	return 0;
}
