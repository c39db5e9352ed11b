# tests/tap.sh: the TAP helpers that every shell test shares.
#
# Sourced (POSIX sh) by tests/cli/lib.sh and tests/integration/lib.sh, and
# through the latter by tests/faults/lib.sh and tests/browser/eventsource.sh,
# as "$SRCDIR/tests/tap.sh". Each script ends with `done_testing`, which
# prints the plan (automake's tap-driver.sh reads the output).
#
#   ok DESC / not_ok DESC [DIAG...]   one TAP line; DIAG lines go out as
#                           comments. not_ok returns 1.
#   check DESC CMD...       ok if CMD succeeds.
#   is DESC GOT EXPECTED    string equality.
#   bail REASON...          "Bail out!", and exit 99.
#   done_testing            the plan; exits non-zero if a check failed.
#   t_work NAME             a fresh working directory $T_WORK (in $TMPDIR,
#                           named sselog-NAME.XXXXXX), made the current
#                           one, standard input from /dev/null; at exit the
#                           library's t_cleanup runs (it removes $T_WORK).
#   t_now_ms                milliseconds since the epoch (GNU date).
#   wait_until SECONDS CMD...   poll CMD every $T_POLL seconds (0.02, which
#                           a library may change) until it succeeds; fails
#                           if it did not within SECONDS (an integer).
#   t_alive PID / t_gone PID    whether a process still runs.

set -u

T_NUM=0
T_FAILED=0
T_POLL=0.02

ok() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $1"
}

not_ok() {
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_NUM - $1"
	shift
	for t_line in "$@"; do
		printf '%s\n' "$t_line" | sed 's/^/#   /'
	done
	return 1
}

check() {
	t_desc=$1
	shift
	if "$@"; then
		ok "$t_desc"
	else
		not_ok "$t_desc" "failed: $*"
	fi
}

is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:      '$2'" "expected: '$3'"
	fi
}

bail() {
	echo "Bail out! $*"
	exit 99
}

done_testing() {
	echo "1..$T_NUM"
	[ "$T_FAILED" -eq 0 ] || {
		echo "# $T_FAILED of $T_NUM checks failed"
		exit 1
	}
	exit 0
}

t_work() {
	T_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sselog-$1.XXXXXX") ||
		bail "cannot make a temporary directory"
	trap t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cd "$T_WORK" || exit 99
	# Nothing reads the terminal by accident.
	exec </dev/null
}

t_now_ms() {
	date +%s%3N
}

# T_NOW_MS: t_now_ms without a process where the shell keeps the time
# itself (bash's EPOCHREALTIME, seconds and microseconds): wait_until
# reads the clock at every poll, and a date each time was one process in
# three of a test's polling.
t_clock() {
	# shellcheck disable=SC3028 # unset in other shells, which run date
	case ${EPOCHREALTIME:-} in
	[0-9]*[.,][0-9][0-9][0-9][0-9][0-9][0-9])
		t_e=${EPOCHREALTIME%???}
		T_NOW_MS=${t_e%[.,]*}${t_e#*[.,]} ;;
	*) T_NOW_MS=$(t_now_ms) ;;
	esac
}

wait_until() {
	t_clock
	t_deadline=$((T_NOW_MS + $1 * 1000))
	shift
	until "$@"; do
		t_clock
		[ "$T_NOW_MS" -lt "$t_deadline" ] || return 1
		sleep "$T_POLL"
	done
}

# A process that has exited but not been waited for is a zombie: alive for
# kill -0, so look at its state (the field after the command's name, which
# ends at the last ") "). Read by the shell itself: the tests call this in
# their polling loops, and a sed and a cut for each call were thousands
# of processes in a test.
t_alive() {
	t_stat=
	{ read -r t_stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	t_stat=${t_stat##*) }
	[ -n "$t_stat" ] && [ "${t_stat%% *}" != Z ]
}

t_gone() {
	! t_alive "$1"
}
