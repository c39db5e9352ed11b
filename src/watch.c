#include "config.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYS_INOTIFY_H
#include <sys/inotify.h>
#endif

/* The quick re-checks after a write: the first, then the last. A commit
 * becomes visible once the writer's fsync() returns, a few hundred
 * microseconds after the write that woke us on a local disk. */
#define RECHECK_FIRST_US 100
#define RECHECK_MAX_US 256000

struct watch {
	int fd;			/* inotify, or -1 */
	int poll_ms;
	int64_t recheck_us;	/* next quick re-check; 0: none pending */
	char *db_name;		/* base name of the database file */
	char *wal_name;		/* and of its write-ahead log */
};

struct watch *
watch_open(const char *db_path, int poll_ms, char *err, size_t errlen)
{
	struct watch *w;
	char *dir_copy = NULL, *base_copy = NULL;

	if ((w = calloc(1, sizeof *w)) == NULL ||
	    (dir_copy = strdup(db_path)) == NULL ||
	    (base_copy = strdup(db_path)) == NULL)
		goto nomem;
	w->fd = -1;
	w->poll_ms = poll_ms;
	const char *base = basename(base_copy);
	size_t len = strlen(base);
	if ((w->db_name = strdup(base)) == NULL ||
	    (w->wal_name = malloc(len + sizeof "-wal")) == NULL)
		goto nomem;
	memcpy(w->wal_name, base, len);
	memcpy(w->wal_name + len, "-wal", sizeof "-wal");

#ifdef HAVE_SYS_INOTIFY_H
	/* The directory, not the files: the -wal file comes and goes as
	 * connections open and close, and a watch on a file would die with
	 * it. The -shm file is left out because readers write it too, and
	 * watching it would make readers wake each other up. Only writes:
	 * opening and closing the files says nothing about commits. */
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd != -1 && inotify_add_watch(w->fd, dirname(dir_copy),
	    IN_MODIFY) == -1) {
		close(w->fd);
		w->fd = -1;
	}
#endif
	free(dir_copy);
	free(base_copy);
	return w;
nomem:
	snprintf(err, errlen, "out of memory watching %s", db_path);
	free(dir_copy);
	free(base_copy);
	watch_close(w);
	return NULL;
}

void
watch_close(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	free(w->db_name);
	free(w->wal_name);
	free(w);
}

int
watch_fd(const struct watch *w)
{
	return w->fd;
}

int64_t
watch_next_check_us(struct watch *w)
{
	if (w->recheck_us == 0 || w->recheck_us > RECHECK_MAX_US) {
		w->recheck_us = 0;
		return (int64_t)w->poll_ms * 1000;
	}
	int64_t us = w->recheck_us;
	w->recheck_us *= 2;
	return us;
}

int
watch_drain(struct watch *w)
{
#ifdef HAVE_SYS_INOTIFY_H
	char events[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;

	if (w->fd == -1)
		return 0;
	for (;;) {
		ssize_t n = read(w->fd, events, sizeof events);
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
			    (strcmp(ev->name, w->wal_name) == 0 ||
			    strcmp(ev->name, w->db_name) == 0)))
				changed = true;
			if (changed)
				w->recheck_us = RECHECK_FIRST_US;
			p += sizeof *ev + ev->len;
		}
	}
#else
	(void)w;
	return 0;
#endif
}
