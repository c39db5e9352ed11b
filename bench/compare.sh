#!/bin/sh
# sselog against nchan (the nginx pub/sub module) and against the tutorial
# SSE endpoint that polls the table for each client, side by side, in one
# run, on one nginx: its config has a sselog-fcgi location (contrib/
# nginx.conf), nchan locations (an EventSource subscriber, a replaying
# one, the HTTP publisher) and a location proxied to bench/poll-server.py.
# The same load client (bench/sse-load) subscribes to all three; the same
# publisher (bench/sse-pub) appends to the log through SQLite (sselog, the
# poller) or POSTs to nchan's publisher over a kept-alive connection, each
# event's data "SEQ NS" carrying its sequence number and send time.
#
# Workloads (sizes for the full run; --quick shrinks them all):
#   idle       10,000 streams, one nginx worker, one responder: failed
#              connections, memory per stream (RSS and PSS, /proc)
#   host       50,000 streams, 8 nginx workers (reuseport), 5 responders
#              sharing one FastCGI socket (spawn-fcgi), 5 load processes
#              on their own 127.0.0.x source addresses
#   latency    100 and 1,000 subscribers of one stream, 100 events/s for
#              20 s: publish-to-receive p50, p99, max (and the poller)
#   fanout     1,000 subscribers, publishing as fast as it goes for 10 s
#              (at most 1,000 events ahead of the slowest subscriber):
#              deliveries/s, server CPU seconds per million deliveries
#   replay     10,000 and 100,000 events, one client from the start
#   dbload     1, 100, 1,000, 10,000 subscribers (poller: 100, 1,000),
#              10 events/s for 10 s: SQL statements per second
#   write      sselog pipe lines/s and publish ms per call, against POSTs
#              to nchan (one kept-alive connection; curl per call)
# The workloads after host run on one nginx with 2 workers (one per CPU)
# and one responder.
#
# usage: bench/compare.sh [--build DIR] [--quick] [--tap] [--write-docs]
#            [--only "WORKLOAD..."] [--perf FILE] [--wrap "CMD..."]
#
#   --quick       small numbers, about a minute: for the test suite
#                 (tests/integration/compare-quick.sh), which checks that
#                 every workload runs, delivers and yields each figure;
#                 its figures are not the ones docs/performance.md gives
#   --tap         print a TAP line per check on standard output
#   --write-docs  put the table into docs/performance.md (full runs only)
#   --only        run only these workloads
#   --perf FILE   record the responder with perf during sselog's fan-out
#   --wrap CMD    run the single responder under CMD (valgrind --tool=...)
#
# Runs as root (it raises nothing, but nginx's workers and the load client
# need this machine's 20,000 descriptors each). Installs what is missing
# with build-aux/deps bench. Progress goes to standard error; the table to
# standard output. Exit status: 0, or 1 when a check failed in --quick mode
# or something did not run.
set -eu
LC_ALL=C
export LC_ALL

build=${build:-}
quick=no
tap=no
write_docs=no
only=
perf_out=
wrap=
usage() {
	echo "usage: bench/compare.sh [--build DIR] [--quick] [--tap] [--write-docs] [--only LIST] [--perf FILE] [--wrap CMD]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || usage; build=$2; shift ;;
	--quick) quick=yes ;;
	--tap) tap=yes ;;
	--write-docs) write_docs=yes ;;
	--only) [ $# -ge 2 ] || usage; only=$2; shift ;;
	--perf) [ $# -ge 2 ] || usage; perf_out=$(realpath -m "$2"); shift ;;
	--wrap) [ $# -ge 2 ] || usage; wrap=$2; shift ;;
	*) usage ;;
	esac
	shift
done
if [ "$write_docs" = yes ] && { [ "$quick" = yes ] || [ -n "$only" ]; }; then
	echo "bench/compare.sh: --write-docs records a full run: drop --quick and --only" >&2
	exit 2
fi
command_line=bench/compare.sh
[ -n "$build" ] && command_line="$command_line --build $build"
[ "$quick" = yes ] && command_line="$command_line --quick"
[ "$write_docs" = yes ] && command_line="$command_line --write-docs"

. "$(dirname "$0")/lib.sh"

sh "$top/build-aux/deps" bench >&2
nchan_so=/usr/lib/nginx/modules/ngx_nchan_module.so
[ -f "$nchan_so" ] || {
	echo "compare: $nchan_so is missing (apt-get install libnginx-mod-nchan)" >&2
	exit 1
}
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

