/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the parts of the X509_STORE hook share: hook.c (registration, the
 * revocation check and its reporting), hook_link.c (the decision for one
 * link: the CRLs gathered for it and who may sign them) and hook_path.c
 * (the path builder's side: candidate issuers and their status).
 */
#ifndef DOMAINSEC_PROVIDER_HOOK_INTERNAL_H
#define DOMAINSEC_PROVIDER_HOOK_INTERNAL_H

#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "provider.h"
#include "domainsec/decide.h"
#include "domainsec/path.h"
#include "domainsec/report.h"

/* The active provider instance; NULL before activation and after teardown. */
DSPROV_CTX *dsprov_hook_active(void);

/* What the path builder keeps for one verification (ex_data of the ctx). */
typedef struct {
    STACK_OF(X509) * path; /* the path handed to OpenSSL, hop by hop */
    STACK_OF(X509) * dead; /* certificates with no path at all */
    int sigs; /* signature checks spent, the builder's and the CRL side's */
    int bound; /* a bound was hit: no more searching */
} dsprov_path_state;

/* The verification's path state and report, created on first use. */
dsprov_path_state *dsprov_path_state_of(X509_STORE_CTX *ctx);
dsec_report *dsprov_report_get(X509_STORE_CTX *ctx);

/* The verification time: -attime / X509_V_FLAG_USE_CHECK_TIME, else now. */
time_t dsprov_verification_time(X509_STORE_CTX *ctx);

/*
 * One chain as the revocation side sees it: the verification's own chain
 * (level 0), or the path of a CRL issuer validated for one of its links
 * (level 1, never deeper).
 */
typedef struct dsprov_chain {
    X509_STORE_CTX *ctx;
    DSPROV_CTX *prov;
    dsec_report *rep; /* records attempts and depth outcomes; may be NULL */
    time_t now;
    X509 *const *chain; /* chain[0] the certificate, chain[n - 1] the anchor */
    int n;
    int level;
    const struct dsprov_chain *outer; /* level 1: the chain it serves */
    int outer_d; /* level 1: the outer link whose CRL it signs */
    int *sigs; /* the signature budget shared with the path builder */
    int max_sigs;
    STACK_OF(X509) * keep; /* signers found for this chain (owned) */
} dsprov_chain;

/* Release what the links of c kept in it. */
void dsprov_chain_clear(dsprov_chain *c);

/*
 * The decision for chain[d] of c (d < n - 1), in two steps so that a chain
 * is gathered whole before its first failure is reported: gathering (the
 * CRLs the host supplied for it by name, and those of its CDPs through
 * dsec_engine_obtain, each checked with the signers validated for this
 * link: the chain above d, or at level 0 a CRL issuer validated to the same
 * anchor), then dsec_decide. At level 0 the outcome is recorded in
 * c->rep->depth[d]. *anchor_revoked (may be NULL) is set when d is the link
 * below a self-signed anchor and the CRL that decided it, signed by the
 * anchor, lists the anchor itself (OpenSSL's CRL_CHECK_ALL rule). NULL
 * from dsprov_link_gather: out of memory.
 */
typedef struct dsprov_link_state dsprov_link_state;
dsprov_link_state *dsprov_link_gather(dsprov_chain *c, int d);
void dsprov_link_decide(dsprov_link_state *ls, dsec_decision *out,
                        int *anchor_revoked);
void dsprov_link_free(dsprov_link_state *ls);
/* Both steps for one link. */
void dsprov_link_decide_one(dsprov_chain *c, int d, dsec_decision *out);

/*
 * Candidate issuers named name for the path builder and for CRL issuers,
 * in the builder's order: trust_dirs, the host's trusted store, the peer's
 * certificates, cross_dirs (with partial chains: the trusted ones only).
 */
int dsprov_candidates_by_name(X509_STORE_CTX *ctx, DSPROV_CTX *prov,
                              const X509_NAME *name, dsec_cands *out);

/* Where the path builder's candidates come from (dsprov_candidates_by_name). */
typedef struct {
    X509_STORE_CTX *ctx;
    DSPROV_CTX *prov;
} dsprov_pools;

/* Path builder parameters for pools->ctx: its time, depth, security level,
   the signature budget, candidates from pools (which must outlive the
   build); no status callback, no log. */
void dsprov_path_params(dsprov_pools *pools, dsec_path_params *p,
                        int *sigs_used);

/* The get_issuer hook (hook_path.c). */
int dsprov_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x);

/* 1 when the path builder handed cert -> issuer over in this verification
   (it verified that signature itself). */
int dsprov_link_built(void *arg, X509 *cert, X509 *issuer);

#endif /* DOMAINSEC_PROVIDER_HOOK_INTERNAL_H */
