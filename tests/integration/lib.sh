# tests/integration/lib.sh: runs sselog-fcgi behind real web servers.
#
# Sourced by every tests/integration/*.sh script (POSIX sh, TAP). The
# environment names the programs under test ($SSELOG, $SSELOG_FCGI) and the
# source tree ($SRCDIR). Each script starts its own web server on a free
# loopback port from the config in contrib/, templated by `template` (the
# configs share the literal names below), runs `sse_suite`, the checks that
# every setup must pass, and stops everything it started at exit.
#
# The log is an SQLite file, or with SSELOG_TEST_LOG=postgresql a database
# in a throw-away PostgreSQL cluster of the script's own (tests/pg/lib.sh,
# pg_cluster; tests/pg/*.sh run the scripts that apply that way): $DB is
# then its postgresql:// URI, which every command, the responder and the
# configs' -d and SSELOG_DB get, and $PGPASSFILE (in the environment of
# everything the script starts) the role's password, www-data's, mode
# 0600, in $DBDIR. A web server or unit that starts the responder with
# an environment of its own must pass PGPASSFILE on, as a user's would
# (docs/scale-out.md): the scripts add it to the config on PostgreSQL.
# What holds for one backend only (the log's files and their
# permissions, replacing or removing them) is in scripts that run on
# SQLite only, or in a check that says, on the other, what replaces it
# or why it is skipped.
#
# Paths (all below the script's own temporary directory $T_WORK, which the
# web servers' workers, www-data, can reach):
#   $DB        the event log (its directory $DBDIR belongs to www-data);
#              $TEST_LOG says which: sqlite or postgresql
#   $RUNDIR    sockets, pid files, logs; $SOCK the responder's socket
#   $SSELOG_FCGI   a copy of the responder under test, which www-data can
#              run wherever the build directory is
#
#   ok, not_ok, check, is, bail, done_testing, wait_until, t_alive...:
#               tests/tap.sh (wait_until polls every 50 ms here).
#   sselog ARGS...   the CLI on $DB.
#   sql SQL     one statement (or several, the last one's rows printed)
#               on $DB, through sqlite3 or psql: rows one a line, columns
#               separated by |, NULL as nothing. Plain SQL that both
#               speak; where they differ:
#   sql_insert STREAM DATA [EVENT]   INSERT an event as plain SQL (of
#               type EVENT if given; DATA may hold any line ending);
#               prints its id.
#   sql_hex ID  the bytes of event ID's data, in upper-case hex.
#   last_id_ever    the highest id the log ever gave, pruned ones too.
#   $STRING_AGG     group_concat (SQLite) or string_agg (PostgreSQL):
#               "$STRING_AGG(data, '|')" in a query.
#   lock_log SECONDS    hold the log's write lock that long (run it in
#               the background): what another writer's transaction does.
#   template SRC DST [SED-ARGS...]   copy a contrib config (from its
#               template contrib/SRC.in when make generates it), replacing
#               @sbindir@/sselog-fcgi, /var/lib/sselog/events.db,
#               /run/sselog/fcgi.sock (and their directories) with the
#               paths above, @pkgdatadir@/contrib with a copy of the
#               files there that the configs name ($RUNDIR/contrib),
#               @pkgdatadir@/www with $RUNDIR/www (the log viewer's
#               pages, tests/browser/viewer-lib.sh copies them), and
#               appending $RESPONDER_ARGS to "--prefix /events/".
#   free_port   print a loopback TCP port nobody listens on.
#   start_daemon NAME CMD...   run CMD in the background (stdout/stderr to
#               $RUNDIR/NAME.log), tracked and stopped at exit.
#   wait_http PORT   wait until something answers HTTP there.
#   listening   whether a responder listens on $SOCK.
#   wait_listening NAME   wait until the responder started as daemon NAME
#               listens on $SOCK.
#   nginx_start PORT SNIPPET   nginx in front (nginx_conf and nginx_run
#               for more).
#   fetch NAME URL [CURL-ARGS...]   one request: headers in $T_WORK/NAME.h,
#               body in NAME.b, status in $CODE, curl's exit in $CURL_RC.
#   open_stream NAME URL [CURL-ARGS...]   the same in the background, for a
#               stream that stays open; returns once the headers arrived.
#   end_stream NAME SECONDS   wait for it to end; $CURL_RC.
#   header NAME FIELD   the value of a response header (last one).
#   sse_suite BASE   every check, against BASE (http://127.0.0.1:PORT/events/)
#   responder_pids   the sselog-fcgi processes a web server started.
#   publish_smoke NAME BASE   a token that may publish build/** in $AUTH
#               (key tests/keys/hs256.secret), then a POST of one event
#               to BASE/build/1 through web server NAME: 201, and logged.
#   publish_suite SERVER BASE   every way to write and every refusal,
#               through web server SERVER (see there); count, body and
#               answers for the checks of writes.
#   no_leftovers     check that no process of this test is left running.
#   metrics_file PID   the metrics' shared file in /dev/shm that responder
#               PID holds (README.md, "Metrics"). Those this test made
#               and nobody holds any more are removed at exit: the files
#               of inherited sockets stay behind for a replacement.
#
# Access control (access.sh and one script for each web server):
#   access_files   the keys of tests/keys ($KEYS) copied to $RUNDIR, the
#               rules file $RULES, and $RUNDIR/htpasswd (alice and bob,
#               password "pw"), all readable by www-data.
#   responder NAME SOCKET ARGS...   sselog-fcgi on unix:SOCKET as www-data
#               (daemon NAME, --heartbeat 1), once it made its socket.
#   token ARGS...   sselog token with the HS256 key of tests/keys.
#   bad_signature TOKEN   the token with its signature changed.
#   served DESC URL ID [CURL-ARGS...]   200, an event stream with event ID.
#   unauthorized DESC URL yes|no [CURL-ARGS...]   401, one line, and
#               WWW-Authenticate (with error="invalid_token" if yes).
#   access_suite SERVER OPEN AUTH   the access checks every web server
#               must pass (see there).
#   access_expiry SERVER OPEN   a stream that ends at its token's exp.
#   access_reload SERVER OPEN AUTH LOG PID...   kill -HUP re-reads the
#               rules and the keys, ending the streams no longer allowed.
#   ended_saying DESC NAME WHY   a stream that ended by itself, saying why,
#               with a retry:.

# shellcheck disable=SC2034 # variables for the scripts

set -u

: "${SSELOG:?set SSELOG to the sselog binary under test}"
: "${SSELOG_FCGI:?set SSELOG_FCGI to the sselog-fcgi binary under test}"
: "${SRCDIR:?set SRCDIR to the source directory}"

. "$SRCDIR/tests/tap.sh"
T_POLL=0.05

T_DAEMONS=
T_STREAMS=
CODE=
CURL_RC=
# What the setups pass to the responder besides --prefix /events/: an
# origin for the CORS checks, and a heartbeat short enough to see (the
# default is 15 s).
ORIGIN=http://app.example
HEARTBEAT=3
RESPONDER_ARGS="--cors-origin $ORIGIN --heartbeat $HEARTBEAT"
WWW_USER=www-data

# ---- processes ----

start_daemon() {
	t_name=$1
	shift
	"$@" >"$RUNDIR/$t_name.log" 2>&1 &
	T_DAEMONS="$T_DAEMONS $!"
	eval "PID_$t_name=\$!"
}

# A listening socket at $SOCK (a socket file left by a killed responder is
# there too, but nothing listens on it).
listening() {
	awk -v p="$SOCK" '$NF == p && $4 == "00010000" { f = 1 } END { exit !f }' \
	    /proc/net/unix
}

# Waits until the responder started as daemon NAME listens on $SOCK;
# bails, with its log, when it does not within 10 s.
wait_listening() {
	wait_until 10 listening || {
		sed 's/^/# /' "$RUNDIR/$1.log"
		bail "sselog-fcgi does not listen on $SOCK"
	}
}

# The processes (other than this shell and its children that run the test
# itself) whose command line or environment names this test's directory:
# the web servers, the responders they spawned, stray curls.
t_leftovers() {
	# One grep reads them all: a tr and a grep for each process took
	# seconds on a busy machine, at every poll. The directory's name goes
	# to grep on its standard input, so that grep's own command line does
	# not name it. (The globs are the files; -f - gives the pattern.)
	# shellcheck disable=SC2062
	for t_p in $(printf '%s\n' "$T_WORK" | grep -lsaF -f - \
	    /proc/[0-9]*/cmdline /proc/[0-9]*/environ |
	    sed 's|^/proc/\([0-9]*\)/.*|\1|' | sort -un); do
		[ "$t_p" = "$$" ] && continue
		t_alive "$t_p" && echo "$t_p"
	done
}

# Stops the streams and daemons this script started: SIGTERM, up to 10 s
# for them to finish (web servers stop their responders), then SIGKILL.
stop_all() {
	for t_pid in $T_STREAMS; do
		kill "$t_pid" 2>/dev/null
	done
	for t_pid in $T_DAEMONS; do
		kill -TERM "$t_pid" 2>/dev/null
	done
	for t_pid in $T_DAEMONS $T_STREAMS; do
		if ! wait_until 10 t_gone "$t_pid"; then
			kill -9 "$t_pid" 2>/dev/null
		fi
		wait "$t_pid" 2>/dev/null
	done
	T_DAEMONS=
	T_STREAMS=
	# Spawned processes may take a moment to follow their parent.
	wait_until 10 t_no_leftovers
}

