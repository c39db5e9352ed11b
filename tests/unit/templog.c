/* Scratch event logs for the unit tests: see templog.h. */
#include "templog.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char tmpdir[] = "/tmp/sselog-unit-XXXXXX";
static unsigned db_count;

int
templog_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

int
templog_teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];
	int rc = 0;

	(void)state;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
		if (unlink(path) == -1 && rmdir(path) == -1)
			rc = -1;
	}
	closedir(d);
	if (rmdir(tmpdir) == -1)
		rc = -1;
	return rc;
}

void
templog_path(char *path, size_t size)
{
	snprintf(path, size, "%s/db%u.sqlite", tmpdir, ++db_count);
}

struct store *
templog_open(const char *path, enum store_mode mode)
{
	char err[512] = "";
	struct store *st = store_open(path, mode, err, sizeof err);

	if (st == NULL)
		fail_msg("store_open %s: %s", path, err);
	return st;
}

struct store *
templog_new(char *path, size_t size)
{
	templog_path(path, size);
	struct store *st = templog_open(path, STORE_CREATE);
	if (store_init(st) == -1)
		fail_msg("store_init: %s", store_error(st));
	return st;
}
