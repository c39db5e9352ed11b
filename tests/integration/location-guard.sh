#!/bin/sh
# A web server's guard on a location, behind nginx (contrib/nginx.conf):
# `location /events/secret/ { deny all; }` answers 403 for the path
# /events/secret/payroll, but ?stream=secret/payroll on the open mount
# reaches the same stream, and so does ?stream= on the mount of another
# responder with its own --prefix on the same log. That is the default,
# documented in docs/security.md; the guard holds only where stream= is
# off: sselog-fcgi --streams path, or the parameter SSELOG_STREAMS set to
# path by the web server's config for the location, which a client
# cannot forge with a request header.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)	# default responder, guard on /events/secret/
PPORT=$(free_port)	# the same, with fastcgi_param SSELOG_STREAMS path
OPORT=$(free_port)	# a responder with --streams path
TPORT=$(free_port)	# /team-a/ and /team-b/, a responder each
SOCK_P=$RUNDIR/path.sock
SOCK_A=$RUNDIR/team-a.sock
SOCK_B=$RUNDIR/team-b.sock

GUARD='location /events/secret/ { deny all; }'
template nginx.conf "$RUNDIR/open.conf"
echo "$GUARD" >>"$RUNDIR/open.conf"
template nginx.conf "$RUNDIR/param.conf" \
    -e 's|^\( *\)include fastcgi_params;|&\n\1fastcgi_param SSELOG_STREAMS path;|'
grep -q 'fastcgi_param SSELOG_STREAMS path;' "$RUNDIR/param.conf" ||
	bail "no include fastcgi_params to follow in contrib/nginx.conf"
echo "$GUARD" >>"$RUNDIR/param.conf"
template nginx.conf "$RUNDIR/option.conf" -e "s|$SOCK|$SOCK_P|"
echo "$GUARD" >>"$RUNDIR/option.conf"
cat >"$RUNDIR/teams.conf" <<CONF
location /team-a/ {
    fastcgi_pass unix:$SOCK_A;
    include fastcgi_params;
    fastcgi_buffering off;
}
location /team-b/ {
    fastcgi_pass unix:$SOCK_B;
    include fastcgi_params;
    fastcgi_buffering off;
}
CONF

responder() {	# NAME SOCKET ARGS...
	t_n=$1 t_s=$2
	shift 2
	# shellcheck disable=SC2086 # $AS_WWW and $RESPONDER_ARGS are words
	start_daemon "$t_n" $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$t_s" $RESPONDER_ARGS "$@"
	wait_until 10 test -S "$t_s" || {
		sed 's/^/# /' "$RUNDIR/$t_n.log"
		bail "sselog-fcgi $* made no socket"
	}
}
responder open "$SOCK" --prefix /events/
responder path "$SOCK_P" --prefix /events/ --streams path
responder team_a "$SOCK_A" --prefix /team-a/
responder team_b "$SOCK_B" --prefix /team-b/ --streams path

server() {	# PORT SNIPPET
	printf 'server { listen 127.0.0.1:%s; root %s; include %s; }\n' \
	    "$1" "$WWW" "$2"
}
nginx_conf "$PORT" "$RUNDIR/open.conf" 256 \
    "$(server "$PPORT" "$RUNDIR/param.conf")
    $(server "$OPORT" "$RUNDIR/option.conf")
    $(server "$TPORT" "$RUNDIR/teams.conf")"
nginx_run nginx "$PORT"
wait_http "$PPORT"
wait_http "$OPORT"
wait_http "$TPORT"

secret=$(sselog publish secret/payroll "salaries")
open=$(sselog publish open/1 "news")
sselog close secret/payroll >/dev/null
sselog close open/1 >/dev/null
plan=$(sselog publish team-b/plan "b's plan")
sselog close team-b/plan >/dev/null

# served DESC URL [CURL-ARGS...]: 200, and the body holds the event ID.
served() {
	t_d=$1 t_id=$2 t_u=$3
	shift 3
	fetch got "$t_u" "$@"
	if [ "$CODE" = 200 ] && grep -q "^id: $t_id\$" "$T_WORK/got.b"; then
		ok "$t_d"
	else
		not_ok "$t_d" "got $CODE (curl exit $CURL_RC)" \
		    "body: $(head -c 300 "$T_WORK/got.b")"
	fi
}
# no_stream_param DESC URL [CURL-ARGS...]: the responder's 400 for stream=.
no_stream_param() {
	t_d=$1
	shift
	refused "$t_d" 400 "$@"
	is "... saying why" "$(cat "$T_WORK/err.b")" \
	    "stream= is not allowed here; the stream is the path"
}

# -- the default: the guard is bypassed, as docs/security.md says --
B=http://127.0.0.1:$PORT/events/
fetch deny "${B}secret/payroll?lastEventId=0"
is_code "nginx denies /events/secret/payroll (403)" 403 deny
served "by default ?stream=secret/payroll on /events/ serves it anyway" \
    "$secret" "${B}?stream=secret/payroll&lastEventId=0"
served "... and so does /events/open/1?stream=secret/payroll" \
    "$secret" "${B}open/1?stream=secret/payroll&lastEventId=0"
served "a request header SSELOG-Streams: path changes nothing" \
    "$secret" "${B}?stream=secret/payroll&lastEventId=0" \
    -H "SSELOG-Streams: path"

# -- fastcgi_param SSELOG_STREAMS path on the open mount --
for t_how in "fastcgi_param SSELOG_STREAMS path:$PPORT" \
    "--streams path:$OPORT"; do
	t_p=${t_how##*:}
	t_how=${t_how%:*}
	B=http://127.0.0.1:$t_p/events/
	fetch deny "${B}secret/payroll"
	is_code "$t_how: nginx still denies /events/secret/payroll" 403 deny
	no_stream_param "$t_how: ?stream=secret/payroll is refused with 400" \
	    "${B}?stream=secret/payroll&lastEventId=0"
	no_stream_param "$t_how: /events/open/1?stream=secret/payroll too" \
	    "${B}open/1?stream=secret/payroll&lastEventId=0"
	# nginx passes a header as HTTP_...: SSELOG-Streams and SSELOG_STREAMS
	# (which it drops: underscores_in_headers is off) both stay requests'.
	no_stream_param "$t_how: a header SSELOG-Streams: both cannot undo it" \
	    "${B}?stream=secret/payroll&lastEventId=0" \
	    -H "SSELOG-Streams: both"
	no_stream_param "$t_how: nor a header SSELOG_STREAMS: both" \
	    "${B}?stream=secret/payroll&lastEventId=0" \
	    -H "SSELOG_STREAMS: both"
	served "$t_how: the open stream is served from its path" \
	    "$open" "${B}open/1?lastEventId=0"
done

# -- one responder per location, each with its own --prefix, one log --
B=http://127.0.0.1:$TPORT
served "/team-a/?stream=team-b/plan: team-b's stream from team-a's mount" \
    "$plan" "$B/team-a/?stream=team-b/plan&lastEventId=0"
no_stream_param "with --streams path on team-b's responder, its own mount refuses ?stream=" \
    "$B/team-b/?stream=team-a/x&lastEventId=0"
served "... and serves its path" "$plan" "$B/team-b/team-b/plan?lastEventId=0"

no_leftovers
done_testing
