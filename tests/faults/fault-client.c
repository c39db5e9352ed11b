/* fault-client: the raw clients of the fault tests (tests/faults/), which
 * compile it with cc, together with bench/bench.c (clocks, hex digits).
 * Not part of sselog.
 *
 *   fault-client tick INTERVAL_MS COUNT [PAD]
 *       Prints COUNT lines "SEQ NS" (SEQ from 1, NS the CLOCK_REALTIME in
 *       ns when the line is written), one every INTERVAL_MS on a fixed
 *       schedule, each followed by PAD bytes of padding (" xxx...") when
 *       PAD is given: the input of `sselog pipe`, in the format that
 *       bench/sse-load checks.
 *
 *   fault-client hold PORT PATH COUNT [RCVBUF]
 *       Opens COUNT HTTP connections to 127.0.0.1:PORT, each with a
 *       receive buffer of RCVBUF bytes (default 4096), sends
 *       "GET PATH" on each and never reads. Prints "held N" once every
 *       request is sent, then waits for SIGTERM or SIGINT and exits 0.
 *
 *   fault-client http PORT FILE WAIT_MS
 *       Sends the bytes of FILE (a whole HTTP request, however large or
 *       malformed) to 127.0.0.1:PORT and copies what comes back to
 *       standard output, until the peer closes the connection or nothing
 *       came for WAIT_MS.
 *
 *   fault-client fcgi SOCKET WAIT_MS OP...
 *       Connects to the FastCGI Unix socket SOCKET, performs each OP in
 *       order, then reads what comes back until the peer closes the
 *       connection, or for at most WAIT_MS. The content of the
 *       FCGI_STDOUT records goes to standard output; one line goes to
 *       standard error:
 *         result: end=eof|reset|timeout|readmax end_request=0|1
 *           protocol_status=N stdout=BYTES records=N bad_records=N
 *           write_error=0|1
 *       (protocol_status: FCGI_END_REQUEST's, -1 without one)
 *       OPs (IDs are request ids, 1 by default):
 *         begin[:ID[:ROLE[:FLAGS]]]   FCGI_BEGIN_REQUEST (role 1, flags 0)
 *         param:NAME=VALUE            add a parameter to send
 *         prefix:TEXT                 the next param-repeat value starts
 *                                     with TEXT
 *         param-repeat:NAME:N:TEXT    a parameter whose value is TEXT N times
 *         params[:ID]                 send the parameters added so far
 *                                     (records of at most 65535 bytes),
 *                                     then the empty FCGI_PARAMS record
 *         stdin[:ID]                  the empty FCGI_STDIN record
 *         record:VER:TYPE:ID:CLEN:PLEN[:HEX]  a record header with these
 *                                     fields, then the bytes HEX (which
 *                                     need not be CLEN + PLEN long)
 *         hex:HEX                     raw bytes
 *         garbage:N                   N pseudo-random bytes (fixed seed)
 *         sleep:MS                    wait
 *         shut                        shut the connection down for writing
 *         readmax:N                   stop reading (and close) after N
 *                                     bytes of FCGI_STDOUT content
 *       Exit status 0, or 2 on a usage error or when the connection
 *       cannot be made.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static int
usage(void)
{
	fprintf(stderr, "usage: fault-client tick INTERVAL_MS COUNT [PAD]\n"
	    "       fault-client hold PORT PATH COUNT [RCVBUF]\n"
	    "       fault-client http PORT FILE WAIT_MS\n"
	    "       fault-client fcgi SOCKET WAIT_MS OP...\n");
	return 2;
}

/* ---- tick ---- */

