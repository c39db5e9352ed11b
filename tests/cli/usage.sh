# tests/cli/usage.sh: help and version exit 0 on stdout; every usage error
# exits 2 with one line on stderr that starts "sselog: " and names the
# problem, and touches no database; the log comes from -d (before or after
# the command), --db, or else $SSELOG_DB.
. "$SRCDIR/tests/cli/lib.sh"

unset SSELOG_DB

run sselog --help
is_status "--help: status 0" 0
is_quiet "--help: nothing on stderr"
check "--help: starts with the usage line" \
    test "$(head -n 1 "$OUT")" = "usage: sselog [-d DB] COMMAND [ARGS]"
for cmd in init publish pipe close prune forget vacuum watch streams; do
	check "--help lists $cmd" grep -q "^  $cmd" "$OUT"
done
cp "$OUT" help.txt
run sselog -h
is_status "-h: status 0" 0
check "-h prints the same as --help" cmp -s "$OUT" help.txt

# Each command's help, without any database.
command_usage() {
	case $1 in
	init) echo "usage: sselog [-d DB] init" ;;
	publish) echo "usage: sselog [-d DB] publish STREAM [-e TYPE] [-r RETRY_MS] [--key KEY] [DATA|-]" ;;
	pipe) echo "usage: sselog [-d DB] pipe STREAM [-e TYPE] [--strict]" ;;
	close) echo "usage: sselog [-d DB] close STREAM" ;;
	prune) echo "usage: sselog [-d DB] prune [--keep N] [--older-than DURATION] [--forget-closed DURATION] [STREAM...]" ;;
	forget) echo "usage: sselog [-d DB] forget STREAM..." ;;
	vacuum) echo "usage: sselog [-d DB] vacuum" ;;
	watch) echo "usage: sselog [-d DB] watch [--since ID] STREAM..." ;;
	streams) echo "usage: sselog [-d DB] streams" ;;
	esac
}
for cmd in init publish pipe close prune forget vacuum watch streams; do
	run sselog "$cmd" --help
	is_status "$cmd --help: status 0" 0
	is "$cmd --help: prints its usage first" "$(head -n 1 "$OUT")" "$(command_usage "$cmd")"
	check "$cmd --help: and explains it" test "$(wc -l <"$OUT")" -ge 3
	is_quiet "$cmd --help: nothing on stderr"
done
run sselog publish s -h
is "publish s -h also prints the help" "$(head -n 1 "$OUT")" "$(command_usage publish)"
check "and publishes nothing (no database named)" test "$RC" -eq 0

run sselog --version
is_status "--version: status 0" 0
is_out "--version prints the name and version of configure.ac" \
    "sselog $(sed -n 's/^AC_INIT(\[sselog\], \[\([^]]*\)\].*/\1/p' "$SRCDIR/configure.ac")"

# Usage errors: exit 2, one line, nothing created or changed.
sselog -d t.db init
sselog -d t.db publish s x >/dev/null
snapshot t.db
usage_error() {
	u_desc=$1 u_phrase=$2
	shift 2
	run sselog "$@"
	refused "$u_desc: exit 2, one line" 2 "$u_phrase"
}
usage_error "no command" "missing COMMAND"
usage_error "no command after -d" "missing COMMAND" -d t.db
usage_error "unknown command" "unknown command 'frobnicate'" -d t.db frobnicate
usage_error "unknown global option" "unknown option --bogus" --bogus streams
usage_error "unknown short global option" "unknown option -x" -x streams
usage_error "unknown short option in a cluster" "unknown option -x" -xh
usage_error "unknown command option" "unknown option --bogus" -d t.db streams --bogus
usage_error "another command's option" "unknown option --keep" -d t.db publish s --keep 3 x
usage_error "another command's option before the command" "unknown option --since" --since 3 -d t.db streams
usage_error "another command's short option" "unknown option -e" -d t.db close s -e t
usage_error "another command's -r" "unknown option -r" -d t.db pipe s -r 5
usage_error "-d without a value" "option -d needs a value" -d
usage_error "-e without a value" "option -e needs a value" -d t.db publish s -e
usage_error "--since without a value" "option --since needs a value" -d t.db watch s --since
usage_error "--keep without a value" "option --keep needs a value" -d t.db prune --keep
for cmd in publish pipe close watch; do
	usage_error "$cmd without STREAM" "missing STREAM" -d t.db "$cmd"
done
usage_error "init with an argument" "init takes no arguments" -d t.db init x
usage_error "streams with an argument" "streams takes no arguments" -d t.db streams x
usage_error "close with two streams" "too many arguments" -d t.db close a b
usage_error "pipe with two streams" "too many arguments" -d t.db pipe a b
usage_error "publish with two DATA" "too many arguments" -d t.db publish s x y
usage_error "no -d and no SSELOG_DB" "no database" init
usage_error "no -d and no SSELOG_DB (publish)" "no database" publish s x
run env SSELOG_DB= "$SSELOG" streams
refused "an empty SSELOG_DB: exit 2, one line" 2 "no database"
usage_error "an empty -d" "no database" -d '' streams
is_unchanged "the usage errors changed nothing" t.db
is "and created no file" "$(printf '%s\n' * | grep -v '^t\.db')" "help.txt"

# Where the database comes from.
run env SSELOG_DB=env.db "$SSELOG" init
is_status "SSELOG_DB instead of -d: init succeeds" 0
check "it created env.db" test -f env.db
run env SSELOG_DB=env.db "$SSELOG" publish s "via env"
is_out "SSELOG_DB instead of -d: publish prints the id" 1
run env SSELOG_DB=env.db "$SSELOG" -d t.db publish s "via -d"
is_out "-d wins over SSELOG_DB" 2
is "the event went to t.db" "$(sql t.db 'SELECT data FROM events WHERE id = 2')" "via -d"
is "not to env.db" "$(sql env.db 'SELECT count(*) FROM events')" 1
run sselog publish s -d t.db "after the command"
is_out "-d after the command" 3
run sselog publish --db=t.db s "long form"
is_out "--db=PATH after the command" 4
run sselog streams --db t.db
is_out "--db PATH after the command" "$(printf 's\t4\t1\t4\topen')"
run env SSELOG_DB=env.db "$SSELOG" streams -d t.db
is_out "-d after the command wins over SSELOG_DB too" "$(printf 's\t4\t1\t4\topen')"

done_testing
