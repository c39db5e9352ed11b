#!/bin/sh
# tests/browser/restart-lighttpd.sh on a PostgreSQL log: a page survives
# its responder being down for 10 s behind lighttpd, and resumes with
# every event published meanwhile, once, in order.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/browser/restart-lighttpd.sh"
