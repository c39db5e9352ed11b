# tests/browser/restart-lib.sh: a page survives its responder being down,
# behind one web server. Sourced by tests/browser/restart-*.sh after
# tests/integration/lib.sh and tests/browser/lib.sh; the script starts its
# web server in front of $SOCK on $PORT, then calls restart_scenario.
#
# The responder runs on its own (--listen unix:$SOCK, as www-data). The
# page (tests/browser/eventsource.html in headless Chromium) follows a
# stream from lastEventId=0; the responder is stopped with SIGTERM and
# left down for $DOWN_S seconds while events are published, then started
# again. While it is down the web server answers the browser's reconnects
# itself, and only a 200 keeps EventSource going (any other status ends it
# for good): the contrib/ config must turn the server's own 502/503 into a
# 200 with retry:. The page must then resume by itself and show every
# event exactly once, in order, and EventSource must never be CLOSED.
#
#   r_responder_start   the responder on $SOCK (daemon responder)
#   restart_scenario SERVER   the checks; SERVER names the web server in
#                       their descriptions and its error log for b_diag
#                       ($SERVER_LOG).

# The reconnection time the responder announces: the browser reconnects
# this long after the SIGTERM ended its stream. The responder exits at
# once when its streams have ended, so the reconnect finds it gone and
# meets the web server's own answer.
RETRY_MS=1000
# How long the responder stays down.
DOWN_S=10
STREAM=restart/1
EV=$B_OUT/events.log
SERVER_LOG=${SERVER_LOG:-}
T_START=$(t_now_ms)

r_responder_start() {
	# shellcheck disable=SC2086 # RESPONDER_ARGS is a list of words
	start_daemon responder $AS_WWW "$SSELOG_FCGI" -d "$DB" \
	    --listen "unix:$SOCK" --prefix /events/ --retry "$RETRY_MS" \
	    $RESPONDER_ARGS
	wait_listening responder
}

# The expected events, in order: r_expect ID DATA (untyped: message).
: >"$T_WORK/expected"
r_expect() {
	printf '%s\tmessage\t"%s"\n' "$1" "$2" >>"$T_WORK/expected"
}

r_events_are() {	# DESCRIPTION: the events so far are exactly the expected
	b_events >"$T_WORK/got"
	if cmp -s "$T_WORK/got" "$T_WORK/expected"; then
		ok "$1"
	else
		not_ok "$1" "diff expected got:" \
		    "$(diff "$T_WORK/expected" "$T_WORK/got")"
	fi
}

r_all_arrived() {
	b_at_least event "$(wc -l <"$T_WORK/expected")"
}

# The page entries (events.log) that saw readyState 2, CLOSED.
r_closed_entries() {
	awk -F '\t' '$3 == 2' "$EV"
}

# The responses to the page's stream requests (net.log): STATUS per line.
r_statuses() {
	awk -F '\t' '$2 == "response" { print $3 }' "$B_OUT/net.log"
}

r_diag() {
	echo "# --- events.log (ms, kind, readyState, id, type, data):"
	sed 's/^/#   /' "$EV" 2>/dev/null
	echo "# --- net.log (the browser's requests):"
	sed 's/^/#   /' "$B_OUT/net.log" 2>/dev/null
	echo "# --- drive.mjs:"
	sed 's/^/#   /' "$RUNDIR/driver.log" 2>/dev/null
	echo "# --- responder:"
	tail -n 20 "$RUNDIR/responder.log" 2>/dev/null | sed 's/^/#   /'
	if [ -n "$SERVER_LOG" ]; then
		echo "# --- $SERVER_LOG:"
		tail -n 20 "$SERVER_LOG" 2>/dev/null | sed 's/^/#   /'
	fi
}

