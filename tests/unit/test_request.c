/* Unit tests for src/request.h: CGI/FastCGI parameters -> a validated
 * subscription, and the URL decoder under it.
 *
 * Every case goes through one checker that, besides the status and the
 * result, holds request_parse() to its contract on failure: the error is
 * one non-empty line, and req owns nothing (valgrind finds a leak if it
 * did, since such a req is never freed here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* start of a case that expects no start position */
#define NO_START INT64_C(-1)

struct parse_case {
	const char *method;	/* NULL: the server sent none (GET) */
	const char *prefix;	/* --prefix, NULL for none */
	const char *uri;	/* REQUEST_URI */
	const char *path_info;	/* PATH_INFO */
	const char *query;	/* QUERY_STRING */
	const char *last_event_id;	/* HTTP_LAST_EVENT_ID */
	int status;		/* 0 or the HTTP status expected */
	const char *streams;	/* when 0: the names, space-separated, in order */
	int64_t start;		/* when 0: the start, or NO_START */
};

/* The streams of req joined by spaces (names cannot hold one). */
static void
join_streams(const struct request *req, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < req->nstreams; i++) {
		int n = snprintf(out + len, size - len, "%s%s",
		    i ? " " : "", req->streams[i]);
		assert_true(n >= 0 && (size_t)n < size - len);
		len += (size_t)n;
	}
}

/* Describes c for a failure message. */
static void
describe(const struct parse_case *c, char *out, size_t size)
{
	snprintf(out, size, "method=%s prefix=%s uri=%s path_info=%s "
	    "query=%s last-event-id=%s",
	    c->method ? c->method : "(null)",
	    c->prefix ? c->prefix : "(null)",
	    c->uri ? c->uri : "(null)",
	    c->path_info ? c->path_info : "(null)",
	    c->query ? c->query : "(null)",
	    c->last_event_id ? c->last_event_id : "(null)");
}

/* Asserts that err is one line: not empty, no CR or LF, and terminated
 * within its buffer. */
static void
assert_one_line(const char *err, size_t errlen, const char *what)
{
	size_t len = strnlen(err, errlen);

	if (len == errlen)
		fail_msg("%s: the error is not terminated", what);
	if (len == 0)
		fail_msg("%s: the error is empty", what);
	if (strpbrk(err, "\r\n") != NULL)
		fail_msg("%s: the error is not one line: \"%s\"", what, err);
}

/* Checks c with --streams mode and the SSELOG_STREAMS parameter param
 * (NULL: not sent); err_words, when not NULL, must be in the error. */
static void
check_parse_mode(const struct parse_case *c, size_t max_streams,
    enum request_streams mode, const char *param, const char *err_words)
{
	struct request_config cfg = {
		.prefix = c->prefix,
		.max_streams = max_streams,
		.streams = mode,
	};
	struct request_params p = {
		.method = c->method,
		.query_string = c->query,
		.request_uri = c->uri,
		.path_info = c->path_info,
		.last_event_id = c->last_event_id,
		.origin = NULL,
		.streams = param,
	};
	struct request req;
	char err[256], got[8192], what[1024];
	int status, n;

	describe(c, what, sizeof what);
	n = (int)strlen(what);
	snprintf(what + n, sizeof what - (size_t)n, " --streams %d "
	    "SSELOG_STREAMS=%s", (int)mode, param ? param : "(null)");
	memset(err, 'X', sizeof err);
	memset(&req, 0xA5, sizeof req);	/* request_parse sets every field */
	status = request_parse(&cfg, &p, &req, err, sizeof err);
	if (status != c->status) {
		if (status == 0) {
			join_streams(&req, got, sizeof got);
			request_free(&req);
			fail_msg("%s: want %d, got 0 with streams \"%s\"",
			    what, c->status, got);
		}
		fail_msg("%s: want %d, got %d: %s", what, c->status, status,
		    strnlen(err, sizeof err) < sizeof err ? err : "?");
	}
	if (status != 0) {
		assert_one_line(err, sizeof err, what);
		if (req.streams != NULL || req.nstreams != 0)
			fail_msg("%s: a failed request still holds %zu "
			    "streams", what, req.nstreams);
		if (err_words != NULL && strstr(err, err_words) == NULL)
			fail_msg("%s: the error \"%s\" lacks \"%s\"", what,
			    err, err_words);
		return;
	}
	join_streams(&req, got, sizeof got);
	if (strcmp(got, c->streams) != 0) {
		request_free(&req);
		fail_msg("%s: want streams \"%s\", got \"%s\"", what,
		    c->streams, got);
	}
	if (c->start == NO_START) {
		if (req.start_given)
			fail_msg("%s: want no start, got %lld", what,
			    (long long)req.start);
	} else {
		if (!req.start_given)
			fail_msg("%s: want start %lld, got none", what,
			    (long long)c->start);
		assert_int_equal(req.start, c->start);
	}
	request_free(&req);
	assert_null(req.streams);
	assert_int_equal(req.nstreams, 0);
}

static void
check_parse(const struct parse_case *c, size_t max_streams)
{
	check_parse_mode(c, max_streams, STREAMS_BOTH, NULL, NULL);
}

static void
check_table(const struct parse_case *cases, size_t n, size_t max_streams)
{
	for (size_t i = 0; i < n; i++)
		check_parse(&cases[i], max_streams);
}

