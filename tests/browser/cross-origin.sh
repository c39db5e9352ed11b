#!/bin/sh
# A private build log on another origin, in headless Chromium, as the
# README shows it: the application (http://app.sselog.test:PORT_A, an
# nginx server with the page) sets the cookie sselog_token, holding a
# token for build/42, on the domain both origins share; the page follows
# new EventSource(B + "/events/build/42?lastEventId=0",
# { withCredentials: true }) on the events' origin
# (http://events.sselog.test:PORT_B: nginx with contrib/nginx.conf and its
# publishing location, sselog-fcgi --publish --jwt-key --cors-origin A).
# A second EventSource, for build/43, gets 403 and stops for good (one
# request, no reconnect), and the page learns why with fetch; a CI job
# streams its log into build/42 with one `curl -T -` and the page shows
# it live (each line within 100 ms of its being written); an expired token and no cookie at all get 401, which
# also stops EventSource for good.
# (Chromium maps *.sselog.test to 127.0.0.1: DRIVE_HOST_RULES.)
#
# Needs what `build-aux/deps test` installs: nginx, chromium, Node.js 20
# and tests/browser/node_modules (npm ci).

# Several functions below are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"

command -v nginx >/dev/null 2>&1 || bail "nginx is not installed (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
browser_need

PORT_A=$(free_port)
PORT_B=$(free_port)
[ "$PORT_A" != "$PORT_B" ] || PORT_B=$(free_port)
A=http://app.sselog.test:$PORT_A
B=http://events.sselog.test:$PORT_B
B_LOOP=http://127.0.0.1:$PORT_B		# the same server, for curl
HOSTS="MAP *.sselog.test 127.0.0.1"
EV=$B_OUT/events.log
ACCESS=$RUNDIR/events-access.log
LINES=20		# the CI job's lines, ...
PAUSE=0.2		# ... written this far apart (seconds)
# Every line is on the page within this long of its being written. A line
# that waits for a CPU while other tests run beside this one can take
# longer: tests/run-all runs this test alone ($(solo_tests) in
# Makefile.am). The TAP line gives the median, p95 and the largest.
LIMIT_MS=100

if ! cp "$SRCDIR/tests/keys/hs256.secret" "$RUNDIR/hs256.secret" ||
    ! chmod 644 "$RUNDIR/hs256.secret"; then
	bail "cannot copy the key"
fi
token() {	# sselog token ARGS...
	"$SSELOG" token --key "$RUNDIR/hs256.secret" --alg HS256 "$@" ||
		bail "sselog token $* failed"
}
READ=$(token --sub alice --subscribe build/42 --ttl 1h)
EXPIRED=$(token --sub alice --subscribe build/42 --ttl 1s)
EXPIRED_AT=$(($(t_now_ms) + 1000))
PUBLISH=$(token --sub ci --publish 'build/**' --ttl 1h)

# ---- the events' origin (B) and the application's (A) ----

# shellcheck disable=SC2086 # $AS_WWW is words
start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
    --listen "unix:$SOCK" --prefix /events/ --retry 500 --heartbeat 3 \
    --publish --jwt-key "HS256:$RUNDIR/hs256.secret" --cors-origin "$A"
wait_listening responder
# B: contrib/nginx.conf with its publishing location uncommented (the
# body of `curl -T -` passes on unbuffered), and an access log of its
# own that tells EventSource's requests (Accept: text/event-stream) from
# the page's fetch.
template nginx.conf "$RUNDIR/events.conf" \
    -e '/^#location \/events\/build\/ {/,/^#}/s/^#//'
grep -q '^location /events/build/ {' "$RUNDIR/events.conf" ||
	bail "no commented publishing location in contrib/nginx.conf"
echo "access_log $ACCESS bsse;" >>"$RUNDIR/events.conf"
# A: the page, and the application's sign-in, which sets the cookie on
# the domain A and B share (Path and SameSite as the README has them;
# not Secure: this is plain HTTP). /login-expired hands out a token that
# has expired by the time the page uses it.
cookie() {	# TOKEN
	printf '"sselog_token=%s; Domain=sselog.test; Path=/events/; HttpOnly; SameSite=Strict"' "$1"
}
nginx_conf "$PORT_B" "$RUNDIR/events.conf" 256 "
    log_format bsse '\$request_method \$status \$http_accept \$request_uri';
    server {
        listen 127.0.0.1:$PORT_A;
        root $WWW;
        location = /login { add_header Set-Cookie $(cookie "$READ"); return 204; }
        location = /login-expired { add_header Set-Cookie $(cookie "$EXPIRED"); return 204; }
    }"
