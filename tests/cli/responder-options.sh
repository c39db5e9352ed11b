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
refused_option 2 "--publish needs --access or --jwt-key" --publish
refused_option 2 "--max-event-size 0: too small" --max-event-size 0
refused_option 2 "--max-event-size 1M: not a plain" --max-event-size 1M
refused_option 2 "--streams x: use path, query or both" --streams x
refused_option 2 "--streams PATH: use path, query or both" --streams PATH
refused_option 2 "--streams : use path, query or both" --streams ''
refused_option 2 "option needs a value: --streams" --streams
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

run "$SSELOG_FCGI" --help
check "--help names --streams" grep -q '^  --streams WHERE ' "$OUT"
check "--help names --publish" grep -q '^  --publish ' "$OUT"

# --streams and SSELOG_STREAMS, as a CGI program: where a web server
# guards /events/secret/, stream= on an open mount must not reach it.
sselog -d "$T_WORK/s.db" init >/dev/null
sselog -d "$T_WORK/s.db" publish secret/payroll 'salaries' >/dev/null
# Closed, so that a CGI answer that serves the stream ends after it
# instead of following it until run's timeout.
sselog -d "$T_WORK/s.db" close secret/payroll >/dev/null
# cgi_status [VAR=VALUE...] -- ARGS...: the Status (or 200) of a GET of
# /events/?stream=secret/payroll&lastEventId=0 with that environment.
cgi_status() {
	t_q='stream=secret/payroll&lastEventId=0'
	t_env=
	while [ "$1" != -- ]; do
		t_env="$t_env $1"
		shift
	done
	shift
	# shellcheck disable=SC2086 # $t_env is words
	run env $t_env REQUEST_METHOD=GET REQUEST_URI="/events/?$t_q" \
	    QUERY_STRING="$t_q" "$SSELOG_FCGI" -d "$T_WORK/s.db" \
	    --prefix /events/ "$@"
	t_st=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$OUT" | tr -d '\r')
	echo "${t_st:-200}"
}
is "by default ?stream= names any stream (a location guards nothing)" \
    "$(cgi_status --)" 200
check "... and it is served" grep -q '^data: salaries' "$OUT"
is "--streams path refuses ?stream= with 400" \
    "$(cgi_status -- --streams path)" 400
check "... saying that the stream is the path" \
    grep -q '^stream= is not allowed here; the stream is the path$' "$OUT"
is "--streams path serves the stream named by the path" \
    "$(run env REQUEST_METHOD=GET REQUEST_URI=/events/secret/payroll \
    QUERY_STRING=lastEventId=0 "$SSELOG_FCGI" -d "$T_WORK/s.db" \
    --prefix /events/ --streams path; grep -c '^data: salaries' "$OUT")" 1
is "SSELOG_STREAMS=path from the server refuses ?stream= with 400" \
    "$(cgi_status SSELOG_STREAMS=path --)" 400
is "SSELOG_STREAMS=both overrides --streams path" \
    "$(cgi_status SSELOG_STREAMS=both -- --streams path)" 200
is "a request header SSELOG-Streams (HTTP_SSELOG_STREAMS) changes nothing" \
    "$(cgi_status HTTP_SSELOG_STREAMS=both -- --streams path)" 400
is "a bad SSELOG_STREAMS is the site's mistake: 500" \
    "$(cgi_status SSELOG_STREAMS=nope --)" 500
check "... said in the error log" \
    grep -q 'SSELOG_STREAMS to neither path, query nor both' "$ERR"
is "--streams query refuses a path below the mount with 400" \
    "$(run env REQUEST_METHOD=GET REQUEST_URI=/events/secret/payroll \
    QUERY_STRING= "$SSELOG_FCGI" -d "$T_WORK/s.db" --prefix /events/ \
    --streams query; sed -n 's/^Status: \([0-9]*\).*/\1/p' "$OUT" |
    tr -d '\r')" 400
is "--streams query serves ?stream=" \
    "$(cgi_status -- --streams query)" 200

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
