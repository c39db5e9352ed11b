/* bench/write-helper: the parts of bench/write.sh that a POSIX shell cannot
 * do with enough precision. Not built by make: write.sh compiles it with cc
 * and pkg-config sqlite3 into its temporary directory.
 *
 *   write-helper version
 *       prints the version of the SQLite library it is linked with
 *   write-helper time COMMAND [ARG...]
 *       runs COMMAND and prints its wall-clock time in seconds; fails when
 *       COMMAND fails
 *   write-helper latency SSELOG DB STREAM LINES INTERVAL_MS
 *       starts `SSELOG -d DB pipe STREAM` with a pipe as its standard input,
 *       then LINES times: waits INTERVAL_MS, writes one line into the pipe
 *       and polls the log, as a reader would, until the line's row is
 *       visible. Prints each delay in milliseconds, one per line.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* How long the reader sleeps between two looks at the log: the resolution
 * of the latency figures. A look is one indexed query on a read-only
 * connection, cheap enough to repeat this often. */
#define POLL_US 100
/* Give up on a line after this long: something is broken. */
#define LINE_TIMEOUT_S 10

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("write-helper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int
wait_ok(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
cmd_time(char **argv)
{
	double start = now_s();
	pid_t pid = fork();

	if (pid == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "write-helper: %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	if (wait_ok(pid) == -1)
		die("%s failed", argv[0]);
	printf("%.6f\n", now_s() - start);
	return 0;
}

/* The highest id of stream, 0 when it has no event. */
static int64_t
last_id(sqlite3 *db, sqlite3_stmt *stmt)
{
	int64_t id = 0;
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_DONE)
		die("reading the log: %s", sqlite3_errmsg(db));
	sqlite3_reset(stmt);
	return id;
}

/* Writes line into fd, then polls until stream's last id grows past *seen.
 * Returns the delay in seconds. */
static double
one_line(int fd, const char *line, sqlite3 *db, sqlite3_stmt *stmt,
    int64_t *seen)
{
	size_t len = strlen(line);
	double start = now_s();

	if (write(fd, line, len) != (ssize_t)len)
		die("writing into the pipe: %s", strerror(errno));
	for (;;) {
		int64_t id = last_id(db, stmt);
		double t = now_s();
		if (id > *seen) {
			*seen = id;
			return t - start;
		}
		if (t - start > LINE_TIMEOUT_S)
			die("a line did not show up within %d seconds",
			    LINE_TIMEOUT_S);
		sleep_us(POLL_US);
	}
}

static int
cmd_latency(char **argv)
{
	const char *sselog = argv[0], *path = argv[1], *stream = argv[2];
	long lines = strtol(argv[3], NULL, 10);
	long interval_ms = strtol(argv[4], NULL, 10);
	int fds[2];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	char line[128];

	if (lines < 1 || interval_ms < 0)
		die("latency: bad LINES or INTERVAL_MS");
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) == -1)
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(sselog, sselog, "-d", path, "pipe", stream, (char *)NULL);
		fprintf(stderr, "write-helper: %s: %s\n", sselog,
		    strerror(errno));
		_exit(127);
	}
	close(fds[0]);

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		die("cannot open the log: %s", sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM events "
	    "WHERE stream = ?1", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 1, stream, -1, SQLITE_STATIC) != SQLITE_OK)
		die("cannot prepare a query: %s", sqlite3_errmsg(db));

	/* A first line that is not counted: sselog has started and opened
	 * the log once it is visible. */
	int64_t seen = last_id(db, stmt);
	one_line(fds[1], "warm-up\n", db, stmt, &seen);
	for (long i = 1; i <= lines; i++) {
		sleep_us(interval_ms * 1000);
		snprintf(line, sizeof line, "trickled line %ld of %ld\n", i,
		    lines);
		printf("%.3f\n", one_line(fds[1], line, db, stmt, &seen) *
		    1000.0);
	}
	close(fds[1]);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	if (wait_ok(pid) == -1)
		die("%s pipe failed", sselog);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "version") == 0) {
		puts(sqlite3_libversion());
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "time") == 0)
		return cmd_time(argv + 2);
	if (argc == 7 && strcmp(argv[1], "latency") == 0)
		return cmd_latency(argv + 2);
	fprintf(stderr, "usage: write-helper version\n"
	    "       write-helper time COMMAND [ARG...]\n"
	    "       write-helper latency SSELOG DB STREAM LINES "
	    "INTERVAL_MS\n");
	return 2;
}
