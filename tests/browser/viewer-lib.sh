# tests/browser/viewer-lib.sh: the log viewer (www/viewer.html) in
# headless Chromium, for tests/browser/viewer-*.sh, sourced after
# tests/integration/lib.sh and tests/browser/lib.sh.
#
# The web server serves the page as the contrib/ configs say
# (/sselog/viewer.html from the installed www/: here a copy in
# $RUNDIR/www, which template() points @pkgdatadir@/www at).
# tests/browser/viewer-drive.mjs keeps the page open and does what the
# functions here ask, one command at a time.
#
#   viewer_open URL [NAME=VALUE...]   Chromium on URL (daemon driver),
#               returns once the page loaded (bails if it does not).
#   v_eval JS   prints the value of the expression JS in the page.
#   v_goto URL, v_wheel DY, v_fill SELECTOR TEXT, v_click SELECTOR,
#   v_hover SELECTOR, v_screenshot PATH   what a user does.
#   v_true JS   whether JS is true now; v_wait SECONDS JS: until it is.
#   v_state     the page's data-state.
#   v_lines     the lines on the page, one a line: DATA-ID TAB TEXT
#               (the text without the mark of its type: $V_TEXT, the
#               JavaScript of it for a line l).
#   v_requests  how many requests the page made below /events/.
#   viewer_stop the check that the driver closes Chromium and exits 0.
#   viewer_done WHAT   the end of a test: no script error (the check
#               WHAT), viewer_stop, no process left, the time it took.
#   v_diag      what the page and the servers said, for a failure.

V_OUT=$B_OUT
V_N=$T_WORK/viewer-cmd-n

viewer_need() {
	browser_need "$@"
	mkdir -p "$RUNDIR/www" && cp "$SRCDIR"/www/viewer.html \
	    "$SRCDIR"/www/viewer.js "$SRCDIR"/www/viewer.css "$RUNDIR/www/" &&
	    chmod -R a+rX "$RUNDIR/www" || bail "cannot copy www/"
}

viewer_open() {
	t_url=$1
	shift
	mkdir -p "$V_OUT" "$T_WORK/tmp" "$T_WORK/home" ||
		bail "cannot make directories"
	rm -rf "$V_OUT/cmd" "$V_OUT/res" "$V_OUT/loaded"
	echo 0 >"$V_N"
	start_daemon driver env TMPDIR="$T_WORK/tmp" HOME="$T_WORK/home" \
	    XDG_CONFIG_HOME="$T_WORK/home/.config" \
	    XDG_CACHE_HOME="$T_WORK/home/.cache" CHROMIUM="$CHROMIUM" \
	    FORCE_COLOR=0 "$@" node "$B_DIR/viewer-drive.mjs" "$t_url" "$V_OUT"
	# shellcheck disable=SC2154 # start_daemon sets PID_driver
	if ! wait_until 40 t_loaded_or_gone || [ ! -f "$V_OUT/loaded" ]; then
		v_diag
		bail "Chromium did not load $t_url"
	fi
}

t_loaded_or_gone() {
	[ -f "$V_OUT/loaded" ] || t_gone "$PID_driver"
}

# v_cmd SECONDS OP [ARG...]: one command (that may take SECONDS on its
# own); prints its answer. Only builtins but the sleeps and the cat:
# a test makes hundreds of commands.
v_cmd() {
	t_s=$1
	shift
	read -r t_n <"$V_N"
	t_n=$((t_n + 1))
	echo "$t_n" >"$V_N"
	printf '%s\0' "$@" >"$V_OUT/cmd/$t_n" && : >"$V_OUT/cmd/$t_n.go"
	# Most answers come within milliseconds: 20 ms steps first, then
	# 100 ms ones, 30 s more than SECONDS in all.
	t_i=0
	t_max=$((10 + (30 + t_s) * 10))
	while [ ! -f "$V_OUT/res/$t_n" ]; do
		t_i=$((t_i + 1))
		if [ "$t_i" -gt "$t_max" ] || t_gone "$PID_driver"; then
			echo "ERROR: no answer from the driver"
			return 1
		fi
		if [ "$t_i" -le 10 ]; then sleep 0.02; else sleep 0.1; fi
	done
	cat "$V_OUT/res/$t_n"
}

v_eval() { v_cmd 0 eval "$1"; }
v_goto() { v_cmd 0 goto "$1" >/dev/null; }
v_wheel() { v_cmd 0 wheel "$1" >/dev/null; }
v_fill() { v_cmd 0 fill "$1" "$2" >/dev/null; }
v_click() { v_cmd 0 click "$1" >/dev/null; }
v_hover() { v_cmd 0 hover "$1" >/dev/null; }
v_screenshot() { v_cmd 0 screenshot "$1"; }

v_true() {
	[ "$(v_eval "$1")" = true ]
}

v_wait() {
	[ "$(v_cmd "$1" wait "$1" "$2")" = true ]
}

v_state() {
	v_eval 'document.documentElement.dataset.state'
}

# The text of the line l, in the page: without its type's mark.
V_TEXT='[...l.childNodes].filter((n) => !(n.classList &&
    n.classList.contains("type"))).map((n) => n.textContent).join("")'

