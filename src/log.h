/* The one logger. Messages are single lines prefixed with the program's
 * name, on standard error: a terminal for sselog, the web server's error
 * log for sselog-fcgi. */
#ifndef SSELOG_LOG_H
#define SSELOG_LOG_H

/* Sets the prefix of every line ("sselog", "sselog-fcgi"). */
void log_init(const char *program);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
