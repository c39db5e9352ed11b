/* sse-pub: publishes numbered, time-stamped events for the benchmarks, the
 * way an application would: into an sselog event log through SQLite (an
 * INSERT, one transaction per event or per batch), or to nchan's HTTP
 * publisher (one POST per event on one kept-alive connection). Not part of
 * sselog itself.
 *
 *   sse-pub --sqlite DB --stream NAME [options]
 *   sse-pub --http HOST:PORT --path /pub/NAME [options]
 *
 *   --count N        publish N events (default 1)
 *   --duration S     or stop after S seconds (then --count is a cap)
 *   --rate R         R events per second, evenly spaced; 0 (the default)
 *                    as fast as it goes
 *   --batch B        SQLite: up to B events per transaction (default 1);
 *                    they are stamped as they are inserted, before the
 *                    commit
 *   --first SEQ      the first sequence number (default 1)
 *   --size BYTES     pad each event's data with x to BYTES bytes
 *   --pipeline P     HTTP: up to P requests in flight on the connection
 *                    (HTTP/1.1 pipelining, which keeps their order;
 *                    default 1: each waits for the answer to the last)
 *   --header 'NAME: VALUE'
 *                    HTTP: one more request header (a token)
 *   --window W --progress FILE
 *                    flow control: never more than W events ahead of the
 *                    slowest subscriber, as bench/sse-load --progress FILE
 *                    reports it; the last sequence number is written
 *                    there at the end, for sse-load to wait for
 *
 * The data of event SEQ is "SEQ NS", NS being CLOCK_REALTIME in ns just
 * before the event is handed to SQLite or written to the socket: the load
 * client measures publish-to-receive latency from it.
 *
 * Prints one line: published calls secs rate call_p50_ms call_p99_ms
 * call_max_ms cpu_s (a call is one transaction or one POST, from its
 * first statement or byte to its commit or the publisher's answer; cpu_s
 * is this process's own CPU time). Exit status
 * 0, 1 when publishing failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"

static struct {
	const char *db, *stream, *http, *path, *progress;
	const char *header;
	long count, batch, window, first, size, pipeline;
	double duration, rate;
} opt = { .count = 1, .batch = 1, .first = 1, .pipeline = 1 };

static sqlite3 *db;
static sqlite3_stmt *ins, *begin, *commit;
static int sock = -1;
static struct sockaddr_in peer;
static volatile int64_t *progress;	/* the --progress file (bench.h) */
static size_t progress_slots;
static double *calls;
static size_t ncalls, cap_calls;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "sse-pub: %s: %s\n", what, why);
	exit(1);
}

static void
note_call(double ms)
{
	if (ncalls == cap_calls) {
		cap_calls = cap_calls ? cap_calls * 2 : 4096;
		if ((calls = realloc(calls, cap_calls * sizeof *calls)) == NULL)
			die("realloc", strerror(errno));
	}
	calls[ncalls++] = ms;
}

/* "SEQ NS", padded to --size bytes. Returns its length. */
static int
format_data(char *data, size_t cap, long seq)
{
	int len = snprintf(data, cap, "%ld %" PRId64, seq, now_ns());

	if (opt.size > len && (size_t)opt.size < cap) {
		data[len++] = ' ';
		while (len < opt.size)
			data[len++] = 'x';
		data[len] = '\0';
	}
	return len;
}

/* ---- SQLite ---- */