# The sizes; each may be set in the environment instead (IDLE_STREAMS=2000 ...),
# for a run by hand.
if [ "$quick" = yes ]; then
	# Memory is measured as the difference the streams make, and PSS
	# shares every mapped page among all the processes mapping it, here
	# and in any other process of the machine that maps the same files: a
	# few hundred streams' megabytes can drown in that (a CI run once saw
	# the idle PSS come out at 0 or below with 200). A thousand still open
	# in well under a second.
	: "${IDLE_STREAMS:=1000}"
	: "${HOST_STREAMS:=1000}" "${HOST_WORKERS:=2}" "${HOST_RESP:=2}" "${HOST_PROCS:=2}"
	: "${LAT_SUBS:=20 50}" "${LAT_RATE:=50}" "${LAT_SECS:=2}"
	# Fan-out runs as fast as it goes, both cores busy: one second
	# still delivers hundreds of thousands of events to count (a second
	# more cost 4 CPU seconds).
	: "${FAN_SUBS:=50}" "${FAN_SECS:=1}" "${FAN_WINDOW:=200}"
	: "${REPLAY:=500 2000}"
	: "${DB_SUBS:=1 10 100}" "${BASE_DB_SUBS:=10 50}" "${DB_SECS:=2}"
	: "${PIPE_LINES:=2000}" "${PUB_CALLS:=5}"
	: "${SETTLE:=1.5}" "${CONNECT_TIMEOUT:=30}"
else
	: "${IDLE_STREAMS:=10000}"
	: "${HOST_STREAMS:=50000}" "${HOST_WORKERS:=8}" "${HOST_RESP:=5}" "${HOST_PROCS:=5}"
	: "${LAT_SUBS:=100 1000}" "${LAT_RATE:=100}" "${LAT_SECS:=20}"
	: "${FAN_SUBS:=1000}" "${FAN_SECS:=10}" "${FAN_WINDOW:=1000}"
	: "${REPLAY:=10000 100000}"
	: "${DB_SUBS:=1 100 1000 10000}" "${BASE_DB_SUBS:=100 1000}" "${DB_SECS:=10}"
	: "${PIPE_LINES:=100000}" "${PUB_CALLS:=200}"
	: "${SETTLE:=3}" "${CONNECT_TIMEOUT:=60}"
fi
: "${MAIN_WORKERS:=2}" "${FAN_BATCH:=100}" "${FAN_PIPELINE:=32}" "${DB_RATE:=10}"
# nchan numbers a channel's messages per second with a 16-bit counter:
# past 32,768 messages in one second its replay skips the rest of that
# second (seen with 1.3.6). Its backlogs are filled below that rate.
NCHAN_FILL_RATE=20000

say() { echo "compare: $*" >&2; }

wants() {
	[ -z "$only" ] && return 0
	case " $only " in *" $1 "*) return 0 ;; esac
	return 1
}

bench_setup compare
bench_build_pub
bench_sselog_conf
port=$(bench_free_port)
pyport=$(bench_free_port)
while [ "$pyport" = "$port" ]; do pyport=$(bench_free_port); done
results=$dir/results
: > "$results"
: > "$dir/checks"
load_avg=$(cut -d ' ' -f 1-3 /proc/loadavg)

# ---- results and checks ----

put() { echo "$1 $2" >> "$results"; }
# get KEY: the last value put for KEY, "-" when none, once get_all read
# the results into shell variables (r_KEY, the dots of KEY made _): an
# awk over the results for each figure of the table took 2 CPU seconds.
get_all() {
	eval "$(awk '{ k = $1; gsub(/[^A-Za-z0-9_]/, "_", k); v[k] = $2 }
	    END { for (k in v) printf "r_%s=\047%s\047\n", k, v[k] }' "$results")"
}
get() {
	g_k=$1 g_n=
	while :; do
		case $g_k in
		*.*) g_n=$g_n${g_k%%.*}_ g_k=${g_k#*.} ;;
		*) break ;;
		esac
	done
	eval "printf '%s\n' \"\${r_$g_n$g_k:--}\""
}
# kv KEY LINE: the value of KEY=... in a summary line.
kv() { bench_kv "$@"; }

ncheck=0
nfailed=0
# check NAME SUMMARY: every connection came through and got every event,
# nothing lost or duplicated.
check() {
	ncheck=$((ncheck + 1))
	if [ -n "$(kv connections "$2")" ] && [ "$(kv failed "$2")" = 0 ] &&
	    [ "$(kv short "$2")" = 0 ] && [ "$(kv dups "$2")" = 0 ] &&
	    [ "$(kv gaps "$2")" = 0 ] && [ "$(kv events "$2")" != 0 ]; then
		[ "$tap" = yes ] && echo "ok $ncheck - $1: every event, once, on every stream"
		echo "ok $1" >> "$dir/checks"
	else
		nfailed=$((nfailed + 1))
		[ "$tap" = yes ] && {
			echo "not ok $ncheck - $1: every event, once, on every stream"
			echo "#   $2"
		}
		echo "FAILED $1: $2" >> "$dir/checks"
		say "check failed: $1: $2"
	fi
}

# ---- processes ----

nginx_pid=
resp_pids=
py_pid=
fcgi=

