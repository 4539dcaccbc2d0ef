/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded name resolution: getaddrinfo has no timeout of its own, so it
 * runs in a detached thread that the caller waits for until its deadline
 * and then abandons; whoever of the two finishes last frees the shared
 * state. The answer is reduced to a few distinct numeric addresses, as
 * text, for a client library that must then resolve nothing itself.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>

#include "internal.h"

/* One lookup, shared by the waiting caller and the resolver thread. */
struct resolve_job {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    int abandoned;
    int gai_rc;
    struct addrinfo *ai;
    char host[256];
};

static void resolve_job_free(struct resolve_job *r)
{
    if (r->ai != NULL) {
        freeaddrinfo(r->ai);
    }
    pthread_cond_destroy(&r->done_cv);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void *resolve_thread(void *arg)
{
    struct resolve_job *r = arg;
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    int rc, abandoned;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    rc = getaddrinfo(r->host, NULL, &hints, &ai);
    pthread_mutex_lock(&r->lock);
    r->gai_rc = rc;
    r->ai = rc == 0 ? ai : NULL;
    r->done = 1;
    abandoned = r->abandoned;
    pthread_cond_signal(&r->done_cv);
    pthread_mutex_unlock(&r->lock);
    if (abandoned) {
        resolve_job_free(r);
    }
    return NULL;
}

/* A job for host into *out, its resolver thread running. */
static dsec_rv resolve_start(const char *who, const char *host,
                             struct resolve_job **out, DSEC_ERR *err)
{
    struct resolve_job *r = calloc(1, sizeof(*r));
    pthread_condattr_t ca;
    pthread_attr_t attr;
    pthread_t tid;
    int started = 0;

    if (r == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    }
    snprintf(r->host, sizeof(r->host), "%s", host);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&tid, &attr, resolve_thread, r) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        resolve_job_free(r);
        return dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                            "%s: cannot start the resolver thread", who);
    }
    *out = r;
    return DSEC_OK;
}

/*
 * Wait for r until deadline. Returns 1 when the lookup finished (r is the
 * caller's to free), 0 when it was abandoned (the thread frees r).
 */
static int resolve_wait(struct resolve_job *r, double deadline)
{
    struct timespec until;
    double left;
    int finished;

    clock_gettime(CLOCK_MONOTONIC, &until);
    left = deadline - dsec_clock_now();
    if (left < 0) {
        left = 0;
    }
    until.tv_sec += (time_t)left;
    until.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!r->done) {
        if (pthread_cond_timedwait(&r->done_cv, &r->lock, &until)
            == ETIMEDOUT) {
            break;
        }
    }
    finished = r->done;
    if (!finished) {
        r->abandoned = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return finished;
}

/* At most max distinct numeric addresses of ai into addrs; their count. */
static size_t resolve_collect(const struct addrinfo *ai,
                              char addrs[][INET6_ADDRSTRLEN], size_t max)
{
    const struct addrinfo *a;
    size_t n = 0;

    for (a = ai; a != NULL && n < max; a = a->ai_next) {
        const void *bin = NULL;

        if (a->ai_family == AF_INET) {
            bin = &((const struct sockaddr_in *)(void *)a->ai_addr)->sin_addr;
        } else if (a->ai_family == AF_INET6) {
            bin = &((const struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
        }
        if (bin != NULL
            && inet_ntop(a->ai_family, bin, addrs[n], INET6_ADDRSTRLEN)
                   != NULL) {
            size_t j;
            int dup = 0;

            for (j = 0; j < n; j++) {
                dup = dup || strcmp(addrs[j], addrs[n]) == 0;
            }
            if (!dup) {
                n++;
            }
        }
    }
    return n;
}

dsec_rv dsec_resolve_host(const char *who, const char *host, double deadline,
                          char addrs[][INET6_ADDRSTRLEN], size_t max,
                          size_t *naddrs, DSEC_ERR *err)
{
    struct resolve_job *r = NULL;
    struct in_addr bin4;
    struct in6_addr bin6;
    dsec_rv rv;
    size_t n;

    *naddrs = 0;
    if (max > 0
        && (inet_pton(AF_INET, host, &bin4) == 1
            || inet_pton(AF_INET6, host, &bin6) == 1)) {
        /* an address literal needs no resolver */
        snprintf(addrs[0], INET6_ADDRSTRLEN, "%s", host);
        *naddrs = 1;
        return DSEC_OK;
    }
    rv = resolve_start(who, host, &r, err);
    if (rv != DSEC_OK) {
        return rv;
    }
    if (!resolve_wait(r, deadline)) {
        /* the thread frees r when getaddrinfo returns */
        return dsec_err_set(err, DSEC_ERR_TIMEOUT, 0,
                            "%s: timeout resolving %s", who, host);
    }
    if (r->gai_rc != 0) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, r->gai_rc,
                          "%s: cannot resolve %s: %s", who, host,
                          gai_strerror(r->gai_rc));
        goto done;
    }
    n = resolve_collect(r->ai, addrs, max);
    if (n == 0) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                          "%s: no usable address for %s", who, host);
        goto done;
    }
    *naddrs = n;
    rv = DSEC_OK;

done:
    resolve_job_free(r);
    return rv;
}
