/* Notice that the log may have changed: any writer, SQL included, writes
 * the database's -wal file (or the database file itself outside WAL mode),
 * so an inotify watch on their directory wakes us without polling. A
 * wake-up is only a hint: confirm it with store_data_version() before
 * reading. Where inotify is not available (or misses writes, as on network
 * file systems) the caller polls every poll_ms instead.
 */
#ifndef SSELOG_WATCH_H
#define SSELOG_WATCH_H

#include <stddef.h>
#include <stdint.h>

struct watch;

/* Starts watching the files of the database at db_path. Returns the
 * watcher, or NULL with the reason in err when memory runs out; a watcher
 * without inotify still works, by polling. Free it with watch_close(). */
struct watch *watch_open(const char *db_path, int poll_ms, char *err,
    size_t errlen);
void watch_close(struct watch *w);

/* The descriptor to wait on for readability, or -1 when only polling. */
int watch_fd(const struct watch *w);

/* How long to wait before checking the log again, in microseconds. A
 * writer writes the -wal file (which wakes us) before it makes the commit
 * visible (after its fsync), and a wake-up may stand for several commits,
 * the last not yet visible. So after a write the checks come again after
 * 0.1, 0.2, 0.4 ... 204.8 ms (a dozen cheap PRAGMA data_version, however
 * many commits), then every poll interval, which with inotify is only a
 * safety net. */
int64_t watch_next_check_us(struct watch *w);

/* Reads the pending notifications. Returns 1 when one of the database's
 * files was written, 0 when none was, -1 on a read error (errno). */
int watch_drain(struct watch *w);

#endif
