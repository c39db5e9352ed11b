#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "fcgi_record.h"
#include "follow.h"
#include "hub.h"
#include "log.h"
#include "loop.h"
#include "sse.h"
#include "store.h"
#include "watch.h"

/* Events read per page of a client's backlog: large enough that replay
 * runs at memory speed, small enough that one client catching up does not
 * hold up the others for long. */
#define REPLAY_PAGE 1000
/* How long a stopping server waits for its streams to end cleanly. */
#define DRAIN_MS 3000
/* How long an ended FastCGI connection waits for the web server to hang
 * up before it is closed anyway. */
#define LINGER_MS 2000
#define TICK_MS 1000
/* A stream idle for IDLE_MS keeps an output buffer up to this size: idle
 * streams are most streams, and their memory is the responder's. */
#define KEEP_OUT_BYTES 512
#define IDLE_MS 1000

struct client {
	struct loop_watch watch;
	struct server *srv;
	enum transport transport;
	unsigned request_id;
	char **streams;			/* owned, from the request */
	size_t nstreams;
	struct hub_link *links;		/* one per stream, owned */
	struct follow follow;
	struct buf out;			/* framed output not yet written */
	size_t out_off;			/* bytes of out already written */
	size_t out_record;	/* unwritten FCGI_STDOUT record at out's end
				 * that events may join, or FCGI_NO_RECORD */
	int64_t last_write_ms;
	bool live;	/* caught up: takes events from the live hand-out */
	bool ending;	/* the end is queued: close once it is written */
	bool lingering;	/* all written; waiting for the peer to hang up */
	int64_t linger_since;
	bool dead;	/* closed; freed after this turn of the loop */
	bool dropped;	/* did not read: close at the next flush */
	bool polling_out;	/* EPOLLOUT is registered */
	bool blocking;		/* a descriptor epoll refuses: plain writes */
	bool dirty;
	struct client *prev, *next;	/* every open client */
	struct client *next_dirty;	/* has new output to write */
	struct client *next_dead;
};

struct server {
	struct server_config cfg;
	struct loop *loop;
	struct store *store;
	struct watch *watch;
	struct loop_watch watch_w;
	struct loop_timer poll_timer;
	struct loop_timer tick_timer;
	struct hub *hub;
	int64_t hub_pos;	/* id of the last event the hand-out has seen */
	int64_t data_version;
	struct client *clients;
	size_t nclients;
	struct client *dirty;
	struct client *dead;
	bool stopping;
	bool once;		/* CGI: stop when the one client is done */
	int64_t drain_deadline;
	bool store_failing;	/* say so once, and once when it recovers */
	bool log_missing;	/* the file is gone or unreadable: 503 */
	dev_t log_dev;		/* the file the store has open */
	ino_t log_ino;
	uint64_t delivered;	/* events handed to live clients */
	uint64_t dropped;	/* clients dropped for not reading */
	uint64_t served;	/* requests answered */
	struct buf scratch;
};

static void client_close(struct client *c);
static void client_pump(struct client *c);

/* ---- output ---- */

static uint32_t
client_events(const struct client *c)
{
	uint32_t ev = 0;

	/* A FastCGI socket is read to notice the web server closing it. A
	 * CGI standard output only reports errors (EPOLLERR: the reader is
	 * gone), which epoll always does; it may be a socket that is our
	 * standard input too (Apache mod_cgid), whose end of input says
	 * nothing about the browser. */
	if (c->transport == TRANSPORT_FCGI)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->polling_out)
		ev |= EPOLLOUT;
	return ev;
}

static void
set_polling_out(struct client *c, bool on)
{
	if (c->blocking || c->polling_out == on)
		return;
	c->polling_out = on;
	if (loop_modify(c->srv->loop, &c->watch, client_events(c)) == -1) {
		log_error("epoll: %s", strerror(errno));
		client_close(c);
	}
}

static void
mark_dirty(struct client *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = c->srv->dirty;
	c->srv->dirty = c;
}

static size_t
pending(const struct client *c)
{
	return c->out.len - c->out_off;
}

/* Queues bytes of the response body (or of the header block). Returns 0,
 * or -1 when memory runs out (the client is then closed). */
static int
client_queue(struct client *c, const void *bytes, size_t len)
{
	int rc;

	if (c->transport == TRANSPORT_FCGI)
		rc = fcgi_append_stdout(&c->out, c->request_id, bytes, len);
	else
		rc = buf_append(&c->out, bytes, len);
	if (rc == -1) {
		log_error("out of memory queuing output for a client");
		client_close(c);
	}
	return rc;
}

