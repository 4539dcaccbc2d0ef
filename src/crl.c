/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From fetched bytes to a usable CRL: strict parsing (DER or PEM), then the
 * checks that make it a complete CRL of the certificate's issuer, valid now.
 * OpenSSL's verifier applies the RFC 5280 semantics afterwards; these checks
 * decide what may enter the cache and what the failure is called. Also the
 * set of CRLs gathered for one certificate, the input of dsec_decide.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "domainsec/crl.h"
#include "internal.h"

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
    time_t when = 0;

    if (crl == NULL || !dsec_time_of(X509_CRL_get0_nextUpdate(crl), &when)) {
        return 0;
    }
    return when;
}

int dsec_crl_verify_key(X509_CRL *crl, EVP_PKEY *key)
{
    int ok;

    ERR_set_mark();
    ok = key != NULL && X509_CRL_verify(crl, key) > 0;
    ERR_pop_to_mark();
    return ok;
}

int dsec_crl_verify(X509_CRL *crl, X509 *signer)
{
    int ok;

    /* decoding the key may queue errors too */
    ERR_set_mark();
    ok = dsec_crl_verify_key(crl, X509_get0_pubkey(signer));
    ERR_pop_to_mark();
    return ok;
}

dsec_rv dsec_crl_check_issuer(X509_CRL *crl, X509 *issuer, DSEC_ERR *err)
{
    if (crl == NULL || issuer == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no CRL or issuer");
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer))
        != 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0,
                            "CRL is issued by another CA");
    }
    if (!dsec_crl_verify_key(crl, X509_get0_pubkey(issuer))) {
        return dsec_err_set(err, DSEC_ERR_CRL_SIG, 0,
                            "CRL signature does not verify with the "
                            "issuer's key");
    }
    return DSEC_OK;
}

dsec_rv dsec_crl_check_time(X509_CRL *crl, time_t now, long grace, int *stale,
                            DSEC_ERR *err)
{
    const ASN1_TIME *last, *next;
    time_t limit;

    if (stale != NULL) {
        *stale = 0;
    }
    if (crl == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no CRL");
    }
    /* RFC 5280 5.2.4: a delta CRL is never a substitute for a complete one */
    if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                            "delta CRL served where a complete CRL is "
                            "required");
    }
    last = X509_CRL_get0_lastUpdate(crl);
    limit = now + DSEC_CRL_CLOCK_SKEW;
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
    if (stale != NULL) {
        *stale = X509_cmp_time(next, &now) <= 0;
    }
    return DSEC_OK;
}

dsec_rv dsec_crl_check(X509_CRL *crl, X509 *issuer, time_t now, long grace,
                       DSEC_ERR *err)
{
    dsec_rv rv = dsec_crl_check_issuer(crl, issuer, err);

    if (rv != DSEC_OK) {
        return rv;
    }
    return dsec_crl_check_time(crl, now, grace, NULL, err);
}

/* ---- the CRLs gathered for one certificate ---- */

int dsec_crl_set_add(dsec_crl_set *set, X509_CRL *crl, int dp,
                     const unsigned char *key_id, const char *src)
{
    dsec_crl_in *v, *in;

    if (set == NULL || crl == NULL) {
        return 0;
    }
    if ((v = dsec_grow(set->v, &set->cap, set->n + 1, sizeof(*v))) == NULL) {
        return 0;
    }
    set->v = v;
    in = &v[set->n];
    memset(in, 0, sizeof(*in));
    if ((in->src = strdup(src != NULL ? src : "host")) == NULL) {
        return 0;
    }
    if (!X509_CRL_up_ref(crl)) {
        free(in->src);
        return 0;
    }
    in->crl = crl;
    in->dp = dp;
    if (key_id != NULL) {
        memcpy(in->key_id, key_id, sizeof(in->key_id));
        in->key_known = 1;
    }
    set->n++;
    return 1;
}

void dsec_crl_set_clear(dsec_crl_set *set)
{
    size_t i;

    if (set == NULL) {
        return;
    }
    for (i = 0; i < set->n; i++) {
        X509_CRL_free(set->v[i].crl);
        free(set->v[i].src);
    }
    free(set->v);
    memset(set, 0, sizeof(*set));
}