static int
tick(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	long interval = atol(argv[0]), count = atol(argv[1]);
	long pad = argc > 2 ? atol(argv[2]) : 0;
	char *padding = NULL;

	if (interval < 0 || count < 0 || pad < 0)
		return usage();
	if (pad > 0) {
		if ((padding = malloc((size_t)pad + 2)) == NULL)
			return 1;
		padding[0] = ' ';
		memset(padding + 1, 'x', (size_t)pad);
		padding[pad + 1] = '\0';
	}
	signal(SIGPIPE, SIG_IGN);
	int64_t next = mono_ns();
	for (long i = 1; i <= count; i++) {
		struct timespec ts = { next / 1000000000, next % 1000000000 };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
		if (printf("%ld %" PRId64 "%s\n", i, now_ns(),
		    padding ? padding : "") < 0 || fflush(stdout) == EOF) {
			fprintf(stderr, "fault-client tick: line %ld: %s\n", i,
			    strerror(errno));
			return 1;
		}
		next += interval * 1000000;
	}
	free(padding);
	return 0;
}

/* ---- hold ---- */

static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int
hold(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	int port = atoi(argv[0]), count = atoi(argv[2]);
	const char *path = argv[1];
	int rcvbuf = argc > 3 ? atoi(argv[3]) : 4096;
	char req[2048];
	int held = 0;

	if (port <= 0 || count <= 0)
		return usage();
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGPIPE, SIG_IGN);
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", path);
	for (int i = 0; i < count; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
		    .sin_port = htons((uint16_t)port) };
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		/* Before connect(), so that the window is small from the
		 * start: the server's output piles up at once. */
		if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof rcvbuf) == -1 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
		    write(fd, req, (size_t)n) != n) {
			fprintf(stderr, "fault-client hold: connection %d: %s\n",
			    i + 1, strerror(errno));
			continue;
		}
		held++;		/* the descriptor stays open, unread */
	}
	printf("held %d\n", held);
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}

/* ---- http ---- */

static int
http(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	int port = atoi(argv[0]), wait_ms = atoi(argv[2]);
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	FILE *f = fopen(argv[1], "rb");
	char buf[65536];
	size_t n;

	if (f == NULL) {
		perror(argv[1]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		perror("fault-client http");
		return 2;
	}
	/* The server may answer and close before it read everything: stop
	 * sending then, and read what it said. */
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (write(fd, buf, n) != (ssize_t)n)
			break;
	fclose(f);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, wait_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t got = read(fd, buf, sizeof buf);
		if (got <= 0)
			break;
		fwrite(buf, 1, (size_t)got, stdout);
	}
	close(fd);
	return 0;
}

/* ---- fcgi ---- */

struct out {
	int fd;
	bool write_error;
};

static void
send_bytes(struct out *o, const void *p, size_t len)
{
	const char *b = p;

	while (len > 0 && !o->write_error) {
		ssize_t n = write(o->fd, b, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			o->write_error = true;
			return;
		}
		b += n;
		len -= (size_t)n;
	}
}

static void
send_header(struct out *o, int version, int type, int id, int clen, int plen)
{
	unsigned char h[8] = {
		(unsigned char)version, (unsigned char)type,
		(unsigned char)(id >> 8), (unsigned char)id,
		(unsigned char)(clen >> 8), (unsigned char)clen,
		(unsigned char)plen, 0,
	};
	send_bytes(o, h, sizeof h);
}

static void
send_record(struct out *o, int type, int id, const char *content, size_t len)
{
	send_header(o, 1, type, id, (int)len, 0);
	send_bytes(o, content, len);
}

/* Decodes HEX into a new buffer; *len its length. NULL when malformed. */
static unsigned char *
unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	unsigned char *b = malloc(n / 2 + 1);

	if (b == NULL || n % 2 != 0) {
		free(b);
		return NULL;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return NULL;
		}
		b[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return b;
}

/* The parameters to send, encoded as FastCGI name-value pairs. */
static unsigned char *params;
static size_t params_len, params_cap;

static void
params_add_bytes(const void *p, size_t len)
{
	if (params_len + len > params_cap) {
		params_cap = (params_len + len) * 2;
		params = realloc(params, params_cap);
		if (params == NULL) {
			perror("fault-client");
			exit(1);
		}
	}
	memcpy(params + params_len, p, len);
	params_len += len;
}

