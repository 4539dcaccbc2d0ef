/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate sets (the trust_dirs and cross_dirs snapshots): an immutable,
 * reference-counted set of certificates (dsec_anchors), each with the file
 * it came from, indexed by subject, issuer and serial, SHA-1 and SHA-256
 * fingerprint and subject key identifier, plus the files skipped while it
 * was built. Sets are built from directories by domainsec/certdir.h.
 */
#ifndef DOMAINSEC_ANCHORS_H
#define DOMAINSEC_ANCHORS_H

#include <openssl/x509.h>
#include "domainsec/common.h"

typedef struct dsec_anchors dsec_anchors;

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

#endif /* DOMAINSEC_ANCHORS_H */
