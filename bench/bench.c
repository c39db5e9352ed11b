/* What the benchmark clients share: see bench.h. */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double
cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Closes fd and returns NULL, with errno err (or as it was, for 0). */
static void *
fail_close(int fd, int err)
{
	if (err == 0)
		err = errno;
	close(fd);
	errno = err;
	return NULL;
}

static volatile int64_t *
progress_mmap(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return fail_close(fd, 0);
	close(fd);
	return p;
}

volatile int64_t *
progress_create(const char *path, int procs)
{
	size_t size = sizeof(int64_t) * (size_t)(PROGRESS_LOW + procs);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	volatile int64_t *p;

	if (fd == -1)
		return NULL;
	if (ftruncate(fd, (off_t)size) == -1)
		return fail_close(fd, 0);
	if ((p = progress_mmap(fd, size)) == NULL)
		return NULL;
	/* Truncated and extended: every other slot reads 0. */
	p[PROGRESS_PROCS] = procs;
	return p;
}

volatile int64_t *
progress_map(const char *path, size_t *nslots)
{
	int fd = open(path, O_RDWR);
	struct stat sb;

	if (fd == -1)
		return NULL;
	if (fstat(fd, &sb) == -1)
		return fail_close(fd, 0);
	if ((size_t)sb.st_size < sizeof(int64_t) * (PROGRESS_LOW + 1))
		return fail_close(fd, EINVAL);
	*nslots = (size_t)sb.st_size / sizeof(int64_t);
	return progress_mmap(fd, (size_t)sb.st_size);
}