gone() {
	! [ -r "/proc/$1/stat" ] ||
	    [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c 1)" = Z ]
}

# stop PID...: SIGTERM, then up to 20 s, then SIGKILL.
stop() {
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do
		n=0
		while ! gone "$p" && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
		gone "$p" || kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# nginx_start WORKERS: one nginx, the same config but for the workers.
nginx_start() {
	reuse=
	[ "$1" -gt 1 ] && reuse=" reuseport"
	nofile=$(ulimit -Hn)
	cat > "$dir/nginx.conf" <<NGINX
load_module $nchan_so;
worker_processes $1;
# Each worker may hold this machine's limit of descriptors: a stream
# proxied to sselog-fcgi costs two, one to nchan one.
worker_rlimit_nofile $nofile;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events {
    # Above what the descriptors allow: nginx starts closing idle
    # connections once fewer than 1/16 of worker_connections are free,
    # which must not happen before the descriptors run out.
    worker_connections $((nofile * 2));
}
http {
    access_log off;
    client_body_temp_path $dir/tmp-body;
    fastcgi_temp_path $dir/tmp-fastcgi;
    proxy_temp_path $dir/tmp-proxy;
    # nchan: every message of a channel kept for replay, up to 200,000
    # (the replay test sends 100,000), in a zone large enough for them.
    nchan_shared_memory_size 512M;
    nchan_message_buffer_length 200000;
    nchan_message_timeout 1h;
    server {
        listen 127.0.0.1:$port backlog=4096$reuse;
        # sselog-fcgi: contrib/nginx.conf as shipped.
        include $dir/sselog.conf;
        # nchan, heartbeats as often as sselog's (15 s).
        location ~ ^/nchan/pub/(.+)\$ {
            nchan_publisher;
            nchan_channel_id \$1;
            # One kept-alive publisher connection for the whole run (the
            # default closes it after 1,000 requests).
            keepalive_requests 1000000000;
        }
        location ~ ^/nchan/sub/(.+)\$ {
            nchan_subscriber eventsource;
            nchan_channel_id \$1;
            nchan_eventsource_ping_interval 15;
        }
        location ~ ^/nchan/replay/(.+)\$ {
            nchan_subscriber eventsource;
            nchan_channel_id \$1;
            nchan_subscriber_first_message oldest;
            nchan_eventsource_ping_interval 15;
        }
        # The tutorial endpoint, proxied as it would be.
        location /poll/ {
            proxy_pass http://127.0.0.1:$pyport;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }
    }
}
NGINX
	nginx -t -c "$dir/nginx.conf" >"$dir/nginx-t.out" 2>&1 || {
		cat "$dir/nginx-t.out" >&2
		exit 1
	}
	nginx -c "$dir/nginx.conf" 2>>"$dir/nginx.out" &
	nginx_pid=$!
	bench_pids="$bench_pids $nginx_pid"
	bench_wait_nginx
	n=0
	while [ "$(bench_children "$nginx_pid" | wc -l)" -lt "$1" ] &&
	    [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

nginx_stop() {
	stop "$nginx_pid"
	nginx_pid=
}

nginx_pids() {
	echo "$nginx_pid $(bench_children "$nginx_pid" | tr '\n' ' ')"
}

nginx_workers() {
	bench_children "$nginx_pid" | tr '\n' ' '
}

wait_socket() {
	n=0
	while ! [ -S "$dir/fcgi.sock" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

# One responder on its own socket (--wrap applies).
resp_start_one() {
	rm -f "$dir/fcgi.sock"
	# shellcheck disable=SC2086
	$wrap "$build/sselog-fcgi" -d "$db" --listen "unix:$dir/fcgi.sock" \
	    --prefix /events/ 2>"$dir/fcgi.log" &
	fcgi=$!
	resp_pids=$fcgi
	bench_pids="$bench_pids $fcgi"
	wait_socket
	# valgrind takes a while to get to listening.
	sleep 0.3
}

# N responders sharing one socket, forked by spawn-fcgi.
resp_start_many() {
	rm -f "$dir/fcgi.sock"
	spawn-fcgi -s "$dir/fcgi.sock" -M 0666 -b 4096 -F "$1" -- \
	    "$build/sselog-fcgi" -d "$db" --prefix /events/ \
	    > "$dir/spawn.out" 2>&1
	resp_pids=$(sed -n 's/.*PID: \([0-9]*\).*/\1/p' "$dir/spawn.out" | tr '\n' ' ')
	bench_pids="$bench_pids $resp_pids"
	fcgi=
	wait_socket
}

resp_stop() {
	# shellcheck disable=SC2086
	[ -n "$resp_pids" ] && stop $resp_pids
	resp_pids=
	fcgi=
}

py_start() {
	"$py" "$top/bench/poll-server.py" "$db" "$pyport" 2>"$dir/poll.log" &
	py_pid=$!
	bench_pids="$bench_pids $py_pid"
	n=0
	until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$pyport/stats"; do
		n=$((n + 1))
		[ $n -lt 100 ] || { cat "$dir/poll.log" >&2; exit 1; }
		sleep 0.1
	done
}

py_stop() {
	[ -n "$py_pid" ] && stop "$py_pid"
	py_pid=
}

py_queries() {
	curl -s --max-time 10 "http://127.0.0.1:$pyport/stats"
}

# The sockets a process holds (a responder: its streams, plus one).
sockets() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# ---- the load client and the publisher ----

src=0
# srcs N: sets $binds to N source addresses no run used before, so that
# no run waits for the ports an earlier one left in TIME_WAIT, and each
# address gives its own 28,000 ports (not in a subshell: it counts).
srcs() {
	binds=
	k=0
	while [ $k -lt "$1" ]; do
		src=$((src + 1))
		binds="$binds${binds:+,}127.0.$((src / 250 + 2)).$((src % 250 + 1))"
		k=$((k + 1))
	done
}

load_pid=
# load_start NAME ARG...: sse-load in the background, output in
# $dir/NAME.out; returns once every connection is open (or failed).
load_start() {
	ln=$1
	shift
	"$load" --port "$port" --connect-timeout "$CONNECT_TIMEOUT" "$@" \
	    > "$dir/$ln.out" 2>&1 &
	load_pid=$!
	until grep -q '^connected' "$dir/$ln.out" 2>/dev/null; do
		kill -0 "$load_pid" 2>/dev/null || break
		sleep 0.1
	done
	connected=$(sed -n 's/^connected //p' "$dir/$ln.out")
	connected=${connected:-0}
}

# load_finish NAME: waits for it; sets $summary, checks it.
load_finish() {
	wait "$load_pid" || true
	summary=$(tail -n 1 "$dir/$1.out")
	echo "$1: $summary" >> "$dir/summaries"
	say "$1: $summary"
	check "$1" "$summary"
}

# publish SYS STREAM ARG...: sse-pub into the log (sselog, poll) or to
# nchan's publisher; its summary in $published.
publish() {
	ps=$1 pst=$2
	shift 2
	if [ "$ps" = nchan ]; then
		published=$("$pub" --http "127.0.0.1:$port" \
		    --path "/nchan/pub/$pst" "$@")
	else
		published=$("$pub" --sqlite "$db" --stream "$pst" "$@")
	fi
}

sub_path() {
	case $1 in
	sselog) echo "/events/$2" ;;
	nchan) echo "/nchan/sub/$2" ;;
	poll) echo "/poll/$2" ;;
	esac
}

# ---- idle streams: failures and memory ----

# idle_run TAG SYS N PROCS: N streams of SYS on what runs now.
idle_run() {
	it=$1 is=$2 iN=$3 iP=$4
	srcs "$iP"
	sleep 1
	ng=$(nginx_pids)
	# shellcheck disable=SC2046,SC2086
	set -- $(bench_mem $ng) $(bench_mem $resp_pids)
	n_rss0=$1 n_pss0=$2 r_rss0=${3:-0} r_pss0=${4:-0}
	say "$it $is: opening $iN streams"
	t0=$(date +%s%N)
	load_start "$it-$is" --path "$(sub_path "$is" "$it")" \
	    --connections "$iN" --procs "$iP" --bind "$binds" --expect 1 \
	    --timeout 1200
	t1=$(date +%s%N)
	sleep "$SETTLE"
	ng=$(nginx_pids)
	# shellcheck disable=SC2046,SC2086
	set -- $(bench_mem $ng) $(bench_mem $resp_pids)
	n_rss1=$1 n_pss1=$2 r_rss1=${3:-0} r_pss1=${4:-0}
	if [ "$is" = sselog ]; then
		lo='' hi=''
		for p in $resp_pids; do
			s=$(($(sockets "$p") - 1))
			[ -z "$lo" ] || [ "$s" -lt "$lo" ] && lo=$s
			[ -z "$hi" ] || [ "$s" -gt "$hi" ] && hi=$s
		done
		put "$it.sselog.resp_streams" "$lo–$hi"
	fi
	publish "$is" "$it" --count 1
	load_finish "$it-$is"
	c=$connected
	[ "$c" -gt 0 ] || c=1
	put "$it.$is.failed" "$(kv failed "$summary")"
	put "$it.$is.open_s" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
	awk -v c="$c" -v a="$n_rss0" -v b="$n_rss1" -v d="$n_pss0" -v e="$n_pss1" \
	    -v f="$r_rss0" -v g="$r_rss1" -v h="$r_pss0" -v i="$r_pss1" \
	    -v k="$it.$is" 'BEGIN {
		printf "%s.rss %.2f\n", k, (b - a + g - f) / c
		printf "%s.pss %.2f\n", k, (e - d + i - h) / c
		printf "%s.web_rss %.2f\n", k, (b - a) / c
		printf "%s.resp_rss %.2f\n", k, (g - f) / c
		printf "%s.resp_pss %.2f\n", k, (i - h) / c
	}' >> "$results"
}

idle() {
	for sys in sselog nchan; do
		[ "$sys" = sselog ] && resp_start_one
		nginx_start 1
		idle_run idle "$sys" "$IDLE_STREAMS" 1
		nginx_stop
		resp_stop
	done
}

host() {
	for sys in sselog nchan; do
		[ "$sys" = sselog ] && resp_start_many "$HOST_RESP"
		nginx_start "$HOST_WORKERS"
		idle_run host "$sys" "$HOST_STREAMS" "$HOST_PROCS"
		nginx_stop
		resp_stop
	done
}

# ---- latency ----

lat_run() {
	ls_=$1 lN=$2
	tag=lat-$ls_-$lN
	count=$((LAT_RATE * LAT_SECS))
	[ "$ls_" = poll ] && { py_stop; py_start; }
	srcs 1
	load_start "$tag" --path "$(sub_path "$ls_" "$tag")" --bind "$binds" \
	    --connections "$lN" --expect "$count" --timeout $((LAT_SECS + 120))
	publish "$ls_" "$tag" --rate "$LAT_RATE" --count "$count"
	load_finish "$tag"
	for f in p50_ms p99_ms max_ms; do
		put "lat.$lN.$ls_.$f" "$(kv "$f" "$summary")"
	done
	put "lat.$lN.$ls_.call_p50" "$(kv call_p50_ms "$published")"
}

latency() {
	for n in $LAT_SUBS; do
		for sys in sselog nchan poll; do lat_run "$sys" "$n"; done
	done
}

# ---- fan-out ----

fan_run() {
	fs=$1
	tag=fan-$fs
	prog=$dir/$tag.progress
	srcs 2
	load_start "$tag" --path "$(sub_path "$fs" "$tag")" --bind "$binds" \
	    --connections "$FAN_SUBS" --procs 2 --progress "$prog" \
	    --timeout $((FAN_SECS + 300))
	pids="$(nginx_workers)"
	[ "$fs" = sselog ] && pids="$pids $resp_pids"
	# shellcheck disable=SC2086
	c0=$(bench_cpu $pids)
	perf_pid=
	if [ -n "$perf_out" ] && [ "$fs" = sselog ]; then
		perf record -F 999 -g -o "$perf_out" -p "$fcgi" \
		    >"$dir/perf.out" 2>&1 &
		perf_pid=$!
	fi
	# As fast as it goes: sselog's publisher commits up to FAN_BATCH
	# events per transaction, nchan's keeps up to FAN_PIPELINE POSTs in
	# flight on its connection (HTTP/1.1 pipelining keeps their order).
	if [ "$fs" = sselog ]; then
		more="--batch $FAN_BATCH"
	else
		more="--pipeline $FAN_PIPELINE"
	fi
	# shellcheck disable=SC2086
	publish "$fs" "$tag" --duration "$FAN_SECS" --window "$FAN_WINDOW" \
	    --progress "$prog" $more
	load_finish "$tag"
	# shellcheck disable=SC2086
	c1=$(bench_cpu $pids)
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" || true
	fi
	ev=$(kv events "$summary")
	put "fan.$fs.events" "$ev"
	put "fan.$fs.published" "$(kv published "$published")"
	awk -v e="$ev" -v a="$(kv first_ns "$summary")" -v b="$(kv last_ns "$summary")" \
	    -v c0="$c0" -v c1="$c1" -v k="fan.$fs" \
	    -v pc="$(kv cpu_s "$published")" -v lc="$(kv cpu_s "$summary")" 'BEGIN {
		s = (b - a) / 1e9
		printf "%s.rate %.0f\n", k, (s > 0 ? e / s : 0)
		printf "%s.cpu %.2f\n", k, (e > 0 ? (c1 - c0) / e * 1e6 : 0)
		printf "%s.pub_cpu %.2f\n", k, (e > 0 ? pc / e * 1e6 : 0)
		printf "%s.load_cpu %.2f\n", k, (e > 0 ? lc / e * 1e6 : 0)
	}' >> "$results"
}

fanout() {
	fan_run sselog
	fan_run nchan
}

# ---- replay ----

replay_run() {
	rs=$1 rN=$2
	tag=replay-$rs-$rN
	say "$tag: filling"
	if [ "$rs" = sselog ]; then
		publish sselog "$tag" --count "$rN" --batch 10000
		load_start "$tag" --path "/events/$tag" --last-event-id 0 \
		    --connections 1 --expect "$rN" --timeout 900
	else
		publish nchan "$tag" --count "$rN" --rate "$NCHAN_FILL_RATE"
		load_start "$tag" --path "/nchan/replay/$tag" \
		    --connections 1 --expect "$rN" --timeout 900
	fi
	load_finish "$tag"
	put "replay.$rN.$rs" "$(awk -v n="$(kv events "$summary")" \
	    -v a="$(kv start_ns "$summary")" -v b="$(kv last_ns "$summary")" \
	    'BEGIN { printf "%.0f", (b > a ? n / ((b - a) / 1e9) : 0) }')"
}

replay() {
	for n in $REPLAY; do
		replay_run sselog "$n"
		replay_run nchan "$n"
	done
}

# ---- database load ----

db_run() {
	ds=$1 dN=$2
	tag=db-$ds-$dN
	count=$((DB_RATE * DB_SECS))
	[ "$ds" = poll ] && { py_stop; py_start; }
	srcs 1
	load_start "$tag" --path "$(sub_path "$ds" "$tag")" --bind "$binds" \
	    --connections "$dN" --expect "$count" --timeout $((DB_SECS + 300))
	if [ "$ds" = sselog ]; then
		before=$(bench_counters)
	else
		before="$(py_queries) 0"
	fi
	t0=$(date +%s%N)
	publish sselog "$tag" --rate "$DB_RATE" --count "$count"
	load_finish "$tag"
	t1=$(date +%s%N)
	if [ "$ds" = sselog ]; then
		after=$(bench_counters)
	else
		after="$(py_queries) 0"
	fi
	put "db.$dN.$ds.failed" "$(kv failed "$summary")"
	# shellcheck disable=SC2086
	set -- $before $after
	awk -v a="$t0" -v b="$t1" -v s0="$1" -v q0="$2" -v s1="$3" -v q1="$4" \
	    -v k="db.$dN.$ds" 'BEGIN {
		s = (b - a) / 1e9
		printf "%s.qps %.1f\n", k, (s1 - s0) / s
		printf "%s.eqps %.1f\n", k, (q1 - q0) / s
	}' >> "$results"
}

