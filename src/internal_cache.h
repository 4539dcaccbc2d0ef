/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What only the library uses of the CRL cache's files (cache.c,
 * cache_disk.c, cache_meta.c, cache_guard.c, refresher.c); included by
 * internal.h, never on its own.
 */
#ifndef DOMAINSEC_SRC_INTERNAL_CACHE_H
#define DOMAINSEC_SRC_INTERNAL_CACHE_H

/* ---- src/cache_disk.c: the disk layer of the CRL cache ---- */

/* The cache directory of one dsec_cache. */
typedef struct {
    int dirfd; /* borrowed; -1: no disk layer */
    int warned; /* a write failure was logged (once per cache) */
    long fail_max; /* seconds a .fail record may delay a fetch at most */
} dsec_cache_disk;

/* Read name of the cache directory into buf (NUL-terminated, cap - 1 bytes
   at most) when it is a file the cache trusts (dsec_cache_disk_untrusted;
   an ignored file is logged once): bytes read, or -1. */
ssize_t dsec_cache_disk_read_file(const dsec_cache_disk *d, const char *name,
                                  char *buf, size_t cap);

/* Write name of the cache directory atomically: 1, or 0 (logged once). */
int dsec_cache_disk_write_file(dsec_cache_disk *d, const char *name,
                               const void *data, size_t len);

/* The disk copy of url, parsed but unchecked; NULL when absent or unusable
   (an unparsable file is logged). */
X509_CRL *dsec_cache_disk_read_crl(const dsec_cache_disk *d, const char *url);

/* Write crl as the disk copy of url, and drop its failure record. */
void dsec_cache_disk_write_crl(dsec_cache_disk *d, const char *url,
                               X509_CRL *crl);

/* A failure of url recorded by any process and live at now: its rv (err
   and *until filled), else DSEC_OK. */
dsec_rv dsec_cache_disk_read_failure(const dsec_cache_disk *d, const char *url,
                                     time_t now, DSEC_ERR *err, time_t *until);

/* Record a failure of url for the other processes, until `until`. */
void dsec_cache_disk_write_failure(dsec_cache_disk *d, const char *url,
                                   const DSEC_ERR *err, time_t until);

/* The file of url with extension ext (".crl", ".meta", ...) in the cache
   directory: the URL's SHA-256 in hex, then ext. */
void dsec_cache_disk_name(const char *url, const char *ext, char name[80]);

/* Write data as name in the cache directory atomically; 0 on failure. */
int dsec_cache_disk_put(const dsec_cache_disk *d, const char *name,
                        const void *data, size_t len);

/* Lock url's fetch across processes, waiting until deadline (CLOCK_REALTIME)
   at most: the descriptor holding the lock, or -1 (then fetch anyway). */
int dsec_cache_disk_lock(const dsec_cache_disk *d, const char *url,
                         const struct timespec *deadline);
void dsec_cache_disk_unlock(int fd);

/* ---- src/cache.c: the calls of gather.c and of the unit tests ---- */

/* What the cache holds for a URL (dsec_cache_lookup). */
typedef struct {
    X509_CRL *crl; /* a new reference, or NULL; freshness is the caller's */
    int key_known; /* key_id: SHA-256 of the key that verified crl */
    unsigned char key_id[32];
    int source; /* 1 memory, 2 disk (then key_known is 0) */
    dsec_rv fail_rv; /* a live remembered failure, DSEC_OK when none */
    DSEC_ERR fail;
} dsec_cache_hit;

/*
 * What the cache holds for url at now: the CRL of the memory cache, or of
 * the disk when memory has none current (parsed only: the caller checks
 * it, and hands it back with dsec_cache_store once it did), and a live
 * remembered failure. DSEC_ERR_NOT_FOUND when neither. Release the hit
 * with dsec_cache_hit_clear.
 */
dsec_rv dsec_cache_lookup(dsec_cache *cache, const char *url, time_t now,
                          dsec_cache_hit *hit);
/*
 * What the disk layer holds for url now (its index first, then its CRL),
 * whatever memory holds: for a background refresh, which may find that
 * another process refreshed it already. DSEC_OK with hit->crl (a new
 * reference; key_known for an index), else DSEC_ERR_NOT_FOUND.
 */
dsec_rv dsec_cache_peek_disk(dsec_cache *cache, const char *url,
                             dsec_cache_hit *hit);
void dsec_cache_hit_clear(dsec_cache_hit *hit);

/*
 * Keep crl (up-ref'd) for url, verified with the key whose SHA-256 is
 * key_id; clears any negative entry. to_disk: also write the disk copy.
 */
dsec_rv dsec_cache_store(dsec_cache *cache, const char *url, X509_CRL *crl,
                         const unsigned char key_id[32], int to_disk);

/*
 * crl, accepted for the signer key key_id, against the highest CRL number
 * and thisUpdate the cache (memory and cache_dir) accepted for its key and
 * scope: DSEC_ERR_ROLLBACK when older (dsec_cache_guard_check).
 */
dsec_rv dsec_cache_check_rollback(dsec_cache *cache,
                                  const unsigned char key_id[32], X509_CRL *crl,
                                  DSEC_ERR *err);

/* A .fail record read from cache_dir delays a fetch seconds at most (the
   engine's fail_cache); default DSEC_DEFAULT_FAIL_CACHE. */
void dsec_cache_set_fail_max(dsec_cache *cache, long seconds);

/* Remember a failed fetch of url until `until`, on disk too. */
void dsec_cache_put_failure(dsec_cache *cache, const char *url,
                            const DSEC_ERR *err, time_t until);

