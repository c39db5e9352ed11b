/* Unit tests for src/metrics.h: the figures of several processes in one
 * shared file. Each metrics_open_path() of the same file is one open file
 * description, as each process's own is, so that one test process plays
 * several responders: closing one is what its death does to its slot. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/sselog-metrics.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/shared", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static struct metrics *
open_one(const struct fixture *fx)
{
	char note[256] = "";
	struct metrics *m = metrics_open_path(fx->path, note, sizeof note);

	if (m == NULL)
		fail_msg("metrics_open_path: %s", note);
	assert_true(metrics_shared(m));
	return m;
}

/* Whether the rendered text holds line (a whole line). */
static bool
renders(const struct metrics *m, const char *line)
{
	struct buf b = BUF_INIT;
	char want[256];
	bool found;

	assert_int_equal(metrics_render(m, &b), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	snprintf(want, sizeof want, "\n%s\n", line);
	found = strstr(b.data, want) != NULL;
	if (!found)
		print_message("# wanted \"%s\" in:\n%s", line, b.data);
	buf_free(&b);
	return found;
}

/* Three processes: every one of them reads the same totals. */
static void
test_sums_over_processes(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m[3];

	for (int i = 0; i < 3; i++)
		m[i] = open_one(fx);
	for (int i = 0; i < 3; i++) {
		metrics_count(m[i], M_EVENTS_SENT, (uint64_t)(i + 1) * 100);
		metrics_count(m[i], M_CLIENTS_DROPPED, 1);
		metrics_gauge_add(m[i], G_CLIENTS, 10);
		metrics_gauge_set(m[i], G_LAST_ID, 40 + i);
		metrics_response(m[i], 200);
	}
	metrics_gauge_add(m[1], G_CLIENTS, -1);
	metrics_response(m[2], 418);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(metrics_total(m[i], M_EVENTS_SENT), 600);
		assert_int_equal(metrics_total(m[i], M_CLIENTS_DROPPED), 3);
		assert_int_equal(metrics_gauge_total(m[i], G_CLIENTS), 29);
		assert_int_equal(metrics_gauge_total(m[i], G_LAST_ID), 42);
		assert_int_equal(metrics_processes(m[i]), 3);
		assert_true(renders(m[i], "sselog_clients 29"));
		assert_true(renders(m[i], "sselog_events_sent_total 600"));
		assert_true(renders(m[i],
		    "sselog_responses_total{code=\"200\"} 3"));
		assert_true(renders(m[i],
		    "sselog_responses_total{code=\"other\"} 1"));
	}
	for (int i = 0; i < 3; i++)
		metrics_close(m[i]);
}

/* A process dies: its counters stay in the totals, its open streams
 * do not; the next process takes its slot over and counts on from
 * there, so that no counter goes down. */
static void
test_dead_slot_taken_over(void **state)
{
	struct fixture *fx = *state;
	struct metrics *a = open_one(fx), *b = open_one(fx), *c;

	metrics_count(a, M_EVENTS_SENT, 500);
	metrics_gauge_add(a, G_CLIENTS, 7);
	metrics_count(b, M_EVENTS_SENT, 20);
	metrics_gauge_add(b, G_CLIENTS, 2);
	metrics_close(a);	/* as a SIGKILL leaves it */
	assert_int_equal(metrics_total(b, M_EVENTS_SENT), 520);
	assert_int_equal(metrics_gauge_total(b, G_CLIENTS), 2);
	assert_int_equal(metrics_processes(b), 1);

	c = open_one(fx);	/* the replacement */
	assert_int_equal(metrics_processes(b), 2);
	/* in the dead one's slot, not a fresh one */
	assert_int_equal(metrics_slots_claimed(c), 2);
	assert_int_equal(metrics_total(c, M_EVENTS_SENT), 520);
	assert_int_equal(metrics_gauge_total(c, G_CLIENTS), 2);
	metrics_count(c, M_EVENTS_SENT, 1);
	assert_int_equal(metrics_total(b, M_EVENTS_SENT), 521);

	/* With none dead, a newcomer takes a fresh slot. */
	struct metrics *d = open_one(fx);
	assert_int_equal(metrics_processes(d), 3);
	assert_int_equal(metrics_slots_claimed(d), 3);
	assert_int_equal(metrics_total(d, M_EVENTS_SENT), 521);
	metrics_close(b);
	metrics_close(c);
	metrics_close(d);
}

