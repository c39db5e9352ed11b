/* Fuzz target: the body of a write request (src/upload.h).
 *
 * Input: one byte of flags (bits 0-1: the kind, event, lines or discard;
 * bit 2: FastCGI records, else the plain bytes of a CGI body; bit 3:
 * records built here from the body, else the rest of the input as it
 * is; bit 4: batches of a few lines and bytes, else the real bounds; bit
 * 5: the built records stop somewhere, as a connection cut short), one
 * byte for the most bytes of an event or a line (1 to 64), two bytes for
 * CONTENT_LENGTH (CGI) or the request id (FastCGI, 1 to 65535), two that
 * seed the sizes of the pieces and of the built records, one for the
 * batch bounds, then the body (or the records).
 *
 * The bytes are fed in pieces of pseudo-random sizes (piece_take() in
 * fuzz.h), taking each batch of lines whenever the upload says it is
 * full, then the end of the connection. What must hold:
 * - a feed consumes at most what it was given; less only when the batch
 *   is full, or once BROKEN, after which it consumes nothing;
 * - the state only moves forward: READING, then ENDED or BROKEN (a
 *   FastCGI abort or a bad record after the end breaks an ENDED upload
 *   too; a CGI one stays ENDED); BROKEN says why in one line; a kind
 *   only ever becomes DISCARD, which holds nothing but the batch of
 *   lines before one too long, and an error only comes with DISCARD;
 * - never more than the most bytes buffered: an event's data, the
 *   splitter's partial line; a batch over its bounds by at most what one
 *   feed brought (three bytes for each, as U+FFFD replaces one);
 * - against a reference that takes the body from the whole bytes at
 *   once (fcgi_input.h, fuzzed on its own, for FastCGI; the first
 *   CONTENT_LENGTH bytes for CGI) and splits it at each LF: an event
 *   that ends holds the body, or is TOO_LARGE when the body is over the
 *   most; the lines of the batches are the body's non-empty lines, each
 *   made UTF-8 without NUL, in order, up to the first too long, whose
 *   number TOO_LARGE gives; a body cut short gives a prefix of them.
 */
#include "fuzz.h"
#include "buf.h"
#include "fcgi_input.h"
#include "upload.h"
#include "validate.h"

#define MAX_BODY 100000
#define FCGI_STDIN_TYPE 5

/* ---- the reference ---- */

struct expect {
	uint8_t *body;
	size_t len;
	bool ended;	/* the whole body came */
	bool broken;	/* an abort or a bad record */
};

/* The body the FastCGI records of request id hold, read at once. */
static void
expect_fcgi(const uint8_t *bytes, size_t len, unsigned id, struct expect *e)
{
	struct fcgi_input in;
	size_t off = 0;

	fcgi_input_init(&in, id);
	while (off < len) {
		struct fcgi_input_out out;
		off += fcgi_input_feed(&in, bytes + off, len - off, &out);
		if (out.event == FCGI_INPUT_CONTENT && !e->ended) {
			memcpy(e->body + e->len, out.data, out.len);
			e->len += out.len;
		} else if (out.event == FCGI_INPUT_END) {
			e->ended = true;
		} else if (out.event == FCGI_INPUT_ABORT ||
		    out.event == FCGI_INPUT_ERROR) {
			e->broken = true;
			return;
		}
	}
}

/* The lines of a body, as the upload must batch them. */
struct ref_line {
	char *text;
	size_t len;
};

static struct ref_line ref_lines[MAX_BODY];
static size_t ref_n;
static uint64_t ref_bad;	/* the number of the line too long, or 0 */

static void
reference_lines(const uint8_t *body, size_t len, size_t max)
{
	uint64_t number = 0;

	ref_n = 0;
	ref_bad = 0;
	for (size_t at = 0; at <= len;) {
		size_t end = at;
		while (end < len && body[end] != '\n')
			end++;
		size_t n = end - at;
		if (n > 0 && body[at + n - 1] == '\r')
			n--;	/* the CR of a CRLF, or one at the very end */
		number++;
		if (n > max) {
			ref_bad = number;
			return;
		}
		if (n > 0) {
			struct ref_line *r = &ref_lines[ref_n++];
			const char *s = (const char *)body + at;
			if (validate_data(s, n) == NULL) {
				r->text = malloc(n);
				CHECK(r->text != NULL);
				memcpy(r->text, s, n);
				r->len = n;
			} else {
				r->text = utf8_repair(s, n, &r->len);
				CHECK(r->text != NULL);
			}
		}
		if (end == len)
			return;
		at = end + 1;
	}
}

