# Shared by the benchmarks that need a web server: sourced, not run.
#
# bench_start NAME [WORKERS]: bench_setup NAME, then one nginx
# (contrib/nginx.conf on a loopback port; WORKERS worker processes,
# default 1) in front of one sselog-fcgi. Sets $port and $fcgi (the
# responder's pid) besides what bench_setup sets.
#
# bench_responder [ARG...]: one sselog-fcgi on $dir/fcgi.sock (the
# socket bench_sselog_conf points nginx at), with ARGs added; sets $fcgi,
# returns once it listens. bench_nginx [WORKERS]: nginx in front of it;
# sets $port and $nginx_pid. bench_stop PID...: SIGTERM, then waits (at
# most 10 s, then SIGKILL).
# bench_start_nginx: only the nginx of bench_start (after bench_setup),
# for a benchmark that starts its responders itself, on $dir/fcgi.sock.
# Sets $port.
#
# bench_setup NAME: finds the build, makes a temporary directory (removed
# on exit) with a fresh log (unless $db names one already: a
# postgresql:// URI, which is given sselog init), builds bench/sse-load (and, when NAME needs
# it, bench_build_pub builds bench/sse-pub; both with bench/bench.c). Sets
# $top, $build, $dir, $db, $load.
#
# Helpers: bench_sselog_conf (contrib/nginx.conf, pointed at $dir),
# bench_free_port, bench_wait_socket, bench_counters (the responder's "statements
# event_queries"), bench_rss PID and bench_hwm PID (VmRSS and VmHWM, KiB),
# bench_mem PID... ("RSS PSS" in KiB, summed), bench_cpu PID... (CPU
# seconds, summed), bench_children PID, bench_alive PID, bench_machine,
# bench_kv KEY LINE, bench_median FILE MODE FIELD DECIMALS,
# bench_write_docs NAME FILE.
#
# bench_options NAME OPT... -- ARG...: the command line ARGs of
# bench/NAME.sh, where --OPT VALUE sets $OPT for each OPT named and
# --write-docs sets write_docs=yes; anything else calls the script's
# usage. Sets $command_line, the run as given, every value in it ($build
# only when set), for the figures' caption.

top=$(cd "$(dirname "$0")/.." && pwd)

