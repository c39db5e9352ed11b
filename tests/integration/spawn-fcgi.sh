#!/bin/sh
# contrib/spawn-fcgi.sh as root runs it, with its names pointed at this
# test's responder, log, socket and pid file, behind nginx
# (contrib/nginx.conf): start serves streams and writes the pid file, stop
# ends the responder, restart replaces it, -n stays in the foreground; with
# a log the responder's user cannot read (SQLite: a log directory it
# cannot write; PostgreSQL: a password file it cannot read), the person
# who runs the script is told why and nothing starts. Under spawn-fcgi the
# responder's standard error is /dev/null: its messages must reach syslog,
# which a stand-in daemon on /dev/log receives here (skipped when a real
# one is there).
# shellcheck disable=SC2154 # start_daemon sets PID_*
. "$SRCDIR/tests/integration/lib.sh"

command -v spawn-fcgi >/dev/null 2>&1 ||
	bail "spawn-fcgi is not installed (run build-aux/deps test)"

PIDFILE=$RUNDIR/pid/sselog-fcgi.pid
# The script as installed (contrib/spawn-fcgi.sh.in with its paths); the
# responder runs as www-data here, which owns the test's log directory,
# rather than as the system user sselog.
template spawn-fcgi.sh "$RUNDIR/spawn-fcgi.sh"
SYSLOG=$RUNDIR/syslog
OUT=$T_WORK/script.out

# script ARGS...: contrib/spawn-fcgi.sh ARGS, its output (what the person
# who runs it sees) in $OUT, its status in $SRC. SSELOG_DB may be given in
# the environment.
script() {
	env SSELOG_FCGI="$SSELOG_FCGI" SSELOG_DB="${SSELOG_DB:-$DB}" \
	    SSELOG_SOCKET="$SOCK" SSELOG_PIDFILE="$PIDFILE" \
	    SSELOG_USER="$WWW_USER" SSELOG_GROUP="$WWW_USER" \
	    timeout -k 5 60 sh "$RUNDIR/spawn-fcgi.sh" "$@" \
	    >"$OUT" 2>&1
	SRC=$?
}

said() {
	grep -qF -e "$1" "$OUT"
}

# The pid in the pid file, if it is a running responder of this test.
pid_running() {
	t_pid=$(cat "$PIDFILE" 2>/dev/null) &&
	    [ "$(readlink "/proc/$t_pid/exe")" = "$SSELOG_FCGI" ]
}

# syslogged PATTERN: a message of sselog-fcgi matching PATTERN (ERE)
# reached syslog.
syslogged() {
	grep -Eq "sselog-fcgi\[[0-9]+\]: $1" "$SYSLOG" 2>/dev/null
}

have_syslog=
if [ ! -e /dev/log ] || [ -S /dev/log ]; then
	start_daemon syslog python3 "$SRCDIR/tests/integration/syslog-sink.py" \
	    /dev/log "$SYSLOG"
	t_sink() {
		[ -S /dev/log ] || t_gone "$PID_syslog"
	}
	wait_until 10 t_sink
	t_alive "$PID_syslog" && have_syslog=yes
fi
# t_syslog DESC PATTERN: a check of syslog, or a skip without a reader.
t_syslog() {
	if [ -n "$have_syslog" ]; then
		check "$1" wait_until 10 syslogged "$2"
	else
		ok "$1 # SKIP a syslog daemon owns /dev/log: no reader here"
	fi
}

id=$(sselog publish t/1 "through spawn-fcgi")
PORT=$(free_port)
template nginx.conf "$RUNDIR/sselog.conf"
nginx_start "$PORT" "$RUNDIR/sselog.conf"
served() {
	fetch "$1" "http://127.0.0.1:$PORT/events/t/1" -H "Last-Event-ID: 0" \
	    --max-time 2
	[ "$(status_of "$1")" = 200 ] && grep -q "^id: $id" "$T_WORK/$1.b"
}

# ---- start ----
script start
is "start: status 0" "$SRC" 0
check "... it says so" said "sselog-fcgi started (pid"
check "... the pid file names the running responder" pid_running
pid=$(cat "$PIDFILE")
is "... which runs as www-data" "$(stat -c %U "/proc/$pid")" "$WWW_USER"
check "... a stream is served through nginx" served first
t_syslog "... its standard error being /dev/null, its start is in syslog" \
    "sselog [0-9.]+ started: serving $DB over FastCGI"
kill -USR1 "$pid"
t_syslog "... and so are SIGUSR1's counters" "stats: [0-9]+ open streams"
check "... with the process id" grep -q "sselog-fcgi\[$pid\]: stats" "$SYSLOG"