nginx_run nginx "$PORT_B"
wait_http "$PORT_A"

# ---- what the page saw ----

# The entries of stream SRC, without their times: KIND READYSTATE and
# for events ID DATA; for the status the page found, STATUS SHOWN.
b_of() {
	awk -F '\t' -v src="src=$1" '
	{ f = 0; for (i = 4; i <= NF; i++) if ($i == src) f = 1 }
	!f { next }
	$2 == "event" { print $2 "\t" $3 "\t" $4 "\t" $6; next }
	$2 == "status" {
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^status=/) st = substr($i, 8)
			if ($i ~ /^shown=/) sh = substr($i, 7)
		}
		print $2 "\t" st "\t" sh; next
	}
	{ print $2 "\t" $3 }' "$EV" 2>/dev/null
}
b_has() {	# SRC LINE: the entries of SRC include LINE
	b_of "$1" | grep -qxF "$2"
}
# EventSource's requests to B for a URI: "STATUS" each.
es_requests() {
	awk -v u="$1" '$1 == "GET" && $3 == "text/event-stream" &&
	    $4 == u { print $2 }' "$ACCESS" 2>/dev/null
}
b_diag() {
	echo "# --- events.log (ms, kind, readyState, ...):"
	sed 's/^/#   /' "$EV" 2>/dev/null
	echo "# --- net.log:"; sed 's/^/#   /' "$B_OUT/net.log" 2>/dev/null
	echo "# --- B's access log:"; sed 's/^/#   /' "$ACCESS" 2>/dev/null
	echo "# --- drive.mjs:"; sed 's/^/#   /' "$RUNDIR/driver.log" 2>/dev/null
	echo "# --- responder:"
	tail -n 20 "$RUNDIR/responder.log" 2>/dev/null | sed 's/^/#   /'
}
# stops_for_good DESC SRC STATUS SHOWN: the EventSource of SRC stopped
# (an error with readyState 2), the page learned STATUS and showed SHOWN,
# and nothing more happens to it: one request, after the 3 s Chromium
# would wait before a reconnect.
stops_for_good() {
	t_d=$1 t_src=$2 t_st=$3 t_sh=$4
	if wait_until 15 b_has "$t_src" "$(printf 'status\t%s\t%s' "$t_st" "$t_sh")"
	then
		ok "$t_d: the page learns $t_st and shows \"$t_sh\""
	else
		not_ok "$t_d: the page learns $t_st and shows \"$t_sh\"" \
		    "entries of $t_src:" "$(b_of "$t_src")"
	fi
	sleep 3.5
	is "... its EventSource stopped for good: one error, readyState 2, never open" \
	    "$(b_of "$t_src" | grep -v '^status' | tr '\t\n' ' ')" "error 2 "
	is "... and B saw one request from it, answered $t_st" \
	    "$(es_requests "/events/$t_src?lastEventId=0" | tr '\n' ' ')" "$t_st "
}

# ---- 1. signed in: build/42 follows, build/43 is not allowed ----

h1=$(sselog publish build/42 "history")
sselog publish build/43 "not for alice" >/dev/null
browser_open "$A/credentials.html?base=$B&login=/login&streams=build/42,build/43" \
    DRIVE_HOST_RULES="$HOSTS"
if wait_until 30 b_has build/42 "$(printf 'event\t1\t%s\t"history"' "$h1")"
then
	ok "a page on $A, its cookie set by the application, follows build/42 on $B (withCredentials): the history replays"
else
	not_ok "a page on $A, its cookie set by the application, follows build/42 on $B (withCredentials): the history replays" \
	    "entries of build/42:" "$(b_of build/42)"
	b_diag
	bail "no stream in the browser, nothing more to test"
fi
stops_for_good "build/43, which the token does not grant: 403" build/43 403 \
    "not allowed"

# ---- 2. a CI job streams its log into build/42 with one curl -T - ----

