/* The responder's figures for Prometheus, summed over every process that
 * serves the same listening socket (spawn-fcgi -F N, several processes
 * on one systemd socket): a scrape that lands on any of them gives the
 * totals.
 *
 * The processes share a small file in /dev/shm named after the socket's
 * identity (st_dev and st_ino of the listening descriptor, the same in
 * every process that inherited it), with one slot per process. A process
 * claims a slot with an open file description lock on the slot's byte
 * (F_OFD_SETLK), which the kernel releases when the process is gone,
 * however it went: a slot whose lock nobody holds is dead, and the next
 * process that starts takes it over and adds to its counters, so that
 * no counter ever goes down when a process dies or is replaced. A dead
 * slot's counters still count; its gauges (open streams, last id) do
 * not. Only its owner writes a slot (relaxed atomic loads and stores: no
 * lock and no system call on the hot path); a scrape reads them all.
 * Each process holds a shared flock on the file as long as it runs. A
 * socket the responder made itself (--listen) dies with it, so its file
 * goes with its last process; an inherited one (fd 0, systemd's) may get
 * a new process, so its file stays for it, and a starter removes the
 * files of other sockets that nobody holds, so that /dev/shm does not
 * fill up with the figures of sockets long gone.
 *
 * Where no such file can be had (no /dev/shm, CGI: no listening socket),
 * a process counts in a slot of its own memory and a scrape shows its
 * own figures. The server, the clients, the hand-out and the writes call
 * in here; this module calls nothing of theirs.
 */
#ifndef SSELOG_METRICS_H
#define SSELOG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum metric_counter {
	M_EVENTS_SENT,		/* an event queued for a client, replay
				 * included, heartbeats not */
	M_CLIENTS_DROPPED,	/* did not read, memory ran out, or cut at
				 * a stop */
	M_LOG_QUERIES,		/* SQL statements run on the log */
	M_REPLAYS,		/* streams that started from a given id */
	M_GAPS,			/* sselog.gap events sent */
	M_HEARTBEATS,		/* heartbeat comments sent */
	M_PUBLISHED,		/* events appended over HTTP */
	M_PUBLISH_REFUSED,	/* writes answered with an error status */
	M_COUNTERS
};

enum metric_gauge {
	G_CLIENTS,		/* open event streams */
	G_LAST_ID,		/* the highest id this process has seen */
	G_GAUGES
};

/* The slots of one shared file: far more processes than anyone runs on
 * one socket. A process that finds them all taken counts alone. */
#define METRICS_SLOTS 256

struct metrics;

/* The figures of the processes on listen_fd's socket (-1: none, as in
 * CGI): the shared file is made or opened, and a slot claimed in it, as
 * the current user (call it after dropping root, so that the file is the
 * serving user's). own_socket: this process made the socket (--listen),
 * which nothing can hand to a replacement, so metrics_close() removes
 * the file when no other process holds it. Where that cannot be done the
 * process counts alone, and *note, when not NULL, says why in one line
 * for the log (empty when all is well or there is no socket). Returns
 * NULL only when memory runs out. */
struct metrics *metrics_open(int listen_fd, bool own_socket, char *note,
    size_t notelen);

/* The same on the file at path (used by metrics_open(), and by the tests
 * with a file of their own): NULL with the reason in note when the file
 * cannot be used. */
struct metrics *metrics_open_path(const char *path, char *note,
    size_t notelen);

/* Figures of this process alone, in its memory. NULL when memory runs
 * out. */
struct metrics *metrics_private(void);

/* Leaves the slot as a dead process leaves it: its counters stay in the
 * totals until another process takes it over; or, on a socket of this
 * process's own that no other process holds, removes the file. */
void metrics_close(struct metrics *m);

/* Whether the figures are shared with other processes. */
bool metrics_shared(const struct metrics *m);

void metrics_count(struct metrics *m, enum metric_counter c, uint64_t n);
void metrics_gauge_add(struct metrics *m, enum metric_gauge g, int64_t n);
void metrics_gauge_set(struct metrics *m, enum metric_gauge g, int64_t v);

/* A response with HTTP status code. */
void metrics_response(struct metrics *m, int code);

/* n clients were handed an event delay_ms after it was created. */
void metrics_delivery(struct metrics *m, int64_t delay_ms, uint64_t n);

/* The totals: counters of every slot, gauges of the live ones. */
uint64_t metrics_total(const struct metrics *m, enum metric_counter c);
int64_t metrics_gauge_total(const struct metrics *m, enum metric_gauge g);
/* The processes alive on the socket, this one included. */
size_t metrics_processes(const struct metrics *m);

/* The slots ever claimed in the file, alive or dead: what a replacement
 * that takes a dead slot over leaves unchanged. */
size_t metrics_slots_claimed(const struct metrics *m);

/* Appends the totals in the Prometheus text exposition format 0.0.4.
 * Returns 0, or -1 when memory runs out. */
int metrics_render(const struct metrics *m, struct buf *out);

#endif