# The responders (sselog-fcgi) running for this test, as the web server
# started them: their pids, space-separated.
# The copy in $T_WORK/bin is this test's alone: the processes that run it
# are its responders. One find reads every process's executable (a
# zombie's names nothing): the tests poll this, and t_leftovers with a
# readlink for each process took seconds on a busy machine.
responder_pids() {
	for t_p in $(find /proc/[0-9]*/exe -maxdepth 0 -lname "$SSELOG_FCGI" \
	    2>/dev/null | sed 's|^/proc/\([0-9]*\)/.*|\1|'); do
		printf ' %s' "$t_p"
	done
}

t_no_leftovers() {
	[ -z "$(t_leftovers)" ]
}

no_leftovers() {
	stop_all
	t_left=$(t_leftovers)
	if [ -z "$t_left" ]; then
		ok "no process is left running after the server stopped"
	else
		t_ps=
		for t_p in $t_left; do
			t_ps="$t_ps
$t_p: $(tr '\0' ' ' 2>/dev/null <"/proc/$t_p/cmdline")"
		done
		not_ok "no process is left running after the server stopped" \
		    "left:$t_ps"
	fi
}

t_cleanup() {
	stop_all
	# Whatever is still there was started for this test (it names its
	# directory): end it by its id.
	for t_p in $(t_leftovers); do
		kill -9 "$t_p" 2>/dev/null
	done
	# Responders keep a shared flock on their metrics file: one that
	# nobody holds and that this test made is its own leftover (another
	# test's that is in use stays).
	for t_f in /dev/shm/sselog-metrics-*; do
		[ -e "$t_f" ] || continue
		printf '%s\n' "$T_SHM_BEFORE" | grep -qxF "$t_f" && continue
		flock -xn "$t_f" true && rm -f "$t_f"
	done
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "# kept $T_WORK"
	else
		cd / && rm -rf "$T_WORK"
	fi
}

