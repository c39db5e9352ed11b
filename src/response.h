/* The CGI header block of each kind of response (RFC 3875 section 6),
 * which a FastCGI responder sends the same way. Pure: appends to a buffer.
 * Every function returns 0, or -1 when memory runs out.
 */
#ifndef SSELOG_RESPONSE_H
#define SSELOG_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The origins allowed to read the streams from other sites (CORS): each
 * by name, or "*" for any. */
struct cors {
	const char *const *origins;
	size_t n;
};

/* What to answer origin with (design.md, "Access control", CORS):
 * origin itself when it is listed by name (the response then allows
 * credentials); "*" when only a "*" in the list allows it (no
 * credentials); NULL when nothing does, or origin is NULL (no CORS
 * headers). Pass the result to the functions below as allow_origin. */
const char *cors_allowed(const struct cors *cors, const char *origin);

/* 200 and the headers of an event stream. */
int response_stream(struct buf *out, const char *allow_origin);

/* Any other status. message, when not NULL, is the one-line text/plain
 * body that says what to fix. retry_after_s >= 0 adds Retry-After. */
int response_status(struct buf *out, int status, const char *allow_origin,
    const char *message, int retry_after_s);

/* 401 with a one-line body and WWW-Authenticate: Bearer realm="sselog"
 * (RFC 6750, 3), plus error="invalid_token" when a token was given and
 * did not verify. */
int response_unauthorized(struct buf *out, const char *allow_origin,
    const char *message, bool invalid_token);

/* 405 with a one-line body and Allow: GET, HEAD, OPTIONS, plus POST, PUT,
 * DELETE when publish (--publish). */
int response_not_allowed(struct buf *out, const char *allow_origin,
    const char *message, bool publish);

/* The answer to OPTIONS: a CORS preflight when the origin is allowed; the
 * methods as for response_not_allowed(). */
int response_preflight(struct buf *out, const char *allow_origin,
    bool publish);

/* 200 and the metrics in body (the Prometheus text exposition format,
 * version 0.0.4), or only the headers when head_only (HEAD). */
int response_metrics(struct buf *out, const struct buf *body,
    bool head_only);

/* 405 for the metrics, which answer GET and HEAD only. */
int response_metrics_not_allowed(struct buf *out);

#endif
