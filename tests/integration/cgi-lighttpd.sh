#!/bin/sh
# sselog-fcgi as a plain CGI program under lighttpd mod_cgi (cgi.sh: under
# Apache mod_cgid): one process per request, started by lighttpd as
# www-data, SSELOG_DB (and on PostgreSQL PGPASSFILE) from
# setenv.add-environment, and --prefix through a wrapper script (a CGI
# program gets no arguments).
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
[ "$TEST_LOG" = sqlite ] || pgpass=", \"PGPASSFILE\" => \"$PGPASSFILE\""
cat >"$RUNDIR/sselog.conf" <<CONF
server.modules += ( "mod_alias", "mod_setenv", "mod_cgi" )
# Pass each event on as soon as the program writes it.
server.stream-response-body = 2
# /events/STREAM runs the wrapper with PATH_INFO /STREAM; the responder
# reads the stream from REQUEST_URI below --prefix /events/.
alias.url = ( "/events" => "$RUNDIR/sselog.cgi" )
cgi.assign = ( ".cgi" => "" )
# CGI programs get these variables in their environment.
setenv.add-environment = ( "SSELOG_DB" => "$DB"$pgpass )
CONF
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"

CTRL_BY_SERVER=yes
sse_suite "http://127.0.0.1:$PORT/events/"

no_leftovers
done_testing
