/* sse-load: holds many text/event-stream connections open and checks what
 * arrives on them. A load client for the benchmarks and the scale tests,
 * not part of sselog itself. Linux only (epoll).
 *
 *   sse-load --port 8080 --path /events/x --connections 5000 \
 *       [--host 127.0.0.1] [--bind 127.0.0.2,127.0.0.3] [--procs N]
 *       [--expect N] [--timeout SECONDS] [--connect-timeout SECONDS]
 *       [--ramp N] [--last-event-id ID] [--http10] [--progress FILE]
 *       [--header 'NAME: VALUE']
 *
 * Each connection sends an HTTP/1.1 GET, as EventSource does (--http10
 * sends HTTP/1.0), and reads the response with a text/event-stream parser
 * (WHATWG HTML, "Server-sent events"), chunked transfer coding included.
 * Connections are opened without blocking, at most --ramp (256) at a time
 * waiting for their response headers; one that has no headers after
 * --connect-timeout (30) seconds counts as failed, as does any answer but
 * 200. --bind spreads the connections over source addresses (loopback
 * 127.0.0.x: each gives its own 28,000 ports). --procs spreads them over
 * that many processes (each may hold only as many descriptors as its
 * limit on open files allows).
 *
 * It prints "connected N" once every connection has its response headers
 * or has failed (a publisher waits for that line), then, when every
 * connection has received --expect events (or at --timeout, or when every
 * response has ended), one summary line of key=value pairs:
 *
 *   connections failed ended short events dups gaps p50_ms p99_ms max_ms
 *   start_ns connected_ns first_ns last_ns secs cpu_s
 *
 * short counts connections that got fewer than --expect events. The _ns
 * figures are CLOCK_REALTIME: when it started, when the last connection
 * got its headers, when the first and the last event arrived; secs is
 * from the start to the last event; cpu_s is the CPU time the client
 * itself used, all its processes together.
 *
 * Events whose data is "SEQ NS" (a sequence number and the publisher's
 * CLOCK_REALTIME in ns) are checked: a sequence number not one more than
 * the last on that connection is a gap (or a duplicate when not larger),
 * and the latency is now minus NS. Ids must grow on every connection (an
 * id is compared as its numbers in order: sselog's "42", nchan's
 * "1700000000:3").
 *
 * --progress FILE (for bench/sse-pub's flow control) creates FILE and keeps
 * in it, per process, the lowest sequence number every open connection
 * has reached; when a publisher writes its last sequence number there,
 * that is what every connection must get (instead of --expect).
 *
 * Exit status 0 when no connection failed and nothing was lost or
 * duplicated, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define LINE_SIZE 8192		/* per connection: headers, a partial line */
#define RAW_SIZE 65536		/* one read, shared */
#define DATA_SIZE 64		/* enough of an event's data for "SEQ NS" */
#define MAX_PROCS 64

/* Latency histogram: microseconds, log-linear, 1/1024 relative precision
 * (values below 2048 us exact). */
#define SUB_BITS 10
#define SUB (1 << SUB_BITS)
#define NBUCKETS (SUB * 40)

enum state { S_CONNECTING, S_HEADERS, S_BODY, S_CLOSED };
enum chunk { CH_SIZE, CH_EXT, CH_DATA, CH_CRLF, CH_END };

struct conn {
	int fd;
	uint8_t state, chunk;
	bool chunked, has_data, has_id, failed, ended;
	uint64_t chunk_left;
	int64_t opened_ms;
	/* the event being parsed */
	int64_t id_a, id_b;
	char data[DATA_SIZE];
	uint32_t data_len;
	/* what this connection saw */
	bool seen_id;
	int64_t last_a, last_b;
	int64_t last_seq;
	long events;
	uint32_t len;
	char *buf;		/* LINE_SIZE bytes, allocated on connect */
};

/* Why a connection failed. */
enum why { W_OPEN, W_CONNECT, W_STATUS, W_CLOSED, W_TIMEOUT, W_N };
static const char *const why_name[W_N] = { "open", "connect", "status",
	"closed", "timeout" };

/* What one process found, in memory shared with the parent. */
struct result {
	long connected, failed, ended, missing, events, dups, gaps;
	long why[W_N];
	int first_errno;
	int64_t connected_ns, first_ns, last_ns;
	uint64_t hist[NBUCKETS];
};

