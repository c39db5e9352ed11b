#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "validate.h"

static int
fail(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
url_decode(const char *s, size_t len, bool plus_is_space, char **out)
{
	char *d = malloc(len + 1), *p = d;

	*out = NULL;
	if (d == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len)
				goto bad;	/* truncated escape */
			if ((hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0)
				goto bad;
			*p = (char)(hi << 4 | lo);
			if (*p == '\0')
				goto bad;
			p++;
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			*p++ = ' ';
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return -1;
}

void
request_free(struct request *req)
{
	for (size_t i = 0; i < req->nstreams; i++)
		free(req->streams[i]);
	free(req->streams);
	req->streams = NULL;
	req->nstreams = 0;
	free(req->type);
	free(req->idem);
	req->type = NULL;
	req->idem = NULL;
	if (req->access_token != NULL) {
		/* A credential: gone from memory with the request. */
		explicit_bzero(req->access_token, strlen(req->access_token));
		free(req->access_token);
		req->access_token = NULL;
	}
}

/* Adds name (owned, taken over) to the request's streams unless it is
 * already there. Returns 0, or an HTTP status. */
static int
add_stream(const struct request_config *cfg, struct request *req, char *name,
    char *err, size_t errlen)
{
	const char *why = validate_stream(name);

	if (why != NULL) {
		/* The name may be long or hold control characters: do not
		 * echo it into the error line. */
		free(name);
		return fail(err, errlen, 400, "%s", why);
	}
	for (size_t i = 0; i < req->nstreams; i++) {
		if (strcmp(req->streams[i], name) == 0) {
			free(name);
			return 0;
		}
	}
	if (req->nstreams >= cfg->max_streams) {
		free(name);
		return fail(err, errlen, 400, "too many streams: at most %zu "
		    "per request", cfg->max_streams);
	}
	char **grown = realloc(req->streams, (req->nstreams + 1) *
	    sizeof *grown);
	if (grown == NULL) {
		free(name);
		return fail(err, errlen, 503, "out of memory");
	}
	req->streams = grown;
	req->streams[req->nstreams++] = name;
	return 0;
}

static int
set_start(struct request *req, const char *what, const char *value,
    char *err, size_t errlen)
{
	if (parse_event_id(value, &req->start) != NULL)
		return fail(err, errlen, 400, "%s: not a plain non-negative "
		    "decimal integer that fits in 63 bits", what);
	req->start_given = true;
	return 0;
}

/* Takes the next key=value pair of the query string at *qs, decoded, into
 * *key and *value (the caller frees both), and moves *qs past it. Returns
 * 1, 0 at the end, or 400 for a malformed escape (err says so). */
static int
next_param(const char **qs, char **key, char **value, char *err,
    size_t errlen)
{
	const char *p = *qs;
	size_t len;

	*key = *value = NULL;
	while (*p == '&')
		p++;
	if (*p == '\0')
		return 0;
	len = strcspn(p, "&");
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	*qs = p + len;
	if (url_decode(p, klen, true, key) == -1 ||
	    url_decode(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0, true,
	    value) == -1) {
		free(*key);
		free(*value);
		*key = *value = NULL;
		return fail(err, errlen, 400, "malformed query string: bad "
		    "%%-escape or NUL byte");
	}
	return 1;
}

/* A query string on its way into a request. */
struct query_ctx {
	const struct request_config *cfg;
	enum request_streams mode;
	struct request *req;
	bool header_start;	/* reads: Last-Event-ID was given */
	bool lines;		/* writes: ?lines was given */
};
/* What one parameter does to the request; *value may be taken (set to
 * NULL). Returns 0 or an HTTP status. */
typedef int (*param_fn)(struct query_ctx *q, const char *key, char **value,
    char *err, size_t errlen);

/* Calls fn for each parameter of the query string qs, in order, up to the
 * first that fails. Returns 0 or an HTTP status. */
static int
each_param(const char *qs, param_fn fn, struct query_ctx *q, char *err,
    size_t errlen)
{
	char *key, *value;
	int more, status = 0;

	while (status == 0 &&
	    (more = next_param(&qs, &key, &value, err, errlen)) == 1) {
		status = fn(q, key, &value, err, errlen);
		free(key);
		free(value);
	}
	return status != 0 ? status : more;
}

/* A read's query: stream= (repeatable), lastEventId= or last_event_id=.
 * Other parameters, such as the cache busters of EventSource polyfills,
 * are ignored; stream= is not, where only the path may name the stream:
 * ignored, it would let a page that asked for one stream get another. */
static int
read_param(struct query_ctx *q, const char *key, char **value, char *err,
    size_t errlen)
{
	struct request *req = q->req;

	if (strcmp(key, "stream") == 0 && q->mode == STREAMS_PATH)
		return fail(err, errlen, 400, "stream= is not allowed here; "
		    "the stream is the path");
	if (strcmp(key, "stream") == 0) {
		char *name = *value;
		*value = NULL;
		return add_stream(q->cfg, req, name, err, errlen);
	}
	if (strcmp(key, "access_token") == 0) {
		/* RFC 6750, 2.3; the first one counts. */
		if (req->access_token == NULL) {
			req->access_token = *value;
			*value = NULL;
		}
		return 0;
	}
	/* The Last-Event-ID header, when present, wins: it is what
	 * EventSource sends on reconnecting, while the parameter still holds
	 * the first start. */
	if ((strcmp(key, "lastEventId") == 0 ||
	    strcmp(key, "last_event_id") == 0) && !q->header_start)
		return set_start(req, key, *value, err, errlen);
	return 0;
}

/* A write's query: event= (the type), retry= (ms), lines (an event per
 * line of the body: ?lines, lines= or lines=1) and, as for reads,
 * access_token=. The stream is the path alone: stream= is a 400, since a
 * write that went to another stream than the one the path names would go
 * around a web server's guard of the location. Other parameters are
 * ignored. */
static int
write_param(struct query_ctx *q, const char *key, char **value, char *err,
    size_t errlen)
{
	struct request *req = q->req;

	if (strcmp(key, "stream") == 0)
		return fail(err, errlen, 400, "stream= is not for writes: the "
		    "stream is the path");
	if (strcmp(key, "lines") == 0) {
		q->lines = true;
	} else if (strcmp(key, "event") == 0 && req->type == NULL) {
		const char *why = validate_event_type(*value);
		if (why != NULL)
			return fail(err, errlen, 400, "event=: %s", why);
		if (strcmp(*value, "sselog.close") == 0)
			return fail(err, errlen, 400, "event=: use DELETE to "
			    "close a stream");
		req->type = *value;
		*value = NULL;
	} else if (strcmp(key, "retry") == 0) {
		if (parse_uint(*value, INT32_MAX, &req->retry) != NULL)
			return fail(err, errlen, 400, "invalid retry: it must "
			    "be a non-negative integer (milliseconds)");
	} else if (strcmp(key, "access_token") == 0 &&
	    req->access_token == NULL) {
		req->access_token = *value;
		*value = NULL;
	}
	return 0;
}

/* The path below the mount point: from REQUEST_URI below the prefix when
 * one is configured (servers disagree on PATH_INFO), else from PATH_INFO.
 * Where only stream= may name streams, that path must be empty. */
static int
parse_path(const struct request_config *cfg, enum request_streams mode,
    const struct request_params *p, struct request *req, char *err,
    size_t errlen)
{
	char *name = NULL;

	if (cfg->prefix != NULL) {
		const char *uri = p->request_uri ? p->request_uri : "";
		size_t plen = strlen(cfg->prefix);
		size_t ulen = strcspn(uri, "?#");
		/* "/events" matches the prefix "/events/" too. */
		size_t bare = plen > 0 && cfg->prefix[plen - 1] == '/' ?
		    plen - 1 : plen;
		if (ulen == bare && strncmp(uri, cfg->prefix, bare) == 0)
			return 0;
		if (ulen < plen || strncmp(uri, cfg->prefix, plen) != 0)
			return fail(err, errlen, 404, "not found: this "
			    "responder serves the paths below %s", cfg->prefix);
		const char *rest = uri + plen;
		size_t rlen = ulen - plen;
		if (bare == plen) {
			/* "/events" as the prefix: "/events/a" is below it,
			 * "/eventsx" is not. */
			if (rlen > 0 && rest[0] != '/')
				return fail(err, errlen, 404, "not found: this "
				    "responder serves the paths below %s",
				    cfg->prefix);
			if (rlen > 0) {
				rest++;
				rlen--;
			}
		}
		if (rlen == 0)
			return 0;
		if (mode == STREAMS_QUERY)
			goto no_path;
		if (url_decode(rest, rlen, false, &name) == -1)
			return fail(err, errlen, 400, "malformed path: bad "
			    "%%-escape or NUL byte");
	} else {
		const char *info = p->path_info ? p->path_info : "";
		while (*info == '/')
			info++;
		if (*info == '\0')
			return 0;
		if (mode == STREAMS_QUERY)
			goto no_path;
		if ((name = strdup(info)) == NULL)
			return fail(err, errlen, 503, "out of memory");
	}
	return add_stream(cfg, req, name, err, errlen);
no_path:
	return fail(err, errlen, 400, "a path below the mount is not allowed "
	    "here; name the streams with ?stream=NAME");
}

int
request_streams_parse(const char *word, enum request_streams *out)
{
	static const struct {
		const char *word;
		enum request_streams mode;
	} words[] = {
		{ "both", STREAMS_BOTH },
		{ "path", STREAMS_PATH },
		{ "query", STREAMS_QUERY },
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strcmp(word, words[i].word) == 0) {
			*out = words[i].mode;
			return 0;
		}
	}
	return -1;
}

/* The request's SSELOG_STREAMS, when the web server set it (an empty
 * value is unset, as nginx's "if_not_empty" would leave it), else the
 * option. Returns 0, or 500: only the server's config sets it, so a
 * bad word is the site's mistake, not the client's. */
static int
streams_mode(const struct request_config *cfg, const struct request_params *p,
    enum request_streams *mode, char *err, size_t errlen)
{
	*mode = cfg->streams;
	if (p->streams == NULL || p->streams[0] == '\0' ||
	    request_streams_parse(p->streams, mode) == 0)
		return 0;
	return fail(err, errlen, 500, "the web server set SSELOG_STREAMS to "
	    "neither path, query nor both: fix its configuration");
}

static const char *const no_stream[] = {
	[STREAMS_BOTH] =
	    "no stream: name one in the path or with ?stream=NAME",
	[STREAMS_PATH] = "no stream: name one in the path",
	[STREAMS_QUERY] = "no stream: name one with ?stream=NAME",
};

bool
request_method_writes(const char *method)
{
	return method != NULL && (strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0);
}

/* A write (design.md, "Publishing over HTTP"): exactly one stream, from
 * the path; the type, retry and Idempotency-Key checked here, before any
 * credentials, so that a malformed request is a 400 first. */
static int
parse_write(const struct request_config *cfg, const struct request_params *p,
    struct request *req, char *err, size_t errlen)
{
	const char *method = p->method;
	enum request_streams mode;
	int status;

	req->retry = -1;
	if ((status = streams_mode(cfg, p, &mode, err, errlen)) != 0)
		return status;
	if (mode == STREAMS_QUERY)
		return fail(err, errlen, 400, "writes name their stream in "
		    "the path, which is not allowed here");
	if ((status = parse_path(cfg, mode, p, req, err, errlen)) != 0)
		return status;
	struct query_ctx q = { .cfg = cfg, .mode = mode, .req = req };
	if (p->query_string != NULL && (status = each_param(p->query_string,
	    write_param, &q, err, errlen)) != 0)
		return status;
	bool lines = q.lines;
	if (req->nstreams == 0)
		return fail(err, errlen, 400, "no stream: name it in the path");
	if (strcmp(method, "DELETE") == 0)
		req->kind = REQUEST_CLOSE;
	else if (lines)
		req->kind = REQUEST_LINES;
	else if (strcmp(method, "POST") == 0)
		req->kind = REQUEST_PUBLISH;
	else
		return fail(err, errlen, 400, "PUT appends an event per line: "
		    "add ?lines to the URL");
	if (p->idempotency_key == NULL)
		return 0;
	if (req->kind == REQUEST_LINES)
		return fail(err, errlen, 400, "Idempotency-Key is for a POST "
		    "of one event or a DELETE, not for ?lines");
	const char *why = validate_idem_key(p->idempotency_key);
	if (why != NULL)
		return fail(err, errlen, 400, "Idempotency-Key: %s", why);
	if ((req->idem = strdup(p->idempotency_key)) == NULL)
		return fail(err, errlen, 503, "out of memory");
	return 0;
}

int
request_parse(const struct request_config *cfg, const struct request_params *p,
    struct request *req, char *err, size_t errlen)
{
	const char *method = p->method ? p->method : "GET";
	bool header_start = p->last_event_id != NULL &&
	    p->last_event_id[0] != '\0';
	enum request_streams mode;
	int status;

	memset(req, 0, sizeof *req);
	if (strcmp(method, "GET") == 0)
		req->kind = REQUEST_SUBSCRIBE;
	else if (strcmp(method, "HEAD") == 0)
		req->kind = REQUEST_HEAD;
	else if (strcmp(method, "OPTIONS") == 0) {
		req->kind = REQUEST_PREFLIGHT;
		return 0;
	} else if (cfg->publish && request_method_writes(method)) {
		if ((status = parse_write(cfg, p, req, err, errlen)) != 0)
			goto failed;
		return 0;
	} else if (cfg->publish)
		return fail(err, errlen, 405, "method not allowed: use GET "
		    "to subscribe, POST, PUT or DELETE to publish");
	else
		return fail(err, errlen, 405, "method not allowed: use GET "
		    "to subscribe");

	if ((status = streams_mode(cfg, p, &mode, err, errlen)) != 0)
		goto failed;
	if (header_start && (status = set_start(req, "Last-Event-ID",
	    p->last_event_id, err, errlen)) != 0)
		goto failed;
	if ((status = parse_path(cfg, mode, p, req, err, errlen)) != 0)
		goto failed;
	struct query_ctx q = { .cfg = cfg, .mode = mode, .req = req,
	    .header_start = header_start };
	if (p->query_string != NULL && (status = each_param(p->query_string,
	    read_param, &q, err, errlen)) != 0)
		goto failed;
	if (req->nstreams == 0) {
		status = fail(err, errlen, 400, "%s", no_stream[mode]);
		goto failed;
	}
	return 0;
failed:
	request_free(req);
	return status;
}

bool
request_wants_stream(const struct request_params *p)
{
	return p->accept != NULL &&
	    strcasestr(p->accept, "text/event-stream") != NULL;
}
