"""Sends one raw FastCGI HEAD request over TCP and prints the status line.

usage: fcgi-raw.py PORT PARAM_BYTES RECORD_BYTES

The request's parameters are padded with HTTP_X_MANY headers to at least
PARAM_BYTES, cut into FCGI_PARAMS records of RECORD_BYTES each, and sent
at once; the script prints the answer's "Status: ..." line (or "none"),
after the responder has ended the request or closed the connection.
"""
import socket
import struct
import sys


def record(rtype, content):
    return struct.pack('>BBHHBB', 1, rtype, 1, len(content), 0, 0) + content


def length(n):
    return bytes([n]) if n < 128 else struct.pack('>I', n | 0x80000000)


def pair(name, value):
    return length(len(name)) + length(len(value)) + name + value


def main():
    port, total, chunk = (int(a) for a in sys.argv[1:4])
    params = pair(b'REQUEST_METHOD', b'HEAD') + \
        pair(b'REQUEST_URI', b'/events/t/1')
    while len(params) < total:
        params += pair(b'HTTP_X_MANY', b'x' * 90)
    data = record(1, struct.pack('>HB5x', 1, 0))
    for i in range(0, len(params), chunk):
        data += record(4, params[i:i + chunk])
    data += record(4, b'') + record(5, b'')
    with socket.create_connection(('127.0.0.1', port), timeout=15) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        answer = b''
        try:
            while True:
                got = s.recv(65536)
                if not got:
                    break
                answer += got
        except OSError:
            pass
    out, i = b'', 0
    while i + 8 <= len(answer):
        rtype, clen, pad = answer[i + 1], answer[i + 4] << 8 | answer[i + 5], \
            answer[i + 6]
        if rtype == 6:
            out += answer[i + 8:i + 8 + clen]
        i += 8 + clen + pad
    status = [l for l in out.split(b'\r\n') if l.startswith(b'Status: ')]
    print(status[0].decode() if status else 'none')


main()
