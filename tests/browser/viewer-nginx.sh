#!/bin/sh
# The log viewer (www/viewer.html) in headless Chromium, served by nginx
# as contrib/nginx.conf says (/sselog/ from the installed www/) beside
# the streams: what a user sees of a build log. Lines and their ids,
# colours (computed styles), no raw escape sequence, text never taken
# for HTML, the progress bar, other types marked, following the end and
# the button back to it, the filter, links to lines, since=, events=
# with and without its slash, several streams, the gap notice, closed
# with no request after, denied on 401 and 403, and a responder killed
# and restarted mid-stream with every line once.
#
# Needs what tests/browser/eventsource.sh needs: nginx, chromium,
# Node.js 20 and tests/browser/node_modules.

# Several functions below are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/browser/lib.sh"
. "$SRCDIR/tests/browser/viewer-lib.sh"

command -v nginx >/dev/null 2>&1 || bail "nginx is not installed (run build-aux/deps test)"
# shellcheck disable=SC2119 # no hint to add to what is missing
viewer_need
T_START=$(t_now_ms)
ESC=$(printf '\033')
BEL=$(printf '\007')

# A second mount, /guarded/, whose responder reads with access control
# (the rules of tests/integration/lib.sh: anonymous may read only
# "status"; a token names what it may read).
access_files
responder guarded "$RUNDIR/guarded.sock" --prefix /guarded/ \
    --access "$RULES" --jwt-key "HS256:$RUNDIR/hs256.secret"
PORT=$(free_port)
template nginx.conf "$RUNDIR/sselog.conf"
cat >>"$RUNDIR/sselog.conf" <<CONF
location /guarded/ {
    fastcgi_pass unix:$RUNDIR/guarded.sock;
    include fastcgi_params;
    fastcgi_buffering off;
}
CONF
v_responder_start
nginx_start "$PORT" "$RUNDIR/sselog.conf"
BASE=http://127.0.0.1:$PORT
VIEWER=$BASE/sselog/viewer.html

# ---- a build log, published before the page opens ----

S=view/1
pub() {	# DATA [TYPE]: an event of S, its data from printf's format
	# shellcheck disable=SC2059 # the data is the format
	printf "$1" | sselog publish "$S" -e "${2:-log}" -
}
i_plain=$(sselog publish "$S" "plain line")
i_red=$(pub '\033[31mred\033[0m then \033[1;32mbold green\033[0m and \033[44mon blue\033[0m')
# One event per named colour: 30-37, 90-97 (fg) and 40-47 (bg), a line
# each through one pipe.
for c in 0 1 2 3 4 5 6 7; do
	printf "\\033[3${c}mfg3$c\\033[0m \\033[9${c}mfg9$c\\033[m \\033[4${c}mbg4$c\\033[0m\\n"
done | sselog pipe "$S" -e log
i_256=$(pub '\033[38;5;208morange\033[0m \033[38;2;10;20;200mtrue\033[0m \033[48;5;22mdeep\033[0m')
i_esc=$(pub '\033[2K\033[?25l\033[1Gstart\033]0;TITLE-PAYLOAD\007after\033]8;;http://osc.example/\033\\link\033]8;;\033\\ end\033[?1049h\033(B\033=')
i_html=$(sselog publish "$S" -e log '<b>not bold</b> & <script>alert(1)</script>')
i_multi=$(pub 'first of three\nsecond of three\nthird of three')
i_typed=$(sselog publish "$S" -e deploy "to staging")
sselog publish "$S" -e progress '{"pct":40,"label":"compiling src/sse.c"}' >/dev/null
i_after=$(sselog publish "$S" "after the progress")
N0=$((1 + 1 + 8 + 1 + 1 + 1 + 3 + 1 + 1))

viewer_open "$VIEWER?stream=$S"
if v_wait 10 "document.documentElement.dataset.state === 'live'"; then
	ok "the page opens and follows $S: data-state live"
