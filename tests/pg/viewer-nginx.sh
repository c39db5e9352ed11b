#!/bin/sh
# tests/browser/viewer-nginx.sh on a PostgreSQL log: the log viewer's lines,
# colours, progress, closed, and a responder killed and restarted
# mid-stream with every line once, and the gap notice, denied on
# 401 and 403, the filter and the line links.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/browser/viewer-nginx.sh"