dbload() {
	for n in $DB_SUBS; do db_run sselog "$n"; done
	for n in $BASE_DB_SUBS; do db_run poll "$n"; done
}

# ---- writing ----

ms_since() {
	awk -v a="$1" -v b="$(date +%s%N)" -v n="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }'
}

write() {
	awk -v n="$PIPE_LINES" 'BEGIN { for (i = 1; i <= n; i++) printf "%0100d\n", i }' \
	    > "$dir/lines"
	t0=$(date +%s%N)
	"$build/sselog" -d "$db" pipe write-pipe < "$dir/lines"
	put write.pipe.sselog "$(awk -v a="$t0" -v b="$(date +%s%N)" -v n="$PIPE_LINES" \
	    'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')"
	publish nchan write-pipe --count "$PIPE_LINES" --size 100
	put write.pipe.nchan "$(kv rate "$published" | sed 's/\..*//')"
	data=$(printf '%0100d' 7)
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$PUB_CALLS" ]; do
		"$build/sselog" -d "$db" publish write-pub "$data" >/dev/null
		i=$((i + 1))
	done
	put write.publish.sselog "$(ms_since "$t0" "$PUB_CALLS")"
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$PUB_CALLS" ]; do
		curl -s -o /dev/null -d "$data" "http://127.0.0.1:$port/nchan/pub/write-pub"
		i=$((i + 1))
	done
	put write.publish.nchan "$(ms_since "$t0" "$PUB_CALLS")"
}

