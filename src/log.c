#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum log_to { TO_STDERR, TO_SYSLOG, TO_FILE };

static const char *log_program = "sselog";
static enum log_to log_to = TO_STDERR;
static const char *log_path;		/* TO_FILE: the file's path */
static int log_fd = STDERR_FILENO;	/* TO_STDERR, TO_FILE */
static bool log_fd_socket;		/* send() can refuse to wait */
static atomic_ulong log_lost;		/* dropped, not yet reported */

void
log_init(const char *program)
{
	log_program = program;
}

bool
log_stderr_useful(void)
{
	struct stat err, null;

	if (fstat(STDERR_FILENO, &err) == -1)
		return false;
	return !(S_ISCHR(err.st_mode) && stat("/dev/null", &null) == 0 &&
	    S_ISCHR(null.st_mode) && err.st_rdev == null.st_rdev);
}

int
log_open(const char *dest, char *err, size_t errlen)
{
	struct stat sb;
	int fd = STDERR_FILENO;

	if (dest == NULL)
		dest = log_stderr_useful() ? "stderr" : "syslog";
	if (strcmp(dest, "syslog") != 0 && strcmp(dest, "stderr") != 0) {
		fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOCTTY, 0640);
		/* Not at 0, 1 or 2 when those were closed: whatever writes
		 * to standard output or error would end up in the file. */
		if (fd >= 0 && fd <= STDERR_FILENO) {
			int high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
			close(fd);
			fd = high;
		}
		if (fd == -1) {
			snprintf(err, errlen, "--log %s: %s", dest,
			    strerror(errno));
			return -1;
		}
		/* The timestamps are local time: read the zone before a
		 * change of root or user can hide it. */
		tzset();
	}
	if (log_to == TO_FILE)
		close(log_fd);
	log_path = dest;
	log_fd = fd;
	log_fd_socket = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
	if (strcmp(dest, "syslog") == 0) {
		openlog(log_program, LOG_PID, LOG_DAEMON);
		log_to = TO_SYSLOG;
	} else {
		log_to = fd == STDERR_FILENO ? TO_STDERR : TO_FILE;
	}
	return 0;
}

const char *
log_destination(void)
{
	return log_to == TO_SYSLOG ? "syslog" : log_to == TO_FILE ? log_path :
	    "stderr";
}

/* Writes one whole line with one call, so that the lines of several
 * threads and processes never interleave (O_APPEND for the file). A
 * socket (systemd's journal) that cannot take it at once drops it; so
 * do a pipe or file that fail. Returns 0, or -1 when it was dropped. */
static int
put_line(const char *line, size_t len)
{
	ssize_t n;

	do {
		n = log_fd_socket ? send(log_fd, line, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL) : write(log_fd, line, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	/* A stream socket took part of it: the rest must follow, or the
	 * next line would be glued to this one. */
	while ((size_t)n < len) {
		ssize_t more = write(log_fd, line + n, len - (size_t)n);
		if (more == -1 && errno != EINTR)
			return -1;
		if (more > 0)
			n += more;
	}
	return 0;
}

/* "2026-12-07T10:15:30.123+0100 sselog-fcgi[42]: " for the file, which
 * nothing else timestamps; "sselog-fcgi: " for standard error. */
static int
line_head(char *line, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char when[40] = "";

	if (log_to != TO_FILE)
		return snprintf(line, size, "%s: ", log_program);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (localtime_r(&ts.tv_sec, &tm) != NULL) {
		char zone[8] = "";
		strftime(zone, sizeof zone, "%z", &tm);
		size_t k = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S",
		    &tm);
		snprintf(when + k, sizeof when - k, ".%03ld%s",
		    ts.tv_nsec / 1000000, zone);
	}
	return snprintf(line, size, "%s %s[%ld]: ", when, log_program,
	    (long)getpid());
}

/* Room for the line with its head, before the newline. */
#define LINE_BYTES 1024

/* The length of the line once a printf of `written` more bytes went
 * into it at `used`: what it took, or all the room there was. */
static size_t
grown(size_t used, int written)
{
	if (written < 0)
		return used;
	return (size_t)written < LINE_BYTES - used ? used + (size_t)written :
	    LINE_BYTES - 1;
}

static void
log_line(int priority, const char *level, const char *fmt, va_list ap)
{
	char line[LINE_BYTES + 1];
	size_t n;

	if (log_to == TO_SYSLOG) {
		n = grown(0, snprintf(line, LINE_BYTES, "%s", level));
		vsnprintf(line + n, LINE_BYTES - n, fmt, ap);
		syslog(priority, "%s", line);
		return;
	}
	unsigned long lost = atomic_exchange(&log_lost, 0);
	if (lost > 0) {
		n = grown(0, line_head(line, LINE_BYTES));
		n = grown(n, snprintf(line + n, LINE_BYTES - n, "warning: "
		    "dropped %lu log line%s that could not be written at "
		    "once", lost, lost == 1 ? "" : "s"));
		line[n++] = '\n';
		if (put_line(line, n) == -1)
			atomic_fetch_add(&log_lost, lost);
	}
	n = grown(0, line_head(line, LINE_BYTES));
	n = grown(n, snprintf(line + n, LINE_BYTES - n, "%s", level));
	n = grown(n, vsnprintf(line + n, LINE_BYTES - n, fmt, ap));
	line[n++] = '\n';
	if (put_line(line, n) == -1)
		atomic_fetch_add(&log_lost, 1);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(LOG_ERR, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(LOG_INFO, "", fmt, ap);
	va_end(ap);
}
