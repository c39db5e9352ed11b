/* The FastCGI glue: the only part of sselog that includes fcgiapp.h.
 *
 * One thread accepts connections; another waits, without blocking on any
 * one peer, until each has sent a whole, well-formed request head
 * (fcgi_head.h), takes it off the socket, and has libfcgi decode the
 * parameters from a copy (fcgi.c says why). Each request leaves for the
 * event loop (its socket and a copy of the parameters), which reads
 * whatever follows the head and writes the long-lived response itself
 * (fcgi_record.h).
 */
#ifndef SSELOG_FCGI_H
#define SSELOG_FCGI_H

#include <stddef.h>

#include "request.h"

/* Not FCGI_*: fastcgi.h defines those names as macros, with other
 * values. */
enum fcgi_verdict {
	FCGI_VERDICT_SERVE,		/* libfcgi read it: params are set */
	FCGI_VERDICT_TOO_LARGE,		/* parameters over
					 * FCGI_HEAD_PARAMS_MAX */
	FCGI_VERDICT_UNKNOWN_ROLE,	/* not a responder request */
};

/* A request to answer. The connection's descriptor passes to whoever takes
 * the request; fcgi_request_free() does not close it. */
struct fcgi_request {
	int fd;
	unsigned request_id;
	enum fcgi_verdict verdict;
	struct request_params params;	/* strings owned by the struct */
};

void fcgi_request_free(struct fcgi_request *r);

/* The socket to accept FastCGI connections on: a new one bound to
 * listen_spec ("unix:PATH", "HOST:PORT" or "[V6ADDR]:PORT") when given;
 * else fd 3 under systemd socket activation (LISTEN_FDS), or fd 0 when it
 * is a listening socket (spawn-fcgi, mod_fcgid, lighttpd's bin-path).
 * Returns the descriptor; -1 when there is none, which means CGI; -2 on
 * failure, with the reason in err. */
int fcgi_listener(const char *listen_spec, char *err, size_t errlen);

/* Removes the socket file that fcgi_listener() created for unix:PATH, if
 * any and if it is still that file (not one that a newer responder put
 * in its place). */
void fcgi_remove_socket(void);

/* Starts the threads that accept requests on listen_fd and write a
 * pointer to each new struct fcgi_request (the reader frees it) to
 * notify_fd, which they may wait on while the reader is behind. They
 * take SIGURG for their own use (see fcgi_stop_accepting). Returns 0, or
 * -1 with the reason in err. */
int fcgi_start(int listen_fd, int notify_fd, char *err, size_t errlen);

/* Stops accepting connections, at once and for good, so that the other
 * processes that share the listening socket (spawn-fcgi -F, systemd,
 * the web server's process manager) take the new ones: the accepting
 * thread leaves accept() and closes this process's descriptor of the
 * socket. The socket itself is never shut down: it lives on in the
 * processes that hold it (where none does, new connections are
 * refused). Connections already accepted still go to notify_fd once
 * their heads are in. The socket file of --listen unix:PATH stays until
 * fcgi_remove_socket(). For the event loop's thread, on a stop
 * (SIGTERM); not async-signal-safe. Does nothing before fcgi_start() or
 * a second time. */
void fcgi_stop_accepting(void);

/* Connections accepted that the event loop has not taken yet (they wait
 * for their request head, or in the pipe to the loop): a stopping process
 * answers them before it exits. */
size_t fcgi_in_flight(void);

#endif