/* Queues the end of the response; the connection closes once it is
 * written. */
static void
client_end(struct client *c)
{
	if (c->ending || c->dead)
		return;
	c->ending = true;
	if (c->transport == TRANSPORT_FCGI &&
	    fcgi_append_end(&c->out, c->request_id) == -1) {
		client_close(c);
		return;
	}
	mark_dirty(c);
}

/* Writes what it can. Returns 0, or -1 when the client is gone (closed). */
static int
client_write(struct client *c)
{
	while (pending(c) > 0) {
		ssize_t n = write(c->watch.fd, c->out.data + c->out_off,
		    pending(c));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			/* EPIPE, ECONNRESET: the client left. */
			client_close(c);
			return -1;
		}
		c->out_off += (size_t)n;
		c->out_record = FCGI_NO_RECORD;	/* its header is gone */
		c->last_write_ms = loop_now_ms();
	}
	/* Keep the buffer while the stream is busy: allocating it again for
	 * every event costs more than the copy (fresh pages are zeroed).
	 * on_tick() frees the large ones of idle streams. */
	buf_clear(&c->out);
	c->out_off = 0;
	return 0;
}

/* ---- replay ---- */

struct emit_ctx {
	struct client *c;
	bool failed;
};

static int
encode_event(struct buf *out, const struct store_event *ev)
{
	struct sse_event e = {
		.id = ev->id, .type = ev->type, .data = ev->data,
		.data_len = ev->data_len, .retry = ev->retry,
	};

	buf_clear(out);
	return sse_encode_event(out, &e);
}

static int
emit_replayed(void *ctx, const struct store_event *ev)
{
	struct emit_ctx *e = ctx;
	struct buf *scratch = &e->c->srv->scratch;

	if (encode_event(scratch, ev) == -1 ||
	    client_queue(e->c, scratch->data, scratch->len) == -1) {
		e->failed = true;
		return -1;
	}
	return 0;
}

/* Sends the next page of the backlog; the client goes live once a page
 * comes back short. Call inside a read transaction or not at all: a page
 * read on its own is its own snapshot. Returns 0, or -1 when the client
 * was closed. */
static int
client_replay_page(struct client *c)
{
	struct emit_ctx e = { .c = c };
	long n = follow_read(&c->follow, c->srv->store, REPLAY_PAGE,
	    emit_replayed, &e);

	if (n == -1) {
		if (!e.failed) {
			log_error("%s", store_error(c->srv->store));
			client_end(c);	/* it reconnects and resumes */
		}
		return c->dead ? -1 : 0;
	}
	if (c->follow.open == 0)
		client_end(c);
	else if (n < REPLAY_PAGE)
		c->live = true;
	return 0;
}

/* Everything, the end included, is written. A FastCGI web server may
 * still be sending the rest of the request (Apache sends the empty
 * FCGI_STDIN record after the parameters, and answers 503 when that write
 * fails): so stop writing, and close once it hangs up, or after a while.
 * Closing a socket with unread input would also reset the connection. */
static void
client_finish(struct client *c)
{
	if (c->transport != TRANSPORT_FCGI || c->blocking ||
	    shutdown(c->watch.fd, SHUT_WR) == -1) {
		client_close(c);
		return;
	}
	c->lingering = true;
	c->linger_since = loop_now_ms();
}

/* Writes, and keeps the backlog coming while the client keeps reading. */
static void
client_pump(struct client *c)
{
	while (!c->dead && !c->lingering) {
		if (c->dropped) {
			client_close(c);
			return;
		}
		if (client_write(c) == -1)
			return;
		if (pending(c) > 0) {
			set_polling_out(c, true);
			return;
		}
		set_polling_out(c, false);
		if (c->ending) {
			client_finish(c);
			return;
		}
		if (c->live || c->srv->stopping)
			return;
		if (client_replay_page(c) == -1)
			return;
	}
}

static void
flush_dirty(struct server *srv)
{
	while (srv->dirty != NULL) {
		struct client *c = srv->dirty;
		srv->dirty = c->next_dirty;
		c->dirty = false;
		if (!c->dead)
			client_pump(c);
	}
}

/* ---- connections ---- */