static void
params_add_len(size_t len)
{
	if (len < 128) {
		unsigned char b = (unsigned char)len;
		params_add_bytes(&b, 1);
	} else {
		unsigned char b[4] = {
			(unsigned char)(0x80 | (len >> 24)),
			(unsigned char)(len >> 16), (unsigned char)(len >> 8),
			(unsigned char)len,
		};
		params_add_bytes(b, 4);
	}
}

static void
params_add(const char *name, size_t nlen, const char *value, size_t vlen)
{
	params_add_len(nlen);
	params_add_len(vlen);
	params_add_bytes(name, nlen);
	params_add_bytes(value, vlen);
}

static int
opt_id(const char *arg)
{
	return arg != NULL && *arg != '\0' ? atoi(arg) : 1;
}

/* What came back: FastCGI records, parsed as they arrive. */
struct in {
	unsigned char buf[65536 + 8 + 256];
	size_t len;
	long records, bad;
	bool end_request;
	int protocol_status;	/* FCGI_END_REQUEST's, or -1 */
	uint64_t stdout_bytes;
};

static void
consume(struct in *in)
{
	size_t off = 0;

	while (in->len - off >= 8) {
		unsigned char *h = in->buf + off;
		size_t clen = (size_t)h[4] << 8 | h[5], plen = h[6];
		if (h[0] != 1) {
			/* Not FastCGI: show it raw, stop parsing. */
			in->bad++;
			fwrite(h, 1, in->len - off, stdout);
			in->stdout_bytes += in->len - off;
			off = in->len;
			break;
		}
		if (in->len - off < 8 + clen + plen)
			break;
		in->records++;
		if (h[1] == 6) {	/* FCGI_STDOUT */
			fwrite(h + 8, 1, clen, stdout);
			in->stdout_bytes += clen;
		} else if (h[1] == 3) {	/* FCGI_END_REQUEST */
			in->end_request = true;
			if (clen >= 5)
				in->protocol_status = h[8 + 4];
		} else if (h[1] != 7) {	/* FCGI_STDERR is fine */
			in->bad++;
		}
		off += 8 + clen + plen;
	}
	memmove(in->buf, in->buf + off, in->len - off);
	in->len -= off;
}

