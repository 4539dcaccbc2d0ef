/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From fetched bytes to a usable CRL: strict parsing (DER or PEM), then the
 * checks that make it a complete CRL of the certificate's issuer, valid now.
 * OpenSSL's verifier applies the RFC 5280 semantics afterwards; these checks
 * decide what may enter the cache and what the failure is called. A
 * downloaded CRL's signature is checked over its raw tbsCertList before its
 * entries are decoded (dsec_crl_parse_signed), so junk costs no more than
 * its download. The one freshness comparison (dsec_crl_fresh_at). Also the
 * set of CRLs gathered for one certificate, the input of dsec_decide.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <limits.h>
#include <openssl/asn1t.h>
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

/* ---- the signature before the entries ---- */

/*
 * The outer DER of a CertificateList: the raw tbsCertList (tag and length
 * included), the signature algorithm and value, and the issuer Name read
 * from the tbsCertList's header. Nothing else of it is decoded.
 */
typedef struct {
    const unsigned char *tbs;
    long tbs_len;
    X509_ALGOR *alg;
    ASN1_BIT_STRING *sig;
    X509_NAME *issuer;
} outer_crl;

static void outer_clear(outer_crl *o)
{
    X509_ALGOR_free(o->alg);
    ASN1_BIT_STRING_free(o->sig);
    X509_NAME_free(o->issuer);
    memset(o, 0, sizeof(*o));
}

/*
 * The element at *p, a universal definite-length tag (constructed when
 * cons) lying within end: *p moves past it, *body to its content. 0 on
 * anything else (indefinite length, a length past end, another tag).
 */
static int der_next(const unsigned char **p, const unsigned char *end, int tag,
                    int cons, const unsigned char **body)
{
    const unsigned char *q = *p;
    long len = 0;
    int t = 0, xclass = 0, ret;

    if (q == NULL || q >= end) {
        return 0;
    }
    ret = ASN1_get_object(&q, &len, &t, &xclass, (long)(end - q));
    if ((ret & 0x80) != 0 || (ret & 0x01) != 0 || xclass != V_ASN1_UNIVERSAL
        || t != tag || ((ret & V_ASN1_CONSTRUCTED) != 0) != (cons != 0)
        || len < 0 || len > end - q) {
        return 0;
    }
    if (body != NULL) {
        *body = q;
    }
    *p = q + len;
    return 1;
}

/* The element at *p decoded by d2i, which must take all of it. */
#define DER_TAKE(type, d2i, p, end, tag, cons, out) \
    do { \
        const unsigned char *start_ = *(p), *q_ = start_; \
        if (!der_next((p), (end), (tag), (cons), NULL) \
            || ((out) = d2i(NULL, &q_, (long)(*(p)-start_))) == NULL \
            || q_ != *(p)) { \
            goto bad; \
        } \
    } while (0)

/* tbsCertList's header: version?, signature (== the outer one), issuer. */
static int split_tbs(outer_crl *o, const unsigned char *p,
                     const unsigned char *end)
{
    X509_ALGOR *inner = NULL;
    int ok = 0;

    if (p < end && *p == V_ASN1_INTEGER
        && !der_next(&p, end, V_ASN1_INTEGER, 0, NULL)) {
        return 0;
    }
    DER_TAKE(X509_ALGOR, d2i_X509_ALGOR, &p, end, V_ASN1_SEQUENCE, 1, inner);
    if (X509_ALGOR_cmp(inner, o->alg) != 0) {
        goto bad;
    }
    DER_TAKE(X509_NAME, d2i_X509_NAME, &p, end, V_ASN1_SEQUENCE, 1, o->issuer);
    ok = 1;
bad:
    X509_ALGOR_free(inner);
    return ok;
}

static int split_crl(const unsigned char *der, size_t len, outer_crl *o)
{
    const unsigned char *p = der, *end = der + len, *body = NULL;
    const unsigned char *tbs_body = NULL;

    memset(o, 0, sizeof(*o));
    if (!der_next(&p, end, V_ASN1_SEQUENCE, 1, &body) || p != end) {
        return 0;
    }
    p = body;
    o->tbs = p;
    if (!der_next(&p, end, V_ASN1_SEQUENCE, 1, &tbs_body)) {
        goto bad;
    }
    o->tbs_len = (long)(p - o->tbs);
    DER_TAKE(X509_ALGOR, d2i_X509_ALGOR, &p, end, V_ASN1_SEQUENCE, 1, o->alg);
    DER_TAKE(ASN1_BIT_STRING, d2i_ASN1_BIT_STRING, &p, end, V_ASN1_BIT_STRING,
             0, o->sig);
    if (p == end && split_tbs(o, tbs_body, o->tbs + o->tbs_len)) {
        return 1;
    }
bad:
    outer_clear(o);
    return 0;
}

/*
 * The signature over the raw tbsCertList bytes, by OpenSSL's own code for
 * every algorithm: an ASN1_ANY of type SEQUENCE encodes as its raw bytes.
 */
