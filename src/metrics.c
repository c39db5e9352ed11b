#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The shared files: SHM_PREFIX, the layout's version, then the socket's
 * st_dev and st_ino. A layout that changes gets a new version, so that
 * an older responder on the same socket never reads it as its own. */
#define SHM_DIR "/dev/shm"
#define SHM_PREFIX "sselog-metrics-1-"

/* The HTTP statuses the responder answers with, each a series of its
 * own (all of them, zeros too, so that rate() sees each from the start);
 * anything else is counted as "other". */
static const int codes[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409,
	411, 413, 431, 500, 503 };
#define NCODES (sizeof codes / sizeof codes[0])

/* The delivery delay's buckets, in microseconds: 1 ms to 60 s. */
static const uint64_t bounds_us[] = { 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000,
	60000000 };
#define NBOUNDS (sizeof bounds_us / sizeof bounds_us[0])

/* One process's figures. Only its owner writes them; everyone reads.
 * Aligned so that no two owners write the same cache line. */
struct metrics_slot {
	_Atomic uint64_t claimed;	/* ever owned: 1 */
	_Atomic uint64_t pid;		/* its last owner */
	_Atomic uint64_t counter[M_COUNTERS];
	_Atomic uint64_t response[NCODES + 1];	/* the last: other */
	_Atomic uint64_t bucket[NBOUNDS + 1];	/* not cumulative; the
						 * last: above 60 s */
	_Atomic uint64_t delay_sum_ms;
	_Atomic int64_t gauge[G_GAUGES];
} __attribute__((aligned(64)));

struct metrics {
	struct metrics_slot *slots;	/* METRICS_SLOTS of them, shared; or
					 * only own, private */
	struct metrics_slot *own;
	size_t nslots;
	int fd;				/* the shared file; -1: private */
	char *remove_path;		/* removed at close if nobody else
					 * holds it (own socket), or NULL */
	bool off;			/* bench/metrics-cost.sh: nothing is
					 * counted (SSELOG_BENCH_NO_METRICS) */
};

static void
note_set(char *note, size_t notelen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note_set(char *note, size_t notelen, const char *fmt, ...)
{
	va_list ap;

	if (note == NULL || notelen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(note, notelen, fmt, ap);
	va_end(ap);
}

/* ---- the owner's writes: relaxed, no read-modify-write instruction
 * needed since nobody else writes the slot ---- */

static void
add(_Atomic uint64_t *v, uint64_t n)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed)
	    + n, memory_order_relaxed);
}

void
metrics_count(struct metrics *m, enum metric_counter c, uint64_t n)
{
	if (!m->off)
		add(&m->own->counter[c], n);
}

void
metrics_gauge_add(struct metrics *m, enum metric_gauge g, int64_t n)
{
	_Atomic int64_t *v = &m->own->gauge[g];

	if (m->off)
		return;
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed)
	    + n, memory_order_relaxed);
}

void
metrics_gauge_set(struct metrics *m, enum metric_gauge g, int64_t v)
{
	if (!m->off)
		atomic_store_explicit(&m->own->gauge[g], v,
		    memory_order_relaxed);
}

void
metrics_response(struct metrics *m, int code)
{
	size_t i = 0;

	if (m->off)
		return;
	while (i < NCODES && codes[i] != code)
		i++;
	add(&m->own->response[i], 1);
}

void
metrics_delivery(struct metrics *m, int64_t delay_ms, uint64_t n)
{
	/* A publisher's clock ahead of ours: no delay, rather than none
	 * counted. */
	uint64_t us = delay_ms > 0 ? (uint64_t)delay_ms * 1000 : 0;
	size_t i = 0;

	if (m->off)
		return;
	while (i < NBOUNDS && us > bounds_us[i])
		i++;
	add(&m->own->bucket[i], n);
	add(&m->own->delay_sum_ms, (uint64_t)(delay_ms > 0 ? delay_ms : 0) *
	    n);
}

/* ---- slots ---- */

/* An open file description lock on slot i's byte (its offset in the
 * file: the locks are advisory, apart from the data). */
static struct flock
slot_lock(size_t i, short type)
{
	return (struct flock){ .l_type = type, .l_whence = SEEK_SET,
	    .l_start = (off_t)i, .l_len = 1 };
}

/* Whether a process holds slot i: ours always is. */
static bool
slot_alive(const struct metrics *m, size_t i)
{
	if (&m->slots[i] == m->own)
		return true;
	if (m->fd == -1)
		return false;
	struct flock fl = slot_lock(i, F_WRLCK);
	/* Unknown: count it as alive rather than let a gauge drop. */
	if (fcntl(m->fd, F_OFD_GETLK, &fl) == -1)
		return true;
	return fl.l_type != F_UNLCK;
}

