# tests/pg/lib.sh: a throw-away PostgreSQL 15 cluster for the tests.
#
# Sourced (POSIX sh) by a test running as root, after tests/tap.sh (or the
# lib.sh of its directory, which sources it) and after `t_work`: sessions
# keep their files in $T_WORK. `pg_cluster` makes a cluster of its own in a
# temporary directory, owned by the postgres user, listening on 127.0.0.1
# only, on a free port, with its unix socket in that directory: nothing of
# Debian's own cluster (main, port 5432, /var/run/postgresql) is used or
# touched. At exit the cluster is stopped and removed, whether the test
# passed, failed or bailed out; then the test's own t_cleanup, if it has
# one, runs.
#
# The log's role connects over TCP with a password (scram-sha-256) read
# from $PGPASSFILE, never from the URI: the way the design tells users to
# connect, so that what is tested is what runs, and no other local user
# can write to the test's log while it runs. The superuser postgres
# connects over the unix socket (trust; only postgres and root can reach
# the directory).
#
#   pg_cluster      make and start the cluster and the database "sselog"
#                   (UTF8, schema from sql/postgresql.sql loaded, owned by
#                   the role "sselog"). Exports:
#                   PG_URI      postgresql://sselog@127.0.0.1:PORT/sselog,
#                               for -d / SSELOG_DB
#                   PGPASSFILE  the role's password, for libpq
#                   PG_PORT, PG_DIR (the cluster's directory: data/,
#                   server.log, the socket). $PG_CONF, if set, is added
#                   to postgresql.conf before the server first starts.
#   pg_db NAME      one more database owned by "sselog", empty (no schema);
#                   prints its URI.
#   pg_load [URI]   run sql/postgresql.sql (on $PG_URI by default); its
#                   output (nothing when all goes well) on stdout.
#   pg_psql ARGS... psql on $PG_URI as "sselog" (no psqlrc, unaligned,
#                   tuples only, quiet, stops at the first error, under a
#                   time limit); a later -d ARG picks another database.
#   pg_sql SQL...   pg_psql with each SQL as a -c.
#   pg_admin SQL... the same as the superuser, over the unix socket, on
#                   the database "sselog".
#   pg_stop [MODE]  pg_ctl stop (MODE fast by default, or immediate, smart).
#   pg_start        pg_ctl start again (same port); waits until it accepts.
#   pg_restart [MODE]   pg_ctl restart.
#   pg_log          the last lines of the server's log, as TAP comments.
#   pg_session NAME [URI]   a psql session that stays connected (as
#                   "sselog", application_name NAME, on $PG_URI by
#                   default), fed by pg_send; what it prints (errors
#                   included, verbose: "ERROR:  SQLSTATE: message") goes to
#                   $T_WORK/NAME.out. NAME: letters, digits and _.
#   pg_send NAME SQL    one line of input to the session.
#   pg_end NAME     end the session (\q) and wait for it; fails if it does
#                   not end within 30 s.
#   pg_state NAME   the session's state in pg_stat_activity and what it
#                   waits for: "active Lock", "idle in transaction -", ...
#   pg_silence PID...   the network goes silent for the processes' TCP
#                   connections to the server, as a dropped NAT entry or a
#                   firewall would make it: iptables drops every packet
#                   of those connections, both ways, with no RST or FIN
#                   (new connections go through). Sets PG_SILENCED to
#                   the number of connections.
#   pg_unsilence    takes those rules out again (done at exit as well).
#
# The server runs with fsync off (tests need no crash safety, and are
# faster) and track_commit_timestamp on, so that a test can compare the
# order of commits (pg_xact_commit_timestamp(xmin)) with the order of ids.

PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=
PG_SESSIONS=

pg_cleanup() {
	pg_unsilence
	for t_s in $PG_SESSIONS; do
		eval "kill -9 \$PG_PSQL_$t_s \$PG_HOLD_$t_s" 2>/dev/null
	done
	if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
		[ -f "$PG_DIR/data/postmaster.pid" ] &&
			pg_ctl_as stop -m immediate >/dev/null 2>&1
		rm -rf "$PG_DIR"
	fi
}

pg_exit() {
	pg_cleanup
	if command -v t_cleanup >/dev/null 2>&1; then
		t_cleanup
	fi
}

# From $PG_DIR: postgres cannot enter the test's directory.
pg_ctl_as() {
	(cd "$PG_DIR" && runuser -u postgres -- "$PG_BIN/pg_ctl" \
	    -D "$PG_DIR/data" "$@")
}

pg_log() {
	tail -n 20 "$PG_DIR/server.log" 2>/dev/null | sed 's/^/# /'
}