# ---- the run ----

t_start=$(date +%s)
wants idle && idle
wants host && host
if wants latency || wants fanout || wants replay || wants dbload || wants write; then
	resp_start_one
	nginx_start "$MAIN_WORKERS"
	py_start
	# The poller keeps a thread per client of its last latency run
	# polling the log: a fresh one for what follows.
	wants latency && { latency; py_stop; py_start; }
	wants fanout && fanout
	wants replay && replay
	wants dbload && dbload
	wants write && write
	py_stop
	nginx_stop
	resp_stop
fi
t_end=$(date +%s)
# nginx's complaints, counted: they say why connections failed.
nginx_errors() {
	grep -E '\[(emerg|alert|crit|error)\]' "$dir/nginx-error.log" 2>/dev/null |
	    sed -E 's/^[0-9\/: ]+\[([a-z]+)\] [0-9]+#[0-9]+: (\*[0-9]+ )?/[\1] /; s/, client: .*//' |
	    cut -c 1-140 | sort | uniq -c | sort -rn | head -n 5
}

# ---- the table ----

table=$dir/table
get_all
# row WORKLOAD FIGURE SSELOG NCHAN BASELINE RULE TARGET
#   RULE: zero (sselog is 0), le X / ge X (sselog/nchan), max X (sselog
#   at most X), - (none)
row() {
	awk -v w="$1" -v f="$2" -v s="$3" -v n="$4" -v b="$5" -v rule="$6" \
	    -v t="$7" 'function num(x) { return x ~ /^-?[0-9.]+$/ }
	BEGIN {
		r = "-"
		if (num(s) && num(n) && n + 0 != 0)
			r = sprintf("%.2f", s / n)
		split(rule, a, " ")
		m = ""
		if (a[1] == "zero" && num(s)) m = (s + 0 == 0) ? "yes" : "no"
		else if (a[1] == "le" && r != "-") m = (r + 0 <= a[2]) ? "yes" : "no"
		else if (a[1] == "ge" && r != "-") m = (r + 0 >= a[2]) ? "yes" : "no"
		else if (a[1] == "max" && num(s)) m = (s + 0 <= a[2]) ? "yes" : "no"
		else if (a[1] == "flat" && num(s)) m = (s + 0 <= a[2]) ? "yes" : "no"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", w, f, s, n, r, b, t, m
	}' >> "$table"
}
{
	echo "| workload | figure | sselog | nchan | sselog ÷ nchan | polling tutorial | target | met |"
	echo "|---|---|--:|--:|--:|--:|---|---|"
} > "$table"

