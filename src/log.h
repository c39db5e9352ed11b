/* The one logger. Messages are single lines: on standard error (the
 * default, and what sselog always uses) prefixed with the program's name;
 * in syslog under that name, with the process id; or appended to a file,
 * after a timestamp, the name and the process id. */
#ifndef SSELOG_LOG_H
#define SSELOG_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Sets the name that every line carries ("sselog", "sselog-fcgi"), and
 * sends the lines to standard error. */
void log_init(const char *program);

/* Whether standard error leads anywhere: false when descriptor 2 is
 * closed, or is /dev/null (a character device with the st_rdev of
 * /dev/null), as spawn-fcgi and a daemonized lighttpd leave it. */
bool log_stderr_useful(void);

/* Sends the lines from now on to dest: "stderr", "syslog" (the daemon
 * facility), or an absolute path, a file opened once for appending (and
 * created, mode 0640) that stays open across a change of user. A line
 * that standard error or the file cannot take at once is dropped rather
 * than hold up the event loop, and the next line written says how many
 * were; syslog(3) may wait for the syslog daemon. NULL
 * means stderr when log_stderr_useful(), else syslog. Returns 0, or -1
 * with the reason in err and the destination unchanged. Call it before
 * any thread logs. */
int log_open(const char *dest, char *err, size_t errlen);

/* The destination in effect: "stderr", "syslog" or the file's path. */
const char *log_destination(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
