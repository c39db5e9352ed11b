#!/bin/sh
# tests/integration/location-guard.sh on a PostgreSQL log: a location's
# guard bypassed by ?stream= unless stream= is off (--streams path, the
# parameter SSELOG_STREAMS), several responders on one log.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/location-guard.sh"
