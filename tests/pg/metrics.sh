#!/bin/sh
# tests/integration/metrics.sh on a PostgreSQL log: the metrics of three
# responders on one socket behind nginx, their totals, a responder killed
# and replaced.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/metrics.sh"
