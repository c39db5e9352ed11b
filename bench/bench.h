/* What the benchmark clients bench/sse-load and bench/sse-pub (and the
 * fault tests' tests/faults/fault-client) share: their clocks, hex digits,
 * the CPU time they report, and the progress file through which sse-pub's
 * flow control follows sse-load's connections. Not part of sselog;
 * compiled with each client (bench/lib.sh, tests/faults/lib.sh):
 *
 *   cc -O2 -o sse-load bench/sse-load.c bench/bench.c
 */
#ifndef SSELOG_BENCH_H
#define SSELOG_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_REALTIME in ns: the NS of an event's data "SEQ NS", which the
 * publisher stamps and the load client measures latency from. */
int64_t now_ns(void);

/* CLOCK_MONOTONIC in ns, for durations and deadlines. */
int64_t mono_ns(void);

/* The value of the hex digit c, or -1 when it is not one. */
int hex_value(int c);

/* The user and system CPU seconds of getrusage(WHO): RUSAGE_SELF or
 * RUSAGE_CHILDREN. */
double cpu_seconds(int who);

/* The progress file (--progress FILE of both clients): int64_t slots,
 * shared read-write through mmap. sse-load creates it; PROGRESS_LOW + k is
 * the lowest sequence number that the open connections of its process k
 * have reached (INT64_MAX once that process is done); sse-pub writes its
 * last sequence number into PROGRESS_LAST once it is done (0 before). */
enum {
	PROGRESS_PROCS,		/* the number of sse-load processes */
	PROGRESS_LAST,
	PROGRESS_LOW,
};

/* Creates (or truncates) the progress file at path for procs processes,
 * every slot 0 but PROGRESS_PROCS. NULL with errno on failure. */
volatile int64_t *progress_create(const char *path, int procs);

/* Maps the progress file that sse-load made at path; *nslots its number of
 * slots. NULL with errno on failure (EINVAL: too short to be one). */
volatile int64_t *progress_map(const char *path, size_t *nslots);

#endif
