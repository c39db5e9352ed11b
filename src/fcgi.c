#include "fcgi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi_head.h"
#include "log.h"
#include "loop.h"

/* Connections accepted, and those since closed by the doorman or taken
 * by the event loop (fcgi_request_free()): a stopping process waits for
 * the difference, so that no connection it accepted goes unanswered. */
static atomic_size_t accepted_n, settled_n;

#define SD_LISTEN_FDS_START 3

static bool
is_listening_socket(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
	    on;
}

/* systemd passes sockets from fd 3 on, with LISTEN_PID naming us; libfcgi
 * itself only looks at fd 0 and would decide that we run as a CGI. */
static int
systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() ||
	    atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return is_listening_socket(SD_LISTEN_FDS_START) ?
	    SD_LISTEN_FDS_START : -1;
}

/* The socket file --listen unix:PATH made, removed again on the way out
 * so that a stale file does not outlive the responder; its device and
 * inode, so that only that file is removed. A restart starts the next
 * responder while this one drains, and the next one replaces the file
 * with its own: that one must stay, or the web server finds no socket. */
static char *socket_path;
static dev_t socket_dev;
static ino_t socket_ino;

void
fcgi_remove_socket(void)
{
	struct stat sb;

	if (socket_path == NULL)
		return;
	if (lstat(socket_path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    sb.st_dev == socket_dev && sb.st_ino == socket_ino)
		unlink(socket_path);
	free(socket_path);
	socket_path = NULL;
}

static int
listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "--listen unix:%s: path too long", path);
		return -2;
	}
	strcpy(sa.sun_path, path);
	/* A socket left by an earlier run; never remove anything else. */
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    lstat(path, &sb) == -1 ||
	    /* The web server's workers run as another user. */
	    chmod(path, 0666) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "--listen unix:%s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -2;
	}
	socket_path = strdup(path);
	socket_dev = sb.st_dev;
	socket_ino = sb.st_ino;
	return fd;
}

