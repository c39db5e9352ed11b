#!/bin/sh
# tests/integration/idempotency.sh on a PostgreSQL log: a POST cut
# anywhere and retried with its Idempotency-Key: one event.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/idempotency.sh"
