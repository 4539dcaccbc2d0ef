/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the files of the X509_STORE hook share, bottom layer first (each
 * file calls only the ones listed before it):
 *   state.c      what the hook keeps: the active provider instance or the
 *                fail-closed reason, OpenSSL's own check, each
 *                verification's report and path state (ex_data);
 *   verdict.c    each verification watched (its errors into the report)
 *                and its verdict recorded when its context is freed;
 *   hostmiss.c   names the host's store had nothing for, remembered a
 *                few seconds (no directory lookups on every handshake);
 *   sources.c    the path builder's sources and bounds for a verification;
 *   link.c       the revocation decision of one link: the CRLs gathered
 *                for it and who may sign them;
 *   issuer.c     the get_issuer hook: the path builder's path, handed
 *                over hop by hop;
 *   revocation.c the check_revocation hook: gate, dates, every link
 *                decided, failures reported through the host's callback;
 *   register.c   registration on every X509_STORE (hook.h).
 */
#ifndef DOMAINSEC_PROVIDER_HOOK_INTERNAL_H
#define DOMAINSEC_PROVIDER_HOOK_INTERNAL_H

#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "ctx.h"
#include "domainsec/cands.h"
#include "domainsec/decide.h"
#include "domainsec/path.h"
#include "domainsec/report.h"

/* ---- hostmiss.c ---- */

/* How long an empty answer of the host's store is reused. */
#define DSPROV_HOSTMISS_SECONDS 5
/*
 * 1 when the store of ctx had no object of kind (X509_LU_X509 or
 * X509_LU_CRL) named name less than DSPROV_HOSTMISS_SECONDS ago: asking
 * again would only repeat its lookups (directory listings) for nothing.
 */
int dsprov_hostmiss_known(X509_STORE_CTX *ctx, int kind, const X509_NAME *name);
/* The store of ctx had no object of kind named name. */
void dsprov_hostmiss_note(X509_STORE_CTX *ctx, int kind, const X509_NAME *name);

/* ---- state.c ---- */

/* What the path builder keeps for one verification (ex_data of the ctx). */
typedef struct {
    STACK_OF(X509) * path; /* the path handed to OpenSSL, hop by hop */
    STACK_OF(X509) * dead; /* certificates with no path at all */
    int sigs; /* signature checks spent, the builder's and the CRL side's */
    int bound; /* a bound was hit: no more searching */
} dsprov_path_state;

/* Find OpenSSL's own revocation check and create the ex_data indices of
   the report and the path state; 0 when OpenSSL cannot. Called once. */
int dsprov_state_setup(void);
int dsprov_state_report_index(void);
/* OpenSSL's own check_revocation, for the verifications domainsec leaves. */
int dsprov_state_builtin_check(X509_STORE_CTX *ctx);

/* The active provider instance; NULL before activation and after teardown. */
DSPROV_CTX *dsprov_state_active(void);
/* ctx becomes the active instance (and ends fail-closed mode). */
void dsprov_state_set_active(DSPROV_CTX *ctx);
/* ctx is no longer active (nothing when another one is). */
void dsprov_state_unset_active(DSPROV_CTX *ctx);

/* Fail-closed mode: the reason (empty: "unknown error"), then the mode
   itself, entered only when no instance is active. */
void dsprov_state_set_broken_reason(const char *reason);
void dsprov_state_enter_broken(void);
int dsprov_state_is_broken(void);
const char *dsprov_state_broken_reason(void);

/* The verification's report and path state, created on first use (NULL:
   out of memory); dsprov_state_path_get0 never creates it. */
dsec_report *dsprov_state_report(X509_STORE_CTX *ctx);
dsprov_path_state *dsprov_state_path(X509_STORE_CTX *ctx);
dsprov_path_state *dsprov_state_path_get0(const X509_STORE_CTX *ctx);

/* 1 when the path builder handed cert -> issuer over in the verification
   whose path state is arg (it verified that signature itself). */
int dsprov_state_link_built(void *arg, X509 *cert, X509 *issuer);

