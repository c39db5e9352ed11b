#!/bin/sh
# Access control behind lighttpd mod_fastcgi (contrib/lighttpd.conf and its
# example of a path that authenticates with mod_auth): REMOTE_USER with
# --access rules, tokens by header, cookie and access_token=, 403 on one
# of several streams, and a Basic header on the open path, which lighttpd
# checks nowhere there: nobody.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
access_files
RESPONDER_ARGS="--heartbeat 1 --access $RULES --jwt-key HS256:$RUNDIR/hs256.secret --jwt-query"

# The example of contrib/lighttpd.conf, uncommented: /private/ asks for a
# password (alice and bob, "pw") and passes the user on.
template lighttpd.conf "$RUNDIR/sselog.conf" \
    -e '/^#server.modules += ( "mod_auth"/,/^#)))/s/^#//' \
    -e "s|/etc/lighttpd/sselog.htpasswd|$RUNDIR/htpasswd|" \
    -e "s|/etc/sselog/access|$RULES|"
grep -q '^auth.require' "$RUNDIR/sselog.conf" ||
	bail "no example auth.require in contrib/lighttpd.conf"
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"

B=http://127.0.0.1:$PORT
access_suite lighttpd "$B/events/" "$B/private/"

no_leftovers
done_testing