/* Claims the first slot nobody holds: a dead process's, whose counters
 * go on from where they were, or a fresh one. Returns 0, or -1 when all
 * are held. */
static int
claim(struct metrics *m)
{
	for (size_t i = 0; i < m->nslots; i++) {
		struct flock fl = slot_lock(i, F_WRLCK);
		if (fcntl(m->fd, F_OFD_SETLK, &fl) == -1)
			continue;
		struct metrics_slot *s = &m->slots[i];
		/* The gauges were the dead owner's. */
		for (size_t g = 0; g < G_GAUGES; g++)
			atomic_store_explicit(&s->gauge[g], 0,
			    memory_order_relaxed);
		atomic_store_explicit(&s->pid, (uint64_t)getpid(),
		    memory_order_relaxed);
		atomic_store_explicit(&s->claimed, 1, memory_order_release);
		m->own = s;
		return 0;
	}
	return -1;
}

struct metrics *
metrics_private(void)
{
	struct metrics *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->fd = -1;
	m->nslots = 1;
	m->slots = m->own = aligned_alloc(_Alignof(struct metrics_slot),
	    sizeof *m->own);
	if (m->own == NULL) {
		free(m);
		return NULL;
	}
	memset(m->own, 0, sizeof *m->own);
	atomic_store(&m->own->claimed, 1);
	atomic_store(&m->own->pid, (uint64_t)getpid());
	return m;
}

/* Opens path as the shared file, with a shared flock held: created
 * (mode 0600) if need be, never through a symbolic link, refused if
 * another user owns it or others may read it (/dev/shm is everyone's).
 * Returns the descriptor, or -1 with the reason in note. */
static int
open_shared(const char *path, char *note, size_t notelen)
{
	size_t size = METRICS_SLOTS * sizeof(struct metrics_slot);

	/* A starter that removed the file as stale between our open and
	 * our flock: open the new one. */
	for (int tries = 0; tries < 10; tries++) {
		struct stat fs, ps;
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd == -1) {
			note_set(note, notelen, "%s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_SH) == -1 || fstat(fd, &fs) == -1) {
			note_set(note, notelen, "%s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (stat(path, &ps) == -1 || ps.st_ino != fs.st_ino ||
		    ps.st_dev != fs.st_dev) {
			close(fd);
			continue;
		}
		if (fs.st_uid != geteuid() || (fs.st_mode & 077) != 0 ||
		    !S_ISREG(fs.st_mode)) {
			note_set(note, notelen, "%s: not a file of this user "
			    "with mode 0600: not used", path);
			close(fd);
			return -1;
		}
		/* Every process sizes it alike; new bytes read as zeros. */
		if ((size_t)fs.st_size != size &&
		    ftruncate(fd, (off_t)size) == -1) {
			note_set(note, notelen, "%s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		return fd;
	}
	note_set(note, notelen, "%s: removed again and again while opening",
	    path);
	return -1;
}

struct metrics *
metrics_open_path(const char *path, char *note, size_t notelen)
{
	size_t size = METRICS_SLOTS * sizeof(struct metrics_slot);
	struct metrics *m = calloc(1, sizeof *m);

	if (m == NULL) {
		note_set(note, notelen, "out of memory");
		return NULL;
	}
	if ((m->fd = open_shared(path, note, notelen)) == -1) {
		free(m);
		return NULL;
	}
	m->slots = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
	    0);
	if (m->slots == MAP_FAILED) {
		note_set(note, notelen, "%s: %s", path, strerror(errno));
		close(m->fd);
		free(m);
		return NULL;
	}
	m->nslots = METRICS_SLOTS;
	if (claim(m) == -1) {
		note_set(note, notelen, "%s: all %d slots are held by live "
		    "processes", path, METRICS_SLOTS);
		metrics_close(m);
		return NULL;
	}
	return m;
}

/* Removes the shared files of other sockets that no process holds any
 * more: their sockets are gone (or will have to start afresh). Our own
 * socket's file is kept, so that its counters go on across a restart of
 * every process that keeps the socket (systemd's). */
static void
remove_stale(const char *own)
{
	DIR *d = opendir(SHM_DIR);
	struct dirent *e;
	char path[sizeof SHM_DIR + 256];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, SHM_PREFIX, strlen(SHM_PREFIX)) != 0 ||
		    strcmp(e->d_name, own) == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", SHM_DIR, e->d_name);
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			continue;	/* another user's */
		struct stat fs, ps;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    fstat(fd, &fs) == 0 && fs.st_uid == geteuid() &&
		    stat(path, &ps) == 0 && ps.st_ino == fs.st_ino &&
		    ps.st_dev == fs.st_dev)
			unlink(path);
		close(fd);
	}
	closedir(d);
}

