/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRL cache: process-wide, thread-safe, keyed by URL, bounded. An entry
 * holds a CRL whose signature was verified against its issuer, and the key
 * that verified it; or a remembered failure (negative entry) with its
 * expiry. With a cache directory, CRLs are also kept on disk, written
 * atomically, and shared by every process. This header is what the
 * provider and the CLI use; the library's own calls (look up, fetch once,
 * store) are in src/internal.h.
 */
#ifndef DOMAINSEC_CACHE_H
#define DOMAINSEC_CACHE_H

#include <sys/stat.h>
#include <sys/types.h>
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

size_t dsec_cache_count(dsec_cache *cache);

/* Every cached CRL (new references), for the domainsec:crls store. */
STACK_OF(X509_CRL) * dsec_cache_list(dsec_cache *cache);

/*
 * Whether a file of the cache directory is one the cache trusts: NULL when
 * it is, else why not ("not a regular file", "writable by others", "owned
 * by a user and group foreign to the directory"). st: the file's, dir: the
 * directory's, euid: the reader's. Used by the disk layer and by `doctor`.
 */
const char *dsec_cache_disk_untrusted(const struct stat *st,
                                      const struct stat *dir, uid_t euid);

#endif /* DOMAINSEC_CACHE_H */
