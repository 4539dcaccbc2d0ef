/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compact index of an accepted CRL, built once by the process that
 * fetched it and read by every other (crlindex_read.c): the entries as
 * fixed-size records sorted by serial, after a header that binds them to
 * the CRL (SHA-256 of its DER, the key that verified it, the SHA-256 of
 * its issuingDistributionPoint, delta flag, thisUpdate, nextUpdate, CRL
 * number) and the DER of a skeleton: the same CRL without its entries and
 * with one more, critical, extension of ours (DSEC_CRLINDEX_MARKER_OID).
 * The skeleton carries what the decision reads besides the entries; its
 * signature no longer verifies and OpenSSL rejects its unknown critical
 * extension, so a skeleton that loses its index fails closed everywhere.
 * CRLs whose entries say more than a record holds (certificateIssuer, a
 * critical entry extension, a serial over 21 bytes, twice the same serial,
 * an unreadable reason or date) get no index: they keep the full path.
 *
 * File layout (integers big-endian): the 256-byte header (offsets as the
 * DSEC_CRLINDEX_HDR_* macros of internal.h), the skeleton DER, zero padding to a
 * multiple of 8, then count records of DSEC_CRLINDEX_REC bytes: sign byte
 * (1: negative), magnitude length, magnitude left-aligned in 21 bytes,
 * reason (-1: none), revocationDate in seconds (int64).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "internal.h"

/* The records of crl, sorted, into *out (malloc'd); 0: not indexable. */
static int rec_of(X509_REVOKED *rev, unsigned char *r)
{
    const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(rev);
    const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(rev);
    ASN1_ENUMERATED *code;
    time_t when;
    long reason = -1;
    int i, nreason = 0, crit = 0;
    uint64_t t;

    if (serial == NULL || serial->length < 0
        || serial->length > DSEC_CRLINDEX_SERIAL_MAX
        || !dsec_time_of(X509_REVOKED_get0_revocationDate(rev), &when)) {
        return 0;
    }
    for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

        if (X509_EXTENSION_get_critical(ext) || nid == NID_certificate_issuer) {
            return 0;
        }
        nreason += nid == NID_crl_reason;
    }
    if (nreason > 1) {
        return 0;
    }
    code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
    if (nreason == 1) {
        reason = code != NULL ? ASN1_ENUMERATED_get(code) : -1;
        ASN1_ENUMERATED_free(code);
        if (reason < 0 || reason > 127) {
            return 0;
        }
    }
    memset(r, 0, DSEC_CRLINDEX_REC);
    r[0] = serial->type == V_ASN1_NEG_INTEGER;
    r[1] = (unsigned char)serial->length;
    if (serial->length > 0) {
        memcpy(r + 2, serial->data, (size_t)serial->length);
    }
    r[23] = (unsigned char)(signed char)reason;
    t = (uint64_t)(int64_t)when;
    for (i = 0; i < 8; i++) {
        r[24 + i] = (unsigned char)(t >> (56 - 8 * i));
    }
    return 1;
}

static int rec_cmp(const void *a, const void *b)
{
    return memcmp(a, b, DSEC_CRLINDEX_KEY);
}

static int build_records(X509_CRL *crl, unsigned char **out, size_t *count)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    int n = revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0;
    unsigned char *recs;
    int i;

    recs = malloc((size_t)(n > 0 ? n : 1) * DSEC_CRLINDEX_REC);
    if (recs == NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!rec_of(sk_X509_REVOKED_value(revoked, i),
                    recs + (size_t)i * DSEC_CRLINDEX_REC)) {
            free(recs);
            return 0;
        }
    }
    qsort(recs, (size_t)n, DSEC_CRLINDEX_REC, rec_cmp);
    for (i = 1; i < n; i++) {
        /* twice the same serial: which entry OpenSSL finds is not ours */
        if (rec_cmp(recs + (size_t)(i - 1) * DSEC_CRLINDEX_REC,
                    recs + (size_t)i * DSEC_CRLINDEX_REC)
            == 0) {
            free(recs);
            return 0;
        }
    }
    *out = recs;
    *count = (size_t)n;
    return 1;
}

