#!/bin/sh
# Publishing over HTTP through nginx: single POSTs per second to
# sselog-fcgi --publish (a token in Authorization: Bearer) against POSTs to
# nchan's publisher, on the same nginx in one run, from 1 and from 4
# kept-alive connections (bench/sse-pub); and the lines per second of one
# `curl -T FILE URL?lines` upload of a build log.
#
# usage: bench/publish.sh [--build DIR] [--seconds N] [--lines N]
#            [--write-docs]
set -eu

build=
seconds=10
nlines=1000000
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	--lines) nlines=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/publish.sh [--build DIR] [--seconds N] [--lines N] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
. "$(dirname "$0")/lib.sh"
bench_setup publish
bench_build_pub
nchan_so=/usr/lib/nginx/modules/ngx_nchan_module.so
[ -f "$nchan_so" ] || {
	echo "publish: $nchan_so is missing (apt-get install libnginx-mod-nchan)" >&2
	exit 1
}

cp "$top/tests/keys/hs256.secret" "$dir/"
bench_responder --publish --jwt-key "HS256:$dir/hs256.secret"
token=$("$build/sselog" token --key "$dir/hs256.secret" --alg HS256 \
    --publish 'build/**')

# nginx: contrib/nginx.conf with its publishing location, and nchan's
# publisher, as bench/compare.sh has it.
bench_sselog_conf
sed -i '/^#location \/events\/build\/ {/,/^#}/s/^#//' "$dir/sselog.conf"
port=$(bench_free_port)
cat >"$dir/nginx.conf" <<NGINX
load_module $nchan_so;
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp-body;
    fastcgi_temp_path $dir/tmp-fastcgi;
    proxy_temp_path $dir/tmp-proxy;
    nchan_shared_memory_size 256M;
    server {
        listen 127.0.0.1:$port;
        include $dir/sselog.conf;
        location ~ ^/nchan/pub/(.+)\$ {
            nchan_publisher;
            nchan_channel_id \$1;
            nchan_message_buffer_length 1000;
        }
    }
}
NGINX
nginx -c "$dir/nginx.conf" 2>"$dir/nginx.out" &
nginx_pid=$!
bench_pids="$bench_pids $nginx_pid"
bench_wait_nginx

# posts WHO CONNECTIONS PATH [HEADER]: POSTs per second, all connections.
posts() {
	t_who=$1 t_n=$2 t_path=$3
	shift 3
	i=0
	while [ "$i" -lt "$t_n" ]; do
		i=$((i + 1))
		if [ $# -gt 0 ]; then
			"$pub" --http "127.0.0.1:$port" --path "$t_path$i" \
			    --count 100000000 --duration "$seconds" \
			    --header "$1" >"$dir/$t_who.$i" &
		else
			"$pub" --http "127.0.0.1:$port" --path "$t_path$i" \
			    --count 100000000 --duration "$seconds" \
			    >"$dir/$t_who.$i" &
		fi
	done
	wait
	# published=N calls=N secs=S ...: all the POSTs over the longest.
	cat "$dir/$t_who".* | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n += v["published"]; if (v["secs"] > s) s = v["secs"]
	    } END { printf "%.0f\n", (s > 0 ? n / s : 0) }'
	rm -f "$dir/$t_who".*
}
# One row of the table per number of connections.
: >"$dir/posts.md"
for conns in 1 4 16 64; do
	s=$(posts "s$conns" "$conns" "/events/build/post$conns-" \
	    "Authorization: Bearer $token")
	n=$(posts "n$conns" "$conns" "/nchan/pub/post$conns-")
	echo "| $conns | $s | $n | $(awk -v a="$s" -v b="$n" \
	    'BEGIN { printf "%.2f", a / b }') |" >>"$dir/posts.md"
done

# One upload of a build log, from a file (Content-Length) and from a
# pipe (chunked, as `make | curl -T -` sends it).
awk -v n="$nlines" 'BEGIN { for (i = 1; i <= n; i++)
    printf "cc -c -O2 -Wall src/module%06d.c -o build/module%06d.o\n", i, i }' \
    >"$dir/build.log"
upload() {	# STREAM MODE
	t0=$(date +%s%N)
	if [ "$2" = file ]; then
		curl -sS -o "$dir/answer" -H "Authorization: Bearer $token" \
		    -T "$dir/build.log" "http://127.0.0.1:$port/events/build/$1?lines"
	else
		curl -sS -o "$dir/answer" -H "Authorization: Bearer $token" \
		    -T - "http://127.0.0.1:$port/events/build/$1?lines" <"$dir/build.log"
	fi
	t1=$(date +%s%N)
	set -- $(cat "$dir/answer")
	got=$(($2 - $1 + 1))
	[ "$got" -eq "$nlines" ] || {
		echo "publish: the upload appended $got lines of $nlines" >&2
		exit 1
	}
	awk -v n="$nlines" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }'
}
lf=$(upload lines-file file)
lp=$(upload lines-pipe pipe)
cpu=$(bench_cpu "$fcgi")

{
	echo "### Publishing over HTTP (\`bench/publish.sh\`)"
	echo
	echo "$(bench_machine). nginx (2 workers) in front of one"
	echo "\`sselog-fcgi --publish\` (an HS256 token in \`Authorization: Bearer\`;"
	echo "the log in WAL mode, \`synchronous = FULL\`: an event is on disk"
	echo "before its answer; the POSTs whose bodies arrive together share one"
	echo "commit) and of nchan's publisher (in memory), in one run; POSTs for"
	echo "$seconds s each, one \`bench/sse-pub\` per connection, each POST waiting"
	echo "for the last."
	echo
	echo "| connections | sselog POSTs/s | nchan POSTs/s | ratio |"
	echo "|---|---|---|---|"
	cat "$dir/posts.md"
	echo
	echo "One upload of a $nlines-line build log to \`?lines\` with curl:"
	echo
	echo "| body | lines/s |"
	echo "|---|---|"
	echo "| from a file (Content-Length) | $lf |"
	echo "| from a pipe (chunked, as \`make \| curl -T -\`) | $lp |"
	echo
	echo "The responder used $cpu s of CPU for all of it."
} >"$dir/section.md"
cat "$dir/section.md"
[ "$write_docs" = no ] || bench_write_docs publish "$dir/section.md"
