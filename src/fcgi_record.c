#include "fcgi_record.h"

#include <string.h>

/* The specification's values (section 8), under names of our own: libfcgi's
 * fastcgi.h defines the FCGI_ ones as macros. */
enum {
	VERSION_1 = 1,
	TYPE_END_REQUEST = 3,
	TYPE_STDOUT = 6,
	STATUS_REQUEST_COMPLETE = 0,
	STATUS_UNKNOWN_ROLE = 3,
};

static void
put_header(unsigned char *h, int type, unsigned request_id, size_t len)
{
	h[0] = VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(request_id >> 8);
	h[3] = (unsigned char)request_id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;	/* no padding: alignment is only a recommendation */
	h[7] = 0;
}

size_t
fcgi_stdout_size(size_t len)
{
	size_t records = (len + RECORD_CONTENT_MAX - 1) / RECORD_CONTENT_MAX;

	return len + records * RECORD_HEADER_LEN;
}

int
fcgi_append_stdout(struct buf *out, unsigned request_id, const void *data,
    size_t len)
{
	const unsigned char *p = data;

	if (buf_reserve(out, fcgi_stdout_size(len)) == -1)
		return -1;
	while (len > 0) {
		size_t n = len < RECORD_CONTENT_MAX ? len : RECORD_CONTENT_MAX;
		unsigned char *h = (unsigned char *)out->data + out->len;
		put_header(h, TYPE_STDOUT, request_id, n);
		memcpy(h + RECORD_HEADER_LEN, p, n);
		out->len += RECORD_HEADER_LEN + n;
		p += n;
		len -= n;
	}
	return 0;
}

int
fcgi_append_stdout_joined(struct buf *out, unsigned request_id,
    size_t *last, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t room = 0, cur = 0;

	if (*last != RECORD_NONE && *last + RECORD_HEADER_LEN <= out->len) {
		const unsigned char *h = (unsigned char *)out->data + *last;
		cur = (size_t)h[4] << 8 | h[5];
		if (h[1] == TYPE_STDOUT && h[6] == 0 &&
		    *last + RECORD_HEADER_LEN + cur == out->len)
			room = RECORD_CONTENT_MAX - cur;
	}
	size_t joined = len < room ? len : room;
	/* Reserve it all first, so that a failure leaves out as it was. */
	if (buf_reserve(out, joined + fcgi_stdout_size(len - joined)) == -1)
		return -1;
	if (joined > 0) {
		unsigned char *h = (unsigned char *)out->data + *last;
		memcpy(out->data + out->len, p, joined);
		out->len += joined;
		h[4] = (unsigned char)((cur + joined) >> 8);
		h[5] = (unsigned char)(cur + joined);
		p += joined;
		len -= joined;
	}
	if (len > 0) {
		size_t start = out->len;
		fcgi_append_stdout(out, request_id, p, len);
		*last = start + (len - 1) / RECORD_CONTENT_MAX *
		    (RECORD_HEADER_LEN + RECORD_CONTENT_MAX);
	}
	return 0;
}

/* FCGI_END_REQUEST: appStatus 0 (4 bytes), protocolStatus, 3 reserved
 * bytes. */
static void
put_end_request(unsigned char *rec, unsigned request_id, int protocol_status)
{
	put_header(rec, TYPE_END_REQUEST, request_id, 8);
	memset(rec + RECORD_HEADER_LEN, 0, 8);
	rec[RECORD_HEADER_LEN + 4] = (unsigned char)protocol_status;
}

int
fcgi_append_end(struct buf *out, unsigned request_id)
{
	unsigned char rec[RECORD_HEADER_LEN * 2 + 8];

	put_header(rec, TYPE_STDOUT, request_id, 0);
	put_end_request(rec + RECORD_HEADER_LEN, request_id,
	    STATUS_REQUEST_COMPLETE);
	return buf_append(out, rec, sizeof rec);
}

int
fcgi_append_unknown_role(struct buf *out, unsigned request_id)
{
	unsigned char rec[RECORD_HEADER_LEN + 8];

	put_end_request(rec, request_id, STATUS_UNKNOWN_ROLE);
	return buf_append(out, rec, sizeof rec);
}
