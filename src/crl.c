/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From fetched bytes to a usable CRL: strict parsing (DER or PEM), then the
 * checks that make it a complete CRL of the certificate's issuer, valid now.
 * OpenSSL's verifier applies the RFC 5280 semantics afterwards; these checks
 * decide what may enter the cache and what the failure is called.
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "domainsec/crl.h"

#define CRL_CLOCK_SKEW 300

static int looks_like(const unsigned char *data, size_t len, const char *what)
{
    size_t i = 0, n = strlen(what);

    while (i < len
           && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r'
               || data[i] == '\n')) {
        i++;
    }
    return len - i >= n && strncasecmp((const char *)data + i, what, n) == 0;
}

dsec_rv dsec_crl_parse(const unsigned char *data, size_t len, X509_CRL **out,
                       DSEC_ERR *err)
{
    X509_CRL *crl = NULL;
    BIO *bio = NULL;
    const unsigned char *p = data;

    if (data == NULL || len == 0) {
        return dsec_err_set(err, DSEC_ERR_PARSE, 0, "empty body, not a CRL");
    }
    if (len > 0x7fffffff) {
        return dsec_err_set(err, DSEC_ERR_TOO_BIG, 0, "body too large");
    }
    ERR_set_mark();
    if (looks_like(data, len, "-----BEGIN")) {
        bio = BIO_new_mem_buf(data, (int)len);
        if (bio != NULL) {
            crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        }
        BIO_free(bio);
        if (crl == NULL) {
            ERR_pop_to_mark();
            return dsec_err_set(err, DSEC_ERR_PARSE, 0,
                                "PEM body holds no valid X509 CRL");
        }
    } else {
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl == NULL || p != data + len) {
            X509_CRL_free(crl);
            ERR_pop_to_mark();
            if (looks_like(data, len, "<")) {
                return dsec_err_set(err, DSEC_ERR_PARSE, 0,
                                    "body is HTML or XML, not a CRL");
            }
            return dsec_err_set(err, DSEC_ERR_PARSE, 0,
                                crl == NULL ? "body is not a DER or PEM CRL"
                                            : "trailing data after DER CRL");
        }
    }
    ERR_pop_to_mark();
    *out = crl;
    return DSEC_OK;
}

time_t dsec_crl_next_update(const X509_CRL *crl)
{
    const ASN1_TIME *t = crl != NULL ? X509_CRL_get0_nextUpdate(crl) : NULL;
    struct tm tm;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return timegm(&tm);
}

dsec_rv dsec_crl_check_issuer(X509_CRL *crl, X509 *issuer, DSEC_ERR *err)
{
    EVP_PKEY *key;
    int ok;

    if (crl == NULL || issuer == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no CRL or issuer");
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer))
        != 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0,
                            "CRL is issued by another CA");
    }
    key = X509_get0_pubkey(issuer);
    ERR_set_mark();
    ok = key != NULL && X509_CRL_verify(crl, key) > 0;
    ERR_pop_to_mark();
    if (!ok) {
        return dsec_err_set(err, DSEC_ERR_CRL_SIG, 0,
                            "CRL signature does not verify with the "
                            "issuer's key");
    }
    return DSEC_OK;
}

dsec_rv dsec_crl_check(X509_CRL *crl, X509 *issuer, time_t now, long grace,
                       DSEC_ERR *err)
{
    const ASN1_TIME *last, *next;
    time_t limit;
    dsec_rv rv;

    rv = dsec_crl_check_issuer(crl, issuer, err);
    if (rv != DSEC_OK) {
        return rv;
    }
    /* RFC 5280 5.2.4: a delta CRL is never a substitute for a complete one */
    if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                            "delta CRL served where a complete CRL is "
                            "required");
    }
    last = X509_CRL_get0_lastUpdate(crl);
    limit = now + CRL_CLOCK_SKEW;
    if (last == NULL || X509_cmp_time(last, &limit) >= 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_FUTURE, 0,
                            "CRL thisUpdate is in the future");
    }
    next = X509_CRL_get0_nextUpdate(crl);
    if (next == NULL) {
        return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                            "CRL has no nextUpdate");
    }
    limit = now - grace;
    if (X509_cmp_time(next, &limit) <= 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                            "CRL is past its nextUpdate");
    }
    return DSEC_OK;
}