static struct {
	const char *host, *path, *last_event_id, *progress;
	const char *header;	/* one more request header, or NULL */
	int port, connections, expect, timeout_s, connect_timeout_s, ramp,
	    procs;
	bool http10;
	char **binds;
	int nbinds;
} opt = { .host = "127.0.0.1", .connections = 1, .timeout_s = 60,
	.connect_timeout_s = 30, .ramp = 256, .procs = 1 };

static struct result *res;	/* this process's */
static volatile int64_t *progress;	/* the --progress file (bench.h) */
static int proc_index;
static char raw[RAW_SIZE];
static char request[16384];	/* a token may ride in --header */
static int request_len;

static int64_t
mono_ms(void)
{
	return mono_ns() / 1000000;
}

static size_t
bucket_of(uint64_t us)
{
	if (us < 2 * SUB)
		return (size_t)us;
	int shift = 63 - __builtin_clzll(us) - SUB_BITS;
	size_t b = (size_t)(shift + 1) * SUB + (size_t)((us >> shift) - SUB);
	return b < NBUCKETS ? b : NBUCKETS - 1;
}

static double
value_of(size_t b)
{
	if (b < 2 * SUB)
		return (double)b;
	int shift = (int)(b / SUB) - 1;
	uint64_t lo = ((uint64_t)(b % SUB) + SUB) << shift;
	return (double)lo + (double)((1ULL << shift) - 1) / 2;
}

static void
note_latency(int64_t ns)
{
	res->hist[bucket_of(ns > 0 ? (uint64_t)ns / 1000 : 0)]++;
}

static void
fail(struct conn *c, enum why why, int err)
{
	if (c->failed || c->ended)
		return;
	c->failed = true;
	res->failed++;
	res->why[why]++;
	if (err != 0 && res->first_errno == 0)
		res->first_errno = err;
}

/* Parses "SEQ NS" at the start of the data; 0 when it is not that. */
static int
parse_seq(const char *s, long long *seq, long long *ns)
{
	long long a = 0, b = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		a = a * 10 + (*p++ - '0');
	if (*p++ != ' ' || *p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		b = b * 10 + (*p++ - '0');
	*seq = a;
	*ns = b;
	return 1;
}

static void
dispatch(struct conn *c)
{
	if (!c->has_data)
		return;
	c->has_data = false;
	if (c->has_id) {
		if (c->seen_id && (c->id_a < c->last_a ||
		    (c->id_a == c->last_a && c->id_b <= c->last_b)))
			res->dups++;
		c->last_a = c->id_a;
		c->last_b = c->id_b;
		c->seen_id = true;
	}
	c->data[c->data_len] = '\0';
	long long seq, ns;
	int64_t t = now_ns();
	if (parse_seq(c->data, &seq, &ns)) {
		if (c->last_seq >= 0 && seq <= c->last_seq)
			res->dups++;
		else if (c->last_seq >= 0 && seq != c->last_seq + 1)
			res->gaps++;
		c->last_seq = seq;
		note_latency(t - ns);
	}
	if (res->first_ns == 0)
		res->first_ns = t;
	res->last_ns = t;
	c->events++;
	res->events++;
	c->data_len = 0;
}

/* An id's numbers, in order (at most two): "42", "1700000000:3". */
static void
parse_id(struct conn *c, const char *v, size_t n)
{
	int64_t x[2] = { 0, 0 };
	int k = 0;
	bool in = false;

	for (size_t i = 0; i < n && k < 2; i++) {
		if (v[i] >= '0' && v[i] <= '9') {
			x[k] = x[k] * 10 + (v[i] - '0');
			in = true;
		} else if (in) {
			k++;
			in = false;
		}
	}
	c->id_a = x[0];
	c->id_b = x[1];
	c->has_id = true;
}

/* One line of the event stream, without its LF. */
static void
line(struct conn *c, char *l, size_t n)
{
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0) {
		dispatch(c);
		c->has_id = false;
		c->data_len = 0;
		return;
	}
	if (l[0] == ':')
		return;
	char *colon = memchr(l, ':', n);
	size_t fl = colon ? (size_t)(colon - l) : n;
	char *v = colon ? colon + 1 : l + n;
	size_t vl = colon ? n - fl - 1 : 0;
	if (vl > 0 && v[0] == ' ') {
		v++;
		vl--;
	}
	if (fl == 2 && memcmp(l, "id", 2) == 0) {
		parse_id(c, v, vl);
	} else if (fl == 4 && memcmp(l, "data", 4) == 0) {
		if (c->has_data && c->data_len < DATA_SIZE - 1)
			c->data[c->data_len++] = '\n';
		size_t room = DATA_SIZE - 1 - c->data_len;
		memcpy(c->data + c->data_len, v, vl < room ? vl : room);
		c->data_len += (uint32_t)(vl < room ? vl : room);
		c->has_data = true;
	}
}

