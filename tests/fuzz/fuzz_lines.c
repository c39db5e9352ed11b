/* Fuzz target: the lines of an upload (src/lines.h).
 *
 * Input: one byte for the most bytes of a line (1 to 64, or, from 0xF0
 * on, 1 to 4096 from the next two bytes), two bytes that seed the sizes
 * of the pieces, then the body.
 *
 * The body is fed in pieces of pseudo-random sizes (0 to 40 bytes, now
 * and then up to 4 KiB: piece_take() in fuzz.h), each a block of its own
 * size so that AddressSanitizer sees a read past it, then finished. What comes out
 * must be what a reference makes of the whole body at once (split at
 * each LF, one CR before it and one at the very end dropped, empty lines
 * skipped but counted, the first line over the most ends it all): the
 * same lines with the same numbers, then END, or TOO_LONG with the same
 * number. And on its own: every line is 1 to max bytes, holds no LF, and
 * lies inside the piece fed or the splitter's buffer; the buffer never
 * has room for more than max bytes; a feed consumes at most what it was
 * given, all of it when it reports MORE; a final event stays, consuming
 * nothing.
 */
#include "fuzz.h"
#include "lines.h"

/* ---- the reference ---- */

struct ref_line {
	size_t start, len;
	uint64_t number;
};

static struct ref_line ref_lines[70000];
static size_t ref_n;

/* Returns true for END, false for TOO_LONG (of line *bad). */
static bool
reference(const uint8_t *body, size_t len, size_t max, uint64_t *bad)
{
	size_t start = 0;
	uint64_t number = 0;

	ref_n = 0;
	while (start <= len) {
		const uint8_t *nl = memchr(body + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - body) : len;
		size_t n = end - start;
		if (n > 0 && body[end - 1] == '\r')
			n--;
		number++;
		if (n > max) {
			*bad = number;
			return false;
		}
		if (n > 0)
			ref_lines[ref_n++] = (struct ref_line){ start, n,
			    number };
		if (nl == NULL)
			break;
		start = end + 1;
	}
	return true;
}

/* ---- feeding ---- */

static size_t got;		/* lines checked so far */

static void
check_line(const struct lines *ls, const struct lines_out *out,
    const uint8_t *body, const char *piece, size_t piece_len)
{
	CHECK(out->len >= 1 && out->len <= ls->max);
	CHECK(memchr(out->line, '\n', out->len) == NULL);
	bool in_piece = piece != NULL && out->line >= piece &&
	    out->line + out->len <= piece + piece_len;
	bool in_buf = ls->buf != NULL && out->line >= ls->buf &&
	    out->line + out->len <= ls->buf + ls->cap;
	CHECK(in_piece || in_buf);
	CHECK(got < ref_n);
	CHECK(out->number == ref_lines[got].number);
	CHECK(out->len == ref_lines[got].len);
	CHECK(memcmp(out->line, body + ref_lines[got].start, out->len) == 0);
	got++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	size_t max = take_u8(&in);

	max = max >= 0xF0 ? 1 + take_uint(&in, 2) % 4096 : 1 + max % 64;
	struct pieces pieces;
	pieces_init(&pieces, &in, 4096);

	const uint8_t *body = in.p;
	size_t len = in.left < 100000 ? in.left : 100000;
	uint64_t bad = 0;
	bool ends = reference(body, len, max, &bad);

	struct lines ls;
	struct lines_out out;
	size_t off = 0;
	bool final = false;

	got = 0;
	lines_init(&ls, max);
	while (off < len && !final) {
		size_t n;
		char *piece = piece_take(&pieces, body, len, &off, &n);
		size_t used = 0;
		for (;;) {
			size_t k = lines_feed(&ls, piece + used, n - used,
			    &out);
			CHECK(k <= n - used);
			CHECK(ls.cap <= max && ls.len <= max);
			used += k;
			if (out.event == LINES_MORE) {
				CHECK(used == n);
				break;
			}
			if (out.event == LINES_LINE) {
				check_line(&ls, &out, body, piece, n);
				continue;
			}
			CHECK(out.event == LINES_TOO_LONG);
			CHECK(!ends && out.number == bad);
			CHECK(lines_feed(&ls, piece, n, &out) == 0 &&
			    out.event == LINES_TOO_LONG);
			final = true;
			break;
		}
		free(piece);
	}
	while (!final) {
		lines_finish(&ls, &out);
		CHECK(ls.cap <= max);
		if (out.event == LINES_LINE) {
			check_line(&ls, &out, body, NULL, 0);
			continue;
		}
		if (out.event == LINES_TOO_LONG) {
			CHECK(!ends && out.number == bad);
		} else {
			CHECK(out.event == LINES_END && ends);
		}
		final = true;
	}
	CHECK(got == ref_n);
	lines_finish(&ls, &out);
	CHECK(out.event == (ends ? LINES_END : LINES_TOO_LONG));
	lines_free(&ls);
	return 0;
}
