/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRL cache: a hash table keyed by URL, bounded, guarded by one mutex;
 * each entry binds a CRL to the issuer key that verified it, or remembers a
 * failed fetch until a deadline. Single flight: one fetch of a URL at a
 * time across threads (a flag per entry and a condition variable) and
 * processes (the disk layer's lock file), the others waiting for what it
 * stores. With a cache directory, the disk layer (cache_disk.c) shares
 * CRLs and failures with every process of the host.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/cache.h"
#include "domainsec/config.h"
#include "domainsec/crl.h"
#include "domainsec/decide.h"
#include "internal.h"

#define CACHE_BUCKETS 1024

struct entry {
    char *url;
    unsigned long hash;
    X509_CRL *crl;
    unsigned char key_id[32]; /* SHA-256 of the key that verified crl */
    int key_known;
    time_t next_update;
    dsec_rv fail_rv; /* DSEC_OK: no remembered failure */
    long fail_code;
    char fail_msg[DSEC_ERR_MSG_LEN];
    time_t fail_until;
    int fetching;
    int lockfd; /* cross-process fetch lock held by this process, or -1 */
    unsigned long age; /* insertion stamp, for eviction */
    struct entry *next;
};

struct dsec_cache {
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct entry *buckets[CACHE_BUCKETS];
    size_t count;
    size_t max_entries;
    unsigned long stamp;
    dsec_cache_disk disk;
    dsec_cache_guard *guard; /* rollback protection */
    unsigned long epoch; /* changes whenever a CRL is stored or dropped */
};

static unsigned long url_hash(const char *s)
{
    unsigned long h = 5381;

    for (; *s != '\0'; s++) {
        h = h * 33 + (unsigned char)*s;
    }
    return h;
}

dsec_cache *dsec_cache_new(size_t max_entries)
{
    dsec_cache *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->done, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    c->guard = dsec_cache_guard_new();
    if (c->guard == NULL) {
        pthread_cond_destroy(&c->done);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    c->max_entries = max_entries == 0 ? 4096 : max_entries;
    c->disk.dirfd = -1;
    c->disk.fail_max = DSEC_DEFAULT_FAIL_CACHE;
    return c;
}

static void entry_free(struct entry *e)
{
    if (e == NULL) {
        return;
    }
    dsec_cache_disk_unlock(e->lockfd);
    free(e->url);
    X509_CRL_free(e->crl);
    free(e);
}

void dsec_cache_free(dsec_cache *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < CACHE_BUCKETS; i++) {
        struct entry *e = c->buckets[i], *n;

        for (; e != NULL; e = n) {
            n = e->next;
            entry_free(e);
        }
    }
    dsec_cache_guard_free(c->guard);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void dsec_cache_set_dir(dsec_cache *c, int dirfd)
{
    if (c != NULL) {
        c->disk.dirfd = dirfd;
    }
}

void dsec_cache_set_fail_max(dsec_cache *c, long seconds)
{
    if (c != NULL) {
        c->disk.fail_max = seconds < 0 ? 0 : seconds;
    }
}

dsec_rv dsec_cache_check_rollback(dsec_cache *c, const unsigned char key_id[32],
                                  X509_CRL *crl, DSEC_ERR *err)
{
    if (c == NULL || key_id == NULL || crl == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no CRL to check");
    }
    return dsec_cache_guard_check(c->guard, &c->disk, key_id, crl, err);
}

/* Caller holds the lock. */
static struct entry *find(dsec_cache *c, const char *url, unsigned long h)
{
    struct entry *e;

    for (e = c->buckets[h % CACHE_BUCKETS]; e != NULL; e = e->next) {
        if (e->hash == h && strcmp(e->url, url) == 0) {
            return e;
        }
    }
    return NULL;
}

/* Caller holds the lock: drop the oldest idle entry. */
static void evict_one(dsec_cache *c)
{
    struct entry **best = NULL, **pp;
    size_t i;

    for (i = 0; i < CACHE_BUCKETS; i++) {
        for (pp = &c->buckets[i]; *pp != NULL; pp = &(*pp)->next) {
            if (!(*pp)->fetching
                && (best == NULL || (*pp)->age < (*best)->age)) {
                best = pp;
            }
        }
    }
    if (best != NULL) {
        struct entry *victim = *best;

        *best = victim->next;
        entry_free(victim);
        c->count--;
        c->epoch++;
    }
}

/* Caller holds the lock. */
static struct entry *find_or_add(dsec_cache *c, const char *url)
{
    unsigned long h = url_hash(url);
    struct entry *e = find(c, url, h);

    if (e != NULL) {
        return e;
    }
    if (c->count >= c->max_entries) {
        evict_one(c);
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    e->url = strdup(url);
    if (e->url == NULL) {
        free(e);
        return NULL;
    }
    e->hash = h;
    e->lockfd = -1;
    e->age = ++c->stamp;
    e->next = c->buckets[h % CACHE_BUCKETS];
    c->buckets[h % CACHE_BUCKETS] = e;
    c->count++;
    return e;
}

static int set_crl(struct entry *e, X509_CRL *crl, const unsigned char *key_id)
{
    if (!X509_CRL_up_ref(crl)) {
        return 0;
    }
    X509_CRL_free(e->crl);
    e->crl = crl;
    e->key_known = key_id != NULL;
    if (key_id != NULL) {
        memcpy(e->key_id, key_id, sizeof(e->key_id));
    }
    e->next_update = dsec_crl_next_update(crl);
    e->fail_rv = DSEC_OK;
    return 1;
}

/* Remember the failure err of url until `until` in memory. */
static void set_failure(dsec_cache *c, const char *url, const DSEC_ERR *err,
                        time_t until)
{
    struct entry *e;

    pthread_mutex_lock(&c->lock);
    e = find_or_add(c, url);
    if (e != NULL) {
        e->fail_rv = err->rv;
        e->fail_code = err->code;
        snprintf(e->fail_msg, sizeof(e->fail_msg), "%s", err->msg);
        e->fail_until = until;
    }
    pthread_mutex_unlock(&c->lock);
}

/* A failure of url recorded on disk by any process, copied to memory. */
static dsec_rv disk_failure_to(dsec_cache *c, const char *url, time_t now,
                               DSEC_ERR *err)
{
    DSEC_ERR ferr = { 0 };
    time_t until = 0;
    dsec_rv frv =
        dsec_cache_disk_read_failure(&c->disk, url, now, &ferr, &until);

    if (frv == DSEC_OK) {
        return DSEC_OK;
    }
    set_failure(c, url, &ferr, until);
    return dsec_err_set(err, frv, ferr.code, "%s", ferr.msg);
}

dsec_rv dsec_cache_store(dsec_cache *c, const char *url, X509_CRL *crl,
                         const unsigned char key_id[32], int to_disk)
{
    struct entry *e;
    int ok;

    if (c == NULL || url == NULL || crl == NULL || key_id == NULL) {
        return DSEC_ERR_INVALID;
    }
    /* a skeleton (the CRL of an index) is kept in memory like any CRL,
       so a process answers from memory, not the file, while it is fresh;
       never written back: its index file is the copy on disk */
    if (dsec_crlindex_attached(crl)) {
        to_disk = 0;
    }
    pthread_mutex_lock(&c->lock);
    e = find_or_add(c, url);
    ok = e != NULL && set_crl(e, crl, key_id);
    c->epoch++;
    pthread_mutex_unlock(&c->lock);
    if (!ok) {
        return DSEC_ERR_NOMEM;
    }
    if (to_disk && c->disk.dirfd >= 0) {
        dsec_cache_disk_write_crl(&c->disk, url, crl);
        dsec_cache_disk_write_index(&c->disk, url, crl, key_id);
    }
    return DSEC_OK;
}

/* The memory layer's part of dsec_cache_lookup: nextUpdate of its CRL. */
static time_t lookup_memory(dsec_cache *c, const char *url, time_t now,
                            dsec_cache_hit *hit)
{
    struct entry *e;
    time_t next = 0;

    pthread_mutex_lock(&c->lock);
    e = find(c, url, url_hash(url));
    if (e != NULL && e->crl != NULL && X509_CRL_up_ref(e->crl)) {
        hit->crl = e->crl;
        hit->key_known = e->key_known;
        memcpy(hit->key_id, e->key_id, sizeof(hit->key_id));
        hit->source = 1;
        next = e->next_update;
    }
    if (e != NULL && e->fail_rv != DSEC_OK && now < e->fail_until) {
        hit->fail_rv = dsec_err_set(&hit->fail, e->fail_rv, e->fail_code, "%s",
                                    e->fail_msg);
    }
    pthread_mutex_unlock(&c->lock);
    return next;
}

dsec_rv dsec_cache_lookup(dsec_cache *c, const char *url, time_t now,
                          dsec_cache_hit *hit)
{
    X509_CRL *disk = NULL;
    unsigned char idx_key[32];
    time_t mem_next;
    int idx;

    if (hit == NULL) {
        return DSEC_ERR_INVALID;
    }
    memset(hit, 0, sizeof(*hit));
    if (c == NULL || url == NULL) {
        return DSEC_ERR_INVALID;
    }
    mem_next = lookup_memory(c, url, now, hit);
    /* memory holds nothing current: another process may have done better */
    if (c->disk.dirfd >= 0
        && (hit->crl == NULL || !dsec_crl_fresh_at(mem_next, now))) {
        /* the index, when there is one, spares decoding the CRL */
        disk = dsec_cache_disk_read_index(&c->disk, url, idx_key);
        idx = disk != NULL;
        if (disk == NULL) {
            disk = dsec_cache_disk_read_crl(&c->disk, url);
        }
        if (disk != NULL
            && (hit->crl == NULL || dsec_crl_next_update(disk) > mem_next)) {
            X509_CRL_free(hit->crl);
            hit->crl = disk;
            hit->key_known = idx;
            memcpy(hit->key_id, idx_key, idx ? sizeof(hit->key_id) : 0);
            hit->source = 2;
        } else {
            X509_CRL_free(disk);
        }
        if (hit->fail_rv == DSEC_OK) {
            hit->fail_rv = disk_failure_to(c, url, now, &hit->fail);
        }
    }
    return hit->crl != NULL || hit->fail_rv != DSEC_OK ? DSEC_OK
                                                       : DSEC_ERR_NOT_FOUND;
}

dsec_rv dsec_cache_peek_disk(dsec_cache *c, const char *url,
                             dsec_cache_hit *hit)
{
    memset(hit, 0, sizeof(*hit));
    if (c == NULL || url == NULL || c->disk.dirfd < 0) {
        return DSEC_ERR_NOT_FOUND;
    }
    hit->crl = dsec_cache_disk_read_index(&c->disk, url, hit->key_id);
    hit->key_known = hit->crl != NULL;
    if (hit->crl == NULL) {
        hit->crl = dsec_cache_disk_read_crl(&c->disk, url);
    }
    hit->source = 2;
    return hit->crl != NULL ? DSEC_OK : DSEC_ERR_NOT_FOUND;
}

void dsec_cache_hit_clear(dsec_cache_hit *hit)
{
    if (hit != NULL) {
        X509_CRL_free(hit->crl);
        hit->crl = NULL;
    }
}

void dsec_cache_put_failure(dsec_cache *c, const char *url, const DSEC_ERR *err,
                            time_t until)
{
    if (c == NULL || url == NULL || err == NULL || err->rv == DSEC_OK) {
        return;
    }
    set_failure(c, url, err, until);
    if (c->disk.dirfd >= 0) {
        dsec_cache_disk_write_failure(&c->disk, url, err, until);
    }
}

/* Take the lock file of url for the entry, whose flight this thread holds.
   The caller looks at the cache again once it holds the lock. */
static void lock_across_processes(dsec_cache *c, const char *url,
                                  const struct timespec *deadline)
{
    struct entry *e;
    int fd = dsec_cache_disk_lock(&c->disk, url, deadline);

    if (fd < 0) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    e = find(c, url, url_hash(url));
    if (e != NULL && e->lockfd < 0) {
        e->lockfd = fd;
        fd = -1;
    }
    pthread_mutex_unlock(&c->lock);
    dsec_cache_disk_unlock(fd);
}

/* now + wait_ms, on CLOCK_REALTIME (as pthread_cond_timedwait wants). */
static void deadline_in(long wait_ms, struct timespec *deadline)
{
    clock_gettime(CLOCK_REALTIME, deadline);
    deadline->tv_sec += wait_ms / 1000;
    deadline->tv_nsec += (wait_ms % 1000) * 1000000L;
    if (deadline->tv_nsec >= 1000000000L) {
        deadline->tv_sec++;
        deadline->tv_nsec -= 1000000000L;
    }
}

int dsec_cache_begin_fetch(dsec_cache *c, const char *url, long wait_ms)
{
    struct entry *e;
    struct timespec deadline;
    int mine = 1;

    if (c == NULL || url == NULL) {
        return 1;
    }
    deadline_in(wait_ms, &deadline);
    pthread_mutex_lock(&c->lock);
    e = find_or_add(c, url);
    if (e == NULL) {
        pthread_mutex_unlock(&c->lock);
        return 1;
    }
    if (e->fetching) {
        mine = 0;
        while (e->fetching) {
            if (pthread_cond_timedwait(&c->done, &c->lock, &deadline) != 0) {
                break;
            }
            /* the entry cannot be evicted while fetching, but may be now */
            e = find(c, url, url_hash(url));
            if (e == NULL) {
                break;
            }
        }
    } else {
        e->fetching = 1;
    }
    pthread_mutex_unlock(&c->lock);
    if (mine && c->disk.dirfd >= 0) {
        lock_across_processes(c, url, &deadline);
    }
    return mine;
}

void dsec_cache_end_fetch(dsec_cache *c, const char *url)
{
    struct entry *e;

    if (c == NULL || url == NULL) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    e = find(c, url, url_hash(url));
    if (e != NULL) {
        e->fetching = 0;
        dsec_cache_disk_unlock(e->lockfd);
        e->lockfd = -1;
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

dsec_rv dsec_cache_fetch_once(dsec_cache *c, const char *url, time_t now,
                              long wait_ms, dsec_cache_fetch_fn *fetch,
                              void *arg)
{
    dsec_cache_fetched keep;
    dsec_cache_hit hit;
    dsec_rv rv;
    int mine;

    if (fetch == NULL) {
        return DSEC_ERR_INVALID;
    }
    mine = dsec_cache_begin_fetch(c, url, wait_ms);
    /* another thread or process may have fetched url meanwhile */
    (void)dsec_cache_lookup(c, url, now, &hit);
    memset(&keep, 0, sizeof(keep));
    rv = fetch(arg, &hit, mine, &keep);
    dsec_cache_hit_clear(&hit);
    if (keep.crl != NULL) {
        dsec_cache_store(c, url, keep.crl, keep.key_id, keep.to_disk);
    } else if (keep.fail_until != 0) {
        dsec_cache_put_failure(c, url, &keep.fail, keep.fail_until);
    }
    if (mine) {
        dsec_cache_end_fetch(c, url);
    }
    X509_CRL_free(keep.crl);
    return rv;
}

void dsec_cache_forget_all(dsec_cache *c)
{
    struct entry **pp, *e;
    size_t i;

    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < CACHE_BUCKETS; i++) {
        for (pp = &c->buckets[i]; (e = *pp) != NULL;) {
            if (e->fetching) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            entry_free(e);
            c->count--;
        }
    }
    c->epoch++;
    pthread_mutex_unlock(&c->lock);
}

unsigned long dsec_cache_epoch(dsec_cache *c)
{
    unsigned long epoch;

    pthread_mutex_lock(&c->lock);
    epoch = c->epoch;
    pthread_mutex_unlock(&c->lock);
    return epoch;
}

size_t dsec_cache_count(dsec_cache *c)
{
    size_t n;

    if (c == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->lock);
    n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

STACK_OF(X509_CRL) * dsec_cache_list(dsec_cache *c)
{
    STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
    size_t i;

    if (c == NULL || sk == NULL) {
        return sk;
    }
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < CACHE_BUCKETS; i++) {
        struct entry *e;

        for (e = c->buckets[i]; e != NULL; e = e->next) {
            /* a skeleton would read as a CRL without entries */
            if (e->crl != NULL && !dsec_crlindex_attached(e->crl)
                && X509_CRL_up_ref(e->crl)) {
                if (!sk_X509_CRL_push(sk, e->crl)) {
                    X509_CRL_free(e->crl);
                }
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    return sk;
}