static int
fcgi(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *path = argv[0];
	int wait_ms = atoi(argv[1]);
	long long readmax = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct out o = { .fd = -1 };
	unsigned seed = 12345;
	const char *prefix = "";

	signal(SIGPIPE, SIG_IGN);
	if (strlen(path) >= sizeof sa.sun_path)
		return usage();
	strcpy(sa.sun_path, path);
	if ((o.fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(o.fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		fprintf(stderr, "fault-client fcgi: %s: %s\n", path,
		    strerror(errno));
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		char *op = argv[i];
		char *arg = strchr(op, ':');
		if (arg != NULL)
			*arg++ = '\0';
		if (strcmp(op, "begin") == 0) {
			int id = 1, role = 1, flags = 0;
			if (arg != NULL)
				sscanf(arg, "%d:%d:%d", &id, &role, &flags);
			unsigned char body[8] = { (unsigned char)(role >> 8),
			    (unsigned char)role, (unsigned char)flags };
			send_record(&o, 1, id, (char *)body, sizeof body);
		} else if (strcmp(op, "param") == 0 && arg != NULL) {
			char *eq = strchr(arg, '=');
			if (eq == NULL)
				return usage();
			params_add(arg, (size_t)(eq - arg), eq + 1,
			    strlen(eq + 1));
		} else if (strcmp(op, "param-repeat") == 0 && arg != NULL) {
			char *name = arg, *n = strchr(name, ':'), *text;
			if (n == NULL || (text = strchr(n + 1, ':')) == NULL)
				return usage();
			*n++ = '\0';
			*text++ = '\0';
			size_t times = (size_t)atol(n), tl = strlen(text);
			size_t pl = strlen(prefix);
			char *v = malloc(pl + times * tl + 1);
			if (v == NULL)
				return 1;
			memcpy(v, prefix, pl);
			for (size_t k = 0; k < times; k++)
				memcpy(v + pl + k * tl, text, tl);
			params_add(name, strlen(name), v, pl + times * tl);
			free(v);
			prefix = "";
		} else if (strcmp(op, "prefix") == 0 && arg != NULL) {
			prefix = arg;
		} else if (strcmp(op, "params") == 0) {
			int id = opt_id(arg);
			for (size_t off = 0; off < params_len;) {
				size_t n = params_len - off > 65535 ? 65535 :
				    params_len - off;
				send_record(&o, 4, id, (char *)params + off, n);
				off += n;
			}
			send_record(&o, 4, id, "", 0);
			params_len = 0;
		} else if (strcmp(op, "stdin") == 0) {
			send_record(&o, 5, opt_id(arg), "", 0);
		} else if (strcmp(op, "record") == 0 && arg != NULL) {
			int ver, type, id, clen, plen, used = 0;
			if (sscanf(arg, "%d:%d:%d:%d:%d%n", &ver, &type, &id,
			    &clen, &plen, &used) < 5)
				return usage();
			send_header(&o, ver, type, id, clen, plen);
			if (arg[used] == ':') {
				size_t n;
				unsigned char *b = unhex(arg + used + 1, &n);
				if (b == NULL)
					return usage();
				send_bytes(&o, b, n);
				free(b);
			}
		} else if (strcmp(op, "hex") == 0 && arg != NULL) {
			size_t n;
			unsigned char *b = unhex(arg, &n);
			if (b == NULL)
				return usage();
			send_bytes(&o, b, n);
			free(b);
		} else if (strcmp(op, "garbage") == 0 && arg != NULL) {
			size_t n = (size_t)atol(arg);
			unsigned char *b = malloc(n + 1);
			if (b == NULL)
				return 1;
			for (size_t k = 0; k < n; k++)
				b[k] = (unsigned char)(rand_r(&seed) >> 7);
			send_bytes(&o, b, n);
			free(b);
		} else if (strcmp(op, "sleep") == 0 && arg != NULL) {
			long ms = atol(arg);
			struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
			while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
				;
		} else if (strcmp(op, "shut") == 0) {
			shutdown(o.fd, SHUT_WR);
		} else if (strcmp(op, "readmax") == 0 && arg != NULL) {
			readmax = atoll(arg);
		} else {
			fprintf(stderr, "fault-client fcgi: unknown op %s\n",
			    op);
			return usage();
		}
	}

	static struct in in;
	in.protocol_status = -1;
	const char *end = "timeout";
	int64_t deadline = mono_ns() + (int64_t)wait_ms * 1000000;
	for (;;) {
		struct pollfd p = { .fd = o.fd, .events = POLLIN };
		int64_t left = deadline - mono_ns();
		if (left <= 0)
			break;
		int r = poll(&p, 1, (int)(left / 1000000) + 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = read(o.fd, in.buf + in.len, sizeof in.buf - in.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0) {
			end = "eof";
			break;
		}
		if (n == -1) {
			end = "reset";
			break;
		}
		in.len += (size_t)n;
		consume(&in);
		if (in.len == sizeof in.buf) {	/* cannot be a record */
			in.bad++;
			in.len = 0;
		}
		if (readmax >= 0 && in.stdout_bytes >= (uint64_t)readmax) {
			end = "readmax";
			break;
		}
	}
	fflush(stdout);
	fprintf(stderr, "result: end=%s end_request=%d protocol_status=%d "
	    "stdout=%" PRIu64 " records=%ld bad_records=%ld write_error=%d\n",
	    end, in.end_request, in.protocol_status, in.stdout_bytes, in.records, in.bad,
	    o.write_error);
	close(o.fd);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "tick") == 0)
		return tick(argc - 2, argv + 2);
	if (strcmp(argv[1], "hold") == 0)
		return hold(argc - 2, argv + 2);
	if (strcmp(argv[1], "http") == 0)
		return http(argc - 2, argv + 2);
	if (strcmp(argv[1], "fcgi") == 0)
		return fcgi(argc - 2, argv + 2);
	return usage();
}
