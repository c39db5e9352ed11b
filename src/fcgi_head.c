#include "fcgi_head.h"

#include <stdbool.h>

/* FastCGI 1.0, sections 3.3, 5.1 and 8. */
enum {
	FCGI_VERSION_1 = 1,
	FCGI_BEGIN_REQUEST = 1,
	FCGI_PARAMS = 4,
	FCGI_RESPONDER = 1,
	HEADER_LEN = 8,
	BEGIN_BODY_LEN = 8,
};

/* The name-value pairs of the parameter stream (section 3.4), which the
 * web server may split anywhere across records: one length byte, or four
 * with the top bit set, for the name, then for the value, then both. */
struct pairs {
	unsigned char len[4];	/* bytes of a four-byte length, so far */
	int nlen;
	bool value_next;	/* the next length is a value's */
	size_t name_len;
	size_t skip;		/* bytes of name and value still to come */
};

/* Returns false when a pair claims more than the parameters may hold. */
static bool
pairs_feed(struct pairs *p, const unsigned char *c, size_t n)
{
	while (n > 0) {
		if (p->skip > 0) {
			size_t k = n < p->skip ? n : p->skip;
			p->skip -= k;
			c += k;
			n -= k;
			continue;
		}
		size_t len;
		if (p->nlen == 0 && !(c[0] & 0x80)) {
			len = c[0];
		} else {
			p->len[p->nlen++] = c[0];
			if (p->nlen < 4) {
				c++;
				n--;
				continue;
			}
			len = (size_t)(p->len[0] & 0x7f) << 24 |
			    (size_t)p->len[1] << 16 | (size_t)p->len[2] << 8 |
			    p->len[3];
			p->nlen = 0;
		}
		c++;
		n--;
		if (!p->value_next) {
			p->name_len = len;
		} else {
			/* Both under the bound, so their sum cannot
			 * overflow anyone's int. */
			if (p->name_len > FCGI_HEAD_PARAMS_MAX ||
			    len > FCGI_HEAD_PARAMS_MAX - p->name_len)
				return false;
			p->skip = p->name_len + len;
		}
		p->value_next = !p->value_next;
	}
	return true;
}

static bool
pairs_complete(const struct pairs *p)
{
	return !p->value_next && p->nlen == 0 && p->skip == 0;
}

enum fcgi_head_verdict
fcgi_head_check(const unsigned char *buf, size_t len, struct fcgi_head *head)
{
	struct pairs pairs = { .nlen = 0 };
	size_t off = 0, params_len = 0;
	bool begun = false;

	head->request_id = 0;
	head->role = 0;
	head->need = 0;
	head->length = 0;
	for (;;) {
		if (len - off < HEADER_LEN) {
			head->need = off + HEADER_LEN;
			return FCGI_HEAD_WAIT;
		}
		const unsigned char *h = buf + off;
		unsigned type = h[1];
		unsigned id = (unsigned)h[2] << 8 | h[3];
		size_t clen = (size_t)h[4] << 8 | h[5];
		size_t end = off + HEADER_LEN + clen + h[6];
		const unsigned char *content = h + HEADER_LEN;

		if (h[0] != FCGI_VERSION_1)
			return FCGI_HEAD_BAD;
		/* Management records (id 0), other request ids on the same
		 * connection, FCGI_ABORT_REQUEST or FCGI_STDIN before the
		 * parameters end: web servers send none of them to a new
		 * responder connection. */
		if (!begun) {
			if (type != FCGI_BEGIN_REQUEST || id == 0 ||
			    clen != BEGIN_BODY_LEN)
				return FCGI_HEAD_BAD;
		} else if (type != FCGI_PARAMS || id != head->request_id) {
			return FCGI_HEAD_BAD;
		}
		if (end > FCGI_HEAD_BYTES_MAX)
			return begun ? FCGI_HEAD_TOO_LARGE : FCGI_HEAD_BAD;
		/* Too much, as soon as the header says so. */
		if (begun && clen > FCGI_HEAD_PARAMS_MAX - params_len)
			return FCGI_HEAD_TOO_LARGE;
		if (len < end) {
			/* The role is known as soon as its two bytes are. */
			if (!begun && len - off < HEADER_LEN + 2) {
				head->need = off + HEADER_LEN + 2;
				return FCGI_HEAD_WAIT;
			}
			if (!begun && ((unsigned)content[0] << 8 | content[1]) !=
			    FCGI_RESPONDER)
				goto unknown_role;
			head->need = end;
			return FCGI_HEAD_WAIT;
		}
		if (!begun) {
			head->request_id = id;
			head->role = (unsigned)content[0] << 8 | content[1];
			if (head->role != FCGI_RESPONDER)
				goto unknown_role;
			begun = true;
		} else if (clen == 0) {
			if (!pairs_complete(&pairs))
				return FCGI_HEAD_BAD;
			head->length = end;
			return FCGI_HEAD_READY;
		} else {
			params_len += clen;
			if (!pairs_feed(&pairs, content, clen))
				return FCGI_HEAD_TOO_LARGE;
		}
		off = end;
	}

unknown_role:
	head->request_id = (unsigned)buf[off + 2] << 8 | buf[off + 3];
	head->role = (unsigned)buf[off + HEADER_LEN] << 8 |
	    buf[off + HEADER_LEN + 1];
	return FCGI_HEAD_UNKNOWN_ROLE;
}
