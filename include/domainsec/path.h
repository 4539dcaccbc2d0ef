/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The path builder (DESIGN.md section 4): from a certificate up to a trust
 * anchor, over candidate issuers from several pools, depth-first with
 * backtracking. A candidate is skipped when it is outside its validity, not
 * a CA, lacks keyCertSign, violates a pathLenConstraint or the name
 * constraints above it, does not verify the child's signature, or is
 * revoked. Loops are cut; depth and signature checks are bounded.
 *
 * The candidates come from a verification's sources (cands.h: trust_dirs,
 * the host's store through a callback, the peer's certificates,
 * cross_dirs, in that order) or from a callback of the caller's, and the
 * revocation status from a callback, so the builder knows nothing of
 * X509_STORE or of the provider.
 */
#ifndef DOMAINSEC_PATH_H
#define DOMAINSEC_PATH_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/cands.h"

/* Revocation status of a CA certificate, from its issuer's CRL. */
typedef enum {
    DSEC_PATH_GOOD = 0,
    DSEC_PATH_REVOKED,
    DSEC_PATH_UNKNOWN /* no usable CRL: the path may still be the answer */
} dsec_path_status;

typedef struct {
    time_t now;
    int check_time; /* 0: validity periods are not checked */
    int max_depth; /* CA certificates above the start certificate */
    int max_sigs; /* signature checks, over all calls sharing *sigs_used */
    int auth_level; /* security level of keys and signatures; <= 0: none */
    int *sigs_used;
    /* the sources of the candidate issuers of a certificate, gathered by
       its issuer name (dsec_cands_gather) unless candidates is set */
    const dsec_cands_sources *sources;
    /* append the candidate issuers of child (matched by issuer name);
       NULL: gathered from sources */
    int (*candidates)(void *arg, X509 *child, dsec_cands *out);
    /* revocation of path[i] issued by path[i + 1], on a complete path
       path[0..len - 1] (path[len - 1] an anchor); NULL: not checked */
    dsec_path_status (*status)(void *arg, X509 *const *path, int len, int i,
                               char *why, size_t wlen);
    /* one line per path tried, and why it was rejected; may be NULL */
    void (*log)(void *arg, const char *line);
    void *arg;
} dsec_path_params;

typedef enum {
    DSEC_PATH_FOUND = 0, /* a path with every check passed */
    DSEC_PATH_DOUBTFUL, /* the best path has a CA whose CRL is unknown */
    DSEC_PATH_REVOKED_ONLY, /* every complete path has a revoked CA */
    DSEC_PATH_FALLBACK, /* only paths failing a check: the first of them */
    DSEC_PATH_NONE, /* no chain of signatures to an anchor at all */
    DSEC_PATH_BOUND_SIGS, /* max_sigs stopped the search */
    DSEC_PATH_BOUND_DEPTH, /* max_depth cut every path there was */
    DSEC_PATH_ERROR /* out of memory */
} dsec_path_result;

const char *dsec_path_result_name(dsec_path_result r);

/*
 * Build a path from start. On FOUND, DOUBTFUL, REVOKED_ONLY and FALLBACK
 * *path holds start, its issuer, ..., the anchor (new references); the
 * latter three are handed to OpenSSL so that its own checks report the
 * precise error. Otherwise *path is NULL.
 */
dsec_path_result dsec_path_build(const dsec_path_params *p, X509 *start,
                                 STACK_OF(X509) * *path);

/* Short description of cert for logs: its subject, one line. */
void dsec_path_describe(X509 *cert, char *buf, size_t len);

#endif /* DOMAINSEC_PATH_H */
