#!/bin/sh
# tests/integration/nginx.sh on a PostgreSQL log: sselog-fcgi behind
# nginx, from contrib/spawn-fcgi.sh (SSELOG_DB), through sse_suite: live
# delivery of what sselog and a plain SQL INSERT append, replay, resume,
# the gap after a prune, several streams, HEAD, CORS, bad input,
# heartbeats.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/nginx.sh"
