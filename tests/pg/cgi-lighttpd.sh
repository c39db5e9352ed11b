#!/bin/sh
# tests/integration/cgi-lighttpd.sh on a PostgreSQL log: the responder as
# a CGI program under lighttpd mod_cgi, SSELOG_DB and PGPASSFILE from
# setenv.add-environment, through sse_suite.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/cgi-lighttpd.sh"
