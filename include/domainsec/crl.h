/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turning fetched bytes into a CRL we may use: parse (DER or PEM) and check
 * that it is a complete CRL of the certificate's issuer, in its time window.
 */
#ifndef DOMAINSEC_CRL_H
#define DOMAINSEC_CRL_H

#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"

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

/* nextUpdate as time_t; 0 when absent or unrepresentable. */
time_t dsec_crl_next_update(const X509_CRL *crl);

#endif /* DOMAINSEC_CRL_H */
