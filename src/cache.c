/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRL cache. Memory: a hash table keyed by URL, bounded, guarded by one
 * mutex; each entry binds a CRL to the issuer key that verified it, or
 * remembers a failed fetch until a deadline. Disk (optional): one DER file
 * per URL in the cache directory, named by the URL's SHA-256, written to a
 * temporary name and renamed into place, so readers in other processes see
 * a whole file or none. A file read back is verified again before use: the
 * directory is shared and is not trusted more than the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "domainsec/cache.h"
#include "domainsec/crl.h"
#include "domainsec/decide.h"
#include "domainsec/log.h"

#define CACHE_BUCKETS 1024
#define CACHE_FILE_MAX (256L * 1024 * 1024)

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
    int dirfd;
    int disk_warned;
};

static unsigned long url_hash(const char *s)
{
    unsigned long h = 5381;

    for (; *s != '\0'; s++) {
        h = h * 33 + (unsigned char)*s;
    }
    return h;
}

int dsec_cache_open_dir(const char *path)
{
    int fd;

    if (path == NULL || path[0] == '\0') {
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s is not usable (%m); using the "
                 "memory cache only",
                 path);
        return -1;
    }
    if (faccessat(fd, ".", W_OK, AT_EACCESS) != 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s is not writable by this "
                 "process (%m); cached CRLs are read but new ones "
                 "stay in memory",
                 path);
    }
    return fd;
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
    c->max_entries = max_entries == 0 ? 4096 : max_entries;
    c->dirfd = -1;
    return c;
}

static void entry_free(struct entry *e)
{
    if (e == NULL) {
        return;
    }
    if (e->lockfd >= 0) {
        close(e->lockfd);
    }
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
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void dsec_cache_set_dir(dsec_cache *c, int dirfd)
{
    if (c != NULL) {
        c->dirfd = dirfd;
    }
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

static int key_matches(const struct entry *e, X509 *issuer)
{
    unsigned char id[32];

    return e->key_known && dsec_decide_key_id(issuer, id)
           && memcmp(e->key_id, id, sizeof(id)) == 0;
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

static void disk_name_ext(const char *url, char name[80], const char *ext)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    unsigned int i;

    EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32 && i < mdlen; i++) {
        snprintf(name + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(name + 64, 16, "%s", ext);
}

static void disk_name(const char *url, char name[80])
{
    disk_name_ext(url, name, ".crl");
}

/* Write data to name in the cache directory atomically; 0 on failure. */
static int disk_write(dsec_cache *c, const char *name, const void *data,
                      size_t len)
{
    static unsigned long counter;
    char tmp[128];
    size_t off = 0;
    ssize_t w;
    int fd;

    snprintf(tmp, sizeof(tmp), ".tmp.%ld.%lu.%s", (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), name);
    fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0664);
    if (fd < 0) {
        return 0;
    }
    while (off < len) {
        w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            unlinkat(c->dirfd, tmp, 0);
            return 0;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || renameat(c->dirfd, tmp, c->dirfd, name) != 0) {
        unlinkat(c->dirfd, tmp, 0);
        return 0;
    }
    return 1;
}

static void disk_warn(dsec_cache *c)
{
    if (!c->disk_warned) {
        c->disk_warned = 1;
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cannot write the CRL cache directory (%s); "
                 "using the memory cache only",
                 strerror(errno));
    }
}

/*
 * A failed fetch is shared with the other processes too, so a dead CRL
 * server costs one timeout per fail_cache period, not one per process.
 * Format: "<until> <rv> <code>\n<message>".
 */
static void disk_store_failure(dsec_cache *c, const char *url,
                               const DSEC_ERR *err, time_t until)
{
    char name[80], buf[DSEC_ERR_MSG_LEN + 64];
    int n;

    disk_name_ext(url, name, ".fail");
    n = snprintf(buf, sizeof(buf), "%lld %d %ld\n%s", (long long)until,
                 (int)err->rv, err->code, err->msg);
    if (n < 0) {
        return;
    }
    if (!disk_write(c, name, buf, strlen(buf))) {
        disk_warn(c);
    }
}

/* A live shared failure of url: its rv (err filled), else DSEC_OK. */
static dsec_rv disk_load_failure(dsec_cache *c, const char *url, time_t now,
                                 DSEC_ERR *err, time_t *until_out)
{
    char name[80], buf[DSEC_ERR_MSG_LEN + 64];
    struct stat st;
    long long until;
    int rv, fd, used = 0;
    long code;
    ssize_t got;
    char *nl;

    disk_name_ext(url, name, ".fail");
    fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return DSEC_OK;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return DSEC_OK;
    }
    got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got <= 0) {
        return DSEC_OK;
    }
    buf[got] = '\0';
    nl = strchr(buf, '\n');
    if (nl == NULL
        || sscanf(buf, "%lld %d %ld%n", &until, &rv, &code, &used) != 3
        || buf + used != nl || rv >= 0 || rv < DSEC_ERR_MIN
        || until <= (long long)now || until > (long long)now + 3600) {
        return DSEC_OK;
    }
    *until_out = (time_t)until;
    return dsec_err_set(err, (dsec_rv)rv, code, "%s", nl + 1);
}

