"""Keeps N FastCGI responders on one listening socket, as a supervisor
does with a socket that outlives its processes (systemd's socket unit
and a service with Restart=always): a responder that dies is replaced by
a new one on the same socket.

usage: fcgi-pool.py SOCKET N COMMAND [ARGS...]

SOCKET is made (mode 0666) and listened on; each COMMAND gets it as its
standard input, as spawn-fcgi gives it. On SIGTERM the responders get
SIGTERM, and the pool exits once they have.
"""
import os
import signal
import socket
import sys


def main():
    path, count, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(1024)
    children = set()

    def spawn():
        pid = os.fork()
        if pid == 0:
            os.dup2(listener.fileno(), 0)
            os.execvp(cmd[0], cmd)
        children.add(pid)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        for _ in range(count):
            spawn()
        while True:
            pid, _ = os.wait()
            children.discard(pid)
            spawn()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)
        os.unlink(path)


main()
