/* Unit tests for src/fcgi_record.h: the FastCGI records of a response
 * (FastCGI 1.0 specification, sections 3.3, 5.3 and 5.5).
 *
 * The expected record lengths are written out in the tables, not computed
 * the way the code computes them; and a small record parser in the test,
 * written from the specification, reads random streams of records back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "fcgi_record.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* From the specification, section 8. */
#define SPEC_VERSION_1 1
#define SPEC_END_REQUEST 3
#define SPEC_STDOUT 6
#define SPEC_REQUEST_COMPLETE 0

/* Content that differs from byte to byte and between calls. */
static unsigned char *
make_content(size_t len, unsigned seed)
{
	unsigned char *d = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 12345;

	assert_non_null(d);
	for (size_t i = 0; i < len; i++) {
		x = x * 1664525u + 1013904223u;
		d[i] = (unsigned char)(x >> 24);
	}
	return d;
}

/* Asserts the 8 bytes at h are the header of a record. */
static void
assert_header(const unsigned char *h, int type, unsigned request_id,
    size_t content_len)
{
	const unsigned char want[8] = {
		SPEC_VERSION_1, (unsigned char)type,
		(unsigned char)(request_id >> 8), (unsigned char)request_id,
		(unsigned char)(content_len >> 8), (unsigned char)content_len,
		0, 0,
	};

	assert_memory_equal(h, want, 8);
}

/* ---- exact bytes ---- */

/* len bytes of content become records of at most 65535 bytes, in order,
 * each with a header of version 1, type FCGI_STDOUT, the request id and
 * content length big-endian and no padding; no content, no record (an
 * empty FCGI_STDOUT would end the response); fcgi_stdout_size() is what is
 * appended; what was in the buffer stays. */
static void
test_stdout_exact(void **state)
{
	static const struct {
		size_t len;
		size_t records[5];	/* their content lengths, 0 ends */
	} cases[] = {
		{ 0, { 0 } },
		{ 1, { 1 } },
		{ 2, { 2 } },
		{ 255, { 255 } },
		{ 256, { 256 } },
		{ 65534, { 65534 } },
		{ 65535, { 65535 } },
		{ 65536, { 65535, 1 } },
		{ 131070, { 65535, 65535 } },
		{ 131071, { 65535, 65535, 1 } },
		{ 200000, { 65535, 65535, 65535, 3395 } },
	};
	static const unsigned ids[] = { 1, 0xBEEF, 0x0100, 0xFFFF };
	static const char before[] = "before";
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		for (size_t k = 0; k < NELEM(ids); k++) {
			size_t len = cases[i].len;
			unsigned char *content = make_content(len,
			    (unsigned)(i * 7 + k));
			struct buf out = BUF_INIT;
			size_t want_size = 0, off = 0;

			for (size_t r = 0; cases[i].records[r] != 0; r++)
				want_size += 8 + cases[i].records[r];
			assert_int_equal(fcgi_stdout_size(len), want_size);

			assert_int_equal(buf_append_str(&out, before), 0);
			assert_int_equal(fcgi_append_stdout(&out, ids[k],
			    content, len), 0);
			assert_int_equal(out.len, sizeof before - 1 +
			    want_size);
			assert_memory_equal(out.data, before,
			    sizeof before - 1);

			const unsigned char *p = (const unsigned char *)
			    out.data + sizeof before - 1;
			for (size_t r = 0; cases[i].records[r] != 0; r++) {
				size_t n = cases[i].records[r];
				assert_header(p, SPEC_STDOUT, ids[k], n);
				assert_memory_equal(p + 8, content + off, n);
				p += 8 + n;
				off += n;
			}
			assert_int_equal(off, len);
			assert_ptr_equal(p, (const unsigned char *)out.data +
			    out.len);
			buf_free(&out);
			free(content);
		}
	}
}

