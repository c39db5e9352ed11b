# tests/browser/lib.sh: a real EventSource in headless Chromium, for shell
# tests on top of tests/integration/lib.sh (tests/browser/eventsource.sh,
# tests/faults/restarts.sh).
#
# tests/browser/drive.mjs opens tests/browser/eventsource.html (or
# credentials.html), served by the test's web server from $WWW, and
# mirrors what the page records into files below $B_OUT, which the
# functions here read:
#   events.log  a line per entry, tab-separated: MS KIND READYSTATE, and
#               for KIND event LAST_EVENT_ID TYPE DATA_AS_JSON; then the
#               page's own fields, NAME=VALUE
#   state       "READYSTATE ENTRIES"
#   net.log     the page's requests and errors, for diagnosis
#
#   browser_need [HINT]   bail unless node, Chromium ($CHROMIUM, default
#                  /usr/bin/chromium) and tests/browser/node_modules are
#                  there; HINT is added to each reason.
#   browser_start PORT QUERY [NAME=VALUE...]   copy the page into $WWW
#                  and start drive.mjs (daemon driver: $PID_driver) on
#                  http://127.0.0.1:PORT/eventsource.html?QUERY, with the
#                  environment given (DRIVE_MAX_SECONDS=...).
#   browser_open URL [NAME=VALUE...]   the same for any URL (another
#                  page, another host name: DRIVE_HOST_RULES=...).
#   browser_next PORT QUERY   the same page with QUERY in place of the
#                  one open, in the same Chromium (a start costs seconds
#                  of CPU); returns once it loaded.
#   browser_opened SECONDS   wait until the page's EventSource opened;
#                  fails when it did not, or drive.mjs ended.
#   b_count KIND   how many entries of KIND (open, error, event) so far;
#                  b_at_least KIND N.
#   b_ready_state  the EventSource's readyState; b_state_is N.
#   b_events       the events received: LAST_EVENT_ID TYPE DATA_AS_JSON.
#   b_no_page_error DESC   the check that the page had no script error.
#   browser_stop   the check that drive.mjs, sent SIGTERM, closes Chromium
#                  and exits 0.

B_DIR=$SRCDIR/tests/browser
B_OUT=$T_WORK/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

browser_need() {
	command -v node >/dev/null 2>&1 ||
		bail "node is not installed (Node.js 20 or later)${1:-}"
	[ -x "$CHROMIUM" ] ||
		bail "$CHROMIUM is not installed (run build-aux/deps test)${1:-}"
	[ -f "$B_DIR/node_modules/playwright-core/package.json" ] ||
		bail "playwright-core is missing: run build-aux/deps test (npm ci in tests/browser)${1:-}"
}

browser_start() {
	t_port=$1 t_query=$2
	shift 2
	browser_open "http://127.0.0.1:$t_port/eventsource.html?$t_query" "$@"
}

browser_open() {
	t_url=$1
	shift
	mkdir -p "$B_OUT" "$T_WORK/tmp" "$T_WORK/home" ||
		bail "cannot make directories"
	: >"$B_OUT/events.log"
	if ! cp "$B_DIR/eventsource.html" "$B_DIR/credentials.html" "$WWW/" ||
	    ! chmod 644 "$WWW/eventsource.html" "$WWW/credentials.html"; then
		bail "cannot copy the pages"
	fi
	# Chromium's profile goes below $T_WORK/tmp (which also lets lib.sh
	# find and stop a stray browser); its home is there too.
	start_daemon driver env TMPDIR="$T_WORK/tmp" HOME="$T_WORK/home" \
	    XDG_CONFIG_HOME="$T_WORK/home/.config" \
	    XDG_CACHE_HOME="$T_WORK/home/.cache" CHROMIUM="$CHROMIUM" \
	    FORCE_COLOR=0 "$@" node "$B_DIR/drive.mjs" "$t_url" "$B_OUT"
}

browser_next() {
	if ! printf '%s\n' "http://127.0.0.1:$1/eventsource.html?$2" \
	    >"$B_OUT/next.tmp" || ! mv "$B_OUT/next.tmp" "$B_OUT/next"; then
		bail "cannot write $B_OUT/next"
	fi
	if ! wait_until 30 t_next_or_gone || [ -e "$B_OUT/next" ]; then
		bail "drive.mjs did not load the next page"
	fi
}

t_next_or_gone() {
	# shellcheck disable=SC2154 # start_daemon sets PID_driver
	[ ! -e "$B_OUT/next" ] || t_gone "$PID_driver"
}

# Tests poll it: one process, awk, not a cat for it too.
b_count() {
	[ -f "$B_OUT/events.log" ] || { echo 0; return; }
	awk -F '\t' -v k="$1" '$2 == k { n++ } END { print n + 0 }' \
	    "$B_OUT/events.log"
}

b_at_least() {	# KIND N
	[ "$(b_count "$1")" -ge "$2" ]
}

# shellcheck disable=SC2154 # start_daemon sets PID_driver
t_opened_or_gone() {
	b_at_least open 1 || t_gone "$PID_driver"
}

browser_opened() {
	wait_until "$1" t_opened_or_gone && b_at_least open 1
}

b_ready_state() {
	cut -d ' ' -f 1 "$B_OUT/state" 2>/dev/null
}

b_state_is() {
	[ "$(b_ready_state)" = "$1" ]
}

b_events() {
	awk -F '\t' '$2 == "event" { print $4 "\t" $5 "\t" $6 }' \
	    "$B_OUT/events.log"
}

b_no_page_error() {
	is "$1" "$(grep -c '	pageerror	' "$B_OUT/net.log")" 0
}

browser_stop() {
	kill -TERM "$PID_driver"
	if wait_until 20 t_gone "$PID_driver"; then
		wait "$PID_driver"
		is "drive.mjs closes Chromium and exits 0" "$?" 0
	else
		not_ok "drive.mjs closes Chromium and exits 0" \
		    "still running after 20 s"
	fi
}
