#!/bin/sh
# tests/browser/eventsource.sh on a PostgreSQL log: a real EventSource in
# headless Chromium follows a stream while events are published with
# sselog and plain SQL, the responder is killed and restarted (it
# connects again and replays what was missed), and the stream is closed.
SSELOG_TEST_LOG=postgresql
export SSELOG_TEST_LOG
exec sh "$SRCDIR/tests/browser/eventsource.sh"