# Starts the server, on $PG_PORT if it is set, else on a random port in
# 20000-31999 (below Linux's ephemeral range), trying others while the
# one chosen is taken: postgres's own bind is the test, so tests running
# side by side cannot pick the same port.
pg_start() {
	t_tries=0
	while :; do
		t_tries=$((t_tries + 1))
		if [ -z "${PG_FIXED_PORT:-}" ]; then
			PG_PORT=$(( $(od -An -N2 -tu2 /dev/urandom) % 12000 + 20000 ))
			echo "port = $PG_PORT" >>"$PG_DIR/data/postgresql.conf"
		fi
		rm -f "$PG_DIR/server.log"
		pg_ctl_as start -w -t 60 -l "$PG_DIR/server.log" >/dev/null &&
			break
		if [ -n "${PG_FIXED_PORT:-}" ] || [ "$t_tries" -ge 20 ] ||
		    ! grep -q 'could not bind\|could not create any TCP' \
		    "$PG_DIR/server.log"; then
			pg_log
			bail "the PostgreSQL test cluster does not start"
		fi
	done
	# Once it ran, it keeps its port: clients have the URI.
	PG_FIXED_PORT=$PG_PORT
	export PG_PORT
}

pg_stop() {
	pg_ctl_as stop -w -t 60 -m "${1:-fast}" >/dev/null ||
		bail "the PostgreSQL test cluster does not stop"
}

pg_restart() {
	pg_ctl_as restart -w -t 60 -m "${1:-fast}" -l "$PG_DIR/server.log" \
	    >/dev/null || { pg_log; bail "the PostgreSQL test cluster does not restart"; }
}

pg_psql() {
	timeout -k 5 60 "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 \
	    -d "$PG_URI" "$@"
}

# CMD SQL...: CMD with each SQL as a -c.
pg_each_c() {
	t_cmd=$1
	shift
	for t_sql in "$@"; do
		set -- "$@" -c "$t_sql"
		shift
	done
	"$t_cmd" "$@"
}

pg_sql() {
	pg_each_c pg_psql "$@"
}

# psql as the superuser; a later -d ARG picks another database.
pg_admin_psql() {
	timeout -k 5 60 "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 \
	    -h "$PG_DIR" -p "$PG_PORT" -U postgres -d sselog "$@"
}

pg_admin() {
	pg_each_c pg_admin_psql "$@"
}

pg_db() {
	pg_admin_psql -d postgres \
	    -c "CREATE DATABASE \"$1\" OWNER sselog ENCODING 'UTF8' TEMPLATE template0" ||
		bail "cannot create the database $1"
	echo "postgresql://sselog@127.0.0.1:$PG_PORT/$1"
}

pg_load() {
	pg_psql -d "${1:-$PG_URI}" -f "$SRCDIR/sql/postgresql.sql" 2>&1
}

# pg_initdb DATA: DATA the files of a new cluster, owned by postgres,
# whose superuser's password nobody knows (it connects over the socket).
# initdb runs in /tmp, which postgres can reach; root copies.
pg_initdb() {
	t_new=$(mktemp -d /tmp/sselog-initdb.XXXXXX) &&
	    chown postgres: "$t_new" || bail "cannot make a directory for initdb"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$t_new/pw" &&
		chown postgres: "$t_new/pw" || bail "cannot write the password"
	# C collation: the same order everywhere; UTF8: see sql/postgresql.sql.
	(cd "$t_new" && runuser -u postgres -- "$PG_BIN/initdb" \
	    -D "$t_new/data" -E UTF8 --locale=C -U postgres \
	    --pwfile="$t_new/pw" -N >"$t_new/initdb.log" 2>&1) || {
		sed 's/^/# /' "$t_new/initdb.log"
		bail "initdb failed"
	}
	cp -a "$t_new/data" "$1" || bail "cannot copy the cluster's files to $1"
	rm -rf "$t_new"
}

# pg_initdb_copy DATA: the same, copied from the files initdb made once
# per build directory, in $BUILDDIR/tests/pg-template (under a lock, for
# the tests that start together): they are the same for every test, and
# a copy costs a test nothing next to initdb's second of CPU.
pg_initdb_copy() {
	if [ -z "${BUILDDIR:-}" ]; then
		pg_initdb "$1"
		return
	fi
	t_tpl=$BUILDDIR/tests/pg-template
	mkdir -p "$BUILDDIR/tests" || bail "cannot make $BUILDDIR/tests"
	exec 9>"$t_tpl.lock" && flock 9 || bail "cannot lock $t_tpl.lock"
	if ! [ -f "$t_tpl/PG_VERSION" ]; then
		rm -rf "$t_tpl"
		pg_initdb "$t_tpl"
	fi
	exec 9>&-
	cp -a "$t_tpl" "$1" || bail "cannot copy $t_tpl to $1"
}

