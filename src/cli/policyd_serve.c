/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The conversations of `domainsec policyd`: bytes in, requests read within
 * the protocol's limits (domainsec/policy.h), one answer per request
 * ("action=...", then an empty line) with one log line each; on
 * stdin/stdout for a spawn(8) service, or for many connections at once on
 * a listening socket (poll-based, bounded buffers, an idle timeout per
 * connection, stopped cleanly by SIGTERM). Whatever a client sends, it
 * gets an answer or its connection is closed, and the next one is served.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "domainsec/log.h"
#include "policyd.h"

/* Bytes read at once; answers buffered before input is read no more. */
#define CLI_CONV_IN 16384
#define CLI_CONV_OUT 16384
#define CLI_CONV_ANSWER 400

/* One conversation. */
typedef struct {
    int fd; /* the socket, or stdin */
    unsigned long id; /* for the log */
    double last; /* last activity, monotonic seconds */
    size_t inlen, inoff; /* unread input in in[inoff..inlen) */
    size_t outlen, outoff; /* unsent output in out[outoff..outlen) */
    dsec_policy_reader rd;
    char in[CLI_CONV_IN];
    char out[CLI_CONV_OUT];
} cli_conv;

static volatile sig_atomic_t cli_policyd_stop;

static double cli_policyd_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cli_conv *cli_conv_new(int fd, unsigned long id)
{
    cli_conv *c = calloc(1, sizeof(*c));

    if (c != NULL) {
        c->fd = fd;
        c->id = id;
        c->last = cli_policyd_now();
    }
    return c;
}

/* The request read in c is complete: answer it, log the answer. */
static void cli_conv_answer(const cli_policyd_server *srv, cli_conv *c)
{
    const dsec_policy_reader *r = &c->rd;
    dsec_policy_answer a;
    int n;

    dsec_policy_decide(&srv->pol, r, time(NULL), &a);
    n = snprintf(c->out + c->outlen, sizeof(c->out) - c->outlen,
                 "action=%s\n\n", a.action);
    if (n > 0 && (size_t)n < sizeof(c->out) - c->outlen) {
        c->outlen += (size_t)n;
    }
    dsec_log(a.verdict[0] == 'e' ? DSEC_LOG_WARNING : DSEC_LOG_INFO,
             "domainsec policyd: action=%s; verdict=%s; fingerprint=%s; "
             "reason=%s; sender=%.200s; client=%.64s; partner=%s; "
             "state=%.32s; conn=%lu",
             a.action, a.verdict, a.fingerprint, a.reason,
             r->value[DSEC_POLICY_A_SENDER],
             r->value[DSEC_POLICY_A_CLIENT_ADDRESS],
             a.partner[0] != '\0' ? a.partner : "-",
             r->value[DSEC_POLICY_A_PROTOCOL_STATE], c->id);
}

/*
 * Read the pending input of c into requests, as long as their answers fit
 * in its output buffer.
 */
static void cli_conv_process(const cli_policyd_server *srv, cli_conv *c)
{
    int complete = 0;

    while (c->inoff < c->inlen
           && c->outlen + CLI_CONV_ANSWER <= sizeof(c->out)) {
        c->inoff += dsec_policy_reader_feed(&c->rd, c->in + c->inoff,
                                            c->inlen - c->inoff, &complete);
        if (complete) {
            cli_conv_answer(srv, c);
            dsec_policy_reader_reset(&c->rd);
        }
    }
    if (c->inoff == c->inlen) {
        c->inoff = c->inlen = 0;
    }
}

/* The end of c's input (EOF, error, timeout): say so when mid-request. */
static void cli_conv_closed(const cli_conv *c, const char *how)
{
    if (dsec_policy_reader_pending(&c->rd) || c->inoff < c->inlen) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec policyd: %s in the middle of a request (%zu "
                 "bytes read); nothing answered; conn=%lu",
                 how, c->rd.bytes, c->id);
    } else {
        dsec_log(DSEC_LOG_DEBUG, "domainsec policyd: %s; conn=%lu", how, c->id);
    }
}

/* ------------------------------------------------------------ stdio */

