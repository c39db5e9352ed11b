/* Unit tests for src/outq.h: a client's pending output in a chain of
 * blocks, framed as FastCGI records or left as it is, written to a
 * socketpair whose other end reads at its own pace.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "outq.h"

/* From the FastCGI specification, section 8. */
#define SPEC_STDOUT 6
#define SPEC_END_REQUEST 3

static void
pair(int sv[2], int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof sndbuf), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

static void
take(int fd, struct buf *out)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		assert_int_equal(buf_append(out, chunk, (size_t)n), 0);
}

/* The bytes as they are (CGI): everything queued arrives once, in order,
 * however the writes split it; pending counts what is left, and the
 * queue holds no block once all is written. */
static void
test_raw_in_order(void **state)
{
	struct outq q;
	struct buf got = BUF_INIT, want = BUF_INIT;
	int sv[2];

	(void)state;
	pair(sv, 4096);
	outq_init(&q, false, 0);
	for (unsigned i = 0; i < 3000; i++) {
		char piece[64];
		size_t n = (size_t)snprintf(piece, sizeof piece, "%u:", i) +
		    i % 40;
		memset(piece + n - i % 40, 'a' + i % 26, i % 40);
		assert_int_equal(outq_body(&q, piece, n), 0);
		assert_int_equal(buf_append(&want, piece, n), 0);
		if (i % 100 == 99) {
			assert_true(outq_write(&q, sv[0]) >= 0);
			take(sv[1], &got);
			assert_int_equal(outq_pending(&q), want.len - got.len);
		}
	}
	/* a piece larger than a block, in a block of its own */
	char *big = malloc(3 * OUTQ_BLOCK_BYTES);
	assert_non_null(big);
	memset(big, 'B', 3 * OUTQ_BLOCK_BYTES);
	assert_int_equal(outq_body(&q, big, 3 * OUTQ_BLOCK_BYTES), 0);
	assert_int_equal(buf_append(&want, big, 3 * OUTQ_BLOCK_BYTES), 0);
	free(big);
	while (outq_pending(&q) > 0) {
		assert_true(outq_write(&q, sv[0]) >= 0);
		take(sv[1], &got);
	}
	take(sv[1], &got);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	assert_null(q.head);
	assert_int_equal(outq_end(&q), 0);	/* CGI ends by closing */
	assert_int_equal(outq_pending(&q), 0);
	outq_free(&q);
	close(sv[0]);
	close(sv[1]);
	buf_free(&got);
	buf_free(&want);
}

/* Reads the FastCGI records in b: the content of the STDOUT records
 * joined into content, their number in *records; and whether the end
 * (an empty STDOUT, then END_REQUEST) closes it. */
static bool
parse(const struct buf *b, unsigned id, struct buf *content,
    size_t *records)
{
	size_t off = 0;
	bool ended = false;

	*records = 0;
	while (off < b->len) {
		const unsigned char *h = (const unsigned char *)b->data + off;
		assert_true(off + 8 <= b->len);
		assert_int_equal(h[0], 1);
		assert_int_equal((unsigned)h[2] << 8 | h[3], id);
		size_t len = (size_t)h[4] << 8 | h[5];
		assert_int_equal(h[6], 0);
		assert_false(ended);
		if (h[1] == SPEC_STDOUT && len > 0) {
			assert_int_equal(buf_append(content, h + 8, len), 0);
			(*records)++;
		} else if (h[1] == SPEC_STDOUT) {
			assert_true(off + 8 + 16 == b->len);
			assert_int_equal(h[9], SPEC_END_REQUEST);
			ended = true;
			off += 16;	/* the END_REQUEST record */
		}
		off += 8 + len;
	}
	return ended;
}

/* FastCGI: bodies queued between two writes join one record (up to its
 * 65,535 bytes), a record whose header was written is never extended, and
 * the end follows the last record. */
static void
test_fcgi_records(void **state)
{
	struct outq q;
	struct buf got = BUF_INIT, content = BUF_INIT, want = BUF_INIT;
	size_t records;
	int sv[2];

	(void)state;
	pair(sv, 1 << 20);
	outq_init(&q, true, 0x0102);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(outq_body(&q, "event\n", 6), 0);
		assert_int_equal(buf_append(&want, "event\n", 6), 0);
	}
	assert_int_equal(outq_pending(&q), 8 + 60);
	assert_int_equal(outq_write(&q, sv[0]), 8 + 60);
	assert_int_equal(outq_body(&q, "later\n", 6), 0);
	assert_int_equal(buf_append(&want, "later\n", 6), 0);
	char *big = malloc(70000);
	assert_non_null(big);
	memset(big, 'z', 70000);
	assert_int_equal(outq_body(&q, big, 70000), 0);
	assert_int_equal(buf_append(&want, big, 70000), 0);
	free(big);
	assert_int_equal(outq_end(&q), 0);
	while (outq_pending(&q) > 0) {
		assert_true(outq_write(&q, sv[0]) >= 0);
		take(sv[1], &got);
	}
	take(sv[1], &got);
	assert_true(parse(&got, 0x0102, &content, &records));
	assert_int_equal(content.len, want.len);
	assert_memory_equal(content.data, want.data, want.len);
	/* 10 joined; then "later" and the 70,000 bytes in records of at
	 * most 65,535 (the last block's records need not fill up) */
	assert_true(records >= 3 && records <= 5);
	outq_free(&q);
	close(sv[0]);
	close(sv[1]);
	buf_free(&got);
	buf_free(&content);
	buf_free(&want);
}

/* A write to a connection the reader closed fails, with the queue left
 * to be freed. */
static void
test_write_error(void **state)
{
	struct outq q;
	int sv[2];

	(void)state;
	pair(sv, 4096);
	outq_init(&q, false, 0);
	assert_int_equal(outq_body(&q, "x", 1), 0);
	close(sv[1]);
	assert_int_equal(outq_write(&q, sv[0]), -1);
	assert_int_equal(outq_pending(&q), 1);
	outq_free(&q);
	assert_int_equal(outq_pending(&q), 0);
	close(sv[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_in_order),
		cmocka_unit_test(test_fcgi_records),
		cmocka_unit_test(test_write_error),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