/* The header bytes of request ids 1 and 0xBEEF, spelled out. */
static void
test_stdout_header_bytes(void **state)
{
	static const struct {
		unsigned id;
		size_t len;
		unsigned char want[8];
	} cases[] = {
		{ 1, 1, { 1, 6, 0x00, 0x01, 0x00, 0x01, 0, 0 } },
		{ 0xBEEF, 1, { 1, 6, 0xBE, 0xEF, 0x00, 0x01, 0, 0 } },
		{ 1, 0x1234, { 1, 6, 0x00, 0x01, 0x12, 0x34, 0, 0 } },
		{ 0xBEEF, 65535, { 1, 6, 0xBE, 0xEF, 0xFF, 0xFF, 0, 0 } },
		{ 1, 256, { 1, 6, 0x00, 0x01, 0x01, 0x00, 0, 0 } },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		unsigned char *content = make_content(cases[i].len, 1);
		struct buf out = BUF_INIT;

		assert_int_equal(fcgi_append_stdout(&out, cases[i].id, content,
		    cases[i].len), 0);
		assert_int_equal(out.len, 8 + cases[i].len);
		assert_memory_equal(out.data, cases[i].want, 8);
		buf_free(&out);
		free(content);
	}
}

/* fcgi_stdout_size: the content plus 8 bytes per record of at most 65535
 * bytes, written out. */
