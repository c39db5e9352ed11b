"""wal-lock: holds an SQLite log in WAL mode locked as a connection
recovering its WAL does, for the fault tests (tests/faults/). Not part of
sselog.

usage: wal-lock.py DB SECONDS

Takes the write, checkpoint and recover locks of DB-shm (bytes 120 to 122,
as SQLite's unix VFS places them) and marks the shared wal-index header as
being rebuilt (its two copies differ), which is what every other
connection sees while a large WAL is recovered: a reader then gets
SQLITE_BUSY (SQLITE_BUSY_RECOVERY) through its busy handler, and a writer
waits for its busy timeout. Prints "held", holds for SECONDS, puts the
header back, prints "released" and exits (which drops the locks).

(PRAGMA locking_mode=EXCLUSIVE does not do it: its exclusive lock on the
database file waits for every reader that has the log open, such as a
running sselog-fcgi, to let go first. Holding the read-mark locks instead
makes a reader retry inside SQLite for up to 10 s, whatever its busy
timeout.)
"""
import fcntl
import os
import sys
import time

fd = os.open(sys.argv[1] + '-shm', os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 3, 120, os.SEEK_SET)
# A byte of the header's second copy (bytes 48 to 95).
saved = os.pread(fd, 1, 60)
os.pwrite(fd, bytes([saved[0] ^ 0xff]), 60)
print('held', flush=True)
time.sleep(float(sys.argv[2]))
os.pwrite(fd, saved, 60)
print('released', flush=True)