/* Body bytes: split into lines. */
static void
text(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		size_t m = LINE_SIZE - c->len;
		if (m > n)
			m = n;
		memcpy(c->buf + c->len, p, m);
		c->len += (uint32_t)m;
		p += m;
		n -= m;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(c->buf + start, '\n', c->len - start);
			if (nl == NULL)
				break;
			line(c, c->buf + start, (size_t)(nl - c->buf) - start);
			start = (size_t)(nl - c->buf) + 1;
		}
		if (start > 0) {
			memmove(c->buf, c->buf + start, c->len - start);
			c->len -= (uint32_t)start;
		} else if (c->len == LINE_SIZE) {
			c->len = 0;	/* an overlong line: drop it */
		}
	}
}

/* The response body as it comes off the wire: undo chunked coding. */
static void
body(struct conn *c, const char *p, size_t n)
{
	if (!c->chunked) {
		text(c, p, n);
		return;
	}
	while (n > 0 && c->chunk != CH_END) {
		switch (c->chunk) {
		case CH_SIZE: {
			int v = hex_value((unsigned char)*p);
			if (v >= 0) {
				c->chunk_left = c->chunk_left * 16 + (uint64_t)v;
			} else if (*p == '\n') {
				c->chunk = c->chunk_left ? CH_DATA : CH_END;
			} else {
				c->chunk = CH_EXT;
			}
			p++;
			n--;
			break;
		}
		case CH_EXT:
			if (*p == '\n')
				c->chunk = c->chunk_left ? CH_DATA : CH_END;
			p++;
			n--;
			break;
		case CH_DATA: {
			size_t m = n < c->chunk_left ? n : (size_t)c->chunk_left;
			text(c, p, m);
			p += m;
			n -= m;
			c->chunk_left -= m;
			if (c->chunk_left == 0)
				c->chunk = CH_CRLF;
			break;
		}
		case CH_CRLF:
			if (*p == '\n') {
				c->chunk = CH_SIZE;
				c->chunk_left = 0;
			}
			p++;
			n--;
			break;
		}
	}
}

/* Looks at the response headers in c->buf[0, len). */
static bool
headers(struct conn *c, size_t len)
{
	if (len < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0 ||
	    memcmp(c->buf + 9, "200", 3) != 0)
		return false;
	c->chunked = false;
	for (char *l = memchr(c->buf, '\n', len); l != NULL &&
	    l < c->buf + len; l = memchr(l, '\n', (size_t)(c->buf + len - l))) {
		l++;
		if (strncasecmp(l, "transfer-encoding:", 18) == 0) {
			char *e = memchr(l, '\n', (size_t)(c->buf + len - l));
			size_t ll = e ? (size_t)(e - l) : 0;
			if (memmem(l, ll, "chunked", 7) != NULL)
				c->chunked = true;
		}
	}
	return true;
}

static void
received(struct conn *c, const char *p, size_t n)
{
	if (c->state == S_HEADERS) {
		size_t old = c->len, m = LINE_SIZE - 1 - c->len;
		if (m > n)
			m = n;
		memcpy(c->buf + c->len, p, m);
		c->len += (uint32_t)m;
		c->buf[c->len] = '\0';
		size_t from = old > 3 ? old - 3 : 0;
		char *end = memmem(c->buf + from, c->len - from, "\r\n\r\n", 4);
		if (end == NULL) {
			if (c->len == LINE_SIZE - 1)
				fail(c, W_STATUS, 0);
			return;
		}
		size_t hlen = (size_t)(end - c->buf) + 4;
		if (!headers(c, hlen)) {
			fail(c, W_STATUS, 0);
			return;
		}
		c->state = S_BODY;
		res->connected++;
		c->len = 0;
		size_t used = hlen - old;
		p += used;
		n -= used;
	}
	body(c, p, n);
}

