#!/bin/sh
# tests/integration/stop-writes.sh on a PostgreSQL log: SIGTERM while an
# upload runs lets it finish, every line once; --stop-timeout cuts it,
# and the ids it names are in the log.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/stop-writes.sh"
