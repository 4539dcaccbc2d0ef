/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRL cache: process-wide, thread-safe, keyed by URL, bounded. An entry
 * holds a CRL whose signature was verified against its issuer, and the key
 * that verified it; or a remembered failure (negative entry) with its
 * expiry. With a cache directory, CRLs are also kept on disk, written
 * atomically, and shared by every process.
 */
#ifndef DOMAINSEC_CACHE_H
#define DOMAINSEC_CACHE_H

#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"

typedef struct dsec_cache dsec_cache;

dsec_cache *dsec_cache_new(size_t max_entries);
void dsec_cache_free(dsec_cache *cache);

/*
 * Open the cache directory path for dsec_cache_set_dir: a descriptor keeps
 * working after the host chroots. NULL or "" is no directory. A directory
 * that cannot be opened (or written) is logged as a warning. Returns the
 * descriptor (the caller closes it) or -1.
 */
int dsec_cache_open_dir(const char *path);

/*
 * Use dirfd (an open directory, borrowed until dsec_cache_free) as the disk
 * layer. -1 disables it.
 */
void dsec_cache_set_dir(dsec_cache *cache, int dirfd);

/*
 * DSEC_OK: *crl is a new reference to the cached CRL of url, verified with
 * issuer's key, valid at now (nextUpdate + grace not passed).
 * A live negative entry: its rv (and err filled), *crl untouched.
 * DSEC_ERR_NOT_FOUND: nothing usable.
 */
dsec_rv dsec_cache_get(dsec_cache *cache, const char *url, X509 *issuer,
                       time_t now, long grace, X509_CRL **crl, DSEC_ERR *err);

/* As dsec_cache_get; *source is set to 1 (memory) or 2 (disk) on a hit. */
dsec_rv dsec_cache_get_src(dsec_cache *cache, const char *url, X509 *issuer,
                           time_t now, long grace, X509_CRL **crl,
                           DSEC_ERR *err, int *source);

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

/* Store a verified CRL (up-ref'd) for url; clears any negative entry. */
dsec_rv dsec_cache_put(dsec_cache *cache, const char *url, X509_CRL *crl,
                       X509 *issuer);

/* Remember a failed fetch of url until `until`. */
void dsec_cache_put_failure(dsec_cache *cache, const char *url,
                            const DSEC_ERR *err, time_t until);

/*
 * Single flight: returns 1 when the caller should fetch url (and must call
 * dsec_cache_end_fetch), 0 when another thread fetched it meanwhile (look
 * it up again). Waits at most wait_ms for the other thread.
 */
int dsec_cache_begin_fetch(dsec_cache *cache, const char *url, long wait_ms);
void dsec_cache_end_fetch(dsec_cache *cache, const char *url);

size_t dsec_cache_count(dsec_cache *cache);

/* Every cached CRL (new references), for the domainsec:crls store. */
STACK_OF(X509_CRL) * dsec_cache_list(dsec_cache *cache);

#endif /* DOMAINSEC_CACHE_H */