bench_options() {
	bo_name=$1 bo_opts=
	shift
	while [ "$1" != -- ]; do
		bo_opts="$bo_opts $1"
		shift
	done
	shift
	while [ $# -gt 0 ]; do
		bo_var=
		for bo_o in $bo_opts; do
			[ "$1" = "--$bo_o" ] && bo_var=$bo_o
		done
		if [ "$1" = --write-docs ]; then
			# shellcheck disable=SC2034 # the script's
			write_docs=yes
		elif [ -n "$bo_var" ] && [ $# -ge 2 ]; then
			eval "$bo_var=\$2"
			shift
		else
			usage
		fi
		shift
	done
	# shellcheck disable=SC2034 # the script's
	command_line="bench/$bo_name.sh"
	for bo_o in $bo_opts; do
		[ "$bo_o" = build ] && [ -z "${build:-}" ] && continue
		eval "command_line=\"\$command_line --$bo_o \$$bo_o\""
	done
	return 0
}

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

bench_setup() {
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
	cc -O2 -o "$load" "$top/bench/sse-load.c" "$top/bench/bench.c"
	[ -n "${db:-}" ] || db=$dir/events.db
	"$build/sselog" -d "$db" init
	[ ! -f "$db" ] || chmod 666 "$db"
}

# bench/sse-pub, which links SQLite (pkg-config sqlite3).
bench_build_pub() {
	pub=$dir/sse-pub
	# shellcheck disable=SC2046
	cc -O2 -o "$pub" "$top/bench/sse-pub.c" "$top/bench/bench.c" \
	    $(pkg-config --cflags --libs sqlite3)
}

# A loopback TCP port that no socket uses, below the ephemeral ports
# (32768 and up on Linux), which outgoing connections take at any time.
bench_free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . || {
			echo "$p"
			return 0
		}
		sleep 1
	done
}

# $dir/sselog.conf: contrib/nginx.conf (its template, which differs only
# in a comment) with the socket in $dir.
bench_sselog_conf() {
	sed -e "s|unix:/run/sselog/fcgi.sock|unix:$dir/fcgi.sock|" \
	    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
	    "$top/contrib/nginx.conf.in" > "$dir/sselog.conf"
}

# Waits until nginx answers on $port; exits when it does not start.
bench_wait_nginx() {
	for _ in $(seq 50); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" &&
		    return 0
		sleep 0.1
	done
	cat "$dir/nginx.out" >&2
	echo "$bench_name: nginx did not start" >&2
	exit 1
}

# Waits until the responder's socket is there; exits when it does not come.
bench_wait_socket() {
	for _ in $(seq 100); do
		[ -S "$dir/fcgi.sock" ] && return 0
		sleep 0.05
	done
	echo "$bench_name: the responder did not start: $(cat "$dir/fcgi.log")" >&2
	exit 1
}

bench_start_nginx() {
	port=$(bench_free_port)
	bench_sselog_conf
	bench_nginx 1
}

bench_responder() {
	rm -f "$dir/fcgi.sock"
	"$build/sselog-fcgi" -d "$db" --listen "unix:$dir/fcgi.sock" \
	    --prefix /events/ "$@" 2>>"$dir/fcgi.log" &
	fcgi=$!
	bench_pids="$bench_pids $fcgi"
	for _ in $(seq 100); do
		[ -S "$dir/fcgi.sock" ] && return 0
		kill -0 "$fcgi" 2>/dev/null || break
		sleep 0.05
	done
	cat "$dir/fcgi.log" >&2
	echo "$bench_name: sselog-fcgi did not start" >&2
	exit 1
}

bench_nginx() {
	[ -n "${port:-}" ] || port=$(bench_free_port)
	[ -f "$dir/sselog.conf" ] || bench_sselog_conf
	# A proxied stream holds two nginx connections: the browser's and
	# the FastCGI one. 20,000 descriptors is this machine's hard limit.
	cat > "$dir/nginx.conf" <<NGINX
worker_processes ${1:-1};
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
	nginx -c "$dir/nginx.conf" 2>"$dir/nginx.out" &
	nginx_pid=$!
	bench_pids="$bench_pids $nginx_pid"
	bench_wait_nginx
}

bench_start() {
	bench_setup "$1"
	port=$(bench_free_port)
	bench_sselog_conf
	bench_responder
	bench_nginx "${2:-1}"
}

bench_stop() {
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do
		n=0
		while bench_alive "$p" && [ $n -lt 100 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		bench_alive "$p" && kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
		# Gone: its number may be another process's from now on.
		bench_pids=$(echo "$bench_pids" | tr ' ' '\n' |
		    grep -vx "$p" | tr '\n' ' ')
	done
}

# Running: not gone, and not a child that exited but was not waited for.
bench_alive() {
	[ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c 1)" != Z ]
}

bench_counters() {
	n=$(grep -c 'stats:' "$dir/fcgi.log" || true)
	kill -USR1 "$fcgi"
	w=0
	while [ "$(grep -c 'stats:' "$dir/fcgi.log" || true)" -le "$n" ]; do
		w=$((w + 1))
		[ $w -lt 400 ] || {
			echo "$bench_name: the responder did not log its counters" >&2
			exit 1
		}
		sleep 0.05
	done
	grep 'stats:' "$dir/fcgi.log" | tail -n 1 |
	    sed 's/.* \([0-9]*\) SQL statements of which \([0-9]*\) read events.*/\1 \2/'
}

bench_rss() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status"
}

# The most resident memory the process has had (KiB).
bench_hwm() {
	awk '/^VmHWM/ { print $2 }' "/proc/$1/status"
}

# "RSS PSS" in KiB, summed over the processes named.
bench_mem() {
	for p in "$@"; do
		cat "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk '$1 == "Rss:" { r += $2 } $1 == "Pss:" { s += $2 }
	    END { printf "%d %d\n", r, s }'
}

# CPU seconds (user and system) used so far, summed over the processes.
bench_cpu() {
	tck=$(getconf CLK_TCK)
	for p in "$@"; do
		# Fields after the command name, which may hold spaces.
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk -v t="$tck" '{ s += $12 + $13 } END { printf "%.2f\n", s / t }'
}

# The processes whose parent is PID (nginx's workers).
bench_children() {
	pgrep -P "$1" || true
}

bench_machine() {
	echo "$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r), $(date -u +%Y-%m-%d)"
}

# bench_kv KEY LINE: the value of KEY=... in a summary line of
# bench/sse-load or bench/sse-pub.
# In the shell alone: the benchmarks read a few hundred figures this way,
# and a tr, a sed and a head for each took seconds of CPU.
bench_kv() {
	bk_l=" $2"
	case $bk_l in
	*" $1="*) bk_l=${bk_l#*" $1="} ;;
	*"
$1="*) bk_l=${bk_l#*"
$1="} ;;
	*) return 0 ;;
	esac
	printf '%s\n' "${bk_l%%[ 
]*}"
}

# bench_median FILE MODE FIELD DECIMALS: the median of field FIELD over
# the lines of FILE whose second field is MODE ("-" when none); the mean
# of the middle two, with DECIMALS decimals, for an even number.
bench_median() {
	awk -v m="$2" -v f="$3" '$2 == m { print $f }' "$1" | sort -n |
	    awk -v d="$4" '{ a[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print a[(NR + 1) / 2]
		else printf "%.*f\n", d, (a[NR / 2] + a[NR / 2 + 1]) / 2
	    }'
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