if wants idle; then
	w="idle: $IDLE_STREAMS streams, 1 nginx worker, 1 responder"
	row "$w" "failed connections" "$(get idle.sselog.failed)" "$(get idle.nchan.failed)" "" zero "0"
	row "$w" "memory per stream, RSS, KiB (nginx + sselog-fcgi; nginx with nchan)" "$(get idle.sselog.rss)" "$(get idle.nchan.rss)" "" "le 2" "≤ 2×"
	row "$w" "memory per stream, PSS, KiB" "$(get idle.sselog.pss)" "$(get idle.nchan.pss)" "" "le 2" "≤ 2×"
	row "$w" "… of which sselog-fcgi's own, RSS, KiB" "$(get idle.sselog.resp_rss)" "" "" "max 4" "≤ 4"
	row "$w" "seconds to open them all" "$(get idle.sselog.open_s)" "$(get idle.nchan.open_s)" "" - ""
fi
if wants host; then
	w="host: $HOST_STREAMS streams, $HOST_WORKERS nginx workers, $HOST_RESP responders, $HOST_PROCS load processes"
	row "$w" "failed connections" "$(get host.sselog.failed)" "$(get host.nchan.failed)" "" zero "0"
	row "$w" "memory per stream, RSS, KiB" "$(get host.sselog.rss)" "$(get host.nchan.rss)" "" "le 2" "≤ 2×"
	row "$w" "memory per stream, PSS, KiB" "$(get host.sselog.pss)" "$(get host.nchan.pss)" "" "le 2" "≤ 2×"
	row "$w" "… of which sselog-fcgi's own, RSS, KiB" "$(get host.sselog.resp_rss)" "" "" "max 4" "≤ 4"
	row "$w" "streams per responder, fewest–most" "$(get host.sselog.resp_streams)" "" "" - ""
	row "$w" "seconds to open them all" "$(get host.sselog.open_s)" "$(get host.nchan.open_s)" "" - ""
