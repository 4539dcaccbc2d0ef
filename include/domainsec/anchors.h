/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate directory sets (trust_dirs, cross_dirs): every PEM (single or
 * bundle) and DER file of a list of directories, loaded into an immutable,
 * reference-counted snapshot (dsec_anchors) indexed by subject, issuer and
 * serial, SHA-1 and SHA-256 fingerprint and subject key identifier. A
 * dsec_certdir holds the directories open as descriptors (later reads
 * survive a chroot) and replaces its snapshot when their contents change,
 * checked at most once a second.
 */
#ifndef DOMAINSEC_ANCHORS_H
#define DOMAINSEC_ANCHORS_H

#include <openssl/x509.h>
#include "domainsec/common.h"

typedef struct dsec_anchors dsec_anchors;
typedef struct dsec_certdir dsec_certdir;

/* Seconds between two checks of a dsec_certdir's directories. */
#define DSEC_CERTDIR_CHECK_INTERVAL_MS 1000

/*
 * Load every certificate of the ':'-separated directory list once. A missing
 * directory or an unreadable or malformed file is skipped and logged; only
 * running out of memory fails. NULL or "" gives an empty set. The result
 * holds one reference.
 */
dsec_rv dsec_anchors_load(const char *dirs, dsec_anchors **out, DSEC_ERR *err);
/* New reference to set (thread-safe); returns 1, or 0 when set is NULL. */
int dsec_anchors_up_ref(dsec_anchors *set);
/* Drop one reference (thread-safe); the last one frees. NULL-safe. */
void dsec_anchors_free(dsec_anchors *set);

/* Number of distinct certificates (the same DER in two files counts once). */
size_t dsec_anchors_count(const dsec_anchors *set);
/* Borrowed certificate i (0 <= i < count), and the file it came from. */
X509 *dsec_anchors_get0(const dsec_anchors *set, size_t i);
const char *dsec_anchors_source(const dsec_anchors *set, size_t i);
/*
 * Borrowed fingerprint of certificate i with nid NID_sha1 or NID_sha256
 * (X509_digest of the whole certificate); *len gets its length. NULL for
 * another nid or a bad index.
 */
const unsigned char *dsec_anchors_get0_fingerprint(const dsec_anchors *set,
                                                   size_t i, int nid,
                                                   size_t *len);

/*
 * Files and directories skipped when the snapshot was built, in load order:
 * path and reason (borrowed). Returns 0 when i is out of range.
 */
size_t dsec_anchors_skipped_count(const dsec_anchors *set);
int dsec_anchors_skipped(const dsec_anchors *set, size_t i, const char **path,
                         const char **why);

/*
 * Searches. Each returns the matching certificates in load order: the first
 * match whose index is >= *pos; returns 1, sets *index and advances *pos
 * past it, or 0 when there are no more. Start with *pos = 0. Each is a
 * binary search in a sorted index: O(log n), never a scan.
 */
int dsec_anchors_find_subject(const dsec_anchors *set, const X509_NAME *name,
                              size_t *pos, size_t *index);
int dsec_anchors_find_issuer_serial(const dsec_anchors *set,
                                    const X509_NAME *issuer,
                                    const ASN1_INTEGER *serial, size_t *pos,
                                    size_t *index);
/* nid: NID_sha1 or NID_sha256; md: the certificate's fingerprint. */
int dsec_anchors_find_fingerprint(const dsec_anchors *set, int nid,
                                  const unsigned char *md, size_t mdlen,
                                  size_t *pos, size_t *index);
/* Certificates whose subjectKeyIdentifier equals skid (e.g. an AKID). */
int dsec_anchors_find_skid(const dsec_anchors *set,
                           const ASN1_OCTET_STRING *skid, size_t *pos,
                           size_t *index);

/*
 * NID_sha1 or NID_sha256 for a digest name as OSSL_STORE passes it ("SHA1",
 * "SHA-1", "SHA2-256", "SHA256", ..., any case); with name NULL or "", the
 * one whose size is mdlen. NID_undef when neither fits (unknown digest, or
 * a length that is not the digest's).
 */
int dsec_anchors_fingerprint_nid(const char *name, size_t mdlen);

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

#endif /* DOMAINSEC_ANCHORS_H */
