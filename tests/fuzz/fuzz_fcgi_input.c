/* Fuzz target: the records after a responder's request head
 * (src/fcgi_input.h).
 *
 * Input: a mode byte, two bytes that seed the sizes of the pieces, then
 * either (even mode) the bytes on the connection as they are, for
 * request id 1, or (odd mode) two bytes of request id and a list of
 * operations that build the records: FCGI_STDIN of the request with
 * content from the input or up to 65535 bytes made up, the empty one,
 * FCGI_ABORT_REQUEST, records of any type, version and id, raw bytes.
 * The second form reaches padded records of any size, ids that match and
 * the events after the end of the body, which random bytes rarely do.
 *
 * The bytes are fed in pieces of pseudo-random sizes (piece_take() in
 * fuzz.h, up to 128 KiB), each a block of its own size so that AddressSanitizer sees a read past it. What comes out
 * must be what a reference written from the FastCGI 1.0 specification
 * (section 3.3) and the table in fcgi_input.h makes of the whole bytes at
 * once, walking them record by record: the same body, the same events
 * (END, ABORT, ERROR) at the same offsets, the same reason for an error.
 * And on its own: a feed consumes at most what it was given, all of it
 * for MORE; CONTENT is 1 or more bytes inside the piece, ending where the
 * consumed bytes end; ABORT and ERROR stay, consuming nothing; the reader
 * is between records at the end exactly when the bytes end on a record's
 * end.
 */
#include "fcgi_input.h"
#include "fuzz.h"

enum {
	V1 = 1,
	BEGIN_REQUEST = 1,
	ABORT_REQUEST = 2,
	PARAMS = 4,
	STDIN = 5,
};

/* ---- the reference ---- */

#define EVENTS_MAX 64

struct ref {
	uint8_t body[1 << 20];
	size_t body_len;
	enum fcgi_input_event events[EVENTS_MAX];
	size_t offsets[EVENTS_MAX];	/* bytes consumed when reported */
	size_t nevents;
	bool boundary;		/* the bytes end on a record's end */
};

static struct ref ref;

static void
ref_event(enum fcgi_input_event e, size_t off)
{
	CHECK(ref.nevents < EVENTS_MAX);
	ref.events[ref.nevents] = e;
	ref.offsets[ref.nevents++] = off;
}

static void
reference(const uint8_t *s, size_t len, unsigned id)
{
	size_t off = 0;
	bool ended = false;

	ref.body_len = 0;
	ref.nevents = 0;
	ref.boundary = false;
	for (;;) {
		if (off == len)
			ref.boundary = true;
		if (len - off < 8)
			return;
		const uint8_t *h = s + off;
		unsigned rid = (unsigned)h[2] << 8 | h[3];
		size_t clen = (size_t)h[4] << 8 | h[5];
		size_t whole = 8 + clen + h[6];
		bool ours = rid == id;
		if (h[0] != V1 || (rid != 0 && !ours) ||
		    (ours && h[1] == STDIN && ended) ||
		    (ours && (h[1] == BEGIN_REQUEST || h[1] == PARAMS))) {
			ref_event(FCGI_INPUT_ERROR, off + 8);
			return;
		}
		size_t have = len - off - 8 < clen ? len - off - 8 : clen;
		if (ours && h[1] == STDIN) {
			memcpy(ref.body + ref.body_len, h + 8, have);
			ref.body_len += have;
		}
		if (len - off < whole)
			return;
		off += whole;
		if (ours && h[1] == STDIN && clen == 0) {
			ended = true;
			ref_event(FCGI_INPUT_END, off);
		}
		if (ours && h[1] == ABORT_REQUEST) {
			ref_event(FCGI_INPUT_ABORT, off);
			return;
		}
	}
}

/* ---- building records ---- */

static uint8_t gen[1 << 20];
static size_t gen_len;

static void
emit(unsigned version, unsigned type, unsigned id, size_t clen,
    unsigned padding, struct input *in, bool made_up)
{
	if (sizeof gen - gen_len < 8 + clen + padding)
		return;
	uint8_t *p = gen + gen_len;
	p[0] = (uint8_t)version;
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(id >> 8);
	p[3] = (uint8_t)id;
	p[4] = (uint8_t)(clen >> 8);
	p[5] = (uint8_t)clen;
	p[6] = (uint8_t)padding;
	p[7] = 0;
	for (size_t i = 0; i < clen; i++)
		p[8 + i] = made_up ? (uint8_t)(i * 7 + clen) : take_u8(in);
	memset(p + 8 + clen, 0xEE, padding);
	gen_len += 8 + clen + padding;
}

