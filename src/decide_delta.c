/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta CRLs (RFC 5280 6.3.3 c and h): whether a delta may update a
 * complete CRL that passed dsec_decide_check (same issuer, AKID and scope,
 * CRL numbers, critical extensions, time, the same signing key), whether
 * one is required, and the newest one that does. Part of the revocation
 * decision (decide.h).
 */
#include <string.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/crl.h"
#include "domainsec/decide.h"
#include "internal.h"

ASN1_INTEGER *dsec_decide_crl_number(X509_CRL *crl, int nid)
{
    return X509_CRL_get_ext_d2i(crl, nid, NULL, NULL);
}

/* The same extension (by DER), or both without it. */
static int same_ext(X509_CRL *a, X509_CRL *b, int nid)
{
    int ia = X509_CRL_get_ext_by_NID(a, nid, -1);
    int ib = X509_CRL_get_ext_by_NID(b, nid, -1);

    if (ia < 0 || ib < 0) {
        return ia < 0 && ib < 0;
    }
    return ASN1_OCTET_STRING_cmp(
               X509_EXTENSION_get_data(X509_CRL_get_ext(a, ia)),
               X509_EXTENSION_get_data(X509_CRL_get_ext(b, ib)))
           == 0;
}

dsec_rv dsec_decide_check_delta(const dsec_link *link, const dsec_crl_in *base,
                                X509 *base_signer, const dsec_crl_in *delta,
                                DSEC_ERR *err)
{
    ASN1_INTEGER *base_num = NULL, *delta_base = NULL, *delta_num = NULL;
    unsigned char id[32];
    int stale = 0;
    dsec_rv rv = DSEC_OK;

    if (link == NULL || base == NULL || delta == NULL || base_signer == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no delta or base");
    }
    if (!dsec_decide_is_delta(delta->crl)) {
        return dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0, "not a delta CRL");
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(delta->crl),
                      X509_CRL_get_issuer(base->crl))
            != 0
        || !same_ext(delta->crl, base->crl, NID_authority_key_identifier)
        || !same_ext(delta->crl, base->crl, NID_issuing_distribution_point)) {
        return dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                            "delta CRL of another issuer, key or scope than "
                            "its base");
    }
    base_num = dsec_decide_crl_number(base->crl, NID_crl_number);
    delta_base = dsec_decide_crl_number(delta->crl, NID_delta_crl);
    delta_num = dsec_decide_crl_number(delta->crl, NID_crl_number);
    if (base_num == NULL || delta_base == NULL || delta_num == NULL
        || ASN1_INTEGER_cmp(delta_base, base_num) > 0
        || ASN1_INTEGER_cmp(delta_num, base_num) <= 0) {
        rv = dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                          "delta CRL does not update this complete CRL "
                          "(CRL numbers)");
        goto done;
    }
    if (!dsec_decide_critical_ok(delta->crl)) {
        rv = dsec_err_set(err, DSEC_ERR_CRL_CRITICAL, 0,
                          "delta CRL has an unhandled critical extension");
        goto done;
    }
    rv =
        dsec_decide_check_time(delta->crl, link->now, link->grace, &stale, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    /* RFC 5280 6.3.3 (h): the key that verified the complete CRL */
    if (delta->key_known && dsec_decide_key_id(base_signer, id)
        && memcmp(id, delta->key_id, sizeof(id)) == 0) {
        goto done;
    }
    if (!dsec_crl_verify_key(delta->crl, X509_get0_pubkey(base_signer))) {
        rv = dsec_err_set(err, DSEC_ERR_CRL_SIG, 0,
                          "delta CRL signature does not verify with the key "
                          "of its base CRL's issuer");
    }
done:
    ASN1_INTEGER_free(base_num);
    ASN1_INTEGER_free(delta_base);
    ASN1_INTEGER_free(delta_num);
    return rv;
}

int dsec_decide_needs_delta(const dsec_link *link, X509_CRL *base)
{
    return link != NULL && link->delta == DSEC_DELTA_REQUIRE
           && ((base != NULL
                && X509_CRL_get_ext_by_NID(base, NID_freshest_crl, -1) >= 0)
               || X509_get_ext_by_NID(link->cert, NID_freshest_crl, -1) >= 0);
}

const dsec_crl_in *dsec_decide_best_delta(const dsec_link *link,
                                          const dsec_crl_set *set,
                                          const dsec_crl_in *base, X509 *signer,
                                          DSEC_ERR *why)
{
    const dsec_crl_in *best = NULL;
    ASN1_INTEGER *best_num = NULL;
    size_t i;

    if (link->delta == DSEC_DELTA_IGNORE) {
        return NULL;
    }
    for (i = 0; i < set->n; i++) {
        const dsec_crl_in *d = &set->v[i];
        ASN1_INTEGER *num;
        DSEC_ERR e = { 0 };

        if (!dsec_decide_is_delta(d->crl)) {
            continue;
        }
        if (dsec_decide_check_delta(link, base, signer, d, &e) != DSEC_OK) {
            if (why != NULL && why->rv == DSEC_OK) {
                *why = e;
            }
            continue;
        }
        num = dsec_decide_crl_number(d->crl, NID_crl_number);
        if (best == NULL || ASN1_INTEGER_cmp(num, best_num) > 0) {
            ASN1_INTEGER_free(best_num);
            best_num = num;
            best = d;
        } else {
            ASN1_INTEGER_free(num);
        }
    }
    ASN1_INTEGER_free(best_num);
    return best;
}
