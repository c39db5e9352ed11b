/* Scratch event logs for the unit tests that use real SQLite files
 * (test_store, test_follow): one mkdtemp directory under /tmp per test
 * program, made by the group setup and removed, with what is in it, by the
 * group teardown; a fresh file name in it for each log.
 */
#ifndef SSELOG_TEMPLOG_H
#define SSELOG_TEMPLOG_H

#include <stddef.h>

#include "store.h"

/* The cmocka group setup and teardown that make and remove the directory. */
int templog_setup(void **state);
int templog_teardown(void **state);

/* Names a database file in the directory that does not exist yet. */
void templog_path(char *path, size_t size);

/* store_open that fails the test when the store cannot be opened. */
struct store *templog_open(const char *path, enum store_mode mode);

/* A new, initialised log, opened with STORE_CREATE; its path in path. */
struct store *templog_new(char *path, size_t size);

#endif