restart_scenario() {
	r_server=$1

	# ---- the page opens and replays ----
	h1=$(sselog publish "$STREAM" "history")
	r_expect "$h1" history
	browser_start "$PORT" "stream=$STREAM" DRIVE_MAX_SECONDS=90
	if browser_opened 30; then
		ok "$r_server: Chromium opens the page and its EventSource"
	else
		not_ok "$r_server: Chromium opens the page and its EventSource" \
		    "no open event within 30 s, or drive.mjs ended"
		r_diag
		bail "no browser, nothing more to test"
	fi
	e1=$(sselog publish "$STREAM" "live before the stop")
	r_expect "$e1" "live before the stop"
	wait_until 10 r_all_arrived
	r_events_are "$r_server: the page replays the history and gets a live event"

	# ---- SIGTERM: the stream ends, the responder exits ----
	# shellcheck disable=SC2154 # start_daemon sets PID_responder
	r_pid=$PID_responder
	kill -TERM "$r_pid"
	if wait_until 10 t_gone "$r_pid"; then
		wait "$r_pid"
		is "the responder exits 0 on SIGTERM" "$?" 0
	else
		not_ok "the responder exits 0 on SIGTERM" "still running after 10 s"
		kill -9 "$r_pid"
	fi
	t_down=$(t_now_ms)
	n_open=$(b_count open)
	n_req=$(grep -c "$(printf '\trequest\t')" "$B_OUT/net.log")

	# ---- down for $DOWN_S s, events published meanwhile ----
	i=0
	while [ "$i" -lt 5 ]; do
		i=$((i + 1))
		sleep $((DOWN_S / 5))
		d=$(sselog publish "$STREAM" "while down $i")
		r_expect "$d" "while down $i"
	done
	echo "# the responder was down for $(($(t_now_ms) - t_down)) ms"
	is "$r_server: nothing arrives while the responder is down" \
	    "$(b_count event)" 2
	# Each answer of the server's own opens EventSource and ends at once.
	if [ "$(b_count open)" -gt "$n_open" ]; then
		ok "$r_server answers the reconnects itself with 200 while the responder is down ($(($(b_count open) - n_open)) times)"
	else
		not_ok "$r_server answers the reconnects itself with 200 while the responder is down" \
		    "no open event since the stop"
	fi
	is "... and EventSource keeps trying (never readyState 2, CLOSED)" \
	    "$(r_closed_entries)" ""

	# ---- back: the page resumes by itself ----
	r_responder_start
	t_up=$(t_now_ms)
	if wait_until 15 r_all_arrived; then
		t_resumed=$(t_now_ms)
		ok "$r_server: the page resumes by itself once the responder is back"
		echo "# resumed $((t_resumed - t_up)) ms after the responder was back"
	else
		not_ok "$r_server: the page resumes by itself once the responder is back" \
		    "readyState $(b_ready_state), $(b_count event) events of $(wc -l <"$T_WORK/expected")"
	fi
	e2=$(sselog publish "$STREAM" "live after the restart")
	r_expect "$e2" "live after the restart"
	wait_until 5 r_all_arrived
	r_events_are "$r_server: every event exactly once, in order (those published while down replayed, then live)"
	is "... EventSource never was CLOSED (readyState 2)" \
	    "$(r_closed_entries)$(b_ready_state)" 1
	is "... every answer to the page's stream requests was a 200" \
	    "$(r_statuses | sort -u)" 200
	# Every reconnect after the stop names the last event it had.
	if awk -F '\t' -v want="last-event-id=$e1" -v n="$n_req" '
	    $2 == "request" { r++; if (r > n && $5 != want) bad = bad " " $5 }
	    END { if (bad != "") { print bad; exit 1 } }' "$B_OUT/net.log"
	then
		ok "... and each reconnect sent Last-Event-ID $e1"
	else
		not_ok "... and each reconnect sent Last-Event-ID $e1" \
		    "$(grep "$(printf '\trequest\t')" "$B_OUT/net.log")"
	fi
	b_no_page_error "the page reported no script error"

	browser_stop
	no_leftovers
	[ "$T_FAILED" -eq 0 ] || r_diag
	echo "# took $((($(t_now_ms) - T_START) / 1000)) s"
	done_testing
}
