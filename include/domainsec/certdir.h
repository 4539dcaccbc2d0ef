/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate directory sets (trust_dirs, cross_dirs): every certificate
 * file (PEM, single or bundle, and DER) of a ':'-separated list of
 * directories, loaded into a dsec_anchors snapshot. A dsec_certdir holds
 * the directories open as descriptors (later reads survive a chroot) and
 * replaces its snapshot when their contents change, checked at most once a
 * second.
 */
#ifndef DOMAINSEC_CERTDIR_H
#define DOMAINSEC_CERTDIR_H

#include "domainsec/anchors.h"
#include "domainsec/common.h"

typedef struct dsec_certdir dsec_certdir;

/* Milliseconds between two checks of a dsec_certdir's directories. */
#define DSEC_CERTDIR_CHECK_INTERVAL_MS 1000

/*
 * Load every certificate of the ':'-separated directory list once. A missing
 * directory or an unreadable or malformed file is skipped and logged; only
 * running out of memory fails. NULL or "" gives an empty set. The result
 * holds one reference.
 */
dsec_rv dsec_certdir_load(const char *dirs, dsec_anchors **out, DSEC_ERR *err);

/*
 * Open every directory of the ':'-separated list as a descriptor
 * (O_DIRECTORY|O_CLOEXEC) and build the first snapshot. A directory that
 * cannot be opened is logged, listed among the snapshot's skipped entries
 * and not retried. Only running out of memory fails.
 */
dsec_rv dsec_certdir_open(const char *dirs, dsec_certdir **out, DSEC_ERR *err);
/*
 * The current snapshot, as a new reference the caller frees with
 * dsec_anchors_free; never NULL for an open certdir (may be empty). When the
 * last check is at least DSEC_CERTDIR_CHECK_INTERVAL_MS old, the calling
 * thread first compares a signature of the directories (name, type, size,
 * mtime, ctime, inode of every entry) with the last one and rebuilds the
 * snapshot if it changed. Thread-safe: while one thread checks or rebuilds,
 * the others get the current snapshot without waiting. A snapshot held by a
 * caller stays valid after a rebuild. NULL only for a NULL certdir.
 */
dsec_anchors *dsec_certdir_get(dsec_certdir *cd);
/* The ':'-separated directory list given to dsec_certdir_open (borrowed). */
const char *dsec_certdir_dirs(const dsec_certdir *cd);
/*
 * How many directories of the list are open (immutable after open; no lock,
 * no I/O: callable from an X509_STORE ex_data callback).
 */
size_t dsec_certdir_ndirs_open(const dsec_certdir *cd);
/* Close the directories; snapshots still referenced stay valid. */
void dsec_certdir_free(dsec_certdir *cd);

#endif /* DOMAINSEC_CERTDIR_H */
