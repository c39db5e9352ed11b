#!/bin/sh
# tests/integration/tcp-listen.sh on a PostgreSQL log: the responder on a
# TCP socket of its own, FCGI_WEB_SERVER_ADDRS, big request heads.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/tcp-listen.sh"
