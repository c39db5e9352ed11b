/* CGI/FastCGI parameters -> a validated request. Pure: no I/O; the web
 * server's strings in, an owned struct request or an HTTP error out.
 */
#ifndef SSELOG_REQUEST_H
#define SSELOG_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the web server passed, as CGI variables. Borrowed; NULL when the
 * server did not send the variable. */
struct request_params {
	const char *method;		/* REQUEST_METHOD */
	const char *query_string;	/* QUERY_STRING, still URL-encoded */
	const char *request_uri;	/* REQUEST_URI, raw */
	const char *path_info;		/* PATH_INFO, decoded */
	const char *last_event_id;	/* HTTP_LAST_EVENT_ID */
	const char *origin;		/* HTTP_ORIGIN */
	const char *accept;		/* HTTP_ACCEPT */
	const char *streams;		/* SSELOG_STREAMS, which only the web
					 * server's config can set */
	const char *remote_user;	/* REMOTE_USER: whom the web server
					 * authenticated */
	const char *authorization;	/* HTTP_AUTHORIZATION */
	const char *cookie;		/* HTTP_COOKIE */
	const char *idempotency_key;	/* HTTP_IDEMPOTENCY_KEY */
	const char *content_length;	/* CONTENT_LENGTH: CGI's body size */
	const char *metrics;		/* SSELOG_METRICS: "1" asks for the
					 * metrics; only the web server's
					 * config sets it */
};

/* Where a request may name its streams: --streams, or per request the
 * SSELOG_STREAMS parameter, which overrides it. A web server guards a
 * location by its path, and stream= names any stream from any location:
 * "path" on every mount of a log is what makes such a guard hold. */
enum request_streams {
	STREAMS_BOTH,	/* the path below the mount and stream= (default) */
	STREAMS_PATH,	/* the path only: a stream= parameter is a 400 */
	STREAMS_QUERY,	/* stream= only: a path below the mount is a 400 */
};

struct request_config {
	const char *prefix;	/* mount point in REQUEST_URI, or NULL */
	size_t max_streams;
	enum request_streams streams;	/* unless SSELOG_STREAMS says */
	bool publish;		/* --publish: POST, PUT and DELETE */
};

enum request_kind {
	REQUEST_SUBSCRIBE,	/* GET */
	REQUEST_HEAD,		/* HEAD: the headers of GET, no body */
	REQUEST_PREFLIGHT,	/* OPTIONS */
	REQUEST_PUBLISH,	/* POST: the body is one event */
	REQUEST_LINES,		/* POST or PUT ?lines: an event per line */
	REQUEST_CLOSE,		/* DELETE: appends sselog.close */
};

struct request {
	enum request_kind kind;
	char **streams;		/* owned, distinct, valid names */
	size_t nstreams;
	int64_t start;		/* start position, when start_given */
	bool start_given;
	char *access_token;	/* access_token=, decoded, owned; NULL:
				 * none (used only with --jwt-query) */
	/* Writes (PUBLISH, LINES, CLOSE): the one stream is streams[0]. */
	char *type;		/* event=, valid, owned; NULL: none */
	int64_t retry;		/* retry=, ms; -1: none */
	char *idem;		/* Idempotency-Key, valid, owned; NULL: none */
};

/* Reads "both", "path" or "query" into *out. Returns 0, or -1 for any
 * other word. */
int request_streams_parse(const char *word, enum request_streams *out);

/* True for the methods that write (POST, PUT, DELETE), with or without
 * --publish: their body is read to its end before the answer. */
bool request_method_writes(const char *method);

/* Fills req from p. Returns 0, or an HTTP status (400, 404, 405; 500
 * for an SSELOG_STREAMS the web server set to another word) with a
 * one-line reason in err; req then owns nothing. Free a filled req with
 * request_free(). */
int request_parse(const struct request_config *cfg,
    const struct request_params *p, struct request *req, char *err,
    size_t errlen);
void request_free(struct request *req);

/* True when the Accept header names text/event-stream, as every
 * EventSource request does: such a client must get 200 even for trouble
 * that will pass, since EventSource gives up for good on any other status
 * (WHATWG HTML, "Server-sent events", 9.2.3). */
bool request_wants_stream(const struct request_params *p);

/* Decodes URL-encoding (%XX, and + as a space when plus_is_space) of the
 * len bytes at s into a new NUL-terminated string in *out. Returns 0, or
 * -1 on a malformed escape or a decoded NUL byte, or when memory runs out
 * (*out is then NULL). */
int url_decode(const char *s, size_t len, bool plus_is_space, char **out);

#endif