# Each line carries the time it is written (ms since the epoch); the page
# records when it receives it (performance.timeOrigin + performance.now(),
# the same clock).
load1() { cut -d ' ' -f 1 /proc/loadavg; }
load_before=$(load1)
i=1
{
	while [ "$i" -le "$LINES" ]; do
		printf 'line %02d %s\n' "$i" "$(date +%s%3N)"
		sleep "$PAUSE"
		i=$((i + 1))
	done
} | curl -sS --max-time 60 -T - -H "Authorization: Bearer $PUBLISH" \
    -o "$T_WORK/up.b" -w '%{http_code}' "$B_LOOP/events/build/42?lines" \
    >"$T_WORK/up.code" 2>"$T_WORK/up.err"
is "the upload of $LINES lines, $PAUSE s apart, ends with 201" \
    "$(cat "$T_WORK/up.code")" 201
wait_until 5 b_at_least event $((LINES + 1))
# LINE WRITTEN RECEIVED, in the order the page received them.
awk -F '\t' '$2 == "event" && $6 ~ /^"line / {
	split(substr($6, 2, length($6) - 2), w, " ")
	for (i = 7; i <= NF; i++) if ($i ~ /^wall=/) r = substr($i, 6)
	print w[2], w[3], r
}' "$EV" >"$T_WORK/latency"
seq -f 'line %02g' 1 "$LINES" >"$T_WORK/lines.expected"
awk '{ print "line", $1 }' "$T_WORK/latency" >"$T_WORK/lines.got"
if cmp -s "$T_WORK/lines.expected" "$T_WORK/lines.got"; then
	ok "the page receives every line of the upload, once, in order"
else
	not_ok "the page receives every line of the upload, once, in order" \
	    "diff expected got:" \
	    "$(diff "$T_WORK/lines.expected" "$T_WORK/lines.got")"
fi
# The delays, sorted: median, p95, the largest.
awk '{ printf "%.1f\n", $3 - $2 }' "$T_WORK/latency" | sort -n \
    >"$T_WORK/delays"
n=$(wc -l <"$T_WORK/delays")
med=$(sed -n "$(((n + 1) / 2))p" "$T_WORK/delays")
p95=$(sed -n "$(((n * 95 + 99) / 100))p" "$T_WORK/delays")
max=$(sed -n '$p' "$T_WORK/delays")
load=$(printf '%s\n%s\n' "$load_before" "$(load1)" | sort -n | tail -n 1)
cpus=$(nproc)
echo "# from written to shown on the page, ms: median $med, p95 $p95, max $max ($n lines; load $load on $cpus CPUs)"
within() {	# MS: every delay is within MS
	awk -v l="$1" '$1 > l { bad = 1 } END { exit bad }' "$T_WORK/delays"
}
if [ "$n" -eq "$LINES" ] && within "$LIMIT_MS"; then
	ok "... live: each line within $LIMIT_MS ms of its being written: median $med, p95 $p95, max $max ms (load $load on $cpus CPUs)"
else
	not_ok "... live: each line within $LIMIT_MS ms of its being written: median $med, p95 $p95, max $max ms (load $load on $cpus CPUs)" \
	    "line written received (ms since the epoch):" \
	    "$(cat "$T_WORK/latency")"
fi
is "... on the one connection (one open, no error)" \
    "$(b_of build/42 | grep -c '^open') $(b_of build/42 | grep -c '^error')" "1 0"
is "... and build/43 stays stopped: one request in all" \
    "$(es_requests /events/build/43?lastEventId=0 | tr '\n' ' ')" "403 "
b_no_page_error "the page reported no script error"
browser_stop

# ---- 3. an expired token, no cookie at all: 401 ----

wait_until 5 test "$(t_now_ms)" -gt $((EXPIRED_AT + 1500))
: >"$ACCESS"	# nginx appends: what follows is this page's alone
browser_open "$A/credentials.html?base=$B&login=/login-expired&streams=build/42" \
    DRIVE_HOST_RULES="$HOSTS"
stops_for_good "a cookie whose token has expired: 401" build/42 401 \
    "sign-in needed"
b_no_page_error "the page reported no script error"
browser_stop

: >"$ACCESS"
browser_open "$A/credentials.html?base=$B&streams=build/42" \
    DRIVE_HOST_RULES="$HOSTS"
stops_for_good "no cookie: 401" build/42 401 "sign-in needed"
b_no_page_error "the page reported no script error"
browser_stop

no_leftovers
[ "$T_FAILED" -eq 0 ] || b_diag
done_testing
