/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation decision for one link of a chain (DESIGN.md section 7,
 * RFC 5280 section 6.3.3): given a certificate, its issuer in the chain and
 * the CRLs gathered for that certificate, the answer is good, revoked (with
 * the reason) or unknown (with why). The module is pure: no network, no
 * cache, no X509_verify_cert. Who may sign a CRL is asked of a callback,
 * which the provider answers from the chain and from CRL-issuer paths it
 * validated to the same trust anchor; the unit tests answer it from a list.
 * The CRLs come as a dsec_crl_set (crl.h). The module's files: decide.c
 * (the decision), decide_delta.c (delta CRLs), decide_check.c (one
 * complete CRL: extensions, time, signer) and decide_scope.c (distribution
 * points, issuer and scope).
 *
 * The rules, in the order they are applied to each complete CRL:
 *  - complete: no deltaCRLIndicator (a delta never stands alone);
 *  - no critical CRL or entry extension other than issuingDistributionPoint,
 *    authorityKeyIdentifier, deltaCRLIndicator and certificateIssuer;
 *  - issuer and scope for a distribution point (DP) of the certificate
 *    (6.3.3 b): a CRL obtained from DP i is matched against DP i only; a
 *    CRL the host supplied against every DP, then against the implicit DP
 *    of a CRL issued by the certificate's issuer with the issuer's name;
 *    with a cRLIssuer in the DP the CRL must be indirect and issued by it;
 *    the IDP's name must match the DP's (or the cRLIssuer's) names;
 *    onlyContainsUserCerts / onlyContainsCACerts / onlyContainsAttributeCerts;
 *  - the reasons it covers (6.3.3 d), which must add to those covered;
 *  - thisUpdate <= now + 300 s, now < nextUpdate + grace;
 *  - a signer (6.3.3 f, g), from the callback;
 *  - a delta CRL for it (6.3.3 c, h): same issuer, AKID and IDP, signed by
 *    the same key, deltaCRLIndicator <= the CRL's number < the delta's
 *    number, in its validity; the newest such delta is applied. When the
 *    CRL or the certificate carries freshestCRL, a delta is required under
 *    DSEC_DELTA_REQUIRE (without one the CRL does not count); it is used if
 *    present under DSEC_DELTA_IF_AVAILABLE, never under DSEC_DELTA_IGNORE.
 * Then the certificate is looked up in the delta, then in the CRL
 * (6.3.3 i-k: removeFromCRL in the delta un-revokes, certificateHold
 * revokes). Complete CRLs are taken newest first (thisUpdate, then CRL
 * number, then input order), so an older CRL only counts for reasons the
 * newer ones leave uncovered. The status is good once the reasons of the
 * CRLs used cover every reason, revoked as soon as one lists the
 * certificate, unknown otherwise.
 */
#ifndef DOMAINSEC_DECIDE_H
#define DOMAINSEC_DECIDE_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/crl.h"

/* RFC 5280 ReasonFlags as a bit set, bit i for reason i: 1 keyCompromise,
   2 cACompromise, ... 8 aACompromise (bit 0, "unused", is never set). */
#define DSEC_REASONS_ALL 0x1feu

typedef enum {
    DSEC_STATUS_GOOD = 0,
    DSEC_STATUS_REVOKED,
    DSEC_STATUS_UNKNOWN
} dsec_status;

/* SHA-256 of cert's public key bits into id; 0 on failure. */
int dsec_decide_key_id(X509 *cert, unsigned char id[32]);

/*
 * Who signed c->crl: a certificate validated to the chain's trust anchor
 * (or that anchor), whose subject is the CRL's issuer, whose key
 * identifier matches the CRL's AKID, with cRLSign when it has a keyUsage,
 * and whose key verifies the CRL's signature (dsec_decide_signed_by).
 * Returns DSEC_OK with *signer (borrowed, valid while the link is
 * decided), DSEC_ERR_CRL_SIG when a certificate of the right name and key
 * identifier does not verify it, or DSEC_ERR_CRL_SIGNER when no
 * certificate fit for it is validated to the anchor; err says why.
 */
typedef dsec_rv (*dsec_signer_fn)(void *arg, const dsec_crl_in *c,
                                  X509 **signer, DSEC_ERR *err);

/* One link of a chain: the certificate whose status is decided. */
typedef struct {
    X509 *cert;
    X509 *issuer; /* the certificate above it in the chain */
    time_t now; /* the verification time */
    long grace; /* stale_grace: seconds past nextUpdate a CRL still serves */
    dsec_delta_mode delta;
    dsec_signer_fn signer;
    void *arg;
    /* optional, borrowed: cert's DistributionPoints as dsec_decide_dps
       gives them, decoded once by a caller that decides the link many
       times; NULL: decoded on each call */
    STACK_OF(DIST_POINT) * dps;
    /* optional: every certificate signer (called with arg) may accept for
       a CRL of a given issuer name, so that a downloaded CRL's signature
       is checked before its entries are decoded; NULL: only issuer when
       signer is dsec_decide_direct_signer, else the CRL is decoded first */
    dsec_crl_signers_fn *cands;
} dsec_link;

/*
 * cert's DistributionPoints with every nameRelativeToCRLIssuer completed
 * (relative to the cRLIssuer, else to the certificate's issuer); NULL when
 * it has none. Free with sk_DIST_POINT_pop_free(dps, DIST_POINT_free).
 */
STACK_OF(DIST_POINT) * dsec_decide_dps(X509 *cert);

/*
 * The names a CRL that may decide cert is issued under (RFC 5280 6.3.3
 * b.1): its issuer, then every distinct cRLIssuer directoryName of dps
 * (cert's DPs, may be NULL), at most max of them into names (borrowed from
 * cert and dps). Returns how many.
 */
int dsec_decide_crl_issuers(X509 *cert, STACK_OF(DIST_POINT) * dps,
                            const X509_NAME **names, int max);

typedef struct {
    dsec_status status;
    /* DSEC_OK when good or revoked; for unknown, why in one code:
       DSEC_ERR_NO_CRL (nothing gathered), _CRL_SCOPE, _CRL_CRITICAL,
       _CRL_DELTA, _CRL_ISSUER, _CRL_SIGNER, _CRL_SIG, _CRL_STALE,
       _CRL_FUTURE, _CRL_REASONS, _NO_DELTA */
    dsec_rv rv;
    /* X509_V_OK, X509_V_ERR_CERT_REVOKED, or for unknown (DESIGN.md
       section 5): CRL_HAS_EXPIRED when the CRL that got furthest is past
       nextUpdate, CRL_SIGNATURE_FAILURE when its signature fails with its
       issuer's key, UNABLE_TO_GET_CRL otherwise */
    int x509_err;
    int reason; /* revoked: the CRLReason code (0 when absent); else -1 */
    unsigned int reasons; /* reasons covered by the CRLs used */
    int stale; /* a CRL past nextUpdate (within grace) was used */
    /* revoked: the CRL or delta listing it; good: the last complete CRL
       used; unknown: the CRL whose failure is reported, or NULL */
    const dsec_crl_in *decided_by;
    const dsec_crl_in *delta; /* the delta applied with decided_by, or NULL */
    X509 *signer; /* decided_by's signer (borrowed), or NULL */
    char why[DSEC_ERR_MSG_LEN];
} dsec_decision;

/* Decide link->cert from the CRLs of set (complete and delta). */
void dsec_decide(const dsec_link *link, const dsec_crl_set *set,
                 dsec_decision *out);

/*
 * What one complete CRL must pass before it is used, and before the
 * engine caches it, for link->cert: every rule above but the lookup and
 * the delta. *reasons (may be NULL) gets the reasons it covers, *signer
 * (may be NULL) its signer. Returns DSEC_OK, or DSEC_ERR_CRL_DELTA,
 * _CRL_CRITICAL, _CRL_ISSUER, _CRL_SCOPE, _CRL_FUTURE, _CRL_STALE,
 * _CRL_SIGNER or _CRL_SIG with err filled.
 */
dsec_rv dsec_decide_check(const dsec_link *link, const dsec_crl_in *c,
                          unsigned int *reasons, X509 **signer, DSEC_ERR *err);

/*
 * What a delta CRL must pass to update base (which passed
 * dsec_decide_check with signer base_signer) for link->cert. Returns
 * DSEC_OK, or DSEC_ERR_CRL_DELTA (not a delta, or not one of base: other
 * issuer, AKID, scope or numbers), _CRL_CRITICAL, _CRL_FUTURE, _CRL_STALE,
 * _CRL_SIGNER or _CRL_SIG with err filled.
 */
dsec_rv dsec_decide_check_delta(const dsec_link *link, const dsec_crl_in *base,
                                X509 *base_signer, const dsec_crl_in *delta,
                                DSEC_ERR *err);

/* 1 when a delta is required for base: delta mode require and freshestCRL
   in base or in link->cert. */
int dsec_decide_needs_delta(const dsec_link *link, X509_CRL *base);

/*
 * 1 when cand may have signed c->crl and did: subject equal to the CRL's
 * issuer, key identifier matching the CRL's AKID, cRLSign when it has a
 * keyUsage, and its key verifies the signature (no new check when
 * c->key_known and c->key_id is the SHA-256 of its key). Otherwise 0 with
 * err: DSEC_ERR_CRL_SIGNER (not a fit) or DSEC_ERR_CRL_SIG (a fit whose
 * key does not verify it).
 */
int dsec_decide_signed_by(X509 *cand, const dsec_crl_in *c, DSEC_ERR *err);

/* A dsec_signer_fn for the plain case, arg being the dsec_link: the
   link's issuer, when dsec_decide_signed_by accepts it. */
dsec_rv dsec_decide_direct_signer(void *arg, const dsec_crl_in *c,
                                  X509 **signer, DSEC_ERR *err);

/* "good", "revoked" or "unknown". */
const char *dsec_decide_status_name(dsec_status st);

#endif /* DOMAINSEC_DECIDE_H */