static void
on_client_event(struct loop_watch *w, uint32_t events)
{
	struct client *c = container_of(w, struct client, watch);
	char discard[4096];

	if (c->dead)
		return;
	if (events & EPOLLIN) {
		/* The rest of the request (an empty FCGI_STDIN record): read
		 * and ignore; end of file means the web server hung up. */
		ssize_t n = read(c->watch.fd, discard, sizeof discard);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (c->lingering && !(events & (EPOLLHUP | EPOLLERR)))
			return;	/* more to read before the hang-up */
	}
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		client_close(c);
		return;
	}
	if (events & EPOLLOUT)
		client_pump(c);
}

static void
client_close(struct client *c)
{
	struct server *srv = c->srv;

	if (c->dead)
		return;
	c->dead = true;
	if (!c->blocking)
		loop_remove(srv->loop, &c->watch);
	close(c->watch.fd);
	for (size_t i = 0; i < c->nstreams; i++)
		hub_leave(srv->hub, &c->links[i]);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nclients--;
	/* Freed after this turn of the loop: an event for it may still be
	 * waiting in the batch epoll returned. */
	c->next_dead = srv->dead;
	srv->dead = c;
}

static void
client_free(struct client *c)
{
	for (size_t i = 0; i < c->nstreams; i++)
		free(c->streams[i]);
	free(c->streams);
	free(c->links);
	buf_free(&c->out);
	free(c);
}

static void
bury_dead(struct server *srv)
{
	while (srv->dead != NULL) {
		struct client *c = srv->dead;
		srv->dead = c->next_dead;
		client_free(c);
	}
}