static void
build(struct input *in, unsigned id)
{
	gen_len = 0;
	while (in->left > 0) {
		unsigned op = take_u8(in);
		unsigned padding = op & 0x10 ? take_u8(in) : 0;
		switch (op & 7) {
		case 0:		/* FCGI_STDIN, content from the input */
		case 1:
			emit(V1, STDIN, id, take_u8(in), padding, in, false);
			break;
		case 2:		/* FCGI_STDIN, content made up */
			emit(V1, STDIN, id, (size_t)take_uint(in, 2), padding,
			    in, true);
			break;
		case 3:		/* the end of the body */
			emit(V1, STDIN, id, 0, padding, in, false);
			break;
		case 4:		/* an abort, now and then with content */
			emit(V1, ABORT_REQUEST, id, op & 0x20 ? take_u8(in) % 9 :
			    0, padding, in, false);
			break;
		case 5: {	/* any type, of this request or id 0 */
			unsigned type = take_u8(in);
			emit(V1, type, op & 0x20 ? 0 : id, take_u8(in) % 64,
			    padding, in, false);
			break;
		}
		case 6: {	/* any version and id */
			unsigned version = take_u8(in);
			unsigned type = take_u8(in);
			unsigned rid = (unsigned)take_uint(in, 2);
			emit(version, type, rid, take_u8(in) % 16, padding, in,
			    false);
			break;
		}
		default:	/* raw bytes */
			for (unsigned n = op >> 3 & 15; n > 0 &&
			    gen_len < sizeof gen; n--)
				gen[gen_len++] = take_u8(in);
			break;
		}
	}
}

/* ---- feeding ---- */

static uint8_t body[1 << 20];

static void
check(const uint8_t *bytes, size_t len, unsigned id, struct pieces *pieces)
{
	struct fcgi_input in;
	struct fcgi_input_out out;
	size_t body_len = 0, nevents = 0, from = 0;
	bool final = false;

	reference(bytes, len, id);
	fcgi_input_init(&in, id);
	while (from < len && !final) {
		size_t n, start = from;
		uint8_t *piece = piece_take(pieces, bytes, len, &from, &n);
		size_t off = 0;
		while (!final) {
			size_t used = fcgi_input_feed(&in, piece + off,
			    n - off, &out);
			CHECK(used <= n - off);
			if (out.event == FCGI_INPUT_MORE) {
				CHECK(used == n - off);
				break;
			}
			if (out.event == FCGI_INPUT_CONTENT) {
				CHECK(out.len >= 1 && out.data >= piece + off &&
				    out.data + out.len == piece + off + used);
				CHECK(body_len + out.len <= ref.body_len);
				memcpy(body + body_len, out.data, out.len);
				body_len += out.len;
			} else {
				CHECK(nevents < ref.nevents);
				CHECK(out.event == ref.events[nevents]);
				CHECK(start + off + used ==
				    ref.offsets[nevents]);
				/* No body after an event but END, none
				 * after END but an error: the body before
				 * an event is all there is. */
				CHECK(body_len == ref.body_len);
				CHECK((out.event == FCGI_INPUT_ERROR) ==
				    (out.error != NULL));
				nevents++;
				if (out.event != FCGI_INPUT_END) {
					final = true;
					struct fcgi_input_out again;
					CHECK(fcgi_input_feed(&in, piece, n,
					    &again) == 0);
					CHECK(again.event == out.event);
				}
			}
			off += used;
		}
		free(piece);
	}
	CHECK(nevents == ref.nevents);
	CHECK(body_len == ref.body_len);
	CHECK(memcmp(body, ref.body, body_len) == 0);
	if (!final)
		CHECK(fcgi_input_at_boundary(&in) == ref.boundary);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	unsigned mode = take_u8(&in);

	struct pieces pieces;

	pieces_init(&pieces, &in, 1 << 17);
	if (mode % 2 == 0) {
		/* The input's bytes end where libFuzzer's allocation does. */
		check(in.p, in.left < sizeof body ? in.left : sizeof body, 1,
		    &pieces);
	} else {
		unsigned id = (unsigned)take_uint(&in, 2);
		if (id == 0)
			id = 1;
		build(&in, id);
		check(gen, gen_len, id, &pieces);
	}
	return 0;
}