/* ---- the records built from the body ---- */

static size_t
build_records(struct pieces *ps, const uint8_t *body, size_t len,
    unsigned id, bool cut, uint8_t *out)
{
	size_t off = 0, n = 0, size;

	while (off < len) {
		uint8_t *piece = piece_take(ps, body, len, &off, &size);
		if (size > 0) {
			uint8_t pad = (uint8_t)(ps->rng & 7);
			uint8_t h[8] = { 1, FCGI_STDIN_TYPE, id >> 8, id & 0xff,
			    size >> 8, size & 0xff, pad, 0 };
			memcpy(out + n, h, 8);
			memcpy(out + n + 8, piece, size);
			memset(out + n + 8 + size, 0, pad);
			n += 8 + size + pad;
		}
		free(piece);
	}
	uint8_t end[8] = { 1, FCGI_STDIN_TYPE, id >> 8, id & 0xff, 0, 0, 0,
	    0 };
	memcpy(out + n, end, 8);
	n += 8;
	return cut ? (size_t)(ps->rng % (n + 1)) : n;
}

/* ---- feeding ---- */

static size_t got;		/* lines of the batches checked so far */

/* Takes the batch: each line is in the data, UTF-8 without NUL, and the
 * next of the reference's. */
static void
take_batch(struct upload *u)
{
	for (size_t i = 0; i < u->nbatch; i++) {
		const struct upload_line *l = &u->batch[i];
		CHECK(l->len >= 1 && l->len <= 3 * u->max);
		CHECK(l->off <= u->data.len && l->len <= u->data.len - l->off);
		const char *s = u->data.data + l->off;
		CHECK(validate_data(s, l->len) == NULL);
		CHECK(got < ref_n);
		CHECK(l->len == ref_lines[got].len);
		CHECK(memcmp(s, ref_lines[got].text, l->len) == 0);
		got++;
	}
	upload_batch_taken(u);
	CHECK(u->nbatch == 0 && u->data.len == 0);
}

/* What holds after any call. */
static void
check_upload(const struct upload *u, enum upload_kind kind0,
    enum upload_state before)
{
	CHECK(u->kind == kind0 || u->kind == UPLOAD_DISCARD);
	CHECK(u->error == UPLOAD_OK || u->kind == UPLOAD_DISCARD);
	CHECK(u->error != UPLOAD_NO_MEMORY);	/* nothing fails here */
	if (before == UPLOAD_BROKEN)
		CHECK(u->state == UPLOAD_BROKEN);
	if (before == UPLOAD_ENDED)
		CHECK(u->state != UPLOAD_READING);
	if (before == UPLOAD_ENDED && !u->fcgi)
		CHECK(u->state == UPLOAD_ENDED);
	if (u->state == UPLOAD_BROKEN) {
		CHECK(u->why != NULL && u->why[0] != '\0');
		CHECK(strchr(u->why, '\n') == NULL);
	}
	/* Lines stopped by one too long keep the batch of those before it,
	 * for the caller to append (lines.h); nothing else is kept. */
	if (u->kind == UPLOAD_DISCARD && kind0 != UPLOAD_LINES)
		CHECK(u->data.len == 0 && u->nbatch == 0);
	if (u->kind == UPLOAD_DISCARD && kind0 == UPLOAD_LINES)
		CHECK(u->error == UPLOAD_TOO_LARGE);
	if (u->kind == UPLOAD_EVENT)
		CHECK(u->data.len <= u->max && u->nbatch == 0);
	CHECK(u->lines.len <= u->max && u->lines.cap <= u->max);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t flags = take_u8(&in);
	enum upload_kind kind = (flags & 3) == 0 ? UPLOAD_EVENT :
	    (flags & 3) == 1 ? UPLOAD_LINES : UPLOAD_DISCARD;
	bool fcgi = flags & 4, build = fcgi && (flags & 8);
	size_t max = 1 + take_u8(&in) % 64;
	unsigned id_or_len = (unsigned)take_uint(&in, 2);
	unsigned id = id_or_len ? id_or_len : 1;
	struct pieces pieces;
	pieces_init(&pieces, &in, 4096);
	uint8_t bounds = take_u8(&in);

