#!/bin/sh
# Access control behind lighttpd mod_fastcgi (contrib/lighttpd.conf and its
# example of a path that authenticates with mod_auth): REMOTE_USER with
# --access rules, tokens by header, cookie and access_token=, 403 on one
# of several streams, and a Basic header on the open path, which lighttpd
# checks nowhere there: nobody. A stream that ends at its token's exp, and
# kill -HUP to the responders lighttpd started re-reading the rules and
# the keys, which ends the streams they no longer allow: lighttpd passes
# each end on as the end of the response. Their messages go to lighttpd's
# standard error.
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
access_expiry lighttpd "$B/events/"
pids=$(responder_pids)
[ -n "$pids" ] || bail "no sselog-fcgi that lighttpd started"
# shellcheck disable=SC2086 # the pids are words
access_reload lighttpd "$B/events/" "$B/private/" "$RUNDIR/lighttpd.log" $pids

no_leftovers
done_testing
