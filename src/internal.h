/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declarations shared by several libdomainsec source files and used by no
 * one outside the library: the provider, the CLI and the tests see only the
 * public headers of include/domainsec/.
 */
#ifndef DOMAINSEC_SRC_INTERNAL_H
#define DOMAINSEC_SRC_INTERNAL_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/common.h"
#include "domainsec/decide.h"

/* ---- common.c ---- */

/* SHA-256, fetched once for the process (EVP_sha256() would make OpenSSL 3
   fetch it again on every digest); NULL if unavailable. */
const EVP_MD *dsec_sha256(void);

/* The SHA-256 of len bytes of data into out; 0 on failure. */
int dsec_sha256_digest(const void *data, size_t len, unsigned char out[32]);

/* t as a time_t into *when; 0 (*when untouched) when t is NULL or
   unusable. */
int dsec_time_of(const ASN1_TIME *t, time_t *when);

/* ---- crl.c ---- */

/*
 * 1 when key (may be NULL) verifies crl's signature, else 0. The errors
 * OpenSSL queues while verifying are dropped.
 */
int dsec_crl_verify_key(X509_CRL *crl, EVP_PKEY *key);

/*
 * ---- the revocation decision: decide.c (the decision), decide_delta.c
 * (delta CRLs), decide_check.c (one complete CRL), decide_scope.c
 * (distribution points and scope); each file calls only those after it ----
 */

/* decide_delta.c */

/* The INTEGER extension nid (cRLNumber, deltaCRLIndicator) of crl, or
   NULL; free with ASN1_INTEGER_free. */
ASN1_INTEGER *dsec_decide_crl_number(X509_CRL *crl, int nid);

/* The newest delta of set that updates base (signed by signer), or NULL;
   *why (may be NULL), if still DSEC_OK, gets the first delta's failure. */
const dsec_crl_in *dsec_decide_best_delta(const dsec_link *link,
                                          const dsec_crl_set *set,
                                          const dsec_crl_in *base, X509 *signer,
                                          DSEC_ERR *why);

/* decide_check.c */

/* 1 when crl carries a deltaCRLIndicator. */
int dsec_decide_is_delta(X509_CRL *crl);

/* 1 when crl and its entries carry no critical extension we do not
   handle (RFC 5280 5.2, 5.3). */
int dsec_decide_critical_ok(X509_CRL *crl);

/* thisUpdate <= now + skew, now < nextUpdate (+ grace: *stale set). */
dsec_rv dsec_decide_check_time(X509_CRL *crl, time_t now, long grace,
                               int *stale, DSEC_ERR *err);

/*
 * c against one DP of link->cert, or against the implicit DP (dp NULL):
 * scope first (*interim gets the reasons covered), then the rest of
 * dsec_decide_check (*stale, *signer).
 */
dsec_rv dsec_decide_check_dp(const dsec_link *link, const dsec_crl_in *c,
                             const DIST_POINT *dp, unsigned int *interim,
                             int *stale, X509 **signer, DSEC_ERR *err);

/* decide_scope.c */

/* The link's DPs: its own, or decoded now (*owned set: free them). */
STACK_OF(DIST_POINT) * dsec_decide_link_dps(const dsec_link *link, int *owned);

/* crl's issuingDistributionPoint with a relative name completed, or NULL;
   free with ISSUING_DIST_POINT_free. */
ISSUING_DIST_POINT *dsec_decide_idp(X509_CRL *crl);

/*
 * RFC 5280 6.3.3 (b) and (d): is crl (with idp, its IDP or NULL) of the
 * right issuer and scope for cert through dp (NULL: the implicit DP of a
 * CRL issued by the certificate's issuer)? *interim gets the reasons it
 * covers there.
 */
dsec_rv dsec_decide_scope(X509 *cert, X509_CRL *crl,
                          const ISSUING_DIST_POINT *idp, const DIST_POINT *dp,
                          unsigned int *interim, DSEC_ERR *err);

#endif /* DOMAINSEC_SRC_INTERNAL_H */
