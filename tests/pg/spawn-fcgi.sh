#!/bin/sh
# tests/integration/spawn-fcgi.sh on a PostgreSQL log: contrib/spawn-fcgi.sh
# start, stop, restart and -n, the responder's messages in syslog; with a
# password file the responder's user cannot read, the person who runs
# the script is told why and nothing starts.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/spawn-fcgi.sh"