pg_cluster() {
	[ "$(id -u)" -eq 0 ] || bail "the PostgreSQL tests need root"
	[ -x "$PG_BIN/initdb" ] ||
		bail "PostgreSQL 15 is not installed (run build-aux/deps test)"
	# In /tmp, not $TMPDIR: postgres must reach it, and the socket's
	# path must stay short.
	PG_DIR=$(mktemp -d /tmp/sselog-pg.XXXXXX) ||
		bail "cannot make a temporary directory"
	trap pg_exit EXIT
	chown postgres: "$PG_DIR" && chmod 700 "$PG_DIR" ||
		bail "cannot give $PG_DIR to postgres"
	pg_initdb_copy "$PG_DIR/data"
	t_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
	listen_addresses = '127.0.0.1'
	unix_socket_directories = '$PG_DIR'
	fsync = off
	full_page_writes = off
	track_commit_timestamp = on
	${PG_CONF:-}
	EOF
	cat >"$PG_DIR/data/pg_hba.conf" <<-EOF
	local all all trust
	host all all 127.0.0.1/32 scram-sha-256
	EOF
	pg_start
	PGPASSFILE=$PG_DIR/pgpass
	# The 0600 that libpq insists on; root's, in postgres's directory.
	(umask 077 && echo "127.0.0.1:$PG_PORT:*:sselog:$t_password" \
	    >"$PGPASSFILE") || bail "cannot write $PGPASSFILE"
	export PGPASSFILE
	pg_admin_psql -d postgres \
	    -c "CREATE ROLE sselog LOGIN PASSWORD '$t_password'" || bail "cannot create the role sselog"
	PG_URI=$(pg_db sselog)
	export PG_URI
	t_out=$(pg_load) && [ -z "$t_out" ] || {
		printf '%s\n' "$t_out" | sed 's/^/# /'
		bail "cannot load sql/postgresql.sql"
	}
}

pg_session() {
	t_in=$T_WORK/$1.in
	rm -f "$t_in" && mkfifo "$t_in" || bail "cannot make $t_in"
	PGAPPNAME=$1 "$PG_BIN/psql" -X -A -t -q -v VERBOSITY=verbose \
	    -d "${2:-$PG_URI}" <"$t_in" >"$T_WORK/$1.out" 2>&1 &
	eval "PG_PSQL_$1=\$!"
	# A writer that stays, so that psql sees no end of input between
	# two pg_send.
	sleep 600 >"$t_in" &
	eval "PG_HOLD_$1=\$!"
	PG_SESSIONS="$PG_SESSIONS $1"
}

pg_send() {
	printf '%s\n' "$2" >"$T_WORK/$1.in"
}

pg_end() {
	pg_send "$1" '\q'
	eval "t_pid=\$PG_PSQL_$1 t_hold=\$PG_HOLD_$1"
	t_ok=0
	wait_until 30 t_gone "$t_pid" || t_ok=1
	kill -9 "$t_pid" "$t_hold" 2>/dev/null
	wait "$t_pid" "$t_hold" 2>/dev/null
	return "$t_ok"
}

pg_state() {
	pg_admin "SELECT state || ' ' || coalesce(wait_event_type, '-')
	    FROM pg_stat_activity WHERE application_name = '$1'"
}

# The iptables rules of pg_silence carry this comment, so that they and
# no others are taken out.
PG_SILENCE_TAG=sselog-test-$$

pg_silence() {
	PG_SILENCED=0
	# "LOCAL PEER users:((...pid=N...))" of each connection to the port.
	for t_port in $(ss -tnpH state established "( dport = :$PG_PORT )" |
	    awk -v pids=" $* " '{
		if (match($0, /pid=[0-9]+/) &&
		    index(pids, " " substr($0, RSTART + 4, RLENGTH - 4) " ")) {
			n = split($3, a, ":"); print a[n]
		} }'); do
		iptables -I INPUT -p tcp --sport "$t_port" --dport "$PG_PORT" \
		    -m comment --comment "$PG_SILENCE_TAG" -j DROP &&
		    iptables -I INPUT -p tcp --sport "$PG_PORT" \
		    --dport "$t_port" -m comment --comment "$PG_SILENCE_TAG" \
		    -j DROP || bail "iptables cannot drop packets"
		PG_SILENCED=$((PG_SILENCED + 1))
	done
}

pg_unsilence() {
	command -v iptables >/dev/null 2>&1 || return 0
	# iptables -S prints each rule as the arguments that made it.
	iptables -S INPUT 2>/dev/null | grep -F -- "$PG_SILENCE_TAG" |
	    sed 's/^-A /-D /' | while IFS= read -r t_rule; do
		# shellcheck disable=SC2086 # the rule's words
		eval "iptables $t_rule"
	done
}