/* ---- methods ---- */

/* GET (also when the server sends no method) subscribes, HEAD asks for
 * the same headers, OPTIONS is a preflight that needs no stream; every
 * other method, an empty one and a lower-case one are 405. */
static void
test_methods(void **state)
{
	static const struct {
		const char *method;
		int status;
		enum request_kind kind;
		size_t nstreams;
	} cases[] = {
		{ NULL, 0, REQUEST_SUBSCRIBE, 1 },
		{ "GET", 0, REQUEST_SUBSCRIBE, 1 },
		{ "HEAD", 0, REQUEST_HEAD, 1 },
		{ "OPTIONS", 0, REQUEST_PREFLIGHT, 0 },
		{ "POST", 405, 0, 0 },
		{ "PUT", 405, 0, 0 },
		{ "DELETE", 405, 0, 0 },
		{ "PATCH", 405, 0, 0 },
		{ "TRACE", 405, 0, 0 },
		{ "CONNECT", 405, 0, 0 },
		{ "", 405, 0, 0 },
		{ "get", 405, 0, 0 },
		{ "GET ", 405, 0, 0 },
		{ "GETX", 405, 0, 0 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct request_config cfg = { .max_streams = 32 };
		struct request_params p = {
			.method = cases[i].method,
			.query_string = "stream=a",
		};
		struct request req;
		char err[256] = "";
		const char *m = cases[i].method ? cases[i].method : "(null)";

		int status = request_parse(&cfg, &p, &req, err, sizeof err);
		if (status != cases[i].status)
			fail_msg("method \"%s\": want %d, got %d", m,
			    cases[i].status, status);
		if (status != 0) {
			assert_one_line(err, sizeof err, m);
			assert_null(req.streams);
			assert_int_equal(req.nstreams, 0);
			continue;
		}
		assert_int_equal(req.kind, cases[i].kind);
		assert_int_equal(req.nstreams, cases[i].nstreams);
		request_free(&req);
	}

	/* Every method but OPTIONS needs a stream; 405 comes before that. */
	static const struct parse_case no_stream[] = {
		{ "GET", NULL, NULL, NULL, NULL, NULL, 400, NULL, 0 },
		{ "HEAD", NULL, NULL, NULL, NULL, NULL, 400, NULL, 0 },
		{ "POST", NULL, NULL, NULL, NULL, NULL, 405, NULL, 0 },
		{ "POST", NULL, NULL, NULL, "stream=..", NULL, 405, NULL, 0 },
		{ "OPTIONS", NULL, NULL, NULL, NULL, NULL, 0, "", NO_START },
	};
	check_table(no_stream, NELEM(no_stream), 32);
}

/* ---- writes (--publish) ---- */

/* With --publish: POST is one event, POST or PUT ?lines an event per
 * line, DELETE a close; exactly one stream, from the path (stream= is a
 * 400 even with the path); event=, retry= and Idempotency-Key checked
 * before any credentials; PUT without ?lines, and Idempotency-Key on
 * ?lines, are 400; other methods 405. Without --publish every write is
 * 405 (test_methods). */
static void
test_writes(void **state)
{
	static const struct {
		const char *method, *uri, *query, *key;
		int status;
		enum request_kind kind;
		const char *type;	/* when 0 */
		int64_t retry;
	} cases[] = {
		{ "POST", "/e/build/1", NULL, NULL, 0, REQUEST_PUBLISH, NULL,
		  -1 },
		{ "POST", "/e/build/1", "event=step&retry=1500", "k-1", 0,
		  REQUEST_PUBLISH, "step", 1500 },
		{ "POST", "/e/build/1", "lines", NULL, 0, REQUEST_LINES, NULL,
		  -1 },
		{ "POST", "/e/build/1", "event=log&lines=1", NULL, 0,
		  REQUEST_LINES, "log", -1 },
		{ "PUT", "/e/build/1", "lines", NULL, 0, REQUEST_LINES, NULL,
		  -1 },
		{ "DELETE", "/e/build/1", NULL, "close-1", 0, REQUEST_CLOSE,
		  NULL, -1 },
		{ "POST", "/e/build/1", "lastEventId=5&x=y", NULL, 0,
		  REQUEST_PUBLISH, NULL, -1 },
		{ "PUT", "/e/build/1", NULL, NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "stream=build/2", NULL, 400, 0, NULL,
		  0 },
		{ "POST", "/e/", "stream=build/2", NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/", NULL, NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/%20", NULL, NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "event=sselog.gap", NULL, 400, 0, NULL,
		  0 },
		{ "POST", "/e/build/1", "event=sselog.close", NULL, 400, 0,
		  NULL, 0 },
		{ "POST", "/e/build/1", "event=", NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "event=a%0Ab", NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "retry=-1", NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "retry=1e3", NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "retry=%", NULL, 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", NULL, "a key", 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", NULL, "", 400, 0, NULL, 0 },
		{ "POST", "/e/build/1", "lines", "k", 400, 0, NULL, 0 },
		{ "PATCH", "/e/build/1", NULL, NULL, 405, 0, NULL, 0 },
		{ "post", "/e/build/1", NULL, NULL, 405, 0, NULL, 0 },
		{ "POST", "/x/build/1", NULL, NULL, 404, 0, NULL, 0 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct request_config cfg = { .prefix = "/e/",
		    .max_streams = 32, .publish = true };
		char uri[256];
		snprintf(uri, sizeof uri, "%s%s%s", cases[i].uri,
		    cases[i].query ? "?" : "", cases[i].query ?
		    cases[i].query : "");
		struct request_params p = { .method = cases[i].method,
		    .request_uri = uri, .query_string = cases[i].query,
		    .idempotency_key = cases[i].key };
		struct request req;
		char err[256] = "";

		int status = request_parse(&cfg, &p, &req, err, sizeof err);
		if (status != cases[i].status)
			fail_msg("%s %s: want %d, got %d (%s)", cases[i].method,
			    uri, cases[i].status, status, err);
		if (status != 0) {
			assert_one_line(err, sizeof err, uri);
			assert_null(req.streams);
			assert_null(req.type);
			assert_null(req.idem);
			continue;
		}
		assert_int_equal(req.kind, cases[i].kind);
		assert_int_equal(req.nstreams, 1);
		assert_string_equal(req.streams[0], "build/1");
		if (cases[i].type == NULL)
			assert_null(req.type);
		else
			assert_string_equal(req.type, cases[i].type);
		assert_int_equal(req.retry, cases[i].retry);
		if (cases[i].key == NULL)
			assert_null(req.idem);
		else
			assert_string_equal(req.idem, cases[i].key);
		assert_false(req.start_given);
		request_free(&req);
	}
}

/* ---- where the streams come from ---- */

/* With a prefix the stream comes from REQUEST_URI below it, with or
 * without the prefix's trailing slash; the mount point alone takes its
 * streams from the query; a path outside the prefix is 404; a path segment
 * is percent-decoded (+ stays +, and is not a name character); what
 * follows ? is left to the query; PATH_INFO is then ignored. */
static void
test_path_prefix(void **state)
{
	static const struct parse_case cases[] = {
		/* prefix "/events/" */
		{ 0, "/events/", "/events/build/42", 0, 0, 0, 0, "build/42",
		  NO_START },
		{ 0, "/events/", "/events/a", 0, 0, 0, 0, "a", NO_START },
		{ 0, "/events/", "/events/a:b@c.d_e-f", 0, 0, 0, 0,
		  "a:b@c.d_e-f", NO_START },
		{ 0, "/events/", "/events?stream=a", 0, "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events/", "/events/?stream=a", 0, "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events/", "/events", 0, "stream=a&stream=b", 0, 0,
		  "a b", NO_START },
		{ 0, "/events/", "/events/", 0, "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events/", "/events", 0, NULL, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/", 0, "", 0, 400, NULL, 0 },
		{ 0, "/events/", "/other/x", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "/", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "/event", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "/eventsx/a", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "/eventsx", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "/Events/a", 0, 0, 0, 404, NULL, 0 },
		{ 0, "/events/", "/x/events/a", 0, 0, 0, 404, NULL, 0 },
		{ 0, "/events/", NULL, 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events/", "/events/build%2F42", 0, 0, 0, 0, "build/42",
		  NO_START },
		{ 0, "/events/", "/events/build%2f42", 0, 0, 0, 0, "build/42",
		  NO_START },
		{ 0, "/events/", "/events/%62uild/%34%32", 0, 0, 0, 0,
		  "build/42", NO_START },
		{ 0, "/events/", "/events/a%40b", 0, 0, 0, 0, "a@b", NO_START },
		{ 0, "/events/", "/events/a+b", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a%20b", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/build/42?stream=x", 0, "stream=x", 0,
		  0, "build/42 x", NO_START },
		{ 0, "/events/", "/events/a?stream=a", 0, "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events/", "/events/a?lastEventId=5", 0, "lastEventId=5",
		  0, 0, "a", 5 },
		{ 0, "/events/", "/events/a?x=%zz", 0, "x=1", 0, 0, "a",
		  NO_START },
		{ 0, "/events/", "/events/a?", 0, "", 0, 0, "a", NO_START },
		{ 0, "/events/", "/events/a#b", 0, 0, 0, 0, "a", NO_START },
		{ 0, "/events/", "/events/a", "/zzz", 0, 0, 0, "a", NO_START },
		{ 0, "/events/", "/events", "/zzz", "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events/", "/events//a", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a/", 0, 0, 0, 400, NULL, 0 },
		/* prefix "/events" */
		{ 0, "/events", "/events/build/42", 0, 0, 0, 0, "build/42",
		  NO_START },
		{ 0, "/events", "/events", 0, "stream=a", 0, 0, "a", NO_START },
		{ 0, "/events", "/events/", 0, "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events", "/events?stream=a", 0, "stream=a", 0, 0, "a",
		  NO_START },
		{ 0, "/events", "/events/a%2Fb?stream=c", 0, "stream=c", 0, 0,
		  "a/b c", NO_START },
		{ 0, "/events", "/other/x", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events", "/event", 0, "stream=a", 0, 404, NULL, 0 },
		/* "/eventsx" is not below "/events": it is another path. */
		{ 0, "/events", "/eventsx", 0, "stream=a", 0, 404, NULL, 0 },
		{ 0, "/events", "/events-old/a", 0, 0, 0, 404, NULL, 0 },
		/* prefix "/": the whole path */
		{ 0, "/", "/build/42", 0, 0, 0, 0, "build/42", NO_START },
		{ 0, "/", "/", 0, "stream=a", 0, 0, "a", NO_START },
		{ 0, "/", "", 0, "stream=a", 0, 0, "a", NO_START },
		/* escapes in the path */
		{ 0, "/events/", "/events/%", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a%4", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a%zz", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a%00b", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/%2e%2e", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a/%2E%2E/b", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/..", 0, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", "/events/a%0d%0aX:1", 0, 0, 0, 400, NULL, 0 },
	};
	(void)state;

	check_table(cases, NELEM(cases), 32);
}

/* Without a prefix the stream comes from PATH_INFO, already decoded by the
 * server, without its leading slashes; REQUEST_URI is then ignored. */
static void
test_path_info(void **state)
{
	static const struct parse_case cases[] = {
		{ 0, 0, 0, "/build/42", 0, 0, 0, "build/42", NO_START },
		{ 0, 0, 0, "build/42", 0, 0, 0, "build/42", NO_START },
		{ 0, 0, 0, "//a", 0, 0, 0, "a", NO_START },
		{ 0, 0, 0, "/a", "stream=b", 0, 0, "a b", NO_START },
		{ 0, 0, 0, "/a", "stream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, "/", "stream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, "", "stream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, NULL, "stream=a", 0, 0, "a", NO_START },
		{ 0, 0, "/events/zzz", "/a", 0, 0, 0, "a", NO_START },
		{ 0, 0, "/events/zzz", NULL, "stream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, "/", NULL, 0, 400, NULL, 0 },
		{ 0, 0, 0, NULL, NULL, 0, 400, NULL, 0 },
		{ 0, 0, 0, "/a/", 0, 0, 400, NULL, 0 },
		{ 0, 0, 0, "/a//b", 0, 0, 400, NULL, 0 },
		{ 0, 0, 0, "/a/../b", 0, 0, 400, NULL, 0 },
		/* already decoded: a % is a character, and not a valid one */
		{ 0, 0, 0, "/a%2Fb", 0, 0, 400, NULL, 0 },
		{ 0, 0, 0, "/a b", 0, 0, 400, NULL, 0 },
	};
	(void)state;

	check_table(cases, NELEM(cases), 32);
}

/* --streams and SSELOG_STREAMS: where a request may name its streams.
 * By default both the path and stream= do, so a web server's guard on
 * /events/secret/ does not hold against /events/?stream=secret/x; with
 * "path" any stream= (even an encoded key, even an empty value, even the
 * path's own stream) is a 400 rather than ignored, and with "query" any
 * path below the mount is. SSELOG_STREAMS overrides the option either
 * way; empty, it is unset; another word is the site's mistake: 500. */
static void
test_streams_modes(void **state)
{
#define SEC "secret/payroll"
	static const struct {
		enum request_streams mode;
		const char *param;
		struct parse_case c;
		const char *words;	/* a part of the error */
	} cases[] = {
		/* the default: the bypass that the docs now state */
		{ STREAMS_BOTH, NULL, { 0, "/events/", "/events/?stream=" SEC,
		  0, "stream=" SEC, 0, 0, SEC, NO_START }, NULL },
		{ STREAMS_BOTH, NULL, { 0, "/events/", "/events/a?stream=b",
		  0, "stream=b", 0, 0, "a b", NO_START }, NULL },
		/* path: stream= is refused, never ignored */
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/" SEC, 0, 0, 0,
		  0, SEC, NO_START }, NULL },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/?stream=" SEC,
		  0, "stream=" SEC, 0, 400, NULL, 0 },
		  "stream= is not allowed here; the stream is the path" },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/open/1?stream="
		  SEC, 0, "stream=" SEC, 0, 400, NULL, 0 }, "stream=" },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/a?stream=a", 0,
		  "stream=a", 0, 400, NULL, 0 }, "stream=" },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/a?stream=", 0,
		  "stream=", 0, 400, NULL, 0 }, "stream=" },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/a?str%65am=b",
		  0, "str%65am=b", 0, 400, NULL, 0 }, "stream=" },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/a?streams=b&"
		  "Stream=c&lastEventId=5", 0, "streams=b&Stream=c&"
		  "lastEventId=5", 0, 0, "a", 5 }, NULL },
		{ STREAMS_PATH, NULL, { 0, "/events/", "/events/", 0, 0, 0,
		  400, NULL, 0 }, "no stream: name one in the path" },
		{ STREAMS_PATH, NULL, { 0, NULL, 0, "/a", 0, 0, 0, "a",
		  NO_START }, NULL },
		{ STREAMS_PATH, NULL, { 0, NULL, 0, "/a", "stream=b", 0, 400,
		  NULL, 0 }, "stream=" },
		/* query: a path below the mount is refused */
		{ STREAMS_QUERY, NULL, { 0, "/events/", "/events/?stream=a", 0,
		  "stream=a", 0, 0, "a", NO_START }, NULL },
		{ STREAMS_QUERY, NULL, { 0, "/events/", "/events?stream=a", 0,
		  "stream=a", 0, 0, "a", NO_START }, NULL },
		{ STREAMS_QUERY, NULL, { 0, "/events/", "/events/" SEC, 0, 0,
		  0, 400, NULL, 0 }, "a path below the mount is not allowed" },
		{ STREAMS_QUERY, NULL, { 0, "/events/", "/events/a?stream=a", 0,
		  "stream=a", 0, 400, NULL, 0 }, "?stream=NAME" },
		{ STREAMS_QUERY, NULL, { 0, "/events/", "/events/", 0, 0, 0,
		  400, NULL, 0 }, "no stream: name one with ?stream=NAME" },
		{ STREAMS_QUERY, NULL, { 0, "/events/", "/other/a", 0, 0, 0,
		  404, NULL, 0 }, "not found" },
		{ STREAMS_QUERY, NULL, { 0, NULL, 0, "/a", "stream=b", 0, 400,
		  NULL, 0 }, "a path below the mount" },
		{ STREAMS_QUERY, NULL, { 0, NULL, 0, "/", "stream=b", 0, 0, "b",
		  NO_START }, NULL },
		/* SSELOG_STREAMS overrides the option, both ways */
		{ STREAMS_BOTH, "path", { 0, "/events/", "/events/?stream="
		  SEC, 0, "stream=" SEC, 0, 400, NULL, 0 }, "stream=" },
		{ STREAMS_BOTH, "query", { 0, "/events/", "/events/a", 0, 0, 0,
		  400, NULL, 0 }, "a path below the mount" },
		{ STREAMS_PATH, "both", { 0, "/events/", "/events/a?stream=b",
		  0, "stream=b", 0, 0, "a b", NO_START }, NULL },
		{ STREAMS_PATH, "query", { 0, "/events/", "/events/?stream=b",
		  0, "stream=b", 0, 0, "b", NO_START }, NULL },
		{ STREAMS_PATH, "", { 0, "/events/", "/events/?stream=b", 0,
		  "stream=b", 0, 400, NULL, 0 }, "stream=" },
		{ STREAMS_BOTH, "", { 0, "/events/", "/events/?stream=b", 0,
		  "stream=b", 0, 0, "b", NO_START }, NULL },
		/* a bad word from the web server's config */
		{ STREAMS_BOTH, "PATH", { 0, "/events/", "/events/a", 0, 0, 0,
		  500, NULL, 0 }, "SSELOG_STREAMS" },
		{ STREAMS_BOTH, "path ", { 0, "/events/", "/events/a", 0, 0, 0,
		  500, NULL, 0 }, "SSELOG_STREAMS" },
		{ STREAMS_PATH, "none", { 0, "/events/", "/events/a", 0, 0, 0,
		  500, NULL, 0 }, "SSELOG_STREAMS" },
		{ STREAMS_PATH, "bogus", { "POST", "/events/", "/events/a", 0,
		  0, 0, 405, NULL, 0 }, "method" },
	};
