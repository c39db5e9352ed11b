#!/bin/sh
# Access control behind nginx (contrib/nginx.conf): who may read which
# stream, with the web server's users (REMOTE_USER from auth_basic, rules
# in --access), tokens (Authorization: Bearer, the cookie, access_token=
# with --jwt-query), 401 and 403 with one-line bodies, a stream that ends
# at its token's exp, and kill -HUP re-reading the rules and the keys (a
# key replaced stops working at once, remembered verifications or not).
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)
SOCK_Q=$RUNDIR/query.sock	# a second responder: --jwt-query, own cookie
SOCK_P=$RUNDIR/private.sock	# behind auth_basic, --prefix /private/

access_files

responder main "$SOCK" --prefix /events/ --access "$RULES" \
    --jwt-key "HS256:$RUNDIR/hs256.secret" \
    --jwt-key "ES256:$RUNDIR/es256-public.pem"
responder query "$SOCK_Q" --prefix /q/ --jwt-key "HS256:$RUNDIR/hs256.secret" \
    --jwt-query --jwt-cookie app_token
responder private "$SOCK_P" --prefix /private/ --access "$RULES"

# /private/ asks nginx for a password (alice and bob, "pw") and passes
# the user on as REMOTE_USER.
template nginx.conf "$RUNDIR/main.conf"
cat >>"$RUNDIR/main.conf" <<CONF
location /q/ {
    fastcgi_pass unix:$SOCK_Q;
    include fastcgi_params;
    fastcgi_buffering off;
}
location /private/ {
    auth_basic "sselog";
    auth_basic_user_file $RUNDIR/htpasswd;
    fastcgi_pass unix:$SOCK_P;
    include fastcgi_params;
    fastcgi_buffering off;
}
CONF
nginx_start "$PORT" "$RUNDIR/main.conf"
B=http://127.0.0.1:$PORT

st=$(sselog publish status "all is well")
b1=$(sselog publish build/1 "compiling")
d1=$(sselog publish deploy/1 "deploying")
u1=$(sselog publish user/alice/inbox "hi alice")

# ---- nobody signed in ----
served "anonymous may read what the rules give anonymous (status)" \
    "$B/events/status?lastEventId=0" "$st"
unauthorized "no credentials for build/1" "$B/events/build/1?lastEventId=0" no
check "... the body says what is needed" t_body_has err "build/1 needs credentials"
refused "a malformed request is 400 before any check of credentials" 400 \
    "$B/events/a//b"
# nginx's \$remote_user reads a Basic header where nothing checked it.
unauthorized "a Basic header on a location without auth_basic is nobody" \
    "$B/events/build/1?lastEventId=0" no -H "Authorization: Basic $(printf 'alice:x' | base64)"

# ---- the web server's users: REMOTE_USER and the rules ----
served "alice, signed in by nginx, reads build/1 (alice read build/**)" \
    "$B/private/build/1?lastEventId=0" "$b1" -u alice:pw
served "... and her own user/alice/inbox (* read user/{user}/**)" \
    "$B/private/user/alice/inbox?lastEventId=0" "$u1" -u alice:pw
refused "bob may not read build/1: 403" 403 "$B/private/build/1" -u bob:pw
check "... the body names the stream" t_body_has err "not allowed to read build/1"
refused "bob may not read user/alice/inbox: 403" 403 \
    "$B/private/user/alice/inbox" -u bob:pw
fetch pw "$B/private/build/1" -u alice:wrong
is_code "a wrong password: nginx's own 401" 401 pw

# ---- tokens ----
tok=$(token --sub carol --subscribe 'build/**' --subscribe 'user/{user}/**')
served "a token in Authorization: Bearer reads build/1" \
    "$B/events/build/1?lastEventId=0" "$b1" -H "Authorization: Bearer $tok"
refused "... but not build/1 with deploy/1 on one connection: 403" 403 \
    "$B/events/?stream=build/1&stream=deploy/1" -H "Authorization: Bearer $tok"
check "... naming deploy/1" t_body_has err "not allowed to read deploy/1"
refused "{user} is the token's sub: carol may not read user/alice/inbox" 403 \
    "$B/events/user/alice/inbox" -H "Authorization: Bearer $tok"
served "the token in the cookie sselog_token reads build/1" \
    "$B/events/build/1?lastEventId=0" "$b1" -H "Cookie: a=1; sselog_token=$tok"
unauthorized "access_token= is not looked at without --jwt-query" \
    "$B/events/build/1?lastEventId=0&access_token=$tok" no
