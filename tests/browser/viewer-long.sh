#!/bin/sh
# The log viewer (www/viewer.html) on a long log, through nginx: 100,000
# lines replayed are on the page within 5 s of its start; following a
# stream that grows by 1,000 lines a second for 10 s leaves no task
# longer than 200 ms (PerformanceObserver 'longtask') and keeps the end
# in view; past 100,000 lines the page keeps at most the last 100,000
# and says how many earlier ones it dropped. bench/viewer.sh runs this
# for its figures (the "# figure:" lines).
#
# Needs what tests/browser/viewer-nginx.sh needs. A solo test: a test
# running beside it takes the CPU the bounds count on.

# Several functions below are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"
. "$SRCDIR/tests/browser/viewer-lib.sh"

command -v nginx >/dev/null 2>&1 || bail "nginx is not installed (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
viewer_need
T_START=$(t_now_ms)
REPLAY=${VIEWER_REPLAY_LINES:-100000}
RATE=1000		# lines a second while following
FOLLOW_S=${VIEWER_FOLLOW_SECONDS:-10}
KEPT=100000		# the lines the page keeps (viewer.js, MAX_LINES)

PORT=$(free_port)
template nginx.conf "$RUNDIR/sselog.conf"
v_responder_start
nginx_start "$PORT" "$RUNDIR/sselog.conf"
S=long/1

# insert FROM TO: lines FROM..TO of S in one transaction, every tenth
# one with colours, as a build's output has them.
insert() {
	sql "WITH RECURSIVE c(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM c
	    WHERE i < $2) INSERT INTO events (stream, event, data)
	    SELECT '$S', 'log', CASE WHEN i % 10 = 0 THEN
	    char(27) || '[1;32mok' || char(27) || '[0m line ' || i
	    ELSE 'line ' || i || ' of the build, compiling something' END
	    FROM c"
}
# The text of line I on the page.
text_of() {
	if [ $(($1 % 10)) -eq 0 ]; then
		echo "ok line $1"
	else
		echo "line $1 of the build, compiling something"
	fi
}
insert 1 "$REPLAY"

# ---- 100,000 lines replayed ----

# The time from the start of the page's load until line N is on the
# page (ms, the page's clock), or -1 after 60 s. The number of the last
# line, not the count of lines: past 100,000 the count stays there.
on_page_at() {
	v_eval "new Promise((r) => { const log = document.getElementById('log'), t0 = performance.now();
	    const n = () => { const c = log.lastElementChild, l = c && c.lastElementChild;
	    return l ? Number(l.getAttribute('data-n')) : 0; };
	    const f = () => n() >= $1 ?
	    r(Math.round(performance.now())) : performance.now() - t0 > 60000 ?
	    r(-1) : setTimeout(f, 10); f(); })"
}
viewer_open "http://127.0.0.1:$PORT/sselog/viewer.html?stream=$S"
replay_ms=$(on_page_at "$REPLAY")
echo "# figure: replay_lines=$REPLAY replay_ms=$replay_ms"
if [ "$replay_ms" -ge 0 ] && [ "$replay_ms" -le 5000 ]; then
	ok "$REPLAY lines replayed are on the page within 5 s ($replay_ms ms)"
else
	not_ok "$REPLAY lines replayed are on the page within 5 s ($replay_ms ms)" \
	    "data-state $(v_state), $(v_eval 'document.getElementById("count").textContent')"
fi
is "... each one an element in the log" \
    "$(v_eval 'document.querySelectorAll("#log .line").length')" "$REPLAY"
replay_task=$(v_eval 'Math.round(Math.max(0, ...window.__longTasks))')
echo "# figure: replay_longest_task_ms=$replay_task"

# The observer sees long tasks at all: a task of 300 ms of our own.
v_eval 'new Promise((r) => { window.__longTasks = []; setTimeout(() => {
    const t = performance.now(); while (performance.now() - t < 300); }, 0);
    setTimeout(r, 500); })' >/dev/null
is "the page's long task observer sees a 300 ms task" \
    "$(v_eval 'window.__longTasks.some((d) => d >= 290)')" true

# ---- following 1,000 lines a second ----

v_eval 'window.__longTasks = []' >/dev/null
total=$((REPLAY + RATE * FOLLOW_S))
t0=$(t_now_ms)
sent=$REPLAY
while [ "$sent" -lt "$total" ]; do
	due=$((REPLAY + ($(t_now_ms) - t0) * RATE / 1000))
	[ "$due" -le "$total" ] || due=$total
	if [ "$due" -gt "$sent" ]; then
		insert $((sent + 1)) "$due"
		sent=$due
	fi
	sleep 0.05
done
echo "# wrote $((total - REPLAY)) lines in $(($(t_now_ms) - t0)) ms"
follow_ms=$(on_page_at "$total")
follow_task=$(v_eval 'Math.round(Math.max(0, ...window.__longTasks))')
echo "# figure: follow_rate=$RATE follow_seconds=$FOLLOW_S follow_longest_task_ms=$follow_task long_tasks=$(v_eval 'window.__longTasks.length')"
if [ "$follow_ms" -ge 0 ] && [ "$follow_task" -le 200 ]; then
	ok "following $RATE lines/s for $FOLLOW_S s: no task longer than 200 ms (the longest: $follow_task ms)"
else
	not_ok "following $RATE lines/s for $FOLLOW_S s: no task longer than 200 ms (the longest: $follow_task ms)" \
	    "line $total on the page at $follow_ms ms (-1: not after 60 s), long tasks: $(v_eval 'JSON.stringify(window.__longTasks)')"
fi
is "... the last line is on the page and in view" \
    "$(v_eval '(() => { const l = document.getElementById("log");
    const last = [...l.querySelectorAll(".line")].pop();
    return last.textContent + " " +
    (last.getBoundingClientRect().bottom <= l.getBoundingClientRect().bottom + 1); })()')" \
    "$(text_of "$total") true"

# ---- the lines kept ----

if [ "$total" -gt "$KEPT" ]; then
	# Whole chunks of 500 lines go at once (viewer.js, dropOld).
	kept=$(v_eval 'document.querySelectorAll("#log .line").length')
	if [ "$kept" -le "$KEPT" ] && [ "$kept" -gt $((KEPT - 500)) ]; then
		ok "past $KEPT lines the page keeps at most the last $KEPT ($kept)"
	else
		not_ok "past $KEPT lines the page keeps at most the last $KEPT" \
		    "$kept lines on the page"
	fi
	is "... and says how many earlier ones it dropped" \
	    "$(v_eval 'document.querySelector("#notices .dropped").textContent.split(" (")[0]')" \
	    "$((total - kept)) earlier lines dropped"
	is "... the first line kept is the one after those" \
	    "$(v_eval 'document.querySelector("#log .line").textContent')" \
	    "$(text_of $((total - kept + 1)))"
fi

viewer_done "no script error"
