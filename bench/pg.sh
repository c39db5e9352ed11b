#!/bin/sh
# sselog on PostgreSQL, and the same workloads on SQLite in the same run.
# Frontends: each one nginx (one worker) in front of one sselog-fcgi on
# its own socket, all on the same log; a publisher (bench/sse-pub) POSTs
# numbered, time-stamped events to a frontend of its own (sselog-fcgi
# --publish, an HS256 token) while bench/sse-load subscribes on the others.
# The PostgreSQL cluster is the tests' throw-away one (tests/pg/lib.sh),
# run here with fsync and full_page_writes on, as a production server
# would (the tests run it with both off), and with pg_stat_statements,
# which counts every statement as it ends. SQLite: WAL, synchronous FULL
# (what sselog sets).
#
# Workloads (sizes for the full run; --quick shrinks them all):
#   subscribers  statements/s on PostgreSQL while 20 events/s are
#                published, against 1, 100, 1,000, 5,000 subscribers on
#                one frontend (target: flat, within 10 %; 20 a second,
#                so that 5,000 subscribers, 100,000 deliveries a second,
#                leave the publisher its pace on two cores)
#   frontends    the same at 100 events/s against 1, 2, 4 frontends of 10 subscribers
#                each (the subscribers make no difference, above; few
#                keep the machine's two cores for the frontends) (target:
#                the reading statements proportional: per frontend and
#                event published, within 10 % of the figure for one)
#   latency      publish to receive, p50 and p99, publishing through one
#                frontend and receiving through another: PostgreSQL
#                against SQLite
#   pipe         `sselog pipe` of 100,000 lines of 100 bytes, lines/s
#                (target on PostgreSQL: at least 50,000)
#   replay       one client from Last-Event-ID 0 on each stream piped,
#                events/s
# A figure is the median of the run's samples: of the 1-second
# statement counts, of the three pipes and three replays.
#
# usage: bench/pg.sh [--build DIR] [--quick] [--write-docs]
#
#   --quick       small numbers, under a minute: for the test suite
#                 (tests/pg/bench-quick.sh), which checks that every
#                 workload runs, delivers and yields each figure; its
#                 figures are not the ones docs/performance.md gives
#   --write-docs  put the tables into docs/performance.md (full runs only)
#
# Runs as root (the cluster runs as postgres; the load client needs the
# machine's 20,000 descriptors). Progress goes to standard error, the
# table to standard output. Exit status 0, or 1 when a load run lost,
# repeated or failed something.
set -eu
LC_ALL=C
export LC_ALL

build=
quick=no
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=${2:?}; shift ;;
	--quick) quick=yes ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/pg.sh [--build DIR] [--quick] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
[ "$write_docs" = no ] || [ "$quick" = no ] || {
	echo "bench/pg.sh: --write-docs records a full run: drop --quick" >&2
	exit 2
}

if [ "$quick" = yes ]; then
	# Each workload once, at the fewest sizes that still give its
	# figures: two subscriber counts and two frontends to compare, and
	# 2 s of publishing, one or two 1-second counts (three subscriber
	# counts and 3 s cost 5 more CPU seconds).
	: "${SUBS:=1 100}" "${FRONTENDS:=1 2}" "${FE_SUBS:=10}"
	: "${SECS:=2}" "${LAT_SUBS:=10}" "${LINES:=5000}" "${RUNS:=1}"
else
	: "${SUBS:=1 100 1000 5000}" "${FRONTENDS:=1 2 4}" "${FE_SUBS:=10}"
	: "${SECS:=10}" "${LAT_SUBS:=100 1000}" "${LINES:=100000}" "${RUNS:=3}"
fi
: "${RATE:=100}" "${SUB_RATE:=20}"

. "$(dirname "$0")/lib.sh"
SRCDIR=$top
. "$top/tests/tap.sh"
. "$top/tests/pg/lib.sh"
say() { echo "pg: $*" >&2; }