static int waiting;	/* connections opened, without headers yet */

/* Closes a connection; one that had no response headers yet failed, for
 * the reason given. */
static void
closed(struct conn *c, int ep, enum why why, int err)
{
	if (c->state == S_CLOSED)
		return;
	if (c->state == S_BODY) {
		if (c->has_data)
			dispatch(c);
		if (!c->failed && !c->ended) {
			c->ended = true;
			res->ended++;
		}
	} else {
		waiting--;
		fail(c, why, err);
	}
	c->state = S_CLOSED;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

/* Starts connecting; on failure the connection is closed and failed. */
static void
open_conn(struct conn *c, int i, int ep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)opt.port) };

	inet_pton(AF_INET, opt.host, &sa.sin_addr);
	c->state = S_CLOSED;
	c->last_seq = -1;
	c->opened_ms = mono_ms();
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1 || (c->buf = malloc(LINE_SIZE)) == NULL)
		goto fail;
	if (opt.nbinds > 0) {
		struct sockaddr_in b = { .sin_family = AF_INET };
		int one = 1;
		/* The port is chosen at connect(), per destination. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
		inet_pton(AF_INET, opt.binds[i % opt.nbinds], &b.sin_addr);
		if (bind(c->fd, (struct sockaddr *)&b, sizeof b) == -1)
			goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		goto fail;
	c->state = S_CONNECTING;
	waiting++;
	return;
fail:
	fail(c, W_OPEN, errno);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static void
send_request(struct conn *c, int ep)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0 || write(c->fd, request, (size_t)request_len) !=
	    request_len) {
		closed(c, ep, W_CONNECT, err ? err : errno);
		return;
	}
	c->state = S_HEADERS;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static long
target_events(void)
{
	if (progress != NULL && progress[PROGRESS_LAST] > 0)
		return (long)progress[PROGRESS_LAST];
	return opt.expect;
}

/* The connections [first, first + n), in this process. */
static void
run(int first, int n, int64_t deadline_ms)
{
	int ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)n, sizeof *conns);

	if (ep == -1 || conns == NULL) {
		perror("sse-load");
		exit(1);
	}
	int next = 0;
	int64_t last_scan = mono_ms(), last_progress = 0;
	struct epoll_event evs[512];

	for (;;) {
		int64_t now = mono_ms();
		/* Open more, keeping at most --ramp waiting for headers. */
		while (next < n && waiting < opt.ramp) {
			open_conn(&conns[next], first + next, ep);
			next++;
		}
		if (waiting > 0 && now - last_scan >= 100) {
			int64_t too_old = now - opt.connect_timeout_s * 1000LL;
			for (int i = 0; i < next; i++) {
				struct conn *c = &conns[i];
				if ((c->state == S_CONNECTING ||
				    c->state == S_HEADERS) &&
				    c->opened_ms < too_old)
					closed(c, ep, W_TIMEOUT, 0);
			}
			last_scan = now;
		}
		bool opened = next == n && waiting == 0;
		if (opened && res->connected_ns == 0)
			res->connected_ns = now_ns();
		long target = target_events();
		bool done = false;
		if (opened && target > 0) {
			done = true;
			for (int i = 0; i < n; i++)
				if (conns[i].state == S_BODY &&
				    conns[i].events < target) {
					done = false;
					break;
				}
		} else if (opened) {
			done = res->ended + res->failed >= n;
		}
		if (progress != NULL && opened && now != last_progress) {
			int64_t low = INT64_MAX;
			for (int i = 0; i < n; i++)
				if (conns[i].state == S_BODY &&
				    conns[i].last_seq < low)
					low = conns[i].last_seq;
			progress[PROGRESS_LOW + proc_index] = low < 0 ? 0 : low;
			last_progress = now;
		}
		if (done || now >= deadline_ms)
			break;
		int k = epoll_wait(ep, evs, 512, 20);
		for (int j = 0; j < k; j++) {
			struct conn *c = evs[j].data.ptr;
			if (c->state == S_CLOSED)
				continue;
			if (c->state == S_CONNECTING) {
				if (evs[j].events & (EPOLLERR | EPOLLHUP))
					send_request(c, ep);	/* fails */
				else
					send_request(c, ep);
				continue;
			}
			for (;;) {
				ssize_t r = read(c->fd, raw, sizeof raw);
				if (r > 0) {
					bool was = c->state == S_HEADERS;
					received(c, raw, (size_t)r);
					if (was && c->state == S_BODY)
						waiting--;
					if (c->failed || c->chunk == CH_END) {
						closed(c, ep, W_CLOSED, 0);
						break;
					}
					if ((size_t)r < sizeof raw)
						break;
					continue;
				}
				if (r == -1 && (errno == EAGAIN ||
				    errno == EINTR))
					break;
				closed(c, ep, W_CLOSED, r == -1 ? errno : 0);
				break;
			}
		}
	}
	long target = target_events();
	for (int i = 0; i < n; i++) {
		struct conn *c = &conns[i];
		if (c->state == S_CONNECTING || c->state == S_HEADERS)
			closed(c, ep, W_TIMEOUT, 0);
		if (!c->failed && target > 0 && c->events < target)
			res->missing++;
	}
	if (res->connected_ns == 0)
		res->connected_ns = now_ns();
	if (progress != NULL)
		progress[PROGRESS_LOW + proc_index] = INT64_MAX;
}

