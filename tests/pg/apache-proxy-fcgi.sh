#!/bin/sh
# tests/integration/apache-proxy-fcgi.sh on a PostgreSQL log: Apache
# mod_proxy_fcgi in front of a responder started with -d URI, through
# sse_suite.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/apache-proxy-fcgi.sh"
