/* sse-load: holds many text/event-stream connections open from one process
 * and checks what arrives on them. A load client for the benchmarks and the
 * scale tests, not part of sselog itself.
 *
 *   sse-load --port 8080 --path /events/x --connections 5000 \
 *       [--host 127.0.0.1] [--bind 127.0.0.2,127.0.0.3] [--expect N]
 *       [--timeout SECONDS] [--last-event-id ID]
 *
 * It prints "connected N" once every connection has its response headers
 * (a publisher waits for that line), then, when every connection has
 * received --expect events (or at --timeout, or when every response has
 * ended), one summary line of key=value pairs:
 *
 *   connections failed ended events dups gaps p50_ms p99_ms max_ms
 *
 * Events whose data is "SEQ NS" (a sequence number and the publisher's
 * CLOCK_REALTIME in ns) are checked: a sequence number not one more than
 * the last on that connection is a gap (or a duplicate when not larger),
 * and the latency is now minus NS. Ids must grow on every connection.
 * Exit status 0 when no connection failed and nothing was lost or
 * duplicated, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384

struct conn {
	int fd;
	bool headers_done, ended, failed;
	char buf[BUF_SIZE];
	size_t len;
	/* the event being parsed */
	int64_t ev_id;
	char data[256];
	size_t data_len;
	bool has_data;
	/* what this connection saw */
	int64_t last_id, last_seq;
	long events;
};

static struct {
	const char *host, *path, *last_event_id;
	int port, connections, expect, timeout_s;
	char **binds;
	int nbinds;
} opt = { "127.0.0.1", NULL, NULL, 0, 1, 0, 60, NULL, 0 };

static long total_events, dups, gaps, failed, ended, connected;
static double *latencies;
static size_t nlat, cap_lat;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
note_latency(double ms)
{
	if (nlat == cap_lat) {
		cap_lat = cap_lat ? cap_lat * 2 : 65536;
		latencies = realloc(latencies, cap_lat * sizeof *latencies);
		if (latencies == NULL) {
			perror("sse-load: realloc");
			exit(1);
		}
	}
	latencies[nlat++] = ms;
}

static void
dispatch(struct conn *c)
{
	if (!c->has_data)
		return;
	c->has_data = false;
	if (c->ev_id >= 0) {
		if (c->ev_id <= c->last_id)
			dups++;
		c->last_id = c->ev_id;
	}
	c->data[c->data_len] = '\0';
	long long seq, ns;
	if (sscanf(c->data, "%lld %lld", &seq, &ns) == 2) {
		if (c->last_seq >= 0 && seq <= c->last_seq)
			dups++;
		else if (c->last_seq >= 0 && seq != c->last_seq + 1)
			gaps++;
		c->last_seq = seq;
		note_latency((double)(now_ns() - ns) / 1e6);
	}
	c->events++;
	total_events++;
	c->data_len = 0;
}

/* One line of the event stream (WHATWG HTML 9.2.6), without its LF. */
static void
line(struct conn *c, char *l, size_t n)
{
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0) {
		dispatch(c);
		c->ev_id = -1;
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
		c->ev_id = strtoll(v, NULL, 10);
	} else if (fl == 4 && memcmp(l, "data", 4) == 0) {
		if (c->has_data && c->data_len < sizeof c->data - 1)
			c->data[c->data_len++] = '\n';
		size_t room = sizeof c->data - 1 - c->data_len;
		memcpy(c->data + c->data_len, v, vl < room ? vl : room);
		c->data_len += vl < room ? vl : room;
		c->has_data = true;
	}
}

static void
consume(struct conn *c)
{
	size_t start = 0;

	if (!c->headers_done) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end == NULL)
			return;
		if (c->len < 12 || memcmp(c->buf + 9, "200", 3) != 0) {
			c->failed = true;
			failed++;
			return;
		}
		c->headers_done = true;
		connected++;
		start = (size_t)(end - c->buf) + 4;
	}
	for (;;) {
		char *nl = memchr(c->buf + start, '\n', c->len - start);
		if (nl == NULL)
			break;
		line(c, c->buf + start, (size_t)(nl - c->buf) - start);
		start = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
}

