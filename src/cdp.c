/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRL Distribution Points extraction: the fullName URIs of every
 * DistributionPoint of a certificate (or of a freshestCRL extension), in
 * order. Relative names, non-URI names and URIs holding NUL bytes are
 * counted and dropped.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>
#include "domainsec/cdp.h"

/* A certificate with more URIs than this is hostile; the rest is ignored. */
#define DSEC_CDP_MAX_URIS 256

static dsec_rv push_uri(dsec_cdp_list *out, const ASN1_IA5STRING *uri, int dp)
{
    dsec_cdp_uri *v;
    char *copy;
    int len = ASN1_STRING_length(uri);
    const unsigned char *data = ASN1_STRING_get0_data(uri);

    if (len <= 0 || data == NULL || memchr(data, '\0', (size_t)len) != NULL
        || out->n >= DSEC_CDP_MAX_URIS) {
        out->skipped++;
        return DSEC_OK;
    }
    copy = malloc((size_t)len + 1);
    if (copy == NULL) {
        return DSEC_ERR_NOMEM;
    }
    memcpy(copy, data, (size_t)len);
    copy[len] = '\0';
    v = realloc(out->v, (out->n + 1) * sizeof(*v));
    if (v == NULL) {
        free(copy);
        return DSEC_ERR_NOMEM;
    }
    out->v = v;
    out->v[out->n].url = copy;
    out->v[out->n].dp = dp;
    out->n++;
    return DSEC_OK;
}

/* The URIs of dps (NULL: none; crit -2: the extension occurs twice). */
static dsec_rv from_dps(STACK_OF(DIST_POINT) * dps, int crit,
                        dsec_cdp_list *out)
{
    dsec_rv rv = DSEC_OK;
    int i, j;

    if (dps == NULL) {
        /* crit == -2: the extension occurs twice; treat as unusable */
        if (crit == -2) {
            out->skipped++;
        }
        return DSEC_OK;
    }
    for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

        if (dp->distpoint == NULL || dp->distpoint->type != 0) {
            out->skipped++;
            continue;
        }
        for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
             j++) {
            GENERAL_NAME *gn =
                sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);

            if (gn->type != GEN_URI) {
                out->skipped++;
                continue;
            }
            rv = push_uri(out, gn->d.uniformResourceIdentifier, i);
            if (rv != DSEC_OK) {
                dsec_cdp_list_clear(out);
                return rv;
            }
        }
    }
    return rv;
}

/* The URIs of extension nid of crl, or when it has none of cert. */
static dsec_rv extract(X509 *cert, X509_CRL *crl, int nid, dsec_cdp_list *out)
{
    STACK_OF(DIST_POINT) *dps = NULL;
    dsec_rv rv;
    int crit = 0;

    if (out == NULL) {
        return DSEC_ERR_INVALID;
    }
    memset(out, 0, sizeof(*out));
    if (cert == NULL && crl == NULL) {
        return DSEC_ERR_INVALID;
    }
    if (crl != NULL) {
        dps = X509_CRL_get_ext_d2i(crl, nid, &crit, NULL);
    }
    if (dps == NULL && crit != -2 && cert != NULL) {
        dps = X509_get_ext_d2i(cert, nid, &crit, NULL);
    }
    rv = from_dps(dps, crit, out);
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return rv;
}

dsec_rv dsec_cdp_extract(X509 *cert, dsec_cdp_list *out)
{
    return extract(cert, NULL, NID_crl_distribution_points, out);
}

dsec_rv dsec_cdp_from_dps(STACK_OF(DIST_POINT) * dps, dsec_cdp_list *out)
{
    if (out == NULL) {
        return DSEC_ERR_INVALID;
    }
    memset(out, 0, sizeof(*out));
    return dps != NULL ? from_dps(dps, 0, out) : DSEC_ERR_INVALID;
}

dsec_rv dsec_cdp_extract_freshest(X509 *cert, X509_CRL *crl, dsec_cdp_list *out)
{
    return extract(cert, crl, NID_freshest_crl, out);
}

void dsec_cdp_list_clear(dsec_cdp_list *list)
{
    size_t i;

    if (list == NULL) {
        return;
    }
    for (i = 0; i < list->n; i++) {
        free(list->v[i].url);
    }
    free(list->v);
    memset(list, 0, sizeof(*list));
}
