#!/bin/sh
# tests/browser/viewer-lighttpd.sh on a PostgreSQL log: the log viewer's lines,
# colours, progress, closed, and a responder killed and restarted
# mid-stream with every line once.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/browser/viewer-lighttpd.sh"