static void
split_binds(char *list)
{
	for (char *t = strtok(list, ","); t != NULL; t = strtok(NULL, ",")) {
		opt.binds = realloc(opt.binds, (size_t)(opt.nbinds + 1) *
		    sizeof *opt.binds);
		opt.binds[opt.nbinds++] = t;
	}
}

static double
percentile(const uint64_t *h, uint64_t total, double q)
{
	if (total == 0)
		return 0;
	uint64_t rank = (uint64_t)((double)total * q), seen = 0;
	if (rank >= total)
		rank = total - 1;
	for (size_t b = 0; b < NBUCKETS; b++) {
		seen += h[b];
		if (seen > rank)
			return value_of(b) / 1000;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--http10") == 0) {
			opt.http10 = true;
			continue;
		}
		if (v == NULL)
			goto usage;
		if (strcmp(a, "--host") == 0) opt.host = v;
		else if (strcmp(a, "--port") == 0) opt.port = atoi(v);
		else if (strcmp(a, "--path") == 0) opt.path = v;
		else if (strcmp(a, "--connections") == 0) opt.connections = atoi(v);
		else if (strcmp(a, "--expect") == 0) opt.expect = atoi(v);
		else if (strcmp(a, "--timeout") == 0) opt.timeout_s = atoi(v);
		else if (strcmp(a, "--connect-timeout") == 0)
			opt.connect_timeout_s = atoi(v);
		else if (strcmp(a, "--ramp") == 0) opt.ramp = atoi(v);
		else if (strcmp(a, "--procs") == 0) opt.procs = atoi(v);
		else if (strcmp(a, "--last-event-id") == 0) opt.last_event_id = v;
		else if (strcmp(a, "--progress") == 0) opt.progress = v;
		else if (strcmp(a, "--header") == 0) opt.header = v;
		else if (strcmp(a, "--bind") == 0) split_binds(argv[i + 1]);
		else goto usage;
		i++;
	}
	if (opt.path == NULL || opt.port <= 0 || opt.connections <= 0 ||
	    opt.procs < 1 || opt.procs > MAX_PROCS || opt.ramp < 1 ||
	    opt.procs > opt.connections)
		goto usage;

	request_len = snprintf(request, sizeof request,
	    "GET %s HTTP/1.%d\r\nHost: %s:%d\r\n"
	    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n%s%s%s"
	    "%s%s\r\n",
	    opt.path, opt.http10 ? 0 : 1, opt.host, opt.port,
	    opt.last_event_id ? "Last-Event-ID: " : "",
	    opt.last_event_id ? opt.last_event_id : "",
	    opt.last_event_id ? "\r\n" : "",
	    opt.header ? opt.header : "", opt.header ? "\r\n" : "");
	if (request_len <= 0 || (size_t)request_len >= sizeof request)
		goto usage;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	struct result *all = mmap(NULL, sizeof *all * (size_t)opt.procs,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (all == MAP_FAILED) {
		perror("sse-load: mmap");
		return 1;
	}
	if (opt.progress != NULL &&
	    (progress = progress_create(opt.progress, opt.procs)) == NULL) {
		perror(opt.progress);
		return 1;
	}

	int64_t start = now_ns();
	int64_t deadline = mono_ms() + opt.timeout_s * 1000LL;
	pid_t pids[MAX_PROCS];
	for (int k = 0; k < opt.procs; k++) {
		int first = (int)((long)opt.connections * k / opt.procs);
		int last = (int)((long)opt.connections * (k + 1) / opt.procs);
		pids[k] = fork();
		if (pids[k] == -1) {
			perror("sse-load: fork");
			return 1;
		}
		if (pids[k] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			proc_index = k;
			res = &all[k];
			run(first, last - first, deadline);
			_exit(0);
		}
	}
	bool announced = false;
	int left = opt.procs;
	while (left > 0) {
		if (!announced) {
			long n = 0;
			bool all_in = true;
			for (int k = 0; k < opt.procs; k++) {
				n += all[k].connected;
				if (all[k].connected_ns == 0)
					all_in = false;
			}
			if (all_in) {
				printf("connected %ld\n", n);
				fflush(stdout);
				announced = true;
			}
		}
		int status;
		pid_t p = waitpid(-1, &status, announced ? 0 : WNOHANG);
		if (p > 0)
			left--;
		else if (p == 0)
			usleep(20000);
		else if (errno != EINTR)
			break;
	}

	struct result *t = calloc(1, sizeof *t);
	if (t == NULL)
		return 1;
	for (int k = 0; k < opt.procs; k++) {
		struct result *r = &all[k];
		t->connected += r->connected;
		t->failed += r->failed;
		t->ended += r->ended;
		t->missing += r->missing;
		t->events += r->events;
		t->dups += r->dups;
		t->gaps += r->gaps;
		for (int w = 0; w < W_N; w++)
			t->why[w] += r->why[w];
		if (t->first_errno == 0)
			t->first_errno = r->first_errno;
		if (r->connected_ns > t->connected_ns)
			t->connected_ns = r->connected_ns;
		if (r->first_ns && (!t->first_ns || r->first_ns < t->first_ns))
			t->first_ns = r->first_ns;
		if (r->last_ns > t->last_ns)
			t->last_ns = r->last_ns;
		for (size_t b = 0; b < NBUCKETS; b++)
			t->hist[b] += r->hist[b];
	}
	if (!announced) {
		printf("connected %ld\n", t->connected);
		fflush(stdout);
	}
	double cpu = cpu_seconds(RUSAGE_CHILDREN);
	uint64_t nlat = 0;
	size_t maxb = 0;
	for (size_t b = 0; b < NBUCKETS; b++) {
		nlat += t->hist[b];
		if (t->hist[b])
			maxb = b;
	}
	if (t->failed > 0) {
		/* Why, on standard error, before the summary line. */
		fprintf(stderr, "sse-load: failed:");
		for (int w = 0; w < W_N; w++)
			if (t->why[w])
				fprintf(stderr, " %s=%ld", why_name[w], t->why[w]);
		if (t->first_errno)
			fprintf(stderr, " (first error: %s)",
			    strerror(t->first_errno));
		fprintf(stderr, "\n");
	}
	printf("connections=%d failed=%ld ended=%ld short=%ld events=%ld "
	    "dups=%ld gaps=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	    "start_ns=%" PRId64 " connected_ns=%" PRId64 " first_ns=%" PRId64
	    " last_ns=%" PRId64 " secs=%.3f cpu_s=%.2f\n",
	    opt.connections, t->failed, t->ended, t->missing, t->events,
	    t->dups, t->gaps, percentile(t->hist, nlat, 0.5),
	    percentile(t->hist, nlat, 0.99), nlat ? value_of(maxb) / 1000 : 0,
	    start, t->connected_ns, t->first_ns, t->last_ns,
	    t->last_ns ? (double)(t->last_ns - start) / 1e9 : 0, cpu);
	return t->failed || t->missing || t->dups || t->gaps ? 1 : 0;
usage:
	fprintf(stderr, "usage: sse-load --port PORT --path PATH "
	    "[--connections N] [--host ADDR] [--bind ADDR,...] [--procs N] "
	    "[--expect N] [--timeout S] [--connect-timeout S] [--ramp N] "
	    "[--last-event-id ID] [--http10] [--progress FILE] "
	    "[--header 'NAME: VALUE']\n");
	return 2;
}
