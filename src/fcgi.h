/* The FastCGI glue: the only part of sselog that includes fcgiapp.h.
 *
 * One thread accepts connections; another waits, without blocking on any
 * one peer, until each has sent a whole, well-formed request head
 * (fcgi_head.h); libfcgi then decodes the parameters. Each request leaves
 * for the event loop (its socket and a copy of the parameters), which
 * writes the long-lived response itself (fcgi_record.h).
 */
#ifndef SSELOG_FCGI_H
#define SSELOG_FCGI_H

#include <stddef.h>

#include "request.h"

enum fcgi_verdict {
	FCGI_SERVE,		/* libfcgi read it: params are set */
	FCGI_TOO_LARGE,		/* parameters over FCGI_HEAD_PARAMS_MAX */
	FCGI_UNKNOWN_ROLE,	/* not a responder request */
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
 * any. */
void fcgi_remove_socket(void);

/* Starts the threads that accept requests on listen_fd and write a
 * pointer to each new struct fcgi_request (the reader frees it) to
 * notify_fd. Returns 0, or -1 with the reason in err. */
int fcgi_start(int listen_fd, int notify_fd, char *err, size_t errlen);

#endif
