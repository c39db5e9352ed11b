/* The start of a FastCGI connection, checked before libfcgi reads it.
 *
 * libfcgi reads a request's parameters with blocking reads and trusts the
 * lengths it is sent (a name and value of 2^30 bytes each abort it). So
 * the responder first looks at the bytes waiting on a new connection
 * (without consuming them) and takes them only once they hold a whole,
 * well-formed responder request head: FCGI_BEGIN_REQUEST, then
 * FCGI_PARAMS records up to the empty one that ends them. Pure: no I/O.
 */
#ifndef SSELOG_FCGI_HEAD_H
#define SSELOG_FCGI_HEAD_H

#include <stddef.h>

/* The most parameter bytes (names, values and their lengths) a request may
 * carry; nginx itself sends at most 64 KiB. */
#define FCGI_HEAD_PARAMS_MAX (128 * 1024)
/* The most bytes a request head may take on the wire, records' headers
 * and padding included: the size of the buffer to look at it with. */
#define FCGI_HEAD_BYTES_MAX (FCGI_HEAD_PARAMS_MAX + 32 * 1024)

enum fcgi_head_verdict {
	FCGI_HEAD_WAIT,		/* incomplete: wait for head->need bytes */
	FCGI_HEAD_READY,	/* a whole, well-formed responder head */
	FCGI_HEAD_BAD,		/* not a FastCGI request: close */
	FCGI_HEAD_TOO_LARGE,	/* parameters over FCGI_HEAD_PARAMS_MAX */
	FCGI_HEAD_UNKNOWN_ROLE,	/* authorizer, filter or another role */
};

struct fcgi_head {
	unsigned request_id;	/* from FCGI_BEGIN_REQUEST on, else 0 */
	unsigned role;
	size_t need;		/* FCGI_HEAD_WAIT: the bytes it takes before
				 * the verdict can change */
	size_t length;		/* FCGI_HEAD_READY: the head's bytes, through
				 * the empty FCGI_PARAMS record's padding;
				 * what follows is the request's body */
};

/* Judges the first len bytes received on a connection. TOO_LARGE and
 * UNKNOWN_ROLE come with the request's id, to answer it with. */
enum fcgi_head_verdict fcgi_head_check(const unsigned char *buf, size_t len,
    struct fcgi_head *head);

#endif
