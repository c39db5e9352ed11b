#!/bin/sh
# tests/integration/apache-fcgid.sh on a PostgreSQL log: mod_fcgid starts
# the responder with the environment contrib/apache-fcgid.conf gives it
# (FcgidInitialEnv SSELOG_DB and PGPASSFILE), through sse_suite.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/apache-fcgid.sh"
