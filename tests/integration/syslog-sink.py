"""Stands in for the syslog daemon: receives on a Unix datagram socket.

usage: syslog-sink.py SOCKET FILE

Binds SOCKET (normally /dev/log, where syslog(3) sends; mode 0666 so that
every user's programs reach it) and appends each message to FILE, one a
line, as it came ("<30>Dec  7 10:00:00 sselog-fcgi[42]: ..."). Exits 3,
touching nothing, when a syslog daemon already receives there; replaces a
socket file that nothing receives on. Removes SOCKET on SIGTERM or SIGINT.
"""
import os
import signal
import socket
import sys


def main():
    path, out = sys.argv[1:3]
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            probe.connect(path)
            sys.exit(3)
        except OSError:
            os.unlink(path)
        finally:
            probe.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)

    def stop(signo, frame):
        os.unlink(path)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(out, 'a', encoding='utf-8') as f:
        while True:
            msg = s.recv(65536).decode('utf-8', 'replace').rstrip('\n')
            f.write(msg + '\n')
            f.flush()


main()