static int
listen_tcp(const char *spec, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *ai = NULL;
	int fd = -1, on = 1, rc;

	if (colon == NULL || colon == spec || (size_t)(colon - spec) >=
	    sizeof host || colon[1] == '\0') {
		snprintf(err, errlen, "--listen %s: use unix:PATH or "
		    "HOST:PORT", spec);
		return -2;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	if ((rc = getaddrinfo(h, colon + 1, &hints, &ai)) != 0) {
		snprintf(err, errlen, "--listen %s: %s", spec,
		    gai_strerror(rc));
		return -2;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "--listen %s: %s", spec, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -2;
	}
	freeaddrinfo(ai);
	return fd;
}

int
fcgi_listener(const char *listen_spec, char *err, size_t errlen)
{
	int fd;

	if (listen_spec != NULL) {
		if (strncmp(listen_spec, "unix:", 5) == 0)
			return listen_unix(listen_spec + 5, err, errlen);
		return listen_tcp(listen_spec, err, errlen);
	}
	if ((fd = systemd_socket()) != -1)
		return fd;
	return is_listening_socket(0) ? 0 : -1;
}

void
fcgi_request_free(struct fcgi_request *r)
{
	if (r == NULL)
		return;
	free((char *)r->params.method);
	free((char *)r->params.query_string);
	free((char *)r->params.request_uri);
	free((char *)r->params.path_info);
	free((char *)r->params.last_event_id);
	free((char *)r->params.origin);
	free((char *)r->params.accept);
	free((char *)r->params.streams);
	free((char *)r->params.remote_user);
	free((char *)r->params.authorization);
	free((char *)r->params.cookie);
	free((char *)r->params.idempotency_key);
	free((char *)r->params.content_length);
	free((char *)r->params.metrics);
	atomic_fetch_add(&settled_n, 1);
	free(r);
}

/* The value of the last parameter called name, as PHP-FPM takes it: nginx
 * sends every fastcgi_param line, so `fastcgi_param REMOTE_USER "";` after
 * `include fastcgi_params;` must win over the one the include sent
 * (FCGX_GetParam() returns the first). */
static const char *
last_param(const char *name, FCGX_ParamArray envp)
{
	size_t len = strlen(name);
	const char *v = NULL;

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			v = *envp + len + 1;
	return v;
}

static int
copy_param(const char **dst, const char *name, FCGX_ParamArray envp)
{
	const char *v = last_param(name, envp);

	*dst = NULL;
	if (v == NULL)
		return 0;
	return (*dst = strdup(v)) == NULL ? -1 : 0;
}

/* Copies what the responder needs of the request, so that libfcgi's own
 * copy can go. */
static int
copy_params(struct fcgi_request *r, FCGX_Request *req)
{
	r->request_id = (unsigned)req->requestId;
	if (copy_param(&r->params.method, "REQUEST_METHOD", req->envp) ||
	    copy_param(&r->params.query_string, "QUERY_STRING", req->envp) ||
	    copy_param(&r->params.request_uri, "REQUEST_URI", req->envp) ||
	    copy_param(&r->params.path_info, "PATH_INFO", req->envp) ||
	    copy_param(&r->params.last_event_id, "HTTP_LAST_EVENT_ID",
	    req->envp) ||
	    copy_param(&r->params.origin, "HTTP_ORIGIN", req->envp) ||
	    copy_param(&r->params.accept, "HTTP_ACCEPT", req->envp) ||
	    copy_param(&r->params.streams, "SSELOG_STREAMS", req->envp) ||
	    copy_param(&r->params.remote_user, "REMOTE_USER", req->envp) ||
	    copy_param(&r->params.authorization, "HTTP_AUTHORIZATION",
	    req->envp) ||
	    copy_param(&r->params.cookie, "HTTP_COOKIE", req->envp) ||
	    copy_param(&r->params.idempotency_key, "HTTP_IDEMPOTENCY_KEY",
	    req->envp) ||
	    copy_param(&r->params.content_length, "CONTENT_LENGTH",
	    req->envp) ||
	    copy_param(&r->params.metrics, "SSELOG_METRICS", req->envp))
		return -1;
	return 0;
}

/* ---- the doorman ----
 *
 * The acceptor (below) passes each new connection to the doorman, which
 * keeps it, in an epoll set of its own, until the bytes waiting on it
 * hold a whole request head (fcgi_head.h). A peer that sends half a
 * request and stalls holds a slot, not a thread, and is closed after
 * HEAD_TIMEOUT_MS. Requests then go to the event loop through notify_fd.
 *
 * libfcgi stays the FastCGI library: it decodes the parameters. But it
 * never sees a connection, because what it does with one can block this
 * thread, which every waiting connection shares: it reads with blocking
 * reads, and when it gives up on a request it closes the connection with
 * a half-close, then reads until the peer has been silent for 2 s
 * (os_unix.c, OS_Close, from FCGX_Accept_r through FCGX_Free), which a
 * peer that trickles bytes makes last for ever. So the doorman takes the
 * head off the socket itself (its bytes are all there) and gives libfcgi
 * a pipe holding it and nothing more: libfcgi's reads end at the head's
 * end, and its close of a pipe drains nothing (shutdown() fails with
 * ENOTSOCK). What follows the head on the socket, the request's body,
 * stays there for the event loop.
 */

/* How long a connection may take to send its request's parameters. */
#define HEAD_TIMEOUT_MS 10000
/* The send buffer of each FastCGI connection (see take_accepted). */
#define FCGI_SNDBUF (64 * 1024)
/* Connections still sending their request; past it, the oldest goes. */
#define MAX_WAITING 1024
#define ACCEPTED_KEY UINT64_MAX	/* epoll key of the acceptor's pipe */

struct waiting {
	int fd;			/* -1: a free slot */
	uint32_t generation;	/* tells a reused slot's events from those
				 * of the connection it held before */
	int64_t deadline_ms;
	size_t need;		/* bytes to wait for before looking again */
};

struct doorman {
	int listen_fd;
	pthread_t acceptor;	/* joinable, so that its id stays valid */
	bool started;
	atomic_bool stopping;	/* fcgi_stop_accepting() was called */
	int accepted[2];	/* the acceptor writes new descriptors here */
	int notify_fd;
	int epoll_fd;
	const char *web_server_addrs;	/* FCGI_WEB_SERVER_ADDRS, or NULL */
	unsigned char *head;		/* FCGI_HEAD_BYTES_MAX bytes */
	struct waiting slot[MAX_WAITING];
	size_t nwaiting;
	FCGX_Request req;
	time_t last_complaint;
};

static struct doorman doorman;

size_t
fcgi_in_flight(void)
{
	return atomic_load(&accepted_n) - atomic_load(&settled_n);
}

/* Closes a connection the doorman gives up on. */
static void
hang_up(int fd)
{
	close(fd);
	atomic_fetch_add(&settled_n, 1);
}

/* Says what went wrong (err: an errno value, or 0) at most once a second
 * (*last is when it last did): a flood of connections must not flood the
 * log as well. */
static void
complain(time_t *last, const char *what, int err)
{
	time_t now = time(NULL);

	if (now != *last) {
		if (err != 0)
			log_error("%s: %s", what, strerror(err));
		else
			log_error("%s", what);
	}
	*last = now;
}

/* The write blocks only while the event loop is a pipe's worth of
 * requests behind (8,192), and the loop waits on no peer: meanwhile the
 * doorman takes no more heads, which wait in the kernel. Dropping
 * requests instead would turn a moment's load into errors. */
static void
pass_on(struct doorman *d, struct fcgi_request *r)
{
	ssize_t n;

	while ((n = write(d->notify_fd, &r, sizeof r)) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof r) {
		complain(&d->last_complaint, "cannot pass a request on", errno);
		close(r->fd);
		fcgi_request_free(r);
	}
}

static void
release(struct doorman *d, struct waiting *w, bool close_it)
{
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	if (close_it)
		hang_up(w->fd);
	w->fd = -1;
	d->nwaiting--;
}

/* A request for the event loop, which takes over fd; NULL (fd closed)
 * when memory runs out. */
static struct fcgi_request *
request_new(struct doorman *d, int fd, enum fcgi_verdict verdict)
{
	struct fcgi_request *r = calloc(1, sizeof *r);

	if (r == NULL) {
		complain(&d->last_complaint, "cannot take a request", errno);
		hang_up(fd);
		return NULL;
	}
	r->fd = fd;
	r->verdict = verdict;
	return r;
}

/* Takes the len bytes of a whole head off fd into d->head. They are in
 * the receive queue, so this does not wait; returns false when fewer
 * come (the peer reset the connection, say). */
static bool
take_head(struct doorman *d, int fd, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, d->head + got, len - got, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			complain(&d->last_complaint, "cannot read a request "
			    "head", n == 0 ? ECONNRESET : errno);
			return false;
		}
		got += (size_t)n;
	}
	return true;
}

