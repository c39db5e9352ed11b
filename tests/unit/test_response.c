/* Unit tests for src/response.h: the CGI header blocks of each response,
 * byte for byte, and the CORS origin check.
 *
 * Besides the exact bytes, every block is read back the way a web server
 * reads a CGI response (RFC 3875 section 6): a Status line first, header
 * lines that end in CRLF, an empty line, then the body, which is either
 * empty or one line of text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "buf.h"
#include "response.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

#define ORIGIN "https://app.example"
#define CORS "Access-Control-Allow-Origin: " ORIGIN "\r\n" \
	"Access-Control-Allow-Credentials: true\r\n" \
	"Vary: Origin\r\n"
/* What any origin gets from "*": never credentials. */
#define CORS_ANY "Access-Control-Allow-Origin: *\r\n" \
	"Vary: Origin\r\n"
#define STREAM_HEADERS "Status: 200 OK\r\n" \
	"Content-Type: text/event-stream; charset=utf-8\r\n" \
	"Cache-Control: no-store\r\n" \
	"X-Accel-Buffering: no\r\n"
#define PLAIN "Content-Type: text/plain; charset=utf-8\r\n"
#define ALLOW "Allow: GET, HEAD, OPTIONS\r\n"

/* What was in the buffer before, which every function must leave alone. */
#define BEFORE "earlier bytes\n"

/* Reads the CGI response at s back: the status line, header lines each of
 * "Name: value" ended by CRLF and holding no other CR or LF, names not
 * repeated, the blank line, and a body of at most one line. Returns the
 * status. */
static int
check_block(const char *s, size_t len, bool want_body)
{
	const char *end = s + len, *p = s;
	char names[32][64];
	size_t nnames = 0;
	int status = -1;

	for (;;) {
		const char *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (crlf == NULL)
			fail_msg("header block without its blank line");
		if (crlf == p) {
			p += 2;
			break;
		}
		size_t line_len = (size_t)(crlf - p);
		assert_null(memchr(p, '\r', line_len));
		assert_null(memchr(p, '\n', line_len));
		const char *colon = memchr(p, ':', line_len);
		assert_non_null(colon);
		assert_true(colon > p);
		assert_true(colon + 2 <= crlf && colon[1] == ' ' &&
		    colon + 2 < crlf);
		size_t name_len = (size_t)(colon - p);
		assert_true(name_len < sizeof names[0]);
		for (size_t i = 0; i < name_len; i++)
			assert_true(p[i] > ' ' && p[i] < 0x7f);
		for (size_t i = 0; i < nnames; i++)
			if (strlen(names[i]) == name_len &&
			    strncasecmp(names[i], p, name_len) == 0)
				fail_msg("header %s repeated", names[i]);
		assert_true(nnames < NELEM(names));
		memcpy(names[nnames], p, name_len);
		names[nnames++][name_len] = '\0';
		if (nnames == 1) {
			assert_string_equal(names[0], "Status");
			status = atoi(colon + 2);
		}
		p = crlf + 2;
	}
	assert_true(status >= 100 && status <= 599);
	size_t body = (size_t)(end - p);
	if (!want_body) {
		assert_int_equal(body, 0);
	} else {
		assert_true(body >= 2);
		assert_int_equal(p[body - 1], '\n');
		assert_null(memchr(p, '\n', body - 1));
		assert_null(memchr(p, '\r', body));
	}
	return status;
}

/* Runs fill into an empty buffer and after earlier bytes; asserts the
 * bytes are want both times and that the block reads back. */
