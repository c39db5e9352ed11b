#!/bin/sh
# tests/browser/cross-origin.sh on a PostgreSQL log: a private build log on
# another origin with the cookie sselog_token, 403 and 401 that stop
# EventSource, and a CI job's upload (curl -T -) shown live, each line
# within 100 ms of its being written: a commit and its NOTIFY on the way.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/browser/cross-origin.sh"
