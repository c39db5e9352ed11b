#!/bin/sh
# Two responders share one listening socket (spawn-fcgi -F 2), as under a
# process manager. One is stopped (SIGTERM) while it holds an open
# stream: it must stop accepting at once, so that every request made
# while it drains goes to the other and is served (200, never the 503 of
# a draining responder), end its stream with a complete response, and
# exit; the other goes on serving on the same socket.

# Several functions below are only called through wait_until.
# shellcheck disable=SC2317
. "$SRCDIR/tests/faults/lib.sh"

f_helpers
FC=$FAULT_CLIENT

# shellcheck disable=SC2086 # $RESPONDER_ARGS is a list of words
spawn-fcgi -s "$SOCK" -M 0660 -U "$WWW_USER" -G "$WWW_USER" \
    -u "$WWW_USER" -g "$WWW_USER" -F 2 -- \
    "$SSELOG_FCGI" -d "$DB" --prefix /events/ $RESPONDER_ARGS \
    >"$RUNDIR/spawn.log" 2>&1 ||
	bail "spawn-fcgi failed: $(cat "$RUNDIR/spawn.log")"
PIDS=$(sed -n 's/.*PID: \([0-9][0-9]*\).*/\1/p' "$RUNDIR/spawn.log")
# Stopped at exit, with the rest.
T_DAEMONS="$T_DAEMONS $PIDS"
[ "$(echo "$PIDS" | wc -w)" = 2 ] ||
	bail "spawn-fcgi did not name 2 processes: $(cat "$RUNDIR/spawn.log")"
wait_listening spawn

# A request straight to the socket, its answer in $T_WORK/NAME.out.
head_request() {	# NAME
	"$FC" fcgi "$SOCK" 5000 begin param:REQUEST_METHOD=HEAD \
	    param:REQUEST_URI=/events/keep/1 params stdin \
	    >"$T_WORK/$1.out" 2>"$T_WORK/$1.res"
}
status() {	# NAME
	sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T_WORK/$1.out"
}

sselog publish keep/1 first >/dev/null
# Each holds its listener; streams add a socket to the one that took it.
BASE=
for p in $PIDS; do
	BASE="$BASE $(t_sockets "$p")"
done
VICTIM=
SURVIVOR=
# Streams, one at a time until a responder holds one. Each client reads
# nothing for 4 s: a stopping responder waits up to 2 s for it to hang
# up once it has its whole response, which leaves time to see who
# accepts meanwhile.
n=0
while [ -z "$VICTIM" ] && [ "$n" -lt 4 ]; do
	n=$((n + 1))
	"$FC" fcgi "$SOCK" 10000 begin param:REQUEST_METHOD=GET \
	    param:REQUEST_URI=/events/keep/1 params stdin sleep:4000 \
	    >"$T_WORK/stream.$n.out" 2>"$T_WORK/stream.$n.res" &
	T_STREAMS="$T_STREAMS $!"
	sleep 0.3
	# shellcheck disable=SC2086 # one count a word
	set -- $BASE
	for p in $PIDS; do
		if [ "$(t_sockets "$p")" -gt "$1" ] && [ -z "$VICTIM" ]; then
			VICTIM=$p
			STREAM=$n
		else
			SURVIVOR=$p
		fi
		shift
	done
done
[ -n "$VICTIM" ] || bail "no responder took a stream"

# spawn-fcgi passed the listener as fd 0.
LISTENER=$(readlink "/proc/$VICTIM/fd/0")
t_listener_closed() {
	[ "$(readlink "/proc/$VICTIM/fd/0")" != "$LISTENER" ] && t_alive "$VICTIM"
}
t0=$(t_now_ms)
kill -TERM "$VICTIM"
if wait_until 1 t_listener_closed; then
	ok "SIGTERM: the responder closes its listening socket at once, while it drains ($(($(t_now_ms) - t0)) ms)"
else
	not_ok "SIGTERM: the responder closes its listening socket at once, while it drains" \
	    "after 1 s: $(t_alive "$VICTIM" && echo running || echo gone)," \
	    "fd 0: $(readlink "/proc/$VICTIM/fd/0"), the listener: $LISTENER"
fi
# Side by side, to be done well within the drain.
i=0
set --
while [ "$i" -lt 10 ]; do
	i=$((i + 1))
	head_request "head$i" &
	set -- "$@" $!
done
wait "$@"
got=
i=0
while [ "$i" -lt 10 ]; do
	i=$((i + 1))
	got="$got $(status "head$i")"
done
if t_alive "$VICTIM"; then
	ok "... and is still draining after 10 new requests ($(($(t_now_ms) - t0)) ms)"
else
	not_ok "... and is still draining after 10 new requests" \
	    "it exited before: what follows proves nothing"
fi
is "every request made meanwhile is served by the other (200)" "$got" \
    " 200 200 200 200 200 200 200 200 200 200"
check "the stopped responder exits (within 5 s)" wait_until 5 t_gone "$VICTIM"
t_stream_ended() {
	grep -q 'end_request=1' "$T_WORK/stream.$STREAM.res"
}
if wait_until 5 t_stream_ended; then
	ok "... having ended its stream with a complete response"
else
	not_ok "... having ended its stream with a complete response" \
	    "$(cat "$T_WORK/stream.$STREAM.res")"
fi
head_request last
is "the other still serves on the same socket" "$(status last)" 200
check "... and still runs" t_alive "$SURVIVOR"

no_leftovers
done_testing
