#!/bin/sh
# tests/integration/access-lighttpd.sh on a PostgreSQL log: who may read
# what behind lighttpd, a stream ending at its token's exp, kill -HUP to
# the responders lighttpd started.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/access-lighttpd.sh"
