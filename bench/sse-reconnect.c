/* sse-reconnect: many EventSource-like clients on one stream, for
 * bench/drain-spread.sh. Not part of sselog itself. Linux only (epoll).
 *
 *   sse-reconnect --port 8080 --path /events/x --connections 1000 \
 *       [--host 127.0.0.1] [--expect N] [--fixed-delay MS] [--ramp N]
 *       [--timeout SECONDS]
 *
 * Each client does what EventSource does (WHATWG HTML, "Server-sent
 * events"): an HTTP/1.1 GET with Accept: text/event-stream, the first
 * one with Last-Event-ID: 0 (so that every client must see every event
 * from the first), later ones with the last id it received. A 200 whose
 * Content-Type is text/event-stream is read as an event stream (chunked
 * transfer coding included); a retry: field sets the client's
 * reconnection time (3,000 ms until one comes). When the response ends or
 * the connection fails, the client waits its reconnection time and
 * reconnects. Any other answer (a 502, a 503) would make EventSource give
 * up for good: the client is then dead, and counted. A response that ends
 * right after the stream's sselog.close event finishes the client (an
 * EventSource would reconnect and get 204, which ends it too); so does a
 * 204.
 *
 * --fixed-delay MS ignores retry: and always waits MS: what every client
 * does when no server spreads them (3000 is EventSource's usual default).
 *
 * Events whose data is "SEQ NS" (bench/sse-pub) are checked across
 * reconnects: a sequence number not one more than the client's last is a
 * gap, one not larger a duplicate. --expect N: every client must end with
 * sequence number N.
 *
 * SIGUSR1 marks the moment (the script sends it as it stops the
 * responder). From then on, per second, it counts: "opened" connections
 * (reconnects), "turned" ones (a 200 that ended without an event: only a
 * retry:, from the draining responder or from nginx while nothing
 * listens), "back" clients (the first event on a connection opened after
 * the mark: streaming again). At the end (every client finished or dead,
 * or --timeout, default 120 s) it prints that table, one line a second:
 *
 *   second S opened N turned N back N
 *
 * then one summary line of key=value pairs:
 *
 *   clients finished dead events gaps dups short reconnects turned back
 *   peak_opened peak_second peak_opened_100ms all_back_ms rejoin_mean_ms
 *   rejoin_max_ms retry_min_ms retry_max_ms
 *
 * (peak_opened: the most reconnects in one second after the mark, in
 * second peak_second; peak_opened_100ms: in a tenth of a second;
 * all_back_ms: from the mark until the last client was back, -1 when
 * some never came back; rejoin_*: from the connection that brought a
 * client back to its first event; retry_min/max_ms: the retry: values
 * received after the mark). Exit status 0 when no client died, none missed its
 * events and nothing was lost or duplicated, 1 otherwise, 2 on a usage
 * error.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define LINE_SIZE 8192		/* per connection: headers, a partial line */
#define RAW_SIZE 65536		/* one read, shared */
#define DATA_SIZE 64		/* enough of an event's data for "SEQ NS" */
#define TYPE_SIZE 32
#define MAX_SECONDS 600

enum state { S_WAITING, S_CONNECTING, S_HEADERS, S_BODY, S_DONE };
enum chunk { CH_SIZE, CH_EXT, CH_DATA, CH_CRLF, CH_END };

struct client {
	int fd;
	uint8_t state, chunk;
	bool chunked, has_data, closed_seen, dead, after_mark, back;
	uint64_t chunk_left;
	int64_t content_left;	/* Content-Length still to come, or -1 */
	int64_t wake_ms;	/* S_WAITING: reconnect then */
	int64_t opened_ms;
	int64_t retry_ms;	/* the reconnection time */
	/* the event being parsed */
	char id[24], data[DATA_SIZE], type[TYPE_SIZE];
	uint32_t id_len, data_len, type_len;
	bool has_id;
	/* what this client saw, across its connections */
	char last_id[24];
	int64_t last_seq;
	long events;
	long conn_events;	/* on the current connection */
	uint32_t len;
	char buf[LINE_SIZE];
};

