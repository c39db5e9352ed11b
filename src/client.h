/* One open request and its connection: its state, its pending output
 * (outq.h), writing it without blocking, and the way it ends.
 *
 * Every client belongs to one struct clients, the set the server keeps. A
 * client is never freed while the loop may still hold an event for it:
 * client_close() unlinks it, and clients_bury() frees it after the turn.
 * The functions that may run inside hub_each() (client_send(),
 * client_end_response(), client_drop()) never close: a client that must go
 * is marked and closed by the next clients_flush().
 */
#ifndef SSELOG_CLIENT_H
#define SSELOG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "follow.h"
#include "hub.h"
#include "loop.h"
#include "metrics.h"
#include "outq.h"

enum transport {
	TRANSPORT_FCGI,		/* FastCGI records on a socket */
	TRANSPORT_CGI,		/* the bytes themselves, on standard output */
};

enum client_state {
	CLIENT_STARTING,	/* waits for the log to answer its start */
	CLIENT_RECEIVING,	/* a write: its body is read (and appended)
				 * by the server, which then answers */
	CLIENT_REPLAYING,	/* reads its backlog, a page per turn */
	CLIENT_LIVE,		/* caught up: takes events from the hand-out */
	CLIENT_ENDING,		/* the end is queued: finishes once written */
	CLIENT_LINGERING,	/* all written: waits for the peer to hang up */
	CLIENT_DROPPED,		/* closed at the next flush, unended */
	CLIENT_CLOSED,		/* freed after this turn of the loop */
};

struct clients;

struct client {
	struct loop_io io;
	struct clients *set;
	enum client_state state;
	enum transport transport;
	/* The subscription, owned: names, one hub link per name, the
	 * position; the start as asked, until the log answered it. */
	char **streams;
	size_t nstreams;
	struct hub_link *links;
	struct follow follow;
	int64_t start;
	bool start_given;
	bool head_only;		/* HEAD: the headers, then the end */
	bool wants_stream;	/* Accept names text/event-stream */
	char *allow_origin;	/* CORS answer, owned; NULL: none */
	/* With access control: what the request brought, judged again on
	 * a reload; when the token it used expires (0: never). */
	struct credentials cred;
	int64_t expires_ms;
	int64_t starting_since_ms;
	/* A request with a body to read (POST, PUT, DELETE): the server's
	 * state for it, which on_input reads into when the connection has
	 * bytes (or hung up: events), on_answer holds the answer for until
	 * the body's end (true: held), and on_close frees. */
	struct publish *pub;
	void (*on_input)(struct client *c, uint32_t events);
	bool (*on_answer)(struct client *c, const struct buf *answer);
	void (*on_close)(struct client *c);
	bool input_paused;	/* EPOLLIN is not registered: the body waits
				 * for the log */
	struct outq out;
	/* When output became pending or last left; the write timeout runs
	 * from it. */
	int64_t progress_ms;
	int64_t last_write_ms;	/* the heartbeat runs from it */
	int64_t linger_since_ms;
	int status;		/* the HTTP status of the response, once
				 * client_status() noted it; 0: not yet */
	bool metered;		/* an open stream in the metrics' gauge */
	bool polling_out;	/* EPOLLOUT is registered */
	bool blocking;		/* a descriptor epoll refuses: plain writes */
	bool dirty;		/* on set->dirty */
	bool queued;		/* on set->work */
	struct client *prev, *next;	/* set->all */
	struct client *prev_work, *next_work;	/* set->work */
	struct client *next_dirty, *next_closed;
};

struct clients {
	struct loop *loop;
	struct hub *hub;
	size_t max_pending;	/* bytes queued before a live client goes */
	size_t refill_bytes;	/* a replaying client below this much pending
				 * output asks for its next page */
	int64_t write_timeout_ms;
	int64_t heartbeat_ms;
	struct client *all;	/* every open client */
	size_t n;
	struct client *dirty;	/* output to write, or to be closed */
	struct client *work, *work_tail;  /* waiting for a read of the log */
	struct client *closed;	/* to free after this turn */
	uint64_t dropped;	/* did not read, or memory ran out */
	struct metrics *metrics;	/* the server's, never NULL */
};

void clients_init(struct clients *s, struct loop *loop, struct hub *hub,
    size_t max_pending, size_t refill_bytes, int64_t write_timeout_ms,
    int64_t heartbeat_ms);
/* Closes every client and frees them. */
void clients_free(struct clients *s);

/* A new client on fd (FastCGI request request_id), added to s. Returns
 * it, or NULL with errno set (fd is then left open). */
struct client *client_new(struct clients *s, int fd, enum transport t,
    unsigned request_id);

/* Queues len bytes of the response. Returns 0, or -1 when memory ran out:
 * the client is then dropped. */
int client_send(struct client *c, const void *bytes, size_t len);

/* Sends answer, the whole of a response that was built in it (built: -1
 * when memory ran out building it, which drops c instead), and ends the
 * response; a request whose body is still coming holds it until then
 * (on_answer). */
void client_answer(struct client *c, const struct buf *answer, int built);

/* Queues the end of the response; the connection closes once it is
 * written and the peer hung up (or LINGER_MS later). */
void client_end_response(struct client *c);

/* Notes, for the metrics, that c's response has HTTP status code: the
 * first status noted is the one sent (a write holds its first answer;
 * what follows is read for nothing). */
void client_status(struct client *c, int code);

/* c's event stream is open (its head is queued): it counts among the
 * open streams until its response ends or it goes. */
void client_stream_opened(struct client *c);

/* Gives the client up without ending its response: it is closed by the
 * next clients_flush(). The caller says why in the log. */
void client_drop(struct client *c);

/* Stops (paused) or starts again reading the FastCGI connection while a
 * body waits for the log: what is not read stays in the socket, and the
 * web server waits, so a body is held in memory only as far as it is
 * used. */
void client_pause_input(struct client *c, bool paused);

/* Closes the connection now and leaves the hub. Never inside hub_each(). */
void client_close(struct client *c);

/* Puts c at the end of the queue of clients waiting for a read of the
 * log (a start, or the next page of a backlog). */
void client_queue_work(struct client *c);
/* Takes the first client of that queue, or NULL. */
struct client *clients_next_work(struct clients *s);
/* Puts c back at the head of the queue (the log was busy). */
void client_requeue_first(struct client *c);

/* Writes what the dirty clients have queued, finishes those that ended,
 * closes those dropped; queues for work the replaying ones whose pending
 * output fell below refill_bytes, so that the next page is read while the
 * connection still has some to send. */
void clients_flush(struct clients *s);

/* Frees the clients closed during this turn of the loop. */
void clients_bury(struct clients *s);

/* Once a second or so: closes lingering connections past LINGER_MS,
 * drops clients whose output did not move for the write timeout, queues
 * a heartbeat for live streams silent for the heartbeat interval. */
void clients_tick(struct clients *s);

#endif
