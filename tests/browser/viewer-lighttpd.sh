#!/bin/sh
# The log viewer (www/viewer.html) through lighttpd, served as
# contrib/lighttpd.conf says (alias /sselog/ to the installed www/)
# beside the streams, with a responder that runs on its own: the lines,
# a colour, the progress bar, events= without its slash, closed with no
# request after, and the responder killed and restarted mid-stream with
# every line once (lighttpd's own 503 meanwhile turned into a retry by
# contrib/sselog-retry.lua). tests/browser/viewer-nginx.sh has the rest.
#
# Needs root, lighttpd with mod_magnet (lighttpd-modules-lua), chromium,
# Node.js 20 and tests/browser/node_modules.

# Several functions below are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"
. "$SRCDIR/tests/browser/viewer-lib.sh"

command -v lighttpd >/dev/null 2>&1 || bail "lighttpd is not installed (run build-aux/deps test)"
[ -f /usr/lib/lighttpd/mod_magnet.so ] ||
	bail "lighttpd has no mod_magnet: install lighttpd-modules-lua (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
viewer_need
T_START=$(t_now_ms)

PORT=$(free_port)
# The responder on its own, as the config's comment says, and the types
# of the page's files, which the config leaves to the main one
# (Debian's assigns them all; this one assigns none).
template lighttpd.conf "$RUNDIR/sselog.conf" -e '/"bin-path"/d' \
    -e '/"bin-environment"/d' -e '/"max-procs"/d' -e 's/^#\(mimetype\)/\1/' \
    -e 's/^#\(    "\.\)/\1/'
v_responder_start
lighttpd_start "$PORT" "$RUNDIR/sselog.conf"
VIEWER=http://127.0.0.1:$PORT/sselog/viewer.html

S=light/1
i1=$(printf '\033[1;31mfailed:\033[0m 2 tests' | sselog publish "$S" -e log -)
sselog publish "$S" -e progress '{"pct":75,"label":"testing"}' >/dev/null
i2=$(sselog publish "$S" "done")
viewer_open "$VIEWER?stream=$S&events=/events"
if v_wait 10 "document.documentElement.dataset.state === 'live'"; then
	ok "lighttpd serves the page; it follows $S (events=/events): live"
else
	not_ok "lighttpd serves the page; it follows $S (events=/events): live" \
	    "data-state $(v_state)"
	v_diag
fi
v_wait_lines 10 2
is "the lines, without their escapes" "$(v_lines | tr '\t\n' ' |')" \
    "$i1 failed: 2 tests|$i2 done|"
is "SGR 1;31: bold and red (computed style)" \
    "$(v_eval 'getComputedStyle(document.querySelector("#log .line span")).fontWeight + " " + getComputedStyle(document.querySelector("#log .line span")).color')" \
    "700 rgb(224, 64, 60)"
is "the progress bar and its label" \
    "$(v_eval 'document.querySelector("progress").value + " " + document.getElementById("progress-label").textContent')" \
    "75 testing"
sselog close "$S" >/dev/null
v_closed_suite "$i1 failed: 2 tests|$i2 done|"

v_restart_suite "$VIEWER" lighttpd

viewer_done "no script error on any page"