else
	not_ok "the page opens and follows $S: data-state live" \
	    "data-state $(v_state)"
	v_diag
fi
v_wait_lines 10 "$N0"
is "... every line of the log is on the page (lastEventId=0: the whole stream)" \
    "$(v_eval 'document.querySelectorAll("#log .line").length')" "$N0"

v_lines >"$T_WORK/lines"
line_of() { awk -F '\t' -v id="$1" '$1 == id { print $2 }' "$T_WORK/lines"; }
is "an untyped event is a line, data-id its id" "$(line_of "$i_plain")" \
    "plain line"
is "SGR: the text without its escapes" "$(line_of "$i_red")" \
    "red then bold green and on blue"
is "256-colour and true-colour: the text, never the sequence" \
    "$(line_of "$i_256")" "orange true deep"
is "CSI (? forms too), OSC to BEL and to ST, charset escapes: removed with their payload" \
    "$(line_of "$i_esc")" "startafterlink end"
is "text that looks like HTML is shown as text" "$(line_of "$i_html")" \
    '<b>not bold</b> & <script>alert(1)</script>'
is "... and makes no element" \
    "$(v_eval 'document.querySelectorAll("#log b, #log script").length')" 0
is "an event of three lines: three lines that share its id" \
    "$(line_of "$i_multi" | tr '\n' '|')" \
    "first of three|second of three|third of three|"
is "another type: a line marked with its type" \
    "$(v_eval "[...document.querySelectorAll('#log .line')].filter((l) => l.dataset.id === '$i_typed').map((l) => l.querySelector('.type').textContent + '|' + l.lastChild.textContent).join()")" \
    "deploy|to staging"
is "the progress event makes no line" \
    "$(v_eval '[...document.querySelectorAll("#log .line")].some((l) => l.textContent.includes("compiling"))')" \
    false
is "one <progress>, max 100, value the pct" \
    "$(v_eval '[document.querySelectorAll("progress").length,
    document.querySelector("progress").max,
    document.querySelector("progress").value].join(" ")')" "1 100 40"
is "... its label shown" \
    "$(v_eval 'document.getElementById("progress-label").innerText')" \
    "compiling src/sse.c"
is "... no data-id on the bar or any notice" \
    "$(v_eval 'document.querySelectorAll("progress[data-id], .notice[data-id]").length')" 0
is "the line after the progress event" "$(line_of "$i_after")" \
    "after the progress"

# Colours as the browser renders them: each named one looks like its
# name (which channels are high), bold is bold.
v_eval 'window.colourOf = (text, prop) => {
	const el = [...document.querySelectorAll("#log .line span:not(.type)")]
	    .find((s) => s.textContent === text);
	if (!el) return "missing";
	const [r, g, b] = getComputedStyle(el)[prop].match(/\d+/g).map(Number);
	const mx = Math.max(r, g, b);
	if (mx < 100) return "black";
	const hi = [r, g, b].map((x) => x >= 0.65 * mx ? 1 : 0).join("");
	if (hi === "111") return Math.min(r, g, b) > 150 ? "white" : "grey";
	return { "100": "red", "010": "green", "110": "yellow", "001": "blue",
	    "101": "magenta", "011": "cyan" }[hi];
}' >/dev/null
names="black red green yellow blue magenta cyan white"
want=
c=0
for n in $names; do
	bright=$n
	[ "$n" != black ] || bright=grey
	want="$want 3$c:$n 9$c:$bright 4$c:$n"
	c=$((c + 1))
done
# The 24 colours in one command to the page.
got=$(v_eval '[0, 1, 2, 3, 4, 5, 6, 7].map((c) => ` 3${c}:${colourOf("fg3" + c, "color")}` +
    ` 9${c}:${colourOf("fg9" + c, "color")} 4${c}:${colourOf("bg4" + c, "backgroundColor")}`).join("")')
