#!/bin/sh
# sselog-fcgi as a plain CGI program under Apache mod_cgid (cgi-lighttpd.sh:
# under lighttpd mod_cgi): one process per request, started by Apache as
# www-data, SSELOG_DB (and on PostgreSQL PGPASSFILE) from SetEnv, and
# --prefix through a wrapper script (a CGI program gets no arguments).
# mod_cgid gives the program one socket as both standard input and output.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)

cat >"$RUNDIR/sselog.cgi" <<CGI
#!/bin/sh
exec $SSELOG_FCGI --prefix /events/ $RESPONDER_ARGS
CGI
chmod 755 "$RUNDIR/sselog.cgi"
# On PostgreSQL the role's password file too, as docs/scale-out.md says:
# a CGI program gets only what the web server sets.
pgpass=
[ "$TEST_LOG" = sqlite ] || pgpass="SetEnv PGPASSFILE $PGPASSFILE"
cat >"$RUNDIR/sselog.conf" <<CONF
ScriptSock $RUNDIR/cgisock
# /events/STREAM runs the wrapper with PATH_INFO /STREAM; the responder
# reads the stream from REQUEST_URI below --prefix /events/.
ScriptAlias /events $RUNDIR/sselog.cgi
<Location "/events">
    # CGI programs get the variables of SetEnv in their environment.
    SetEnv SSELOG_DB $DB
    $pgpass
    SetEnv nokeepalive 1
    SetEnv no-gzip 1
</Location>
CONF
apache_conf "$PORT" "$RUNDIR/sselog.conf" cgid alias env
apache_start "$PORT"

EXPECT_PATH_SLASH=server404
sse_suite "http://127.0.0.1:$PORT/events/"

no_leftovers
done_testing