/* The histogram: cumulative buckets from 1 ms to 60 s, +Inf, the sum and
 * the count, over every process. */
static void
test_delay_histogram(void **state)
{
	struct fixture *fx = *state;
	struct metrics *a = open_one(fx), *b = open_one(fx);

	metrics_delivery(a, 0, 3);	/* le 0.001 */
	metrics_delivery(a, -5, 1);	/* a clock ahead: 0 */
	metrics_delivery(b, 2, 2);	/* le 0.0025 */
	metrics_delivery(b, 70000, 1);	/* past 60 s */
	assert_true(renders(a,
	    "sselog_delivery_delay_seconds_bucket{le=\"0.001\"} 4"));
	assert_true(renders(a,
	    "sselog_delivery_delay_seconds_bucket{le=\"0.0025\"} 6"));
	assert_true(renders(a,
	    "sselog_delivery_delay_seconds_bucket{le=\"60\"} 6"));
	assert_true(renders(a,
	    "sselog_delivery_delay_seconds_bucket{le=\"+Inf\"} 7"));
	assert_true(renders(b, "sselog_delivery_delay_seconds_count 7"));
	assert_true(renders(b, "sselog_delivery_delay_seconds_sum 70.004"));
	metrics_close(a);
	metrics_close(b);
}

/* The shared file is this user's, mode 0600, and one that is not (a
 * file others may read, a symbolic link) is refused. */
static void
test_file_checked(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m = open_one(fx);
	struct stat st;
	char note[256] = "", link_path[160];

	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	metrics_close(m);

	assert_int_equal(chmod(fx->path, 0644), 0);
	assert_null(metrics_open_path(fx->path, note, sizeof note));
	assert_non_null(strstr(note, "mode 0600"));

	snprintf(link_path, sizeof link_path, "%s/link", fx->dir);
	assert_int_equal(symlink(fx->path, link_path), 0);
	assert_null(metrics_open_path(link_path, note, sizeof note));
	unlink(link_path);
}

/* Without a socket (CGI) the process counts alone. */
static void
test_private(void **state)
{
	char note[64] = "x";
	struct metrics *m = metrics_open(-1, false, note, sizeof note);

	(void)state;
	assert_non_null(m);
	assert_false(metrics_shared(m));
	assert_string_equal(note, "");
	metrics_count(m, M_HEARTBEATS, 2);
	metrics_gauge_add(m, G_CLIENTS, 1);
	assert_int_equal(metrics_total(m, M_HEARTBEATS), 2);
	assert_int_equal(metrics_gauge_total(m, G_CLIENTS), 1);
	assert_int_equal(metrics_processes(m), 1);
	metrics_close(m);
}

/* A listening socket in fx->dir, and the name of its shared file. */
static int
listener(const struct fixture *fx, char *shm, size_t shmlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", fx->dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(shm, shmlen, "/dev/shm/sselog-metrics-1-%jx-%jx",
	    (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	return fd;
}

static struct metrics *
open_on(int fd, bool own_socket)
{
	char note[256] = "";
	struct metrics *m = metrics_open(fd, own_socket, note, sizeof note);

	assert_non_null(m);
	if (!metrics_shared(m))
		fail_msg("metrics_open: not shared: %s", note);
	return m;
}

/* A socket the responder made (--listen) dies with its processes: the
 * last one to leave takes the file in /dev/shm with it, not before. An
 * inherited socket's file stays for the process that replaces them. */
static void
test_file_left(void **state)
{
	struct fixture *fx = *state;
	char shm[128], sock[128];
	int fd = listener(fx, shm, sizeof shm);
	struct metrics *a = open_on(fd, true), *b = open_on(fd, true);

	metrics_count(a, M_HEARTBEATS, 1);
	metrics_close(a);
	assert_int_equal(access(shm, F_OK), 0);
	assert_int_equal(metrics_total(b, M_HEARTBEATS), 1);
	metrics_close(b);
	assert_int_equal(access(shm, F_OK), -1);

	a = open_on(fd, false);
	metrics_close(a);
	assert_int_equal(access(shm, F_OK), 0);
	unlink(shm);
	close(fd);
	snprintf(sock, sizeof sock, "%s/sock", fx->dir);
	unlink(sock);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sums_over_processes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_slot_taken_over,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_histogram, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_checked, setup,
		    teardown),
		cmocka_unit_test(test_private),
		cmocka_unit_test_setup_teardown(test_file_left, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