/* Read and parse the disk copy of url; NULL when absent or unparsable. */
static X509_CRL *disk_read(dsec_cache *c, const char *url)
{
    char name[80];
    unsigned char *buf = NULL;
    X509_CRL *crl = NULL;
    struct stat st;
    ssize_t got;
    size_t len = 0;
    DSEC_ERR err;
    int fd = -1;

    disk_name(url, name);
    fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0
        || st.st_size > CACHE_FILE_MAX) {
        goto done;
    }
    buf = malloc((size_t)st.st_size);
    if (buf == NULL) {
        goto done;
    }
    while (len < (size_t)st.st_size) {
        got = read(fd, buf + len, (size_t)st.st_size - len);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        len += (size_t)got;
    }
    if (dsec_crl_parse(buf, len, &crl, &err) != DSEC_OK) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: ignoring unusable cache file %s for %s: %s", name,
                 url, err.msg);
        crl = NULL;
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return crl;
}

/* The disk copy of url if it verifies with issuer and is valid at now. */
static X509_CRL *disk_load(dsec_cache *c, const char *url, X509 *issuer,
                           time_t now, long grace)
{
    X509_CRL *crl = disk_read(c, url);
    DSEC_ERR err;

    if (crl != NULL
        && dsec_crl_check(crl, issuer, now, grace, &err) != DSEC_OK) {
        X509_CRL_free(crl);
        crl = NULL;
    }
    return crl;
}

static void disk_store(dsec_cache *c, const char *url, X509_CRL *crl)
{
    char name[80];
    unsigned char *der = NULL;
    int len;

    len = i2d_X509_CRL(crl, &der);
    if (len <= 0) {
        return;
    }
    disk_name(url, name);
    if (!disk_write(c, name, der, (size_t)len)) {
        disk_warn(c);
    } else {
        disk_name_ext(url, name, ".fail");
        unlinkat(c->dirfd, name, 0);
    }
    OPENSSL_free(der);
}

/* A failure of url recorded on disk by any process, copied to e. */
static dsec_rv disk_failure_to(dsec_cache *c, const char *url, time_t now,
                               DSEC_ERR *err)
{
    DSEC_ERR ferr = { 0 };
    time_t until = 0;
    struct entry *e;
    dsec_rv frv = disk_load_failure(c, url, now, &ferr, &until);

    if (frv == DSEC_OK) {
        return DSEC_OK;
    }
    pthread_mutex_lock(&c->lock);
    e = find_or_add(c, url);
    if (e != NULL) {
        e->fail_rv = frv;
        e->fail_code = ferr.code;
        snprintf(e->fail_msg, sizeof(e->fail_msg), "%s", ferr.msg);
        e->fail_until = until;
    }
    pthread_mutex_unlock(&c->lock);
    return dsec_err_set(err, frv, ferr.code, "%s", ferr.msg);
}

dsec_rv dsec_cache_get(dsec_cache *c, const char *url, X509 *issuer, time_t now,
                       long grace, X509_CRL **crl, DSEC_ERR *err)
{
    return dsec_cache_get_src(c, url, issuer, now, grace, crl, err, NULL);
}

dsec_rv dsec_cache_get_src(dsec_cache *c, const char *url, X509 *issuer,
                           time_t now, long grace, X509_CRL **crl,
                           DSEC_ERR *err, int *source)
{
    int src = 1;
    struct entry *e;
    X509_CRL *found = NULL;
    dsec_rv rv = DSEC_ERR_NOT_FOUND;

    if (c == NULL || url == NULL || issuer == NULL || crl == NULL) {
        return DSEC_ERR_INVALID;
    }
    pthread_mutex_lock(&c->lock);
    e = find(c, url, url_hash(url));
    if (e != NULL && e->crl != NULL && key_matches(e, issuer)
        && e->next_update != 0 && now <= e->next_update + grace
        && X509_CRL_up_ref(e->crl)) {
        found = e->crl;
        rv = DSEC_OK;
    } else if (e != NULL && e->fail_rv != DSEC_OK && now < e->fail_until) {
        rv = dsec_err_set(err, e->fail_rv, e->fail_code, "%s", e->fail_msg);
    }
    pthread_mutex_unlock(&c->lock);
    if (rv == DSEC_ERR_NOT_FOUND && c->dirfd >= 0) {
        found = disk_load(c, url, issuer, now, grace);
        if (found != NULL) {
            pthread_mutex_lock(&c->lock);
            e = find_or_add(c, url);
            if (e != NULL) {
                unsigned char id[32];

                set_crl(e, found, dsec_decide_key_id(issuer, id) ? id : NULL);
            }
            pthread_mutex_unlock(&c->lock);
            rv = DSEC_OK;
            src = 2;
        } else {
            rv = disk_failure_to(c, url, now, err);
            if (rv == DSEC_OK) {
                rv = DSEC_ERR_NOT_FOUND;
            }
        }
    }
    if (rv == DSEC_OK) {
        *crl = found;
        if (source != NULL) {
            *source = src;
        }
    }
    return rv;
}

