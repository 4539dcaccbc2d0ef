/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Candidate issuers for the path builder (DESIGN.md section 4): a list
 * without duplicates, each with where it came from and whether a path may
 * end there, and the sources of one verification gathered in the builder's
 * order: trust_dirs, the host's trusted store, the peer's certificates,
 * cross_dirs. The anchor rules live here: a self-signed certificate of
 * trust_dirs or of the host's store is an anchor, with partial chains every
 * trusted one is and untrusted ones are not considered.
 */
#ifndef DOMAINSEC_CANDS_H
#define DOMAINSEC_CANDS_H

#include <stddef.h>
#include <openssl/x509.h>
#include "domainsec/anchors.h"

/* Where a candidate issuer came from. */
typedef enum {
    DSEC_SRC_ANCHOR = 0, /* trust_dirs */
    DSEC_SRC_STORE, /* the host's trusted store (CAfile, CApath) */
    DSEC_SRC_PEER, /* the peer's untrusted certificates */
    DSEC_SRC_CROSS, /* cross_dirs */
    DSEC_SRC_NONE /* internal: ruled out */
} dsec_src;

typedef struct {
    X509 *cert; /* owned reference */
    dsec_src src;
    int anchor; /* a trust anchor: a path may end here */
    char origin[128]; /* file name, or "" */
} dsec_cand;

typedef struct {
    dsec_cand *v;
    size_t n, cap;
} dsec_cands;

/*
 * Append cert (a new reference is taken) unless an identical certificate is
 * already listed. Returns 0 on allocation failure.
 */
int dsec_cands_add(dsec_cands *c, X509 *cert, dsec_src src, int anchor,
                   const char *origin);
void dsec_cands_clear(dsec_cands *c);

/* The candidate sources of one verification (all borrowed). */
typedef struct {
    const dsec_anchors *roots; /* trust_dirs; may be NULL */
    const dsec_anchors *cross; /* cross_dirs, never anchors; may be NULL */
    /* the host's trusted certificates whose subject is name, as a new
       stack the caller frees; NULL: none (also when host_certs is NULL) */
    STACK_OF(X509) * (*host_certs)(void *arg, const X509_NAME *name);
    void *host_arg;
    STACK_OF(X509) * peer; /* the peer's untrusted certificates; may be NULL */
    int partial_chain; /* X509_V_FLAG_PARTIAL_CHAIN */
} dsec_cands_sources;

/*
 * Append the candidates whose subject is name, in the builder's order:
 * trust_dirs, the host's store, the peer's certificates, cross_dirs (with
 * partial chains: the trusted sources only). Returns 0 on allocation
 * failure.
 */
int dsec_cands_gather(const dsec_cands_sources *src, const X509_NAME *name,
                      dsec_cands *out);

#endif /* DOMAINSEC_CANDS_H */
