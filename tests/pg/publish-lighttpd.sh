#!/bin/sh
# tests/integration/publish-lighttpd.sh on a PostgreSQL log: every way to
# write and every refusal behind lighttpd mod_fastcgi (which starts the
# responder with --publish), uploads of lines buffered and streamed.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/publish-lighttpd.sh"