/* The element at *p (within end): its whole length, 0 when malformed. */
static long der_next(const unsigned char *p, const unsigned char *end, int *tag,
                     int *cls)
{
    const unsigned char *q = p;
    long len = 0;
    int ret = ASN1_get_object(&q, &len, tag, cls, end - p);

    if ((ret & 0x80) != 0 || len > end - q) {
        return 0;
    }
    return (long)(q - p) + len;
}

/*
 * The DER der (len) of a CRL without its revokedCertificates, into *out
 * (OPENSSL_malloc'd, *outlen bytes); 0 when its shape is unexpected.
 */
static int cut_entries(const unsigned char *der, long len, unsigned char **out,
                       long *outlen)
{
    const unsigned char *p = der, *end = der + len, *tc, *tend, *cut;
    long el = 0, cutlen = 0, tlen;
    int tag, cls, i, n;
    unsigned char *w;

    if (der_next(p, end, &tag, &cls) != len || tag != V_ASN1_SEQUENCE) {
        return 0;
    }
    (void)ASN1_get_object(&p, &el, &tag, &cls, len); /* the CRL's header */
    tlen = der_next(p, end, &tag, &cls);
    if (tlen <= 0 || tag != V_ASN1_SEQUENCE) {
        return 0;
    }
    tend = p + tlen;
    (void)ASN1_get_object(&p, &el, &tag, &cls, tlen); /* tbsCertList's */
    tc = p;
    cut = tend;
    /* version, signature, issuer, thisUpdate, [nextUpdate], [entries] */
    for (i = 0; p < tend; i++) {
        el = der_next(p, tend, &tag, &cls);
        if (el <= 0) {
            return 0;
        }
        if (i >= 4 && tag == V_ASN1_SEQUENCE && cls == V_ASN1_UNIVERSAL) {
            cut = p;
            cutlen = el;
            break;
        }
        p += el;
    }
    tlen = (long)(tend - tc) - cutlen;
    n = ASN1_object_size(1, (int)tlen, V_ASN1_SEQUENCE);
    n = ASN1_object_size(1, n + (int)(end - tend), V_ASN1_SEQUENCE);
    *out = w = OPENSSL_malloc((size_t)n);
    if (w == NULL) {
        return 0;
    }
    ASN1_put_object(&w, 1,
                    ASN1_object_size(1, (int)tlen, V_ASN1_SEQUENCE)
                        + (int)(end - tend),
                    V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    ASN1_put_object(&w, 1, (int)tlen, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    memcpy(w, tc, (size_t)(cut - tc));
    w += cut - tc;
    memcpy(w, cut + cutlen, (size_t)(tend - cut - cutlen));
    w += tend - cut - cutlen;
    memcpy(w, tend, (size_t)(end - tend));
    *outlen = n;
    return 1;
}

/* The skeleton of crl (DER der, len) with our marker, into *out. */
static int skeleton_of(const unsigned char *der, long len, unsigned char **out,
                       int *outlen)
{
    unsigned char *cut = NULL;
    const unsigned char *p;
    X509_CRL *skel = NULL;
    X509_EXTENSION *mark = NULL;
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    static const unsigned char null_der[] = { 0x05, 0x00 };
    long cutlen = 0;
    int ok = 0;

    *out = NULL;
    if (val == NULL || !ASN1_OCTET_STRING_set(val, null_der, 2)
        || !cut_entries(der, len, &cut, &cutlen)) {
        goto done;
    }
    p = cut;
    skel = d2i_X509_CRL(NULL, &p, cutlen);
    if (skel == NULL || p != cut + cutlen) {
        goto done;
    }
    mark = X509_EXTENSION_create_by_OBJ(NULL, dsec_crlindex_marker(), 1, val);
    /* i2d_re_X509_CRL_tbs drops the tbsCertList's cached encoding */
    if (mark == NULL || !X509_CRL_add_ext(skel, mark, -1)
        || i2d_re_X509_CRL_tbs(skel, NULL) <= 0) {
        goto done;
    }
    *outlen = i2d_X509_CRL(skel, out);
    ok = *outlen > 0 && *outlen <= DSEC_CRLINDEX_SKEL_MAX;
done:
    if (!ok) {
        OPENSSL_free(*out);
        *out = NULL;
    }
    OPENSSL_free(cut);
    X509_CRL_free(skel);
    X509_EXTENSION_free(mark);
    ASN1_OCTET_STRING_free(val);
    return ok;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (24 - 8 * i));
    }
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

/* The header's summary of crl (times, scope, delta, number); 0: none. */
static int summary_of(X509_CRL *crl, unsigned char *h)
{
    int i = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    time_t this_update = 0, next_update = 0;
    uint32_t flags = 0;
    int ok = 1;

    if (i >= 0) {
        ASN1_OCTET_STRING *v =
            X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i));

        ok = dsec_sha256_digest(v->data, (size_t)v->length,
                                h + DSEC_CRLINDEX_HDR_IDP);
        flags |= DSEC_CRLINDEX_HAS_IDP;
    }
    if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        flags |= DSEC_CRLINDEX_DELTA;
    }
    ok = ok && dsec_time_of(X509_CRL_get0_lastUpdate(crl), &this_update);
    (void)dsec_time_of(X509_CRL_get0_nextUpdate(crl), &next_update);
    if (num != NULL) {
        ok = ok && num->length <= 32;
        if (ok) {
            h[DSEC_CRLINDEX_HDR_NUM] = (unsigned char)(num->length + 1);
            memcpy(h + DSEC_CRLINDEX_HDR_NUM + 1, num->data,
                   (size_t)num->length);
        }
    }
    ASN1_INTEGER_free(num);
    put_u32(h + DSEC_CRLINDEX_HDR_FLAGS, flags);
    put_u64(h + DSEC_CRLINDEX_HDR_THIS, (uint64_t)(int64_t)this_update);
    put_u64(h + DSEC_CRLINDEX_HDR_NEXT, (uint64_t)(int64_t)next_update);
    return ok;
}

