#!/bin/sh
# tests/integration/access-apache.sh on a PostgreSQL log: who may read
# what behind Apache (mod_proxy_fcgi and mod_fcgid), a stream ending at
# its token's exp, kill -HUP.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/access-apache.sh"
