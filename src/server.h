/* The responder's core: one event loop that owns every open stream.
 *
 * A connection arrives with its parameters already read (by the FastCGI
 * glue, or from the environment in CGI mode). The server answers it,
 * replays what the client missed from the log, a page per turn of the
 * loop, then hands it the new events that the one watcher of the log
 * finds (handout.h). The loop never waits on a client (client.h) nor,
 * for more than a few milliseconds, on the log: a locked log is tried
 * again on a timer while heartbeats and other streams go on.
 */
#ifndef SSELOG_SERVER_H
#define SSELOG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "client.h"
#include "request.h"
#include "response.h"

struct server_config {
	const char *db_path;
	struct request_config request;	/* prefix, max streams, publish */
	size_t max_event_size;		/* --max-event-size: bytes of one
					 * event's data, of one line */
	struct cors cors;
	int heartbeat_s;		/* comment after this much silence */
	int64_t retry_ms;		/* retry: at the start; < 0: none */
	int poll_interval_ms;		/* check the log at least this often */
	size_t max_clients;		/* past it: the transient answer */
	size_t max_pending;		/* output bytes before a client is dropped */
	int write_timeout_s;		/* pending output that long: dropped */
	int stop_timeout_s;		/* --stop-timeout: how long writes in
					 * progress may go on once stopping */
	struct auth *auth;		/* access control (--access, --jwt-*),
					 * or NULL: every stream is readable;
					 * borrowed, server_set_auth() swaps
					 * it */
	struct metrics *metrics;	/* the figures, shared with the other
					 * processes on the socket (borrowed);
					 * NULL: the server counts alone */
};

struct server;
struct loop;
struct metrics;

/* Opens the log read-only (and, with request.publish, a second handle
 * to write it) and starts watching it. Returns the server, or
 * NULL with the reason in err. */
struct server *server_new(const struct server_config *cfg, char *err,
    size_t errlen);
void server_free(struct server *srv);

struct loop *server_loop(struct server *srv);

/* Serves one request on fd, which the server takes over (and closes). For
 * TRANSPORT_FCGI, request_id is the FastCGI request's id. */
void server_accept(struct server *srv, int fd, enum transport transport,
    unsigned request_id, const struct request_params *params);

enum refusal {
	REFUSE_TOO_LARGE,	/* 431: parameters over the bound */
	REFUSE_UNKNOWN_ROLE,	/* not a responder request (FastCGI 5.1) */
};

/* Answers a FastCGI request that the glue refused before reading it, on
 * fd, which the server takes over (and closes). */
void server_refuse(struct server *srv, int fd, unsigned request_id,
    enum refusal why);

/* Makes server_run() wait, once stopping, until in_flight() says that no
 * accepted connection is on its way to the server (or the drain time is
 * over). */
void server_wait_for(struct server *srv, size_t (*in_flight)(void));

/* Runs until server_stop() and every stream and write has ended (or
 * their time is over: server_stop()). Returns 0, or -1 when the event
 * loop fails. */
int server_run(struct server *srv);

/* Runs one turn of the loop: what is ready, then one step of the work
 * each waiting client needs. For tests; server_run() repeats it. */
int server_turn(struct server *srv, bool block);

/* Starts draining: new requests get the transient answer, open streams
 * end, each with a retry: spread over a few seconds so that their
 * clients do not all come back at once (a stream that has not taken its
 * end within 3 s is cut off). Writes in progress (a body still coming, a
 * write waiting for the locked log) go on to their answer for up to
 * stop_timeout_s; then they are cut (publish_cut()) and server_run()
 * returns once their answers are written, or a second later. Called
 * again while draining (a second signal): the writes are cut, and
 * server_run() returns, at once. */
void server_stop(struct server *srv);

/* Replaces the access control (a reload on SIGHUP; the caller frees the
 * old one) and ends, cleanly, the open streams that it no longer allows:
 * their clients reconnect with their Last-Event-ID, and whatever they then
 * bring decides. */
void server_set_auth(struct server *srv, struct auth *auth);

/* The number of open client connections. */
size_t server_clients(const struct server *srv);

/* How many of them are writes (POST, PUT, DELETE) not yet over. */
size_t server_writes(const struct server *srv);

/* Logs one line of counters: open streams, requests, events delivered,
 * clients dropped, SQL statements run (the load on the database). */
void server_log_stats(const struct server *srv);

#endif
