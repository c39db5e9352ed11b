#!/bin/sh
# sselog-fcgi under systemd socket activation (contrib/sselog.socket and
# contrib/sselog.service), emulated with systemd-socket-activate: the
# listening socket arrives as fd 3 with LISTEN_FDS=1 and LISTEN_PID. nginx
# (contrib/nginx.conf) in front.
. "$SRCDIR/tests/integration/lib.sh"

command -v systemd-socket-activate >/dev/null 2>&1 ||
	bail "systemd-socket-activate is not installed (run build-aux/deps test)"
PORT=$(free_port)

template sselog.socket "$RUNDIR/sselog.socket"
template sselog.service "$RUNDIR/sselog.service"
template nginx.conf "$RUNDIR/sselog.conf"
# On PostgreSQL the role's password file, in a drop-in as `systemctl edit
# sselog.service` makes one (docs/scale-out.md): the service gets no
# other environment.
if [ "$TEST_LOG" = postgresql ]; then
	if ! mkdir -p "$RUNDIR/sselog.service.d" || ! printf \
	    '[Service]\nEnvironment=PGPASSFILE=%s\n' "$PGPASSFILE" \
	    >"$RUNDIR/sselog.service.d/override.conf"; then
		bail "cannot write the drop-in"
	fi
fi

# The units as systemd reads them (offline: nothing is started).
if (cd "$RUNDIR" && timeout 30 systemd-analyze verify --man=no \
    ./sselog.socket ./sselog.service) >"$RUNDIR/verify.log" 2>&1; then
	ok "systemd-analyze verify accepts sselog.socket and sselog.service"
else
	not_ok "systemd-analyze verify accepts sselog.socket and sselog.service" \
	    "$(cat "$RUNDIR/verify.log")"
fi

# What the units say: the socket's path, the service's command line and
# environment (the drop-in's too), which systemd-socket-activate passes on
# with -E: it gives the service no other.
listen=$(sed -n 's/^ListenStream=//p' "$RUNDIR/sselog.socket")
is "sselog.socket listens on the socket nginx.conf connects to" \
    "$listen" "$SOCK"
exec_start=$(sed -n 's/^ExecStart=//p' "$RUNDIR/sselog.service")
environment=$(sed -n 's/^Environment=//p' "$RUNDIR/sselog.service")
is "sselog.service passes SSELOG_DB" "$environment" "SSELOG_DB=$DB"
set --
while IFS= read -r t_env; do
	set -- "$@" -E "$t_env"
done <<ENV
$(sed -n 's/^Environment=//p' "$RUNDIR/sselog.service" \
    "$RUNDIR"/sselog.service.d/*.conf 2>/dev/null)
ENV

# systemd would run the service as its user (sselog) and make the socket
# group www-data, mode 0660; here both belong to www-data.
# shellcheck disable=SC2086 # the command line is split into words
(umask 007 && exec $AS_WWW systemd-socket-activate -l "$listen" \
    "$@" -- $exec_start) >"$RUNDIR/responder.log" 2>&1 &
T_DAEMONS="$T_DAEMONS $!"
PID_responder=$!
wait_until 10 test -S "$SOCK" || bail "systemd-socket-activate made no socket"
nginx_start "$PORT" "$RUNDIR/sselog.conf"

sse_suite "http://127.0.0.1:$PORT/events/"
client_leaves "$PID_responder" "http://127.0.0.1:$PORT/events/"

is "the responder runs in the process systemd-socket-activate started" \
    "$(readlink "/proc/$PID_responder/exe")" "$SSELOG_FCGI"
is "it was handed LISTEN_FDS=1" \
    "$(tr '\0' '\n' <"/proc/$PID_responder/environ" | grep '^LISTEN_FDS=')" \
    "LISTEN_FDS=1"
if [ "$TEST_LOG" = postgresql ]; then
	is "... and the drop-in's PGPASSFILE" \
	    "$(tr '\0' '\n' <"/proc/$PID_responder/environ" | grep '^PGPASSFILE=')" \
	    "PGPASSFILE=$PGPASSFILE"
fi
case $(readlink "/proc/$PID_responder/fd/3") in
socket:*) ok "fd 3 is its listening socket" ;;
*) not_ok "fd 3 is its listening socket" \
    "fd 3: $(readlink "/proc/$PID_responder/fd/3")" ;;
esac

# Stopping: systemd sends SIGTERM (KillSignal=SIGTERM); open streams end
# cleanly, so that browsers reconnect with Last-Event-ID, and the process
# exits.
open_stream stop "http://127.0.0.1:$PORT/events/stop/1"
s1=$(sselog publish stop/1 "before the stop")
arrives "a stream is open before the stop" stop "id: $s1"
kill -TERM "$PID_responder"
end_stream stop 10
is "SIGTERM ends the open stream cleanly (a complete response)" \
    "$CURL_RC" 0
# The end says when to come back: a retry: spread over a few seconds, so
# that the clients of a restart do not all come back at once.
sed 's/^retry: [0-9][0-9]*$/retry: N/' "$T_WORK/stop.b" >"$T_WORK/stop_n.b"
{ ev "$s1" "before the stop"; printf 'retry: N\n\n'; } >"$T_WORK/stop.expected"
is_body_file "... after the events it had, then a retry:" stop_n \
    "$T_WORK/stop.expected"
if wait_until 10 t_gone "$PID_responder"; then
	wait "$PID_responder"
	is "the responder exits with status 0 on SIGTERM" "$?" 0
else
	not_ok "the responder exits with status 0 on SIGTERM" \
	    "still running after 10 s"
fi

no_leftovers
done_testing
