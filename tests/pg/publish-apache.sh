#!/bin/sh
# tests/integration/publish-apache.sh on a PostgreSQL log: every way to
# write and every refusal behind Apache mod_proxy_fcgi, a locked log, and
# a chunked upload appended line by line as it arrives.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/integration/publish-apache.sh"