/* Write all of buf to fd (blocking); 0 on an error. */
static int cli_write_all(int fd, const char *buf, size_t len)
{
    ssize_t w;

    while (len > 0) {
        w = write(fd, buf, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return 0;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 1;
}

int cli_policyd_serve_stdio(const cli_policyd_server *srv)
{
    cli_conv *c = cli_conv_new(STDIN_FILENO, 0);
    struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
    const char *how = "end of input";
    ssize_t got;
    int rc;

    if (c == NULL) {
        dsec_log(DSEC_LOG_ERR, "domainsec policyd: out of memory");
        return 0;
    }
    for (;;) {
        rc = poll(&pfd, 1, (int)(srv->idle * 1000));
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
            how = rc == 0 ? "idle timeout" : "poll error";
            break;
        }
        got = read(STDIN_FILENO, c->in, sizeof(c->in));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            how = got == 0 ? "end of input" : "read error";
            break;
        }
        c->inoff = 0;
        c->inlen = (size_t)got;
        /* answers are written as they come: the buffer never stays full */
        while (c->inlen > 0) {
            cli_conv_process(srv, c);
            if (!cli_write_all(STDOUT_FILENO, c->out, c->outlen)) {
                how = "write error";
                goto done;
            }
            c->outlen = 0;
        }
    }
done:
    cli_conv_closed(c, how);
    free(c);
    return 0;
}

/* ----------------------------------------------------------- listen */

/* fd (a new socket, or -1) bound to sa and listening, or -1 (logged, fd
   closed). */
static int cli_listen_on(int fd, const struct sockaddr *sa, socklen_t len,
                         const char *kind, const char *where)
{
    if (fd < 0 || bind(fd, sa, len) != 0 || listen(fd, 64) != 0) {
        dsec_log(DSEC_LOG_ERR, "domainsec policyd: cannot listen on %s%s: %s",
                 kind, where, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* A unix socket at path, a stale socket file replaced. */
static int cli_listen_unix(const char *path)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path) || path[0] != '/') {
        dsec_log(DSEC_LOG_ERR,
                 "domainsec policyd: unix:%s: not an absolute "
                 "path of at most %zu bytes",
                 path, sizeof(sun.sun_path) - 1);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            dsec_log(DSEC_LOG_ERR,
                     "domainsec policyd: %s exists and is not "
                     "a socket",
                     path);
            return -1;
        }
        unlink(path);
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return cli_listen_on(fd, (struct sockaddr *)&sun, sizeof(sun),
                         "unix:", path);
}

/* A TCP socket on host:port ("[v6]:port" too). */
static int cli_listen_tcp(const char *hostport, int *usage)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints, *ai = NULL;
    size_t hlen;
    int fd = -1, one = 1, rc;

    if (colon == NULL || colon == hostport || colon[1] == '\0'
        || (size_t)(colon - hostport) >= sizeof(host)) {
        *usage = 1;
        return -1;
    }
    hlen = (size_t)(colon - hostport);
    memcpy(host, hostport, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
        dsec_log(DSEC_LOG_ERR, "domainsec policyd: tcp:%s: %s", hostport,
                 gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    fd = cli_listen_on(fd, ai->ai_addr, ai->ai_addrlen, "tcp:", hostport);
    freeaddrinfo(ai);
    return fd;
}

int cli_policyd_listen(const char *spec, int *usage)
{
    *usage = 0;
    if (strncmp(spec, "unix:", 5) == 0) {
        return cli_listen_unix(spec + 5);
    }
    if (strncmp(spec, "tcp:", 4) == 0) {
        return cli_listen_tcp(spec + 4, usage);
    }
    *usage = 1;
    return -1;
}

static void cli_policyd_on_signal(int sig)
{
    (void)sig;
    cli_policyd_stop = 1;
}

/* What a listen loop holds. */
typedef struct {
    const cli_policyd_server *srv;
    int lfd;
    cli_conv *conns[CLI_POLICYD_MAX_CONNS];
    size_t n;
    unsigned long next_id;
    struct pollfd pfds[CLI_POLICYD_MAX_CONNS + 1];
} cli_listen_loop;

static void cli_loop_drop(cli_listen_loop *L, size_t i, const char *how)
{
    cli_conv_closed(L->conns[i], how);
    close(L->conns[i]->fd);
    free(L->conns[i]);
    L->conns[i] = L->conns[--L->n];
}

/* Accept what waits, while there is room. */
static void cli_loop_accept(cli_listen_loop *L)
{
    while (L->n < CLI_POLICYD_MAX_CONNS) {
        int fd = accept4(L->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        cli_conv *c;

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                dsec_log(DSEC_LOG_WARNING, "domainsec policyd: accept: %s",
                         strerror(errno));
            }
            return;
        }
        if ((c = cli_conv_new(fd, ++L->next_id)) == NULL) {
            close(fd);
            return;
        }
        L->conns[L->n++] = c;
    }
}

