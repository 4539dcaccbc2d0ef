/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The refresh point of a cached CRL (refresh.h): the one place that says
 * when a CRL that is still current is fetched again, for the host
 * process's background refresh and for `domainsec cache refresh`.
 */
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include "domainsec/refresh.h"
#include "internal.h"

/* The Next CRL Publish time of crl into *when; 0 when absent or bad. */
static int next_publish(const X509_CRL *crl, time_t *when)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(DSEC_REFRESH_NEXT_PUBLISH_OID, 1);
    const ASN1_OCTET_STRING *val;
    const unsigned char *p;
    ASN1_TIME *t = NULL;
    int i, ok = 0;

    if (oid == NULL) {
        return 0;
    }
    i = X509_CRL_get_ext_by_OBJ(crl, oid, -1);
    ASN1_OBJECT_free(oid);
    if (i < 0) {
        return 0;
    }
    val = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i));
    if (val == NULL) {
        return 0;
    }
    p = ASN1_STRING_get0_data(val);
    t = d2i_ASN1_TIME(NULL, &p, ASN1_STRING_length(val));
    if (t != NULL && p == ASN1_STRING_get0_data(val) + ASN1_STRING_length(val)
        && ASN1_TIME_check(t)) {
        ok = dsec_time_of(t, when);
    }
    ASN1_TIME_free(t);
    return ok;
}

time_t dsec_refresh_point(const X509_CRL *crl, long max_age)
{
    time_t this_upd, next_upd = 0, pub, point;
    int has_next;

    if (crl == NULL || !dsec_time_of(X509_CRL_get0_lastUpdate(crl), &this_upd)
        || this_upd <= 0) {
        return 0;
    }
    if (max_age <= 0) {
        max_age = 1;
    }
    has_next = dsec_time_of(X509_CRL_get0_nextUpdate(crl), &next_upd)
               && next_upd > this_upd;
    if (!has_next) {
        return this_upd + max_age;
    }
    if (next_publish(crl, &pub) && pub >= this_upd && pub <= next_upd) {
        point = pub;
    } else {
        point = this_upd + (time_t)((next_upd - this_upd) * 4 / 5);
    }
    return point - this_upd > max_age ? this_upd + max_age : point;
}

int dsec_refresh_due(const X509_CRL *crl, long max_age, time_t fetched,
                     time_t now)
{
    time_t this_upd, next_upd, point;

    if (crl == NULL) {
        return 1;
    }
    point = dsec_refresh_point(crl, max_age);
    if (point == 0) {
        return 1;
    }
    if (fetched > point
        && dsec_time_of(X509_CRL_get0_lastUpdate(crl), &this_upd)) {
        /* the origin still served this CRL at fetched: next look later */
        point = fetched + (point > this_upd ? point - this_upd : 1);
        if (dsec_time_of(X509_CRL_get0_nextUpdate(crl), &next_upd)
            && point > next_upd) {
            point = next_upd;
        }
    }
    return now >= point;
}
