#!/bin/sh
# tests/integration/systemd-socket.sh on a PostgreSQL log: the responder
# under socket activation (contrib/sselog.socket and sselog.service, with
# a drop-in giving it PGPASSFILE), through sse_suite; SIGTERM ends its
# streams cleanly.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/systemd-socket.sh"