v_lines() {
	v_eval '[...document.querySelectorAll("#log .line")].map((l) =>
	    l.dataset.id + "\t" + '"$V_TEXT"').join("\n")'
	echo
}

v_requests() {
	awk -F '\t' '$2 == "request"' "$V_OUT/net.log" | wc -l
}

# v_wait_lines SECONDS N: until N lines are on the page.
v_wait_lines() {
	v_wait "$1" "document.querySelectorAll('#log .line').length >= $2"
}

v_no_page_error() {
	is "$1" "$(grep -c '	pageerror	' "$V_OUT/net.log")" 0
}

v_diag() {
	echo "# --- net.log (the page's requests, console, errors):"
	tail -n 40 "$V_OUT/net.log" 2>/dev/null | sed 's/^/#   /'
	echo "# --- the driver:"
	sed 's/^/#   /' "$RUNDIR/driver.log" 2>/dev/null
	echo "# --- responder:"
	tail -n 20 "$RUNDIR/responder.log" 2>/dev/null | sed 's/^/#   /'
	for t_log in "$RUNDIR/nginx-error.log" "$RUNDIR/lighttpd-error.log"; do
		[ -f "$t_log" ] || continue
		echo "# --- $t_log:"
		grep -v '\[info\]\|\[notice\]' "$t_log" | tail -n 20 |
		    sed 's/^/#   /'
	done
}

viewer_stop() {
	kill -TERM "$PID_driver"
	if wait_until 20 t_gone "$PID_driver"; then
		wait "$PID_driver"
		is "the driver closes Chromium and exits 0" "$?" 0
	else
		not_ok "the driver closes Chromium and exits 0" \
		    "still running after 20 s"
	fi
}

# ---- checks that every web server must pass ----

# The responder on its own on $SOCK (daemon responder), as www-data.
v_responder_start() {
	# shellcheck disable=SC2086 # RESPONDER_ARGS is a list of words
	start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$SOCK" --prefix /events/ --retry 500 $RESPONDER_ARGS
	wait_listening responder
}

# v_closed_suite LINES: every stream the page follows was just closed;
# its lines (DATA-ID TEXT, joined with |) must be LINES, and the page
# closed, with no request after.
v_closed_suite() {
	if v_wait 10 "document.documentElement.dataset.state === 'closed'"; then
		ok "every stream closed: data-state closed"
	else
		not_ok "every stream closed: data-state closed" \
		    "data-state $(v_state)"
	fi
	is "... every line once" "$(v_lines | tr '\t\n' ' |')" "$1"
	t_n=$(v_requests)
	sleep 5
	is "... and no request at all in the 5 s after" "$(v_requests)" "$t_n"
}

# v_restart_suite VIEWER SERVER: the page follows a stream while lines
# are written; the responder is killed (SIGKILL) in the middle and
# started again 2 s later: the page says it is reconnecting, then shows
# every line once, in order, and closes with the stream.
v_restart_suite() {
	t_r=restart/$2
	sselog publish "$t_r" -e log "before the page" >/dev/null
	v_goto "$1?stream=$t_r"
	v_wait_lines 10 1
	# 600 lines in about 3 s, in bursts of 20.
	(
		i=0
		while [ $i -lt 600 ]; do
			i=$((i + 1))
			echo "flowing $i"
			[ $((i % 20)) -ne 0 ] || sleep 0.1
		done | sselog pipe "$t_r" -e log
	) &
	t_writer=$!
	v_wait_lines 10 50
	# shellcheck disable=SC2154 # start_daemon sets PID_responder
	kill -9 "$PID_responder"
	wait_until 5 t_gone "$PID_responder" ||
		bail "sselog-fcgi survived SIGKILL"
	if v_wait 10 "document.documentElement.dataset.state === 'reconnecting'"
	then
		ok "$2: the responder killed mid-stream: data-state reconnecting"
	else
		not_ok "$2: the responder killed mid-stream: data-state reconnecting" \
		    "data-state $(v_state)"
	fi
	is "... and the page says so" \
	    "$(v_eval 'document.getElementById("status").textContent.startsWith("reconnecting")')" \
	    true
	sleep 2
	v_responder_start
	wait "$t_writer"
	sselog close "$t_r" >/dev/null
	v_wait 30 "document.documentElement.dataset.state === 'closed'" || :
	t_want=$(sql "SELECT count(*) FROM events WHERE stream = '$t_r' AND event = 'log'")
	# The lines as v_lines gives them, from the log (a tab, not char(9):
	# the same SQL on SQLite and PostgreSQL).
	is "... back: every line once, in order ($t_want lines), then closed" \
	    "$(v_lines | sed '/^$/d' | md5sum)" \
	    "$(sql "SELECT id || '$(printf '\t')' || data FROM events
	        WHERE stream = '$t_r' AND event = 'log' ORDER BY id" | md5sum)"
	is "... data-state closed" "$(v_state)" closed
}

viewer_done() {
	v_no_page_error "$1"
	viewer_stop
	no_leftovers
	[ "$T_FAILED" -eq 0 ] || v_diag
	echo "# took $(( ($(t_now_ms) - T_START) / 1000 )) s"
	done_testing
}
