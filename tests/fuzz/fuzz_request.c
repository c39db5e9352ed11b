/* Fuzz target: CGI/FastCGI parameters -> request (src/request.h).
 *
 * Input: a flags byte (which variables the server left out), a method
 * selector, max_streams, the size of the error buffer, then the strings
 * QUERY_STRING, REQUEST_URI, PATH_INFO, Last-Event-ID, Origin, the prefix
 * and a raw method, each up to a NUL. Whatever they hold, request_parse()
 * must answer 0, 400, 404 or 405; on an error write one non-empty line that
 * fits the buffer and leave the request owning nothing; on success give
 * between 1 and max_streams distinct stream names, each valid per
 * validate_stream(), and take the start from the Last-Event-ID header
 * when it is there. A success is also compared with what a reference
 * reading of the query string and the path expects: every stream= name
 * and the name in the path followed, nothing else, and the start from
 * the last lastEventId or last_event_id when no header gives it. The two
 * high bits of the flags byte choose --streams: with path, a success
 * means that no stream= was there; with query, that no path was.
 */
#include "fuzz.h"
#include "number.h"
#include "request.h"
#include "validate.h"

enum {
	F_NO_QUERY = 1 << 0,
	F_NO_URI = 1 << 1,
	F_NO_PATH = 1 << 2,
	F_NO_LAST_ID = 1 << 3,
	F_NO_ORIGIN = 1 << 4,
	F_NO_PREFIX = 1 << 5,
	F_STREAMS_SHIFT = 6,	/* 0 both, 1 path, 2 query, 3 both */
};

/* A reference %-decoder: NULL when s is malformed or decodes to NUL. */
static char *
ref_decode(const char *s, size_t n, bool plus_is_space)
{
	static const char hex[] = "0123456789abcdef";
	char *out = malloc(n + 1);
	size_t o = 0;

	CHECK(out != NULL);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i] == '+' && plus_is_space ? ' ' : s[i];
			continue;
		}
		const char *h, *l;
		if (n - i < 3 || s[i + 1] == '\0' || s[i + 2] == '\0' ||
		    (h = strchr(hex, s[i + 1] | 0x20)) == NULL ||
		    (l = strchr(hex, s[i + 2] | 0x20)) == NULL ||
		    (h == hex && l == hex)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)((h - hex) << 4 | (l - hex));
		i += 2;
	}
	out[o] = '\0';
	return out;
}

/* The names a successful request must follow, from a reading of the query
 * string and the path of its own. */
struct expected {
	char *names[512];
	size_t n;
	const char *start;	/* the last lastEventId= value, or NULL */
	char *start_owned;
};

static void
expect_name(struct expected *e, char *name)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->names[i], name) == 0) {
			free(name);
			return;
		}
	}
	CHECK(e->n < sizeof e->names / sizeof e->names[0]);
	e->names[e->n++] = name;
}

static void
expect_request(struct expected *e, const struct request_config *cfg,
    const struct request_params *p)
{
	/* The path: below the prefix in REQUEST_URI, else PATH_INFO. */
	if (cfg->prefix != NULL) {
		const char *uri = p->request_uri ? p->request_uri : "";
		size_t ulen = strcspn(uri, "?#"), plen = strlen(cfg->prefix);
		if (ulen >= plen && strncmp(uri, cfg->prefix, plen) == 0) {
			const char *rest = uri + plen;
			size_t rlen = ulen - plen;
			if (cfg->prefix[plen - 1] != '/' && rlen > 0) {
				rest++;		/* the '/' after "/events" */
				rlen--;
			}
			if (rlen > 0) {
				CHECK(cfg->streams != STREAMS_QUERY);
				char *name = ref_decode(rest, rlen, false);
				CHECK(name != NULL);
				expect_name(e, name);
			}
		}
	} else if (p->path_info != NULL) {
		const char *info = p->path_info + strspn(p->path_info, "/");
		if (*info != '\0') {
			CHECK(cfg->streams != STREAMS_QUERY);
			char *name = strdup(info);
			CHECK(name != NULL);
			expect_name(e, name);
		}
	}
	/* The query: split on '&', then on the first '='. */
	const char *q = p->query_string ? p->query_string : "";
	while (*q != '\0') {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		size_t klen = eq ? (size_t)(eq - q) : len;
		if (len > 0) {
			char *key = ref_decode(q, klen, true);
			char *value = eq ? ref_decode(eq + 1, len - klen - 1,
			    true) : strdup("");
			/* A success means the query was well-formed. */
			CHECK(key != NULL && value != NULL);
			if (strcmp(key, "stream") == 0) {
				CHECK(cfg->streams != STREAMS_PATH);
				expect_name(e, value);
				value = NULL;
			} else if (strcmp(key, "lastEventId") == 0 ||
			    strcmp(key, "last_event_id") == 0) {
				free(e->start_owned);
				e->start = e->start_owned = value;
				value = NULL;
			}
			free(key);
			free(value);
		}
		q += len;
		if (*q == '&')
			q++;
	}
}

