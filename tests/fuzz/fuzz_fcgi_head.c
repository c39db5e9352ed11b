/* Fuzz target: the verdict on the first bytes of a FastCGI connection
 * (src/fcgi_head.h).
 *
 * Input: a mode byte, then either (even mode) the bytes of the head as
 * they are, or (odd mode) a list of operations that build one: a
 * FCGI_BEGIN_REQUEST (any id, role and padding), name-value pairs of any
 * length in either encoding (up to 2^31 - 1, and around the 128 KiB
 * bound), FCGI_PARAMS records cutting them anywhere, the empty record,
 * records of any type, version and id, raw bytes. The second form reaches
 * heads of 160 KiB and more that the first cannot.
 *
 * fcgi_head_check() must agree with a reference written from the FastCGI
 * 1.0 specification (sections 3.3, 3.4 and 5.1) and the rules in
 * fcgi_head.h, which joins the parameters' content first and reads the
 * pairs from the joined bytes: same verdict, request id, role, need and
 * length.
 * And on its own:
 * - WAIT: need is past the bytes judged;
 * - the prefixes at each need, from 0 on, are WAIT until one is not, and
 *   that verdict is the input's (the verdict depends only on the head);
 * - READY: no shorter prefix is anything but WAIT or READY with the same
 *   request id, and the input with more bytes after it, whatever they
 *   are, is still READY with the same id; so are the other final
 *   verdicts.
 * The head is judged where it ends at the end of its allocation, so that
 * AddressSanitizer sees a read past it.
 */
#include "fcgi_head.h"
#include "fuzz.h"

enum {
	V1 = 1,
	BEGIN_REQUEST = 1,
	PARAMS = 4,
	RESPONDER = 1,
};

/* ---- the reference ---- */

struct ref {
	enum fcgi_head_verdict v;
	unsigned id, role;
	size_t need;
	size_t length;		/* READY: the head's bytes */
};

/* The parameters' content, joined: up to the bound and one record more. */
static uint8_t joined[FCGI_HEAD_PARAMS_MAX + 65535];

/* A length at s[*q] (section 3.4): false when the bytes end first. */
static bool
read_length(const uint8_t *s, size_t n, size_t *q, uint64_t *len)
{
	if (*q >= n)
		return false;
	if (s[*q] < 0x80) {
		*len = s[(*q)++];
		return true;
	}
	if (n - *q < 4)
		return false;
	*len = (uint64_t)(s[*q] & 0x7F) * 16777216 + s[*q + 1] * 65536u +
	    s[*q + 2] * 256u + s[*q + 3];
	*q += 4;
	return true;
}

static unsigned
be16(const uint8_t *p)
{
	return p[0] * 256u + p[1];
}