static void
test_stdout_size(void **state)
{
	static const struct {
		size_t len, size;
	} cases[] = {
		{ 0, 0 },
		{ 1, 9 },
		{ 8, 16 },
		{ 65534, 65542 },
		{ 65535, 65543 },
		{ 65536, 65552 },
		{ 131070, 131086 },
		{ 131071, 131095 },
		{ 196605, 196629 },
		{ 196606, 196638 },
		{ 200000, 200032 },
		{ 1048576, 1048712 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++)
		assert_int_equal(fcgi_stdout_size(cases[i].len),
		    cases[i].size);
}

/* The end of a response: an empty FCGI_STDOUT record, then an
 * FCGI_END_REQUEST record whose 8-byte body is appStatus 0 (big-endian,
 * four bytes), protocolStatus FCGI_REQUEST_COMPLETE and three reserved
 * zero bytes; appended after what was there. */
static void
test_end(void **state)
{
	static const struct {
		unsigned id;
		unsigned char want[24];
	} cases[] = {
		{ 1, {
		  1, 6, 0x00, 0x01, 0, 0, 0, 0,
		  1, 3, 0x00, 0x01, 0, 8, 0, 0,
		  0, 0, 0, 0, 0, 0, 0, 0 } },
		{ 0xBEEF, {
		  1, 6, 0xBE, 0xEF, 0, 0, 0, 0,
		  1, 3, 0xBE, 0xEF, 0, 8, 0, 0,
		  0, 0, 0, 0, 0, 0, 0, 0 } },
		{ 0xFFFF, {
		  1, 6, 0xFF, 0xFF, 0, 0, 0, 0,
		  1, 3, 0xFF, 0xFF, 0, 8, 0, 0,
		  0, 0, 0, 0, 0, 0, 0, 0 } },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;

		assert_int_equal(fcgi_append_end(&out, cases[i].id), 0);
		assert_int_equal(out.len, 24);
		assert_memory_equal(out.data, cases[i].want, 24);

		buf_clear(&out);
		assert_int_equal(fcgi_append_stdout(&out, cases[i].id, "x", 1),
		    0);
		assert_int_equal(fcgi_append_end(&out, cases[i].id), 0);
		assert_int_equal(out.len, 9 + 24);
		assert_header((const unsigned char *)out.data, SPEC_STDOUT,
		    cases[i].id, 1);
		assert_int_equal(out.data[8], 'x');
		assert_memory_equal(out.data + 9, cases[i].want, 24);
		buf_free(&out);
	}
}

/* ---- a record parser ---- */

struct reader {
	struct buf content;	/* the FCGI_STDOUT content, joined */
	size_t records;		/* FCGI_STDOUT records with content */
	bool stdout_closed;	/* an empty FCGI_STDOUT was seen */
	bool ended;		/* FCGI_END_REQUEST was seen */
	uint32_t app_status;
	int protocol_status;
};

/* Reads the records of one request at s, as a web server would: each
 * header, then contentLength bytes of content and paddingLength bytes of
 * padding. Fails on anything a web server would refuse, or on content
 * after the end. */
static void
read_records(const unsigned char *s, size_t len, unsigned request_id,
    struct reader *r)
{
	size_t i = 0;

	memset(r, 0, sizeof *r);
	r->protocol_status = -1;
	while (i < len) {
		assert_false(r->ended);
		assert_true(len - i >= 8);
		const unsigned char *h = s + i;
		size_t clen = (size_t)h[4] << 8 | h[5];
		size_t plen = h[6];
		assert_int_equal(h[0], SPEC_VERSION_1);
		assert_int_equal((unsigned)h[2] << 8 | h[3], request_id);
		assert_int_equal(h[7], 0);
		assert_true(len - i - 8 >= clen + plen);
		const unsigned char *body = h + 8;
		switch (h[1]) {
		case SPEC_STDOUT:
			assert_false(r->stdout_closed);
			if (clen == 0) {
				r->stdout_closed = true;
				break;
			}
			assert_int_equal(buf_append(&r->content, body, clen),
			    0);
			r->records++;
			break;
		case SPEC_END_REQUEST:
			assert_int_equal(clen, 8);
			r->app_status = (uint32_t)body[0] << 24 |
			    (uint32_t)body[1] << 16 | (uint32_t)body[2] << 8 |
			    body[3];
			r->protocol_status = body[4];
			assert_int_equal(body[5], 0);
			assert_int_equal(body[6], 0);
			assert_int_equal(body[7], 0);
			r->ended = true;
			break;
		default:
			fail_msg("record of type %d", h[1]);
		}
		i += 8 + clen + plen;
	}
	assert_int_equal(i, len);
}

/* The records in out are a whole response of request_id: the content
 * want, in this many records, then the end, complete, status 0. */
static void
assert_complete(const struct buf *out, unsigned request_id,
    const struct buf *want, size_t records)
{
	struct reader r;

	read_records((const unsigned char *)out->data, out->len, request_id,
	    &r);
	assert_int_equal(r.content.len, want->len);
	if (want->len > 0)
		assert_memory_equal(r.content.data, want->data, want->len);
	assert_int_equal(r.records, records);
	assert_true(r.stdout_closed);
	assert_true(r.ended);
	assert_int_equal(r.app_status, 0);
	assert_int_equal(r.protocol_status, SPEC_REQUEST_COMPLETE);
	buf_free(&r.content);
}

/* Random writes of random sizes, from empty to several records, appended
 * to one buffer and ended, read back to exactly the content written, with
 * the fewest records possible, the stream closed once and the request
 * ended complete with status 0; the same for a response with no content
 * at all. */
static void
test_random_framing(void **state)
{
	static const struct {
		unsigned seed;
		size_t writes;
		size_t max_write;
		unsigned id;
	} cases[] = {
		{ 1, 0, 0, 1 },
		{ 2, 1, 10, 1 },
		{ 3, 50, 100, 2 },
		{ 4, 200, 3000, 0xBEEF },
		{ 5, 40, 70000, 7 },
		{ 6, 20, 300000, 0xFFFF },
		{ 7, 100, 65536, 0x1234 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT, want = BUF_INIT;
		uint32_t x = cases[i].seed;
		size_t min_records = 0;

		for (size_t w = 0; w < cases[i].writes; w++) {
			x = x * 1664525u + 1013904223u;
			/* a fifth of the writes are empty, some exact */
			size_t len = (x >> 8) % 5 == 0 ? 0 :
			    (x >> 4) % 7 == 0 ? 65535 :
			    (size_t)x % (cases[i].max_write + 1);
			unsigned char *d = make_content(len, x);
			size_t before = out.len;

			assert_int_equal(fcgi_append_stdout(&out,
			    cases[i].id, d, len), 0);
			assert_int_equal(out.len - before,
			    fcgi_stdout_size(len));
			assert_int_equal(buf_append(&want, d, len), 0);
			min_records += (len + 65534) / 65535;
			free(d);
		}
		assert_int_equal(fcgi_append_end(&out, cases[i].id), 0);

		assert_complete(&out, cases[i].id, &want, min_records);
		buf_free(&out);
		buf_free(&want);
	}
}

/* Events joined into the last record: random writes, with now and then a
 * record appended the plain way (a header block) or the buffer written
 * out and cleared (which forgets the last record), read back to exactly
 * the content, in the fewest records that these breaks allow. */
static void
test_joined_framing(void **state)
{
	static const struct {
		unsigned seed;
		size_t writes;
		size_t max_write;
	} cases[] = {
		{ 11, 1, 10 },
		{ 12, 300, 100 },
		{ 13, 200, 3000 },
		{ 14, 40, 70000 },
		{ 15, 30, 300000 },
	};
	(void)state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT, wire = BUF_INIT, want = BUF_INIT;
		size_t last = RECORD_NONE, run = 0, min_records = 0;
		uint32_t x = cases[i].seed;

		for (size_t w = 0; w < cases[i].writes; w++) {
			x = x * 1664525u + 1013904223u;
			size_t len = (size_t)x % (cases[i].max_write + 1);
			unsigned char *d = make_content(len, x);
			/* (an empty plain record would be no record) */
			switch (len == 0 ? 2 : (x >> 24) % 8) {
			case 0:		/* a plain record breaks the run */
				assert_int_equal(fcgi_append_stdout(&out, 9,
				    d, len), 0);
				min_records += (run + 65534) / 65535 +
				    (len + 65534) / 65535;
				run = 0;
				break;
			case 1:		/* written out: a new run */
				assert_int_equal(buf_append(&wire, out.data,
				    out.len), 0);
				buf_clear(&out);
				last = RECORD_NONE;
				min_records += (run + 65534) / 65535;
				run = 0;
				/* fall through */
			default:
				assert_int_equal(fcgi_append_stdout_joined(
				    &out, 9, &last, d, len), 0);
				run += len;
				break;
			}
			assert_int_equal(buf_append(&want, d, len), 0);
			free(d);
		}
		min_records += (run + 65534) / 65535;
		assert_int_equal(fcgi_append_end(&out, 9), 0);
		assert_int_equal(buf_append(&wire, out.data, out.len), 0);

		assert_complete(&wire, 9, &want, min_records);
		buf_free(&out);
		buf_free(&wire);
		buf_free(&want);
	}
}

/* A request in another role is refused with FCGI_END_REQUEST alone,
 * protocolStatus FCGI_UNKNOWN_ROLE (3), and no output. */
static void
test_unknown_role(void **state)
{
	struct buf out = BUF_INIT;
	struct reader r;
	(void)state;

	assert_int_equal(fcgi_append_unknown_role(&out, 0x0102), 0);
	assert_int_equal(out.len, 16);
	assert_header((const unsigned char *)out.data, SPEC_END_REQUEST,
	    0x0102, 8);
	read_records((const unsigned char *)out.data, out.len, 0x0102, &r);
	assert_true(r.ended);
	assert_false(r.stdout_closed);
	assert_int_equal(r.content.len, 0);
	assert_int_equal(r.protocol_status, 3);
	buf_free(&r.content);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdout_exact),
		cmocka_unit_test(test_stdout_header_bytes),
		cmocka_unit_test(test_stdout_size),
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_random_framing),
		cmocka_unit_test(test_joined_framing),
		cmocka_unit_test(test_unknown_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