bench_setup pg
bench_build_pub
t_cleanup() { bench_cleanup; }
# tests/pg/lib.sh reports trouble as TAP's "Bail out!".
bail() { say "$*"; exit 1; }
say "a PostgreSQL cluster with fsync on"
# The library from the first start (not a restart, a second start of
# the server), fsync from a reload once the database is made.
# shellcheck disable=SC2034 # tests/pg/lib.sh's
PG_CONF="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 1000"
pg_cluster
cat >>"$PG_DIR/data/postgresql.conf" <<EOF
fsync = on
full_page_writes = on
EOF
pg_admin "SELECT pg_reload_conf()" >/dev/null
pg_admin "CREATE EXTENSION pg_stat_statements" >/dev/null
sqlite=$db
cp "$top/tests/keys/hs256.secret" "$dir/"
token=$("$build/sselog" token --key "$dir/hs256.secret" --alg HS256 \
    --publish 'pub/**' --ttl 1d)
load_avg=$(cut -d ' ' -f 1-3 /proc/loadavg)
t_start=$(date +%s)

# ---- frontends ----

fe_names=
# fe_start NAME DB [ARG...]: sselog-fcgi on DB with ARGs, on
# $dir/NAME.sock, and an nginx in front of it (contrib/nginx.conf with
# its publishing location opened to every stream). Sets fe_port.
fe_start() {
	f=$1 fdb=$2
	shift 2
	rm -f "$dir/$f.sock"
	"$build/sselog-fcgi" -d "$fdb" --listen "unix:$dir/$f.sock" \
	    --prefix /events/ "$@" 2>>"$dir/$f.log" &
	eval "fe_fcgi_$f=$!"
	bench_pids="$bench_pids $!"
	fs_n=0
	until [ -S "$dir/$f.sock" ]; do
		fs_n=$((fs_n + 1))
		[ $fs_n -lt 200 ] || { cat "$dir/$f.log" >&2; exit 1; }
		sleep 0.05
	done
	sed -e "s|unix:/run/sselog/fcgi.sock|unix:$dir/$f.sock|" \
	    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
	    -e '/^#location \/events\/build\/ {/,/^#}/s/^#//' \
	    -e 's|^location /events/build/ {|location /events/pub/ {|' \
	    "$top/contrib/nginx.conf.in" >"$dir/$f.conf"
	port=$(bench_free_port)
	mkdir -p "$dir/$f.tmp"
	cat >"$dir/$f.nginx" <<NGINX
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/$f.pid;
error_log $dir/nginx-error.log;
events { worker_connections 19000; }
http {
    access_log off;
    client_body_temp_path $dir/$f.tmp/body;
    fastcgi_temp_path $dir/$f.tmp/fastcgi;
    proxy_temp_path $dir/$f.tmp/proxy;
    server {
        listen 127.0.0.1:$port backlog=4096;
        include $dir/$f.conf;
    }
}
NGINX
	nginx -c "$dir/$f.nginx" 2>>"$dir/nginx.out" &
	eval "fe_nginx_$f=$!"
	bench_pids="$bench_pids $!"
	bench_wait_nginx
	eval "fe_port_$f=$port"
	fe_port=$port
	fe_names="$fe_names $f"
}

fe_stop_all() {
	for f in $fe_names; do
		eval "bench_stop \$fe_nginx_$f \$fe_fcgi_$f"
	done
	fe_names=
}

# fe_counter NAME: the SQL statements its responder ran so far (its
# stats line, logged on SIGUSR1).
fe_counter() {
	eval "fc_pid=\$fe_fcgi_$1"
	fc_n=$(grep -c 'stats:' "$dir/$1.log" || true)
	kill -USR1 "$fc_pid"
	fc_w=0
	while [ "$(grep -c 'stats:' "$dir/$1.log" || true)" -le "$fc_n" ]; do
		fc_w=$((fc_w + 1))
		[ $fc_w -lt 400 ] || { say "$1 did not log its counters"; exit 1; }
		sleep 0.02
	done
	grep 'stats:' "$dir/$1.log" | tail -n 1 |
	    sed 's/.* \([0-9]*\) SQL statements of which.*/\1/'
}

