# tests/faults/lib.sh: what the fault tests share.
#
# Sourced by tests/faults/*.sh (POSIX sh, TAP), on top of
# tests/integration/lib.sh (ok, not_ok, is, wait_until, start_daemon,
# template, free_port, fetch, no_leftovers...: see there), whose
# temporary directory $T_WORK holds everything, and whose exit trap stops
# every daemon and process started for the test.
#
#   f_helpers        compile tests/faults/fault-client.c ($FAULT_CLIENT)
#   f_sse_load       compile bench/sse-load.c, with bench/bench.c
#                    ($SSE_LOAD)
#   f_responder_start NAME [ARGS...]   sselog-fcgi on $SOCK, started as
#                    root with --user www-data (as a service manager
#                    would), its log in $RUNDIR/NAME.log, its pid in
#                    $PID_NAME and $F_RESPONDER
#   f_nginx_conf PORT [WORKER_CONNECTIONS] [HTTP_LINES]   write the
#                    nginx config: contrib/nginx.conf in a server on PORT,
#                    with $WWW as the document root
#   f_nginx_start NAME   start nginx from that config ($PID_NAME, $F_NGINX)
#   f_follow NAME URL SECONDS   an EventSource-like client made of curl
#                    (tests/faults/sse-follow), in $T_WORK/follow/NAME;
#                    its pid in $FOLLOW_NAME
#   f_got NAME ID    follower NAME has received event ID
#   f_stats LOG PID  the responder's counters (SIGUSR1), one line
#   f_open_streams LOG PID   how many streams it has open
#   f_rss PID        resident memory of PID in KiB

F_DIR=$SRCDIR/tests/faults
. "$SRCDIR/tests/integration/lib.sh"

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 ||
	bail "$CC is not installed (the fault tests compile their clients)"
command -v nginx >/dev/null 2>&1 ||
	bail "nginx is not installed (run build-aux/deps test)"

f_helpers() {
	FAULT_CLIENT=$T_WORK/bin/fault-client
	"$CC" -std=c11 -O2 -I "$SRCDIR/bench" -o "$FAULT_CLIENT" \
	    "$F_DIR/fault-client.c" "$SRCDIR/bench/bench.c" \
	    >"$T_WORK/cc.log" 2>&1 || {
		sed 's/^/# /' "$T_WORK/cc.log"
		bail "cannot compile tests/faults/fault-client.c"
	}
}

f_sse_load() {
	SSE_LOAD=$T_WORK/bin/sse-load
	"$CC" -O2 -o "$SSE_LOAD" "$SRCDIR/bench/sse-load.c" \
	    "$SRCDIR/bench/bench.c" >"$T_WORK/cc.log" 2>&1 || {
		sed 's/^/# /' "$T_WORK/cc.log"
		bail "cannot compile bench/sse-load.c"
	}
}

# ---- the responder ----

f_responder_start() {
	t_name=$1
	shift
	# shellcheck disable=SC2086 # RESPONDER_ARGS is a list of words
	start_daemon "$t_name" "$SSELOG_FCGI" -d "$DB" --listen "unix:$SOCK" \
	    --prefix /events/ --user "$WWW_USER" $RESPONDER_ARGS "$@"
	eval "F_RESPONDER=\$PID_$t_name"
	wait_listening "$t_name"
}

# The responder's counters: SIGUSR1 makes it log them.
f_stats() {
	t_log=$1 t_pid=$2
	t_n=$(grep -c 'stats:' "$t_log")
	kill -USR1 "$t_pid" 2>/dev/null || return 1
	# shellcheck disable=SC2317 # called through wait_until
	f_more_stats() { [ "$(grep -c 'stats:' "$t_log")" -gt "$t_n" ]; }
	wait_until 5 f_more_stats || return 1
	grep 'stats:' "$t_log" | tail -n 1
}

# The number of streams the responder has open (from its counters).
f_open_streams() {
	t_s=$(f_stats "$1" "$2") || return 1
	t_s=${t_s#*stats: }
	echo "${t_s%% open streams*}"
}

f_rss() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ---- nginx ----

f_nginx_conf() {
	F_PORT=$1
	template nginx.conf "$RUNDIR/sselog.conf"
	nginx_conf "$F_PORT" "$RUNDIR/sselog.conf" "${2:-256}" "${3:-}"
}

f_nginx_start() {
	nginx_run "$1" "$F_PORT"
	eval "F_NGINX=\$PID_$1"
}

# ---- clients ----

f_follow() {
	t_name=$1
	mkdir -p "$T_WORK/follow/$t_name"
	: >"$T_WORK/follow/$t_name/events"
	sh "$F_DIR/sse-follow" "$2" "$T_WORK/follow/$t_name" "$3" &
	eval "FOLLOW_$t_name=\$!"
	T_STREAMS="$T_STREAMS $!"
}

# Follower NAME has received the event ID (in a response still open, too).
f_got() {
	grep -qx "id: $2" "$T_WORK/follow/$1"/body.* 2>/dev/null
}

# Kills PID (SIGKILL) and reaps it.
f_kill9() {
	kill -9 "$1" 2>/dev/null
	wait_until 10 t_gone "$1" || bail "process $1 survived SIGKILL"
	wait "$1" 2>/dev/null
}

# A diagnosis for a failed check: the tail of each log.
f_diag() {
	for t_log in "$RUNDIR"/*.log; do
		echo "# --- $t_log:"
		grep -v '\[notice\]\|\[info\]' "$t_log" | tail -n "${1:-15}" |
		    sed 's/^/#   /'
	done
}
