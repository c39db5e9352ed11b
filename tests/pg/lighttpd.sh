#!/bin/sh
# tests/integration/lighttpd.sh on a PostgreSQL log: lighttpd starting the
# responder itself (bin-environment: SSELOG_DB, and PGPASSFILE from
# lighttpd's own environment), through sse_suite.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/lighttpd.sh"
