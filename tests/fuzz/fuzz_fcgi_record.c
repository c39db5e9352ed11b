/* Fuzz target: FastCGI response framing (src/fcgi_record.h) and the byte
 * buffer it writes into (src/buf.h).
 *
 * Input: a list of operations, each an opcode, a request id and a length:
 * append that many bytes as FCGI_STDOUT, append the end of the response,
 * or consume bytes from the front of the buffer as a writer would after a
 * partial write. Lengths reach past one record (65535 bytes) and sit on
 * its edges. Everything appended is then read back with a record parser
 * written from the FastCGI 1.0 specification (sections 3.3, 5.3 and 5.5),
 * which must find version 1, the request id, no padding, a content length
 * of 1 to 65535 in each STDOUT record (an empty one would end the stream),
 * the bytes given in the order given, the size fcgi_stdout_size() says,
 * and for each end an empty STDOUT record then END_REQUEST with
 * FCGI_REQUEST_COMPLETE.
 */
#include "buf.h"
#include "fcgi_record.h"
#include "fuzz.h"

#define MAX_OPS 16

enum { OP_STDOUT, OP_END, OP_CONSUME };

struct op {
	int kind;
	unsigned id;
	unsigned char *content;	/* OP_STDOUT: len bytes */
	size_t len;
};

/* Bytes for long contents, from a seed in the input: runs of 61 equal
 * bytes (memset keeps a 128 KiB content cheap enough for millions of runs),
 * so that a record boundary at a wrong offset still shows. */
static void
fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i += 61) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		memset(p + i, (int)(x & 0xFF), n - i < 61 ? n - i : 61);
	}
}

/* Content bytes one input may append in all: enough for one record and
 * more, little enough that the buffers stay in the allocator's small size
 * classes. Past it, fresh pages are mapped and unmapped on every run,
 * which makes a run a millisecond instead of a few microseconds. */
#define BUDGET 80000

/* A content length: mostly short, which is fast; 1 in 8 up to 16 KiB,
 * 1 in 16 within 4 bytes of a whole record. *budget is what is left. */
static size_t
take_length(struct input *in, size_t *budget)
{
	uint8_t mode = take_u8(in);
	size_t len;

	switch (mode >> 4) {
	case 0:
		len = (size_t)(RECORD_CONTENT_MAX + (int)(mode & 7) - 4);
		break;
	case 1:
	case 2:
		len = (size_t)take_uint(in, 2) & 0x3FFF;
		break;
	default:
		len = take_u8(in);
		break;
	}
	if (len > *budget)
		len %= 256;
	if (len > *budget)
		len = 0;
	*budget -= len;
	return len;
}

/* One record header: returns its content length, after checking what the
 * responder must always write. */
static size_t
read_header(const unsigned char *h, int type, unsigned id)
{
	CHECK(h[0] == 1);			/* FCGI_VERSION_1 */
	CHECK(h[1] == type);
	CHECK((unsigned)(h[2] << 8 | h[3]) == id);
	CHECK(h[6] == 0);			/* paddingLength */
	CHECK(h[7] == 0);			/* reserved */
	return (size_t)(h[4] << 8 | h[5]);
}

static void
check_records(const unsigned char *s, size_t len, const struct op *ops,
    size_t nops)
{
	size_t pos = 0;

	for (size_t i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		if (op->kind == OP_STDOUT) {
			size_t got = 0, start = pos;
			while (got < op->len) {
				CHECK(len - pos >= RECORD_HEADER_LEN);
				size_t n = read_header(s + pos, 6, op->id);
				pos += RECORD_HEADER_LEN;
				CHECK(n >= 1 && n <= op->len - got);
				CHECK(len - pos >= n);
				CHECK(memcmp(s + pos, op->content + got, n) == 0);
				pos += n;
				got += n;
			}
			CHECK(pos - start == fcgi_stdout_size(op->len));
		} else if (op->kind == OP_END) {
			static const unsigned char body[8] = { 0 };
			CHECK(len - pos >= 2 * RECORD_HEADER_LEN + 8);
			CHECK(read_header(s + pos, 6, op->id) == 0);
			pos += RECORD_HEADER_LEN;
			CHECK(read_header(s + pos, 3, op->id) == 8);
			pos += RECORD_HEADER_LEN;
			/* appStatus 0, FCGI_REQUEST_COMPLETE, reserved */
			CHECK(memcmp(s + pos, body, 8) == 0);
			pos += 8;
		}
	}
	CHECK(pos == len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	struct input in = { bytes, size };
	struct op ops[MAX_OPS];
	size_t nops = 0;
	struct buf out = BUF_INIT;
	/* The record of all appended bytes is not under test: keeping it
	 * from run to run saves mapping fresh pages each time. */
	static struct buf all = BUF_INIT;
	size_t consumed = 0;	/* bytes of all no longer in out */
	size_t budget = BUDGET;

	while (in.left > 0 && nops < MAX_OPS) {
		struct op *op = &ops[nops++];
		uint8_t code = take_u8(&in);
		op->kind = code % 3;
		op->id = (unsigned)take_uint(&in, 2);
		op->content = NULL;
		op->len = 0;
		size_t before = out.len;

		if (op->kind == OP_STDOUT) {
			op->len = take_length(&in, &budget);
			op->content = malloc(op->len ? op->len : 1);
			CHECK(op->content != NULL);
			if (op->len <= 255) {
				/* Short contents come from the input. */
				for (size_t i = 0; i < op->len; i++)
					op->content[i] = take_u8(&in);
			} else {
				fill(op->content, op->len,
				    (uint32_t)take_uint(&in, 4));
			}
			CHECK(fcgi_append_stdout(&out, op->id, op->content,
			    op->len) == 0);
			CHECK(out.len - before == fcgi_stdout_size(op->len));
		} else if (op->kind == OP_END) {
			CHECK(fcgi_append_end(&out, op->id) == 0);
			CHECK(out.len - before == 2 * RECORD_HEADER_LEN + 8);
		} else {
			size_t n = (size_t)take_uint(&in, 2);
			buf_consume(&out, n);
			consumed += n < before ? n : before;
			CHECK(out.len == (n < before ? before - n : 0));
		}
		if (out.len > before)
			CHECK(buf_append(&all, out.data + before,
			    out.len - before) == 0);
		CHECK(out.len == all.len - consumed && out.len <= out.cap);
		/* What is left in out is what was appended and not consumed
		 * (compared after a consume and at the end: comparing it all
		 * after every append would make long inputs slow). */
		if (op->kind == OP_CONSUME || in.left == 0 || nops == MAX_OPS)
			CHECK(out.len == 0 || memcmp(out.data,
			    all.data + consumed, out.len) == 0);
	}
	check_records((const unsigned char *)all.data, all.len, ops, nops);

	for (size_t i = 0; i < nops; i++)
		free(ops[i].content);
	buf_free(&out);
	buf_clear(&all);
	CHECK(out.data == NULL && out.len == 0 && out.cap == 0);
	return 0;
}
