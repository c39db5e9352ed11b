#!/bin/sh
# Starts, stops and restarts sselog-fcgi under spawn-fcgi, on the socket
# that nginx.conf, apache-proxy-fcgi.conf and lighttpd.conf (without
# bin-path) connect to.
#
#     sh spawn-fcgi.sh [start]  start it in the background and return
#     sh spawn-fcgi.sh -n       stay in the foreground (for a supervisor:
#                               runit, daemontools, a container)
#     sh spawn-fcgi.sh stop     stop it and wait until it has exited
#     sh spawn-fcgi.sh restart  stop it, then start it
#
# Run it as root: spawn-fcgi creates the socket, hands it to www-data
# (the web server's workers connect to it, which needs write permission),
# then starts the responder as www-data, which must be able to write to
# the database's directory (SQLite readers of a WAL database create and
# write its -shm file there).
#
# Before it starts anything, it runs `sselog-fcgi --check` as that user:
# when the responder could not open the log (the directory not writable,
# no database), the reason is printed here and nothing is started. Once
# started, the responder's standard error is /dev/null (spawn-fcgi's
# doing), so its messages (SIGUSR1's counters, dropped clients, a log
# that went away) go to syslog, facility daemon, under the name
# sselog-fcgi: `journalctl -t sselog-fcgi`, or /var/log/syslog. Set
# SSELOG_LOG to a file (an absolute path) to have them there instead.
# With -n they go to standard error, to the supervisor.
#
# The pid file holds the responder's process id. Without this script:
#     kill -TERM "$(cat /run/sselog/sselog-fcgi.pid)"
# stops it: it stops accepting at once, ends every open stream with a
# retry: (browsers come back with their Last-Event-ID) and exits 0.
#
# The names below can be changed here, or given in the environment
# (SSELOG_FCGI=/usr/bin/sselog-fcgi sh spawn-fcgi.sh restart).
set -eu

SSELOG_FCGI=${SSELOG_FCGI:-/usr/local/bin/sselog-fcgi}
# The event log: sselog-fcgi reads SSELOG_DB from its environment, which
# spawn-fcgi passes on.
SSELOG_DB=${SSELOG_DB:-/var/lib/sselog/events.db}
export SSELOG_DB
SSELOG_SOCKET=${SSELOG_SOCKET:-/run/sselog/fcgi.sock}
SSELOG_PIDFILE=${SSELOG_PIDFILE:-/run/sselog/sselog-fcgi.pid}
SSELOG_USER=${SSELOG_USER:-www-data}
SSELOG_GROUP=${SSELOG_GROUP:-www-data}
# Empty: syslog (standard error with -n); else syslog, stderr or a file.
SSELOG_LOG=${SSELOG_LOG:-}

me=spawn-fcgi.sh
say() {
	echo "$me: $*" >&2
}

# The pid in the pid file, when that process is a running sselog-fcgi
# (not a stale file, nor a pid that went to another program since).
running() {
	pid=$(cat "$SSELOG_PIDFILE" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sselog-fcgi ]
}

# Runs sselog-fcgi as the user the responder will be.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid="$SSELOG_USER" --regid="$SSELOG_GROUP" \
		    --init-groups -- "$@"
	else
		"$@"
	fi
}

start() {	# [-n]
	if running; then
		say "sselog-fcgi is already running (pid $pid, $SSELOG_PIDFILE)"
		exit 1
	fi
	mkdir -p "$(dirname "$SSELOG_SOCKET")" "$(dirname "$SSELOG_PIDFILE")"
	# The reason, if any, goes to the terminal of whoever starts it.
	if ! as_user "$SSELOG_FCGI" --check; then
		say "sselog-fcgi cannot start as $SSELOG_USER: nothing started"
		exit 1
	fi
	set -- "$@" -s "$SSELOG_SOCKET" -M 0660 \
	    -U "$SSELOG_USER" -G "$SSELOG_GROUP" \
	    -u "$SSELOG_USER" -g "$SSELOG_GROUP"
	# A socket that an earlier run left behind is replaced; one that a
	# running responder still accepts on is not (spawn-fcgi tries it
	# first).
	# -s: the socket, which becomes the responder's fd 0 (so it knows it
	# runs as FastCGI); -M/-U/-G: its mode and owner; -u/-g: whom the
	# responder runs as. One process serves every stream (no -F).
	# --prefix /events/ must name the web server's location: the
	# responder takes the stream name from REQUEST_URI below it.
	if [ "${1:-}" = -n ]; then
		# spawn-fcgi -n execs the responder in this very process,
		# and writes no pid file itself.
		echo $$ >"$SSELOG_PIDFILE"
		exec spawn-fcgi "$@" -- "$SSELOG_FCGI" \
		    ${SSELOG_LOG:+--log "$SSELOG_LOG"} --prefix /events/
	fi
	if ! spawn-fcgi "$@" -P "$SSELOG_PIDFILE" -- "$SSELOG_FCGI" \
	    ${SSELOG_LOG:+--log "$SSELOG_LOG"} --prefix /events/ >/dev/null; then
		rm -f "$SSELOG_PIDFILE"
		say "sselog-fcgi did not start: see ${SSELOG_LOG:-syslog}"
		exit 1
	fi
	# spawn-fcgi only waits 0.1 s for the child to fail: make sure it
	# is still up a moment later.
	sleep 1
	if ! running; then
		rm -f "$SSELOG_PIDFILE"
		say "sselog-fcgi exited after starting: see ${SSELOG_LOG:-syslog}"
		exit 1
	fi
	say "sselog-fcgi started (pid $pid, $SSELOG_SOCKET)"
}

stop() {
	if ! running; then
		say "sselog-fcgi is not running (no live pid in $SSELOG_PIDFILE)"
		return 0
	fi
	kill -TERM "$pid"
	# It ends every open stream before it exits; a client that does not
	# take its output is cut off after 3 s.
	i=0
	while running; do
		if [ "$i" -ge 300 ]; then
			say "sselog-fcgi (pid $pid) still runs after 30 s"
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$SSELOG_PIDFILE"
	say "sselog-fcgi stopped (pid $pid)"
}

case ${1:-start} in
start) start ;;
-n) start -n ;;
stop) stop ;;
restart) stop && start ;;
*) echo "usage: spawn-fcgi.sh [start | -n | stop | restart]" >&2; exit 2 ;;
esac
