/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsec_cache_get, for the unit tests: a lookup of the CRL cache (cache.c)
 * checked for one issuer the simple way (dsec_crl_check), where the engine
 * checks what it finds with the decision module (gather.c).
 */
#include <string.h>
#include <openssl/x509.h>
#include "domainsec/cache.h"
#include "domainsec/crl.h"
#include "domainsec/decide.h"
#include "internal.h"

/* dsec_crl_check, but for a skeleton of the key: its signature is gone. */
static dsec_rv check_hit(const dsec_cache_hit *hit, X509 *issuer, time_t now,
                         long grace, DSEC_ERR *err)
{
    if (hit->key_known && dsec_crlindex_attached(hit->crl)) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(hit->crl),
                          X509_get_subject_name(issuer))
            != 0) {
            return dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0, "other issuer");
        }
        return dsec_crl_check_time(hit->crl, now, grace, NULL, err);
    }
    return dsec_crl_check(hit->crl, issuer, now, grace, err);
}

dsec_rv dsec_cache_get(dsec_cache *c, const char *url, X509 *issuer, time_t now,
                       long grace, X509_CRL **crl, DSEC_ERR *err)
{
    unsigned char id[32];
    dsec_cache_hit hit;
    DSEC_ERR cerr;
    dsec_rv rv;

    if (c == NULL || url == NULL || issuer == NULL || crl == NULL
        || !dsec_decide_key_id(issuer, id)) {
        return DSEC_ERR_INVALID;
    }
    rv = dsec_cache_lookup(c, url, now, &hit);
    if (rv != DSEC_OK) {
        return rv;
    }
    if (hit.crl != NULL
        && (!hit.key_known || memcmp(hit.key_id, id, sizeof(id)) == 0)
        && check_hit(&hit, issuer, now, grace, &cerr) == DSEC_OK) {
        if (!hit.key_known) {
            /* a disk copy, verified now: kept in memory with its key */
            dsec_cache_store(c, url, hit.crl, id, 0);
        }
        *crl = hit.crl;
        hit.crl = NULL;
    } else if (hit.fail_rv != DSEC_OK) {
        rv = dsec_err_set(err, hit.fail_rv, hit.fail.code, "%s", hit.fail.msg);
    } else {
        rv = DSEC_ERR_NOT_FOUND;
    }
    dsec_cache_hit_clear(&hit);
    return rv;
}