/* A pipe holding the len bytes at d->head, and closed after them: its
 * read end, or -1. */
static int
head_pipe(struct doorman *d, size_t len)
{
	int p[2], cap;
	ssize_t n = -1;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		complain(&d->last_complaint, "cannot make a pipe for a request "
		    "head", errno);
		return -1;
	}
	/* Heads reach FCGI_HEAD_BYTES_MAX; a pipe holds 64 KiB, or one
	 * page once the user has many (pipe(7), pipe-user-pages-soft). */
	if ((cap = fcntl(p[1], F_GETPIPE_SZ)) != -1 && ((size_t)cap >= len ||
	    fcntl(p[1], F_SETPIPE_SZ, (int)len) != -1))
		n = write(p[1], d->head, len);
	int err = n == -1 ? errno : EAGAIN;
	close(p[1]);
	if (n != (ssize_t)len) {
		complain(&d->last_complaint, "cannot pass a request head to "
		    "libfcgi", err);
		close(p[0]);
		return -1;
	}
	return p[0];
}

/* Has libfcgi decode the whole head of len bytes waiting on fd, and
 * passes the request on. */
static void
decode(struct doorman *d, int fd, size_t len)
{
	int head_fd;

	if (!take_head(d, fd, len) || (head_fd = head_pipe(d, len)) == -1) {
		hang_up(fd);
		return;
	}
	struct fcgi_request *r = request_new(d, fd, FCGI_VERDICT_SERVE);
	if (r == NULL) {
		close(head_fd);
		return;
	}
	/* An open connection with keepConnection set is one that libfcgi
	 * goes on reading rather than accepting anew (FCGX_Accept_r). */
	d->req.ipcFd = head_fd;
	d->req.keepConnection = 1;
	int rc = FCGX_Accept_r(&d->req);
	if (rc < 0) {
		/* libfcgi closed the pipe; the listener it was given (-1)
		 * kept it from accepting another connection, and the error
		 * is that one's: fcgi_head_check() and libfcgi disagree. */
		complain(&d->last_complaint, "libfcgi refused a request head "
		    "that looked whole", 0);
		d->req.ipcFd = -1;
		hang_up(fd);
		free(r);
		return;
	}
	rc = copy_params(r, &d->req);
	/* Free libfcgi's streams without writing anything or closing. */
	FCGX_Free(&d->req, 0);
	d->req.ipcFd = -1;
	close(head_fd);
	if (rc == -1) {
		complain(&d->last_complaint, "cannot take a request", ENOMEM);
		close(fd);
		fcgi_request_free(r);
		return;
	}
	pass_on(d, r);
}

