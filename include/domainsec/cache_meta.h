/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the cache directory knows of each URL besides its CRL, in
 * <hash>.meta beside <hash>.crl: the URL itself, the HTTP validators
 * (ETag, Last-Modified), the last successful fetch, the last attempt and
 * its result, the SubjectPublicKeyInfo of the key that verified the cached
 * CRL and its size. Read by `domainsec cache list | refresh | metrics`;
 * written by every process that fetches. And the purge generation: a file
 * `purge.gen` that `domainsec cache purge` replaces, which running
 * processes look at (one stat, at most once per second) to drop their
 * memory copies.
 */
#ifndef DOMAINSEC_CACHE_META_H
#define DOMAINSEC_CACHE_META_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"

#define DSEC_CACHE_META_URL_MAX 2048
#define DSEC_CACHE_META_SPKI_MAX 2048 /* DER bytes */
#define DSEC_CACHE_META_PURGE_FILE "purge.gen"

typedef struct {
    char url[DSEC_CACHE_META_URL_MAX + 1];
    char etag[256]; /* "" when none */
    char last_modified[64]; /* "" when none */
    long long fetched_at; /* last time the origin served (or confirmed) it */
    long long result_at; /* last attempt, 0: none */
    int result; /* dsec_rv of the last attempt */
    long long bytes; /* DER size of the cached CRL */
    unsigned char spki[DSEC_CACHE_META_SPKI_MAX]; /* verified it */
    size_t spki_len; /* 0: unknown */
} dsec_cache_meta;

/*
 * The record of url in the cache directory dirfd: DSEC_OK, or
 * DSEC_ERR_NOT_FOUND when absent or unusable (not a regular file, too big,
 * malformed, or the record of another URL: planted files are ignored).
 */
dsec_rv dsec_cache_meta_read(int dirfd, const char *url, dsec_cache_meta *m);

/* Write m as the record of m->url, atomically; 0 on failure. */
int dsec_cache_meta_write(int dirfd, const dsec_cache_meta *m);

/*
 * Every usable record of the directory (those whose file name is their
 * URL's), sorted by file name, into *out (free with free()); their count.
 */
size_t dsec_cache_meta_list(int dirfd, dsec_cache_meta **out);

/* The cached CRL of url, parsed only (unchecked); NULL when none. */
X509_CRL *dsec_cache_meta_crl(int dirfd, const char *url);

/*
 * A fetch of url ended with rv (crl: what was accepted, signer: who
 * verified it, both NULL on failure; rv DSEC_OK with no crl: the origin
 * confirmed the cached one, a 304): the record is updated, with the
 * origin's validators etag and last_modified when not NULL. A process
 * without a cache directory (dirfd < 0) keeps nothing.
 */
void dsec_cache_meta_note(int dirfd, const char *url, dsec_rv rv, X509_CRL *crl,
                          X509 *signer, const char *etag,
                          const char *last_modified);

/*
 * Remove the files of url (NULL: of every URL): CRL, record, failure; then
 * replace purge.gen so that running processes drop their memory copies.
 * Returns how many URLs were removed, -1 when purge.gen cannot be written.
 */
int dsec_cache_meta_purge(int dirfd, const char *url);

/*
 * Tell that the CRLs on disk changed (purge.gen replaced), for `domainsec
 * cache refresh`: running processes re-read them. 0 on failure.
 */
int dsec_cache_meta_bump(int dirfd);

#endif /* DOMAINSEC_CACHE_META_H */