/* The verification time: -attime / X509_V_FLAG_USE_CHECK_TIME, else now,
   read once and set on ctx's parameters for the rest of the verification
   (OpenSSL's own checks included). */
time_t dsprov_state_time(X509_STORE_CTX *ctx);
/* CLOCK_MONOTONIC in nanoseconds (the memos' lifetimes); 0 when unread. */
long long dsprov_state_mono_ns(void);

/* ---- verdict.c ---- */

/* Create the ex_data index of the watched verifications; 0 when OpenSSL
   cannot. Called once, before dsprov_state_setup: OpenSSL frees ex_data in
   index order, and the verdict is recorded while the report still exists. */
int dsprov_verdict_setup(void);
int dsprov_verdict_index(void);

/*
 * Watch the verification ctx (once; nothing when no verdicts directory is
 * open, or inside a CRL fetch): keep its leaf and wrap its verify callback
 * so that every error it reports is noted in the report before the host's
 * callback sees it. Its verdict is recorded when ctx is cleaned up.
 */
void dsprov_verdict_watch(X509_STORE_CTX *ctx);

/* ---- sources.c ---- */

/* The candidate sources of one verification; src is what the builder
   reads, roots and cross the snapshots it borrows. */
typedef struct {
    dsec_cands_sources src;
    dsec_anchors *roots; /* owned reference */
    dsec_anchors *cross; /* owned reference; NULL with partial chains */
} dsprov_sources;

/* The sources of the verification ctx for prov: trust_dirs, the host's
   trusted store, the peer's certificates, cross_dirs. */
void dsprov_sources_init(dsprov_sources *s, X509_STORE_CTX *ctx,
                         DSPROV_CTX *prov);
void dsprov_sources_clear(dsprov_sources *s);

/* Path builder parameters for the verification ctx: its time, depth,
   security level, the signature budget, candidates from s (which must
   outlive the build); no status callback, no log. */
void dsprov_sources_params(const dsprov_sources *s, X509_STORE_CTX *ctx,
                           const DSPROV_CTX *prov, dsec_path_params *p,
                           int *sigs_used);

/* ---- link.c ---- */

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
    int memo; /* 1: links may be remembered good (linkmemo.c), at epoch */
    unsigned long epoch; /* the engine's cache epoch before gathering */
} dsprov_chain;

/* Release what the links of c kept in it. */
void dsprov_link_chain_clear(dsprov_chain *c);

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

/* ---- hostcrls.c ---- */

/* The CRLs the host supplies for cert (whose DPs are dps) into set: by
   its issuer's and cRLIssuers' names only, each still to be verified. */
void dsprov_host_crls_add(X509_STORE_CTX *ctx, X509 *cert,
                          STACK_OF(DIST_POINT) * dps, dsec_crl_set *set);
/* 1 when the host supplies a CRL issued by nm for the verification ctx
   (X509_STORE_CTX_set0_crls, or its store). */
int dsprov_link_host_has_crls(X509_STORE_CTX *ctx, const X509_NAME *nm);

/* ---- linkmemo.c ---- */

/* 1 when link d of c was found good a moment ago from the same CRLs (see
   linkmemo.c): out is that good decision, c's report filled as for one. */
int dsprov_linkmemo_get(const dsprov_chain *c, int d, dsec_decision *out);
/* Remember link d of c decided good (dec) from by (and delta, may be NULL),
   the CRL of url. The caller checked that the decision qualifies. */
void dsprov_linkmemo_put(const dsprov_chain *c, int d, X509_CRL *by,
                         X509_CRL *delta, const dsec_decision *dec,
                         const char *url);

/* ---- issuer.c ---- */

/* The get_issuer hook. */
int dsprov_issuer_get(X509 **issuer, X509_STORE_CTX *ctx, X509 *x);

/* ---- revocation.c ---- */

/* The check_revocation hook. */
int dsprov_revocation_check(X509_STORE_CTX *ctx);

#endif /* DOMAINSEC_PROVIDER_HOOK_INTERNAL_H */
