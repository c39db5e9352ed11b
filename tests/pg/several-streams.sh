#!/bin/sh
# tests/browser/several-streams.sh on a PostgreSQL log: several streams on
# one EventSource, each close naming its stream, the 204 after the last.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/browser/several-streams.sh"
