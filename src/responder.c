/* sselog-fcgi: serves the event log as text/event-stream, as a FastCGI
 * responder (on fd 0, a systemd socket, or --listen) or as a plain CGI
 * program. main() reads the options, then wires the FastCGI glue, the
 * signals and the server's event loop together. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "auth.h"
#include "fcgi.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "number.h"
#include "server.h"
#include "store.h"

#define MAX_CORS_ORIGINS 64
#define MAX_JWT_KEYS 16
/* Descriptors kept back from --max-clients for the log, inotify, epoll,
 * the listening socket and the connections that get a 503. */
#define RESERVED_FDS 64

static const char usage_text[] =
    "usage: sselog-fcgi [-d DB] [--listen unix:PATH|HOST:PORT] [options]\n"
    "\n"
    "Serves the streams of an sselog event log to browsers as\n"
    "text/event-stream, behind nginx, Apache or lighttpd: as a FastCGI\n"
    "responder on fd 0 (spawn-fcgi, mod_fcgid, lighttpd), on the socket\n"
    "systemd passes, or on --listen; as a plain CGI program otherwise.\n"
    "\n"
    "  -d, --db PATH           the event log (default: $SSELOG_DB)\n"
    "  --listen ADDR           accept FastCGI on unix:PATH or HOST:PORT\n"
    "  --prefix PATH           the mount point in the URL, e.g. /events/;\n"
    "                          the rest of the path names a stream\n"
    "  --streams WHERE         where requests name streams: path (below\n"
    "                          --prefix), query (stream=), or both (the\n"
    "                          default); the web server's SSELOG_STREAMS\n"
    "                          parameter overrides it per request\n"
    "  --max-streams N         streams per request (default 32)\n"
    "  --max-clients N         open streams before 503 (default: what the\n"
    "                          descriptor limit allows)\n"
    "  --heartbeat SECONDS     comment after this much silence (default 15)\n"
    "  --retry MS              send retry: MS at the start of each stream\n"
    "  --poll-interval MS      check the log at least this often (default\n"
    "                          1000; inotify usually notices at once)\n"
    "  --max-pending BYTES     unsent output before a client that does not\n"
    "                          read is dropped (default 1048576)\n"
    "  --write-timeout SECONDS drop a client whose pending output did not\n"
    "                          move for this long (default 30)\n"
    "  --stop-timeout SECONDS  on SIGTERM, let writes in progress (an upload\n"
    "                          of lines) run this long before they are cut\n"
    "                          (default 60; a second SIGTERM: at once)\n"
    "  --cors-origin ORIGIN    let pages from ORIGIN read the streams, with\n"
    "                          credentials (repeatable; * for any origin,\n"
    "                          without credentials)\n"
    "  --access FILE           grant streams to the web server's users\n"
    "                          (REMOTE_USER): lines of WHO ACCESS PATTERN...\n"
    "  --jwt-key ALG:FILE      verify tokens with this key (repeatable):\n"
    "                          HS256/384/512 and a secret file, RS256/384/512\n"
    "                          or ES256/384/512 and a PEM public key\n"
    "  --jwt-audience AUD      tokens must name AUD in aud\n"
    "  --jwt-issuer ISS        tokens must have iss ISS\n"
    "  --jwt-cookie NAME       the cookie that may carry the token\n"
    "                          (default sselog_token)\n"
    "  --jwt-query             also take the token from access_token= in\n"
    "                          the query (it ends up in access logs)\n"
    "                          With --access or --jwt-key, a stream is read\n"
    "                          only by whom a grant allows; kill -HUP\n"
    "                          re-reads the files.\n"
    "  --publish               let granted requests write: POST STREAM (an\n"
    "                          event), POST or PUT STREAM?lines (an event\n"
    "                          per line), DELETE STREAM (close); needs\n"
    "                          --access or --jwt-key\n"
    "  --max-event-size BYTES  the most bytes of a published event, and of\n"
    "                          a line (default 1048576)\n"
    "  --user NAME             when started as root, serve as user NAME (a\n"
    "                          name or a number) and its groups, after\n"
    "                          opening --listen and before opening the log\n"
    "  --log syslog|stderr|FILE  where messages go: syslog (daemon), standard\n"
    "                          error, or appended to FILE, an absolute path\n"
    "                          (default: stderr, or syslog when standard\n"
    "                          error is closed or /dev/null)\n"
    "  --check                 open the log as when serving, say whether that\n"
    "                          works on standard error, and exit 0 or 1\n"
    "  -h, --help              this help\n"
    "  --version               print the version\n";