static void
check_output(int (*fill)(struct buf *, const void *), const void *arg,
    const char *want, bool want_body, int want_status)
{
	struct buf out = BUF_INIT;
	size_t want_len = strlen(want);

	assert_int_equal(fill(&out, arg), 0);
	if (out.len != want_len || memcmp(out.data, want, want_len) != 0)
		fail_msg("want\n%s\ngot\n%.*s", want, (int)out.len, out.data);
	assert_int_equal(check_block(out.data, out.len, want_body),
	    want_status);

	buf_clear(&out);
	assert_int_equal(buf_append_str(&out, BEFORE), 0);
	assert_int_equal(fill(&out, arg), 0);
	assert_int_equal(out.len, strlen(BEFORE) + want_len);
	assert_memory_equal(out.data, BEFORE, strlen(BEFORE));
	assert_memory_equal(out.data + strlen(BEFORE), want, want_len);
	buf_free(&out);
}

/* ---- the event stream ---- */

static int
fill_stream(struct buf *out, const void *arg)
{
	return response_stream(out, arg);
}

/* 200 with the event-stream headers that every server needs to stream
 * (X-Accel-Buffering for nginx), and the CORS headers only for an allowed
 * origin: one listed by name is echoed with credentials, "*" goes out
 * as it is without them; Vary: Origin with both. */