is "SGR 30-37, 90-97, 40-47: each colour looks like its name (computed style)" \
    "$got" "$want"
is "SGR 1: bold (font-weight 700), with its colour" \
    "$(v_eval 'getComputedStyle([...document.querySelectorAll("#log .line span:not(.type)")].find((s) => s.textContent === "bold green")).fontWeight') $(v_eval 'colourOf("bold green", "color")')" \
    "700 green"
is "SGR 0 resets: the text after it is plain" \
    "$(v_eval "[...document.querySelector('#log .line[data-id=\"$i_red\"]').childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('|')")" \
    " then | and "
is "38;5;208 and 38;2;10;20;200 and 48;5;22 rendered as their colours" \
    "$(v_eval '["orange", "true", "deep"].map((t) => { const s = getComputedStyle([...document.querySelectorAll("#log .line span:not(.type)")].find((e) => e.textContent === t)); return t === "deep" ? s.backgroundColor : s.color; }).join(" ")')" \
    "rgb(255, 135, 0) rgb(10, 20, 200) rgb(0, 95, 0)"
text=$(v_eval 'document.body.innerText')
case $text in
*"$ESC"* | *"$BEL"* | *"[31m"* | *"[0m"* | *"[?25l"* | *"[38;5"* | *TITLE-PAYLOAD* | *osc.example* | *"]0;"* | *"]8;"*)
	not_ok "no escape, no sequence, no OSC payload anywhere on the page" \
	    "$(printf '%s' "$text" | od -c | grep -n '033' | head -n 5)" ;;
*)	ok "no escape, no sequence, no OSC payload anywhere on the page" ;;
esac

# ---- following the end, the button back to it ----

at_bottom='(() => { const l = document.getElementById("log");
    return l.scrollHeight > l.clientHeight + 100 &&
    l.scrollTop + l.clientHeight >= l.scrollHeight - 4; })()'
seq 1 300 | sed 's/^/filler line /' | sselog pipe "$S" -e log
v_wait_lines 10 $((N0 + 300))
if v_wait 5 "$at_bottom"; then
	ok "following: after 300 more lines the view is at the end"
else
	not_ok "following: after 300 more lines the view is at the end" \
	    "$(v_eval '[log.scrollTop, log.clientHeight, log.scrollHeight].join(" ")')"
fi
is "... with no button to go back to it" \
    "$(v_eval 'document.getElementById("to-end").hidden')" true
v_wheel -2000
top=$(v_eval 'document.getElementById("log").scrollTop')
is "the user scrolls up: the button to the end shows" \
    "$(v_eval '!document.getElementById("to-end").hidden && document.getElementById("to-end").offsetHeight > 0')" true
seq 1 100 | sed 's/^/while away /' | sselog pipe "$S" -e log
v_wait_lines 10 $((N0 + 400))
sleep 0.5
is "... new lines arrive and the view stays where the user left it" \
    "$(v_eval 'document.getElementById("log").scrollTop')" "$top"
v_click '#to-end'
if v_wait 3 "$at_bottom && document.getElementById('to-end').hidden"; then
	ok "the button brings the view to the end and hides"
else
	not_ok "the button brings the view to the end and hides" \
	    "$(v_eval '[log.scrollTop, log.clientHeight, log.scrollHeight].join(" ")')"
fi
sselog publish "$S" -e log "one more at the end" >/dev/null
v_wait_lines 10 $((N0 + 401))
if v_wait 3 "$at_bottom"; then
	ok "... and it follows again"
else
	not_ok "... and it follows again" "not at the end"
fi

# ---- the filter ----

visible='[...document.querySelectorAll("#log .line")].filter((l) =>
    l.offsetParent !== null).map((l) => l.textContent)'
v_fill '#filter' 'of three'
v_wait 3 "$visible.length === 3" || :
is "the filter shows only the lines that contain its text" \
    "$(v_eval "$visible.join('|')")" \
    "first of three|second of three|third of three"