/* Read and write what c is ready for; 0 when it is to be closed (how). */
static int cli_loop_io(cli_listen_loop *L, cli_conv *c, short revents,
                       const char **how)
{
    ssize_t n;

    if ((revents & POLLIN) != 0 && c->inlen == 0) {
        n = read(c->fd, c->in, sizeof(c->in));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            *how = n == 0 ? "connection closed" : "read error";
            if (c->outoff < c->outlen) {
                /* a client that shut down its side still gets its answers */
                (void)send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
                           MSG_NOSIGNAL);
            }
            return 0;
        }
        if (n > 0) {
            c->inlen = (size_t)n;
            c->last = cli_policyd_now();
        }
    } else if ((revents & (POLLHUP | POLLERR)) != 0 && c->outlen == 0) {
        *how = "connection closed";
        return 0;
    }
    cli_conv_process(L->srv, c);
    if (c->outoff < c->outlen) {
        n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
                 MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            *how = "write error";
            return 0;
        }
        if (n > 0) {
            c->outoff += (size_t)n;
            c->last = cli_policyd_now();
        }
        if (c->outoff == c->outlen) {
            c->outoff = c->outlen = 0;
            /* room again: input held back can go on */
            cli_conv_process(L->srv, c);
        }
    }
    return 1;
}

/* The poll set and its timeout (ms): the nearest idle deadline. */
static int cli_loop_prepare(cli_listen_loop *L, double now)
{
    double wait = (double)L->srv->idle;
    size_t i;

    L->pfds[0].fd = L->n < CLI_POLICYD_MAX_CONNS ? L->lfd : -1;
    L->pfds[0].events = POLLIN;
    for (i = 0; i < L->n; i++) {
        cli_conv *c = L->conns[i];
        double left = c->last + (double)L->srv->idle - now;

        L->pfds[i + 1].fd = c->fd;
        /* held-back input first; then nothing more until answers leave */
        L->pfds[i + 1].events = (short)((c->inlen == 0 ? POLLIN : 0)
                                        | (c->outlen > 0 ? POLLOUT : 0));
        L->pfds[i + 1].revents = 0;
        if (left < wait) {
            wait = left;
        }
    }
    L->pfds[0].revents = 0;
    return wait <= 0 ? 0 : (int)(wait * 1000) + 1;
}

/* One round: poll, then every conversation's I/O and idle timeout. */
static void cli_loop_round(cli_listen_loop *L, const sigset_t *mask)
{
    size_t nfds = L->n + 1, i;
    struct timespec ts;
    double now = cli_policyd_now();
    int ms = cli_loop_prepare(L, now), rc;
    const char *how = "";

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    rc = ppoll(L->pfds, nfds, &ts, mask);
    if (rc < 0 || cli_policyd_stop) {
        return;
    }
    /* from the last: dropping one moves the last (already done) there */
    for (i = L->n; i-- > 0;) {
        if (!cli_loop_io(L, L->conns[i], L->pfds[i + 1].revents, &how)) {
            cli_loop_drop(L, i, how);
        }
    }
    now = cli_policyd_now();
    for (i = L->n; i-- > 0;) {
        if (now - L->conns[i]->last >= (double)L->srv->idle) {
            cli_loop_drop(L, i, "idle timeout");
        }
    }
    if ((L->pfds[0].revents & POLLIN) != 0) {
        cli_loop_accept(L);
    }
}

int cli_policyd_serve_listen(const cli_policyd_server *srv, int lfd,
                             const char *spec)
{
    cli_listen_loop L;
    struct sigaction sa;
    sigset_t block, mask;

    memset(&L, 0, sizeof(L));
    L.srv = srv;
    L.lfd = lfd;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cli_policyd_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* the signals are taken only inside ppoll: no stop is missed */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &mask);
    sigdelset(&mask, SIGTERM);
    sigdelset(&mask, SIGINT);
    while (!cli_policyd_stop) {
        cli_loop_round(&L, &mask);
    }
    while (L.n > 0) {
        cli_loop_drop(&L, L.n - 1, "service stopping");
    }
    close(lfd);
    if (strncmp(spec, "unix:", 5) == 0) {
        unlink(spec + 5);
    }
    dsec_log(DSEC_LOG_INFO, "domainsec policyd: stopped (signal)");
    return 0;
}
