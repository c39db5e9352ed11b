"""The tutorial SSE endpoint, as a baseline for bench/compare.sh.

What the tutorials show: a thread per client that asks the events table for
new rows every 100 ms and writes what it finds as text/event-stream. Not
part of sselog; written to be typical, not clever (each client has its own
SQLite connection and its own query, every 100 ms, however quiet the
stream).

    python3 bench/poll-server.py DB PORT

GET /poll/STREAM follows STREAM (from Last-Event-ID, else from now);
GET /stats answers the number of queries run so far.
"""
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB = sys.argv[1]
PORT = int(sys.argv[2])
POLL_S = 0.1

queries = 0
queries_lock = threading.Lock()


def count_query():
    global queries
    with queries_lock:
        queries += 1


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/stats":
            body = f"{queries}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/poll/"):
            self.send_error(404)
            return
        stream = self.path[len("/poll/"):].split("?")[0]
        db = sqlite3.connect(DB, timeout=10)
        try:
            last = self.headers.get("Last-Event-ID")
            if last is None:
                last = db.execute(
                    "SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
                count_query()
            last = int(last)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(b":\n\n")
            while True:
                rows = db.execute(
                    "SELECT id, event, data FROM events"
                    " WHERE stream = ? AND id > ? ORDER BY id",
                    (stream, last)).fetchall()
                count_query()
                if rows:
                    out = []
                    for id_, event, data in rows:
                        out.append(f"id: {id_}\n")
                        if event:
                            out.append(f"event: {event}\n")
                        for line in data.splitlines() or [""]:
                            out.append(f"data: {line}\n")
                        out.append("\n")
                    self.wfile.write("".join(out).encode())
                    last = rows[-1][0]
                time.sleep(POLL_S)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            db.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096


Server(("127.0.0.1", PORT), Handler).serve_forever()