static int
open_conn(struct conn *c, int i, int ep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)opt.port) };
	char req[1024];

	inet_pton(AF_INET, opt.host, &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd == -1)
		return -1;
	if (opt.nbinds > 0) {
		struct sockaddr_in b = { .sin_family = AF_INET };
		inet_pton(AF_INET, opt.binds[i % opt.nbinds], &b.sin_addr);
		if (bind(c->fd, (struct sockaddr *)&b, sizeof b) == -1)
			return -1;
	}
	/* Blocking connect on loopback: quick, and keeps the code plain. */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		return -1;
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n"
	    "Accept: text/event-stream\r\n%s%s%s\r\n", opt.path, opt.host,
	    opt.last_event_id ? "Last-Event-ID: " : "",
	    opt.last_event_id ? opt.last_event_id : "",
	    opt.last_event_id ? "\r\n" : "");
	if (write(c->fd, req, (size_t)n) != n)
		return -1;
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
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
		else if (strcmp(a, "--expect") == 0) opt.expect = atoi(v);
		else if (strcmp(a, "--timeout") == 0) opt.timeout_s = atoi(v);
		else if (strcmp(a, "--last-event-id") == 0) opt.last_event_id = v;
		else if (strcmp(a, "--bind") == 0) split_binds(argv[i + 1]);
		else goto usage;
		i++;
	}
	if (opt.path == NULL || opt.port <= 0 || opt.connections <= 0)
		goto usage;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)opt.connections, sizeof *conns);
	if (ep == -1 || conns == NULL) {
		perror("sse-load");
		return 1;
	}
	int64_t deadline = now_ns() + (int64_t)opt.timeout_s * 1000000000;
	for (int i = 0; i < opt.connections; i++) {
		conns[i].ev_id = -1;
		conns[i].last_id = -1;
		conns[i].last_seq = -1;
		if (open_conn(&conns[i], i, ep) == -1) {
			conns[i].failed = true;
			failed++;
			if (conns[i].fd != -1)
				close(conns[i].fd);
			conns[i].fd = -1;
		}
	}
	bool announced = false;
	struct epoll_event evs[256];
	while (now_ns() < deadline) {
		if (!announced && connected + failed >= opt.connections) {
			printf("connected %ld\n", connected);
			fflush(stdout);
			announced = true;
		}
		bool done = announced;
		if (opt.expect > 0) {
			for (int i = 0; done && i < opt.connections; i++)
				if (!conns[i].failed && !conns[i].ended &&
				    conns[i].events < opt.expect)
					done = false;
		} else {
			done = done && ended + failed >= opt.connections;
		}
		if (done)
			break;
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->len,
			    sizeof c->buf - c->len);
			if (r > 0) {
				c->len += (size_t)r;
				consume(c);
				if (c->len == sizeof c->buf)
					c->len = 0;	/* an overlong line */
			}
			if (r == 0 || (r == -1 && errno != EAGAIN) ||
			    c->failed) {
				if (!c->failed) {
					if (c->has_data)
						dispatch(c);
					if (!c->headers_done) {
						c->failed = true;
						failed++;
					} else {
						c->ended = true;
						ended++;
					}
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
			}
		}
	}
	if (!announced) {
		printf("connected %ld\n", connected);
		fflush(stdout);
	}
	long missing = 0;
	for (int i = 0; opt.expect > 0 && i < opt.connections; i++)
		if (!conns[i].failed && conns[i].events < opt.expect)
			missing++;
	qsort(latencies, nlat, sizeof *latencies, cmp_double);
	double p50 = nlat ? latencies[nlat / 2] : 0;
	double p99 = nlat ? latencies[(size_t)((double)nlat * 0.99)] : 0;
	double max = nlat ? latencies[nlat - 1] : 0;
	printf("connections=%d failed=%ld ended=%ld short=%ld events=%ld "
	    "dups=%ld gaps=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	    opt.connections, failed, ended, missing, total_events, dups, gaps,
	    p50, p99, max);
	return failed || missing || dups || gaps ? 1 : 0;
usage:
	fprintf(stderr, "usage: sse-load --port PORT --path PATH "
	    "[--connections N] [--host ADDR] [--bind ADDR,...] [--expect N] "
	    "[--timeout S] [--last-event-id ID]\n");
	return 2;
}