fi
if wants latency; then
	for n in $LAT_SUBS; do
		w="latency: $n subscribers, $LAT_RATE events/s for $LAT_SECS s"
		for f in p50 p99 max; do
			rule=-; tgt=
			[ "$f" = p99 ] && rule="le 1" && tgt="≤ nchan"
			row "$w" "publish to receive, $f, ms" "$(get "lat.$n.sselog.${f}_ms")" "$(get "lat.$n.nchan.${f}_ms")" "$(get "lat.$n.poll.${f}_ms")" "$rule" "$tgt"
		done
		row "$w" "… of which the publish call (commit; POST), p50, ms" "$(get "lat.$n.sselog.call_p50")" "$(get "lat.$n.nchan.call_p50")" "$(get "lat.$n.poll.call_p50")" - ""
	done
fi
if wants fanout; then
	w="fan-out: $FAN_SUBS subscribers, as fast as it goes for $FAN_SECS s"
	row "$w" "deliveries/s" "$(get fan.sselog.rate)" "$(get fan.nchan.rate)" "" "ge 1" "≥ nchan"
	row "$w" "server CPU s per million deliveries (nginx workers + sselog-fcgi)" "$(get fan.sselog.cpu)" "$(get fan.nchan.cpu)" "" - "lower is better"
	row "$w" "publisher CPU s per million deliveries" "$(get fan.sselog.pub_cpu)" "$(get fan.nchan.pub_cpu)" "" - ""
	row "$w" "events published" "$(get fan.sselog.published)" "$(get fan.nchan.published)" "" - ""