static struct {
	const char *host, *path;
	int port, connections, ramp, timeout_s;
	long expect;
	int64_t fixed_delay_ms;
} opt = { .host = "127.0.0.1", .connections = 1, .ramp = 256,
	.timeout_s = 120, .fixed_delay_ms = -1 };

static volatile sig_atomic_t marked;
static int64_t mark_ms = -1;
static long opened_at[MAX_SECONDS], turned_at[MAX_SECONDS],
    back_at[MAX_SECONDS], opened_at_tenth[MAX_SECONDS * 10];
static int64_t wait_sum_ms, wait_max_ms;	/* reconnect to event */
static long gaps, dups, events, reconnects, finished, dead, nback;
static int64_t last_back_ms = -1, retry_min = -1, retry_max = -1;
static int waiting;	/* connections without response headers yet */
static int ep;
static char raw[RAW_SIZE];

static int64_t
mono_ms(void)
{
	return mono_ns() / 1000000;
}

static void
on_usr1(int sig)
{
	(void)sig;
	marked = 1;
}

/* The second after the mark that now falls in, or -1 before it. */
static int
second_now(void)
{
	if (mark_ms < 0)
		return -1;
	int64_t s = (mono_ms() - mark_ms) / 1000;
	return s < MAX_SECONDS ? (int)s : MAX_SECONDS - 1;
}

static void
count(long *at)
{
	int s = second_now();

	if (s >= 0)
		at[s]++;
}

/* Parses "SEQ NS" at the start of the data; 0 when it is not that. */
static int
parse_seq(const char *s, long long *seq)
{
	long long a = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		a = a * 10 + (*p++ - '0');
	if (*p != ' ')
		return 0;
	*seq = a;
	return 1;
}

static void
dispatch(struct client *c)
{
	if (c->has_id) {
		memcpy(c->last_id, c->id, c->id_len);
		c->last_id[c->id_len] = '\0';
	}
	c->has_id = false;
	if (!c->has_data) {
		c->type_len = 0;
		return;
	}
	c->has_data = false;
	c->data[c->data_len] = '\0';
	c->type[c->type_len] = '\0';
	if (strcmp(c->type, "sselog.close") == 0)
		c->closed_seen = true;
	long long seq;
	if (c->type_len == 0 && parse_seq(c->data, &seq)) {
		if (c->last_seq >= 0 && seq <= c->last_seq)
			dups++;
		else if (c->last_seq >= 0 ? seq != c->last_seq + 1 : seq != 1)
			gaps++;
		if (seq > c->last_seq)
			c->last_seq = seq;
		c->events++;
		events++;
	}
	c->conn_events++;
	if (c->after_mark && !c->back) {
		c->back = true;
		nback++;
		count(back_at);
		last_back_ms = mono_ms();
		wait_sum_ms += last_back_ms - c->opened_ms;
		if (last_back_ms - c->opened_ms > wait_max_ms)
			wait_max_ms = last_back_ms - c->opened_ms;
	}
	c->data_len = 0;
	c->type_len = 0;
}

/* One line of the event stream, without its LF. */
static void
line(struct client *c, char *l, size_t n)
{
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0) {
		dispatch(c);
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
		if (vl < sizeof c->id && memchr(v, '\0', vl) == NULL) {
			memcpy(c->id, v, vl);
			c->id_len = (uint32_t)vl;
			c->has_id = true;
		}
	} else if (fl == 4 && memcmp(l, "data", 4) == 0) {
		if (c->has_data && c->data_len < DATA_SIZE - 1)
			c->data[c->data_len++] = '\n';
		size_t room = DATA_SIZE - 1 - c->data_len;
		memcpy(c->data + c->data_len, v, vl < room ? vl : room);
		c->data_len += (uint32_t)(vl < room ? vl : room);
		c->has_data = true;
	} else if (fl == 5 && memcmp(l, "event", 5) == 0) {
		size_t m = vl < TYPE_SIZE - 1 ? vl : TYPE_SIZE - 1;
		memcpy(c->type, v, m);
		c->type_len = (uint32_t)m;
	} else if (fl == 5 && memcmp(l, "retry", 5) == 0 && vl > 0 &&
	    vl < 12 && strspn(v, "0123456789") >= vl) {
		int64_t ms = 0;
		for (size_t i = 0; i < vl; i++)
			ms = ms * 10 + (v[i] - '0');
		if (opt.fixed_delay_ms < 0)
			c->retry_ms = ms;
		if (mark_ms >= 0) {
			if (retry_min < 0 || ms < retry_min)
				retry_min = ms;
			if (ms > retry_max)
				retry_max = ms;
		}
	}
}