static struct client *
client_new(struct server *srv, int fd, enum transport transport,
    unsigned request_id)
{
	struct client *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->srv = srv;
	c->watch.fd = fd;
	c->watch.fn = on_client_event;
	c->transport = transport;
	c->request_id = request_id;
	c->last_write_ms = loop_now_ms();
	c->out = (struct buf)BUF_INIT;
	c->out_record = FCGI_NO_RECORD;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (loop_add(srv->loop, &c->watch, client_events(c)) == -1) {
		if (errno != EPERM) {
			free(c);
			return NULL;
		}
		/* A regular file or terminal as CGI output: epoll cannot
		 * watch it, and writes to it do not block for long. */
		c->blocking = true;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	c->next = srv->clients;
	if (c->next != NULL)
		c->next->prev = c;
	srv->clients = c;
	srv->nclients++;
	return c;
}

/* Answers with a status and a one-line body, then ends. */
static void
client_reply(struct client *c, int status, const char *allow_origin,
    const char *message, int retry_after_s)
{
	struct buf *s = &c->srv->scratch;

	buf_clear(s);
	if (response_status(s, status, allow_origin, message,
	    retry_after_s) == -1) {
		client_close(c);
		return;
	}
	if (client_queue(c, s->data, s->len) == 0)
		client_end(c);
}

/* Starts a subscription: 204 when every stream is over; else the headers,
 * the gap event if history was pruned, and the first page of the backlog,
 * all from one snapshot of the log. */
static void
client_start(struct client *c, const struct request *req,
    const char *allow_origin)
{
	struct server *srv = c->srv;
	struct buf *s = &srv->scratch;
	int64_t gap_first;

	follow_init(&c->follow, (const char *const *)c->streams, c->nstreams,
	    req->start_given ? req->start : 0);
	if (store_read_begin(srv->store) == -1 ||
	    follow_start(&c->follow, srv->store, !req->start_given,
	    &gap_first) == -1) {
		log_error("%s", store_error(srv->store));
		store_read_end(srv->store);
		client_reply(c, 500, allow_origin, "the event log cannot be "
		    "read; the server's error log says why", -1);
		return;
	}
	if (c->follow.open == 0) {
		/* Every stream was closed at or before the start: 204 tells
		 * EventSource to stop reconnecting. */
		store_read_end(srv->store);
		client_reply(c, 204, allow_origin, NULL, -1);
		return;
	}
	buf_clear(s);
	if (response_stream(s, allow_origin) == -1 ||
	    client_queue(c, s->data, s->len) == -1) {
		store_read_end(srv->store);
		return;
	}
	if (req->kind == REQUEST_HEAD) {
		store_read_end(srv->store);
		client_end(c);
		return;
	}
	/* A comment first: Apache holds the headers back until the body
	 * has a byte, and EventSource fires "open" only on the headers. */
	buf_clear(s);
	if (buf_append_str(s, ":\n") == -1 ||
	    (srv->cfg.retry_ms >= 0 && (buf_printf(s, "retry: %" PRId64
	    "\n\n", srv->cfg.retry_ms) == -1)) ||
	    (gap_first > 0 && sse_encode_gap(s, c->follow.position,
	    gap_first) == -1) ||
	    (s->len > 0 && client_queue(c, s->data, s->len) == -1)) {
		store_read_end(srv->store);
		return;
	}
	for (size_t i = 0; i < c->nstreams; i++) {
		if (hub_join(srv->hub, c->streams[i], &c->links[i], c, i) ==
		    -1) {
			store_read_end(srv->store);
			client_close(c);
			return;
		}
	}
	client_replay_page(c);
	store_read_end(srv->store);
	if (!c->dead)
		mark_dirty(c);
}

void
server_refuse(struct server *srv, int fd, unsigned request_id,
    enum refusal why)
{
	struct client *c = client_new(srv, fd, TRANSPORT_FCGI, request_id);

	if (c == NULL) {
		log_error("cannot take a connection: %s", strerror(errno));
		close(fd);
		return;
	}
	srv->served++;
	if (why == REFUSE_TOO_LARGE) {
		client_reply(c, 431, NULL, "the request's headers are too "
		    "large (over 128 KiB of FastCGI parameters)", -1);
	} else if (fcgi_append_unknown_role(&c->out, request_id) == -1) {
		client_close(c);
	} else {
		c->ending = true;
		mark_dirty(c);
	}
}

void
server_accept(struct server *srv, int fd, enum transport transport,
    unsigned request_id, const struct request_params *params)
{
	char err[256];
	struct request req;
	struct client *c = client_new(srv, fd, transport, request_id);

	if (c == NULL) {
		log_error("cannot take a connection: %s", strerror(errno));
		close(fd);
		return;
	}
	if (transport == TRANSPORT_CGI)
		srv->once = true;
	srv->served++;
	const char *allow_origin = cors_allowed(&srv->cfg.cors,
	    params->origin);
	int status = request_parse(&srv->cfg.request, params, &req, err,
	    sizeof err);
	if (status != 0) {
		client_reply(c, status, allow_origin, err, -1);
	} else if (srv->stopping) {
		client_reply(c, 503, allow_origin, "the server is restarting: "
		    "try again", 1);
	} else if (srv->log_missing) {
		client_reply(c, 503, allow_origin, "the event log is "
		    "unavailable: try again later", 5);
	} else if (srv->nclients > srv->cfg.max_clients) {
		client_reply(c, 503, allow_origin, "too many clients: try "
		    "again later", 5);
	} else if (req.kind == REQUEST_PREFLIGHT) {
		struct buf *s = &srv->scratch;
		buf_clear(s);
		if (response_preflight(s, allow_origin) == -1)
			client_close(c);
		else if (client_queue(c, s->data, s->len) == 0)
			client_end(c);
	} else if ((c->links = calloc(req.nstreams, sizeof *c->links)) ==
	    NULL) {
		client_reply(c, 503, allow_origin, "out of memory", 5);
	} else {
		/* The client takes the names over. */
		c->streams = req.streams;
		c->nstreams = req.nstreams;
		req.streams = NULL;
		req.nstreams = 0;
		client_start(c, &req, allow_origin);
	}
	request_free(&req);
	flush_dirty(srv);
}

/* ---- the live hand-out ---- */

struct deliver_ctx {
	struct server *srv;
	const struct store_event *ev;
	bool encoded;		/* srv->scratch holds ev's bytes */
	bool failed;
};

static void
deliver(struct hub_link *link, void *arg)
{
	struct deliver_ctx *d = arg;
	struct client *c = link->subscriber;

	/* Catching up clients read this event from the log themselves; the
	 * position check drops what the backlog already sent. */
	if (!c->live || c->ending || c->dead || c->dropped ||
	    d->ev->id <= c->follow.position)
		return;
	if (!d->encoded) {
		if (encode_event(&d->srv->scratch, d->ev) == -1) {
			d->failed = true;
			return;
		}
		d->encoded = true;
	}
	/* Never buffer without bound for a client that does not read: it
	 * reconnects with its Last-Event-ID and loses nothing. One event
	 * always fits, however large, so that a big event drops nobody. */
	if (pending(c) > 0 &&
	    pending(c) + d->srv->scratch.len > d->srv->cfg.max_pending) {
		log_warn("dropped a client that does not read: %zu bytes "
		    "pending (%s%s)", pending(c), c->streams[0],
		    c->nstreams > 1 ? ", ..." : "");
		c->dropped = true;
		d->srv->dropped++;
		mark_dirty(c);
		return;
	}
	if (c->transport == TRANSPORT_FCGI ?
	    fcgi_append_stdout_joined(&c->out, c->request_id, &c->out_record,
	    d->srv->scratch.data, d->srv->scratch.len) :
	    buf_append(&c->out, d->srv->scratch.data, d->srv->scratch.len)) {
		c->dropped = true;	/* out of memory */
		mark_dirty(c);
		return;
	}
	follow_note(&c->follow, d->ev);
	d->srv->delivered++;
	if (c->follow.open == 0)
		client_end(c);
	mark_dirty(c);
}

static void
store_trouble(struct server *srv)
{
	if (!srv->store_failing)
		log_error("%s", store_error(srv->store));
	srv->store_failing = true;
}

/* Reads every event appended since the last look, with one query, and
 * hands each to the followers of its stream. */
static void
poll_log(struct server *srv)
{
	struct store_cursor *cur;
	struct store_event ev;
	int64_t version;
	int rc;

	if (store_data_version(srv->store, &version) == -1) {
		store_trouble(srv);
		return;
	}
	if (version == srv->data_version)
		return;
	if ((cur = store_cursor_open_all(srv->store, srv->hub_pos)) == NULL) {
		store_trouble(srv);
		return;
	}
	while ((rc = store_cursor_next(cur, &ev)) == 1) {
		struct deliver_ctx d = { .srv = srv, .ev = &ev };
		srv->hub_pos = ev.id;
		hub_each(srv->hub, ev.stream, deliver, &d);
		if (d.failed)
			log_error("out of memory encoding event %" PRId64,
			    ev.id);
	}
	store_cursor_close(cur);
	if (rc == -1) {
		store_trouble(srv);
	} else {
		srv->data_version = version;
		if (srv->store_failing)
			log_info("the event log can be read again");
		srv->store_failing = false;
	}
	flush_dirty(srv);
}

static void
on_log_change(struct loop_watch *w, uint32_t events)
{
	struct server *srv = container_of(w, struct server, watch_w);

	(void)events;
	switch (watch_drain(srv->watch)) {
	case -1:
		log_error("inotify: %s", strerror(errno));
		break;
	case 1:
		poll_log(srv);
		loop_next_in_us(&srv->poll_timer,
		    watch_next_check_us(srv->watch));
		break;
	default:
		break;	/* another file in the log's directory */
	}
}

static void
remember_log_file(struct server *srv, const struct stat *sb)
{
	srv->log_dev = sb->st_dev;
	srv->log_ino = sb->st_ino;
}

/* The store keeps reading the file it opened, even after the file is
 * removed, replaced or made unreadable: look at the path itself now and
 * then. Gone or unreadable: say so once and answer 503 to new clients
 * (open streams stay, with heartbeats). Replaced (a restore from a
 * backup, say): reopen. Back: say so and serve again. */
static void
check_log_file(struct server *srv)
{
	struct stat sb;
	char err[512];

	if (stat(srv->cfg.db_path, &sb) == -1 ||
	    access(srv->cfg.db_path, R_OK) == -1) {
		if (!srv->log_missing)
			log_error("%s: %s: new clients get 503 until the event "
			    "log is back", srv->cfg.db_path, strerror(errno));
		srv->log_missing = true;
		return;
	}
	if (sb.st_dev != srv->log_dev || sb.st_ino != srv->log_ino) {
		struct store *st = store_open(srv->cfg.db_path, STORE_READ, err,
		    sizeof err);
		if (st == NULL) {
			if (!srv->log_missing)
				log_error("%s; new clients get 503 until it "
				    "can be read", err);
			srv->log_missing = true;
			return;
		}
		int64_t last = 0;
		if (store_last_id(st, &last) == 0 && last < srv->hub_pos) {
			log_warn("%s: the new event log ends at id %" PRId64
			    ", before the %" PRId64 " already handed out",
			    srv->cfg.db_path, last, srv->hub_pos);
			srv->hub_pos = last;
		}
		log_info("%s: the event log was replaced: reading the new "
		    "one", srv->cfg.db_path);
		store_close(srv->store);
		srv->store = st;
		srv->data_version = -1;	/* read what the new one has */
		remember_log_file(srv, &sb);
	}
	if (srv->log_missing)
		log_info("%s: the event log is back", srv->cfg.db_path);
	srv->log_missing = false;
}

static void
on_poll_timer(struct loop_timer *t)
{
	struct server *srv = container_of(t, struct server, poll_timer);

	check_log_file(srv);
	poll_log(srv);
	loop_next_in_us(t, watch_next_check_us(srv->watch));
}

/* Heartbeats: a comment to every stream that was silent for heartbeat_s,
 * so that proxies and EventSource polyfills do not time it out. */
static void
on_tick(struct loop_timer *t)
{
	struct server *srv = container_of(t, struct server, tick_timer);
	int64_t silent_since = loop_now_ms() - srv->cfg.heartbeat_s * 1000LL;
	static const char heartbeat[] = ":\n";

	int64_t linger_limit = loop_now_ms() - LINGER_MS;

	for (struct client *c = srv->clients, *next; c != NULL; c = next) {
		next = c->next;		/* client_close() unlinks c */
		if (c->lingering && c->linger_since <= linger_limit) {
			client_close(c);
			continue;
		}
		if (pending(c) == 0 && c->out.cap > KEEP_OUT_BYTES &&
		    c->last_write_ms < loop_now_ms() - IDLE_MS)
			buf_free(&c->out);
		if (!c->live || c->ending || pending(c) > 0 ||
		    c->last_write_ms > silent_since)
			continue;
		if (client_queue(c, heartbeat, sizeof heartbeat - 1) == 0)
			mark_dirty(c);
	}
	flush_dirty(srv);
}

/* ---- the server ---- */

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
	if ((srv->loop = loop_new()) == NULL) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	if ((srv->hub = hub_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((srv->store = store_open(cfg->db_path, STORE_READ, err, errlen))
	    == NULL)
		goto fail;
	if (store_last_id(srv->store, &srv->hub_pos) == -1 ||
	    store_data_version(srv->store, &srv->data_version) == -1) {
		snprintf(err, errlen, "%s", store_error(srv->store));
		goto fail;
	}
	struct stat sb;
	if (stat(cfg->db_path, &sb) == 0)
		remember_log_file(srv, &sb);
	if ((srv->watch = watch_open(cfg->db_path, cfg->poll_interval_ms, err,
	    errlen)) == NULL)
		goto fail;
	if (watch_fd(srv->watch) != -1) {
		srv->watch_w.fd = watch_fd(srv->watch);
		srv->watch_w.fn = on_log_change;
		if (loop_add(srv->loop, &srv->watch_w, EPOLLIN) == -1) {
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
	while (srv->clients != NULL)
		client_close(srv->clients);
	bury_dead(srv);
	watch_close(srv->watch);
	store_close(srv->store);
	hub_free(srv->hub);
	loop_free(srv->loop);
	buf_free(&srv->scratch);
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
	return srv->nclients;
}

void
server_log_stats(const struct server *srv)
{
	log_info("stats: %zu open streams (%zu stream names), %" PRIu64
	    " requests, %" PRIu64 " events delivered live, %" PRIu64
	    " slow clients dropped, %" PRIu64 " SQL statements of which %"
	    PRIu64 " read events, last id %" PRId64, srv->nclients,
	    hub_topics(srv->hub), srv->served, srv->delivered, srv->dropped,
	    store_statements(srv->store), store_event_queries(srv->store),
	    srv->hub_pos);
}

void
server_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->drain_deadline = loop_now_ms() + DRAIN_MS;
	for (struct client *c = srv->clients; c != NULL; c = c->next)
		client_end(c);
	flush_dirty(srv);
}

int
server_run(struct server *srv)
{
	for (;;) {
		if ((srv->stopping || srv->once) && srv->nclients == 0)
			break;
		if (srv->stopping && loop_now_ms() >= srv->drain_deadline) {
			log_warn("stopping: %zu streams did not end in time",
			    srv->nclients);
			while (srv->clients != NULL)
				client_close(srv->clients);
			break;
		}
		if (loop_run_once(srv->loop) == -1) {
			log_error("epoll: %s", strerror(errno));
			return -1;
		}
		flush_dirty(srv);
		bury_dead(srv);
	}
	bury_dead(srv);
	return 0;
}
