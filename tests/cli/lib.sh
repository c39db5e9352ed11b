# tests/cli/lib.sh: a tiny TAP library for the tests of the sselog command.
#
# Sourced by every tests/cli/*.sh script, which run under any POSIX sh
# (dash, bash). The environment names the binary under test ($SSELOG) and the
# source tree ($SRCDIR). Each script gets a fresh working directory, which
# is its current directory and is removed at exit, and ends with
# `done_testing`, which prints the plan and exits non-zero if a check failed.
#
#   sselog ARGS...          $SSELOG under the same time limit, for set-up.
#   run CMD ARGS...         run CMD (the word `sselog` means $SSELOG) under a
#                           time limit ($RUN_TIMEOUT seconds, default 60);
#                           stdout goes to the file $OUT,
#                           stderr to $ERR, the exit status to $RC. Give its
#                           standard input with a redirection: `run ... <f`
#                           (a pipe into a function would lose $RC in dash).
#   ok, not_ok, check, is, done_testing, wait_until SECONDS CMD...,
#   t_alive PID...          see tests/tap.sh.
#   is_status DESC N        the last run exited with N.
#   is_out DESC TEXT        its stdout is exactly TEXT plus a newline
#                           (nothing at all when TEXT is empty).
#   is_out_bytes DESC FMT [ARGS...]   its stdout is exactly printf FMT ARGS.
#   is_file DESC FILE FMT [ARGS...]   FILE holds exactly printf FMT ARGS.
#   is_quiet DESC           its stderr is empty.
#   is_err DESC PHRASE      its stderr is one line that starts "sselog: " and
#                           contains PHRASE.
#   refused DESC STATUS PHRASE   exit status STATUS, nothing on stdout and
#                           the one-line error above.
#   snapshot DB / is_unchanged DESC DB   fingerprint a database (its SQL dump
#                           and user_version), later check it is the same.
#   sql DB SQL...           the sqlite3 shell on DB, with a busy timeout.
#   wait_exit PID SECONDS   wait for a background process; kill it if it
#                           takes longer. Sets $WAIT_RC; fails on a timeout.
#   track PID               kill this background process at exit.

# shellcheck disable=SC2034 # RC, WAIT_RC, RUN_TIMEOUT are for the tests

set -u

: "${SSELOG:?set SSELOG to the sselog binary under test}"
: "${SRCDIR:?set SRCDIR to the source directory}"

. "$SRCDIR/tests/tap.sh"

T_PIDS=
WAIT_RC=
RC=
RUN_TIMEOUT=60

t_cleanup() {
	for t_pid in $T_PIDS; do
		kill -9 "$t_pid" 2>/dev/null
	done
	cd / && rm -rf "$T_WORK"
}

# Standard input is /dev/null: `run ... <file` gives input.
t_work cli
OUT=$T_WORK/.stdout
ERR=$T_WORK/.stderr

# Tools the tests need are installed by build-aux/deps: missing is a failure.
for t_tool in sqlite3 timeout sha256sum mkfifo; do
	command -v "$t_tool" >/dev/null 2>&1 ||
		echo "Bail out! $t_tool is not installed (run build-aux/deps)"
done

# What the last run printed, for diagnostics.
t_last() {
	echo "exit status: $RC"
	echo "stdout: $(head -c 600 "$OUT")"
	echo "stderr: $(head -c 600 "$ERR")"
}

# sselog under a time limit, for the steps that set up a test.
sselog() {
	timeout -k 5 "$RUN_TIMEOUT" "$SSELOG" "$@"
}

run() {
	if [ "$1" = sselog ]; then
		shift
		set -- "$SSELOG" "$@"
	fi
	timeout -k 5 "$RUN_TIMEOUT" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

is_status() {
	if [ "$RC" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "expected exit status $2" "$(t_last)"
	fi
}

is_out() {
	if [ -n "$2" ]; then
		printf '%s\n' "$2" >"$T_WORK/.expected"
	else
		: >"$T_WORK/.expected"
	fi
	if cmp -s "$OUT" "$T_WORK/.expected"; then
		ok "$1"
	else
		not_ok "$1" "expected stdout: $2" "$(t_last)"
	fi
}

is_out_bytes() {
	t_desc=$1
	shift
	is_file "$t_desc" "$OUT" "$@"
}

is_file() {
	t_desc=$1 t_file=$2
	shift 2
	# shellcheck disable=SC2059 # the format is the expected output
	printf "$@" >"$T_WORK/.expected"
	if cmp -s "$t_file" "$T_WORK/.expected"; then
		ok "$t_desc"
	else
		not_ok "$t_desc" "expected (od -c):" \
		    "$(od -c "$T_WORK/.expected" | head -20)" "got (od -c):" \
		    "$(od -c "$t_file" | head -20)"
	fi
}

is_quiet() {
	if [ ! -s "$ERR" ]; then
		ok "$1"
	else
		not_ok "$1" "expected nothing on stderr" "$(t_last)"
	fi
}

# Succeeds when $ERR is one newline-terminated line "sselog: ...PHRASE...".
t_one_error_line() {
	[ "$(wc -l <"$ERR")" -eq 1 ] && [ -z "$(tail -c 1 "$ERR")" ] &&
		head -n 1 "$ERR" | grep -q '^sselog: ' &&
		grep -qF -e "$1" "$ERR"
}

is_err() {
	if t_one_error_line "$2"; then
		ok "$1"
	else
		not_ok "$1" "expected one stderr line 'sselog: ...$2...'" \
		    "$(t_last)"
	fi
}

refused() {
	if [ "$RC" = "$2" ] && [ ! -s "$OUT" ] && t_one_error_line "$3"; then
		ok "$1"
	else
		not_ok "$1" "expected exit status $2, no stdout and one" \
		    "stderr line 'sselog: ...$3...'" "$(t_last)"
	fi
}

sql() {
	t_db=$1
	shift
	timeout -k 5 60 sqlite3 -bail -cmd '.timeout 10000' "$t_db" "$@"
}

# Prints a fingerprint of the database: its full SQL dump (schema, rows,
# sqlite_sequence) and PRAGMA user_version, or "absent".
fingerprint() {
	if [ ! -e "$1" ]; then
		echo absent
		return
	fi
	# -readonly: looking must not change the file (nor checkpoint it).
	if t_dump=$(timeout -k 5 60 sqlite3 -readonly -bail "$1" .dump \
	    'PRAGMA user_version;' 2>&1); then
		printf '%s\n' "$t_dump" | sha256sum | cut -d ' ' -f 1
	else
		echo "unreadable: $t_dump"
	fi
}

snapshot() {
	T_SNAPSHOT=$(fingerprint "$1")
}

is_unchanged() {
	t_now=$(fingerprint "$2")
	case $t_now in
	unreadable*)
		not_ok "$1" "cannot fingerprint $2: $t_now" ;;
	"$T_SNAPSHOT")
		ok "$1" ;;
	*)
		not_ok "$1" "the database $2 changed" ;;
	esac
}

track() {
	T_PIDS="$T_PIDS $1"
}

wait_exit() {
	t_pid=$1
	if ! wait_until "$2" t_gone "$t_pid"; then
		kill -9 "$t_pid" 2>/dev/null
		wait "$t_pid" 2>/dev/null
		WAIT_RC=timeout
		return 1
	fi
	wait "$t_pid"
	WAIT_RC=$?
	return 0
}
