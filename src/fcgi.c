#include "fcgi.h"

#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"

#define SD_LISTEN_FDS_START 3
/* How long a connection may take to send its request's parameters. */
#define PARAMS_TIMEOUT_S 10

struct acceptor {
	int listen_fd;
	int notify_fd;
};

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
 * so that a stale file does not outlive the responder. */
static char *socket_path;

void
fcgi_remove_socket(void)
{
	if (socket_path != NULL) {
		unlink(socket_path);
		free(socket_path);
		socket_path = NULL;
	}
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
	free(r);
}

static int
copy_param(const char **dst, const char *name, FCGX_ParamArray envp)
{
	const char *v = FCGX_GetParam(name, envp);

	*dst = NULL;
	if (v == NULL)
		return 0;
	return (*dst = strdup(v)) == NULL ? -1 : 0;
}

/* Copies what the responder needs of the request, so that libfcgi's own
 * copy can go. */
static struct fcgi_request *
take_request(FCGX_Request *req)
{
	struct fcgi_request *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->fd = -1;
	r->request_id = (unsigned)req->requestId;
	if (copy_param(&r->params.method, "REQUEST_METHOD", req->envp) ||
	    copy_param(&r->params.query_string, "QUERY_STRING", req->envp) ||
	    copy_param(&r->params.request_uri, "REQUEST_URI", req->envp) ||
	    copy_param(&r->params.path_info, "PATH_INFO", req->envp) ||
	    copy_param(&r->params.last_event_id, "HTTP_LAST_EVENT_ID",
	    req->envp) ||
	    copy_param(&r->params.origin, "HTTP_ORIGIN", req->envp)) {
		fcgi_request_free(r);
		return NULL;
	}
	return r;
}

static void *
accept_loop(void *arg)
{
	struct acceptor *a = arg;
	FCGX_Request req;
	time_t last_complaint = 0;

	FCGX_InitRequest(&req, a->listen_fd, 0);
	for (;;) {
		int rc = FCGX_Accept_r(&req);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
			continue;	/* SO_RCVTIMEO, below, times accept out */
		if (rc < 0) {
			/* Out of descriptors, most likely: say so now and
			 * then, and let the streams that end free some. */
			if (time(NULL) != last_complaint)
				log_error("cannot accept a connection: %s",
				    strerror(-rc));
			last_complaint = time(NULL);
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			continue;
		}
		struct fcgi_request *r = take_request(&req);
		int fd = req.ipcFd;
		/* Free libfcgi's streams without writing anything or closing
		 * the connection, which now belongs to the event loop. */
		FCGX_Free(&req, 0);
		req.ipcFd = -1;
		if (r == NULL) {
			log_error("out of memory taking a request");
			close(fd);
			continue;
		}
		r->fd = fd;
		ssize_t n;
		while ((n = write(a->notify_fd, &r, sizeof r)) == -1 &&
		    errno == EINTR)
			;
		if (n != (ssize_t)sizeof r) {
			log_error("cannot pass a request on: %s",
			    strerror(errno));
			close(fd);
			fcgi_request_free(r);
		}
	}
	return NULL;
}

int
fcgi_start(int listen_fd, int nthreads, int notify_fd, char *err,
    size_t errlen)
{
	static struct acceptor a;
	pthread_attr_t attr;

	if (FCGX_Init() != 0) {
		snprintf(err, errlen, "libfcgi failed to start");
		return -1;
	}
	/* libfcgi reads the parameters with blocking reads: a peer that
	 * connects and says nothing must not hold an accepting thread for
	 * good. Accepted sockets inherit the timeout from the listener. */
	struct timeval tv = { .tv_sec = PARAMS_TIMEOUT_S };
	if (setsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ==
	    -1)
		log_warn("cannot time out slow requests: %s", strerror(errno));
	a.listen_fd = listen_fd;
	a.notify_fd = notify_fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* They only accept and copy a few strings. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < nthreads; i++) {
		pthread_t t;
		int rc = pthread_create(&t, &attr, accept_loop, &a);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start a thread: %s",
			    strerror(rc));
			pthread_attr_destroy(&attr);
			return -1;
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}
