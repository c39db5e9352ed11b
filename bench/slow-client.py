"""Clients that read slowly or not at all, for bench/memory-bound.sh; and a
steady source of large events for `sselog pipe`. Not part of sselog.

usage: slow-client.py hold TARGET PATH COUNT SECONDS [LAST_EVENT_ID]
       slow-client.py slow TARGET PATH RATE SECONDS [LAST_EVENT_ID]
       slow-client.py tick INTERVAL_MS COUNT BYTES

TARGET is fcgi:SOCKET (a FastCGI request straight to the responder's Unix
socket, as a web server sends it) or http:PORT (an HTTP/1.1 GET to
127.0.0.1:PORT, as EventSource sends it). PATH is the request's path
(/events/NAME); LAST_EVENT_ID, when given, is sent as Last-Event-ID.

hold: opens COUNT connections, sends each request and reads nothing for
SECONDS (a TCP connection gets a 4 KiB receive buffer, so that the kernel
holds little for it); prints "held N" once every request is sent, then at
the end one line: connections, how many had the start of an answer
waiting, and how many the server had closed.

slow: one connection that reads at most RATE bytes per second (4 KiB at a
time, on a steady schedule) for SECONDS or until the server ends it;
prints one line: bytes read, seconds, ended=1 and the time it ended when
the server closed it.

tick: prints COUNT lines, one every INTERVAL_MS on a fixed schedule, each
"SEQ NS" (NS: CLOCK_REALTIME in ns) padded with x to BYTES bytes: the input
of `sselog pipe`.
"""
import os
import select
import socket
import struct
import sys
import time


def fcgi_record(rtype, content):
    return struct.pack('>BBHHBB', 1, rtype, 1, len(content), 0, 0) + content


def fcgi_pair(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack('>I', n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def request(target, path, last_id):
    if target.startswith('fcgi:'):
        params = b''.join(fcgi_pair(k.encode(), v.encode()) for k, v in [
            ('REQUEST_METHOD', 'GET'), ('REQUEST_URI', path),
            ('SCRIPT_NAME', path), ('QUERY_STRING', ''),
            ('SERVER_PROTOCOL', 'HTTP/1.1'), ('GATEWAY_INTERFACE', 'CGI/1.1'),
            ('HTTP_ACCEPT', 'text/event-stream')] +
            ([('HTTP_LAST_EVENT_ID', last_id)] if last_id else []))
        return (fcgi_record(1, struct.pack('>HB5x', 1, 0)) +
                fcgi_record(4, params) + fcgi_record(4, b'') +
                fcgi_record(5, b''))
    head = 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' \
        'Accept: text/event-stream\r\n' % path
    if last_id:
        head += 'Last-Event-ID: %s\r\n' % last_id
    return (head + '\r\n').encode()


def connect(target):
    if target.startswith('fcgi:'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target[5:])
    elif target.startswith('http:'):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(('127.0.0.1', int(target[5:])))
    else:
        sys.exit('slow-client: TARGET is fcgi:SOCKET or http:PORT')
    return s


def hold(target, path, count, seconds, last_id=None):
    conns = []
    for _ in range(count):
        s = connect(target)
        s.sendall(request(target, path, last_id))
        conns.append(s)
    print('held %d' % len(conns), flush=True)
    time.sleep(seconds)
    answered, closed = 0, 0
    for s in conns:
        s.setblocking(False)
        try:
            got = s.recv(4096)
            answered += len(got) > 0
            closed += not got
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
        s.close()
    print('connections=%d answered=%d closed=%d' %
          (len(conns), answered, closed))


def slow(target, path, rate, seconds, last_id=None):
    s = connect(target)
    s.sendall(request(target, path, last_id))
    t0 = time.monotonic()
    total, ended, chunk = 0, None, 4096
    while time.monotonic() - t0 < seconds:
        due = t0 + total / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        r, _, _ = select.select([s], [], [], max(0.0, t0 + seconds -
                                                 time.monotonic()))
        if not r:
            break
        try:
            got = s.recv(chunk)
        except ConnectionResetError:
            got = b''
        if not got:
            ended = time.monotonic() - t0
            break
        total += len(got)
    s.close()
    print('read=%d secs=%.2f ended=%d ended_at=%s' %
          (total, time.monotonic() - t0, ended is not None,
           '%.2f' % ended if ended is not None else '-'))


def tick(interval_ms, count, size):
    t0 = time.monotonic()
    out = sys.stdout.buffer
    for i in range(1, count + 1):
        due = t0 + (i - 1) * interval_ms / 1000
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        line = b'%d %d ' % (i, time.time_ns())
        out.write(line + b'x' * max(0, size - len(line)) + b'\n')
        out.flush()


def main(a):
    try:
        if a[0] == 'hold' and len(a) in (5, 6):
            hold(a[1], a[2], int(a[3]), float(a[4]), *a[5:])
        elif a[0] == 'slow' and len(a) in (5, 6):
            slow(a[1], a[2], float(a[3]), float(a[4]), *a[5:])
        elif a[0] == 'tick' and len(a) == 4:
            tick(float(a[1]), int(a[2]), int(a[3]))
        else:
            raise IndexError
    except (IndexError, ValueError):
        sys.exit(__doc__.split('\n\n')[1])
    except BrokenPipeError:
        os._exit(0)


main(sys.argv[1:])
