/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declarations shared by several files of libdomainsec and by its unit
 * tests, but by neither the provider nor the CLI: those use the public
 * headers of include/domainsec/.
 */
#ifndef DOMAINSEC_SRC_INTERNAL_H
#define DOMAINSEC_SRC_INTERNAL_H

#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"
#include "domainsec/cache.h"
#include "domainsec/config.h"
#include "domainsec/decide.h"
#include "domainsec/report.h"

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
void dsec_cache_hit_clear(dsec_cache_hit *hit);

/*
 * Keep crl (up-ref'd) for url, verified with the key whose SHA-256 is
 * key_id; clears any negative entry. to_disk: also write the disk copy.
 */
dsec_rv dsec_cache_store(dsec_cache *cache, const char *url, X509_CRL *crl,
                         const unsigned char key_id[32], int to_disk);

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

/* ---- src/gather.c: one URL of a certificate's CDPs, for engine.c ---- */

/* One gathering of a certificate's CRLs (dsec_engine_obtain): what it is
   after, and what it gathered so far. */
typedef struct {
    const dsec_config *cfg; /* the engine's */
    dsec_cache *cache; /* the engine's */
    const dsec_link *link; /* as the caller gave it (stale_grace included) */
    dsec_link fresh; /* the same, without grace: nothing past nextUpdate */
    int depth;
    dsec_crl_set *out;
    dsec_report *rep; /* may be NULL */
    int fetches; /* network fetches made for this certificate */
    int stop; /* no more fetches: the fetch time or fetch limit is spent */
    dsec_rv last; /* the error of the last attempt */
    const char *last_url;
} dsec_gather;

/*
 * What is wanted from a URL: a complete CRL for DP dp (base NULL), or a
 * delta CRL of base (signed by base_signer). Once one is accepted: the
 * reasons it covers, its signer and the SHA-256 of the signer's key.
 */
typedef struct {
    int dp;
    const dsec_crl_in *base;
    X509 *base_signer;
    unsigned int reasons;
    X509 *signer;
    int key_known;
    unsigned char key_id[32];
} dsec_gather_want;

/*
 * The CRL w wants from url, added to g->out once accepted (DSEC_OK), with
 * the attempt recorded; else DSEC_ERR_NOT_FOUND when another step may help,
 * or the error of this one. from_cache: what the cache holds, fresh (a
 * remembered failure of url is its error). from_network: fetched (single
 * flight; DSEC_ERR_BACKOFF past DSEC_MAX_FETCHES_PER_CERT, DSEC_ERR_TIMEOUT
 * once the verification's fetch time is spent), any failure remembered
 * fail_cache seconds. from_grace: what the cache holds, past nextUpdate
 * within link->grace.
 */
dsec_rv dsec_gather_from_cache(dsec_gather *g, const char *url,
                               dsec_gather_want *w);
dsec_rv dsec_gather_from_network(dsec_gather *g, const char *url,
                                 dsec_gather_want *w);
dsec_rv dsec_gather_from_grace(dsec_gather *g, const char *url,
                               dsec_gather_want *w);

/* The outcome for g's depth in the report: rv, url (may be NULL), detail. */
void dsec_gather_depth(dsec_gather *g, dsec_rv rv, const char *url,
                       const char *detail);

/* Record an attempt on url that was not made: rv, and why. */
void dsec_gather_skip(dsec_gather *g, const char *url, dsec_rv rv,
                      const char *why);

/* ---- src/cache_disk.c: the disk layer of the CRL cache ---- */

/* The cache directory of one dsec_cache. */
typedef struct {
    int dirfd; /* borrowed; -1: no disk layer */
    int warned; /* a write failure was logged (once per cache) */
} dsec_cache_disk;

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

/* Lock url's fetch across processes, waiting until deadline (CLOCK_REALTIME)
   at most: the descriptor holding the lock, or -1 (then fetch anyway). */
int dsec_cache_disk_lock(const dsec_cache_disk *d, const char *url,
                         const struct timespec *deadline);
void dsec_cache_disk_unlock(int fd);

#endif /* DOMAINSEC_SRC_INTERNAL_H */
