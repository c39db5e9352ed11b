/* The log's file, looked at from outside the database: notice that it may
 * have changed, and that it was removed or replaced.
 *
 * Any writer, SQL included, writes the database's -wal file (or the
 * database file itself outside WAL mode), so an inotify watch on their
 * directory wakes us without polling. A wake-up is only a hint: confirm it
 * with store_data_version() before reading. Where inotify is not available
 * (or misses writes, as on network file systems) the caller polls every
 * poll_ms instead.
 */
#ifndef SSELOG_LOGFILE_H
#define SSELOG_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

struct logfile;

/* Starts watching the files of the database at db_path, and remembers
 * which file is there now. Returns the watcher, or NULL with the reason in
 * err when memory runs out; a watcher without inotify still works, by
 * polling. Free it with logfile_close(). */
struct logfile *logfile_open(const char *db_path, int poll_ms, char *err,
    size_t errlen);
void logfile_close(struct logfile *lf);

/* The descriptor to wait on for readability, or -1 when only polling. */
int logfile_fd(const struct logfile *lf);

/* How long to wait before checking the log again, in microseconds. A
 * writer writes the -wal file (which wakes us) before it makes the commit
 * visible (after its fsync), and a wake-up may stand for several commits,
 * the last not yet visible. So after a write the checks come again after
 * 0.1, 0.2, 0.4 ... 204.8 ms (a dozen cheap PRAGMA data_version, however
 * many commits), then every poll interval, which with inotify is only a
 * safety net. */
int64_t logfile_next_check_us(struct logfile *lf);

/* Reads the pending notifications. Returns 1 when one of the database's
 * files was written, 0 when none was, -1 on a read error (errno). */
int logfile_drain(struct logfile *lf);

enum logfile_change {
	LOGFILE_SAME,		/* the path names the file remembered */
	LOGFILE_MISSING,	/* gone or unreadable: *err says why */
	LOGFILE_REPLACED,	/* another file is there now */
};

/* Looks at the path itself: an open database handle goes on reading the
 * file it opened, whatever happens to the path. */
enum logfile_change logfile_check(struct logfile *lf, int *err);

/* Remembers the file now at the path as the one being read. */
void logfile_remember(struct logfile *lf);

#endif