dsec_rv dsec_cache_put(dsec_cache *c, const char *url, X509_CRL *crl,
                       X509 *issuer)
{
    unsigned char id[32];

    if (issuer == NULL || !dsec_decide_key_id(issuer, id)) {
        return DSEC_ERR_INVALID;
    }
    return dsec_cache_store(c, url, crl, id, 1);
}

dsec_rv dsec_cache_store(dsec_cache *c, const char *url, X509_CRL *crl,
                         const unsigned char key_id[32], int to_disk)
{
    struct entry *e;
    int ok;

    if (c == NULL || url == NULL || crl == NULL || key_id == NULL) {
        return DSEC_ERR_INVALID;
    }
    pthread_mutex_lock(&c->lock);
    e = find_or_add(c, url);
    ok = e != NULL && set_crl(e, crl, key_id);
    pthread_mutex_unlock(&c->lock);
    if (!ok) {
        return DSEC_ERR_NOMEM;
    }
    if (to_disk && c->dirfd >= 0) {
        disk_store(c, url, crl);
    }
    return DSEC_OK;
}

dsec_rv dsec_cache_lookup(dsec_cache *c, const char *url, time_t now,
                          dsec_cache_hit *hit)
{
    X509_CRL *disk = NULL;
    struct entry *e;
    time_t mem_next = 0;

    if (hit == NULL) {
        return DSEC_ERR_INVALID;
    }
    memset(hit, 0, sizeof(*hit));
    if (c == NULL || url == NULL) {
        return DSEC_ERR_INVALID;
    }
    pthread_mutex_lock(&c->lock);
    e = find(c, url, url_hash(url));
    if (e != NULL && e->crl != NULL && X509_CRL_up_ref(e->crl)) {
        hit->crl = e->crl;
        hit->key_known = e->key_known;
        memcpy(hit->key_id, e->key_id, sizeof(hit->key_id));
        hit->source = 1;
        mem_next = e->next_update;
    }
    if (e != NULL && e->fail_rv != DSEC_OK && now < e->fail_until) {
        hit->fail_rv = dsec_err_set(&hit->fail, e->fail_rv, e->fail_code, "%s",
                                    e->fail_msg);
    }
    pthread_mutex_unlock(&c->lock);
    /* memory holds nothing current: another process may have done better */
    if (c->dirfd >= 0 && (hit->crl == NULL || mem_next <= now)) {
        disk = disk_read(c, url);
        if (disk != NULL
            && (hit->crl == NULL || dsec_crl_next_update(disk) > mem_next)) {
            X509_CRL_free(hit->crl);
            hit->crl = disk;
            hit->key_known = 0;
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
    struct entry *e;

    if (c == NULL || url == NULL || err == NULL || err->rv == DSEC_OK) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    e = find_or_add(c, url);
    if (e != NULL) {
        e->fail_rv = err->rv;
        e->fail_code = err->code;
        snprintf(e->fail_msg, sizeof(e->fail_msg), "%s", err->msg);
        e->fail_until = until;
    }
    pthread_mutex_unlock(&c->lock);
    if (c->dirfd >= 0) {
        disk_store_failure(c, url, err, until);
    }
}

/*
 * Single flight across processes: an flock on <hash>.lock in the cache
 * directory, waited for until the deadline at most (then fetch anyway: a
 * stuck peer must not stall us past fetch_timeout). The caller looks at the
 * cache again once it holds the lock.
 */
static void lock_across_processes(dsec_cache *c, const char *url,
                                  const struct timespec *deadline)
{
    char name[80];
    struct entry *e;
    struct timespec now;
    int fd;

    disk_name_ext(url, name, ".lock");
    /* read-only is enough for flock, and works on a file another user of
       the cache group created without group write */
    fd = openat(c->dirfd, name, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0664);
    if (fd < 0) {
        return;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        clock_gettime(CLOCK_REALTIME, &now);
        if (errno != EWOULDBLOCK || now.tv_sec > deadline->tv_sec
            || (now.tv_sec == deadline->tv_sec
                && now.tv_nsec >= deadline->tv_nsec)) {
            close(fd);
            return;
        }
        nanosleep(&(struct timespec) { 0, 20 * 1000000L }, NULL);
    }
    pthread_mutex_lock(&c->lock);
    e = find(c, url, url_hash(url));
    if (e != NULL && e->lockfd < 0) {
        e->lockfd = fd;
        fd = -1;
    }
    pthread_mutex_unlock(&c->lock);
    if (fd >= 0) {
        close(fd);
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
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
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
    if (mine && c->dirfd >= 0) {
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
        if (e->lockfd >= 0) {
            close(e->lockfd); /* releases the flock */
            e->lockfd = -1;
        }
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
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
            if (e->crl != NULL && X509_CRL_up_ref(e->crl)) {
                if (!sk_X509_CRL_push(sk, e->crl)) {
                    X509_CRL_free(e->crl);
                }
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    return sk;
}