i_nm=$(sselog publish "$S" -e log "a new line not matching")
i_ntw=$(sselog publish "$S" -e log "a new line of three words")
v_wait_lines 10 $((N0 + 403))
is "... lines that arrive are filtered too" \
    "$(v_eval "$visible.join('|')")" \
    "first of three|second of three|third of three|a new line of three words"
v_fill '#filter' ''
v_wait 3 "$visible.length === $((N0 + 403))" || :
is "an empty filter shows every line again" "$(v_eval "$visible.length")" \
    $((N0 + 403))

# ---- links to lines ----

# The link of a line is over its number, on the line under the pointer.
link_of() {
	v_hover "#log .line[data-id=\"$1\"]"
	v_eval "[...document.querySelectorAll('#log a.ln')].map((a) =>
	    a.closest('.line').dataset.id + ' ' + a.getAttribute('href') + ' ' +
	    (a.getBoundingClientRect().width > 0)).join('|')"
}
is "each line links to itself (#ID): the one under the pointer" \
    "$(link_of "$i_nm")" "$i_nm #$i_nm true"
is "... and the next one the pointer is on" "$(link_of "$i_ntw")" \
    "$i_ntw #$i_ntw true"
is "the line numbers are not part of the text (the filter, a copy)" \
    "$(v_eval "document.querySelector('#log .line[data-id=\"$i_plain\"]').textContent + ' ' + getComputedStyle(document.querySelector('#log .line[data-id=\"$i_plain\"]'), '::before').content")" \
    "plain line \"1\""
in_view="(() => { const l = document.getElementById('log').getBoundingClientRect();
    const e = document.querySelector('#log .line[data-id=\"$i_multi\"]').getBoundingClientRect();
    return e.top >= l.top && e.bottom <= l.bottom; })()"
v_goto "$VIEWER?stream=$S#$i_multi"
if v_wait 10 "document.querySelectorAll('#log .line').length === $((N0 + 403))" &&
    v_wait 3 "$in_view"; then
	ok "opening #ID scrolls the line into view once the log has replayed"
else
	not_ok "opening #ID scrolls the line into view once the log has replayed" \
	    "$(v_eval 'document.getElementById("log").scrollTop')"
fi
is "... and marks it" \
    "$(v_eval "document.querySelector('#log .line[data-id=\"$i_multi\"]').classList.contains('target')")" \
    true
v_hover "#log .line[data-id=\"$i_plain\"]"
v_click "#log .line[data-id=\"$i_plain\"] a.ln"
is "clicking a line's link puts #ID in the address" \
    "$(v_eval 'location.hash')" "#$i_plain"

# ---- since= ----

v_goto "$VIEWER?stream=$S&since=$i_typed"
v_wait 10 "document.documentElement.dataset.state === 'live' && document.querySelectorAll('#log .line').length > 0" || :
sleep 0.5
is "since=ID: only the events after ID" "$(v_lines | head -n 1)" \
    "$(printf '%s\t%s' "$i_after" "after the progress")"
is "... the progress bar still shows the progress event after it" \
    "$(v_eval 'document.querySelector("progress").value')" 40

# ---- several streams, events= without its slash, closed ----

A=multi/a B=multi/b
ia=$(sselog publish "$A" -e log "from a")
ib=$(sselog publish "$B" -e log "from b")
v_goto "$VIEWER?stream=$A&stream=$B&events=/events"
v_wait_lines 10 2
is "several streams on one connection (events=/events, no slash): each one's lines, in id order" \
    "$(v_lines | tr '\t\n' ' |')" "$ia from a|$ib from b|"
is "... one request: /events/?stream=A&stream=B" \
    "$(awk -F '\t' '$2 == "request" { u = $4 } END { print u }' "$V_OUT/net.log")" \
    "$BASE/events/?stream=multi%2Fa&stream=multi%2Fb&lastEventId=0"