# ---- results ----

results=$dir/results
: >"$results"
failed=0
put() { echo "$1 $2" >>"$results"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "-" : v) }' "$results"; }
# field KEY LINE: KEY=VALUE out of a summary line.
field() { bench_kv "$@"; }
median() { sort -n | awk '{ v[NR] = $1 } END {
	if (NR == 0) print "-"
	else if (NR % 2) print v[(NR + 1) / 2]
	else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- load ----

addr=0
# next_binds N: N loopback source addresses no load used before (ports
# left in TIME_WAIT by one run never stall the next).
next_binds() {
	binds=
	nb_i=0
	while [ $nb_i -lt "$1" ]; do
		addr=$((addr + 1)) nb_i=$((nb_i + 1))
		binds="$binds${binds:+,}127.0.$((addr / 250 + 2)).$((addr % 250 + 1))"
	done
}

# subscribe TAG STREAM PORT N EXPECT [ARG...]: N subscribers of pub/STREAM
# in the background (their summary in $dir/TAG.out), in processes of at
# most 1,000 connections; returns once all are connected (or failed).
subscribe() {
	st=$1 ss=$2 sp=$3 sn=$4 se=$5
	shift 5
	procs=$(((sn + 999) / 1000))
	next_binds "$procs"
	"$load" --port "$sp" --path "/events/pub/$ss" --connections "$sn" \
	    --procs "$procs" --bind "$binds" --expect "$se" \
	    --connect-timeout 60 --timeout 600 "$@" >"$dir/$st.out" 2>&1 &
	echo "$!" >"$dir/$st.pid"
	until grep -q '^connected' "$dir/$st.out" 2>/dev/null; do
		kill -0 "$(cat "$dir/$st.pid")" 2>/dev/null || break
		sleep 0.1
	done
}

# received TAG: waits for TAG's subscribers; sets $summary.
received() {
	wait "$(cat "$dir/$1.pid")" || true
	summary=$(tail -n 1 "$dir/$1.out")
	say "$1: $summary"
	if [ "$(field failed "$summary")" = 0 ] && [ "$(field short "$summary")" = 0 ] &&
	    [ "$(field dups "$summary")" = 0 ] && [ "$(field gaps "$summary")" = 0 ]; then
		:
	else
		failed=$((failed + 1))
		echo "- $1: \`$summary\`" >>"$dir/failures"
	fi
}

# publish TAG PORT COUNT: COUNT events to TAG through the frontend on
# PORT, RATE a second; its summary in $published.
publish() {
	published=$("$pub" --http "127.0.0.1:$2" --path "/events/pub/$1" \
	    --header "Authorization: Bearer $token" --rate "$RATE" --count "$3")
}

# What PostgreSQL ran: "ALL READS", the statements (all but these
# samples) and, of them, the queries for events.
pg_counts() {
	pg_admin "SELECT coalesce(sum(calls), 0) || ' ' ||
	    coalesce(sum(calls) FILTER (WHERE query LIKE 'SELECT id, stream, event%'), 0)
	    FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
}

# statements TAG READER...: publishes RATE events a second to TAG for SECS
# s through the frontend "pub", sampling PostgreSQL's counts each second
# and the READER responders' before and after; puts TAG.all and TAG.reads
# (medians of the 1-second rates) and TAG.resp (the readers' statements/s,
# summed).
statements() {
	sg=$1
	shift
	r0=0
	for sf in "$@"; do r0=$((r0 + $(fe_counter "$sf"))); done
	t0=$(date +%s%N)
	"$pub" --http "127.0.0.1:$fe_port_pub" --path "/events/pub/$sg" \
	    --header "Authorization: Bearer $token" --rate "$RATE" \
	    --count $((RATE * SECS)) >"$dir/$sg.pub" &
	pp=$!
	: >"$dir/$sg.samples"
	while kill -0 "$pp" 2>/dev/null; do
		echo "$(date +%s%N) $(pg_counts)" >>"$dir/$sg.samples"
		sleep 1
	done
	wait "$pp" || { say "$sg: publishing failed"; exit 1; }
	t1=$(date +%s%N)
	r1=0
	for sf in "$@"; do r1=$((r1 + $(fe_counter "$sf"))); done
	for m in all reads; do
		awk -v k=$m 'NR > 1 { d = (k == "all" ? $2 - a : $3 - b)
		    print d / (($1 - t) / 1e9) } { t = $1; a = $2; b = $3 }' \
		    "$dir/$sg.samples" | median >"$dir/m"
		put "$sg.$m" "$(awk '{ printf "%.0f", $1 }' "$dir/m")"
	done
	put "$sg.resp" "$(awk -v a="$r0" -v b="$r1" -v s=$((t1 - t0)) \
	    'BEGIN { printf "%.0f", (b - a) / (s / 1e9) }')"
	# What the publisher kept up: a loaded machine lets it fall behind.
	put "$sg.rate" "$(field rate "$(cat "$dir/$sg.pub")" | cut -d . -f 1)"
}