/* Body bytes: split into lines. */
static void
text(struct client *c, const char *p, size_t n)
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
body(struct client *c, const char *p, size_t n)
{
	if (!c->chunked) {
		if (c->content_left >= 0) {
			if ((int64_t)n > c->content_left)
				n = (size_t)c->content_left;
			c->content_left -= (int64_t)n;
		}
		text(c, p, n);
		return;
	}
	while (n > 0 && c->chunk != CH_END) {
		switch (c->chunk) {
		case CH_SIZE: {
			int v = hex_value((unsigned char)*p);
			if (v >= 0)
				c->chunk_left = c->chunk_left * 16 + (uint64_t)v;
			else if (*p == '\n')
				c->chunk = c->chunk_left ? CH_DATA : CH_END;
			else
				c->chunk = CH_EXT;
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

/* The line of header name (with its colon) in the head [h, h + len), or
 * NULL. */
static const char *
header(const char *h, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *l = memchr(h, '\n', len); l != NULL &&
	    l < h + len; l = memchr(l, '\n', (size_t)(h + len - l))) {
		l++;
		if ((size_t)(h + len - l) > nl && strncasecmp(l, name, nl) == 0)
			return l + nl;
	}
	return NULL;
}

/* Whether header name (with its colon) in the head [h, h + len) holds
 * word. */
static bool
header_has(const char *h, size_t len, const char *name, const char *word)
{
	size_t nl = strlen(name);

	for (const char *l = memchr(h, '\n', len); l != NULL &&
	    l < h + len; l = memchr(l, '\n', (size_t)(h + len - l))) {
		l++;
		if ((size_t)(h + len - l) > nl && strncasecmp(l, name, nl) == 0) {
			const char *e = memchr(l, '\n', (size_t)(h + len - l));
			size_t ll = e ? (size_t)(e - l) : (size_t)(h + len - l);
			if (memmem(l, ll, word, strlen(word)) != NULL)
				return true;
		}
	}
	return false;
}

/* The connection is over: wait and reconnect, or finish. */
static void
disconnect(struct client *c, bool give_up)
{
	if (c->fd != -1) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->state == S_CONNECTING || c->state == S_HEADERS)
		waiting--;
	if (c->state == S_BODY && c->after_mark && c->conn_events == 0)
		count(turned_at);
	if (give_up || c->closed_seen) {
		c->state = S_DONE;
		if (c->dead)
			dead++;
		else
			finished++;
		return;
	}
	c->state = S_WAITING;
	c->has_data = false;
	c->has_id = false;
	c->data_len = c->type_len = 0;
	c->wake_ms = mono_ms() + (opt.fixed_delay_ms >= 0 ?
	    opt.fixed_delay_ms : c->retry_ms);
}

static void
connect_client(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)opt.port) };

	inet_pton(AF_INET, opt.host, &sa.sin_addr);
	c->opened_ms = mono_ms();
	c->len = 0;
	c->chunk = CH_SIZE;
	c->chunk_left = 0;
	c->content_left = -1;
	c->conn_events = 0;
	c->state = S_CONNECTING;
	waiting++;
	if (c->last_id[0] != '\0' || c->events > 0)
		reconnects++;
	count(opened_at);
	if (mark_ms >= 0) {
		c->after_mark = true;
		int64_t t = (c->opened_ms - mark_ms) / 100;
		opened_at_tenth[t < MAX_SECONDS * 10 ? t : MAX_SECONDS * 10 - 1]++;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1 || (connect(c->fd, (struct sockaddr *)&sa,
	    sizeof sa) == -1 && errno != EINPROGRESS)) {
		disconnect(c, false);	/* a network error: try again */
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
send_request(struct client *c)
{
	char req[512];
	int err = 0;
	socklen_t elen = sizeof err;
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
	    "Last-Event-ID: %s\r\n\r\n", opt.path, opt.host, opt.port,
	    c->last_id[0] != '\0' ? c->last_id : "0");

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
	    err != 0 || write(c->fd, req, (size_t)n) != n) {
		disconnect(c, false);
		return;
	}
	c->state = S_HEADERS;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Bytes while the response headers are still coming. */