sselog close "$A" >/dev/null
sleep 1
is "one of two streams closed: still live" "$(v_state)" live
ib2=$(sselog publish "$B" -e log "b goes on")
v_wait_lines 10 3
sselog close "$B" >/dev/null
v_closed_suite "$ia from a|$ib from b|$ib2 b goes on|"
is "... one notice per stream closed, without an id" \
    "$(v_eval '[...document.querySelectorAll("#log .notice.closed")].map((n) => n.textContent + (n.dataset.id || "")).join("|")')" \
    "stream $A closed|stream $B closed"

# events= with its slash; a stream already closed: replayed, then closed
# at once.
v_goto "$VIEWER?stream=$A&events=/events/"
if v_wait 10 "document.documentElement.dataset.state === 'closed' && document.querySelectorAll('#log .line').length === 1"; then
	ok "events=/events/ (with the slash), a closed stream: its line, then closed"
else
	not_ok "events=/events/ (with the slash), a closed stream: its line, then closed" \
	    "data-state $(v_state), $(v_lines)"
fi

# ---- the gap notice ----

G=gap/1
seq 1 6 | sed 's/^/gap line /' | sselog pipe "$G" -e log
sselog prune --keep 2 "$G" >/dev/null
first=$(sql "SELECT min(id) FROM events WHERE stream = '$G'")
v_goto "$VIEWER?stream=$G"
v_wait_lines 10 2
is "pruned history: only what is left" "$(v_lines | cut -f 2 | tr '\n' '|')" \
    "gap line 5|gap line 6|"
gap=$(v_eval '[...document.querySelectorAll("#log .notice.gap")].map((n) => n.offsetHeight > 0 ? n.textContent : "hidden").join("|")')
case $gap in
*gap*"to $((first - 1))"*) ok "sselog.gap: a visible notice with the word gap and the missing ids ($gap)" ;;
*) not_ok "sselog.gap: a visible notice with the word gap and the missing ids" "notice: $gap" ;;
esac
is "... before the lines that are left" \
    "$(v_eval 'document.querySelector("#log .notice.gap").compareDocumentPosition(document.querySelector("#log .line")) & Node.DOCUMENT_POSITION_FOLLOWING ? "before" : "after"')" \
    before

# ---- denied: 401 and 403 stop, with no request after ----

v_goto "$VIEWER?stream=build/1&events=/guarded/"
if v_wait 10 "document.documentElement.dataset.state === 'denied'"; then
	ok "401 (no credentials for build/1): data-state denied"
else
	not_ok "401 (no credentials for build/1): data-state denied" \
	    "data-state $(v_state)"
fi
is "... the page says it is not allowed" \
    "$(v_eval 'document.body.innerText.includes("not allowed")')" true
n=$(v_requests)
sleep 3
is "... and makes no request after" "$(v_requests)" "$n"
tok=$(token --sub carol --subscribe 'deploy/**')
v_eval "document.cookie = 'sselog_token=$tok; path=/'" >/dev/null
v_goto "$VIEWER?stream=build/1&events=/guarded/"
if v_wait 10 "document.documentElement.dataset.state === 'denied'" &&
    grep -q '	response	403	.*/guarded/build/1' "$V_OUT/net.log"; then
	ok "403 (a token for deploy/** reading build/1): data-state denied"
else
	not_ok "403 (a token for deploy/** reading build/1): data-state denied" \
	    "data-state $(v_state)"
fi
v_goto "$VIEWER?stream=deploy/1&events=/guarded/"
if v_wait 10 "document.documentElement.dataset.state === 'live'"; then
	ok "... the same token reading deploy/1: live"
else
	not_ok "... the same token reading deploy/1: live" "data-state $(v_state)"
fi

# ---- the responder killed and restarted mid-stream ----

v_restart_suite "$VIEWER" nginx

viewer_done "no script error on any page"
