#!/bin/sh
# sselog-fcgi behind lighttpd mod_fastcgi (contrib/lighttpd.conf), which
# starts the responder itself (bin-path) as www-data.
. "$SRCDIR/tests/integration/lib.sh"

PORT=$(free_port)

template lighttpd.conf "$RUNDIR/sselog.conf"
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"

CTRL_BY_SERVER=yes
sse_suite "http://127.0.0.1:$PORT/events/"

t_pids=$(responder_pids)
is "lighttpd started one sselog-fcgi for every stream" \
    "$(echo "$t_pids" | wc -w)" 1
for t_p in $t_pids; do
	is "it runs as www-data" "$(stat -c %U "/proc/$t_p")" \
	    "$WWW_USER"
	is "it got SSELOG_DB from bin-environment" \
	    "$(tr '\0' '\n' <"/proc/$t_p/environ" | grep '^SSELOG_DB=')" \
	    "SSELOG_DB=$DB"
	client_leaves "$t_p" "http://127.0.0.1:$PORT/events/"
done

no_leftovers
done_testing
