#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *log_program = "sselog";

void
log_init(const char *program)
{
	log_program = program;
}

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	/* Build the whole line, then write it with one call: stderr is
	 * unbuffered, and the responder's threads log concurrently. */
	char line[1024];
	int n = snprintf(line, sizeof line, "%s: %s", log_program, level);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}