served "with --jwt-query, access_token= reads build/1" \
    "$B/q/build/1?lastEventId=0&access_token=$tok" "$b1"
served "--jwt-cookie app_token: that cookie" \
    "$B/q/build/1?lastEventId=0" "$b1" -H "Cookie: app_token=$tok"
unauthorized "... and not sselog_token" "$B/q/build/1?lastEventId=0" no \
    -H "Cookie: sselog_token=$tok"
es=$("$SSELOG" token --key "$KEYS/es256-private.pem" --alg ES256 --subscribe 'build/**')
served "an ES256 token, verified with the PEM public key" \
    "$B/events/build/1?lastEventId=0" "$b1" -H "Authorization: Bearer $es"

# Tokens that are given and invalid are never anonymous.
badsig=$(bad_signature "$tok")
unauthorized "a token with a bad signature, even for status" \
    "$B/events/status?lastEventId=0" yes -H "Authorization: Bearer $badsig"
check "... the body says why" t_body_has err "signature does not verify"
# The attack: the public key, which anyone may have, as an HMAC secret.
forged=$("$SSELOG" token --key "$KEYS/es256-public.pem" --alg HS256 --subscribe '**')
unauthorized "an HS256 token signed with the ES256 public key" \
    "$B/events/build/1?lastEventId=0" yes -H "Authorization: Bearer $forged"
forged=$("$SSELOG" token --key "$KEYS/rs256-public.pem" --alg HS256 --subscribe '**')
unauthorized "an HS256 token signed with an RS256 public key (no RS256 key here)" \
    "$B/events/build/1?lastEventId=0" yes -H "Authorization: Bearer $forged"
none=$(printf '%s.%s.' "$(printf '{"alg":"none"}' | base64 | tr -d '=')" \
    "$(printf '{"exp":9999999999,"sselog":{"subscribe":["**"]}}' | base64 | tr -d '=' | tr '+/' '-_')")
unauthorized "alg none" "$B/events/build/1?lastEventId=0" yes \
    -H "Authorization: Bearer $none"
aud=$(token --subscribe 'build/**' --audience other)
served "no --jwt-audience: aud is not looked at" \
    "$B/events/build/1?lastEventId=0" "$b1" -H "Authorization: Bearer $aud"
unauthorized "an empty Bearer" "$B/events/status?lastEventId=0" yes \
    -H "Authorization: Bearer "
check "CORS preflight needs no credentials" sh -c \
    "curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: $ORIGIN' '$B/events/build/1' | grep -qx 204"

# ---- a token that verified is remembered; a reload forgets it ----
open_stream es "$B/events/build/1?lastEventId=0" -H "Authorization: Bearer $es"
arrives "an ES256 token, already verified once, opens a stream" es "id: $b1"
served "... and again, remembered" "$B/events/build/1?lastEventId=0" "$b1" \
    -H "Authorization: Bearer $es"
cp "$KEYS/other-es256-public.pem" "$RUNDIR/es256-public.pem"
kill -HUP "$PID_main"
end_stream es 5
is "after kill -HUP with another ES256 key, that token's stream ends (curl exit 0)" \
    "$CURL_RC" 0
unauthorized "... and the token is refused at once" \
    "$B/events/build/1?lastEventId=0" yes -H "Authorization: Bearer $es"
check "... as its signature does not verify" t_body_has err "signature does not verify"

# ---- a stream ends at its token's exp; kill -HUP: the rules and keys
# read again ----
access_expiry nginx "$B/events/"
access_reload nginx "$B/events/" "$B/private/" "$RUNDIR/main.log" \
    "$PID_private" "$PID_main"

# ---- start-up refusals ----
run_fcgi() {
	"$SSELOG_FCGI" -d "$DB" --listen "unix:$RUNDIR/x.sock" "$@" \
	    >"$T_WORK/start.out" 2>&1 &
	t_pid=$!
	wait_until 5 t_gone "$t_pid"
	wait "$t_pid"
	START_RC=$?
}
printf 'alice oops build/**\n' >"$RUNDIR/bad-rules"
run_fcgi --access "$RUNDIR/bad-rules"
is "a bad rules file at start: exit 2" "$START_RC" 2
check "... naming the file and line" grep -q 'bad-rules:1: unknown access "oops"' "$T_WORK/start.out"
run_fcgi --jwt-key "RS256:$RUNDIR/hs256.secret"
is "an RS256 key that is not a PEM public key: exit 2" "$START_RC" 2
run_fcgi --jwt-query
is "--jwt-query without --jwt-key: exit 2" "$START_RC" 2

no_leftovers
done_testing