# ---- statements against subscribers and against frontends ----

sub_run() {
	rate=$RATE RATE=$SUB_RATE
	fe_start pub "$PG_URI" --publish --jwt-key "HS256:$dir/hs256.secret"
	fe_start r1 "$PG_URI"
	for n in $SUBS; do
		say "statements: $n subscribers"
		subscribe "subs$n" "subs$n" "$fe_port_r1" "$n" $((RATE * SECS))
		statements "subs$n" r1
		received "subs$n"
		put "subs$n.failed" "$(field failed "$summary")"
	done
	fe_stop_all
	RATE=$rate
}

fe_run() {
	for k in $FRONTENDS; do
		say "statements: $k frontends of $FE_SUBS subscribers"
		fe_start pub "$PG_URI" --publish --jwt-key "HS256:$dir/hs256.secret"
		readers=
		i=0
		while [ $i -lt "$k" ]; do
			i=$((i + 1))
			fe_start "r$i" "$PG_URI"
			readers="$readers r$i"
			eval "subscribe fe$k-$i fe$k \$fe_port_r$i $FE_SUBS $((RATE * SECS))"
		done
		# shellcheck disable=SC2086
		statements "fe$k" $readers
		i=0
		while [ $i -lt "$k" ]; do
			i=$((i + 1))
			received "fe$k-$i"
		done
		fe_stop_all
	done
}

# ---- latency through two frontends ----

lat_run() {
	for b in pg sqlite; do
		if [ $b = pg ]; then ldb=$PG_URI; else ldb=$sqlite; fi
		fe_start pub "$ldb" --publish --jwt-key "HS256:$dir/hs256.secret"
		fe_start r1 "$ldb"
		for n in $LAT_SUBS; do
			say "latency: $b, $n subscribers"
			subscribe "lat-$b-$n" "lat-$b-$n" "$fe_port_r1" "$n" $((RATE * SECS))
			publish "lat-$b-$n" "$fe_port_pub" $((RATE * SECS))
			received "lat-$b-$n"
			put "lat.$n.$b.p50" "$(field p50_ms "$summary")"
			put "lat.$n.$b.p99" "$(field p99_ms "$summary")"
			put "lat.$n.$b.call" "$(field call_p50_ms "$published")"
		done
		fe_stop_all
	done
}

# ---- pipe and replay ----