enum {
	OPT_LISTEN = 256, OPT_PREFIX, OPT_MAX_STREAMS, OPT_MAX_CLIENTS,
	OPT_STREAMS,
	OPT_HEARTBEAT, OPT_RETRY, OPT_POLL, OPT_MAX_PENDING, OPT_WRITE_TIMEOUT,
	OPT_STOP_TIMEOUT,
	OPT_CORS,
	OPT_USER, OPT_LOG, OPT_CHECK, OPT_VERSION,
	OPT_ACCESS, OPT_JWT_KEY, OPT_JWT_AUDIENCE, OPT_JWT_ISSUER,
	OPT_JWT_COOKIE, OPT_JWT_QUERY, OPT_PUBLISH, OPT_MAX_EVENT_SIZE,
};

static const struct option long_options[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "streams", required_argument, NULL, OPT_STREAMS },
	{ "max-streams", required_argument, NULL, OPT_MAX_STREAMS },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
	{ "retry", required_argument, NULL, OPT_RETRY },
	{ "poll-interval", required_argument, NULL, OPT_POLL },
	{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
	{ "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "cors-origin", required_argument, NULL, OPT_CORS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "access", required_argument, NULL, OPT_ACCESS },
	{ "jwt-key", required_argument, NULL, OPT_JWT_KEY },
	{ "jwt-audience", required_argument, NULL, OPT_JWT_AUDIENCE },
	{ "jwt-issuer", required_argument, NULL, OPT_JWT_ISSUER },
	{ "jwt-cookie", required_argument, NULL, OPT_JWT_COOKIE },
	{ "jwt-query", no_argument, NULL, OPT_JWT_QUERY },
	{ "publish", no_argument, NULL, OPT_PUBLISH },
	{ "max-event-size", required_argument, NULL, OPT_MAX_EVENT_SIZE },
	{ NULL, 0, NULL, 0 },
};

struct options {
	struct server_config cfg;
	const char *listen;
	const char *user;
	const char *log;	/* --log; NULL: the default rule */
	const char *cors[MAX_CORS_ORIGINS];
	const char *jwt_keys[MAX_JWT_KEYS];
	struct auth_config auth;	/* used when access_file or a key */
	bool max_clients_given;
	bool check;
};

static int
usage_error(const char *what, const char *arg, const char *why)
{
	log_error("%s%s%s%s; see sselog-fcgi --help", what, arg ? " " : "",
	    arg ? arg : "", why ? why : "");
	return 2;
}

/* Parses a number option into *out, from min to max. */
static int
number_option(const char *name, const char *arg, int64_t min, int64_t max,
    int64_t *out)
{
	char why[128];
	const char *err = parse_uint(arg, max, out);

	if (err == NULL && *out >= min)
		return 0;
	snprintf(why, sizeof why, ": %s", err ? err : "too small");
	return usage_error(name, arg, why);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	int opt, rc;
	int64_t v;
	size_t ncors = 0;

	o->auth.cookie = "sselog_token";
	o->cfg = (struct server_config){
		.db_path = getenv("SSELOG_DB"),
		.request = { .prefix = NULL, .max_streams = 32 },
		.heartbeat_s = 15,
		.retry_ms = -1,
		.poll_interval_ms = 1000,
		.max_pending = 1024 * 1024,
		.write_timeout_s = 30,
		.stop_timeout_s = 60,
		.max_event_size = 1024 * 1024,
	};
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:h", long_options, NULL)) !=
	    -1) {
		rc = 0;
		switch (opt) {
		case 'd':
			o->cfg.db_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
			puts("sselog-fcgi (" PACKAGE_STRING ")");
			exit(0);
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_PREFIX:
			if (optarg[0] != '/')
				return usage_error("--prefix", optarg,
				    ": it must start with /");
			/* It is quoted in one-line error responses. */
			for (const char *p = optarg; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					return usage_error("--prefix", NULL,
					    ": it must not hold control "
					    "characters");
			o->cfg.request.prefix = optarg;
			break;
		case OPT_STREAMS:
			if (request_streams_parse(optarg,
			    &o->cfg.request.streams) == -1)
				return usage_error("--streams", optarg,
				    ": use path, query or both");
			break;
		case OPT_MAX_STREAMS:
			if ((rc = number_option("--max-streams", optarg, 1,
			    1000, &v)) == 0)
				o->cfg.request.max_streams = (size_t)v;
			break;
		case OPT_MAX_CLIENTS:
			if ((rc = number_option("--max-clients", optarg, 1,
			    10000000, &v)) == 0)
				o->cfg.max_clients = (size_t)v;
			o->max_clients_given = true;
			break;
		case OPT_HEARTBEAT:
			if ((rc = number_option("--heartbeat", optarg, 1,
			    3600, &v)) == 0)
				o->cfg.heartbeat_s = (int)v;
			break;
		case OPT_RETRY:
			if ((rc = number_option("--retry", optarg, 0,
			    INT32_MAX, &v)) == 0)
				o->cfg.retry_ms = v;
			break;
		case OPT_POLL:
			if ((rc = number_option("--poll-interval", optarg, 10,
			    3600000, &v)) == 0)
				o->cfg.poll_interval_ms = (int)v;
			break;
		case OPT_MAX_PENDING:
			if ((rc = number_option("--max-pending", optarg, 4096,
			    INT32_MAX, &v)) == 0)
				o->cfg.max_pending = (size_t)v;
			break;
		case OPT_WRITE_TIMEOUT:
			if ((rc = number_option("--write-timeout", optarg, 1,
			    86400, &v)) == 0)
				o->cfg.write_timeout_s = (int)v;
			break;
		case OPT_STOP_TIMEOUT:
			if ((rc = number_option("--stop-timeout", optarg, 0,
			    86400, &v)) == 0)
				o->cfg.stop_timeout_s = (int)v;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_LOG:
			/* A relative path would depend on the directory the
			 * web server or spawn-fcgi happens to start it in. */
			if (strcmp(optarg, "syslog") != 0 &&
			    strcmp(optarg, "stderr") != 0 && optarg[0] != '/')
				return usage_error("--log", optarg, ": use "
				    "syslog, stderr or an absolute path");
			o->log = optarg;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_ACCESS:
			o->auth.access_file = optarg;
			break;
		case OPT_JWT_KEY:
			if (o->auth.n_keys == MAX_JWT_KEYS)
				return usage_error("--jwt-key", optarg,
				    ": too many keys");
			o->jwt_keys[o->auth.n_keys++] = optarg;
			break;
		case OPT_JWT_AUDIENCE:
			o->auth.audience = optarg;
			break;
		case OPT_JWT_ISSUER:
			o->auth.issuer = optarg;
			break;
		case OPT_JWT_COOKIE:
			/* A cookie-name is an RFC 7230 token. */
			if (optarg[0] == '\0' || optarg[strcspn(optarg,
			    "()<>@,;:\\\"/[]?={} \t")] != '\0')
				return usage_error("--jwt-cookie", optarg,
				    ": not a cookie name");
			o->auth.cookie = optarg;
			break;
		case OPT_JWT_QUERY:
			o->auth.query = true;
			break;
		case OPT_PUBLISH:
			o->cfg.request.publish = true;
			break;
		case OPT_MAX_EVENT_SIZE:
			if ((rc = number_option("--max-event-size", optarg, 1,
			    INT32_MAX, &v)) == 0)
				o->cfg.max_event_size = (size_t)v;
			break;
		case OPT_CORS:
			if (ncors == MAX_CORS_ORIGINS)
				return usage_error("--cors-origin", optarg,
				    ": too many origins");
			o->cors[ncors++] = optarg;
			break;
		case ':':
			return usage_error("option needs a value:",
			    argv[optind - 1], NULL);
		default:
			return usage_error("unknown option", argv[optind - 1],
			    NULL);
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind], NULL);
	if (o->cfg.db_path == NULL || o->cfg.db_path[0] == '\0')
		return usage_error("no database: use -d PATH or set SSELOG_DB",
		    NULL, NULL);
	o->cfg.cors.origins = o->cors;
	o->cfg.cors.n = ncors;
	o->auth.key_specs = o->jwt_keys;
	if ((o->auth.audience != NULL || o->auth.issuer != NULL ||
	    o->auth.query) && o->auth.n_keys == 0)
		return usage_error("--jwt-audience, --jwt-issuer and "
		    "--jwt-query need --jwt-key", NULL, NULL);
	/* Without access control anyone who reaches the mount could
	 * write. */
	if (o->cfg.request.publish && o->auth.access_file == NULL &&
	    o->auth.n_keys == 0)
		return usage_error("--publish needs --access or --jwt-key: "
		    "writes are allowed only by a grant", NULL, NULL);
	return 0;
}

/* With --access or --jwt-key, reads their files. Returns 0 (*out NULL:
 * no access control), or the exit status, having said why. */
static int
load_auth(const struct options *o, struct auth **out)
{
	char err[512];

	*out = NULL;
	if (o->auth.access_file == NULL && o->auth.n_keys == 0)
		return 0;
	if ((*out = auth_load(&o->auth, err, sizeof err)) == NULL) {
		log_error("%s", err);
		return 2;
	}
	return 0;
}

/* Serves as user, with its groups, when started as root: after binding
 * the socket (which may need root), before opening the log (whose -shm
 * file must not come to belong to root). Returns 0, or -1. */
static int
drop_privileges(const char *user)
{
	if (geteuid() != 0) {
		if (user != NULL) {
			log_error("--user %s: only root can change user", user);
			return -1;
		}
		return 0;
	}
	if (user == NULL) {
		log_warn("running as root: use --user NAME to serve as an "
		    "unprivileged user");
		return 0;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	int64_t uid;
	if (pw == NULL && parse_uint(user, INT32_MAX, &uid) == NULL)
		pw = getpwuid((uid_t)uid);
	if (pw == NULL) {
		log_error("--user %s: %s", user, errno ? strerror(errno) :
		    "no such user");
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		log_error("--user %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		log_error("--user %s: could still regain root", user);
		return -1;
	}
	return 0;
}

/* Raises the soft descriptor limit to the hard one: each stream costs a
 * descriptor. Returns the limit. */
static rlim_t
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

struct signals {
	struct loop_io io;
	struct server *srv;
	const struct options *o;
	struct auth *auth;	/* the access control in use, owned */
	bool stopping;		/* a stop signal came */
};

/* SIGHUP: reads the access control's files again; on any error the one
 * in use stays. Either way no token verification is remembered across
 * it: a new struct auth starts with none, and the one that stays forgets
 * them, so that "kill -HUP" always means "verify every token again". */
static void
reload(struct signals *s)
{
	struct auth *auth;

	if (s->auth == NULL) {
		log_info("SIGHUP: no --access or --jwt-key to read again");
		return;
	}
	if (load_auth(s->o, &auth) != 0) {
		auth_forget_tokens(s->auth);
		log_error("SIGHUP: keeping the access control in use");
		return;
	}
	server_set_auth(s->srv, auth);
	auth_free(s->auth);
	s->auth = auth;
	log_info("SIGHUP: read %s%s%zu keys again", s->o->auth.access_file ?
	    s->o->auth.access_file : "", s->o->auth.access_file ? " and " : "",
	    s->o->auth.n_keys);
}

static void
on_signal(struct loop_io *io, uint32_t events)
{
	struct signals *s = container_of(io, struct signals, io);
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGUSR1) {
			server_log_stats(s->srv);
			continue;
		}
		if (si.ssi_signo == SIGHUP) {
			reload(s);
			continue;
		}
		if (s->stopping) {
			log_info("signal %u again: stopping at once, cutting "
			    "the writes in progress", si.ssi_signo);
		} else {
			size_t writes = server_writes(s->srv);
			log_info("signal %u: ending %zu streams and stopping; "
			    "%zu writes in progress may take up to %d s "
			    "(--stop-timeout; a second signal cuts them)",
			    si.ssi_signo, server_clients(s->srv) - writes,
			    writes, s->o->cfg.stop_timeout_s);
			fcgi_stop_accepting();
		}
		s->stopping = true;
		server_stop(s->srv);
	}
}

struct handoff {
	struct loop_io io;
	struct server *srv;
};

static void
on_request(struct loop_io *io, uint32_t events)
{
	struct handoff *h = container_of(io, struct handoff, io);
	struct fcgi_request *r;

	(void)events;
	while (read(io->fd, &r, sizeof r) == (ssize_t)sizeof r) {
		switch (r->verdict) {
		case FCGI_VERDICT_SERVE:
			server_accept(h->srv, r->fd, TRANSPORT_FCGI,
			    r->request_id, &r->params);
			break;
		case FCGI_VERDICT_TOO_LARGE:
			server_refuse(h->srv, r->fd, r->request_id,
			    REFUSE_TOO_LARGE);
			break;
		case FCGI_VERDICT_UNKNOWN_ROLE:
			server_refuse(h->srv, r->fd, r->request_id,
			    REFUSE_UNKNOWN_ROLE);
			break;
		}
		fcgi_request_free(r);
	}
}

static void
cgi_params(struct request_params *p)
{
	p->method = getenv("REQUEST_METHOD");
	p->query_string = getenv("QUERY_STRING");
	p->request_uri = getenv("REQUEST_URI");
	p->path_info = getenv("PATH_INFO");
	p->last_event_id = getenv("HTTP_LAST_EVENT_ID");
	p->origin = getenv("HTTP_ORIGIN");
	p->accept = getenv("HTTP_ACCEPT");
	/* Set by the web server's config (Apache SetEnv, lighttpd
	 * setenv.add-environment); a request header arrives as HTTP_... */
	p->streams = getenv("SSELOG_STREAMS");
	p->remote_user = getenv("REMOTE_USER");
	p->authorization = getenv("HTTP_AUTHORIZATION");
	p->cookie = getenv("HTTP_COOKIE");
	p->idempotency_key = getenv("HTTP_IDEMPOTENCY_KEY");
	p->content_length = getenv("CONTENT_LENGTH");
	/* Set by the config, as SSELOG_STREAMS. */
	p->metrics = getenv("SSELOG_METRICS");
}

/* CGI: reads the request body, if any, before answering. A web server
 * that is still writing it when the program exits (Apache mod_cgid)
 * may fail the whole response. The body of a GET is never used: a
 * bounded amount is read and dropped. (A write's body is the server's:
 * it reads it on its loop.) */
static void
cgi_drain_body(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	int64_t left;
	char buf[65536];

	if (cl == NULL || parse_uint(cl, 1024 * 1024, &left) != NULL)
		return;
	while (left > 0) {
		ssize_t n = read(STDIN_FILENO, buf, (size_t)left < sizeof buf ?
		    (size_t)left : sizeof buf);
		if (n <= 0 && !(n == -1 && errno == EINTR))
			return;
		if (n > 0)
			left -= n;
	}
}

/* CGI: a bad setup still gets a response the web server can show. */
static int
cgi_fail(const char *message)
{
	printf("Status: 500 Internal Server Error\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\n", message);
	return 1;
}

/* --check: opens the log as the responder would, as --user if given,
 * and answers on standard error, where the person or script that asks
 * reads it. Returns the exit status. */
static int
check(const struct options *o)
{
	char err[512];
	struct server *srv;

	log_open("stderr", err, sizeof err);
	if (drop_privileges(o->user) == -1)
		return 1;
	struct auth *auth;
	int rc = load_auth(o, &auth);
	if (rc != 0)
		return rc;
	auth_free(auth);
	if ((srv = server_new(&o->cfg, err, sizeof err)) == NULL) {
		log_error("%s", err);
		return 1;
	}
	server_free(srv);
	char shown[512];
	store_display_path(o->cfg.db_path, shown, sizeof shown);
	log_info("ok: %s", shown);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	char err[512] = "";
	int rc, listen_fd;
	sigset_t stop;

	log_init("sselog-fcgi");
	/* Under spawn-fcgi or a daemonized lighttpd standard error is
	 * /dev/null: even a usage error must reach someone. */
	log_open(NULL, err, sizeof err);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc;
	if (o.check)
		return check(&o);
	/* Opened before --user, so that the file may be root's. */
	if (o.log != NULL && log_open(o.log, err, sizeof err) == -1) {
		log_error("%s", err);
		return 1;
	}

	/* Writes to a client that left fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	/* Web servers stop their backends with SIGTERM (which libfcgi
	 * ignores): take it, SIGINT and SIGHUP through the event loop, and
	 * keep them from the accepting threads. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGUSR1);	/* not a stop: logs the counters */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	if ((listen_fd = fcgi_listener(o.listen, err, sizeof err)) == -2) {
		log_error("%s", err);
		return 1;
	}
	rlim_t fds = raise_fd_limit();
	if (drop_privileges(o.user) == -1) {
		fcgi_remove_socket();
		return 1;
	}
	if (!o.max_clients_given)
		o.cfg.max_clients = fds > 2 * RESERVED_FDS ?
		    (size_t)(fds - RESERVED_FDS) : RESERVED_FDS;
	/* As the serving user, so that the shared file is its own. */
	struct metrics *metrics = metrics_open(listen_fd, o.listen != NULL,
	    err, sizeof err);
	if (metrics == NULL) {
		log_error("out of memory");
		fcgi_remove_socket();
		return 1;
	}
	if (err[0] != '\0')
		log_warn("metrics: %s: a scrape shows this process's figures "
		    "alone", err);
	o.cfg.metrics = metrics;
	/* Read as the serving user, as a reload will be. */
	struct auth *auth;
	if ((rc = load_auth(&o, &auth)) != 0) {
		metrics_close(metrics);
		fcgi_remove_socket();
		return listen_fd == -1 ? cgi_fail("sselog-fcgi cannot start: "
		    "see its messages") : rc;
	}
	o.cfg.auth = auth;

	struct server *srv = server_new(&o.cfg, err, sizeof err);
	if (srv == NULL) {
		log_error("%s", err);
		auth_free(auth);
		metrics_close(metrics);
		fcgi_remove_socket();
		return listen_fd == -1 ? cgi_fail("sselog-fcgi cannot start: "
		    "see the server's error log") : 1;
	}

	struct signals sig = { .srv = srv, .o = &o, .auth = auth };
	sig.io.fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	sig.io.fn = on_signal;
	if (sig.io.fd == -1 ||
	    loop_add(server_loop(srv), &sig.io, EPOLLIN) == -1) {
		log_error("signalfd: %s", strerror(errno));
		server_free(srv);
		auth_free(auth);
		metrics_close(metrics);
		return 1;
	}

	if (listen_fd == -1) {
		struct request_params p;
		cgi_params(&p);
		if (!request_method_writes(p.method))
			cgi_drain_body();
		server_accept(srv, STDOUT_FILENO, TRANSPORT_CGI, 0, &p);
	} else {
		int pipefd[2];
		struct handoff h = { .srv = srv };
		if (pipe2(pipefd, O_CLOEXEC) == -1) {
			log_error("pipe: %s", strerror(errno));
			server_free(srv);
			auth_free(sig.auth);
			metrics_close(metrics);
			fcgi_remove_socket();
			return 1;
		}
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
		h.io.fd = pipefd[0];
		h.io.fn = on_request;
		if (loop_add(server_loop(srv), &h.io, EPOLLIN) == -1)
			snprintf(err, sizeof err, "epoll: %s", strerror(errno));
		else if (fcgi_start(listen_fd, pipefd[1], err, sizeof err) == 0)
			err[0] = '\0';
		server_wait_for(srv, fcgi_in_flight);
		if (err[0] != '\0') {
			log_error("%s", err);
			server_free(srv);
			auth_free(sig.auth);
			metrics_close(metrics);
			fcgi_remove_socket();
			return 1;
		}
		char shown[512];
		store_display_path(o.cfg.db_path, shown, sizeof shown);
		log_info("%s started: serving %s over FastCGI", PACKAGE_STRING,
		    shown);
		rc = server_run(srv);
		/* The accepting threads still wait for connections; exit()
		 * ends them with the process. */
		server_free(srv);
		auth_free(sig.auth);
		metrics_close(metrics);
		fcgi_remove_socket();
		return rc == 0 ? 0 : 1;
	}
	rc = server_run(srv);
	server_free(srv);
	auth_free(sig.auth);
	metrics_close(metrics);
	return rc == 0 ? 0 : 1;
}
