#include "response.h"

#include <stdbool.h>
#include <string.h>

#define ALLOW_METHODS "GET, HEAD, OPTIONS"
#define ALLOW_WRITES ", POST, PUT, DELETE"
#define ALLOW_HEADERS "Authorization, Content-Type, Idempotency-Key, " \
	"Last-Event-ID, Cache-Control"

const char *
cors_allowed(const struct cors *cors, const char *origin)
{
	bool any = false;

	if (origin == NULL)
		return NULL;
	for (size_t i = 0; i < cors->n; i++) {
		if (strcmp(cors->origins[i], origin) == 0)
			return origin;
		if (strcmp(cors->origins[i], "*") == 0)
			any = true;
	}
	return any ? "*" : NULL;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* Credentials (cookies, HTTP authentication) only for an origin listed
 * by name: with "*" any site could read the streams as its visitors, the
 * nchan default that design.md's access control rules out. Vary: Origin
 * with "*" too, since the answer still depends on the request's Origin
 * (none without one; another for an origin listed by name): every answer
 * is no-store today, and a cache that kept one would otherwise hand the
 * answer meant for one origin to another. */
static int
cors_headers(struct buf *out, const char *allow_origin)
{
	if (allow_origin == NULL)
		return 0;
	if (strcmp(allow_origin, "*") == 0)
		return buf_append_str(out, "Access-Control-Allow-Origin: *\r\n"
		    "Vary: Origin\r\n");
	return buf_printf(out, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Allow-Credentials: true\r\n"
	    "Vary: Origin\r\n", allow_origin);
}

int
response_stream(struct buf *out, const char *allow_origin)
{
	/* X-Accel-Buffering: nginx passes each event on at once even where
	 * fastcgi_buffering is left on. */
	if (buf_append_str(out, "Status: 200 OK\r\n"
	    "Content-Type: text/event-stream; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Accel-Buffering: no\r\n") == -1 ||
	    cors_headers(out, allow_origin) == -1)
		return -1;
	return buf_append_str(out, "\r\n");
}

/* The end of the headers and a one-line text/plain body. Its length is
 * given, so that the web server can keep the client's connection open
 * without chunking the answer (a publisher POSTing event after event on
 * one connection). */
static int
text_body(struct buf *out, const char *message)
{
	return buf_printf(out, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n%s\n", strlen(message) + 1, message);
}

int
response_status(struct buf *out, int status, const char *allow_origin,
    const char *message, int retry_after_s)
{
	if (buf_printf(out, "Status: %d %s\r\nCache-Control: no-store\r\n",
	    status, reason(status)) == -1 ||
	    cors_headers(out, allow_origin) == -1)
		return -1;
	if (status == 405 && buf_append_str(out, "Allow: " ALLOW_METHODS
	    "\r\n") == -1)
		return -1;
	if (retry_after_s >= 0 && buf_printf(out, "Retry-After: %d\r\n",
	    retry_after_s) == -1)
		return -1;
	if (message == NULL)
		return buf_append_str(out, "\r\n");
	return text_body(out, message);
}

/* A status line, Cache-Control, CORS, one more header line (its text
 * with CRLF) and a one-line text/plain body. */
static int
one_line(struct buf *out, const char *status, const char *allow_origin,
    const char *header, const char *message)
{
	if (buf_printf(out, "Status: %s\r\nCache-Control: no-store\r\n",
	    status) == -1 || cors_headers(out, allow_origin) == -1 ||
	    buf_append_str(out, header) == -1)
		return -1;
	return text_body(out, message);
}

int
response_not_allowed(struct buf *out, const char *allow_origin,
    const char *message, bool publish)
{
	return one_line(out, "405 Method Not Allowed", allow_origin, publish ?
	    "Allow: " ALLOW_METHODS ALLOW_WRITES "\r\n" :
	    "Allow: " ALLOW_METHODS "\r\n", message);
}

int
response_unauthorized(struct buf *out, const char *allow_origin,
    const char *message, bool invalid_token)
{
	return one_line(out, "401 Unauthorized", allow_origin, invalid_token ?
	    "WWW-Authenticate: Bearer realm=\"sselog\", "
	    "error=\"invalid_token\"\r\n" :
	    "WWW-Authenticate: Bearer realm=\"sselog\"\r\n", message);
}

int
response_preflight(struct buf *out, const char *allow_origin,
    bool publish)
{
	const char *writes = publish ? ALLOW_WRITES : "";

	if (buf_printf(out, "Status: 204 No Content\r\n"
	    "Allow: " ALLOW_METHODS "%s\r\n", writes) == -1 ||
	    cors_headers(out, allow_origin) == -1)
		return -1;
	/* The request headers design.md's access control names (a bearer
	 * token, a publish's body type and idempotency key, the start
	 * position), and Cache-Control, which EventSource polyfills send.
	 * Listed by name: "*" would not cover Authorization. */
	if (allow_origin != NULL && buf_printf(out,
	    "Access-Control-Allow-Methods: " ALLOW_METHODS "%s\r\n"
	    "Access-Control-Allow-Headers: " ALLOW_HEADERS "\r\n"
	    "Access-Control-Max-Age: 86400\r\n", writes) == -1)
		return -1;
	return buf_append_str(out, "\r\n");
}

int
response_metrics(struct buf *out, const struct buf *body, bool head_only)
{
	if (buf_printf(out, "Status: 200 OK\r\nCache-Control: no-store\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n", body->len) == -1)
		return -1;
	return head_only ? 0 : buf_append(out, body->data, body->len);
}

int
response_metrics_not_allowed(struct buf *out)
{
	return one_line(out, "405 Method Not Allowed", NULL,
	    "Allow: GET, HEAD\r\n", "method not allowed: the metrics "
	    "answer GET and HEAD");
}