static int verify_raw(const outer_crl *o, EVP_PKEY *pkey)
{
    ASN1_STRING raw;
    ASN1_TYPE any;
    int ok;

    if (pkey == NULL || o->tbs_len > INT_MAX) {
        return 0;
    }
    memset(&raw, 0, sizeof(raw));
    raw.type = V_ASN1_SEQUENCE;
    raw.length = (int)o->tbs_len;
    raw.data = (unsigned char *)o->tbs;
    any.type = V_ASN1_SEQUENCE;
    any.value.sequence = &raw;
    ERR_set_mark();
    ok = ASN1_item_verify_ex(ASN1_ITEM_rptr(ASN1_ANY), o->alg, o->sig, &any,
                             NULL, pkey, NULL, NULL)
         > 0;
    ERR_pop_to_mark();
    return ok;
}

dsec_rv dsec_crl_preverify(const unsigned char *der, size_t len,
                           dsec_crl_signers_fn *signers, void *arg,
                           X509 **which, DSEC_ERR *err)
{
    STACK_OF(X509) *cands = NULL;
    outer_crl o;
    dsec_rv rv;
    int i, named = 0;

    if (der == NULL || !split_crl(der, len, &o)) {
        return dsec_err_set(err, DSEC_ERR_PARSE, 0,
                            "body is not a DER CRL (outer structure)");
    }
    if ((cands = sk_X509_new_null()) == NULL) {
        outer_clear(&o);
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    }
    rv = dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0,
                      "CRL is issued by another CA (no possible signer "
                      "bears its issuer name)");
    if (signers(arg, o.issuer, cands)) {
        for (i = 0; i < sk_X509_num(cands); i++) {
            X509 *x = sk_X509_value(cands, i);

            if (X509_NAME_cmp(X509_get_subject_name(x), o.issuer) != 0) {
                continue;
            }
            named = 1;
            ERR_set_mark();
            if (verify_raw(&o, X509_get0_pubkey(x)) && X509_up_ref(x)) {
                ERR_pop_to_mark();
                *which = x;
                rv = DSEC_OK;
                break;
            }
            ERR_pop_to_mark();
        }
    }
    if (rv != DSEC_OK && named) {
        rv = dsec_err_set(err, DSEC_ERR_CRL_SIG, 0,
                          "CRL signature does not verify with the issuer's "
                          "key (checked before decoding)");
    }
    sk_X509_pop_free(cands, X509_free);
    outer_clear(&o);
    return rv;
}

/* PEM "X509 CRL" to DER (*der to free), or data itself. */
static int der_of(const unsigned char *data, size_t len, unsigned char **der,
                  long *dlen)
{
    BIO *bio;
    int ok;

    *der = NULL;
    if (!looks_like(data, len, "-----BEGIN")) {
        *dlen = (long)len;
        return 1;
    }
    if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
        return 0;
    }
    ERR_set_mark();
    ok = PEM_bytes_read_bio(der, dlen, NULL, PEM_STRING_X509_CRL, bio, NULL,
                            NULL);
    ERR_pop_to_mark();
    BIO_free(bio);
    return ok;
}

dsec_rv dsec_crl_parse_signed(const unsigned char *data, size_t len,
                              dsec_crl_signers_fn *signers, void *arg,
                              X509_CRL **out, X509 **which, DSEC_ERR *err)
{
    unsigned char *der = NULL;
    X509 *by = NULL;
    long dlen = 0;
    dsec_rv rv;

    if (signers == NULL || data == NULL || len == 0 || len > 0x7fffffff) {
        return dsec_crl_parse(data, len, out, err);
    }
    if (!der_of(data, len, &der, &dlen)) {
        return dsec_err_set(err, DSEC_ERR_PARSE, 0,
                            "PEM body holds no valid X509 CRL");
    }
    rv = dsec_crl_preverify(der != NULL ? der : data, (size_t)dlen, signers,
                            arg, &by, err);
    if (rv == DSEC_ERR_PARSE && der == NULL && looks_like(data, len, "<")) {
        rv = dsec_err_set(err, DSEC_ERR_PARSE, 0,
                          "body is HTML or XML, not a CRL");
    } else if (rv == DSEC_OK) {
        rv = dsec_crl_parse(der != NULL ? der : data, (size_t)dlen, out, err);
    }
    OPENSSL_free(der);
    if (rv == DSEC_OK && which != NULL) {
        *which = by;
        by = NULL;
    }
    X509_free(by);
    return rv;
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
    const ASN1_TIME *last;
    time_t limit, next;

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
    if (X509_CRL_get0_nextUpdate(crl) == NULL) {
        return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                            "CRL has no nextUpdate");
    }
    next = dsec_crl_next_update(crl);
    if (!dsec_crl_fresh_at(next, now) && !dsec_crl_stale_at(next, now, grace)) {
        return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                            "CRL is past its nextUpdate");
    }
    if (stale != NULL) {
        *stale = !dsec_crl_fresh_at(next, now);
    }
    return DSEC_OK;
}

int dsec_crl_fresh_at(time_t next, time_t now)
{
    return next != 0 && now < next;
}

int dsec_crl_stale_at(time_t next, time_t now, long grace)
{
    return next != 0 && grace > 0 && next <= now && now - next < grace;
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