static void
reference(const uint8_t *b, size_t len, struct ref *r)
{
	memset(r, 0, sizeof *r);
	r->v = FCGI_HEAD_WAIT;
	/* The first record: a whole header, FCGI_BEGIN_REQUEST of version
	 * 1, a request id, 8 bytes of body. */
	if (len < 8) {
		r->need = 8;
		return;
	}
	size_t begin_end = 16 + (size_t)b[6];
	if (b[0] != V1 || b[1] != BEGIN_REQUEST || be16(b + 2) == 0 ||
	    be16(b + 4) != 8) {
		r->v = FCGI_HEAD_BAD;
		return;
	}
	unsigned id = be16(b + 2);
	/* The role is judged once its two bytes are in. */
	if (len < 10) {
		r->need = 10;
		return;
	}
	if (be16(b + 8) != RESPONDER) {
		r->v = FCGI_HEAD_UNKNOWN_ROLE;
		r->id = id;
		r->role = be16(b + 8);
		return;
	}
	if (len < begin_end) {
		r->need = begin_end;
		return;
	}
	r->id = id;
	r->role = RESPONDER;

	/* Join the content of the whole FCGI_PARAMS records that follow,
	 * up to the first record that is anything else. */
	size_t joined_len = 0, pos = begin_end;
	bool ended = false;	/* by an empty record */
	while (len - pos >= 8) {
		const uint8_t *h = b + pos;
		size_t clen = be16(h + 4);
		size_t end = pos + 8 + clen + h[6];
		if (h[0] != V1 || h[1] != PARAMS || be16(h + 2) != id ||
		    end > FCGI_HEAD_BYTES_MAX || end > len)
			break;
		if (clen == 0) {
			ended = true;
			break;
		}
		if (joined_len + clen > sizeof joined)
			break;	/* past the bound: never read so far */
		memcpy(joined + joined_len, h + 8, clen);
		joined_len += clen;
		pos = end;
	}

	/* Read the pairs: where the first that claims too much has its
	 * lengths, and whether they end exactly with the content. */
	size_t q = 0, claim_at = SIZE_MAX;
	for (;;) {
		uint64_t nl, vl;
		size_t start = q;
		if (q == joined_len)
			break;
		if (!read_length(joined, joined_len, &q, &nl) ||
		    !read_length(joined, joined_len, &q, &vl)) {
			q = start;
			break;
		}
		if (nl + vl > FCGI_HEAD_PARAMS_MAX) {
			claim_at = q;
			q = start;
			break;
		}
		if (nl + vl > joined_len - q) {
			q = start;
			break;
		}
		q += (size_t)(nl + vl);
	}
	bool whole_pairs = q == joined_len && claim_at == SIZE_MAX;

	/* Then the records again, one verdict at a time. */
	size_t content = 0;
	pos = begin_end;
	for (;;) {
		if (len - pos < 8) {
			r->need = pos + 8;
			return;
		}
		const uint8_t *h = b + pos;
		size_t clen = be16(h + 4);
		size_t end = pos + 8 + clen + h[6];
		if (h[0] != V1 || h[1] != PARAMS || be16(h + 2) != id) {
			r->v = FCGI_HEAD_BAD;
			return;
		}
		if (end > FCGI_HEAD_BYTES_MAX ||
		    content + clen > FCGI_HEAD_PARAMS_MAX) {
			r->v = FCGI_HEAD_TOO_LARGE;
			return;
		}
		if (len < end) {
			r->need = end;
			return;
		}
		if (clen == 0) {
			CHECK(ended && content == joined_len);
			r->v = whole_pairs ? FCGI_HEAD_READY : FCGI_HEAD_BAD;
			r->length = end;
			return;
		}
		content += clen;
		if (content > FCGI_HEAD_PARAMS_MAX || claim_at <= content) {
			r->v = FCGI_HEAD_TOO_LARGE;
			return;
		}
		CHECK(content <= joined_len);
		pos = end;
	}
}

/* ---- checks ---- */

static const char *const names[] = {
	"WAIT", "READY", "BAD", "TOO_LARGE", "UNKNOWN_ROLE",
};

/* The verdict on the first len bytes of b; the same as the reference's. */
static enum fcgi_head_verdict
judge(const uint8_t *b, size_t len, struct fcgi_head *head)
{
	struct ref r;
	enum fcgi_head_verdict v = fcgi_head_check(b, len, head);

	reference(b, len, &r);
	if (v != r.v || (v == FCGI_HEAD_WAIT && head->need != r.need) ||
	    ((v == FCGI_HEAD_READY || v == FCGI_HEAD_TOO_LARGE ||
	    v == FCGI_HEAD_UNKNOWN_ROLE) && head->request_id != r.id) ||
	    ((v == FCGI_HEAD_READY || v == FCGI_HEAD_UNKNOWN_ROLE) &&
	    head->role != r.role) ||
	    (v == FCGI_HEAD_READY && head->length != r.length)) {
		fprintf(stderr, "%zu bytes: %s id %u role %u need %zu; "
		    "reference: %s id %u role %u need %zu\n", len,
		    names[v % 5], head->request_id, head->role, head->need,
		    names[r.v % 5], r.id, r.role, r.need);
		CHECK(!"the verdict differs from the reference's");
	}
	CHECK(v != FCGI_HEAD_WAIT || head->need > len);
	return v;
}

/* Heads are judged at the end of these, so that a read past them
 * shows: the head built from the input in one, its prefixes and the head
 * with more bytes after it in the other. */
#define ARENA (FCGI_HEAD_BYTES_MAX + 65536 + 2048)
static uint8_t arena[ARENA], arena2[ARENA];

static const uint8_t *
place(uint8_t *a, const uint8_t *b, size_t len)
{
	CHECK(len <= ARENA);
	uint8_t *p = a + ARENA - len;
	memmove(p, b, len);
	return p;
}

static bool
final_same(enum fcgi_head_verdict v, const struct fcgi_head *a,
    enum fcgi_head_verdict w, const struct fcgi_head *b)
{
	if (v != w)
		return false;
	if (v == FCGI_HEAD_READY || v == FCGI_HEAD_TOO_LARGE ||
	    v == FCGI_HEAD_UNKNOWN_ROLE)
		return a->request_id == b->request_id && a->role == b->role;
	return true;
}