/* A request the event loop answers without libfcgi's help. */
static void
refuse(struct doorman *d, int fd, enum fcgi_verdict verdict,
    unsigned request_id)
{
	struct fcgi_request *r = request_new(d, fd, verdict);

	if (r == NULL)
		return;
	r->request_id = request_id;
	pass_on(d, r);
}

static void
look_at(struct doorman *d, struct waiting *w, uint32_t events)
{
	bool hung_up = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	int avail = 0;

	/* Most wake-ups of a slow sender bring too little to decide on:
	 * do not copy the whole head again for those. */
	if (!hung_up && ioctl(w->fd, FIONREAD, &avail) == 0 &&
	    (size_t)avail < w->need)
		return;
	ssize_t n = recv(w->fd, d->head, FCGI_HEAD_BYTES_MAX,
	    MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		release(d, w, true);
		return;
	}
	struct fcgi_head head;
	int fd = w->fd;
	switch (fcgi_head_check(d->head, (size_t)n, &head)) {
	case FCGI_HEAD_WAIT:
		if (hung_up)
			release(d, w, true);
		else
			w->need = head.need;
		return;
	case FCGI_HEAD_BAD:
		release(d, w, true);
		return;
	case FCGI_HEAD_READY:
		release(d, w, false);
		decode(d, fd, head.length);
		return;
	case FCGI_HEAD_TOO_LARGE:
		release(d, w, false);
		refuse(d, fd, FCGI_VERDICT_TOO_LARGE, head.request_id);
		return;
	case FCGI_HEAD_UNKNOWN_ROLE:
		release(d, w, false);
		refuse(d, fd, FCGI_VERDICT_UNKNOWN_ROLE, head.request_id);
		return;
	}
}

/* FCGI_WEB_SERVER_ADDRS, as libfcgi reads it: a comma-separated list of
 * the addresses that may connect over TCP. */
static bool
peer_allowed(const struct doorman *d, const struct sockaddr_storage *sa)
{
	char addr[INET6_ADDRSTRLEN];
	const void *a;

	if (d->web_server_addrs == NULL)
		return true;
	int family = sa->ss_family;

	if (family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		a = a6;
		/* An IPv4 peer of a dual-stack listener: ::ffff:127.0.0.1
		 * is listed as 127.0.0.1. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a = &a6->s6_addr[12];
		}
	} else {
		return true;	/* a unix socket: its mode guards it */
	}
	if (inet_ntop(family, a, addr, sizeof addr) == NULL)
		return false;
	size_t len = strlen(addr);
	for (const char *p = d->web_server_addrs; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, addr, n) == 0)
			return true;
		p += n;
		p += strspn(p, ", ");
	}
	return false;
}

static struct waiting *
free_slot(struct doorman *d)
{
	struct waiting *oldest = NULL;

	for (size_t i = 0; i < MAX_WAITING; i++) {
		if (d->slot[i].fd == -1)
			return &d->slot[i];
		if (oldest == NULL ||
		    d->slot[i].deadline_ms < oldest->deadline_ms)
			oldest = &d->slot[i];
	}
	release(d, oldest, true);
	return oldest;
}

