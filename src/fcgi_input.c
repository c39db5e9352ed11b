#include "fcgi_input.h"

/* FastCGI 1.0, sections 3.3 and 8. */
enum {
	FCGI_VERSION_1 = 1,
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST = 2,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_NULL_REQUEST_ID = 0,
};

void
fcgi_input_init(struct fcgi_input *in, unsigned request_id)
{
	*in = (struct fcgi_input){
		.request_id = request_id,
		.at_end = FCGI_INPUT_MORE,
		.final = FCGI_INPUT_MORE,
	};
}

bool
fcgi_input_at_boundary(const struct fcgi_input *in)
{
	return in->header_len == 0 && in->content_left == 0 &&
	    in->padding_left == 0;
}

static const char *
fail(struct fcgi_input *in, const char *why)
{
	in->final = FCGI_INPUT_ERROR;
	in->error = why;
	return why;
}

/* Judges the header just completed and sets up the reading of its
 * record. Returns NULL, or the reason it is an error. */
static const char *
take_header(struct fcgi_input *in)
{
	const unsigned char *h = in->header;
	unsigned type = h[1];
	unsigned id = (unsigned)h[2] << 8 | h[3];

	in->header_len = 0;
	in->content_left = (size_t)h[4] << 8 | h[5];
	in->padding_left = h[6];
	in->body = false;
	in->at_end = FCGI_INPUT_MORE;
	if (h[0] != FCGI_VERSION_1)
		return fail(in, "FastCGI record of a version other than 1");
	if (id == FCGI_NULL_REQUEST_ID)
		return NULL;		/* management: skipped */
	if (id != in->request_id)
		return fail(in, "FastCGI record of another request on a "
		    "connection that does not multiplex");
	switch (type) {
	case FCGI_STDIN:
		if (in->stdin_ended)
			return fail(in, "FCGI_STDIN after the end of the "
			    "request body");
		if (in->content_left == 0)
			in->at_end = FCGI_INPUT_END;
		in->body = true;
		break;
	case FCGI_ABORT_REQUEST:
		in->at_end = FCGI_INPUT_ABORT;
		break;
	case FCGI_BEGIN_REQUEST:
		return fail(in, "FCGI_BEGIN_REQUEST for a request already "
		    "begun");
	case FCGI_PARAMS:
		return fail(in, "FCGI_PARAMS after the end of the "
		    "parameters");
	default:
		break;		/* FCGI_DATA and the rest: skipped */
	}
	return NULL;
}

size_t
fcgi_input_feed(struct fcgi_input *in, const unsigned char *bytes,
    size_t len, struct fcgi_input_out *out)
{
	size_t off = 0;

	*out = (struct fcgi_input_out){ .event = in->final,
	    .error = in->error };
	if (in->final != FCGI_INPUT_MORE)
		return 0;
	while (off < len) {
		if (in->content_left == 0 && in->padding_left == 0) {
			/* A header, whole or in part. */
			size_t n = FCGI_INPUT_HEADER_LEN - in->header_len;
			if (n > len - off)
				n = len - off;
			for (size_t i = 0; i < n; i++)
				in->header[in->header_len++] = bytes[off++];
			if (in->header_len < FCGI_INPUT_HEADER_LEN)
				break;
			const char *why = take_header(in);
			if (why != NULL) {
				out->event = FCGI_INPUT_ERROR;
				out->error = why;
				return off;
			}
		} else if (in->content_left > 0) {
			size_t n = in->content_left < len - off ?
			    in->content_left : len - off;
			in->content_left -= n;
			if (in->body) {
				out->event = FCGI_INPUT_CONTENT;
				out->data = bytes + off;
				out->len = n;
				return off + n;
			}
			off += n;
		} else {
			size_t n = in->padding_left < len - off ?
			    in->padding_left : len - off;
			in->padding_left -= n;
			off += n;
		}
		if (in->content_left == 0 && in->padding_left == 0 &&
		    in->at_end != FCGI_INPUT_MORE) {
			/* The record is over, padding included: the event
			 * it stands for. */
			out->event = in->at_end;
			in->at_end = FCGI_INPUT_MORE;
			if (out->event == FCGI_INPUT_END)
				in->stdin_ended = true;
			else
				in->final = out->event;
			return off;
		}
	}
	return off;
}