/* b ends at the end of its allocation; more (extra bytes) may be judged
 * after it. */
static void
check_head(const uint8_t *b, size_t len, const uint8_t *more, size_t extra)
{
	struct fcgi_head head, at;
	enum fcgi_head_verdict v = judge(b, len, &head);

	/* From nothing, from need to need. */
	size_t k = 0;
	enum fcgi_head_verdict w;
	for (;;) {
		w = fcgi_head_check(b, k, &at);
		if (w != FCGI_HEAD_WAIT)
			break;
		CHECK(at.need > k);
		if (at.need > len)
			break;
		k = at.need;
	}
	if (w == FCGI_HEAD_WAIT) {
		CHECK(v == FCGI_HEAD_WAIT && at.need == head.need);
	} else {
		CHECK(final_same(v, &head, w, &at));
		/* The final verdict at its own length, bounds checked. */
		if (k < len)
			judge(place(arena2, b, k), k, &at);
	}

	/* READY: every shorter prefix is WAIT, or READY with the same id
	 * (all of them in small heads, a few in large ones). */
	if (v == FCGI_HEAD_READY) {
		size_t step = len <= 2048 ? 1 : len / 61 + 1;
		for (size_t i = 0; i < len; i += step) {
			w = fcgi_head_check(b, i, &at);
			CHECK(w == FCGI_HEAD_WAIT ||
			    (w == FCGI_HEAD_READY &&
			    at.request_id == head.request_id));
		}
	}

	/* One prefix chosen by the input against the reference. */
	if (len > 0) {
		size_t i = (b[len / 2] * 257u + b[len - 1] * 7u + len) %
		    (len + 1);
		judge(b, i, &at);
	}

	/* Whatever comes after a final verdict changes nothing. */
	if (v != FCGI_HEAD_WAIT && extra > 0 && len + extra <= ARENA) {
		uint8_t *p = arena2 + ARENA - len - extra;
		memcpy(p, b, len);
		memcpy(p + len, more, extra);
		w = judge(p, len + extra, &at);
		CHECK(final_same(v, &head, w, &at));
	}
}

/* ---- building heads ---- */

static uint8_t gen[ARENA - 4096];
static size_t gen_len;
static uint8_t pend[FCGI_HEAD_PARAMS_MAX + 256];	/* pairs not sent */
static size_t pend_len, pend_off;
static unsigned records;

static bool
room(size_t n)
{
	return gen_len + n <= sizeof gen;
}

static void
emit(const void *p, size_t n)
{
	memcpy(gen + gen_len, p, n);
	gen_len += n;
}

static void
emit_header(unsigned version, unsigned type, unsigned id, size_t clen,
    unsigned padding)
{
	const uint8_t h[8] = {
		(uint8_t)version, (uint8_t)type, (uint8_t)(id >> 8),
		(uint8_t)id, (uint8_t)(clen >> 8), (uint8_t)clen,
		(uint8_t)padding, 0,
	};

	emit(h, 8);
	records++;
}

/* A FCGI_PARAMS record of up to chunk bytes of the pairs not sent. */
static void
emit_params(unsigned id, size_t chunk, unsigned padding)
{
	size_t n = pend_len - pend_off;

	if (n > chunk)
		n = chunk;
	if (n == 0 || !room(8 + n + padding))
		return;
	emit_header(V1, PARAMS, id, n, padding);
	emit(pend + pend_off, n);
	memset(gen + gen_len, 0xA5, padding);
	gen_len += padding;
	pend_off += n;
}

static void
pend_length(uint64_t len, bool four)
{
	if (pend_len + 4 > sizeof pend)
		return;
	if (len < 128 && !four) {
		pend[pend_len++] = (uint8_t)len;
		return;
	}
	pend[pend_len++] = (uint8_t)(0x80 | (len >> 24 & 0x7F));
	pend[pend_len++] = (uint8_t)(len >> 16);
	pend[pend_len++] = (uint8_t)(len >> 8);
	pend[pend_len++] = (uint8_t)len;
}

/* A length for a pair: short, in four bytes, large, or on an edge. */
static uint64_t
take_pair_length(struct input *in, bool *four)
{
	uint8_t sel = take_u8(in);
	static const uint64_t edges[] = {
		0, 127, 128, 65535, 65536, FCGI_HEAD_PARAMS_MAX - 9,
		FCGI_HEAD_PARAMS_MAX - 8, FCGI_HEAD_PARAMS_MAX,
		FCGI_HEAD_PARAMS_MAX + 1, (uint64_t)1 << 30, 0x7FFFFFFF,
	};

	*four = sel & 0x80;
	switch (sel & 3) {
	case 0:
	case 1:
		return sel >> 2 & 0x1F;
	case 2:
		return take_uint(in, (sel >> 2 & 1) + 1);
	default:
		return edges[(sel >> 2 & 0x1F) % (sizeof edges /
		    sizeof edges[0])] - (sel >> 7);
	}
}