/* Registers the connections the acceptor passed on. */
static void
take_accepted(struct doorman *d)
{
	int fds[64];
	ssize_t n;

	while ((n = read(d->accepted[0], fds, sizeof fds)) == -1 &&
	    errno == EINTR)
		;
	for (ssize_t i = 0; i < n / (ssize_t)sizeof fds[0]; i++) {
		struct waiting *w = free_slot(d);
		w->generation++;
		struct epoll_event ev = {
			.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
			.data.u64 = (uint64_t)w->generation << 32 |
			    (uint64_t)(w - d->slot),
		};
		if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fds[i], &ev) == -1) {
			complain(&d->last_complaint, "cannot wait for a "
			    "request", errno);
			hang_up(fds[i]);
			continue;
		}
		/* What a client that does not read can hold up in the
		 * socket, before its pending output counts against
		 * --max-pending and it is dropped: less than the default
		 * 208 KiB, so that the web server stops relaying to it
		 * sooner: with 100 such clients, the readers' p99 went from
		 * a median of 1.40 to 1.18 times the p99 without them
		 * (tests/faults/slow-clients.sh, docs/faults.md). */
		int sndbuf = FCGI_SNDBUF;
		if (setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof sndbuf) == -1)
			complain(&d->last_complaint, "cannot size a send "
			    "buffer", errno);
		w->fd = fds[i];
		w->deadline_ms = loop_now_ms() + HEAD_TIMEOUT_MS;
		w->need = 0;
		d->nwaiting++;
	}
}

/* The acceptor: blocking accept() on its own thread. When several
 * processes share the listener, the kernel hands each new connection to
 * the one that has waited longest, which spreads them evenly; waking every
 * process through epoll would let the quickest take most of them.
 *
 * fcgi_stop_accepting() interrupts the accept() with WAKE_SIGNAL: closing
 * the descriptor would not (Linux), and shutdown() would stop the other
 * processes too. SIGURG is ignored by default, so a stray one is
 * harmless, and the kernel sends it only to a socket's owner (F_SETOWN),
 * which no socket here has. */
#define WAKE_SIGNAL SIGURG

static _Thread_local bool is_acceptor;
/* Set by the acceptor before it closes listen_fd, whose number may then
 * be reused. */
static volatile sig_atomic_t listener_closed;

static void
on_wake(int sig)
{
	int saved = errno;

	(void)sig;
	/* A signal that comes just before accept() rather than during it
	 * would not interrupt it: make the listener's descriptor one that is
	 * no socket (the acceptor's pipe), so that accept() fails at once.
	 * This drops the process's reference to the listener as close()
	 * does, atomically. */
	if (is_acceptor && atomic_load(&doorman.stopping) && !listener_closed)
		dup2(doorman.accepted[1], doorman.listen_fd);
	errno = saved;
}

static void *
acceptor_run(void *arg)
{
	struct doorman *d = arg;
	time_t last_complaint = 0;
	sigset_t wake;

	is_acceptor = true;
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	while (!atomic_load(&d->stopping)) {
		struct sockaddr_storage sa;
		socklen_t salen = sizeof sa;
		int fd = accept4(d->listen_fd, (struct sockaddr *)&sa, &salen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO || errno == EAGAIN ||
			    atomic_load(&d->stopping))
				continue;
			/* Out of descriptors, most likely: say so now and
			 * then, and let the streams that end free some. */
			complain(&last_complaint, "cannot accept a connection",
			    errno);
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			continue;
		}
		if (!peer_allowed(d, &sa)) {
			close(fd);
			continue;
		}
		ssize_t n;
		atomic_fetch_add(&accepted_n, 1);
		while ((n = write(d->accepted[1], &fd, sizeof fd)) == -1 &&
		    errno == EINTR)
			;
		if (n != (ssize_t)sizeof fd) {
			complain(&last_complaint, "cannot pass a connection on",
			    errno);
			hang_up(fd);
		}
	}
	listener_closed = 1;
	if (close(d->listen_fd) == -1)
		log_error("cannot close the listening socket: %s",
		    strerror(errno));
	log_info("no longer accepting connections");
	return NULL;
}

void
fcgi_stop_accepting(void)
{
	struct doorman *d = &doorman;

	if (!d->started || atomic_exchange(&d->stopping, true))
		return;
	int rc = pthread_kill(d->acceptor, WAKE_SIGNAL);
	if (rc != 0)
		log_error("cannot stop accepting connections: %s",
		    strerror(rc));
}

/* Closes the connections that took too long; returns the milliseconds
 * until the next one is due, or -1 when none waits. */