metrics_file() {
	for t_fd in /proc/"$1"/fd/*; do
		case $(readlink "$t_fd") in
		/dev/shm/sselog-metrics-*) readlink "$t_fd"; return ;;
		esac
	done
}

# ---- set-up ----

# The metrics files there before this test (t_cleanup).
T_SHM_BEFORE=$(ls /dev/shm/sselog-metrics-* 2>/dev/null)

TEST_LOG=${SSELOG_TEST_LOG:-sqlite}
case $TEST_LOG in
sqlite) t_shell=sqlite3 ;;
postgresql) t_shell= ;;	# tests/pg/lib.sh checks its own
*) bail "SSELOG_TEST_LOG=$TEST_LOG: sqlite or postgresql" ;;
esac
for t_tool in curl $t_shell timeout setpriv flock; do
	command -v "$t_tool" >/dev/null 2>&1 ||
		bail "$t_tool is not installed (run build-aux/deps test)"
done
[ "$(id -u)" -eq 0 ] ||
	bail "the integration tests start web servers: run them as root"
id "$WWW_USER" >/dev/null 2>&1 || bail "there is no user $WWW_USER"

t_work int
# The web servers' workers run as www-data: they must reach what is here.
chmod 755 "$T_WORK"

DBDIR=$T_WORK/db
DB=$DBDIR/events.db
RUNDIR=$T_WORK/run
SOCK=$RUNDIR/fcgi.sock
WWW=$T_WORK/www
mkdir -p "$DBDIR" "$RUNDIR" "$WWW" || bail "cannot make directories"
if [ "$TEST_LOG" = postgresql ]; then
	. "$SRCDIR/tests/pg/lib.sh"
	# From /, so that no process of the cluster has $T_WORK in its
	# environment (OLDPWD): t_leftovers would take it for one of the
	# test's, which stop at the end, and the cluster stops after them
	# (pg_exit, at exit).
	cd / && pg_cluster && cd "$T_WORK" || bail "cannot enter $T_WORK"
	DB=$PG_URI
	# The responder runs as www-data, which cannot read root's password
	# file: a copy of its own, with the mode libpq insists on, for
	# every process the script starts (the responders get it in their
	# environment, as they get SSELOG_DB).
	cp "$PGPASSFILE" "$DBDIR/pgpass" &&
		chown "$WWW_USER:$WWW_USER" "$DBDIR/pgpass" &&
		chmod 600 "$DBDIR/pgpass" || bail "cannot copy $PGPASSFILE"
	PGPASSFILE=$DBDIR/pgpass
	export PGPASSFILE
fi
"$SSELOG" -d "$DB" init || bail "sselog init failed"
# The responder reads as www-data: SQLite needs to create and write the
# -shm file next to the database, so the directory is www-data's. Writers
# that run as root (sselog, sqlite3 below) hand the -wal and -shm files
# they create to the database's owner.
chown -R "$WWW_USER:$WWW_USER" "$DBDIR" "$RUNDIR" "$WWW"
chmod 755 "$DBDIR" "$RUNDIR" "$WWW"
# The web servers run the responder as www-data, which may not reach the
# build directory (a checkout below /root): they run a copy from here.
[ -x "$SSELOG_FCGI" ] || bail "$SSELOG_FCGI is not executable"
mkdir -p "$T_WORK/bin" || bail "cannot make $T_WORK/bin"
cp "$SSELOG_FCGI" "$T_WORK/bin/sselog-fcgi" || bail "cannot copy $SSELOG_FCGI"
SSELOG_FCGI=$T_WORK/bin/sselog-fcgi
setpriv --reuid="$WWW_USER" --regid="$WWW_USER" --init-groups \
    test -x "$SSELOG_FCGI" ||
	bail "$WWW_USER cannot run $SSELOG_FCGI (a directory above it is closed)"
# The files the configs name next to themselves, which the web servers
# read as www-data (contrib/apache-*.conf, contrib/lighttpd.conf).
if ! mkdir -p "$RUNDIR/contrib" ||
    ! cp "$SRCDIR/contrib/sselog-retry.asis" "$SRCDIR/contrib/sselog-retry.lua" \
    "$RUNDIR/contrib/" || ! chmod -R a+rX "$RUNDIR/contrib"; then
	bail "cannot copy contrib/sselog-retry.*"
fi

# A command prefix that runs a program as www-data (it execs: the process
# keeps its id, so start_daemon can stop it).
AS_WWW="setpriv --reuid=$WWW_USER --regid=$WWW_USER --init-groups"

sselog() {
	timeout -k 5 30 "$SSELOG" -d "$DB" "$@"
}

# The INSERT of sql_insert STREAM DATA [EVENT].
t_insert() {
	t_event=NULL
	[ -z "${3:-}" ] || t_event="'$3'"
	echo "INSERT INTO events (stream, event, data) VALUES ('$1', $t_event, '$2')"
}

if [ "$TEST_LOG" = postgresql ]; then
	sql() {
		pg_sql "$@"
	}
	sql_insert() {
		sql "$(t_insert "$@") RETURNING id"
	}
	sql_hex() {
		sql "SELECT upper(encode(convert_to(data, 'UTF8'), 'hex'))
		    FROM events WHERE id = $1"
	}
	# The id after the last one is one more than this (sql/postgresql.sql).
	last_id_ever() {
		sql "SELECT greatest((SELECT max(id) FROM events),
		    (SELECT last_gone FROM events_lock), 0)"
	}
	STRING_AGG=string_agg
	# The append lock that every writer takes first (sql/postgresql.sql).
	lock_log() {
		sql "BEGIN; SELECT FROM events_lock FOR UPDATE;
		    SELECT pg_sleep($1); COMMIT" >/dev/null 2>&1
	}
else
	sql() {
		timeout -k 5 30 sqlite3 -bail -cmd '.timeout 10000' "$DB" "$@"
	}
	sql_insert() {
		sql "$(t_insert "$@"); SELECT last_insert_rowid();"
	}
	sql_hex() {
		sql "SELECT hex(data) FROM events WHERE id = $1"
	}
	# AUTOINCREMENT keeps it in sqlite_sequence.
	last_id_ever() {
		sql "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
	}
	STRING_AGG=group_concat
	lock_log() {
		printf 'BEGIN IMMEDIATE;\n.shell sleep %s\nCOMMIT;\n' "$1" |
		    sqlite3 "$DB" >/dev/null 2>&1
	}
fi

template() {
	t_src=$1 t_dst=$2
	shift 2
	[ ! -f "$SRCDIR/contrib/$t_src.in" ] || t_src=$t_src.in
	# mod_fcgid starts the responder with the environment it is given,
	# not Apache's: on PostgreSQL, the password file as the config's
	# comment says.
	[ "$TEST_LOG" = sqlite ] || set -- "$@" \
	    -e "s|^\( *\)#\(FcgidInitialEnv PGPASSFILE\) .*|\1\2 $PGPASSFILE|"
	sed -e "s|@sbindir@/sselog-fcgi|$SSELOG_FCGI|g" \
	    -e "s|/var/lib/sselog/events.db|$DB|g" \
	    -e "s|/var/lib/sselog|$DBDIR|g" \
	    -e "s|/run/sselog/fcgi.sock|$SOCK|g" \
	    -e "s|/run/sselog|$RUNDIR|g" \
	    -e "s|@pkgdatadir@/contrib|$RUNDIR/contrib|g" \
	    -e "s|@pkgdatadir@/www|$RUNDIR/www|g" \
	    -e "s|--prefix /events/|--prefix /events/ $RESPONDER_ARGS|g" \
	    "$@" "$SRCDIR/contrib/$t_src" >"$t_dst" ||
		bail "cannot template contrib/$t_src"
}

# A port in 20000-31999 that nothing listens on (IPv4 or IPv6), chosen at
# random so that scripts running side by side do not collide.
free_port() {
	t_tries=0
	while [ "$t_tries" -lt 100 ]; do
		t_tries=$((t_tries + 1))
		# Below Linux's ephemeral range (32768-60999), where the
		# outgoing connections of a test could take the port first.
		t_port=$(( $(od -An -N2 -tu2 /dev/urandom) % 12000 + 20000 ))
		t_hex=$(printf '%04X' "$t_port")
		if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		    awk '{ print $2 }' | grep -q ":$t_hex\$"; then
			echo "$t_port"
			return 0
		fi
	done
	bail "no free port found"
}

t_answers() {
	curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null
}

wait_http() {
	wait_until 20 t_answers "$1" || {
		for t_log in "$RUNDIR"/*.log; do
			echo "# $t_log:"
			tail -n 20 "$t_log" | sed 's/^/#   /'
		done
		bail "the web server does not answer on port $1"
	}
}

# ---- HTTP ----

fetch() {
	t_name=$1 t_url=$2
	shift 2
	CODE=$(curl -s --max-time 10 -D "$T_WORK/$t_name.h" \
	    -o "$T_WORK/$t_name.b" -w '%{http_code}' "$@" "$t_url")
	CURL_RC=$?
}

t_has_headers() {
	# The blank line that ends the header block is there.
	tr -d '\r' <"$T_WORK/$1.h" 2>/dev/null | grep -q '^$'
}

open_stream() {
	t_name=$1 t_url=$2
	shift 2
	: >"$T_WORK/$t_name.h"
	: >"$T_WORK/$t_name.b"
	curl -sN --max-time 60 -D "$T_WORK/$t_name.h" -o "$T_WORK/$t_name.b" \
	    "$@" "$t_url" &
	eval "STREAM_$t_name=\$!"
	T_STREAMS="$T_STREAMS $!"
	# The headers must come at once, before any event (and before the
	# first heartbeat): EventSource fires "open" on them.
	wait_until 2 t_has_headers "$t_name"
}

end_stream() {
	eval "t_pid=\$STREAM_$1"
	if wait_until "$2" t_gone "$t_pid"; then
		wait "$t_pid"
		CURL_RC=$?
	else
		kill "$t_pid" 2>/dev/null
		wait "$t_pid" 2>/dev/null
		CURL_RC=timeout
	fi
}

# The status code of a header file.
status_of() {
	tr -d '\r' <"$T_WORK/$1.h" | sed -n 's|^HTTP/[0-9.]* \([0-9]*\).*|\1|p' |
	    tail -n 1
}

header() {
	tr -d '\r' <"$T_WORK/$1.h" | sed -n "s|^$2: *||Ip" | tail -n 1
}

t_body_has() {
	grep -qF -e "$2" "$T_WORK/$1.b"
}

# The body of stream NAME has a comment line (a heartbeat).
t_has_comment() {
	grep -q '^:' "$T_WORK/$1.b"
}

# Waits until the body of stream NAME holds TEXT.
arrives() {
	t_desc=$1 t_name=$2 t_text=$3
	if wait_until 5 t_body_has "$t_name" "$t_text"; then
		ok "$t_desc"
	else
		not_ok "$t_desc" "'$t_text' did not arrive within 5 s" \
		    "body so far: $(head -c 400 "$T_WORK/$t_name.b")"
	fi
}

# The body of NAME is exactly the file EXPECTED, comment lines aside:
# heartbeats (and any comment sent to open the stream) are not compared.
is_body_file() {
	grep -v '^:' "$T_WORK/$2.b" >"$T_WORK/.got"
	if cmp -s "$T_WORK/.got" "$3"; then
		ok "$1"
	else
		not_ok "$1" "expected (od -c):" "$(od -c "$3" | head -20)" \
		    "got (od -c):" "$(od -c "$T_WORK/$2.b" | head -20)"
	fi
}

is_code() {
	if [ "$CODE" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "expected HTTP $2, got $CODE (curl exit $CURL_RC)" \
		    "headers: $(tr -d '\r' <"$T_WORK/$3.h" 2>/dev/null |
		    head -n 12)" "body: $(head -c 300 "$T_WORK/$3.b" 2>/dev/null)"
	fi
}

is_header() {
	is "$1" "$(header "$2" "$3")" "$4"
}

# An error answer: status, one line of text/plain saying what to fix.
t_error_body() {
	[ "$(wc -l <"$T_WORK/$1.b")" -eq 1 ] &&
		[ -z "$(tail -c 1 "$T_WORK/$1.b")" ] &&
		[ "$(wc -c <"$T_WORK/$1.b")" -gt 10 ]
}

refused() {
	t_desc=$1 t_want=$2 t_url=$3
	shift 3
	fetch err "$t_url" "$@"
	if [ "$CODE" = "$t_want" ] && t_error_body err &&
	    [ "$(header err Content-Type)" = "text/plain; charset=utf-8" ]
	then
		ok "$t_desc"
	else
		not_ok "$t_desc" "expected HTTP $t_want with a one-line" \
		    "text/plain body; got $CODE (curl exit $CURL_RC)" \
		    "headers: $(tr -d '\r' <"$T_WORK/err.h" | head -n 12)" \
		    "body: $(head -c 300 "$T_WORK/err.b")"
	fi
}

# An URL with an encoded control character: 400 from the responder, or
# from the server itself where it refuses them first (CTRL_BY_SERVER).
refused_ctrl() {
	if [ "$CTRL_BY_SERVER" = yes ]; then
		fetch err "$2"
		is_code "$1 (by the server itself)" 400 err
	else
		refused "$1" 400 "$2"
	fi
}

# ---- the checks ----

# Expected bodies are built with printf from the ids sselog printed.
ev() {	# ID DATA: an event without a type
	printf 'id: %s\ndata: %s\n\n' "$1" "$2"
}

ev_typed() {	# ID TYPE DATA
	printf 'id: %s\nevent: %s\ndata: %s\n\n' "$1" "$2" "$3"
}

ev_close() {	# ID STREAM: the close event names its stream
	printf 'id: %s\nevent: sselog.close\ndata: {"stream":"%s"}\n\n' "$1" "$2"
}

ev_gap() {	# LAST FIRST
	printf 'event: sselog.gap\ndata: {"lastEventId":%s,"firstAvailableId":%s}\n\n' "$1" "$2"
}

# Checks that a stream request came back 200, with the headers of an event
# stream, and that the response ended on its own (curl exit 0).
t_stream_ok() {
	t_desc=$1 t_name=$2
	t_ct=$(header "$t_name" Content-Type)
	if [ "$(status_of "$t_name")" = 200 ] && [ "$CURL_RC" = 0 ] &&
	    [ "$t_ct" = "text/event-stream; charset=utf-8" ]; then
		ok "$t_desc"
	else
		not_ok "$t_desc" "expected 200, text/event-stream and a" \
		    "complete response; got status $(status_of "$t_name")," \
		    "curl exit $CURL_RC" \
		    "headers: $(tr -d '\r' <"$T_WORK/$t_name.h" | head -n 12)"
	fi
}

# Every check that each setup must pass. BASE ends with /events/.
sse_suite() {
	B=$1
	EXPECT_PATH_DOTDOT=${EXPECT_PATH_DOTDOT:-400}
	EXPECT_PATH_SLASH=${EXPECT_PATH_SLASH:-400}
	# lighttpd refuses control characters (%00, %0A, %0D) in the URL
	# itself, with its own 400 page.
	CTRL_BY_SERVER=${CTRL_BY_SERVER:-no}

	# -- live delivery, with the headers of an event stream --
	if open_stream live "${B}live/1"; then
		ok "the headers of a stream arrive at once, before any event"
	else
		not_ok "the headers of a stream arrive at once, before any event" \
		    "nothing within 2 s: EventSource would not fire open"
	fi
	# A stream that stays silent, for the heartbeat check at the end.
	open_stream hb "${B}hb/1"
	sleep 0.2
	is "no event is sent before the first one (no start position: only new events)" \
	    "$(grep -v '^:' "$T_WORK/live.b")" ""
	id1=$(sselog publish live/1 "first")
	arrives "an event published with sselog arrives while the stream is open" \
	    live "id: $id1"
	is "a stream answers 200" "$(status_of live)" 200
	is_header "Content-Type is text/event-stream; charset=utf-8" live \
	    Content-Type "text/event-stream; charset=utf-8"
	is_header "Cache-Control is no-store" live Cache-Control no-store
	id2=$(sql_insert live/1 'from sql')
	arrives "a row inserted with plain SQL ($TEST_LOG) arrives too" live \
	    "id: $id2"
	id3=$(printf 'two\r\nlines' | sselog publish live/1 -e note -)
	arrives "an event with a type and two lines arrives" live "id: $id3"
	idc=$(sselog close live/1)
	end_stream live 10
	t_stream_ok "the response ends after sselog close" live
	{
		ev "$id1" first
		ev "$id2" "from sql"
		printf 'id: %s\nevent: note\ndata: two\ndata: lines\n\n' "$id3"
		ev_close "$idc" live/1
	} >"$T_WORK/live.expected"
	is_body_file "the live body is exactly the four events" live \
	    "$T_WORK/live.expected"

	# -- the end: 204 at the close event --
	fetch recon "${B}live/1" -H "Last-Event-ID: $idc"
	is_code "a reconnect with Last-Event-ID at the close event gets 204" \
	    204 recon
	is "... with an empty body" "$(cat "$T_WORK/recon.b")" ""
	fetch recon "${B}live/1?lastEventId=$idc"
	is_code "lastEventId at the close event gets 204 too" 204 recon
	# -- a start past the log's last id: an older copy of the log was
	# put in place; the gap names its first id, then all of the stream --
	past=$(($(last_id_ever) + 100))
	{
		ev_gap "$past" "$(sql "SELECT min(id) FROM events")"
		cat "$T_WORK/live.expected"
	} >"$T_WORK/past.expected"
	fetch past "${B}live/1" -H "Last-Event-ID: $past"
	t_stream_ok "a start past the log's end streams and ends" past
	is_body_file "... the sselog.gap, then the stream from its start" past \
	    "$T_WORK/past.expected"

	# -- replay --
	fetch replay "${B}live/1?lastEventId=0"
	t_stream_ok "lastEventId=0 replays and ends (the stream is closed)" \
	    replay
	is_body_file "lastEventId=0 replays every event, byte for byte" replay \
	    "$T_WORK/live.expected"
	fetch replay "${B}live/1?last_event_id=0"
	is_body_file "last_event_id=0 replays every event" replay \
	    "$T_WORK/live.expected"
	fetch replay "${B}live/1?cb=123&lastEventId=0&x"
	is_body_file "other query parameters are ignored" replay \
	    "$T_WORK/live.expected"

	# -- short responses, many at once (browsers reconnecting after a
	# restart): each ends cleanly --
	# (SSELOG_TEST_LIGHT: twenty, in the passes of tests/run-all that
	# check the build rather than the load.)
	t_pairs=50
	[ -z "${SSELOG_TEST_LIGHT:-}" ] || t_pairs=10
	set --
	t_i=0
	while [ "$t_i" -lt "$t_pairs" ]; do
		t_i=$((t_i + 1))
		set -- "$@" -o /dev/null "${B}live/1?lastEventId=$id3" \
		    -o /dev/null "${B}live/1?lastEventId=$idc"
	done
	# --max-time bounds a hang, not the pace: a loaded machine (the
	# sanitizers, tests beside this one, a CGI program and a PostgreSQL
	# connection per request) took more than 30 s for the hundred.
	t_codes=$(curl -s -Z --parallel-max 8 --max-time 180 -w '%{http_code}\n' \
	    "$@" 2>/dev/null | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
	is "$((2 * t_pairs)) short answers, 8 at a time, all come through (200 and 204)" \
	    "$t_codes" "200:$t_pairs 204:$t_pairs "

	# -- resume --
	fetch resume "${B}live/1" -H "Last-Event-ID: $id1"
	t_stream_ok "Last-Event-ID resumes" resume
	{
		ev "$id2" "from sql"
		printf 'id: %s\nevent: note\ndata: two\ndata: lines\n\n' "$id3"
		ev_close "$idc" live/1
	} >"$T_WORK/resume.expected"
	is_body_file "Last-Event-ID: only the later events" resume \
	    "$T_WORK/resume.expected"
	fetch resume "${B}live/1?lastEventId=0" -H "Last-Event-ID: $id1"
	is_body_file "the Last-Event-ID header wins over lastEventId" resume \
	    "$T_WORK/resume.expected"

	# -- several streams on one connection --
	open_stream multi "${B}?stream=m/a&stream=m%2Fb"
	ma1=$(sselog publish m/a a1)
	mb1=$(sselog publish m/b b1)
	ma2=$(sselog publish m/a a2)
	mx=$(sselog publish m/c "not followed")
	arrives "events of two streams arrive on one connection" multi \
	    "id: $ma2"
	mac=$(sselog close m/a)
	mb2=$(sselog publish m/b b2)
	arrives "one stream closed: the other goes on" multi "id: $mb2"
	mbc=$(sselog close m/b)
	end_stream multi 10
	t_stream_ok "the response ends once both streams are closed" multi
	{
		ev "$ma1" a1
		ev "$mb1" b1
		ev "$ma2" a2
		ev_close "$mac" m/a
		ev "$mb2" b2
		ev_close "$mbc" m/b
	} >"$T_WORK/multi.expected"
	is_body_file "two streams, live: every event once, in id order" multi \
	    "$T_WORK/multi.expected"
	fetch multi2 "${B}?stream=m/b&stream=m/a&lastEventId=0"
	is_body_file "two streams, replayed: the same bytes" multi2 \
	    "$T_WORK/multi.expected"
	fetch multi3 "${B}m/a?stream=m/b&stream=m/a" -H "Last-Event-ID: 0"
	is_body_file "a stream in the path and one in the query" multi3 \
	    "$T_WORK/multi.expected"
	fetch multi4 "${B}?stream=m/a&stream=m/b" -H "Last-Event-ID: $mb1"
	{
		ev "$ma2" a2
		ev_close "$mac" m/a
		ev "$mb2" b2
		ev_close "$mbc" m/b
	} >"$T_WORK/multi4.expected"
	is_body_file "one Last-Event-ID resumes several streams" multi4 \
	    "$T_WORK/multi4.expected"
	fetch multi5 "${B}?stream=m/a&stream=m/b" -H "Last-Event-ID: $mac"
	is_code "with one stream over, the others still answer 200" 200 multi5
	{
		ev "$mb2" b2
		ev_close "$mbc" m/b
	} >"$T_WORK/multi5.expected"
	is_body_file "... with only their later events" multi5 \
	    "$T_WORK/multi5.expected"
	: "$mx"

	# -- gap after prune --
	g1=$(sselog publish gap/1 one)
	sselog publish gap/1 two >/dev/null
	g3=$(sselog publish gap/1 three)
	g4=$(sselog publish gap/1 four)
	g5=$(sselog publish gap/1 five)
	gc=$(sselog close gap/1)
	sselog prune --keep 3 gap/1 >/dev/null
	first=$(sql "SELECT min(id) FROM events WHERE stream = 'gap/1';")
	is "prune kept the newest three events of the stream" "$first" "$g4"
	fetch gap "${B}gap/1?lastEventId=0"
	t_stream_ok "a start before pruned history still streams" gap
	{
		ev_gap 0 "$g4"
		ev "$g4" four
		ev "$g5" five
		ev_close "$gc" gap/1
	} >"$T_WORK/gap.expected"
	is_body_file "sselog.gap comes first, then what is left" gap \
	    "$T_WORK/gap.expected"
	fetch gap2 "${B}gap/1" -H "Last-Event-ID: $g1"
	{
		ev_gap "$g1" "$g4"
		ev "$g4" four
		ev "$g5" five
		ev_close "$gc" gap/1
	} >"$T_WORK/gap2.expected"
	is_body_file "the gap event names the client's Last-Event-ID" gap2 \
	    "$T_WORK/gap2.expected"
	fetch gap3 "${B}gap/1" -H "Last-Event-ID: $g4"
	{
		ev "$g5" five
		ev_close "$gc" gap/1
	} >"$T_WORK/gap3.expected"
	is_body_file "no gap event when nothing asked for was pruned" gap3 \
	    "$T_WORK/gap3.expected"
	fetch gap4 "${B}gap/1" -H "Last-Event-ID: $g3"
	{
		ev "$g4" four
		ev "$g5" five
		ev_close "$gc" gap/1
	} >"$T_WORK/gap4.expected"
	is_body_file "no gap event at the last pruned id (the client saw it)" \
	    gap4 "$T_WORK/gap4.expected"

	# -- HEAD --
	sselog publish head/1 x >/dev/null
	fetch head "${B}head/1" -I
	is_code "HEAD answers 200" 200 head
	# (curl -I writes the headers where the body would go.)
	if [ "$CURL_RC" = 0 ] && cmp -s "$T_WORK/head.h" "$T_WORK/head.b"; then
		ok "HEAD: the response ends at once, without a body"
	else
		not_ok "HEAD: the response ends at once, without a body" \
		    "curl exit $CURL_RC; what came: $(head -c 400 "$T_WORK/head.b")"
	fi
	is_header "HEAD: Content-Type of an event stream" head Content-Type \
	    "text/event-stream; charset=utf-8"
	is_header "HEAD: Cache-Control no-store" head Cache-Control no-store
	fetch head "${B}live/1" -I -H "Last-Event-ID: $idc"
	is_code "HEAD after the close event answers 204" 204 head

	# -- CORS --
	fetch pre "${B}live/1" -X OPTIONS -H "Origin: $ORIGIN" \
	    -H "Access-Control-Request-Method: GET" \
	    -H "Access-Control-Request-Headers: last-event-id"
	is_code "OPTIONS from an allowed origin answers 204" 204 pre
	is_header "the preflight echoes the origin" pre \
	    Access-Control-Allow-Origin "$ORIGIN"
	is_header "the preflight allows credentials" pre \
	    Access-Control-Allow-Credentials true
	t_ah=$(header pre Access-Control-Allow-Headers)
	case $t_ah in
	*Last-Event-ID*) ok "the preflight allows the Last-Event-ID header" ;;
	*) not_ok "the preflight allows the Last-Event-ID header" \
	    "Access-Control-Allow-Headers: $t_ah" ;;
	esac
	t_am=$(header pre Access-Control-Allow-Methods)
	case $t_am in
	*GET*) ok "the preflight allows GET" ;;
	*) not_ok "the preflight allows GET" \
	    "Access-Control-Allow-Methods: $t_am" ;;
	esac
	fetch pre "${B}live/1" -X OPTIONS -H "Origin: http://evil.example" \
	    -H "Access-Control-Request-Method: GET"
	is "OPTIONS from another origin: no Access-Control-Allow-Origin" \
	    "$CODE:$(header pre Access-Control-Allow-Origin)" "204:"
	fetch cors "${B}live/1?lastEventId=0" -H "Origin: $ORIGIN"
	is_body_file "a GET from an allowed origin streams" cors \
	    "$T_WORK/live.expected"
	is_header "... and echoes the origin" cors \
	    Access-Control-Allow-Origin "$ORIGIN"
	is_header "... with credentials" cors \
	    Access-Control-Allow-Credentials true
	is_header "... and Vary: Origin" cors Vary Origin
	fetch cors "${B}live/1?lastEventId=0" -H "Origin: http://evil.example"
	is "a GET from another origin gets no CORS headers" \
	    "$CODE:$(header cors Access-Control-Allow-Origin):$(header cors Access-Control-Allow-Credentials)" \
	    "200::"
	fetch cors "${B}live/1" -H "Origin: $ORIGIN" -H "Last-Event-ID: abc"
	is "an error for an allowed origin carries the CORS headers" \
	    "$CODE:$(header cors Access-Control-Allow-Origin)" "400:$ORIGIN"

	# -- bad input --
	for t_bad in abc -1 1e3 99999999999999999999 9223372036854775808 \
	    +5 0x10 1.0 "5 6"; do
		refused "Last-Event-ID '$t_bad' is refused with 400" 400 \
		    "${B}live/1" -H "Last-Event-ID: $t_bad"
	done
	for t_bad in abc -1 1e3 99999999999999999999; do
		refused "lastEventId=$t_bad is refused with 400" 400 \
		    "${B}live/1?lastEventId=$t_bad"
	done
	refused "last_event_id=-5 is refused with 400" 400 \
	    "${B}live/1?last_event_id=-5"
	refused "?stream=..%2Fetc (encoded ../) is refused with 400" 400 \
	    "${B}?stream=..%2Fetc"
	refused "?stream=a%2F..%2Fb is refused with 400" 400 \
	    "${B}?stream=a%2F..%2Fb"
	refused "?stream=%2e%2e is refused with 400" 400 "${B}?stream=%2e%2e"
	refused_ctrl "lastEventId=%31%00 is refused with 400" \
	    "${B}live/1?lastEventId=%31%00"
	refused_ctrl "?stream=a%0D%0Ab (CR/LF) is refused with 400" \
	    "${B}?stream=a%0D%0Ab"
	refused_ctrl "?stream=a%0Ab (LF) is refused with 400" \
	    "${B}?stream=a%0Ab"
	refused "?stream= (empty) is refused with 400" 400 "${B}?stream="
	refused "?stream=a%2F%2Fb (empty segment) is refused with 400" 400 \
	    "${B}?stream=a%2F%2Fb"
	refused "?stream=a%20b (space) is refused with 400" 400 \
	    "${B}?stream=a%20b"
	refused "?stream=%zz (bad escape) is refused with 400" 400 \
	    "${B}?stream=%zz"
	refused_ctrl "?stream=a%00 (NUL) is refused with 400" "${B}?stream=a%00"
	t_long=$(printf '%0201d' 0)
	refused "a 201-character stream name is refused with 400" 400 \
	    "${B}?stream=$t_long"
	refused_ctrl "a path with CR/LF (a%0D%0Ab) is refused with 400" \
	    "${B}a%0D%0Ab"
	refused "a path with an encoded ../ is refused with $EXPECT_PATH_DOTDOT" \
	    "$EXPECT_PATH_DOTDOT" "${B}x/%2e%2e/y"
	if [ "$EXPECT_PATH_SLASH" = server404 ]; then
		# Apache refuses %2F in a path itself (AllowEncodedSlashes).
		fetch err "${B}x%2F..%2Fy"
		is_code "a path with an encoded / is refused by the server (404)" \
		    404 err
	else
		refused "a path with an encoded / and .. is refused with 400" \
		    400 "${B}x%2F..%2Fy"
	fi
	refused "no stream at all is refused with 400" 400 "${B}"
	t_q=
	t_i=0
	while [ "$t_i" -lt 33 ]; do
		t_i=$((t_i + 1))
		t_q="${t_q}stream=s$t_i&"
	done
	refused "33 streams (more than --max-streams 32) is refused with 400" \
	    400 "${B}?$t_q"
	fetch many "${B}?${t_q%stream=s33&}" -I
	is_code "32 streams are accepted" 200 many
	for t_m in POST PUT DELETE PATCH; do
		refused "$t_m is refused with 405" 405 "${B}live/1" -X "$t_m" \
		    -d 'x=1'
		is_header "... with Allow" err Allow "GET, HEAD, OPTIONS"
	done

	# -- heartbeat: a silent stream gets comments, which pass the server --
	if wait_until $((HEARTBEAT + 3)) t_has_comment hb; then
		ok "a silent stream gets a heartbeat comment (--heartbeat $HEARTBEAT)"
	else
		not_ok "a silent stream gets a heartbeat comment (--heartbeat $HEARTBEAT)" \
		    "nothing arrived; body: $(head -c 200 "$T_WORK/hb.b")"
	fi
	is "... and nothing but comments" "$(grep -v '^:' "$T_WORK/hb.b")" ""
	sselog close hb/1 >/dev/null
	end_stream hb 10

	# -- still serving after all that --
	open_stream after "${B}after/1?stream=after/2"
	a0=$(sselog publish after/1 "nudge")
	wait_until 5 t_has_headers after
	is "after the bad requests a new stream answers 200" \
	    "$(status_of after)" 200
	a1=$(sselog publish after/2 "still here")
	arrives "... and delivers live events" after "id: $a1"
	ac1=$(sselog close after/1)
	ac2=$(sselog close after/2)
	end_stream after 10
	t_stream_ok "... and ends when its streams close" after
	{
		ev "$a0" nudge
		ev "$a1" "still here"
		ev_close "$ac1" after/1
		ev_close "$ac2" after/2
	} >"$T_WORK/after.expected"
	is_body_file "... with exactly the events" after "$T_WORK/after.expected"
}

# The sockets the process PID holds open.
t_sockets() {
	t_n=0
	for t_fd in /proc/"$1"/fd/*; do
		case $(readlink "$t_fd" 2>/dev/null) in
		socket:*) t_n=$((t_n + 1)) ;;
		esac
	done
	echo "$t_n"
}

t_sockets_are() {
	[ "$(t_sockets "$1")" = "$2" ]
}

# A browser that leaves: the web server closes its FastCGI connection,
# and the responder PID lets go of it (within 5 s of the next event).
client_leaves() {
	t_rpid=$1 B=$2
	t_base=$(t_sockets "$t_rpid")
	open_stream gone "${B}gone/1"
	t_g1=$(sselog publish gone/1 one)
	arrives "a stream is open (to leave)" gone "id: $t_g1"
	is "the responder holds a connection for it" "$(t_sockets "$t_rpid")" \
	    $((t_base + 1))
	# shellcheck disable=SC2154 # open_stream sets STREAM_gone
	kill "$STREAM_gone"
	end_stream gone 5
	# Some servers notice only when a write fails, which may take two.
	sselog publish gone/1 two >/dev/null
	sleep 0.5
	sselog publish gone/1 three >/dev/null
	if wait_until 5 t_sockets_are "$t_rpid" "$t_base"; then
		ok "the responder closes the connection once the browser left"
	else
		not_ok "the responder closes the connection once the browser left" \
		    "sockets before: $t_base, now: $(t_sockets "$t_rpid")"
	fi
	sselog close gone/1 >/dev/null
}

# ---- Apache ----

# Writes $RUNDIR/httpd.conf: an Apache instance of its own on PORT, with
# the modules named (mod_NAME.so) and the config file SNIPPET included at
# server level. Start it with apache_start.
apache_conf() {
	t_port=$1 t_snippet=$2
	shift 2
	{
		echo "ServerRoot $RUNDIR"
		echo "ServerName 127.0.0.1"
		echo "Listen 127.0.0.1:$t_port"
		echo "PidFile $RUNDIR/httpd.pid"
		echo "DefaultRuntimeDir $RUNDIR"
		echo "Mutex file:$RUNDIR default"
		echo "User $WWW_USER"
		echo "Group $WWW_USER"
		echo "ErrorLog $RUNDIR/httpd-error.log"
		echo "LogLevel warn"
		echo "DocumentRoot $WWW"
		echo "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so"
		echo "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so"
		for t_mod in "$@"; do
			echo "LoadModule ${t_mod}_module /usr/lib/apache2/modules/mod_$t_mod.so"
		done
		echo "StartServers 1"
		echo "Include $t_snippet"
	} >"$RUNDIR/httpd.conf"
}

apache_start() {
	apache2 -t -f "$RUNDIR/httpd.conf" >"$RUNDIR/httpd-t.log" 2>&1 || {
		sed 's/^/# /' "$RUNDIR/httpd-t.log"
		bail "apache2 -t refuses the config"
	}
	start_daemon httpd apache2 -f "$RUNDIR/httpd.conf" -DFOREGROUND
	wait_http "$1"
}

# ---- publishing ----

publish_smoke() {
	t_tok=$("$SSELOG" token --key "$SRCDIR/tests/keys/hs256.secret" \
	    --alg HS256 --publish 'build/**' --subscribe 'build/**') ||
		bail "sselog token failed"
	AUTH="Authorization: Bearer $t_tok"
	fetch smoke "${2}build/1" -H "$AUTH" -d 'hello'
	is "POST through $1: 201" "$CODE" 201
	is "... the event is in the log" "$(sql "SELECT data FROM events \
WHERE id = '$(cat "$T_WORK/smoke.b")'")" hello
}

# The events of stream NAME in the log.
count() { sql "SELECT count(*) FROM events WHERE stream = '$1'"; }
# The body of fetch NAME.
body() { cat "$T_WORK/$1.b"; }

# answers DESC STATUS BODY NAME: the status and the one-line body.
answers() {
	if [ "$CODE" = "$2" ] && [ "$(body "$4")" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "want $2 '$3'" "got $CODE '$(head -c 300 \
		    "$T_WORK/$4.b")' (curl exit $CURL_RC)"
	fi
}

# publish_suite SERVER BASE: every way to write, and every answer to a
# write refused, through web server SERVER: BASE (ending in /events/) is
# a responder with --publish, --jwt-key HS256:tests/keys/hs256.secret,
# --max-event-size $MAX and --cors-origin $ORIGIN. POST of one event,
# Idempotency-Key twice, each refusal (400, 401, 403, 405, 409, 413)
# with nothing appended, ?lines by POST and PUT, DELETE, OPTIONS, and a
# locked log (503). Leaves the publishing token in $AUTH.
publish_suite() {
	t_srv=$1 B=$2
	t_key=$SRCDIR/tests/keys/hs256.secret
	t_tok=$("$SSELOG" token --key "$t_key" --alg HS256 --sub ci \
	    --publish 'build/**' --subscribe 'build/**') ||
		bail "sselog token failed"
	t_rtok=$("$SSELOG" token --key "$t_key" --alg HS256 --sub reader \
	    --subscribe 'build/**') || bail "sselog token failed"
	AUTH="Authorization: Bearer $t_tok"

	# -- POST: one event, the body verbatim --
	printf 'hello\nworld\n' >"$T_WORK/two-lines"
	fetch p1 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/two-lines"
	is_code "POST /events/build/1 with a token through $t_srv: 201" 201 p1
	t_id1=$(body p1)
	is "... the body is the new id" "$(sql "SELECT max(id) FROM events \
WHERE stream = 'build/1'")" "$t_id1"
	is "... the data is the body, its newlines included" \
	    "$(sql_hex "$t_id1")" \
	    "$(printf 'hello\nworld\n' | od -An -tx1 | tr -d ' \n' |
	    tr '[:lower:]' '[:upper:]')"
	fetch p2 "${B}build/1?event=step&retry=1500" -H "$AUTH" -d 'compiling'
	is_code "POST ?event=step&retry=1500: 201" 201 p2
	is "... stored with its type and retry" "$(sql "SELECT event, retry, \
data FROM events WHERE id = $(body p2)")" "step|1500|compiling"
	fetch p3 "${B}build/1" -H "$AUTH" --data-binary ''
	is_code "POST of an empty body: 201, an event with empty data" 201 p3
	is "... empty data" "$(sql "SELECT length(data) FROM events WHERE \
id = $(body p3)")" 0

	# -- Idempotency-Key --
	fetch k1 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: job-7/step-1" \
	    -d 'once'
	is_code "POST with Idempotency-Key: 201" 201 k1
	fetch k2 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: job-7/step-1" \
	    -d 'once'
	answers "the same key again: 200 with the same id" 200 "$(body k1)" k2
	is "... one event with that key" "$(sql "SELECT count(*) FROM events \
WHERE idem = 'job-7/step-1'")" 1

	# -- errors: nothing appended --
	t_n=$(count build/1)
	fetch e1 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: a key" -d x
	is_code "a key with a space: 400" 400 e1
	fetch e2 "${B}build/1?stream=build/2" -H "$AUTH" -d x
	answers "stream= on a write: 400" 400 \
	    "stream= is not for writes: the stream is the path" e2
	fetch e3 "${B}build/%20x" -H "$AUTH" -d x
	is_code "a bad stream name: 400" 400 e3
	fetch e4 "${B}build/1?event=sselog.gap" -H "$AUTH" -d x
	is_code "a reserved type: 400" 400 e4
	fetch e5 "${B}build/1?event=sselog.close" -H "$AUTH" -d x
	is_code "event=sselog.close: 400 (DELETE closes)" 400 e5
	fetch e6 "${B}build/1?retry=-1" -H "$AUTH" -d x
	is_code "retry=-1: 400" 400 e6
	printf 'caf\351' >"$T_WORK/latin1"
	fetch e7 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/latin1"
	answers "a body that is not UTF-8: 400, not repaired" 400 \
	    "invalid data: it is not valid UTF-8" e7
	printf 'a\000b' >"$T_WORK/nul"
	fetch e8 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/nul"
	answers "a body with NUL: 400" 400 \
	    "invalid data: it contains a NUL byte" e8
	head -c $((MAX + 1)) /dev/zero | tr '\0' x >"$T_WORK/big"
	fetch e9 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/big"
	is_code "a body one byte over --max-event-size: 413" 413 e9
	head -c "$MAX" /dev/zero | tr '\0' x >"$T_WORK/max"
	fetch e10 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/max"
	is_code "... exactly --max-event-size: 201" 201 e10
	head -c 3000000 /dev/zero | tr '\0' x >"$T_WORK/huge"
	fetch e11 "${B}build/1" -H "$AUTH" --data-binary "@$T_WORK/huge"
	is_code "3 MB: 413, the whole body read ($t_srv passes the answer)" \
	    413 e11
	fetch e12 "${B}build/1" -H "$AUTH" -X PUT -d x
	is_code "PUT without ?lines: 400" 400 e12
	fetch e13 "${B}build/1?lines" -H "$AUTH" -H "Idempotency-Key: k" -d x
	is_code "Idempotency-Key on ?lines: 400" 400 e13
	fetch e14 "${B}build/1" -H "$AUTH" -X PATCH -d x
	is_code "PATCH: 405" 405 e14
	is "... Allow names the writes" "$(header e14 Allow)" \
	    "GET, HEAD, OPTIONS, POST, PUT, DELETE"
	is "nothing was appended by any of them" "$(count build/1)" \
	    "$((t_n + 1))"

	# -- access: 401, 403, the cookie --
	t_n=$(count build/1)
	fetch a1 "${B}build/1" -d x
	is_code "no credentials: 401" 401 a1
	is "... with WWW-Authenticate" "$(header a1 WWW-Authenticate)" \
	    'Bearer realm="sselog"'
	fetch a2 "${B}build/1" -H "Authorization: Bearer $t_rtok" -d x
	answers "a token that may only subscribe: 403" 403 \
	    "not allowed to publish to build/1" a2
	fetch a3 "${B}build/1" -H "Cookie: sselog_token=$t_tok" -d x
	is_code "the publishing token in the cookie: 403 (a cookie never writes)" \
	    403 a3
	fetch a4 "${B}build/1" -H "Authorization: Bearer x.y.z" -d x
	is_code "a bad token: 401" 401 a4
	fetch a5 "${B}other/1" -H "$AUTH" -d x
	is_code "a stream outside the token's publish patterns: 403" 403 a5
	fetch a6 "${B}build/1" --data-binary "@$T_WORK/huge"
	is_code "3 MB without credentials: 401, the body read to its end" \
	    401 a6
	is "nothing was appended by any of them" "$(count build/1)" "$t_n"

	# -- ?lines --
	printf 'one\r\ntwo\n\n\nbad \377 byte\nlast' >"$T_WORK/lines"
	fetch l1 "${B}build/2?lines&event=log" -H "$AUTH" \
	    --data-binary "@$T_WORK/lines"
	is_code "POST ?lines: 201" 201 l1
	is "... FIRST LAST, empty lines skipped" "$(body l1)" \
	    "$(sql "SELECT min(id) || ' ' || max(id) FROM events WHERE \
stream = 'build/2'")"
	is "... one event per line, CRLF too, bytes not UTF-8 as U+FFFD" \
	    "$(sql "SELECT $STRING_AGG(data, '|') FROM (SELECT data FROM \
events WHERE stream = 'build/2' AND event = 'log' ORDER BY id) AS l")" \
	    "one|two|bad � byte|last"
	fetch l2 "${B}build/2?lines" -H "$AUTH" -X PUT --data-binary ''
	answers "PUT ?lines with no lines: 201 '0 0'" 201 "0 0" l2
	t_n=$(count build/2)
	{ printf 'short\n'; head -c $((MAX + 1)) /dev/zero | tr '\0' y;
	  printf '\nafter\n'; } >"$T_WORK/long-line"
	fetch l3 "${B}build/2?lines" -H "$AUTH" -T "$T_WORK/long-line"
	is_code "PUT ?lines with a line over --max-event-size: 413" 413 l3
	is "... the line before it stays, nothing after" "$(count build/2)" \
	    "$((t_n + 1))"

	# -- DELETE --
	sselog publish build/del "to close" >/dev/null
	open_stream closing "${B}build/del" -H "$AUTH"
	fetch d1 "${B}build/del" -H "$AUTH" -X DELETE
	is_code "DELETE: 200" 200 d1
	is "... the body is the close event's id" "$(body d1)" "$(sql "SELECT \
id FROM events WHERE stream = 'build/del' AND event = 'sselog.close'")"
	end_stream closing 5
	is "... which ends a subscriber's stream (curl exit 0)" "$CURL_RC" 0
	fetch d2 "${B}build/del" -H "$AUTH" -X DELETE
	answers "DELETE of a closed stream: 409" 409 "stream is closed" d2
	t_n=$(count build/del)
	fetch d3 "${B}build/del" -H "$AUTH" -d x
	answers "POST to a closed stream: 409" 409 "stream is closed" d3
	fetch d4 "${B}build/del?lines" -H "$AUTH" -d x
	answers "?lines to a closed stream: 409" 409 "stream is closed" d4
	is "nothing was appended" "$(count build/del)" "$t_n"
	fetch d5 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: close-1" \
	    -X DELETE
	fetch d6 "${B}build/1" -H "$AUTH" -H "Idempotency-Key: close-1" \
	    -X DELETE
	answers "DELETE again with the same Idempotency-Key: 200, the same id" \
	    200 "$(body d5)" d6

	# -- OPTIONS --
	fetch o1 "${B}build/1" -X OPTIONS -H "Origin: $ORIGIN"
	is "with --publish, OPTIONS: Allow names the writes" \
	    "$(header o1 Allow)" "GET, HEAD, OPTIONS, POST, PUT, DELETE"
	is "... and so does the preflight's Access-Control-Allow-Methods" \
	    "$(header o1 Access-Control-Allow-Methods)" \
	    "GET, HEAD, OPTIONS, POST, PUT, DELETE"

	# -- a locked log: 503 with Retry-After after the busy timeout --
	lock_log 8 &
	t_lock=$!
	sleep 0.5
	t_n=$(count build/4)
	t_t0=$(t_now_ms)
	fetch b1 "${B}build/4" -H "$AUTH" -d x
	t_t1=$(t_now_ms)
	is_code "the log locked for longer than 5 s: 503" 503 b1
	is "... with Retry-After" "$(header b1 Retry-After)" 1
	check "... after about 5 s ($((t_t1 - t_t0)) ms)" \
	    test $((t_t1 - t_t0)) -ge 4500 -a $((t_t1 - t_t0)) -lt 8000
	wait "$t_lock"
	is "... nothing appended" "$(count build/4)" "$t_n"
	lock_log 1 &
	t_lock=$!
	sleep 0.3
	fetch b2 "${B}build/4" -H "$AUTH" -d x
	is_code "locked for 1 s: the write waits, then 201" 201 b2
	wait "$t_lock"
}

# ---- nginx ----

# nginx_conf PORT SNIPPET [WORKER_CONNECTIONS [HTTP_LINES]]: writes
# $RUNDIR/nginx.conf, an instance of its own (256 worker connections by
# default) whose server on PORT includes the config file SNIPPET
# (contrib/nginx.conf, templated), with $WWW as its document root, and
# checks it with nginx -t. HTTP_LINES go into the http block (another
# server, say). No access log, unless $NGINX_ACCESS_LOG names a file: one
# line per request there, "STATUS LAST-EVENT-ID URI".
nginx_conf() {
	t_wc=${3:-256}
	t_access=off
	[ -n "${NGINX_ACCESS_LOG:-}" ] && t_access="$NGINX_ACCESS_LOG sse"
	cp /etc/nginx/fastcgi_params "$RUNDIR/fastcgi_params" ||
		bail "cannot read /etc/nginx/fastcgi_params"
	cat >"$RUNDIR/nginx.conf" <<CONF
user $WWW_USER;
worker_processes 1;
worker_rlimit_nofile $((t_wc * 2 + 64));
pid $RUNDIR/nginx.pid;
error_log $RUNDIR/nginx-error.log info;
events { worker_connections $t_wc; }
http {
    include /etc/nginx/mime.types;
    log_format sse '\$status \$http_last_event_id \$request_uri';
    access_log $t_access;
    client_body_temp_path $RUNDIR/nginx-body;
    proxy_temp_path $RUNDIR/nginx-proxy;
    fastcgi_temp_path $RUNDIR/nginx-fastcgi;
    uwsgi_temp_path $RUNDIR/nginx-uwsgi;
    scgi_temp_path $RUNDIR/nginx-scgi;
    ${4:-}
    server {
        listen 127.0.0.1:$1;
        root $WWW;
        include $2;
    }
}
CONF
	nginx -t -p "$RUNDIR" -c "$RUNDIR/nginx.conf" >"$RUNDIR/nginx-t.log" 2>&1 || {
		sed 's/^/# /' "$RUNDIR/nginx-t.log"
		bail "nginx -t refuses the config"
	}
}

# nginx_run NAME PORT: starts nginx from that config as daemon NAME
# ($PID_NAME) and waits until it answers on PORT.
nginx_run() {
	start_daemon "$1" nginx -p "$RUNDIR" -c "$RUNDIR/nginx.conf" \
	    -g 'daemon off;'
	wait_http "$2"
}

# nginx_start PORT SNIPPET: both, as daemon nginx.
nginx_start() {
	nginx_conf "$1" "$2"
	nginx_run nginx "$1"
}

# ---- lighttpd ----

# Writes $RUNDIR/lighttpd.conf: an instance of its own on PORT that
# includes the config file SNIPPET, and starts it.
lighttpd_start() {
	cat >"$RUNDIR/lighttpd.conf" <<CONF
server.modules = ( "mod_access" )
server.document-root = "$WWW"
server.bind = "127.0.0.1"
server.port = $1
server.username = "$WWW_USER"
server.groupname = "$WWW_USER"
server.errorlog = "$RUNDIR/lighttpd-error.log"
server.pid-file = "$RUNDIR/lighttpd.pid"
include "$2"
CONF
	lighttpd -tt -f "$RUNDIR/lighttpd.conf" >"$RUNDIR/lighttpd-t.log" 2>&1 || {
		sed 's/^/# /' "$RUNDIR/lighttpd-t.log"
		bail "lighttpd -tt refuses the config"
	}
	start_daemon lighttpd lighttpd -D -f "$RUNDIR/lighttpd.conf"
	wait_http "$1"
}

# ---- access control ----

access_files() {
	KEYS=$SRCDIR/tests/keys
	# Keys as the responder's user reads them (www-data: it serves as
	# that).
	if ! cp "$KEYS/hs256.secret" "$KEYS/es256-public.pem" \
	    "$KEYS/rs256-public.pem" "$RUNDIR/" ||
	    ! chmod 644 "$RUNDIR/hs256.secret" "$RUNDIR"/*.pem; then
		bail "cannot copy the keys"
	fi
	RULES=$RUNDIR/rules
	cat >"$RULES" <<'R'
# WHO        ACCESS          PATTERN...
alice        read            build/**
*            read            user/{user}/**
anonymous    read            status
R
	if ! printf 'alice:%s\nbob:%s\n' "$(openssl passwd -apr1 pw)" \
	    "$(openssl passwd -apr1 pw)" >"$RUNDIR/htpasswd" ||
	    ! chmod 644 "$RULES" "$RUNDIR/htpasswd"; then
		bail "cannot write the rules and htpasswd"
	fi
}

responder() {
	t_n=$1 t_s=$2
	shift 2
	# shellcheck disable=SC2086 # $AS_WWW is words
	start_daemon "$t_n" $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$t_s" --heartbeat 1 "$@"
	wait_until 10 test -S "$t_s" || {
		sed 's/^/# /' "$RUNDIR/$t_n.log"
		bail "sselog-fcgi $* made no socket"
	}
}

token() {
	"$SSELOG" token --key "$SRCDIR/tests/keys/hs256.secret" --alg HS256 \
	    "$@" || bail "sselog token $* failed"
}

# The signature's first character changed (its last may carry only
# padding bits, which decoding drops).
bad_signature() {
	t_sig=${1##*.}
	case $t_sig in A*) t_c=B ;; *) t_c=A ;; esac
	echo "${1%.*}.$t_c${t_sig#?}"
}

served() {
	t_d=$1 t_u=$2 t_id=$3
	shift 3
	fetch ok "$t_u" --max-time 2 "$@"
	if grep -q "^id: $t_id\$" "$T_WORK/ok.b" 2>/dev/null &&
	    [ "$(status_of ok)" = 200 ]; then
		ok "$t_d"
	else
		not_ok "$t_d" "expected 200 with event $t_id; got" \
		    "$(tr -d '\r' <"$T_WORK/ok.h" | head -n 8)" \
		    "body: $(head -c 300 "$T_WORK/ok.b")"
	fi
}

unauthorized() {
	t_d=$1 t_u=$2 t_e=$3
	shift 3
	refused "$t_d: 401, one line" 401 "$t_u" "$@"
	if [ "$t_e" = yes ]; then
		t_w='Bearer realm="sselog", error="invalid_token"'
	else
		t_w='Bearer realm="sselog"'
	fi
	is_header "$t_d: WWW-Authenticate" err WWW-Authenticate "$t_w"
}

# access_suite SERVER OPEN AUTH: who may read what, through web server
# SERVER. OPEN is the base URL (ending in /) of a mount where the server
# asks for no password, its responder started with --access $RULES,
# --jwt-key HS256:$RUNDIR/hs256.secret and --jwt-query; AUTH one where
# the server asks for a password (access_files: alice and bob) and
# passes the user on as REMOTE_USER, its responder with --access $RULES.
access_suite() {
	t_srv=$1 t_o=$2 t_a=$3
	t_st=$(sselog publish status "all is well")
	t_b1=$(sselog publish build/1 "compiling")
	t_u1=$(sselog publish user/alice/inbox "hi alice")
	sselog publish deploy/1 "deploying" >/dev/null

	# -- nobody signed in --
	served "anonymous may read what the rules give anonymous (status)" \
	    "${t_o}status?lastEventId=0" "$t_st"
	unauthorized "no credentials for build/1" \
	    "${t_o}build/1?lastEventId=0" no
	check "... the body says what is needed" \
	    t_body_has err "build/1 needs credentials"
	# alice's own password, where the server checks none.
	unauthorized "a Basic header where $t_srv asks for no password is nobody" \
	    "${t_o}build/1?lastEventId=0" no \
	    -H "Authorization: Basic $(printf 'alice:pw' | base64)"

	# -- the web server's users: REMOTE_USER and the rules --
	served "alice, signed in by $t_srv, reads build/1 (alice read build/**)" \
	    "${t_a}build/1?lastEventId=0" "$t_b1" -u alice:pw
	served "... and her own user/alice/inbox (* read user/{user}/**)" \
	    "${t_a}user/alice/inbox?lastEventId=0" "$t_u1" -u alice:pw
	refused "bob may not read build/1: 403" 403 "${t_a}build/1" -u bob:pw
	check "... the body names the stream" \
	    t_body_has err "not allowed to read build/1"
	fetch pw "${t_a}build/1" -u alice:wrong
	is_code "a wrong password: $t_srv's own 401" 401 pw

	# -- tokens --
	t_tok=$(token --sub carol --subscribe 'build/**')
	served "a token in Authorization: Bearer reaches the responder" \
	    "${t_o}build/1?lastEventId=0" "$t_b1" -H "Authorization: Bearer $t_tok"
	served "... in the cookie sselog_token" \
	    "${t_o}build/1?lastEventId=0" "$t_b1" -H "Cookie: sselog_token=$t_tok"
	served "... as access_token= (--jwt-query)" \
	    "${t_o}build/1?lastEventId=0&access_token=$t_tok" "$t_b1"
	refused "build/1 with deploy/1 on one connection: 403" 403 \
	    "${t_o}?stream=build/1&stream=deploy/1" -H "Authorization: Bearer $t_tok"
	check "... naming deploy/1" t_body_has err "not allowed to read deploy/1"
	unauthorized "a token with a bad signature, even for status" \
	    "${t_o}status?lastEventId=0" yes \
	    -H "Authorization: Bearer $(bad_signature "$t_tok")"
	check "... the body says why" t_body_has err "signature does not verify"
}

# ended_saying DESC NAME WHY: stream NAME ended by itself (end_stream:
# curl exit 0), its last lines a comment that says WHY and a retry: for
# EventSource to come back after.
ended_saying() {
	t_tail=$(grep -v '^$' "$T_WORK/$2.b" | tail -n 2 | tr '\n' '|')
	case $CURL_RC:$t_tail in
	"0:: $3|retry: "[0-9]*) ok "$1" ;;
	*) not_ok "$1" "want curl exit 0, then ': $3' and 'retry: MS'" \
	    "got curl exit $CURL_RC, last lines: $t_tail" ;;
	esac
}

# access_expiry SERVER OPEN: a stream whose token is valid for 3 s takes
# live events, then ends by itself at its exp; the token then gets 401.
# OPEN as in access_suite.
access_expiry() {
	t_srv=$1 t_o=$2
	t_short=$(token --subscribe 'build/**' --ttl 3s)
	t_e1=$(sselog publish build/1 "before exp")
	open_stream exp "${t_o}build/1?lastEventId=0" \
	    -H "Authorization: Bearer $t_short"
	arrives "a token valid for 3 s opens the stream" exp "id: $t_e1"
	t_e2=$(sselog publish build/1 "linking")
	arrives "... which takes live events" exp "id: $t_e2"
	end_stream exp 8
	ended_saying "... and ends by itself at its exp, through $t_srv: curl exit 0, why and a retry:" \
	    exp "the token has expired"
	unauthorized "reconnecting with the expired token" \
	    "${t_o}build/1?lastEventId=$t_e2" yes \
	    -H "Authorization: Bearer $t_short"
	check "... the body says it expired" t_body_has err "expired"
}

# access_reload SERVER OPEN AUTH LOG PID...: kill -HUP makes the
# responders PID... read the rules and the keys again, ending the streams
# they no longer allow: alice's (AUTH, REMOTE_USER) once her rule is
# gone, carol's (OPEN, a token) once the HS256 secret changed; a rules
# file with a mistake leaves the rules in use, and says so in LOG (the
# responder's messages). OPEN and AUTH as in access_suite. It changes
# $RULES and $RUNDIR/hs256.secret: the tokens signed before verify no
# more, so it comes last.
access_reload() {
	t_srv=$1 t_o=$2 t_a=$3 t_log=$4
	shift 4
	t_r1=$(sselog publish build/1 "reload")
	t_tok=$(token --sub carol --subscribe 'build/**')
	open_stream alice "${t_a}build/1?lastEventId=0" -u alice:pw
	arrives "alice, signed in by $t_srv, follows build/1" alice "id: $t_r1"
	open_stream carol "${t_o}build/1?lastEventId=0" \
	    -H "Authorization: Bearer $t_tok"
	arrives "carol follows build/1 with her token" carol "id: $t_r1"
	cat >"$RULES" <<'R'
*            read            user/{user}/**
anonymous    read            status
R
	kill -HUP "$@"
	end_stream alice 5
	ended_saying "after kill -HUP without alice's rule, her stream ends: curl exit 0, why and a retry:" \
	    alice "no longer allowed"
	refused "... and she gets 403 from then on" 403 "${t_a}build/1" -u alice:pw
	t_r2=$(sselog publish build/1 "testing")
	arrives "carol's stream, granted by her token, goes on" carol "id: $t_r2"
	check "the responders still run after the reload" kill -0 "$@"

	printf 'alice oops build/**\n' >"$RULES"
	kill -HUP "$@"
	t_r3=$(sselog publish build/1 "packaging")
	arrives "a bad rules file on reload: the rules in use stay; carol goes on" \
	    carol "id: $t_r3"
	wait_until 5 grep -q 'rules:1: unknown access "oops"' "$t_log"
	check "... and the reason, with its line, is in the responder's messages" \
	    grep -q 'rules:1: unknown access "oops"' "$t_log"

	# Another secret (48 characters, as long as the first).
	printf '*  read  user/{user}/**\n' >"$RULES"
	head -c 36 /dev/urandom | base64 >"$RUNDIR/hs256.secret" ||
		bail "cannot write $RUNDIR/hs256.secret"
	kill -HUP "$@"
	end_stream carol 5
	ended_saying "after kill -HUP with another HS256 secret, carol's stream ends: curl exit 0, why and a retry:" \
	    carol "the token's signature does not verify"
	unauthorized "... and her token gets 401 from then on" \
	    "${t_o}build/1?lastEventId=0" yes -H "Authorization: Bearer $t_tok"
}
