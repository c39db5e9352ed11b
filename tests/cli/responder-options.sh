# tests/cli/responder-options.sh: sselog-fcgi's command line. --help and
# --version exit 0 on stdout; every bad option exits 2 (a bad --listen
# or --user, found when used, 1) with one line on stderr that starts
# "sselog-fcgi: " and names the option and the problem, before opening
# anything: no log file appears. --check and --log FILE do what they say.
. "$SRCDIR/tests/cli/lib.sh"

: "${SSELOG_FCGI:?set SSELOG_FCGI to the sselog-fcgi binary under test}"
unset SSELOG_DB

run "$SSELOG_FCGI" --help
is_status "--help: status 0" 0
check "--help: starts with the usage line" \
    grep -q '^usage: sselog-fcgi ' "$OUT"
is_quiet "--help: nothing on stderr"
run "$SSELOG_FCGI" --version
is_status "--version: status 0" 0
check "--version: names the program" grep -q '^sselog-fcgi ' "$OUT"

# refused_option STATUS PHRASE ARGS...: one line on stderr that names the
# problem; nothing on stdout; no log file made.
refused_option() {
	t_status=$1 t_phrase=$2
	shift 2
	run "$SSELOG_FCGI" -d "$T_WORK/events.db" "$@"
	t_desc="sselog-fcgi $*"
	if [ "$RC" = "$t_status" ] && [ ! -s "$OUT" ] &&
	    [ "$(wc -l <"$ERR")" -eq 1 ] &&
	    grep -q "^sselog-fcgi: .*$t_phrase" "$ERR" &&
	    [ ! -e "$T_WORK/events.db" ]; then
		ok "$t_desc: exit $t_status, \"$t_phrase\""
	else
		not_ok "$t_desc: exit $t_status, \"$t_phrase\"" "$(t_last)"
	fi
}

NL='
'
refused_option 2 "--prefix events/: it must start with /" --prefix events/
refused_option 2 "--prefix: it must not hold control characters" \
    --prefix "/events/${NL}x"
refused_option 2 "--prefix: it must not hold control characters" \
    --prefix "/ev	ents/"
refused_option 2 "--max-streams 0: too small" --max-streams 0
refused_option 2 "--max-streams 1001: number too large" --max-streams 1001
refused_option 2 "--max-streams abc: not a plain" --max-streams abc
refused_option 2 "--max-clients 0: too small" --max-clients 0
refused_option 2 "--heartbeat -1: not a plain" --heartbeat -1
refused_option 2 "--heartbeat 1e3: not a plain" --heartbeat 1e3
refused_option 2 "--retry x: not a plain" --retry x
refused_option 2 "--poll-interval 0: too small" --poll-interval 0
refused_option 2 "--max-pending 0: too small" --max-pending 0
refused_option 2 "--write-timeout 0: too small" --write-timeout 0
refused_option 2 "--write-timeout 86401: number too large" --write-timeout 86401
refused_option 2 "--write-timeout 5s: not a plain" --write-timeout 5s
refused_option 2 "unknown option --bogus" --bogus
refused_option 2 "option needs a value: --cors-origin" --cors-origin
refused_option 1 "--listen nonsense: use unix:PATH or HOST:PORT" \
    --listen nonsense
refused_option 1 "--listen 127.0.0.1:x:" --listen 127.0.0.1:x
refused_option 1 "--user no-such-user-here: no such user" \
    --user no-such-user-here
refused_option 2 "--log logs/r.log: use syslog, stderr or an absolute path" \
    --log logs/r.log
refused_option 2 "--log : use syslog, stderr or an absolute path" --log ""
refused_option 1 "--log $T_WORK/no/r.log: No such file or directory" \
    --log "$T_WORK/no/r.log"

run "$SSELOG_FCGI"
is_status "no -d and no SSELOG_DB: status 2" 2
check "... and says so" grep -q '^sselog-fcgi: no database: use -d PATH' "$ERR"

# --check: the log opened as when serving; one line, exit 0 or 1 (after
# the warning that it runs as root, if it does).
sselog -d "$T_WORK/c.db" init >/dev/null
run "$SSELOG_FCGI" -d "$T_WORK/c.db" --check
is_status "--check on a log it can read: status 0" 0
is "... and says so on stderr" "$(tail -n 1 "$ERR")" "sselog-fcgi: ok: $T_WORK/c.db"
run "$SSELOG_FCGI" -d "$T_WORK/none.db" --check
is_status "--check on a missing log: status 1" 1
is "... and says why, in one line" "$(tail -n 1 "$ERR")" \
    "sselog-fcgi: $T_WORK/none.db: no such database: create it with \
'sselog -d $T_WORK/none.db init'"
check "... creating nothing" test ! -e "$T_WORK/none.db"

# --log FILE: a timestamp, the name and the pid on each line, from the
# start to the stop, SIGUSR1's counters included; nothing on stderr.
(umask 022 && exec "$SSELOG_FCGI" -d "$T_WORK/c.db" \
    --listen "unix:$T_WORK/l.sock" --log "$T_WORK/r.log" 2>"$T_WORK/l.err") &
pid=$!
track "$pid"
wait_until 10 test -S "$T_WORK/l.sock"
t_logged() {
	grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}[-+][0-9]{4} \
sselog-fcgi\[$pid\]: $1" "$T_WORK/r.log" 2>/dev/null
}
check "--log FILE: the start is in the file" \
    wait_until 10 t_logged "sselog [0-9.]+ started: serving $T_WORK/c.db"
kill -USR1 "$pid"
check "--log FILE: SIGUSR1's counters are in the file" \
    wait_until 10 t_logged "stats: 0 open streams"
kill -TERM "$pid"
wait_exit "$pid" 10
check "--log FILE: the stop is in the file" t_logged "signal 15: ending"
is "--log FILE: nothing on stderr" "$(cat "$T_WORK/l.err")" ""
is "--log FILE: made mode 0640 (umask 022)" \
    "$(stat -c %a "$T_WORK/r.log")" 640

# A restart by a supervisor: the next responder takes the --listen path
# while the old one still drains, putting its own socket file there. The
# old one, on its way out, must leave that file alone (the web server
# would find no socket); the last one removes its own.
sselog -d "$T_WORK/r.db" init >/dev/null
sock=$T_WORK/fcgi.sock
"$SSELOG_FCGI" -d "$T_WORK/r.db" --listen "unix:$sock" 2>"$T_WORK/a.err" &
old=$!
track "$old"
wait_until 10 test -S "$sock"
inode=$(stat -c %i "$sock")
"$SSELOG_FCGI" -d "$T_WORK/r.db" --listen "unix:$sock" 2>"$T_WORK/b.err" &
new=$!
track "$new"
socket_replaced() {
	[ -S "$sock" ] && [ "$(stat -c %i "$sock")" != "$inode" ]
}
check "--listen: the next responder replaces the socket file" \
    wait_until 10 socket_replaced
kill -TERM "$old"
wait_exit "$old" 10
check "--listen: the old one's exit leaves the next one's socket file" \
    socket_replaced
kill -TERM "$new"
wait_exit "$new" 10
check "--listen: the last one removes its socket file" test ! -e "$sock"

done_testing