struct metrics *
metrics_open(int listen_fd, bool own_socket, char *note, size_t notelen)
{
	struct stat st;
	char name[128], path[sizeof SHM_DIR + sizeof name];
	struct metrics *m;

	note_set(note, notelen, "%s", "");
	/* Only bench/metrics-cost.sh sets it, to measure what counting
	 * costs the fan-out against a branch that skips it. */
	if (getenv("SSELOG_BENCH_NO_METRICS") != NULL) {
		if ((m = metrics_private()) != NULL)
			m->off = true;
		return m;
	}
	if (listen_fd < 0)
		return metrics_private();
	if (fstat(listen_fd, &st) == -1) {
		note_set(note, notelen, "the listening socket: %s",
		    strerror(errno));
		return metrics_private();
	}
	snprintf(name, sizeof name, SHM_PREFIX "%jx-%jx",
	    (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	snprintf(path, sizeof path, "%s/%s", SHM_DIR, name);
	remove_stale(name);
	if ((m = metrics_open_path(path, note, notelen)) == NULL)
		return metrics_private();
	/* Without it the file would stay behind until another responder
	 * starts: only an error message's worth. */
	if (own_socket && (m->remove_path = strdup(path)) == NULL)
		note_set(note, notelen, "%s: out of memory: left behind at "
		    "exit", path);
	return m;
}

/* Unlinks path, the file open on fd, if this process alone holds it:
 * our shared flock becomes exclusive only when nobody else holds one. A
 * process that opened it meanwhile finds it gone after its flock and
 * opens a new one (open_shared()). */
static void
remove_if_alone(int fd, const char *path)
{
	struct stat fs, ps;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &fs) == 0 &&
	    stat(path, &ps) == 0 && ps.st_ino == fs.st_ino &&
	    ps.st_dev == fs.st_dev)
		unlink(path);
}

void
metrics_close(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->fd == -1) {
		free(m->own);
	} else {
		munmap(m->slots, m->nslots * sizeof *m->slots);
		if (m->remove_path != NULL)
			remove_if_alone(m->fd, m->remove_path);
		close(m->fd);	/* releases the slot's lock and the flock */
	}
	free(m->remove_path);
	free(m);
}

bool
metrics_shared(const struct metrics *m)
{
	return m->fd != -1;
}

/* ---- reading ---- */

static uint64_t
get(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static bool
slot_claimed(const struct metrics *m, size_t i)
{
	return atomic_load_explicit(&m->slots[i].claimed,
	    memory_order_acquire) != 0;
}

uint64_t
metrics_total(const struct metrics *m, enum metric_counter c)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < m->nslots; i++)
		if (slot_claimed(m, i))
			sum += get(&m->slots[i].counter[c]);
	return sum;
}

int64_t
metrics_gauge_total(const struct metrics *m, enum metric_gauge g)
{
	int64_t v = 0;

	for (size_t i = 0; i < m->nslots; i++) {
		if (!slot_claimed(m, i) || !slot_alive(m, i))
			continue;
		int64_t s = atomic_load_explicit(&m->slots[i].gauge[g],
		    memory_order_relaxed);
		/* The last id is the highest any process saw; streams
		 * add up. */
		if (g == G_LAST_ID)
			v = s > v ? s : v;
		else
			v += s;
	}
	return v;
}

size_t
metrics_processes(const struct metrics *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nslots; i++)
		n += slot_claimed(m, i) && slot_alive(m, i);
	return n;
}

size_t
metrics_slots_claimed(const struct metrics *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nslots; i++)
		n += slot_claimed(m, i);
	return n;
}

/* What the exposition says of each counter. */
static const struct {
	const char *name, *help;
} counter_text[M_COUNTERS] = {
	[M_EVENTS_SENT] = { "sselog_events_sent_total", "Events sent to "
	    "clients, one per event per client, replays included, "
	    "heartbeats not." },
	[M_CLIENTS_DROPPED] = { "sselog_clients_dropped_total", "Clients "
	    "dropped: they did not read their events, memory ran out, or "
	    "their stream did not end in time at a stop (they reconnect "
	    "with their Last-Event-ID)." },
	[M_LOG_QUERIES] = { "sselog_log_queries_total", "SQL statements "
	    "run on the event log." },
	[M_REPLAYS] = { "sselog_replays_total", "Streams that started from "
	    "a given id (Last-Event-ID or lastEventId) and so read their "
	    "backlog from the log." },
	[M_GAPS] = { "sselog_gaps_sent_total", "sselog.gap events sent: "
	    "history asked for had been pruned, or the start was past the "
	    "log's end." },
	[M_HEARTBEATS] = { "sselog_heartbeats_total", "Heartbeat comments "
	    "sent on silent streams." },
	[M_PUBLISHED] = { "sselog_published_events_total", "Events "
	    "appended over HTTP (POST, PUT ?lines, and the close of a "
	    "DELETE)." },
	[M_PUBLISH_REFUSED] = { "sselog_publish_refused_total", "Write "
	    "requests (POST, PUT, DELETE) answered with an error status." },
};

