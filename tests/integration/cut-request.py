#!/usr/bin/env python3
"""tests/integration/cut-request.py: a client that dies mid-request.

    cut-request.py PORT REQUEST_FILE BYTES READY_FILE

Connects to 127.0.0.1:PORT, sends the first BYTES bytes of REQUEST_FILE
(a raw HTTP request, the body included), creates READY_FILE once they are
sent, then waits without reading anything, to be killed (kill -9): the
connection then ends wherever the sending stopped, as when a CI runner
dies or its network goes.
"""
import socket
import sys
import time


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: cut-request.py PORT REQUEST_FILE BYTES "
                         "READY_FILE\n")
        return 2
    port, path, count, ready = (int(sys.argv[1]), sys.argv[2],
                                int(sys.argv[3]), sys.argv[4])
    with open(path, "rb") as f:
        request = f.read()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request[:count])
    open(ready, "w").close()
    time.sleep(120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
