#!/bin/sh
# tests/integration/publish.sh on a PostgreSQL log: every way to write
# over HTTP and every refusal with nothing appended, a locked log (503
# after 5 s while another transaction holds the append lock), a live
# chunked upload, writes that come together sharing one commit.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/publish.sh"
