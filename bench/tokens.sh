#!/bin/sh
# What access control with tokens costs: one verification per algorithm
# and one decision for a token the responder remembers, against one for
# no token (bench/token-verify.c, the responder's own code), and N streams
# opened through nginx with a token (Authorization: Bearer, HS256 and
# ES256; the same token for all, as clients reconnecting after a restart
# bring it) against N without, in one run: the time until all are
# connected and the responder's CPU time for it.
#
# usage: bench/tokens.sh [--build DIR] [--streams N] [--write-docs]
set -eu

build=
streams=10000
write_docs=no
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--streams) streams=$2; shift ;;
	--write-docs) write_docs=yes ;;
	*) echo "usage: bench/tokens.sh [--build DIR] [--streams N] [--write-docs]" >&2; exit 2 ;;
	esac
	shift
done
. "$(dirname "$0")/lib.sh"
bench_setup tokens
keys=$top/tests/keys

# ---- one verification ----
# shellcheck disable=SC2046 # pkg-config prints several words
cc -O2 -I"$top/src" -o "$dir/token-verify" "$top/bench/token-verify.c" \
    "$build/libsselog.a" $(pkg-config --libs libjwt jansson)
"$dir/token-verify" "$keys" 5000 >"$dir/verify.out"
us() { sed -n "s/^$1 .*us_per_verify=\\([0-9.]*\\).*/\\1/p" "$dir/verify.out"; }
cached() { sed -n "s/^$1 .*us_per_cached=\\([0-9.]*\\).*/\\1/p" "$dir/verify.out"; }
no_token=$(sed -n 's/^none us_per_decide=\([0-9.]*\).*/\1/p' "$dir/verify.out")

# ---- N streams with and without a token ----
# Two nginx workers: a stream holds two of their descriptors, and each
# may have 20,000.
bench_start_nginx_workers() {
	port=$(bench_free_port)
	bench_sselog_conf
	bench_nginx 2
}
bench_start_nginx_workers
cp "$keys/hs256.secret" "$keys/es256-public.pem" "$dir/"

# run_streams NAME [HEADER]: N streams on a fresh responder; prints
# "connect_s cpu_s".
run_streams() {
	t_name=$1
	shift
	"$build/sselog" -d "$db" publish bench/tokens "$t_name" >/dev/null
	cpu0=$(bench_cpu "$fcgi")
	if [ $# -gt 0 ]; then
		"$load" --port "$port" --path /events/bench/tokens \
		    --connections "$streams" --procs 2 --expect 0 --timeout 60 \
		    --header "$1" >"$dir/$t_name.out" 2>&1 || true
	else
		"$load" --port "$port" --path /events/bench/tokens \
		    --connections "$streams" --procs 2 --expect 0 --timeout 60 \
		    >"$dir/$t_name.out" 2>&1 || true
	fi
	cpu1=$(bench_cpu "$fcgi")
	awk -v c0="$cpu0" -v c1="$cpu1" '
	    /^connections=/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%.2f %.2f %d\n", (v["connected_ns"] - v["start_ns"]) / 1e9,
		    c1 - c0, v["failed"]
	    }' "$dir/$t_name.out"
}

bench_responder --max-clients 30000
plain=$(run_streams plain)
bench_stop "$fcgi"
bench_responder --max-clients 30000 --jwt-key "HS256:$dir/hs256.secret" \
    --jwt-key "ES256:$dir/es256-public.pem"
hs=$("$build/sselog" token --key "$keys/hs256.secret" --alg HS256 --subscribe 'bench/**')
es=$("$build/sselog" token --key "$keys/es256-private.pem" --alg ES256 --subscribe 'bench/**')
with_hs=$(run_streams hs256 "Authorization: Bearer $hs")
with_es=$(run_streams es256 "Authorization: Bearer $es")
bench_stop "$fcgi"

set -- $plain; p_conn=$1 p_cpu=$2 p_fail=$3
set -- $with_hs; h_conn=$1 h_cpu=$2 h_fail=$3
set -- $with_es; e_conn=$1 e_cpu=$2 e_fail=$3
extra() {	# CPU_WITH: extra responder CPU per stream, in us
	awk -v a="$1" -v b="$p_cpu" -v n="$streams" 'BEGIN { printf "%.0f", (a - b) * 1e6 / n }'
}

{
	echo "### Tokens (\`bench/tokens.sh\`)"
	echo
	echo "$(bench_machine). One verification, as the responder does it for"
	echo "a token it has not seen (\`bench/token-verify.c\` over \`src/token.c\`:"
	echo "the header read, libjwt with the key of its algorithm, the claims),"
	echo "and one whole decision (\`auth_decide()\`) for a token it verified"
	echo "before and remembers; a decision without a token (the rules let"
	echo "anonymous read) costs $no_token µs:"
	echo
	echo "| algorithm | µs per verification | µs per decision, token remembered |"
	echo "|---|---|---|"
	echo "| HS256 | $(us HS256) | $(cached HS256) |"
	echo "| RS256 | $(us RS256) | $(cached RS256) |"
	echo "| ES256 | $(us ES256) | $(cached ES256) |"
	echo
	echo "$streams streams opened through nginx (2 workers) on one responder,"
	echo "without a token (no access control), then with one in"
	echo "\`Authorization: Bearer\`, the same token for every stream: it is"
	echo "verified once and then remembered:"
	echo
	echo "| | connected in (s) | responder CPU (s) | extra CPU per stream (µs) | failed |"
	echo "|---|---|---|---|---|"
	echo "| no token | $p_conn | $p_cpu | — | $p_fail |"
	echo "| HS256 token, repeated | $h_conn | $h_cpu | $(extra "$h_cpu") | $h_fail |"
	echo "| ES256 token, repeated | $e_conn | $e_cpu | $(extra "$e_cpu") | $e_fail |"
	echo
	echo "libjwt 1.10 reads the PEM key again for every verification, which is"
	echo "most of what RS256 and ES256 cost the first time a token comes; a"
	echo "token that comes back costs a SipHash of its bytes, a comparison"
	echo "and the grants checked, the same for every algorithm, and is lost"
	echo "in the noise of opening a stream. A stream whose token was never"
	echo "seen costs its verification on top of a stream without a token."
} >"$dir/section.md"
cat "$dir/section.md"
[ "$write_docs" = no ] || bench_write_docs tokens "$dir/section.md"