static void
build(struct input *in)
{
	unsigned id = 1;

	gen_len = pend_len = pend_off = 0;
	records = 0;
	/* Room for the longest record but FCGI_PARAMS, which emit_params
	 * leaves out when it does not fit. */
	while (in->left > 0 && records < 600 && room(8 + 255 + 255)) {
		uint8_t op = take_u8(in);
		switch (op & 7) {
		case 0: {	/* FCGI_BEGIN_REQUEST */
			id = (unsigned)take_uint(in, 2);
			unsigned role = op & 0x08 ? (unsigned)take_uint(in, 2) :
			    RESPONDER;
			size_t clen = op & 0x10 ? take_u8(in) % 12 : 8;
			unsigned padding = op & 0x20 ? take_u8(in) : 0;
			uint8_t body[12] = { (uint8_t)(role >> 8),
			    (uint8_t)role, take_u8(in) };
			emit_header(V1, BEGIN_REQUEST, id, clen, padding);
			emit(body, clen);
			memset(gen + gen_len, 0, padding);
			gen_len += padding;
			break;
		}
		case 1:
		case 2: {	/* a pair, not sent yet */
			bool nf, vf;
			uint64_t nl = take_pair_length(in, &nf);
			uint64_t vl = take_pair_length(in, &vf);
			pend_length(nl, nf);
			pend_length(vl, vf);
			size_t n = nl + vl < sizeof pend - pend_len ?
			    (size_t)(nl + vl) : sizeof pend - pend_len;
			memset(pend + pend_len, 'a' + (op >> 3), n);
			pend_len += n;
			break;
		}
		case 3: {	/* one FCGI_PARAMS record of them */
			size_t chunk = (size_t)take_uint(in, 2) | 1;
			unsigned padding = op & 0x08 ? take_u8(in) : 0;
			emit_params(id, chunk, padding);
			break;
		}
		case 4: {	/* the empty FCGI_PARAMS record */
			unsigned padding = op & 0x08 ? take_u8(in) : 0;
			emit_header(V1, PARAMS, id, 0, padding);
			memset(gen + gen_len, 0, padding);
			gen_len += padding;
			break;
		}
		case 5: {	/* all of them, in at most 64 records */
			size_t rest = pend_len - pend_off;
			size_t chunk = (size_t)take_uint(in, 2) | 1;
			unsigned padding = op & 0x08 ? take_u8(in) : 0;
			if (chunk < rest / 64 + 1)
				chunk = rest / 64 + 1;
			for (int i = 0; i < 64 && pend_off < pend_len; i++)
				emit_params(id, chunk, padding);
			break;
		}
		case 6: {	/* any record */
			unsigned version = op & 0x08 ? take_u8(in) : V1;
			unsigned type = take_u8(in) % 12;
			unsigned rid = op & 0x10 ? (unsigned)take_uint(in, 2) :
			    id;
			size_t clen = take_u8(in);
			unsigned padding = op & 0x20 ? take_u8(in) : 0;
			emit_header(version, type, rid, clen, padding);
			for (size_t i = 0; i < clen + padding; i++)
				gen[gen_len++] = take_u8(in);
			break;
		}
		default:	/* raw bytes */
			for (unsigned n = op >> 3 & 15; n > 0; n--)
				gen[gen_len++] = take_u8(in);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fcgi_head head;

	if (size == 0) {
		CHECK(fcgi_head_check(data, 0, &head) == FCGI_HEAD_WAIT &&
		    head.need == 8);
		return 0;
	}
	/* Bytes to put after the head: the input's own, backwards. */
	static uint8_t more[64];
	size_t extra = size - 1 < sizeof more ? size - 1 : sizeof more;
	for (size_t i = 0; i < extra; i++)
		more[i] = data[size - 1 - i];

	if (data[0] % 2 == 0) {
		/* The input's bytes end where libFuzzer's allocation does. */
		check_head(data + 1, size - 1, more, extra);
	} else {
		struct input in = { data + 1, size - 1 };
		build(&in);
		check_head(place(arena, gen, gen_len), gen_len, more, extra);
	}
	return 0;
}