static void
expected_free(struct expected *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->names[i]);
	free(e->start_owned);
}

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	struct input in = { bytes, size };
	uint8_t flags = take_u8(&in);
	uint8_t method_sel = take_u8(&in);
	size_t max_streams = take_u8(&in) % 40 + 1;	/* --max-streams >= 1 */
	size_t errlen = take_u8(&in) % 200 + 1;
	char *query = take_string(&in, NULL);
	char *uri = take_string(&in, NULL);
	char *path = take_string(&in, NULL);
	char *last_id = take_string(&in, NULL);
	char *origin = take_string(&in, NULL);
	char *prefix = take_string(&in, NULL);
	char *raw_method = take_string(&in, NULL);

	static const char *const methods[] = {
		NULL, "GET", "HEAD", "OPTIONS", "POST", "get", "",
	};
	size_t nmethods = sizeof methods / sizeof methods[0];
	const char *method = method_sel < nmethods ? methods[method_sel] :
	    raw_method;

	struct request_params p = {
		.method = method,
		.query_string = flags & F_NO_QUERY ? NULL : query,
		.request_uri = flags & F_NO_URI ? NULL : uri,
		.path_info = flags & F_NO_PATH ? NULL : path,
		.last_event_id = flags & F_NO_LAST_ID ? NULL : last_id,
		.origin = flags & F_NO_ORIGIN ? NULL : origin,
	};
	/* sselog-fcgi refuses a --prefix that does not start with '/'. */
	bool prefix_ok = prefix[0] == '/';
	struct request_config cfg = {
		.prefix = flags & F_NO_PREFIX || !prefix_ok ? NULL : prefix,
		.max_streams = max_streams,
		.streams = (unsigned)flags >> F_STREAMS_SHIFT == 1 ?
		    STREAMS_PATH : (unsigned)flags >> F_STREAMS_SHIFT == 2 ?
		    STREAMS_QUERY : STREAMS_BOTH,
	};
	/* Exactly errlen bytes, so that writing past them is caught. */
	char *err = malloc(errlen);
	CHECK(err != NULL);
	memset(err, 'X', errlen);
	struct request req;
	memset(&req, 0xA5, sizeof req);

	int status = request_parse(&cfg, &p, &req, err, errlen);
	const char *m = method ? method : "GET";

	if (status != 0) {
		CHECK(status == 400 || status == 404 || status == 405);
		CHECK(req.streams == NULL && req.nstreams == 0);
		size_t elen = strnlen(err, errlen);
		CHECK(elen < errlen);			/* NUL-terminated */
		CHECK(errlen == 1 || elen > 0);		/* says something */
		/* The 404 line names the prefix: one line as long as the
		 * operator's --prefix is (sselog-fcgi does not check). */
		if (cfg.prefix == NULL || strpbrk(cfg.prefix, "\r\n") == NULL)
			CHECK(one_line(err, elen));
		if (status == 405)
			CHECK(strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
			    strcmp(m, "OPTIONS") != 0);
		if (status == 404)
			CHECK(cfg.prefix != NULL);
	} else if (strcmp(m, "OPTIONS") == 0) {
		CHECK(req.kind == REQUEST_PREFLIGHT);
	} else {
		CHECK(strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0);
		CHECK(req.kind == (strcmp(m, "GET") == 0 ? REQUEST_SUBSCRIBE :
		    REQUEST_HEAD));
		CHECK(req.nstreams >= 1 && req.nstreams <= max_streams);
		for (size_t i = 0; i < req.nstreams; i++) {
			CHECK(validate_stream(req.streams[i]) == NULL);
			for (size_t j = 0; j < i; j++)
				CHECK(strcmp(req.streams[i],
				    req.streams[j]) != 0);
		}
		if (p.last_event_id != NULL && p.last_event_id[0] != '\0') {
			int64_t want;
			CHECK(parse_event_id(p.last_event_id, &want) == NULL);
			CHECK(req.start_given && req.start == want);
		}
		if (req.start_given)
			CHECK(req.start >= 0);

		struct expected e = { .n = 0 };
		expect_request(&e, &cfg, &p);
		CHECK(req.nstreams == e.n);
		for (size_t i = 0; i < e.n; i++) {
			size_t j = 0;
			while (j < req.nstreams &&
			    strcmp(req.streams[j], e.names[i]) != 0)
				j++;
			CHECK(j < req.nstreams);
		}
		if (p.last_event_id == NULL || p.last_event_id[0] == '\0') {
			CHECK(req.start_given == (e.start != NULL));
			int64_t want;
			if (e.start != NULL)
				CHECK(parse_event_id(e.start, &want) == NULL &&
				    req.start == want);
		}
		expected_free(&e);
	}
	request_free(&req);
	request_free(&req);	/* harmless twice: it leaves nothing owned */

	free(err);
	free(query);
	free(uri);
	free(path);
	free(last_id);
	free(origin);
	free(prefix);
	free(raw_method);
	return 0;
}
