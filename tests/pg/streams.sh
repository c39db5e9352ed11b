#!/bin/sh
# tests/integration/streams.sh on a PostgreSQL log: 5,000 concurrent
# streams through nginx on one sselog-fcgi, each receiving the one event
# published, once, within 5 s.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/streams.sh"
