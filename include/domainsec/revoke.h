/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation engine: configuration plus cache, the signature gate, and
 * obtaining the CRLs of a chain (cache, then network) with every attempt
 * recorded in a dsec_report. OpenSSL's own checks decide on the CRLs.
 */
#ifndef DOMAINSEC_REVOKE_H
#define DOMAINSEC_REVOKE_H

#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/cache.h"
#include "domainsec/report.h"

/* At most this many URLs are fetched from the network per certificate. */
#define DSEC_MAX_FETCHES_PER_CERT 4
/*
 * Network time one verification may spend on CRL fetches, in units of
 * fetch_timeout (cumulative over every certificate and URL, like Windows'
 * accumulative URL retrieval timeout): a chain of dead CDPs costs at most
 * this, however many URLs it lists.
 */
#define DSEC_FETCH_BUDGET_FACTOR 2

typedef struct dsec_engine dsec_engine;

/* Takes ownership of cfg. Opens cache_dir (failure only logged). */
dsec_engine *dsec_engine_new(dsec_config *cfg, DSEC_ERR *err);
void dsec_engine_free(dsec_engine *eng);
const dsec_config *dsec_engine_config(const dsec_engine *eng);
dsec_cache *dsec_engine_cache(dsec_engine *eng);

/*
 * The signature gate. chain[0] is the leaf; top_trusted says whether the
 * last element is a trust anchor. Returns the lowest depth d such that every
 * link from d up to the anchor verifies with the issuer's key (so CDPs of
 * depths >= d may be fetched); nchain when none may. *bad_depth is set to
 * the depth whose signature failed, -1 if none failed.
 */
int dsec_gate(STACK_OF(X509) * chain, int top_trusted, int *bad_depth);
/* As dsec_gate; links for which known() says 1 were verified by the caller
   during this very verification (same objects) and are not checked again. */
int dsec_gate_ex(STACK_OF(X509) * chain, int top_trusted, int *bad_depth,
                 int (*known)(void *arg, X509 *cert, X509 *issuer), void *arg);

/*
 * 1 when cert's signature verifies with issuer's key. Verified links are
 * remembered process-wide (SHA-256 of the certificate and the key), so a
 * link checked by the path builder is not verified again by the gate.
 */
int dsec_link_verify(X509 *cert, X509 *issuer);

/*
 * Obtain a usable CRL for cert (issued by issuer) at depth: from the cache,
 * else each CDP URI in turn (at most DSEC_MAX_FETCHES_PER_CERT network
 * fetches) until one yields a complete CRL of issuer valid at now. The CRL
 * is pushed (new reference) on rep->crls, the attempts and the outcome are
 * recorded in rep. Returns the outcome: DSEC_OK, DSEC_ERR_NO_CDP, or the
 * error of the last attempt.
 */
dsec_rv dsec_engine_obtain_crl(dsec_engine *eng, X509 *cert, X509 *issuer,
                               int depth, time_t now, dsec_report *rep);

/* Fetch, parse and check one URL for issuer (used by the CLI's fetch). */
dsec_rv dsec_engine_fetch_one(dsec_engine *eng, const char *url, X509 *issuer,
                              time_t now, X509_CRL **out, dsec_attempt *att);

#endif /* DOMAINSEC_REVOKE_H */
