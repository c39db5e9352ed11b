"""sse-watch: many event-stream subscribers that time every byte, for the
fault tests (tests/faults/). Not part of sselog.

usage: sse-watch.py PORT PATH COUNT SECONDS OUTDIR [LAST_EVENT_ID]

Opens COUNT HTTP/1.1 connections to 127.0.0.1:PORT, each sending
"GET PATH" with "Accept: text/event-stream" (and Last-Event-ID when
given), and reads them all until each response has ended or SECONDS have
passed. Writes "open COUNT" to OUTDIR/open once every response's headers
have arrived. For each connection N (from 1), OUTDIR/N.ids holds the ids
of the events it received, in order, one a line, and OUTDIR/summary a
line:

    N STATUS END MAX_SILENCE_MS EVENTS RETRIES

END is "complete" (the chunked body ended), "cut" (closed without its
end) or "open" (still open after SECONDS); MAX_SILENCE_MS the longest
time without a byte from the headers to the end of the response (or to
SECONDS); RETRIES the values of the retry: fields, comma-separated, or
"-".
"""
import os
import selectors
import socket
import sys
import time


class Conn:
    def __init__(self, n, port, path, last_id):
        self.n = n
        self.raw = b''
        self.head_done = False
        self.status = 0
        self.chunk_left = 0
        self.chunk_state = 'size'
        self.end = 'open'
        self.body = b''
        self.ids = []
        self.retries = []
        self.last = None
        self.max_gap = 0.0
        self.sock = socket.create_connection(('127.0.0.1', port))
        req = 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' \
            'Accept: text/event-stream\r\nConnection: close\r\n' % path
        if last_id:
            req += 'Last-Event-ID: %s\r\n' % last_id
        self.sock.sendall((req + '\r\n').encode())
        self.sock.setblocking(False)

    def tick(self, now):
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def lines(self, data):
        self.body += data
        while b'\n' in self.body:
            line, self.body = self.body.split(b'\n', 1)
            line = line.rstrip(b'\r')
            if line.startswith(b'id:'):
                self.ids.append(line[3:].strip().decode())
            elif line.startswith(b'retry:'):
                self.retries.append(line[6:].strip().decode())

    def dechunk(self, data):
        while data:
            if self.chunk_state == 'size':
                if b'\r\n' not in data:
                    self.raw = data
                    return
                size, data = data.split(b'\r\n', 1)
                self.chunk_left = int(size.split(b';')[0], 16)
                if self.chunk_left == 0:
                    self.end = 'complete'
                    return
                self.chunk_state = 'data'
            elif self.chunk_state == 'data':
                piece = data[:self.chunk_left]
                data = data[self.chunk_left:]
                self.chunk_left -= len(piece)
                self.lines(piece)
                if self.chunk_left == 0:
                    self.chunk_state = 'crlf'
            else:
                if len(data) < 2:
                    self.raw = data
                    return
                data = data[2:]
                self.chunk_state = 'size'

    def feed(self, data, now):
        self.tick(now)
        data = self.raw + data
        self.raw = b''
        if not self.head_done:
            if b'\r\n\r\n' not in data:
                self.raw = data
                return
            head, data = data.split(b'\r\n\r\n', 1)
            self.status = int(head.split(b' ', 2)[1])
            self.head_done = True
            self.chunked = b'transfer-encoding: chunked' in head.lower()
        if self.chunked:
            self.dechunk(data)
        else:
            self.lines(data)


def main():
    port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    seconds, out = float(sys.argv[4]), sys.argv[5]
    last_id = sys.argv[6] if len(sys.argv) > 6 else None
    sel = selectors.DefaultSelector()
    conns = [Conn(i + 1, port, path, last_id) for i in range(count)]
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    deadline = time.monotonic() + seconds
    live = len(conns)
    said_open = False
    while live > 0 and time.monotonic() < deadline:
        for key, _ in sel.select(0.1):
            c = key.data
            now = time.monotonic()
            try:
                data = c.sock.recv(65536)
            except OSError:
                data = b''
            if data:
                c.feed(data, now)
            if not data or c.end == 'complete':
                if c.end != 'complete':
                    c.tick(now)
                    c.end = 'cut'
                sel.unregister(c.sock)
                c.sock.close()
                live -= 1
        if not said_open and all(c.head_done for c in conns):
            with open(os.path.join(out, 'open'), 'w') as f:
                f.write('open %d\n' % count)
            said_open = True
    now = time.monotonic()
    with open(os.path.join(out, 'summary'), 'w') as f:
        for c in conns:
            if c.end == 'open':
                c.tick(now)
                c.sock.close()
            f.write('%d %d %s %d %d %s\n' % (
                c.n, c.status, c.end, round(c.max_gap * 1000), len(c.ids),
                ','.join(c.retries) or '-'))
            with open(os.path.join(out, '%d.ids' % c.n), 'w') as g:
                g.write(''.join(i + '\n' for i in c.ids))


main()
