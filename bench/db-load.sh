#!/bin/sh
# The load the responder puts on the database, by number of clients: it
# must not grow with them. One nginx (contrib/nginx.conf) in front of one
# sselog-fcgi; for each client count, bench/sse-load holds that many
# streams open on one stream name while `sselog publish` appends EVENTS
# events at RATE per second; the responder's own counters (kill -USR1)
# give the SQL statements it ran meanwhile, and how many of them read
# events. Prints a table; --write-docs puts it in docs/performance.md.
#
# usage: bench/db-load.sh [--build DIR] [--clients "1 100 1000"]
#                         [--events N] [--rate PER_S] [--write-docs]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=
clients="1 100 1000"
events=50
rate=10
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--clients) clients=$2; shift ;;
	--events) events=$2; shift ;;
	--rate) rate=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/db-load.sh [--build DIR] [--clients LIST] [--events N] [--rate PER_S] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$build" ]; then
	for d in "$top/_build" "$top"; do
		[ -x "$d/sselog-fcgi" ] && build=$d && break
	done
fi
[ -x "$build/sselog-fcgi" ] || { echo "db-load: build sselog first (make), or give --build DIR" >&2; exit 1; }
build=$(cd "$build" && pwd)
command -v nginx >/dev/null || { echo "db-load: needs nginx (apt-get install nginx-light)" >&2; exit 1; }

dir=$(mktemp -d /tmp/sselog-db-load.XXXXXX)
chmod 755 "$dir"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$dir/sse-load" "$top/bench/sse-load.c"
db=$dir/events.db
"$build/sselog" -d "$db" init
chmod 666 "$db"

port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
sed -e "s|unix:/run/sselog/fcgi.sock|unix:$dir/fcgi.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    "$top/contrib/nginx.conf" > "$dir/sselog.conf"
cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 19000; }
http {
    access_log off;
    client_body_temp_path $dir/tmp-body;
    fastcgi_temp_path $dir/tmp-fastcgi;
    proxy_temp_path $dir/tmp-proxy;
    server {
        listen 127.0.0.1:$port;
        include $dir/sselog.conf;
    }
}
EOF
"$build/sselog-fcgi" -d "$db" --listen "unix:$dir/fcgi.sock" \
    --prefix /events/ 2>"$dir/fcgi.log" &
fcgi=$!
pids="$pids $fcgi"
nginx -c "$dir/nginx.conf" 2>"$dir/nginx.out" &
pids="$pids $!"
up=no
for _ in $(seq 50); do
	curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && up=yes && break
	sleep 0.1
done
[ $up = yes ] || { cat "$dir/nginx.out" >&2; echo "db-load: nginx did not start" >&2; exit 1; }

# The responder's counters: "S Q", statements and event queries so far.
counters() {
	n=$(grep -c 'stats:' "$dir/fcgi.log" || true)
	kill -USR1 "$fcgi"
	while [ "$(grep -c 'stats:' "$dir/fcgi.log" || true)" -le "$n" ]; do
		sleep 0.05
	done
	grep 'stats:' "$dir/fcgi.log" | tail -n 1 |
	    sed 's/.* \([0-9]*\) SQL statements of which \([0-9]*\) read events.*/\1 \2/'
}

interval=$(awk -v r="$rate" 'BEGIN { printf "%.4f", 1 / r }')
table=$dir/table
printf '| clients | events | seconds | SQL statements/s | event queries/s | statements per event | p50 ms | p99 ms |\n' > "$table"
printf '|--:|--:|--:|--:|--:|--:|--:|--:|\n' >> "$table"
run=0
for n in $clients; do
	run=$((run + 1))
	stream=load$run
	"$dir/sse-load" --port "$port" --path "/events/$stream" \
	    --connections "$n" --expect "$events" --timeout 120 \
	    > "$dir/load$run.out" &
	load=$!
	until grep -q '^connected' "$dir/load$run.out" 2>/dev/null; do
		sleep 0.1
	done
	before=$(counters)
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$events" ]; do
		i=$((i + 1))
		"$build/sselog" -d "$db" publish "$stream" "$i $(date +%s%N)" >/dev/null
		sleep "$interval"
	done
	wait "$load" || true
	t1=$(date +%s%N)
	after=$(counters)
	summary=$(tail -n 1 "$dir/load$run.out")
	set -- $before $after
	echo "$n $events $t0 $t1 $1 $2 $3 $4 $summary" | awk '{
		secs = ($4 - $3) / 1e9
		st = $7 - $5; q = $8 - $6
		for (i = 9; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "| %d | %d | %.1f | %.1f | %.1f | %.1f | %s | %s |\n",
		    $1, $2, secs, st / secs, q / secs, st / $2, v["p50_ms"], v["p99_ms"]
	}' >> "$table"
	echo "db-load: $n clients: $summary" >&2
done

machine="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r), $(date -u +%Y-%m-%d)"
cat "$table"
echo "($machine)"

if [ "$write_docs" = yes ]; then
	doc=$top/docs/performance.md
	section=$dir/section
	{
		echo "<!-- bench/db-load.sh begin -->"
		echo "Measured with \`bench/db-load.sh --write-docs\` ($events events at $rate/s per run; $machine):"
		echo
		cat "$table"
		echo "<!-- bench/db-load.sh end -->"
	} > "$section"
	if grep -q '<!-- bench/db-load.sh begin -->' "$doc"; then
		awk -v f="$section" '
		    /<!-- bench\/db-load.sh begin -->/ { while ((getline l < f) > 0) print l; skip = 1; next }
		    /<!-- bench\/db-load.sh end -->/ { skip = 0; next }
		    !skip { print }' "$doc" > "$dir/doc" && cat "$dir/doc" > "$doc"
	else
		{ echo; cat "$section"; } >> "$doc"
	fi
fi