fi
if wants replay; then
	last=
	for n in $REPLAY; do last=$n; done
	for n in $REPLAY; do
		rule=-; tgt=
		[ "$n" = "$last" ] && rule="ge 100" && tgt="≥ 100×"
		row "replay: $n events, one client from the start" "events/s" "$(get "replay.$n.sselog")" "$(get "replay.$n.nchan")" "" "$rule" "$tgt"
	done
fi
if wants dbload; then
	w="database load: $DB_RATE events/s for $DB_SECS s"
	for n in $DB_SUBS; do
		row "$w" "SQL statements/s, $n subscribers" "$(get "db.$n.sselog.qps")" "no database" "$(get "db.$n.poll.qps")" - ""
	done
	for n in $DB_SUBS; do
		row "$w" "… of which queries for events/s, $n subscribers" "$(get "db.$n.sselog.eqps")" "" "" - ""
	done
	# Against the figure at the fewest subscribers: the most it differs
	# (up or down), and the most it grows.
	first=$(echo "$DB_SUBS" | cut -d ' ' -f 1)
	most=$(echo "$DB_SUBS" | awk '{ print $NF }')
	flat() {	# KEY: "DEV UP" of db.N.sselog.KEY over the subscribers
		for n in $DB_SUBS; do get "db.$n.sselog.$1"; done | awk '
		    $1 ~ /^[0-9.]+$/ { v[++n] = $1 }
		    END {
			if (n < 2 || v[1] <= 0) { print "- -"; exit }
			for (i = 2; i <= n; i++) {
				d = (v[i] / v[1] - 1) * 100
				if (d < 0 && -d > dev) dev = -d
				if (d > dev) dev = d
				if (d > up) up = d
			}
			printf "%.1f %.1f\n", dev, up
		    }'
	}
	flat qps > "$dir/flat"
	read -r dev up < "$dir/flat"
	row "$w" "SQL statements/s, most above or below the figure at $first subscriber(s), from $first to $most, %" "$dev" "" "" "flat 10" "≤ 10"
	row "$w" "SQL statements/s, most above the figure at $first subscriber(s), %" "$up" "" "" "flat 10" "≤ 10 (must not grow)"
	flat eqps > "$dir/flat"
	read -r dev up < "$dir/flat"
	row "$w" "queries for events/s, most above or below the figure at $first subscriber(s), from $first to $most, %" "$dev" "" "" "flat 10" "≤ 10"
	big=$(echo "$DB_SUBS" | awk '{ print $NF }')
	row "$w" "failed connections, $big streams on one responder" "$(get "db.$big.sselog.failed")" "" "" zero "0"
fi
if wants write; then
	row "writing" "sselog pipe lines/s; nchan POSTs/s on one connection (100-byte events)" "$(get write.pipe.sselog)" "$(get write.pipe.nchan)" "" - ""
	row "writing" "sselog publish; curl POST to nchan: ms per call" "$(get write.publish.sselog)" "$(get write.publish.nchan)" "" - ""
fi

machine() {
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "- machine: $(nproc) CPUs ($cpu), $mem, Linux $(uname -r), at most $(ulimit -Hn) open files per process"
	echo "- nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null), SQLite $(sqlite3 --version 2>/dev/null | cut -d ' ' -f 1), $($py --version 2>&1)"
	echo "- sselog: $("$build/sselog" --version 2>/dev/null | head -n 1), HEAD of the checkout $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "- load average when the run started: $load_avg; the run took $((t_end - t_start)) s; $(date -u +%Y-%m-%d)"
}

report() {
	echo
	cat "$table"
	echo
	machine
	echo "checks: $((ncheck - nfailed)) of $ncheck load runs delivered every event once on every connection"
	grep '^FAILED' "$dir/checks" | sed 's/^FAILED /  failed: /' || true
	nginx_errors | sed 's/^ */  nginx error log: /'
}
# TAP owns standard output with --tap.
if [ "$tap" = yes ]; then report >&2; else report; fi

if [ "$write_docs" = yes ]; then
	{
		echo "Measured with \`$command_line\`:"
		echo
		machine
		echo
		cat "$table"
		echo
		if [ "$nfailed" -eq 0 ]; then
			echo "Every load run delivered every event once, in order, on every connection that opened."
		else
			echo "Load runs where something failed, was lost or came twice (the load client's summary):"
			echo
			grep '^FAILED' "$dir/checks" | sed 's/^FAILED \([^:]*\): \(.*\)/- \1: `\2`/'
		fi
		if [ -n "$(nginx_errors)" ]; then
			echo
			echo "nginx's error log, counted:"
			echo
			nginx_errors | sed 's/^ *\([0-9]*\) \(.*\)/- \1 × `\2`/'
		fi
	} > "$dir/doc-section"
	bench_write_docs compare.sh "$dir/doc-section"
	say "wrote docs/performance.md"
fi

[ "$tap" = yes ] && echo "1..$ncheck"
if [ "$quick" = yes ] && [ "$nfailed" -gt 0 ]; then
	exit 1
fi
exit 0