int dsec_crlindex_build(X509_CRL *crl, const unsigned char key_id[32],
                        unsigned char **out, size_t *outlen)
{
    unsigned char *der = NULL, *skel = NULL, *recs = NULL, *buf = NULL;
    size_t count = 0, off, total;
    int len, skel_len = 0, ok = 0;

    if (crl == NULL || key_id == NULL || X509_CRL_get_version(crl) != 1
        || dsec_crlindex_attached(crl) || !build_records(crl, &recs, &count)) {
        goto done;
    }
    len = i2d_X509_CRL(crl, &der);
    if (len <= 0 || !skeleton_of(der, len, &skel, &skel_len)) {
        goto done;
    }
    off = (DSEC_CRLINDEX_HDR_SIZE + (size_t)skel_len + 7) & ~(size_t)7;
    total = off + count * DSEC_CRLINDEX_REC;
    buf = calloc(1, total);
    if (buf == NULL || !summary_of(crl, buf)
        || !dsec_sha256_digest(der, (size_t)len, buf + DSEC_CRLINDEX_HDR_SHA)) {
        goto done;
    }
    memcpy(buf, DSEC_CRLINDEX_MAGIC, 8);
    put_u32(buf + DSEC_CRLINDEX_HDR_VERSION, DSEC_CRLINDEX_VERSION);
    put_u32(buf + DSEC_CRLINDEX_HDR_RECSIZE, DSEC_CRLINDEX_REC);
    put_u64(buf + DSEC_CRLINDEX_HDR_COUNT, (uint64_t)count);
    memcpy(buf + DSEC_CRLINDEX_HDR_KEY, key_id, 32);
    put_u32(buf + DSEC_CRLINDEX_HDR_SKEL, (uint32_t)skel_len);
    memcpy(buf + DSEC_CRLINDEX_HDR_SIZE, skel, (size_t)skel_len);
    if (count > 0) {
        memcpy(buf + off, recs, count * DSEC_CRLINDEX_REC);
    }
    *out = buf;
    *outlen = total;
    buf = NULL;
    ok = 1;
done:
    free(buf);
    free(recs);
    OPENSSL_free(der);
    OPENSSL_free(skel);
    return ok;
}