script start
is "start while it runs: status 1" "$SRC" 1
check "... it says so" said "already running (pid $pid"
is "... and leaves it be" "$(cat "$PIDFILE")" "$pid"

# ---- restart, stop ----
script restart
is "restart: status 0" "$SRC" 0
check "... the old responder is gone" t_gone "$pid"
check "... a new one runs" pid_running
new=$(cat "$PIDFILE")
check "... under a new pid" test "$new" != "$pid"
check "... and serves" served restarted

script stop
is "stop: status 0" "$SRC" 0
check "... the responder is gone" t_gone "$new"
check "... the pid file too" test ! -e "$PIDFILE"
t_syslog "... it said in syslog that it stopped" "signal 15: ending"
script stop
is "stop when nothing runs: status 0" "$SRC" 0
check "... it says so" said "not running"

# ---- a log the responder's user cannot read ----
# On SQLite, a log directory www-data cannot write (SQLite's readers write
# the -shm file there). On PostgreSQL, a password file that root can read
# and www-data cannot, which libpq, as www-data, passes over: the mistake
# docs/scale-out.md warns of.
if [ "$TEST_LOG" = postgresql ]; then
	BAD=$T_WORK/root-pgpass
	if ! cp "$PGPASSFILE" "$BAD" || ! chown root:root "$BAD" ||
	    ! chmod 600 "$BAD"; then
		bail "cannot copy $PGPASSFILE"
	fi
	bad_log() {	# CMD...: CMD on it
		PGPASSFILE=$BAD SSELOG_DB=$DB "$@"
	}
	BAD_IS="a password file only root can read"
	# libpq's reason names the server, not the database.
	BAD_NAMES="the server"
	BAD_WHY="cannot connect to the PostgreSQL log: .*127\.0\.0\.1.*$PG_PORT.*no password supplied"
	# (A PostgreSQL log has no directory nor -shm file: the unreadable
	# password file is its way of not starting.)
else
	BAD=$T_WORK/ro
	if ! mkdir "$BAD" || ! chmod 755 "$BAD" ||
	    ! "$SSELOG" -d "$BAD/events.db" init >/dev/null; then
		bail "cannot make $BAD"
	fi
	bad_log() {
		SSELOG_DB=$BAD/events.db "$@"
	}
	BAD_IS="an unwritable log directory"
	BAD_NAMES="the log"
	BAD_WHY="$BAD/events\.db: cannot read the log: its directory or its -shm file is not writable"
fi
bad_log script start
is "$BAD_IS: status 1" "$SRC" 1
check "... the output names $BAD_NAMES and the reason" \
    grep -Eq "$BAD_WHY" "$OUT"
check "... and says that nothing started" said "nothing started"
check "... nothing runs" test ! -e "$PIDFILE"
check "... nothing listens" eval '! listening'
sed 's/^/# /' "$OUT"

# spawn-fcgi without the script: the reason is in syslog (spawn-fcgi
# itself only says "child exited with: 1").
bad_log spawn-fcgi -s "$SOCK" -u "$WWW_USER" -g "$WWW_USER" -- \
    "$SSELOG_FCGI" --prefix /events/ >/dev/null 2>&1
t_syslog "spawn-fcgi alone: the responder's reason is in syslog" "$BAD_WHY"
# spawn-fcgi leaves while its child may still be on its way out (slowly,
# under the sanitizers): the socket it held stays listening until then.
check "... and the responder ends: nothing is left listening" \
    wait_until 10 eval '! listening'

# ---- -n: the foreground, for a supervisor ----
start_daemon fg env SSELOG_FCGI="$SSELOG_FCGI" SSELOG_DB="$DB" \
    SSELOG_SOCKET="$SOCK" SSELOG_PIDFILE="$PIDFILE" \
    SSELOG_USER="$WWW_USER" SSELOG_GROUP="$WWW_USER" \
    sh "$RUNDIR/spawn-fcgi.sh" -n
wait_listening fg
is "-n: the pid file names the process the supervisor started" \
    "$(cat "$PIDFILE")" "$PID_fg"
check "... which is the responder" pid_running
check "... and serves" served foreground
check "... its messages on its standard error, to the supervisor" \
    grep -q "^sselog-fcgi: sselog [0-9.]* started: serving $DB" \
    "$RUNDIR/fg.log"
script stop
is "... stop: status 0" "$SRC" 0
check "... it is gone" t_gone "$PID_fg"

no_leftovers
done_testing