pipe_replay() {
	# "SEQ NS" and x up to 100 bytes: what sse-load checks.
	awk -v n="$LINES" -v t="$(date +%s%N)" 'BEGIN { for (i = 1; i <= n; i++) {
	    s = i " " t " "; while (length(s) < 100) s = s "x"; print s } }' \
	    >"$dir/lines"
	for b in pg sqlite; do
		if [ $b = pg ]; then ldb=$PG_URI; else ldb=$sqlite; fi
		fe_start r1 "$ldb"
		: >"$dir/pipe.$b"
		: >"$dir/replay.$b"
		i=0
		while [ $i -lt "$RUNS" ]; do
			i=$((i + 1))
			say "pipe and replay: $b, run $i"
			t0=$(date +%s%N)
			"$build/sselog" -d "$ldb" pipe "pub/replay-$b-$i" <"$dir/lines"
			t1=$(date +%s%N)
			echo $((LINES * 1000000000 / (t1 - t0))) >>"$dir/pipe.$b"
			subscribe "replay-$b-$i" "replay-$b-$i" "$fe_port_r1" 1 "$LINES" \
			    --last-event-id 0
			received "replay-$b-$i"
			awk -v n="$(field events "$summary")" \
			    -v a="$(field start_ns "$summary")" \
			    -v b="$(field last_ns "$summary")" \
			    'BEGIN { printf "%.0f\n", (b > a ? n / ((b - a) / 1e9) : 0) }' \
			    >>"$dir/replay.$b"
		done
		put "pipe.$b" "$(median <"$dir/pipe.$b")"
		put "replay.$b" "$(median <"$dir/replay.$b")"
		fe_stop_all
	done
}