static void
received(struct client *c, const char *p, size_t n)
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
			if (c->len == LINE_SIZE - 1) {
				c->dead = true;
				disconnect(c, true);
			}
			return;
		}
		size_t hlen = (size_t)(end - c->buf) + 4;
		if (hlen >= 12 && memcmp(c->buf + 9, "204", 3) == 0) {
			disconnect(c, true);	/* EventSource stops */
			return;
		}
		if (hlen < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0 ||
		    memcmp(c->buf + 9, "200", 3) != 0 ||
		    !header_has(c->buf, hlen, "content-type:",
		    "text/event-stream")) {
			/* EventSource fails the connection for good. */
			fprintf(stderr, "sse-reconnect: %.12s\n", c->buf);
			c->dead = true;
			disconnect(c, true);
			return;
		}
		c->chunked = header_has(c->buf, hlen, "transfer-encoding:",
		    "chunked");
		/* nginx's own answer (contrib/nginx.conf, @sselog_retry) has a
		 * length and keeps the connection: its end is the end. */
		const char *cl = header(c->buf, hlen, "content-length:");
		c->content_left = cl != NULL && !c->chunked ?
		    strtoll(cl, NULL, 10) : -1;
		c->state = S_BODY;
		waiting--;
		c->len = 0;
		size_t used = hlen - old;
		p += used;
		n -= used;
	}
	body(c, p, n);
}

