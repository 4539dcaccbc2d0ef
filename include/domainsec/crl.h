/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRLs as libdomainsec holds them: turning fetched bytes into a CRL we may
 * use (parse DER or PEM, check that it is a complete CRL of the
 * certificate's issuer, in its time window), and the set of CRLs gathered
 * for one certificate that the revocation decision (decide.h) reads.
 */
#ifndef DOMAINSEC_CRL_H
#define DOMAINSEC_CRL_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"

/* Seconds thisUpdate may lie in the future (clocks differ). */
#define DSEC_CRL_CLOCK_SKEW 300

/* DER, or PEM "X509 CRL". Trailing garbage after DER is rejected. */
dsec_rv dsec_crl_parse(const unsigned char *data, size_t len, X509_CRL **out,
                       DSEC_ERR *err);

/*
 * The certificates that may sign a CRL issued under the name issuer (the
 * signer policy's own candidates), appended to out with a reference each.
 * Returns 1 (none is an answer too), 0 on failure (no CRL is accepted).
 */
typedef int dsec_crl_signers_fn(void *arg, const X509_NAME *issuer,
                                STACK_OF(X509) * out);

/*
 * The signature of the DER CRL der checked over its raw tbsCertList before
 * any entry is decoded: the outer structure is walked with bounds checks
 * (definite lengths only, no trailing bytes, the inner and outer signature
 * algorithms equal), the issuer Name read from the tbsCertList's header,
 * and each candidate signers gives under that name is tried. DSEC_OK with
 * *which (a new reference) the candidate whose key verified it;
 * DSEC_ERR_PARSE (not a DER CRL), DSEC_ERR_CRL_ISSUER (no candidate of the
 * issuer's name, or signers knows none) or DSEC_ERR_CRL_SIG (none
 * verifies).
 */
dsec_rv dsec_crl_preverify(const unsigned char *der, size_t len,
                           dsec_crl_signers_fn *signers, void *arg,
                           X509 **which, DSEC_ERR *err);

/*
 * dsec_crl_parse for downloaded bytes: DER or PEM, decoded only once
 * dsec_crl_preverify accepted its signature (*which, may be NULL: the
 * candidate that verified it, a new reference). signers NULL: no candidate
 * is known before decoding, plain dsec_crl_parse.
 */
dsec_rv dsec_crl_parse_signed(const unsigned char *data, size_t len,
                              dsec_crl_signers_fn *signers, void *arg,
                              X509_CRL **out, X509 **which, DSEC_ERR *err);

/*
 * The one freshness comparison of domainsec, as OpenSSL's check_crl_time
 * makes it: a CRL whose nextUpdate is next is fresh at now iff
 * now < next; stale (within grace seconds) iff next <= now < next + grace.
 * next 0 (absent or unrepresentable) is never fresh.
 */
int dsec_crl_fresh_at(time_t next, time_t now);
int dsec_crl_stale_at(time_t next, time_t now, long grace);

/*
 * The CRL is issued by issuer (name and signature), is not a delta CRL,
 * thisUpdate <= now + 300 s of clock skew, nextUpdate present and
 * now <= nextUpdate + grace. Returns DSEC_ERR_CRL_ISSUER, _CRL_SIG,
 * _CRL_DELTA, _CRL_FUTURE, _CRL_STALE or DSEC_OK.
 */
dsec_rv dsec_crl_check(X509_CRL *crl, X509 *issuer, time_t now, long grace,
                       DSEC_ERR *err);

/* The signature-only part of dsec_crl_check (name and key). */
dsec_rv dsec_crl_check_issuer(X509_CRL *crl, X509 *issuer, DSEC_ERR *err);

/*
 * The completeness and time part of dsec_crl_check, in its order (times
 * compared with X509_cmp_time, so a malformed time fails):
 *  - a deltaCRLIndicator: DSEC_ERR_CRL_DELTA;
 *  - thisUpdate absent, malformed or later than now + DSEC_CRL_CLOCK_SKEW:
 *    DSEC_ERR_CRL_FUTURE;
 *  - nextUpdate absent: DSEC_ERR_CRL_STALE ("CRL has no nextUpdate");
 *  - nextUpdate malformed or not later than now - grace:
 *    DSEC_ERR_CRL_STALE ("CRL is past its nextUpdate");
 *  - otherwise DSEC_OK, with *stale (may be NULL) 1 when nextUpdate is not
 *    later than now (used within grace), 0 when the CRL is current.
 * DSEC_ERR_INVALID when crl is NULL. *stale is 0 on every failure.
 */
dsec_rv dsec_crl_check_time(X509_CRL *crl, time_t now, long grace, int *stale,
                            DSEC_ERR *err);

/*
 * 1 when the public key of signer (may be NULL) verifies crl's signature,
 * else 0 (no key, undecodable key, bad signature). Nothing else is checked
 * (not the names); the OpenSSL error queue is left as it was.
 */
int dsec_crl_verify(X509_CRL *crl, X509 *signer);

/* nextUpdate as time_t; 0 when absent or unrepresentable. */
time_t dsec_crl_next_update(const X509_CRL *crl);

/* A CRL gathered for one certificate. */
typedef struct {
    X509_CRL *crl; /* a reference owned by the set */
    /*
     * The index of the certificate's DistributionPoint it was obtained
     * from (as dsec_cdp_uri.dp), matched against that DP only; -1 for a
     * CRL the host supplied, matched against every DP.
     */
    int dp;
    /* 1: key_id is the SHA-256 of the public key bits that already
       verified this CRL's signature (the cache did) */
    int key_known;
    unsigned char key_id[32];
    char *src; /* the URL, or "host": for messages; owned, never NULL */
} dsec_crl_in;

typedef struct {
    dsec_crl_in *v;
    size_t n, cap;
} dsec_crl_set;

/*
 * Append crl (a new reference is taken). key_id (32 bytes) may be NULL;
 * src may be NULL ("host"). Returns 0 on allocation failure.
 */
int dsec_crl_set_add(dsec_crl_set *set, X509_CRL *crl, int dp,
                     const unsigned char *key_id, const char *src);
void dsec_crl_set_clear(dsec_crl_set *set);

#endif /* DOMAINSEC_CRL_H */
