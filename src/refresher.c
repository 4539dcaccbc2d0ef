/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Refresh ahead in a host process: a verification that uses a cached CRL
 * past its refresh point (refresh.c) queues a background refresh of its
 * URL and goes on with the cached CRL. One worker thread per process,
 * created on first need, takes the jobs of a bounded queue (one per URL,
 * queued or running: de-duplicated) and fetches through gather.c's one
 * acceptance path, checking the CRL with the very certificate that
 * verified the cached one; a newer CRL goes to the cache (memory and
 * disk). Fork-safe: hosts (nginx, Postfix) fork after loading the
 * provider; the child starts with an empty queue and no worker, and starts
 * its own worker when it first needs one.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/cache_meta.h"
#include "domainsec/log.h"
#include "domainsec/refresh.h"
#include "domainsec/url.h"
#include "internal.h"

/* One refresh: what the verification that noticed it knew. */
typedef struct job {
    char *url;
    const dsec_config *cfg; /* the engine's */
    dsec_cache *cache; /* the engine's */
    int meta_fd; /* the cache directory, for the URL's record; or -1 */
    X509 *cert; /* up-ref'd: the certificate the cached CRL decided */
    X509 *issuer; /* up-ref'd: cert's issuer in the chain */
    X509 *signer; /* up-ref'd: the certificate that verified the CRL */
    X509_CRL *cached; /* up-ref'd: the CRL that is to be replaced */
    int dp;
    int stored; /* a newer CRL was handed to the cache */
    struct job *next;
} job;

/* A URL refreshed lately: not queued again before not_before. */
typedef struct {
    char *url;
    const dsec_cache *cache;
    time_t not_before;
} recent;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t more; /* a job was queued */
    pthread_cond_t idle; /* a job finished */
    job *head, *tail;
    size_t queued;
    job *running;
    int worker; /* a worker thread runs in this process */
    recent recent[DSEC_REFRESHER_RECENT];
    size_t next_recent;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER,
        .more = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static unsigned long jobs_done;

static void job_free(job *j)
{
    if (j == NULL) {
        return;
    }
    free(j->url);
    X509_free(j->cert);
    X509_free(j->issuer);
    X509_free(j->signer);
    X509_CRL_free(j->cached);
    free(j);
}

static void prepare(void)
{
    pthread_mutex_lock(&q.lock);
}

static void parent(void)
{
    pthread_mutex_unlock(&q.lock);
}

/* The worker did not follow into the child: forget it and its jobs (the
   running one's memory belongs to the parent's worker, left alone). */
static void child(void)
{
    job *j, *n;

    for (j = q.head; j != NULL; j = n) {
        n = j->next;
        job_free(j);
    }
    q.head = q.tail = NULL;
    q.queued = 0;
    q.running = NULL;
    q.worker = 0;
    pthread_cond_init(&q.more, NULL);
    pthread_cond_init(&q.idle, NULL);
    pthread_mutex_unlock(&q.lock);
}

static void register_atfork(void)
{
    pthread_atfork(prepare, parent, child);
}

/* Caller holds the lock. The slot of url in the recent table, or NULL. */
static recent *recent_of(const dsec_cache *cache, const char *url)
{
    size_t i;

    for (i = 0; i < DSEC_REFRESHER_RECENT; i++) {
        if (q.recent[i].url != NULL && q.recent[i].cache == cache
            && strcmp(q.recent[i].url, url) == 0) {
            return &q.recent[i];
        }
    }
    return NULL;
}

/* Caller holds the lock: url is not queued again before not_before. */
static void remember(const dsec_cache *cache, const char *url,
                     time_t not_before)
{
    recent *r = recent_of(cache, url);
    char *copy;

    if (r == NULL) {
        if ((copy = strdup(url)) == NULL) {
            return;
        }
        r = &q.recent[q.next_recent];
        q.next_recent = (q.next_recent + 1) % DSEC_REFRESHER_RECENT;
        free(r->url);
        r->url = copy;
        r->cache = cache;
    }
    r->not_before = not_before;
}

