#!/bin/sh
# Access control behind Apache: mod_proxy_fcgi (contrib/apache-proxy-fcgi.conf
# and its example of a Location that authenticates) with REMOTE_USER from
# mod_auth_basic and --access rules, tokens by header (which Apache passes
# on only with CGIPassAuth On), cookie and access_token=, 403 on one of
# several streams, and a Basic header where Apache asks for no password:
# nobody. mod_fcgid (contrib/apache-fcgid.conf): tokens by header. Then,
# through mod_proxy_fcgi, a stream that ends at its token's exp and kill
# -HUP re-reading the rules and the keys, which ends the streams they no
# longer allow: Apache passes each end on as the end of the response.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
SOCK_P=$RUNDIR/private.sock	# behind mod_auth_basic, --prefix /private/
access_files

responder main "$SOCK" --prefix /events/ --access "$RULES" \
    --jwt-key "HS256:$RUNDIR/hs256.secret" --jwt-query
responder private "$SOCK_P" --prefix /private/ --access "$RULES"

# The example of contrib/apache-proxy-fcgi.conf, uncommented: /private/
# asks for a password (alice and bob, "pw") and passes the user on. And
# a Location below /events/ that turns CGIPassAuth off again, to see what
# Apache does without it.
template apache-proxy-fcgi.conf "$RUNDIR/sselog.conf" \
    -e '/^#<Location "\/private\/">/,/^#<\/Location>/s/^#//' \
    -e "s|/etc/apache2/sselog.htpasswd|$RUNDIR/htpasswd|"
grep -q '^<Location "/private/">' "$RUNDIR/sselog.conf" ||
	bail "no example <Location \"/private/\"> in contrib/apache-proxy-fcgi.conf"
cat >>"$RUNDIR/sselog.conf" <<CONF
<Location "/events/plain/">
    CGIPassAuth Off
</Location>
CONF
# contrib/apache-fcgid.conf in the same Apache, mounted on /fcgid/ (its
# /sselog-retry is the one above): mod_fcgid starts its responder, with
# --access and --jwt-key.
RESPONDER_ARGS="--access $RULES --jwt-key HS256:$RUNDIR/hs256.secret"
# shellcheck disable=SC2016 # sed's $ (the last line)
template apache-fcgid.conf "$RUNDIR/fcgid.conf" -e 's|/events/|/fcgid/|g' \
    -e '/^Alias "\/sselog-retry"/,$d'
cat >>"$RUNDIR/fcgid.conf" <<CONF
FcgidIPCDir $RUNDIR/fcgid
FcgidProcessTableFile $RUNDIR/fcgid-shm
Include $RUNDIR/sselog.conf
CONF
if ! mkdir -p "$RUNDIR/fcgid" ||
    ! chown "$WWW_USER:$WWW_USER" "$RUNDIR/fcgid"; then
	bail "cannot make $RUNDIR/fcgid"
fi
apache_conf "$PORT" "$RUNDIR/fcgid.conf" proxy proxy_fcgi fcgid env asis \
    alias auth_basic authn_core authn_file authz_user
apache_start "$PORT"

B=http://127.0.0.1:$PORT
access_suite Apache "$B/events/" "$B/private/"

p1=$(sselog publish plain/1 "plain")
ptok=$(token --subscribe 'plain/**')
unauthorized "where CGIPassAuth is off, Apache drops the Authorization header" \
    "$B/events/plain/1?lastEventId=0" no -H "Authorization: Bearer $ptok"
served "... and passes the cookie" "$B/events/plain/1?lastEventId=0" "$p1" \
    -H "Cookie: sselog_token=$ptok"

f1=$(sselog publish build/2 "fcgid")
ftok=$(token --subscribe 'build/**')
served "mod_fcgid (apache-fcgid.conf): a token in the header reaches the responder" \
    "$B/fcgid/build/2?lastEventId=0" "$f1" -H "Authorization: Bearer $ftok"
unauthorized "... and a Basic header there is nobody" \
    "$B/fcgid/build/2?lastEventId=0" no \
    -H "Authorization: Basic $(printf 'alice:pw' | base64)"

# Last: the reload changes the rules and the key.
access_expiry Apache "$B/events/"
access_reload Apache "$B/events/" "$B/private/" "$RUNDIR/main.log" \
    "$PID_private" "$PID_main"

no_leftovers
done_testing
