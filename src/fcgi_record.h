/* FastCGI records that the responder writes itself (FastCGI 1.0
 * specification, sections 3.3 and 5.5). libfcgi reads the request; the
 * long-lived response is framed here so that it can be written from the
 * event loop on a non-blocking socket. Pure: no I/O.
 */
#ifndef SSELOG_FCGI_RECORD_H
#define SSELOG_FCGI_RECORD_H

#include <stddef.h>

#include "buf.h"

#define RECORD_HEADER_LEN 8
#define RECORD_CONTENT_MAX 65535	/* content bytes in one record */

/* Appends len bytes as FCGI_STDOUT records of request_id (as many as
 * needed; none when len is 0). Returns 0, or -1 when memory runs out (out
 * is then unchanged). */
int fcgi_append_stdout(struct buf *out, unsigned request_id,
    const void *data, size_t len);

/* No record for fcgi_append_stdout_joined() to extend. */
#define RECORD_NONE ((size_t)-1)

/* Like fcgi_append_stdout(), but extends the FCGI_STDOUT record at offset
 * *last in out when it is out's last record and has room, so that the
 * events of one wake-up make one record, which the web server then handles
 * once. *last (RECORD_NONE: none) is updated to the last record
 * appended; the caller resets it whenever out's start is written or out is
 * cleared. Returns 0, or -1 when memory runs out (out is then unchanged). */
int fcgi_append_stdout_joined(struct buf *out, unsigned request_id,
    size_t *last, const void *data, size_t len);

/* Appends the end of the response: an empty FCGI_STDOUT record, which
 * closes the stream, then FCGI_END_REQUEST with FCGI_REQUEST_COMPLETE.
 * Returns 0, or -1 when memory runs out. */
int fcgi_append_end(struct buf *out, unsigned request_id);

/* Appends the refusal of a request in a role other than responder (an
 * authorizer or filter): FCGI_END_REQUEST with FCGI_UNKNOWN_ROLE and no
 * output. Returns 0, or -1 when memory runs out. */
int fcgi_append_unknown_role(struct buf *out, unsigned request_id);

/* The bytes fcgi_append_stdout() adds for len bytes of content. */
size_t fcgi_stdout_size(size_t len);

#endif