	size_t raw_len = in.left < MAX_BODY ? in.left : MAX_BODY;
	const uint8_t *raw = in.p;
	/* Records of the body: a header and at most 7 bytes of padding for
	 * each piece of at least one byte, and the end. */
	uint8_t *bytes = malloc(build ? raw_len * 16 + 8 : 1);
	CHECK(bytes != NULL);
	size_t len = build ? build_records(&pieces, raw, raw_len, id,
	    flags & 32, bytes) : raw_len;
	const uint8_t *stream = build ? bytes : raw;

	struct expect e = { .body = malloc(raw_len + 1) };
	CHECK(e.body != NULL);
	if (fcgi) {
		expect_fcgi(stream, len, id, &e);
	} else {
		e.len = id_or_len < len ? id_or_len : len;
		memcpy(e.body, stream, e.len);
		e.ended = id_or_len <= len;
	}
	reference_lines(e.body, e.len, max);

	struct upload u;
	upload_init(&u, kind, fcgi, id, id_or_len, max);
	if (flags & 16) {
		u.batch_lines = 1 + bounds % 8;
		u.batch_bytes = 1 + bounds / 4;
	}
	got = 0;
	size_t off = 0;
	bool stopped = false;	/* BROKEN: nothing more is taken */
	while (off < len && !stopped) {
		size_t n;
		uint8_t *piece = piece_take(&pieces, stream, len, &off, &n);
		size_t used = 0;
		for (int turns = 0; ; turns++) {
			CHECK(turns < 1000000);
			if (upload_batch_full(&u))
				take_batch(&u);
			enum upload_state before = u.state;
			size_t lines0 = u.nbatch, bytes0 = u.data.len;
			size_t k = upload_feed(&u, piece + used, n - used);
			CHECK(k <= n - used);
			check_upload(&u, kind, before);
			if (u.kind == UPLOAD_LINES) {
				CHECK(u.nbatch <= lines0 + k + 1);
				CHECK(u.data.len <= bytes0 + 3 * (k + max));
			}
			used += k;
			if (u.state == UPLOAD_BROKEN) {
				CHECK(upload_feed(&u, piece, n) == 0);
				stopped = true;
				break;
			}
			if (used == n)
				break;
			CHECK(upload_batch_full(&u));
		}
		free(piece);
	}
	enum upload_state at_end = u.state;
	upload_eof(&u);
	check_upload(&u, kind, at_end);
	CHECK(at_end == UPLOAD_READING ? u.state == UPLOAD_BROKEN :
	    u.state == at_end);

	/* The end, as the reference saw it. */
	if (e.broken)
		CHECK(u.state == UPLOAD_BROKEN);
	else if (e.ended)
		CHECK(u.state == UPLOAD_ENDED);
	else
		CHECK(at_end == UPLOAD_READING);
	bool whole = u.state == UPLOAD_ENDED || (e.ended && fcgi);
	if (kind == UPLOAD_EVENT && whole) {
		if (e.len > max) {
			CHECK(u.error == UPLOAD_TOO_LARGE);
		} else {
			CHECK(u.error == UPLOAD_OK && u.kind == UPLOAD_EVENT);
			CHECK(u.data.len == e.len);
			CHECK(e.len == 0 || memcmp(u.data.data, e.body,
			    e.len) == 0);
		}
	}
	if (kind == UPLOAD_LINES) {
		take_batch(&u);
		if (whole) {
			CHECK(got == ref_n);
			CHECK(ref_bad == 0 ? u.error == UPLOAD_OK :
			    u.error == UPLOAD_TOO_LARGE &&
			    u.too_long == ref_bad);
		} else if (u.error == UPLOAD_TOO_LARGE) {
			CHECK(u.too_long == ref_bad);
		}
	}
	if (kind == UPLOAD_DISCARD)
		CHECK(u.error == UPLOAD_OK);
	upload_free(&u);
	for (size_t i = 0; i < ref_n; i++)
		free(ref_lines[i].text);
	free(e.body);
	free(bytes);
	return 0;
}
