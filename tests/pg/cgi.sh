#!/bin/sh
# tests/integration/cgi.sh on a PostgreSQL log: the responder as a CGI
# program under Apache mod_cgid, one process (and one connection to the
# database) per request, SSELOG_DB and PGPASSFILE from SetEnv, through
# sse_suite.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/cgi.sh"
