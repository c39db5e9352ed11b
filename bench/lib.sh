# Shared by the benchmarks that need a web server: sourced, not run.
# bench_start NAME: builds bench/sse-load, creates a log, and starts one
# nginx (contrib/nginx.conf on a loopback port) in front of one
# sselog-fcgi, all in a temporary directory removed on exit. Sets $top,
# $build, $dir, $db, $port, $fcgi (the responder's pid), $load (the load
# client). bench_counters: the responder's "statements event_queries".
# bench_rss PID: resident memory in KiB.

top=$(cd "$(dirname "$0")/.." && pwd)

bench_find_build() {
	if [ -z "${build:-}" ]; then
		for d in "$top/_build" "$top"; do
			[ -x "$d/sselog-fcgi" ] && build=$d && break
		done
	fi
	[ -x "${build:-}/sselog-fcgi" ] || {
		echo "$bench_name: build sselog first (make), or give --build DIR" >&2
		exit 1
	}
	build=$(cd "$build" && pwd)
}

bench_cleanup() {
	for p in $bench_pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.3
	rm -rf "$dir"
}

bench_start() {
	bench_name=$1
	bench_pids=
	bench_find_build
	command -v nginx >/dev/null || {
		echo "$bench_name: needs nginx (apt-get install nginx-light)" >&2
		exit 1
	}
	dir=$(mktemp -d "/tmp/sselog-$bench_name.XXXXXX")
	chmod 755 "$dir"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM

	load=$dir/sse-load
	cc -O2 -o "$load" "$top/bench/sse-load.c"
	db=$dir/events.db
	"$build/sselog" -d "$db" init
	chmod 666 "$db"

	port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
	sed -e "s|unix:/run/sselog/fcgi.sock|unix:$dir/fcgi.sock|" \
	    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
	    "$top/contrib/nginx.conf" > "$dir/sselog.conf"
	# A proxied stream holds two nginx connections: the browser's and
	# the FastCGI one. 20,000 descriptors is this machine's hard limit.
	cat > "$dir/nginx.conf" <<NGINX
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
NGINX
	"$build/sselog-fcgi" -d "$db" --listen "unix:$dir/fcgi.sock" \
	    --prefix /events/ 2>"$dir/fcgi.log" &
	fcgi=$!
	bench_pids="$bench_pids $fcgi"
	nginx -c "$dir/nginx.conf" 2>"$dir/nginx.out" &
	bench_pids="$bench_pids $!"
	for _ in $(seq 50); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" &&
		    return 0
		sleep 0.1
	done
	cat "$dir/nginx.out" >&2
	echo "$bench_name: nginx did not start" >&2
	exit 1
}

bench_counters() {
	n=$(grep -c 'stats:' "$dir/fcgi.log" || true)
	kill -USR1 "$fcgi"
	while [ "$(grep -c 'stats:' "$dir/fcgi.log" || true)" -le "$n" ]; do
		sleep 0.05
	done
	grep 'stats:' "$dir/fcgi.log" | tail -n 1 |
	    sed 's/.* \([0-9]*\) SQL statements of which \([0-9]*\) read events.*/\1 \2/'
}

bench_rss() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status"
}

bench_machine() {
	echo "$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r), $(date -u +%Y-%m-%d)"
}

# bench_write_docs NAME FILE: replaces the section between NAME's markers
# in docs/performance.md with FILE, or appends it.
bench_write_docs() {
	doc=$top/docs/performance.md
	begin="<!-- bench/$1 begin -->"
	end="<!-- bench/$1 end -->"
	{ echo "$begin"; cat "$2"; echo "$end"; } > "$dir/section"
	if grep -qF "$begin" "$doc"; then
		awk -v f="$dir/section" -v b="$begin" -v e="$end" '
		    $0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
		    $0 == e { skip = 0; next }
		    !skip { print }' "$doc" > "$dir/doc" && cat "$dir/doc" > "$doc"
	else
		{ echo; cat "$dir/section"; } >> "$doc"
	fi
}