static int
expire(struct doorman *d)
{
	int64_t now = loop_now_ms(), next = -1;

	if (d->nwaiting == 0)
		return -1;
	for (size_t i = 0; i < MAX_WAITING; i++) {
		struct waiting *w = &d->slot[i];
		if (w->fd == -1)
			continue;
		if (w->deadline_ms <= now)
			release(d, w, true);
		else if (next == -1 || w->deadline_ms - now < next)
			next = w->deadline_ms - now;
	}
	return (int)next;
}

static void *
doorman_run(void *arg)
{
	struct doorman *d = arg;
	struct epoll_event ev[64];

	for (;;) {
		int n = epoll_wait(d->epoll_fd, ev, 64, expire(d));
		if (n == -1 && errno != EINTR) {
			complain(&d->last_complaint, "epoll_wait", errno);
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		}
		for (int i = 0; i < n; i++) {
			uint64_t key = ev[i].data.u64;
			if (key == ACCEPTED_KEY) {
				take_accepted(d);
				continue;
			}
			struct waiting *w = &d->slot[(uint32_t)key];
			if (w->fd != -1 && w->generation == key >> 32)
				look_at(d, w, ev[i].events);
		}
	}
	return NULL;
}

int
fcgi_start(int listen_fd, int notify_fd, char *err, size_t errlen)
{
	struct doorman *d = &doorman;
	struct sigaction sa = { .sa_handler = on_wake };
	pthread_attr_t attr;
	pthread_t t;
	int rc, flags;

	if (FCGX_Init() != 0) {
		snprintf(err, errlen, "libfcgi failed to start");
		return -1;
	}
	/* The doorman never hands libfcgi the listener: see decode(). */
	FCGX_InitRequest(&d->req, -1, 0);
	d->listen_fd = listen_fd;
	d->notify_fd = notify_fd;
	d->accepted[0] = d->accepted[1] = d->epoll_fd = -1;
	d->web_server_addrs = getenv("FCGI_WEB_SERVER_ADDRS");
	for (size_t i = 0; i < MAX_WAITING; i++)
		d->slot[i].fd = -1;
	struct epoll_event ev = { .events = EPOLLIN,
	    .data.u64 = ACCEPTED_KEY };
	/* The doorman looks at a request head without taking it from the
	 * socket: over TCP, the whole head must fit in the receive buffer,
	 * which accepted connections inherit from the listener. */
	int rcvbuf = 2 * FCGI_HEAD_BYTES_MAX;
	if (setsockopt(listen_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof rcvbuf) == -1)
		log_warn("cannot size the receive buffer: %s", strerror(errno));
	/* No SA_RESTART: the signal is there to end a blocking accept(). */
	sigemptyset(&sa.sa_mask);
	if (sigaction(WAKE_SIGNAL, &sa, NULL) == -1) {
		snprintf(err, errlen, "cannot set up a signal handler: %s",
		    strerror(errno));
		return -1;
	}
	/* The acceptor blocks in accept(). */
	if ((d->head = malloc(FCGI_HEAD_BYTES_MAX)) == NULL ||
	    (flags = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
	    pipe2(d->accepted, O_CLOEXEC) == -1 ||
	    fcntl(d->accepted[0], F_SETFL, O_NONBLOCK) == -1 ||
	    (d->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->accepted[0], &ev) == -1) {
		snprintf(err, errlen, "cannot wait for connections: %s",
		    strerror(errno));
		goto fail;
	}
	if ((rc = pthread_attr_init(&attr)) != 0) {
		snprintf(err, errlen, "cannot start a thread: %s",
		    strerror(rc));
		goto fail;
	}
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, doorman_run, d);
	if (rc == 0) {
		/* The doorman now holds what was set up above: nothing can
		 * be freed, but the caller exits. */
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_JOINABLE);
		rc = pthread_create(&d->acceptor, &attr, acceptor_run, d);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start a thread: %s",
			    strerror(rc));
			return -1;
		}
		d->started = true;
		return 0;
	}
	pthread_attr_destroy(&attr);
	snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
fail:
	if (d->epoll_fd != -1)
		close(d->epoll_fd);
	if (d->accepted[0] != -1) {
		close(d->accepted[0]);
		close(d->accepted[1]);
	}
	d->epoll_fd = d->accepted[0] = d->accepted[1] = -1;
	free(d->head);
	d->head = NULL;
	return -1;
}
