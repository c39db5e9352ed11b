/* Unit tests for src/log.h: where the lines go, what they look like, and
 * that a destination which cannot take a line at once never holds up the
 * caller. Each test puts a descriptor of its own at fd 2. */
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Makes fd the process's standard error (closing fd). */
static void
stderr_to(int fd)
{
	assert_true(fd >= 0);
	if (fd == STDERR_FILENO)	/* fd 2 was closed */
		return;
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* The decision behind sselog-fcgi's default --log: standard error is no
 * use when it is closed or /dev/null (spawn-fcgi, a daemonized
 * lighttpd), and is used otherwise (a terminal, a pipe, a file, the
 * journal's socket). */
static void
test_stderr_useful(void **state)
{
	char path[] = "/tmp/sselog-test-log.XXXXXX";
	int sv[2];

	(void)state;
	stderr_to(open("/dev/null", O_WRONLY));
	assert_false(log_stderr_useful());
	close(STDERR_FILENO);
	assert_false(log_stderr_useful());
	stderr_to(mkstemp(path));
	unlink(path);
	assert_true(log_stderr_useful());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	stderr_to(sv[0]);
	assert_true(log_stderr_useful());
	/* A character device other than /dev/null is some terminal. */
	int zero = open("/dev/zero", O_WRONLY);
	if (zero >= 0) {
		stderr_to(zero);
		assert_true(log_stderr_useful());
	}
}

/* The default follows the rule. */
static void
test_default(void **state)
{
	char err[256];

	(void)state;
	stderr_to(open("/dev/null", O_WRONLY));
	assert_int_equal(log_open(NULL, err, sizeof err), 0);
	assert_string_equal(log_destination(), "syslog");
	stderr_to(open("/dev/zero", O_WRONLY));
	assert_int_equal(log_open(NULL, err, sizeof err), 0);
	assert_string_equal(log_destination(), "stderr");
}

/* Reads a whole small file. */
static char *
slurp(const char *path)
{
	static char text[8192];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, text, sizeof text - 1);
	assert_true(n >= 0);
	text[n] = '\0';
	close(fd);
	return text;
}

static void
assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB |
	    REG_NEWLINE), 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("no line matches /%s/ in:\n%s", pattern, text);
	regfree(&re);
}

/* A file: created mode 0640, appended to, one line per message with a
 * timestamp, the name and the pid; kept open (the path may go). */
static void
test_file(void **state)
{
	char dir[] = "/tmp/sselog-test-log.XXXXXX", path[64], err[256];
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/r.log", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "before\n", 7), 7);
	close(fd);
	assert_int_equal(log_open(path, err, sizeof err), 0);
	assert_string_equal(log_destination(), path);
	log_info("started: %d", 42);
	log_warn("careful");
	log_error("broken: %s", "here");
	char *text = slurp(path);
	assert_matches(text, "^before$");
	assert_matches(text, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}[-+][0-9]{4} test_log\\[[0-9]+\\]: "
	    "started: 42$");
	assert_matches(text, " test_log\\[[0-9]+\\]: warning: careful$");
	assert_matches(text, " test_log\\[[0-9]+\\]: broken: here$");
	unlink(path);

	snprintf(path, sizeof path, "%s/new.log", dir);
	assert_int_equal(log_open(path, err, sizeof err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640 & ~umask(022));
	unlink(path);
	rmdir(dir);

	/* One that cannot be opened: a reason, and nothing changes. */
	assert_int_equal(log_open("/nonexistent/dir/x.log", err, sizeof err),
	    -1);
	assert_string_equal(err, "--log /nonexistent/dir/x.log: No such file "
	    "or directory");
	assert_string_equal(log_destination(), path);
}

/* Standard error on a socket (systemd's journal) that is full: the line
 * is dropped at once instead of blocking, and the next line that gets
 * through says how many were lost. */
static void
test_full_socket(void **state)
{
	int sv[2], size = 4096;
	char err[256], buf[512] = { 0 };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	stderr_to(dup(sv[0]));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	/* Fill it to the brim. */
	while (send(sv[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	assert_int_equal(log_open("stderr", err, sizeof err), 0);
	alarm(5);	/* a blocking logger would hang here */
	log_info("lost one");
	log_info("lost two");
	alarm(0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (read(sv[1], buf, sizeof buf) > 0)
		;
	log_info("through");
	ssize_t n = read(sv[1], buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "test_log: warning: dropped 2 log lines that "
	    "could not be written at once\ntest_log: through\n");
	close(sv[0]);
	close(sv[1]);
}

static int saved_stderr = -1;

/* Gives the process its standard error back after each test: cmocka
 * writes its summary there, and a socket whose peer is gone would kill
 * the test with SIGPIPE. */
static int
restore_stderr(void **state)
{
	(void)state;
	return dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stderr_useful, restore_stderr),
		cmocka_unit_test_teardown(test_default, restore_stderr),
		cmocka_unit_test_teardown(test_file, restore_stderr),
		cmocka_unit_test_teardown(test_full_socket, restore_stderr),
	};
	log_init("test_log");
	if ((saved_stderr = dup(STDERR_FILENO)) == -1)
		saved_stderr = open("/dev/null", O_WRONLY);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