#undef SEC
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		check_parse_mode(&cases[i].c, 32, cases[i].mode,
		    cases[i].param, cases[i].words);
}

/* The words of --streams and SSELOG_STREAMS, exactly. */
static void
test_streams_words(void **state)
{
	static const struct {
		const char *word;
		int rc;
		enum request_streams mode;
	} cases[] = {
		{ "both", 0, STREAMS_BOTH },
		{ "path", 0, STREAMS_PATH },
		{ "query", 0, STREAMS_QUERY },
		{ "", -1, 0 },
		{ "Path", -1, 0 },
		{ "paths", -1, 0 },
		{ "pat", -1, 0 },
		{ " query", -1, 0 },
		{ "path,query", -1, 0 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		enum request_streams mode = STREAMS_QUERY;
		if (request_streams_parse(cases[i].word, &mode) !=
		    cases[i].rc)
			fail_msg("\"%s\": want %d", cases[i].word,
			    cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(mode, cases[i].mode);
	}
}

/* stream= may repeat; the names keep their first order, duplicates are
 * dropped, values and keys are URL-decoded (%2F, %2f and + as a space,
 * which no name may hold), empty pieces between & are skipped, and any
 * other parameter, with or without a value, is ignored. */
static void
test_query_streams(void **state)
{
	static const struct parse_case cases[] = {
		{ 0, 0, 0, 0, "stream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, 0, "stream=a&stream=b", 0, 0, "a b", NO_START },
		{ 0, 0, 0, 0, "stream=b&stream=a", 0, 0, "b a", NO_START },
		{ 0, 0, 0, 0, "stream=a&stream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, 0, "stream=b&stream=a&stream=b&stream=a", 0, 0,
		  "b a", NO_START },
		{ 0, 0, 0, 0, "stream=a%2Fb&stream=a/b", 0, 0, "a/b",
		  NO_START },
		{ 0, 0, 0, 0, "stream=build%2F42", 0, 0, "build/42",
		  NO_START },
		{ 0, 0, 0, 0, "stream=build%2f42", 0, 0, "build/42",
		  NO_START },
		{ 0, 0, 0, 0, "stream=build/42", 0, 0, "build/42", NO_START },
		{ 0, 0, 0, 0, "stream=a%3Ab%40c", 0, 0, "a:b@c", NO_START },
		{ 0, 0, 0, 0, "%73tream=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, 0, "st%72eam=a", 0, 0, "a", NO_START },
		{ 0, 0, 0, 0, "stream=a+b", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a%2Bb", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=+a", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "&&stream=a&&", 0, 0, "a", NO_START },
		{ 0, 0, 0, 0, "&", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "foo=bar&stream=a&_=1712345678901&x", 0, 0, "a",
		  NO_START },
		{ 0, 0, 0, 0, "Stream=a&streams=b&stream_=c&stream=d", 0, 0,
		  "d", NO_START },
		{ 0, 0, 0, 0, "stream+=a&stream=b", 0, 0, "b", NO_START },
		{ 0, 0, 0, 0, "=a&stream=b", 0, 0, "b", NO_START },
		{ 0, 0, 0, 0, "stream=a=b", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a;stream=b", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "foo=bar", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "", 0, 400, NULL, 0 },
	};
	(void)state;

	check_table(cases, NELEM(cases), 32);
}

/* ---- limits and names ---- */

/* At most max distinct streams, counting the path's: exactly max is fine,
 * one more is 400, and duplicates do not count. */
static void
test_max_streams(void **state)
{
	static const struct {
		size_t max;
		size_t n;		/* distinct names in the query */
		bool twice;		/* each name given twice */
		const char *path;	/* PATH_INFO, or NULL */
		int status;
	} cases[] = {
		{ 1, 1, false, NULL, 0 },
		{ 1, 1, true, NULL, 0 },
		{ 1, 2, false, NULL, 400 },
		{ 1, 0, false, "/p", 0 },
		{ 1, 1, false, "/p", 400 },
		{ 2, 1, false, "/p", 0 },
		{ 2, 2, false, "/p", 400 },
		{ 3, 3, false, NULL, 0 },
		{ 3, 3, true, NULL, 0 },
		{ 3, 4, false, NULL, 400 },
		{ 32, 32, false, NULL, 0 },
		{ 32, 32, true, NULL, 0 },
		{ 32, 31, false, "/p", 0 },
		{ 32, 32, false, "/p", 400 },
		{ 32, 33, false, NULL, 400 },
		{ 32, 100, false, NULL, 400 },
		{ 1000, 1000, false, NULL, 0 },
		{ 1000, 1001, false, NULL, 400 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t size = (cases[i].n * 2 + 2) * 20;
		char *query = malloc(size), *want = malloc(size);
		size_t qlen = 0, wlen = 0;

		assert_non_null(query);
		assert_non_null(want);
		query[0] = want[0] = '\0';
		if (cases[i].path != NULL)
			wlen += (size_t)snprintf(want, size, "%s",
			    cases[i].path + 1);
		for (size_t k = 0; k < cases[i].n; k++) {
			for (int rep = 0; rep < (cases[i].twice ? 2 : 1);
			    rep++)
				qlen += (size_t)snprintf(query + qlen,
				    size - qlen, "%sstream=s%zu",
				    qlen ? "&" : "", k);
			wlen += (size_t)snprintf(want + wlen, size - wlen,
			    "%ss%zu", wlen ? " " : "", k);
		}
		struct parse_case c = { NULL, NULL, NULL, cases[i].path,
		    query, NULL, cases[i].status, want, NO_START };
		check_parse(&c, cases[i].max);
		free(query);
		free(want);
	}
}

/* A name the schema would refuse is 400 wherever it comes from, also
 * when only decoding makes it bad: dot segments (plain or %2e), CR LF,
 * NUL, empty, over 200 characters, characters outside the set. */
static void
test_bad_names(void **state)
{
	static const char *const bad[] = {
		"..", ".", "a/..", "../a", "a/../b", "a/./b",
		"%2e%2e", "%2E%2E", "%2e", "a/%2e%2e/b", ".%2e",
		"%0d%0a", "a%0d%0ab", "a%0a", "a%0d", "%0a",
		"%00", "a%00", "%00a",
		"", "/a", "a/", "a//b", "%2Fa", "a%2F",
		"a%20b", "a%09b", "%C3%A9", "a%7Fb", "a%ffb",
		"a*b", "a%2Ab", "a?b", "a%3Fb", "a%23b", "a%25b",
	};
	char name200[201], name201[202], query[256];
	(void)state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		snprintf(query, sizeof query, "stream=%s", bad[i]);
		struct parse_case c = { 0, 0, 0, 0, query, 0, 400, NULL, 0 };
		check_parse(&c, 32);
		/* beside a good name, and after it */
		snprintf(query, sizeof query, "stream=ok&stream=%s", bad[i]);
		check_parse(&c, 32);
	}

	/* 200 characters are fine, 201 are not; in the query or the path. */
	memset(name200, 'n', 200);
	name200[200] = '\0';
	memset(name201, 'n', 201);
	name201[201] = '\0';
	const struct parse_case lengths[] = {
		{ 0, 0, 0, 0, "stream=", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&stream=", 0, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=&stream=a", 0, 400, NULL, 0 },
		{ 0, 0, 0, "/", "stream=", 0, 400, NULL, 0 },
	};
	check_table(lengths, NELEM(lengths), 32);

	char q200[220], q201[220], p200[220], p201[220], u200[230], u201[230];
	snprintf(q200, sizeof q200, "stream=%s", name200);
	snprintf(q201, sizeof q201, "stream=%s", name201);
	snprintf(p200, sizeof p200, "/%s", name200);
	snprintf(p201, sizeof p201, "/%s", name201);
	snprintf(u200, sizeof u200, "/events/%s", name200);
	snprintf(u201, sizeof u201, "/events/%s", name201);
	const struct parse_case sized[] = {
		{ 0, 0, 0, 0, q200, 0, 0, name200, NO_START },
		{ 0, 0, 0, 0, q201, 0, 400, NULL, 0 },
		{ 0, 0, 0, p200, 0, 0, 0, name200, NO_START },
		{ 0, 0, 0, p201, 0, 0, 400, NULL, 0 },
		{ 0, "/events/", u200, 0, 0, 0, 0, name200, NO_START },
		{ 0, "/events/", u201, 0, 0, 0, 400, NULL, 0 },
	};
	check_table(sized, NELEM(sized), 32);
}

/* A bad %-escape anywhere in the query, in a key or a value, even of a
 * parameter that would be ignored, is 400: a truncated escape, non-hex
 * digits, a decoded NUL. */
static void
test_malformed_escapes(void **state)
{
	static const char *const queries[] = {
		"stream=%", "stream=%4", "stream=%zz", "stream=%g0",
		"stream=%0g", "stream=a%", "stream=a%4", "stream=%%41",
		"stream=% 41", "stream=%-1", "stream=%00",
		"stream=a&stream=%", "%=a&stream=b", "stream%=a",
		"stream=a&x=%", "stream=a&x=%zz", "stream=a&%zz=1",
		"stream=a&lastEventId=%", "stream=a&x=%00",
	};
	(void)state;

	for (size_t i = 0; i < NELEM(queries); i++) {
		struct parse_case c = { 0, 0, 0, 0, queries[i], 0, 400, NULL,
		    0 };
		check_parse(&c, 32);
	}
}

/* ---- the start position ---- */

/* The Last-Event-ID header, else lastEventId or last_event_id in the
 * query (URL-decoded); the header wins, an empty header is as none; the
 * value is a plain decimal integer from 0 to INT64_MAX, anything else is
 * 400 (even when the stream is fine); no value at all means no start. */
static void
test_start(void **state)
{
	static const struct parse_case cases[] = {
		{ 0, 0, 0, 0, "stream=a", NULL, 0, "a", NO_START },
		{ 0, 0, 0, 0, "stream=a", "0", 0, "a", 0 },
		{ 0, 0, 0, 0, "stream=a", "1", 0, "a", 1 },
		{ 0, 0, 0, 0, "stream=a", "42", 0, "a", 42 },
		{ 0, 0, 0, 0, "stream=a", "0042", 0, "a", 42 },
		{ 0, 0, 0, 0, "stream=a", "9223372036854775807", 0, "a",
		  INT64_MAX },
		{ 0, 0, 0, 0, "stream=a", "9223372036854775808", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "18446744073709551615", 400, NULL,
		  0 },
		{ 0, 0, 0, 0, "stream=a", "18446744073709551616", 400, NULL,
		  0 },
		{ 0, 0, 0, 0, "stream=a", "12345678901234567890", 400, NULL,
		  0 },
		{ 0, 0, 0, 0, "stream=a", "abc", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "-1", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "-0", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "1e3", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "1.0", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "0x10", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", " 5", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "5 ", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "+5", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "5\r\nX-Evil: 1", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a", "", 0, "a", NO_START },
		{ 0, 0, 0, 0, "stream=a&lastEventId=7", "", 0, "a", 7 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=7", NULL, 0, "a", 7 },
		{ 0, 0, 0, 0, "lastEventId=7&stream=a", NULL, 0, "a", 7 },
		{ 0, 0, 0, 0, "stream=a&last_event_id=7", NULL, 0, "a", 7 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=0", NULL, 0, "a", 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=%37", NULL, 0, "a", 7 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=9223372036854775807", NULL,
		  0, "a", INT64_MAX },
		{ 0, 0, 0, 0, "stream=a&lastEventId=5", "9", 0, "a", 9 },
		{ 0, 0, 0, 0, "stream=a&last_event_id=5", "9", 0, "a", 9 },
		{ 0, 0, 0, 0, "lastEventId=5&stream=a", "0", 0, "a", 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=abc", "9", 0, "a", 9 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=5", "abc", 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=abc", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=-1", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=1e3", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=+5", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=%205", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=%2B5", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId", NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lastEventId=9223372036854775808", NULL,
		  400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&last_event_id=12345678901234567890",
		  NULL, 400, NULL, 0 },
		{ 0, 0, 0, 0, "stream=a&lasteventid=abc", NULL, 0, "a",
		  NO_START },
		{ 0, 0, 0, 0, "stream=a&LastEventId=abc", NULL, 0, "a",
		  NO_START },
		{ 0, 0, 0, 0, "stream=a&last-event-id=abc", NULL, 0, "a",
		  NO_START },
		/* a bad start with no stream is still 400, either way */
		{ 0, 0, 0, 0, NULL, "abc", 400, NULL, 0 },
		{ 0, 0, 0, 0, NULL, "5", 400, NULL, 0 },
		{ 0, 0, 0, 0, "lastEventId=5", NULL, 400, NULL, 0 },
		/* with the stream in the path */
		{ 0, "/events/", "/events/a", 0, 0, "3", 0, "a", 3 },
		{ 0, "/events/", "/events/a", 0, 0, "x", 400, NULL, 0 },
		{ "HEAD", 0, 0, 0, "stream=a", "3", 0, "a", 3 },
	};
	(void)state;

	check_table(cases, NELEM(cases), 32);
}

/* ---- errors ---- */

/* Every refusal says what to fix in one line, even when the input holds
 * CR or LF, and never echoes a name into it; a short buffer still gets a
 * terminated (truncated) line. */
static void
test_error_text(void **state)
{
	static const struct {
		const char *query;
		const char *lei;
		int status;
		const char *words;	/* a part of the reason */
	} cases[] = {
		{ NULL, NULL, 400, "stream" },
		{ "stream=a%0d%0aSet-Cookie:x", NULL, 400, "stream name" },
		{ "stream=a&stream=b&stream=c", NULL, 400, "too many" },
		{ "stream=%zz", NULL, 400, "escape" },
		{ "stream=a", "1\r\n2", 400, "Last-Event-ID" },
		{ "stream=a&lastEventId=%0a", NULL, 400, "lastEventId" },
		{ "stream=a&last_event_id=x", NULL, 400, "last_event_id" },
	};
	static const size_t lens[] = { 1, 2, 8, 32, 256 };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		for (size_t k = 0; k < NELEM(lens); k++) {
			struct request_config cfg = { .max_streams = 2 };
			struct request_params p = {
				.query_string = cases[i].query,
				.last_event_id = cases[i].lei,
			};
			struct request req;
			char err[256];

			memset(err, 'X', sizeof err);
			assert_int_equal(request_parse(&cfg, &p, &req, err,
			    lens[k]), cases[i].status);
			assert_true(strnlen(err, lens[k]) < lens[k]);
			assert_null(strpbrk(err, "\r\n"));
			assert_null(req.streams);
			if (lens[k] == 256) {
				if (strstr(err, cases[i].words) == NULL)
					fail_msg("\"%s\" lacks \"%s\"", err,
					    cases[i].words);
				assert_null(strstr(err, "Set-Cookie"));
			}
		}
	}
}

/* ---- url_decode ---- */

/* %XX in either case becomes the byte, + a space only when asked, only
 * len bytes are read; a truncated escape (also one cut by len), a non-hex
 * digit and a decoded NUL are -1 with *out NULL. */
static void
test_url_decode(void **state)
{
	static const struct {
		const char *in;
		size_t len;		/* (size_t)-1: strlen(in) */
		bool plus;
		const char *want;	/* NULL: -1 */
	} cases[] = {
		{ "", (size_t)-1, true, "" },
		{ "abc", (size_t)-1, true, "abc" },
		{ "%41", (size_t)-1, true, "A" },
		{ "%41%42%43", (size_t)-1, true, "ABC" },
		{ "a%2Fb", (size_t)-1, true, "a/b" },
		{ "a%2fb", (size_t)-1, true, "a/b" },
		{ "%e2%82%AC", (size_t)-1, true, "\xe2\x82\xac" },
		{ "%ff%80%01", (size_t)-1, true, "\xff\x80\x01" },
		{ "%0d%0a", (size_t)-1, true, "\r\n" },
		{ "a+b", (size_t)-1, true, "a b" },
		{ "a+b", (size_t)-1, false, "a+b" },
		{ "++", (size_t)-1, true, "  " },
		{ "%2B", (size_t)-1, true, "+" },
		{ "%2B", (size_t)-1, false, "+" },
		{ "%20", (size_t)-1, false, " " },
		{ "%25", (size_t)-1, true, "%" },
		{ "%2541", (size_t)-1, true, "%41" },
		{ "a=b&c", (size_t)-1, true, "a=b&c" },
		{ "abcdef", 3, true, "abc" },
		{ "abc%41", 3, true, "abc" },
		{ "%41%zz", 3, true, "A" },
		{ "abc", 0, true, "" },
		{ "%", (size_t)-1, true, NULL },
		{ "%4", (size_t)-1, true, NULL },
		{ "a%", (size_t)-1, true, NULL },
		{ "a%4", (size_t)-1, true, NULL },
		{ "%zz", (size_t)-1, true, NULL },
		{ "%g0", (size_t)-1, true, NULL },
		{ "%0g", (size_t)-1, true, NULL },
		{ "%%41", (size_t)-1, true, NULL },
		{ "% 4", (size_t)-1, true, NULL },
		{ "%+4", (size_t)-1, true, NULL },
		{ "%x41", (size_t)-1, true, NULL },
		{ "%00", (size_t)-1, true, NULL },
		{ "a%00b", (size_t)-1, false, NULL },
		{ "%41", 2, true, NULL },
		{ "%41", 1, true, NULL },
		{ "ab%4142", 4, true, NULL },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t len = cases[i].len == (size_t)-1 ?
		    strlen(cases[i].in) : cases[i].len;
		static char untouched;
		char *out = &untouched;		/* not NULL until set */
		int rc = url_decode(cases[i].in, len, cases[i].plus, &out);

		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\"/%zu: want -1, got \"%s\"",
				    cases[i].in, len, out);
			assert_null(out);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\"/%zu: want \"%s\", got -1",
			    cases[i].in, len, cases[i].want);
		assert_non_null(out);
		assert_string_equal(out, cases[i].want);
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_path_prefix),
		cmocka_unit_test(test_path_info),
		cmocka_unit_test(test_query_streams),
		cmocka_unit_test(test_streams_modes),
		cmocka_unit_test(test_streams_words),
		cmocka_unit_test(test_max_streams),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_malformed_escapes),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_url_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
