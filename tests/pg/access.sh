#!/bin/sh
# tests/integration/access.sh on a PostgreSQL log: who may read what
# (REMOTE_USER, tokens, the rules), a stream ending at its token's exp,
# kill -HUP.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/access.sh"
