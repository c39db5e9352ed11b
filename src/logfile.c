#include "config.h"
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_SYS_INOTIFY_H
#include <sys/inotify.h>
#endif

/* The quick re-checks after a write: the first, then the last. A commit
 * becomes visible once the writer's fsync() returns, a few hundred
 * microseconds after the write that woke us on a local disk. */
#define RECHECK_FIRST_US 100
#define RECHECK_MAX_US 256000

struct logfile {
	char *path;
	dev_t dev;		/* the file remembered; 0: none was there */
	ino_t ino;
	int fd;			/* inotify, or -1 */
	int poll_ms;
	int64_t recheck_us;	/* next quick re-check; 0: none pending */
	char *db_name;		/* base name of the database file */
	char *wal_name;		/* and of its write-ahead log */
};

struct logfile *
logfile_open(const char *db_path, int poll_ms, char *err, size_t errlen)
{
	struct logfile *lf;
	char *dir_copy = NULL, *base_copy = NULL;

	if ((lf = calloc(1, sizeof *lf)) == NULL ||
	    (dir_copy = strdup(db_path)) == NULL ||
	    (base_copy = strdup(db_path)) == NULL)
		goto nomem;
	lf->fd = -1;
	if ((lf->path = strdup(db_path)) == NULL)
		goto nomem;
	logfile_remember(lf);
	lf->poll_ms = poll_ms;
	const char *base = basename(base_copy);
	size_t len = strlen(base);
	if ((lf->db_name = strdup(base)) == NULL ||
	    (lf->wal_name = malloc(len + sizeof "-wal")) == NULL)
		goto nomem;
	memcpy(lf->wal_name, base, len);
	memcpy(lf->wal_name + len, "-wal", sizeof "-wal");

#ifdef HAVE_SYS_INOTIFY_H
	/* The directory, not the files: the -wal file comes and goes as
	 * connections open and close, and a watch on a file would die with
	 * it. The -shm file is left out because readers write it too, and
	 * watching it would make readers wake each other up. Only writes:
	 * opening and closing the files says nothing about commits. */
	lf->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (lf->fd != -1 && inotify_add_watch(lf->fd, dirname(dir_copy),
	    IN_MODIFY) == -1) {
		close(lf->fd);
		lf->fd = -1;
	}
#endif
	free(dir_copy);
	free(base_copy);
	return lf;
nomem:
	snprintf(err, errlen, "out of memory watching %s", db_path);
	free(dir_copy);
	free(base_copy);
	logfile_close(lf);
	return NULL;
}

void
logfile_close(struct logfile *lf)
{
	if (lf == NULL)
		return;
	if (lf->fd != -1)
		close(lf->fd);
	free(lf->path);
	free(lf->db_name);
	free(lf->wal_name);
	free(lf);
}

int
logfile_fd(const struct logfile *lf)
{
	return lf->fd;
}

int64_t
logfile_next_check_us(struct logfile *lf)
{
	if (lf->recheck_us == 0 || lf->recheck_us > RECHECK_MAX_US) {
		lf->recheck_us = 0;
		return (int64_t)lf->poll_ms * 1000;
	}
	int64_t us = lf->recheck_us;
	lf->recheck_us *= 2;
	return us;
}

int
logfile_drain(struct logfile *lf)
{
#ifdef HAVE_SYS_INOTIFY_H
	char events[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;

	if (lf->fd == -1)
		return 0;
	for (;;) {
		ssize_t n = read(lf->fd, events, sizeof events);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return changed;
			return -1;
		}
		for (char *p = events; p < events + n;) {
			const struct inotify_event *ev = (const void *)p;
			/* IN_Q_OVERFLOW: events were lost; assume a change. */
			if ((ev->mask & IN_Q_OVERFLOW) || (ev->len > 0 &&
			    (strcmp(ev->name, lf->wal_name) == 0 ||
			    strcmp(ev->name, lf->db_name) == 0)))
				changed = true;
			if (changed)
				lf->recheck_us = RECHECK_FIRST_US;
			p += sizeof *ev + ev->len;
		}
	}
#else
	(void)lf;
	return 0;
#endif
}

void
logfile_remember(struct logfile *lf)
{
	struct stat sb;

	if (stat(lf->path, &sb) == 0) {
		lf->dev = sb.st_dev;
		lf->ino = sb.st_ino;
	}
}

enum logfile_change
logfile_check(struct logfile *lf, int *err)
{
	struct stat sb;

	if (stat(lf->path, &sb) == -1 || access(lf->path, R_OK) == -1) {
		*err = errno;
		return LOGFILE_MISSING;
	}
	if (sb.st_dev != lf->dev || sb.st_ino != lf->ino)
		return LOGFILE_REPLACED;
	return LOGFILE_SAME;
}