static int
render_counter(const struct metrics *m, struct buf *out,
    enum metric_counter c)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64
	    "\n", counter_text[c].name, counter_text[c].help,
	    counter_text[c].name, counter_text[c].name, metrics_total(m, c));
}

/* The sum over every slot of an array of counters, at index i. */
static uint64_t
sum_at(const struct metrics *m, size_t offset, size_t i)
{
	uint64_t sum = 0;

	for (size_t s = 0; s < m->nslots; s++) {
		if (!slot_claimed(m, s))
			continue;
		const _Atomic uint64_t *a = (const _Atomic uint64_t *)
		    ((const char *)&m->slots[s] + offset);
		sum += get(&a[i]);
	}
	return sum;
}

static int
render_responses(const struct metrics *m, struct buf *out)
{
	size_t at = offsetof(struct metrics_slot, response);

	if (buf_append_str(out, "# HELP sselog_responses_total Responses by "
	    "HTTP status code (an event stream is a 200 from its start).\n"
	    "# TYPE sselog_responses_total counter\n") == -1)
		return -1;
	for (size_t i = 0; i < NCODES; i++)
		if (buf_printf(out, "sselog_responses_total{code=\"%d\"} %"
		    PRIu64 "\n", codes[i], sum_at(m, at, i)) == -1)
			return -1;
	uint64_t other = sum_at(m, at, NCODES);
	if (other > 0 && buf_printf(out, "sselog_responses_total{code="
	    "\"other\"} %" PRIu64 "\n", other) == -1)
		return -1;
	return 0;
}

static int
render_delay(const struct metrics *m, struct buf *out)
{
	size_t at = offsetof(struct metrics_slot, bucket);
	uint64_t cumulative = 0;

	if (buf_append_str(out, "# HELP sselog_delivery_delay_seconds From "
	    "an event's creation in the log to its being queued for a live "
	    "client (replays not included).\n"
	    "# TYPE sselog_delivery_delay_seconds histogram\n") == -1)
		return -1;
	for (size_t i = 0; i <= NBOUNDS; i++) {
		cumulative += sum_at(m, at, i);
		char le[32];
		if (i == NBOUNDS)
			snprintf(le, sizeof le, "+Inf");
		else
			snprintf(le, sizeof le, "%g", bounds_us[i] / 1e6);
		if (buf_printf(out, "sselog_delivery_delay_seconds_bucket{le="
		    "\"%s\"} %" PRIu64 "\n", le, cumulative) == -1)
			return -1;
	}
	uint64_t sum_ms = sum_at(m, offsetof(struct metrics_slot,
	    delay_sum_ms), 0);
	return buf_printf(out, "sselog_delivery_delay_seconds_sum %" PRIu64
	    ".%03" PRIu64 "\nsselog_delivery_delay_seconds_count %" PRIu64
	    "\n", sum_ms / 1000, sum_ms % 1000, cumulative);
}

int
metrics_render(const struct metrics *m, struct buf *out)
{
	if (buf_printf(out, "# HELP sselog_clients Open event streams.\n"
	    "# TYPE sselog_clients gauge\nsselog_clients %" PRId64 "\n"
	    "# HELP sselog_log_last_id The highest event id the responders "
	    "have seen in the log.\n# TYPE sselog_log_last_id gauge\n"
	    "sselog_log_last_id %" PRId64 "\n"
	    "# HELP sselog_processes Responder processes alive on this "
	    "listening socket.\n# TYPE sselog_processes gauge\n"
	    "sselog_processes %zu\n", metrics_gauge_total(m, G_CLIENTS),
	    metrics_gauge_total(m, G_LAST_ID), metrics_processes(m)) == -1)
		return -1;
	for (int c = 0; c < M_COUNTERS; c++)
		if (render_counter(m, out, (enum metric_counter)c) == -1)
			return -1;
	if (render_responses(m, out) == -1)
		return -1;
	return render_delay(m, out);
}