/* Caller holds the lock: url queued or running for cache? */
static int pending(const dsec_cache *cache, const char *url)
{
    const job *j;

    if (q.running != NULL && q.running->cache == cache
        && strcmp(q.running->url, url) == 0) {
        return 1;
    }
    for (j = q.head; j != NULL; j = j->next) {
        if (j->cache == cache && strcmp(j->url, url) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The job's signer resolver: only the certificate that verified the
   cached CRL may sign its successor. */
static dsec_rv job_signer(void *arg, const dsec_crl_in *c, X509 **signer,
                          DSEC_ERR *err)
{
    job *j = arg;
    DSEC_ERR e = { 0 };

    if (dsec_decide_signed_by(j->signer, c, &e)) {
        *signer = j->signer;
        return DSEC_OK;
    }
    return dsec_err_set(err, e.rv != DSEC_OK ? e.rv : DSEC_ERR_CRL_SIGNER, 0,
                        "%s", e.rv != DSEC_OK ? e.msg : "no CRL issuer");
}

/* The job's candidates (a dsec_crl_signers_fn): the same one certificate,
   so the new CRL's signature is checked before its entries are decoded. */
static int job_cands(void *arg, const X509_NAME *issuer, STACK_OF(X509) * out)
{
    job *j = arg;

    (void)issuer;
    return X509_add_cert(out, j->signer, X509_ADD_FLAG_UP_REF);
}

/*
 * The validators the URL's record holds, when they are those of the CRL the
 * job replaces (the record's size is its size): the refresh is then a
 * conditional GET, and an unchanged CRL is not downloaded again. None
 * otherwise (no cache directory, no record, another CRL).
 */
static void ask_as_recorded(const job *j, dsec_gather_validators *v)
{
    dsec_cache_meta m;

    memset(v, 0, sizeof(*v));
    if (j->meta_fd >= 0
        && dsec_cache_meta_read(j->meta_fd, j->url, &m) == DSEC_OK
        && m.bytes > 0 && m.bytes == (long long)i2d_X509_CRL(j->cached, NULL)) {
        snprintf(v->etag, sizeof(v->etag), "%s", m.etag);
        snprintf(v->last_modified, sizeof(v->last_modified), "%s",
                 m.last_modified);
    }
}

/*
 * A newer CRL of the job's URL that another process stored in the cache
 * directory (memory still holds the one being replaced): accepted the way
 * a fetched one is and handed to the memory cache (it is on disk already).
 * 1 when so.
 */
static int from_disk(job *j, const dsec_link *link, dsec_gather_want *w,
                     dsec_cache_fetched *keep)
{
    dsec_cache_hit disk;
    DSEC_ERR err = { 0 };
    int taken = 0;

    if (dsec_cache_peek_disk(j->cache, j->url, &disk) == DSEC_OK
        && dsec_refresh_newer(disk.crl, j->cached)
        && dsec_gather_accept(j->cfg, j->cache, link, j->url, w, disk.crl,
                              disk.key_known ? disk.key_id : NULL, &err)
               == DSEC_OK
        && w->key_known) {
        keep->crl = disk.crl;
        disk.crl = NULL;
        memcpy(keep->key_id, w->key_id, sizeof(keep->key_id));
        keep->to_disk = 0; /* nor a purge.gen bump: it came from there */
        taken = 1;
    }
    dsec_cache_hit_clear(&disk);
    return taken;
}

/* Once the single flight of the job's URL is ours (a dsec_cache_fetch_fn). */
static dsec_rv job_step(void *arg, const dsec_cache_hit *cached, int mine,
                        dsec_cache_fetched *keep)
{
    job *j = arg;
    dsec_gather_want w;
    dsec_link link;
    dsec_gather_validators v;
    X509_CRL *crl = NULL;
    DSEC_ERR err = { 0 };
    dsec_rv rv;

    if (!mine || dsec_refresh_newer(cached->crl, j->cached)) {
        return DSEC_OK; /* another thread or process refreshed it */
    }
    memset(&link, 0, sizeof(link));
    link.cert = j->cert;
    link.issuer = j->issuer;
    link.now = time(NULL);
    link.delta = j->cfg->delta_crl;
    link.signer = job_signer;
    link.cands = job_cands;
    link.arg = j;
    memset(&w, 0, sizeof(w));
    w.dp = j->dp;
    if (from_disk(j, &link, &w, keep)) {
        return DSEC_OK; /* another process refreshed it: no fetch */
    }
    memset(&w, 0, sizeof(w));
    w.dp = j->dp;
    ask_as_recorded(j, &v);
    rv = dsec_gather_refetch(j->cfg, j->cache, &link, j->url, &w, &v, &crl,
                             &err);
    if (rv == DSEC_ERR_NOT_FOUND && v.not_modified) {
        /* 304: the cached CRL is the origin's still, nothing downloaded */
        dsec_cache_meta_note(j->meta_fd, j->url, DSEC_OK, NULL, NULL, NULL,
                             NULL);
        return DSEC_ERR_NOT_FOUND;
    }
    if (rv == DSEC_OK && dsec_refresh_newer(crl, j->cached) && w.key_known) {
        dsec_cache_meta_note(j->meta_fd, j->url, DSEC_OK, crl, j->signer,
                             v.etag, v.last_modified);
        keep->crl = crl;
        memcpy(keep->key_id, w.key_id, sizeof(keep->key_id));
        keep->to_disk = 1;
        j->stored = 1;
        return DSEC_OK;
    }
    X509_CRL_free(crl);
    if (rv == DSEC_OK) {
        return DSEC_ERR_NOT_FOUND; /* the origin has nothing newer yet */
    }
    dsec_cache_meta_note(j->meta_fd, j->url, rv, NULL, NULL, NULL, NULL);
    if (j->cfg->fail_cache > 0) {
        /* remembered like a failed fetch: the cached CRL still decides */
        keep->fail = err;
        keep->fail_until = time(NULL) + j->cfg->fail_cache;
    }
    return rv;
}

/*
 * When url may be queued again after a refresh that gave nothing newer (or
 * failed): a quarter of the CRL's refresh interval (thisUpdate to its
 * refresh point) or of the time left to nextUpdate, whichever is shorter;
 * 1 s to an hour.
 */
static time_t retry_at(X509_CRL *crl, long max_age, time_t now)
{
    time_t next = dsec_crl_next_update(crl), this_upd, wait = 3600;
    time_t point = dsec_refresh_point(crl, max_age);

    if (dsec_time_of(X509_CRL_get0_lastUpdate(crl), &this_upd)
        && point > this_upd) {
        wait = (point - this_upd) / 4;
    }
    if (next > now && (next - now) / 4 < wait) {
        wait = (next - now) / 4;
    }
    wait = wait < 1 ? 1 : wait > 3600 ? 3600 : wait;
    return now + wait;
}

static void run(job *j)
{
    char masked[256];
    dsec_rv rv;
    time_t now = time(NULL);

    rv =
        dsec_cache_fetch_once(j->cache, j->url, now,
                              (j->cfg->fetch_timeout + 1) * 1000L, job_step, j);
    if (j->stored && j->meta_fd >= 0) {
        /* the other processes of the host re-read the new CRL from disk */
        dsec_cache_meta_bump(j->meta_fd);
    }
    dsec_url_mask(j->url, masked, sizeof(masked));
    dsec_log(DSEC_LOG_DEBUG, "domainsec: background refresh of %s: %s", masked,
             rv == DSEC_OK              ? "done"
             : rv == DSEC_ERR_NOT_FOUND ? "nothing newer"
                                        : "failed");
    pthread_mutex_lock(&q.lock);
    remember(j->cache, j->url,
             rv == DSEC_OK
                 ? now
                 : retry_at(j->cached, j->cfg->max_crl_age, time(NULL)));
    pthread_mutex_unlock(&q.lock);
}

static void *worker(void *arg)
{
    job *j;

    (void)arg;
    pthread_mutex_lock(&q.lock);
    for (;;) {
        while (q.head == NULL) {
            pthread_cond_wait(&q.more, &q.lock);
        }
        j = q.head;
        q.head = j->next;
        if (q.head == NULL) {
            q.tail = NULL;
        }
        q.queued--;
        q.running = j;
        pthread_mutex_unlock(&q.lock);
        run(j);
        pthread_mutex_lock(&q.lock);
        q.running = NULL;
        jobs_done++;
        pthread_cond_broadcast(&q.idle);
        job_free(j);
    }
    return NULL;
}

/* Caller holds the lock: a worker runs, or 0. Signals go to the host's
   threads, never to ours. */
static int start_worker(void)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t t;
    int ok;

    if (q.worker) {
        return 1;
    }
    if (pthread_attr_init(&attr) != 0) {
        return 0;
    }
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ok = pthread_create(&t, &attr, worker, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    q.worker = ok;
    return ok;
}

static job *job_new(const dsec_config *cfg, dsec_cache *cache, int meta_fd,
                    const dsec_link *link, const char *url, int dp,
                    X509 *signer, X509_CRL *cached)
{
    job *j = calloc(1, sizeof(*j));

    if (j == NULL || (j->url = strdup(url)) == NULL) {
        free(j);
        return NULL;
    }
    j->cfg = cfg;
    j->cache = cache;
    j->meta_fd = meta_fd;
    j->dp = dp;
    if (X509_up_ref(link->cert)) {
        j->cert = link->cert;
    }
    if (X509_up_ref(link->issuer)) {
        j->issuer = link->issuer;
    }
    if (X509_up_ref(signer)) {
        j->signer = signer;
    }
    if (X509_CRL_up_ref(cached)) {
        j->cached = cached;
    }
    if (j->cert == NULL || j->issuer == NULL || j->signer == NULL
        || j->cached == NULL) {
        job_free(j);
        return NULL;
    }
    return j;
}

int dsec_refresher_consider(const dsec_config *cfg, dsec_cache *cache,
                            int meta_fd, const dsec_link *link, const char *url,
                            int dp, X509 *signer, X509_CRL *cached)
{
    time_t now = time(NULL);
    recent *r;
    job *j;
    int queued = 0;

    if (cfg == NULL || cache == NULL || link == NULL || link->cert == NULL
        || link->issuer == NULL || url == NULL || signer == NULL
        || cached == NULL
        || !dsec_refresh_due(cached, cfg->max_crl_age, 0, now)) {
        return 0;
    }
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&q.lock);
    r = recent_of(cache, url);
    if ((r == NULL || now >= r->not_before) && !pending(cache, url)
        && q.queued < DSEC_REFRESHER_QUEUE && start_worker()
        && (j = job_new(cfg, cache, meta_fd, link, url, dp, signer, cached))
               != NULL) {
        if (q.tail != NULL) {
            q.tail->next = j;
        } else {
            q.head = j;
        }
        q.tail = j;
        q.queued++;
        queued = 1;
        pthread_cond_signal(&q.more);
    }
    pthread_mutex_unlock(&q.lock);
    return queued;
}

void dsec_refresher_forget(const dsec_cache *cache)
{
    job **pp, *j;
    size_t i;

    pthread_mutex_lock(&q.lock);
    for (pp = &q.head; *pp != NULL;) {
        j = *pp;
        if (j->cache == cache) {
            *pp = j->next;
            q.queued--;
            job_free(j);
        } else {
            pp = &j->next;
        }
    }
    q.tail = NULL;
    for (j = q.head; j != NULL; j = j->next) {
        q.tail = j;
    }
    while (q.running != NULL && q.running->cache == cache) {
        pthread_cond_wait(&q.idle, &q.lock);
    }
    for (i = 0; i < DSEC_REFRESHER_RECENT; i++) {
        if (q.recent[i].cache == cache) {
            free(q.recent[i].url);
            q.recent[i].url = NULL;
            q.recent[i].cache = NULL;
        }
    }
    pthread_mutex_unlock(&q.lock);
}

size_t dsec_refresher_pending(void)
{
    size_t n;

    pthread_mutex_lock(&q.lock);
    n = q.queued + (q.running != NULL);
    pthread_mutex_unlock(&q.lock);
    return n;
}

unsigned long dsec_refresher_done(void)
{
    unsigned long n;

    pthread_mutex_lock(&q.lock);
    n = jobs_done;
    pthread_mutex_unlock(&q.lock);
    return n;
}
