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
