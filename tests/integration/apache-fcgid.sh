#!/bin/sh
# sselog-fcgi behind Apache mod_fcgid (contrib/apache-fcgid.conf), which
# starts the responder itself, one process per open stream, as www-data.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)

template apache-fcgid.conf "$RUNDIR/sselog.conf"
cat >>"$RUNDIR/sselog.conf" <<CONF
# The test's own: where mod_fcgid keeps its sockets and process table.
FcgidIPCDir $RUNDIR/fcgid
FcgidProcessTableFile $RUNDIR/fcgid-shm
CONF
mkdir -p "$RUNDIR/fcgid" && chown "$WWW_USER:$WWW_USER" "$RUNDIR/fcgid"
apache_conf "$PORT" "$RUNDIR/sselog.conf" fcgid env asis alias
apache_start "$PORT"

EXPECT_PATH_SLASH=server404
sse_suite "http://127.0.0.1:$PORT/events/"

# mod_fcgid started the responder, with the environment of
# FcgidInitialEnv and the arguments of FcgidWrapper, as www-data.
t_pids=$(responder_pids)
check "mod_fcgid started sselog-fcgi" test -n "$t_pids"
for t_p in $t_pids; do
	is "it runs as www-data" "$(stat -c %U "/proc/$t_p")" \
	    "$WWW_USER"
	is "it got --prefix /events/ from FcgidWrapper" \
	    "$(tr '\0' ' ' <"/proc/$t_p/cmdline")" \
	    "$SSELOG_FCGI --prefix /events/ $RESPONDER_ARGS "
	break
done

no_leftovers
done_testing