sub_run
fe_run
lat_run
pipe_replay
# Where a pipe's time goes on the server: "BATCHES LINES MS" of its COPYs.
copies=$(pg_admin "SELECT calls || ' ' || rows || ' ' || round(total_exec_time)
    FROM pg_stat_statements WHERE query LIKE 'COPY events%'")
t_end=$(date +%s)

# ---- the table ----

pct() {	# FIRST VALUE: VALUE against FIRST, in %
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", (a > 0 ? (b / a - 1) * 100 : 0) }'
}
# most_off MOST D: whichever of two signed percentages is further from 0
# (D when MOST is empty).
most_off() {
	awk -v m="${1:-$2}" -v d="$2" 'BEGIN { a = d < 0 ? -d : d; b = m < 0 ? -m : m; print (a > b ? d : m) }'
}
within10() { awk -v m="$1" 'BEGIN { m = m < 0 ? -m : m; print (m <= 10 ? "met" : "not met") }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
{
	echo "Statements on PostgreSQL while $SUB_RATE events/s are POSTed through a frontend of their own (${SECS} s; medians of the 1-second counts of \`pg_stat_statements\`):"
	echo
	echo "| subscribers on one frontend | events published/s | statements/s, all | of which queries for events/s | the reading responder's statements/s | all, against 1 subscriber | all, per event published | failed connections |"
	echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
	first= most=
	for n in $SUBS; do
		a=$(get "subs$n.all")
		[ -n "$first" ] || first=$a
		d=$(pct "$first" "$a")
		most=$(most_off "$most" "$d")
		echo "| $n | $(get "subs$n.rate") | $a | $(get "subs$n.reads") | $(get "subs$n.resp") | $d % | $(awk -v a="$a" -v p="$(get "subs$n.rate")" 'BEGIN { printf "%.2f", (p > 0 ? a / p : 0) }') | $(get "subs$n.failed") |"
	done
	echo
	echo "Target: flat, within 10 % of the figure at 1 subscriber either way: the most off is $most %, $(within10 "$most")."
	echo
	echo "| reading frontends of $FE_SUBS subscribers | events published/s | statements/s, all | of which queries for events/s | the reading responders' statements/s | against 1 frontend | per reading frontend | per reading frontend and event published | against 1 frontend |"
	echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	first= first_each= most=
	for k in $FRONTENDS; do
		r=$(get "fe$k.resp")
		[ -n "$first" ] || first=$r
		# What a frontend costs for what was published: a publisher
		# that fell behind on a busy machine sends fewer notifications.
		each=$(awk -v r="$r" -v k="$k" -v p="$(get "fe$k.rate")" \
		    'BEGIN { printf "%.3f", (p > 0 ? r / k / p : 0) }')
		[ -n "$first_each" ] || first_each=$each
		d=$(pct "$first_each" "$each")
		most=$(most_off "$most" "$d")
		echo "| $k | $(get "fe$k.rate") | $(get "fe$k.all") | $(get "fe$k.reads") | $r | $(ratio "$r" "$first") × | $(awk -v r="$r" -v k="$k" 'BEGIN { printf "%.1f", r / k }') | $each | $d % |"
	done
	echo
	echo "Target: proportional to the frontends, each the same, within 10 % of one frontend's figure per event published: the most off is $most %, $(within10 "$most")."
	echo
	echo "Publish (POST to one frontend) to receive (through another), $RATE events/s for $SECS s:"
	echo
	echo "| subscribers | figure | PostgreSQL | SQLite | PostgreSQL ÷ SQLite |"
	echo "|--:|---|--:|--:|--:|"
	for n in $LAT_SUBS; do
		for f in p50 p99 call; do
			case $f in
			call) w="… of which the POST, p50, ms" ;;
			*) w="publish to receive, $f, ms" ;;
			esac
			p=$(get "lat.$n.pg.$f") s=$(get "lat.$n.sqlite.$f")
			echo "| $n | $w | $p | $s | $(ratio "$p" "$s") |"
		done
	done
	echo
	echo "Writing and reading back $LINES lines of 100 bytes (medians of $RUNS runs):"
	echo
	echo "| figure | PostgreSQL | SQLite | PostgreSQL ÷ SQLite |"
	echo "|---|--:|--:|--:|"
	p=$(get pipe.pg) s=$(get pipe.sqlite)
	echo "| \`sselog pipe\`, lines/s | $p | $s | $(ratio "$p" "$s") |"
	p=$(get replay.pg) s=$(get replay.sqlite)
	echo "| replay from Last-Event-ID 0, events/s | $p | $s | $(ratio "$p" "$s") |"
	# shellcheck disable=SC2086
	set -- $copies
	echo
	echo "PostgreSQL's own time in the pipes' COPYs (all runs): $1 transactions of $(($2 / $1)) lines on average, $(awk -v n="$2" -v ms="$3" 'BEGIN { printf "%.1f", ms * 1000 / n }') µs a line (the insert trigger's rules), $(awk -v c="$1" -v ms="$3" 'BEGIN { printf "%.1f", ms / c }') ms a transaction."
	echo
	echo "- machine: $(bench_machine), at most $(ulimit -Hn) open files per process"
	echo "- PostgreSQL $(pg_admin 'SHOW server_version' | cut -d ' ' -f 1) (fsync on, full_page_writes on, synchronous_commit on; on the same machine, over TCP on 127.0.0.1), SQLite $(sqlite3 --version 2>/dev/null | cut -d ' ' -f 1) (WAL, synchronous FULL), nginx $(nginx -v 2>&1 | sed 's|.*nginx/||')"
	echo "- sselog: HEAD of the checkout $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown); load average when the run started: $load_avg; the run took $((t_end - t_start)) s"
	if [ "$failed" -eq 0 ]; then
		echo "- every load run delivered every event once, in order, on every connection"
	else
		echo "- load runs where something failed, was lost or came twice:"
		echo
		cat "$dir/failures"
	fi
} >"$dir/section"
cat "$dir/section"
if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`bench/pg.sh --write-docs\`."
		echo
		cat "$dir/section"
	} >"$dir/doc"
	bench_write_docs pg.sh "$dir/doc"
	say "wrote docs/performance.md"
fi
[ "$failed" -eq 0 ]