/* What a dsec_cache_fetch_fn hands back for the cache to keep. */
typedef struct {
    /* a CRL accepted for url, a reference given to the cache; NULL: none */
    X509_CRL *crl;
    unsigned char key_id[32]; /* SHA-256 of the key that verified crl */
    int to_disk; /* write crl to the disk copy too */
    /* else a failure of url, remembered until fail_until; 0: not kept */
    DSEC_ERR fail;
    time_t fail_until;
} dsec_cache_fetched;

/*
 * Called by dsec_cache_fetch_once once the wait for url is over, with
 * cached, what the cache holds for url now (the lookup at now). mine: this
 * caller holds the fetch of url and may fetch it; 0: another caller
 * fetched it meanwhile, or still does after the wait, and it must not.
 * What it sets in *keep is stored before the fetch ends; it returns the
 * outcome for the caller of dsec_cache_fetch_once.
 */
typedef dsec_rv dsec_cache_fetch_fn(void *arg, const dsec_cache_hit *cached,
                                    int mine, dsec_cache_fetched *keep);

/*
 * Fetch url once across threads and processes (single flight): waits at
 * most wait_ms while another thread fetches url (and, holding the fetch,
 * for another process's lock file), looks url up at now, calls fetch, keeps
 * what it hands back (dsec_cache_store or dsec_cache_put_failure), then
 * lets the waiters go. Returns what fetch returned.
 */
dsec_rv dsec_cache_fetch_once(dsec_cache *cache, const char *url, time_t now,
                              long wait_ms, dsec_cache_fetch_fn *fetch,
                              void *arg);

/*
 * The steps of dsec_cache_fetch_once, for the unit tests. begin: 1 when the
 * caller should fetch url (and must call dsec_cache_end_fetch), 0 when
 * another thread fetched it meanwhile or still does after wait_ms.
 */
int dsec_cache_begin_fetch(dsec_cache *cache, const char *url, long wait_ms);
void dsec_cache_end_fetch(dsec_cache *cache, const char *url);

/*
 * For the unit tests: dsec_cache_lookup, then the CRL found checked for
 * issuer: bound to issuer's key (a disk copy is verified with it, then
 * kept in memory with that key) and valid at now within grace
 * (dsec_crl_check: the cache itself decides nothing about grace). DSEC_OK: *crl is a new reference; a live
 * negative entry: its rv (err filled); DSEC_ERR_NOT_FOUND: nothing usable.
 */
dsec_rv dsec_cache_get(dsec_cache *cache, const char *url, X509 *issuer,
                       time_t now, long grace, X509_CRL **crl, DSEC_ERR *err);

/* ---- src/cache_meta.c: the purge generation, seen by running processes ---- */

/* What a process last saw of cache_dir/purge.gen. */
typedef struct {
    pthread_mutex_t lock;
    time_t checked; /* the second of the last look: at most one per second */
    int known;
    dev_t dev;
    ino_t ino;
    long long mtime; /* ns */
} dsec_cache_meta_gen;

/*
 * 1 when purge.gen of dirfd was replaced since g's last look (a purge or a
 * refresh by the CLI: drop the memory copies). One fstatat per second at
 * most, per g.
 */
int dsec_cache_meta_purged(int dirfd, dsec_cache_meta_gen *g, time_t now);

/* ---- src/cache.c, for the purge: drop every idle memory entry ---- */
void dsec_cache_forget_all(dsec_cache *cache);
/* A number that changes whenever cache stores or drops a CRL (memory). */
unsigned long dsec_cache_epoch(dsec_cache *cache);

/* ---- src/refresher.c: background refresh in a host process ---- */

#define DSEC_REFRESHER_QUEUE 64 /* jobs waiting at most */
#define DSEC_REFRESHER_RECENT 256 /* URLs whose last refresh is remembered */

/*
 * A verification used cached (verified by signer, for link->cert through
 * DP dp) for url (its record in the cache directory meta_fd, or -1): when it is past its refresh point, queue a background
 * refresh of url unless one is queued or running, or one gave nothing newer
 * lately. Never waits on the network. 1 when a job was queued.
 */
int dsec_refresher_consider(const dsec_config *cfg, dsec_cache *cache,
                            int meta_fd, const dsec_link *link, const char *url,
                            int dp, X509 *signer, X509_CRL *cached);

/* Drop the jobs of cache and wait for its running one: before freeing it. */
void dsec_refresher_forget(const dsec_cache *cache);

/* Jobs queued or running; jobs finished since the process started. */
size_t dsec_refresher_pending(void);
unsigned long dsec_refresher_done(void);

/* ---- src/cache_guard.c: rollback protection of the CRL cache ---- */

typedef struct dsec_cache_guard dsec_cache_guard;

dsec_cache_guard *dsec_cache_guard_new(void);
void dsec_cache_guard_free(dsec_cache_guard *guard);

/*
 * crl, accepted for the signer key key_id (its SHA-256), against the
 * highest CRL number and thisUpdate accepted before for that key and
 * crl's scope (its issuingDistributionPoint, delta or complete): in memory,
 * and in disk's <keyhash>.num when disk->dirfd >= 0. Older: refused,
 * DSEC_ERR_ROLLBACK (logged); else DSEC_OK and the highest is raised.
 */
dsec_rv dsec_cache_guard_check(dsec_cache_guard *guard, dsec_cache_disk *disk,
                               const unsigned char key_id[32], X509_CRL *crl,
                               DSEC_ERR *err);

#endif /* DOMAINSEC_SRC_INTERNAL_CACHE_H */