static void
sql_open(void)
{
	if (sqlite3_open_v2(opt.db, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		die(opt.db, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	/* What `sselog publish` does: a commit is on disk before it returns. */
	if (sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO events (stream, data) "
	    "VALUES (?1, ?2)", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
		die(opt.db, sqlite3_errmsg(db));
	sqlite3_bind_text(ins, 1, opt.stream, -1, SQLITE_STATIC);
}

static void
step(sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die(opt.db, sqlite3_errmsg(db));
	sqlite3_reset(st);
}

/* Events [seq, seq + n) in one transaction (n == 1: autocommit). */
static void
sql_publish(long seq, long n)
{
	char data[4096];

	if (n > 1)
		step(begin);
	for (long i = 0; i < n; i++) {
		int len = format_data(data, sizeof data, seq + i);
		sqlite3_bind_text(ins, 2, data, len, SQLITE_TRANSIENT);
		step(ins);
	}
	if (n > 1)
		step(commit);
}

/* ---- HTTP ---- */

static void
http_connect(void)
{
	int one = 1;

	if (sock != -1)
		close(sock);
	if ((sock = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(sock, (struct sockaddr *)&peer, sizeof peer) == -1)
		die(opt.http, strerror(errno));
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static char rbuf[65536];	/* what the publisher sent, not yet read */
static size_t rlen;

/* Reads one response and returns its status; what follows it (the
 * answers to pipelined requests) stays in rbuf. */
static int
http_response(long inflight)
{
	for (;;) {
		char *end = memmem(rbuf, rlen, "\r\n\r\n", 4);
		if (end != NULL) {
			char head[8192];
			size_t hlen = (size_t)(end - rbuf) + 4;
			if (hlen >= sizeof head)
				die(opt.http, "response headers too long");
			memcpy(head, rbuf, hlen);
			head[hlen] = '\0';
			long clen = 0;
			bool close_after = false;
			for (char *l = strchr(head, '\n'); l != NULL;
			    l = strchr(l, '\n')) {
				l++;
				if (strncasecmp(l, "content-length:", 15) == 0)
					clen = atol(l + 15);
				else if (strncasecmp(l, "connection:", 11) == 0 &&
				    strncasecmp(l + 11, " close", 6) == 0)
					close_after = true;
				else if (strncasecmp(l, "transfer-encoding:",
				    18) == 0)
					die(opt.http, "chunked responses are not "
					    "supported");
			}
			size_t total = hlen + (size_t)clen;
			if (total > sizeof rbuf)
				die(opt.http, "response too long");
			if (rlen >= total) {
				int status = atoi(head + 9);
				memmove(rbuf, rbuf + total, rlen - total);
				rlen -= total;
				if (close_after) {
					if (inflight > 1)
						die(opt.http, "the publisher closed "
						    "a pipelined connection");
					rlen = 0;
					http_connect();
				}
				return status;
			}
		}
		if (rlen == sizeof rbuf)
			die(opt.http, "response too long");
		ssize_t r = read(sock, rbuf + rlen, sizeof rbuf - rlen);
		if (r <= 0)
			die(opt.http, r == 0 ? "the publisher hung up" :
			    strerror(errno));
		rlen += (size_t)r;
	}
}

static void
http_send(long seq)
{
	char req[16384], data[4096];
	int dlen = format_data(data, sizeof data, seq);
	int n = snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: text/plain\r\nAccept: text/plain\r\n%s%s"
	    "Content-Length: %d\r\n\r\n%s", opt.path, opt.http,
	    opt.header ? opt.header : "", opt.header ? "\r\n" : "", dlen, data);

	if (n < 0 || (size_t)n >= sizeof req)
		die(opt.http, "the request is too long (--header, --size)");
	if (write(sock, req, (size_t)n) != n)
		die(opt.http, strerror(errno));
}

static void
http_receive(long inflight)
{
	int status = http_response(inflight);

	if (status < 200 || status > 299) {
		fprintf(stderr, "sse-pub: %s: status %d\n", opt.http, status);
		exit(1);
	}
}

/* ---- flow control ---- */

static void
progress_open(void)
{
	if ((progress = progress_map(opt.progress, &progress_slots)) == NULL)
		die(opt.progress, errno == EINVAL ?
		    "not a progress file of sse-load" : strerror(errno));
}

/* The highest sequence number every open subscriber has reached. */
static int64_t
slowest(void)
{
	int64_t low = INT64_MAX;
	int64_t procs = progress[PROGRESS_PROCS];

	for (int64_t k = 0; k < procs &&
	    (size_t)(PROGRESS_LOW + k) < progress_slots; k++)
		if (progress[PROGRESS_LOW + k] < low)
			low = progress[PROGRESS_LOW + k];
	return low;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			goto usage;
		if (strcmp(a, "--sqlite") == 0) opt.db = v;
		else if (strcmp(a, "--stream") == 0) opt.stream = v;
		else if (strcmp(a, "--http") == 0) opt.http = v;
		else if (strcmp(a, "--path") == 0) opt.path = v;
		else if (strcmp(a, "--count") == 0) opt.count = atol(v);
		else if (strcmp(a, "--duration") == 0) opt.duration = atof(v);
		else if (strcmp(a, "--rate") == 0) opt.rate = atof(v);
		else if (strcmp(a, "--batch") == 0) opt.batch = atol(v);
		else if (strcmp(a, "--first") == 0) opt.first = atol(v);
		else if (strcmp(a, "--size") == 0) opt.size = atol(v);
		else if (strcmp(a, "--pipeline") == 0) opt.pipeline = atol(v);
		else if (strcmp(a, "--window") == 0) opt.window = atol(v);
		else if (strcmp(a, "--progress") == 0) opt.progress = v;
		else if (strcmp(a, "--header") == 0) opt.header = v;
		else goto usage;
		i++;
	}
	if ((opt.db == NULL) == (opt.http == NULL) ||
	    (opt.db != NULL && opt.stream == NULL) ||
	    (opt.http != NULL && opt.path == NULL) || opt.batch < 1 ||
	    opt.rate < 0 || (opt.window > 0) != (opt.progress != NULL) ||
	    opt.size < 0 || opt.size > 4000 || opt.pipeline < 1 ||
	    (opt.pipeline > 1 && opt.rate > 0))
		goto usage;
	if (opt.duration > 0 && opt.count <= 1)
		opt.count = LONG_MAX / 2;

	if (opt.db != NULL) {
		sql_open();
	} else {
		char host[256];
		const char *colon = strrchr(opt.http, ':');
		if (colon == NULL || (size_t)(colon - opt.http) >= sizeof host)
			goto usage;
		memcpy(host, opt.http, (size_t)(colon - opt.http));
		host[colon - opt.http] = '\0';
		peer.sin_family = AF_INET;
		peer.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &peer.sin_addr) != 1)
			goto usage;
		http_connect();
	}
	if (opt.progress != NULL)
		progress_open();

	int64_t t0 = mono_ns();
	int64_t stop = opt.duration > 0 ?
	    t0 + (int64_t)(opt.duration * 1e9) : INT64_MAX;
	long seq = opt.first, last = opt.first + opt.count - 1;
	long published = 0, inflight = 0;
	int64_t *sent = calloc((size_t)opt.pipeline, sizeof *sent);
	if (sent == NULL)
		die("calloc", strerror(errno));
	for (;;) {
		bool stopping = seq > last || mono_ns() >= stop;
		long n = 0;
		if (!stopping && (opt.db != NULL || inflight < opt.pipeline)) {
			n = opt.db != NULL ? opt.batch : 1;
			if (opt.rate > 0) {
				/* Evenly spaced: event k is due at t0 + k/rate. */
				int64_t due = t0 + (int64_t)((double)published *
				    1e9 / opt.rate);
				struct timespec ts = { (time_t)(due / 1000000000),
				    (long)(due % 1000000000) };
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
				    &ts, NULL);
				n = 1;
			}
			if (opt.window > 0) {
				int64_t low = slowest();
				if (low != INT64_MAX && low + opt.window - seq + 1 < n)
					n = (long)(low + opt.window - seq + 1);
			}
			if (n > last - seq + 1)
				n = last - seq + 1;
		}
		if (n > 0) {
			int64_t c0 = mono_ns();
			if (opt.db != NULL) {
				sql_publish(seq, n);
				note_call((double)(mono_ns() - c0) / 1e6);
			} else {
				http_send(seq);
				sent[seq % opt.pipeline] = c0;
				inflight++;
			}
			seq += n;
			published += n;
			continue;
		}
		if (inflight > 0) {
			http_receive(inflight);
			note_call((double)(mono_ns() -
			    sent[(seq - inflight) % opt.pipeline]) / 1e6);
			inflight--;
			continue;
		}
		if (stopping)
			break;
		/* The window is closed: wait for the subscribers. */
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}

	double secs = (double)(mono_ns() - t0) / 1e9;
	if (progress != NULL)
		progress[PROGRESS_LAST] = opt.first + published - 1;
	double cpu = cpu_seconds(RUSAGE_SELF);
	qsort(calls, ncalls, sizeof *calls, cmp_double);
	printf("published=%ld calls=%zu secs=%.3f rate=%.1f call_p50_ms=%.3f "
	    "call_p99_ms=%.3f call_max_ms=%.3f cpu_s=%.3f\n", published,
	    ncalls, secs,
	    secs > 0 ? (double)published / secs : 0,
	    ncalls ? calls[ncalls / 2] : 0,
	    ncalls ? calls[(size_t)((double)ncalls * 0.99)] : 0,
	    ncalls ? calls[ncalls - 1] : 0, cpu);
	if (db != NULL) {
		sqlite3_finalize(ins);
		sqlite3_finalize(begin);
		sqlite3_finalize(commit);
		sqlite3_close(db);
	}
	return 0;
usage:
	fprintf(stderr, "usage: sse-pub (--sqlite DB --stream NAME | --http "
	    "HOST:PORT --path PATH) [--count N] [--duration S] [--rate R] "
	    "[--batch B] [--first SEQ] [--size BYTES] [--pipeline P] "
	    "[--window W --progress FILE]\n");
	return 2;
}