static void
readable(struct client *c)
{
	for (;;) {
		ssize_t r = read(c->fd, raw, sizeof raw);
		if (r > 0) {
			received(c, raw, (size_t)r);
			if (c->state == S_DONE || c->state == S_WAITING)
				return;
			if (c->chunk == CH_END || c->content_left == 0) {
				disconnect(c, false);
				return;
			}
			if ((size_t)r < sizeof raw)
				return;
			continue;
		}
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		disconnect(c, false);	/* the end, or a network error */
		return;
	}
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			goto usage;
		if (strcmp(a, "--host") == 0) opt.host = v;
		else if (strcmp(a, "--port") == 0) opt.port = atoi(v);
		else if (strcmp(a, "--path") == 0) opt.path = v;
		else if (strcmp(a, "--connections") == 0) opt.connections = atoi(v);
		else if (strcmp(a, "--expect") == 0) opt.expect = atol(v);
		else if (strcmp(a, "--fixed-delay") == 0) opt.fixed_delay_ms = atol(v);
		else if (strcmp(a, "--ramp") == 0) opt.ramp = atoi(v);
		else if (strcmp(a, "--timeout") == 0) opt.timeout_s = atoi(v);
		else goto usage;
		i++;
	}
	if (opt.path == NULL || opt.port <= 0 || opt.connections <= 0 ||
	    opt.ramp < 1 || strlen(opt.path) > 256)
		goto usage;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);

	struct client *cl = calloc((size_t)opt.connections, sizeof *cl);
	if (cl == NULL || (ep = epoll_create1(0)) == -1) {
		perror("sse-reconnect");
		return 1;
	}
	int64_t now = mono_ms(), deadline = now + opt.timeout_s * 1000LL;
	for (int i = 0; i < opt.connections; i++) {
		cl[i].fd = -1;
		cl[i].last_seq = -1;
		cl[i].retry_ms = 3000;
		cl[i].state = S_WAITING;
		cl[i].wake_ms = now;
	}
	bool announced = false;
	struct epoll_event evs[512];
	while ((now = mono_ms()) < deadline &&
	    finished + dead < opt.connections) {
		if (marked && mark_ms < 0)
			mark_ms = now;
		/* --ramp holds back the first connections only: after the
		 * mark every client reconnects when its time comes. */
		for (int i = 0; i < opt.connections &&
		    (waiting < opt.ramp || mark_ms >= 0); i++)
			if (cl[i].state == S_WAITING && cl[i].wake_ms <= now)
				connect_client(&cl[i]);
		if (!announced) {
			int streaming = 0;
			for (int i = 0; i < opt.connections; i++)
				streaming += cl[i].state == S_BODY;
			if (streaming == opt.connections) {
				printf("connected %d\n", streaming);
				fflush(stdout);
				announced = true;
			}
		}
		int k = epoll_wait(ep, evs, 512, 10);
		for (int j = 0; j < k; j++) {
			struct client *c = evs[j].data.ptr;
			if (c->state == S_CONNECTING)
				send_request(c);
			else if (c->state == S_HEADERS || c->state == S_BODY)
				readable(c);
		}
	}

	long shrt = 0, never_back = 0;
	for (int i = 0; i < opt.connections; i++) {
		struct client *c = &cl[i];
		if (c->state != S_DONE) {
			if (c->fd != -1)
				close(c->fd);
			c->dead = true;
			dead++;
		}
		if (opt.expect > 0 && (c->last_seq != opt.expect ||
		    c->events != opt.expect))
			shrt++;
		if (mark_ms >= 0 && !c->back)
			never_back++;
	}
	int last = 0;
	long peak = 0, turned = 0, peak_tenth = 0;
	int peak_s = 0;
	for (int s = 0; s < MAX_SECONDS; s++)
		if (opened_at[s] || turned_at[s] || back_at[s])
			last = s;
	for (int s = 0; s < MAX_SECONDS; s++)
		turned += turned_at[s];
	for (int t = 0; t < MAX_SECONDS * 10; t++)
		if (opened_at_tenth[t] > peak_tenth)
			peak_tenth = opened_at_tenth[t];
	for (int s = 0; mark_ms >= 0 && s <= last; s++) {
		printf("second %d opened %ld turned %ld back %ld\n", s,
		    opened_at[s], turned_at[s], back_at[s]);
		if (opened_at[s] > peak) {
			peak = opened_at[s];
			peak_s = s;
		}
	}
	printf("clients=%d finished=%ld dead=%ld events=%ld gaps=%ld "
	    "dups=%ld short=%ld reconnects=%ld turned=%ld back=%ld "
	    "peak_opened=%ld peak_second=%d peak_opened_100ms=%ld "
	    "all_back_ms=%" PRId64 " rejoin_mean_ms=%" PRId64
	    " rejoin_max_ms=%" PRId64 " retry_min_ms=%" PRId64
	    " retry_max_ms=%" PRId64 "\n", opt.connections, finished, dead,
	    events, gaps, dups, shrt, reconnects, turned, nback, peak, peak_s,
	    peak_tenth,
	    mark_ms >= 0 && never_back == 0 ? last_back_ms - mark_ms : -1,
	    nback ? wait_sum_ms / nback : 0, wait_max_ms, retry_min,
	    retry_max);
	return dead || shrt || gaps || dups || never_back ? 1 : 0;
usage:
	fprintf(stderr, "usage: sse-reconnect --port PORT --path PATH "
	    "[--connections N] [--host ADDR] [--expect N] "
	    "[--fixed-delay MS] [--ramp N] [--timeout S]\n");
	return 2;
}