static void
test_stream(void **state)
{
	static const struct {
		const char *origin;
		const char *want;
	} cases[] = {
		{ NULL, STREAM_HEADERS "\r\n" },
		{ ORIGIN, STREAM_HEADERS CORS "\r\n" },
		{ "null", STREAM_HEADERS
		  "Access-Control-Allow-Origin: null\r\n"
		  "Access-Control-Allow-Credentials: true\r\n"
		  "Vary: Origin\r\n\r\n" },
		{ "*", STREAM_HEADERS CORS_ANY "\r\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		check_output(fill_stream, cases[i].origin, cases[i].want,
		    false, 200);
}

/* ---- other statuses ---- */

struct status_case {
	int status;
	const char *origin;
	const char *message;
	int retry_after;
	const char *want;
};

static int
fill_status(struct buf *out, const void *arg)
{
	const struct status_case *c = arg;

	return response_status(out, c->status, c->origin, c->message,
	    c->retry_after);
}

/* Each status with its reason phrase and Cache-Control: no-store; no body
 * and no Content-Type without a message (204 above all); a message is one
 * text/plain line; 405 carries Allow; Retry-After only when asked (503),
 * also when 0; CORS headers only for an allowed origin, so that a page on
 * another site can read why it was refused. */
static void
test_status(void **state)
{
	static const struct status_case cases[] = {
		{ 200, NULL, NULL, -1,
		  "Status: 200 OK\r\nCache-Control: no-store\r\n\r\n" },
		{ 204, NULL, NULL, -1,
		  "Status: 204 No Content\r\nCache-Control: no-store\r\n\r\n" },
		{ 204, ORIGIN, NULL, -1,
		  "Status: 204 No Content\r\nCache-Control: no-store\r\n"
		  CORS "\r\n" },
		{ 400, NULL, "no stream: name one in the path or with "
		  "?stream=NAME", -1,
		  "Status: 400 Bad Request\r\nCache-Control: no-store\r\n"
		  PLAIN "Content-Length: 53\r\n\r\n"
		  "no stream: name one in the path or with ?stream=NAME\n" },
		{ 400, ORIGIN, "bad", -1,
		  "Status: 400 Bad Request\r\nCache-Control: no-store\r\n"
		  CORS PLAIN "Content-Length: 4\r\n\r\nbad\n" },
		{ 404, NULL, "not found: this responder serves the paths "
		  "below /events/", -1,
		  "Status: 404 Not Found\r\nCache-Control: no-store\r\n"
		  PLAIN "Content-Length: 58\r\n\r\nnot found: this responder serves "
		  "the paths below /events/\n" },
		{ 405, NULL, "method not allowed: use GET to subscribe", -1,
		  "Status: 405 Method Not Allowed\r\nCache-Control: no-store\r\n"
		  ALLOW PLAIN "Content-Length: 41\r\n"
		  "\r\nmethod not allowed: use GET to subscribe\n" },
		{ 405, ORIGIN, "use GET", -1,
		  "Status: 405 Method Not Allowed\r\nCache-Control: no-store\r\n"
		  CORS ALLOW PLAIN "Content-Length: 8\r\n\r\nuse GET\n" },
		{ 500, NULL, "the event log cannot be read", -1,
		  "Status: 500 Internal Server Error\r\n"
		  "Cache-Control: no-store\r\n"
		  PLAIN "Content-Length: 29\r\n\r\nthe event log cannot be read\n" },
		{ 503, NULL, "too many clients: try again later", 5,
		  "Status: 503 Service Unavailable\r\nCache-Control: no-store\r\n"
		  "Retry-After: 5\r\n"
		  PLAIN "Content-Length: 34\r\n"
		  "\r\ntoo many clients: try again later\n" },
		{ 503, NULL, "restarting", 0,
		  "Status: 503 Service Unavailable\r\nCache-Control: no-store\r\n"
		  "Retry-After: 0\r\n" PLAIN "Content-Length: 11\r\n\r\nrestarting\n" },
		{ 503, ORIGIN, "restarting", 1,
		  "Status: 503 Service Unavailable\r\nCache-Control: no-store\r\n"
		  CORS "Retry-After: 1\r\n" PLAIN "Content-Length: 11\r\n\r\nrestarting\n" },
		{ 503, "*", "restarting", 1,
		  "Status: 503 Service Unavailable\r\nCache-Control: no-store\r\n"
		  CORS_ANY "Retry-After: 1\r\n" PLAIN "Content-Length: 11\r\n\r\nrestarting\n" },
		{ 405, "*", "use GET", -1,
		  "Status: 405 Method Not Allowed\r\nCache-Control: no-store\r\n"
		  CORS_ANY ALLOW PLAIN "Content-Length: 8\r\n\r\nuse GET\n" },
		{ 503, NULL, NULL, 86400,
		  "Status: 503 Service Unavailable\r\nCache-Control: no-store\r\n"
		  "Retry-After: 86400\r\n\r\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		check_output(fill_status, &cases[i], cases[i].want,
		    cases[i].message != NULL, cases[i].status);
}

/* A message longer than any internal scratch space comes out whole. */
static void
test_long_message(void **state)
{
	static const size_t lens[] = { 1, 100, 127, 128, 200, 4000 };
	(void)state;

	for (size_t i = 0; i < NELEM(lens); i++) {
		char *msg = malloc(lens[i] + 1);
		struct buf want = BUF_INIT;

		assert_non_null(msg);
		memset(msg, 'm', lens[i]);
		msg[lens[i]] = '\0';
		assert_int_equal(buf_printf(&want, "Status: 400 Bad Request\r\n"
		    "Cache-Control: no-store\r\n" PLAIN "Content-Length: %zu\r\n"
		    "\r\n%s\n", lens[i] + 1, msg), 0);
		assert_int_equal(buf_append(&want, "", 1), 0);
		struct status_case c = { 400, NULL, msg, -1, want.data };
		check_output(fill_status, &c, want.data, true, 400);
		buf_free(&want);
		free(msg);
	}
}

/* ---- preflight ---- */

static int
fill_preflight(struct buf *out, const void *arg)
{
	return response_preflight(out, arg, false);
}

static int
fill_preflight_publish(struct buf *out, const void *arg)
{
	return response_preflight(out, arg, true);
}

static int
fill_not_allowed(struct buf *out, const void *arg)
{
	return response_not_allowed(out, arg, "use GET", false);
}

static int
fill_not_allowed_publish(struct buf *out, const void *arg)
{
	return response_not_allowed(out, arg, "use GET", true);
}

#define PREFLIGHT "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n" \
	"Access-Control-Allow-Headers: Authorization, Content-Type, " \
	"Idempotency-Key, Last-Event-ID, Cache-Control\r\n" \
	"Access-Control-Max-Age: 86400\r\n"

/* OPTIONS: 204 with Allow; for an allowed origin also the CORS preflight
 * answer, which admits, by name, the request headers of design.md's
 * access control (Authorization, Content-Type, Idempotency-Key,
 * Last-Event-ID) and Cache-Control, which EventSource polyfills send, and
 * may be cached for a day; credentials only for an origin listed by
 * name. */
static void
test_preflight(void **state)
{
	static const struct {
		const char *origin;
		const char *want;
	} cases[] = {
		{ NULL, "Status: 204 No Content\r\n" ALLOW "\r\n" },
		{ ORIGIN, "Status: 204 No Content\r\n" ALLOW CORS PREFLIGHT
		  "\r\n" },
		{ "*", "Status: 204 No Content\r\n" ALLOW CORS_ANY PREFLIGHT
		  "\r\n" },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		check_output(fill_preflight, cases[i].origin, cases[i].want,
		    false, 204);
}

#define ALLOW_PUBLISH "Allow: GET, HEAD, OPTIONS, POST, PUT, DELETE\r\n"
#define PREFLIGHT_PUBLISH "Access-Control-Allow-Methods: GET, HEAD, " \
	"OPTIONS, POST, PUT, DELETE\r\n" \
	"Access-Control-Allow-Headers: Authorization, Content-Type, " \
	"Idempotency-Key, Last-Event-ID, Cache-Control\r\n" \
	"Access-Control-Max-Age: 86400\r\n"

/* With --publish, Allow and the preflight's Access-Control-Allow-Methods
 * add POST, PUT and DELETE; without it, a 405 and the preflight name only
 * the reading methods, so that a page does not even try to write. */
static void
test_methods_with_publish(void **state)
{
	static const char *const origins[] = { NULL, ORIGIN, "*" };
	static const char *const cors[] = { "", CORS, CORS_ANY };
	(void)state;

	for (size_t i = 0; i < NELEM(origins); i++) {
		char want[1024];
		snprintf(want, sizeof want, "Status: 204 No Content\r\n"
		    ALLOW_PUBLISH "%s%s\r\n", cors[i], origins[i] ?
		    PREFLIGHT_PUBLISH : "");
		check_output(fill_preflight_publish, origins[i], want, false,
		    204);
		snprintf(want, sizeof want, "Status: 405 Method Not Allowed"
		    "\r\nCache-Control: no-store\r\n%s" ALLOW_PUBLISH PLAIN
		    "Content-Length: 8\r\n\r\nuse GET\n", cors[i]);
		check_output(fill_not_allowed_publish, origins[i], want, true,
		    405);
		snprintf(want, sizeof want, "Status: 405 Method Not Allowed"
		    "\r\nCache-Control: no-store\r\n%s" ALLOW PLAIN
		    "Content-Length: 8\r\n\r\nuse GET\n", cors[i]);
		check_output(fill_not_allowed, origins[i], want, true, 405);
	}
}

/* ---- CORS ---- */

/* An origin listed by name, compared exactly (scheme, host and port; no
 * prefix, suffix or case folding), is answered with itself (the same
 * pointer: credentials allowed), also when the list holds "*" as well;
 * any other origin, when the list holds "*", with "*" (no credentials);
 * no Origin or an empty list allows nothing. */
static void
test_cors_allowed(void **state)
{
	static const char *const two[] = { "https://a.example",
	    "http://b.example:8080" };
	static const char *const star[] = { "*" };
	static const char *const mixed[] = { "https://a.example", "*" };
	static const char *const star_first[] = { "*", "https://a.example" };
	static const char *const null_named[] = { "null" };
	enum answer { NONE, ITSELF, ANY };
	static const struct {
		const char *const *origins;
		size_t n;
		const char *origin;
		enum answer want;
	} cases[] = {
		{ two, 2, "https://a.example", ITSELF },
		{ two, 2, "http://b.example:8080", ITSELF },
		{ two, 2, "http://a.example", NONE },
		{ two, 2, "https://a.example:443", NONE },
		{ two, 2, "https://a.example/", NONE },
		{ two, 2, "https://a.example.evil", NONE },
		{ two, 2, "https://evil.a.example", NONE },
		{ two, 2, "https://a.exampl", NONE },
		{ two, 2, "HTTPS://A.EXAMPLE", NONE },
		{ two, 2, "http://b.example", NONE },
		{ two, 2, "null", NONE },
		{ two, 2, "", NONE },
		{ two, 2, "*", NONE },
		{ two, 2, NULL, NONE },
		{ two, 1, "http://b.example:8080", NONE },
		{ two, 0, "https://a.example", NONE },
		{ star, 1, "https://anything.example", ANY },
		{ star, 1, "https://a.example", ANY },
		{ star, 1, "null", ANY },
		{ star, 1, "", ANY },
		{ star, 1, NULL, NONE },
		{ star, 0, "https://a.example", NONE },
		{ mixed, 2, "https://a.example", ITSELF },
		{ mixed, 2, "https://z.example", ANY },
		{ mixed, 2, "HTTPS://A.EXAMPLE", ANY },
		{ mixed, 2, NULL, NONE },
		{ star_first, 2, "https://a.example", ITSELF },
		{ star_first, 2, "https://z.example", ANY },
		{ null_named, 1, "null", ITSELF },
		{ null_named, 1, "https://a.example", NONE },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct cors cors = { cases[i].origins, cases[i].n };
		const char *origin = cases[i].origin;
		const char *got = cors_allowed(&cors, origin);

		switch (cases[i].want) {
		case NONE:
			if (got != NULL)
				fail_msg("case %zu: \"%s\" allowed as \"%s\"",
				    i, origin ? origin : "(null)", got);
			break;
		case ITSELF:
			if (got != origin)
				fail_msg("case %zu: \"%s\" answered with \"%s\"",
				    i, origin, got ? got : "(null)");
			break;
		case ANY:
			if (got == NULL || strcmp(got, "*") != 0)
				fail_msg("case %zu: \"%s\" answered with \"%s\","
				    " not \"*\"", i, origin,
				    got ? got : "(null)");
			break;
		}
	}
}

/* From the request's Origin to the headers, as the responder chains them:
 * credentials never go with "*", and always with an origin listed by
 * name. */
static void
test_cors_headers(void **state)
{
	static const char *const mixed[] = { ORIGIN, "*" };
	static const struct {
		const char *origin;
		const char *want;
	} cases[] = {
		{ ORIGIN, STREAM_HEADERS CORS "\r\n" },
		{ "https://other.example", STREAM_HEADERS CORS_ANY "\r\n" },
		{ NULL, STREAM_HEADERS "\r\n" },
	};
	struct cors cors = { mixed, NELEM(mixed) };
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		check_output(fill_stream, cors_allowed(&cors, cases[i].origin),
		    cases[i].want, false, 200);
}

/* The metrics: 200, the exposition format's type with its version, the
 * length of the body and the body (HEAD: the same length, no body); any
 * other method 405 allowing GET and HEAD alone. */
static void
test_metrics(void **state)
{
	struct buf body = BUF_INIT, out = BUF_INIT;
	static const char head[] = "Status: 200 OK\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: 13\r\n\r\n";
	(void)state;

	assert_int_equal(buf_append_str(&body, "sselog_x 1\n# "), 0);
	assert_int_equal(response_metrics(&out, &body, false), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	assert_string_equal(out.data, "Status: 200 OK\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: 13\r\n\r\nsselog_x 1\n# ");
	buf_clear(&out);
	assert_int_equal(response_metrics(&out, &body, true), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	assert_string_equal(out.data, head);
	buf_clear(&out);
	assert_int_equal(response_metrics_not_allowed(&out), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	assert_string_equal(out.data, "Status: 405 Method Not Allowed\r\n"
	    "Cache-Control: no-store\r\nAllow: GET, HEAD\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 52\r\n\r\n"
	    "method not allowed: the metrics answer GET and HEAD\n");
	buf_free(&body);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_methods_with_publish),
		cmocka_unit_test(test_cors_allowed),
		cmocka_unit_test(test_cors_headers),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
