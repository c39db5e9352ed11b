#!/bin/sh
# Starts sselog-fcgi under spawn-fcgi, on the socket that nginx.conf,
# apache-proxy-fcgi.conf and lighttpd.conf (without bin-path) connect to.
#
#     sh spawn-fcgi.sh        # start it in the background and return
#     sh spawn-fcgi.sh -n     # stay in the foreground (for a supervisor:
#                             # runit, daemontools, a container)
#
# Run it as root: spawn-fcgi creates the socket, hands it to www-data
# (the web server's workers connect to it, which needs write permission),
# then starts the responder as www-data, which must be able to write to
# the database's directory (SQLite readers of a WAL database create and
# write its -shm file there). Edit the names below to suit.
set -eu

# The event log: sselog-fcgi reads SSELOG_DB from its environment, which
# spawn-fcgi passes on.
SSELOG_DB=/var/lib/sselog/events.db
export SSELOG_DB

socket=/run/sselog/fcgi.sock
user=www-data
group=www-data

foreground=
case ${1:-} in
-n) foreground=-n ;;
"") ;;
*) echo "usage: spawn-fcgi.sh [-n]" >&2; exit 2 ;;
esac

mkdir -p "$(dirname "$socket")"
# A socket that an earlier run left behind is replaced; one that a running
# responder still accepts on is not (spawn-fcgi tries it first).

# -s: the socket, which becomes the responder's fd 0 (so it knows it
# runs as FastCGI); -M/-U/-G: its mode and owner; -u/-g: whom the
# responder runs as. One process serves every stream (no -F).
# --prefix /events/ must name the web server's location: the responder
# takes the stream name from REQUEST_URI below it.
exec spawn-fcgi $foreground -s "$socket" -M 0660 -U "$user" -G "$group" \
    -u "$user" -g "$group" -- \
    /usr/local/bin/sselog-fcgi --prefix /events/
