/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Issuer and scope of a CRL for one certificate (RFC 5280 6.3.3 b and d):
 * the certificate's distribution points (DPs) and the names a CRL for it
 * may be issued under, the CRL's issuingDistributionPoint (IDP) matched
 * against a DP, and the reasons the CRL covers there. Part of the
 * revocation decision (decide.h); calls no other decide file.
 */
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/decide.h"
#include "internal.h"

static int is_ca(X509 *cert)
{
    return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
}

/* ReasonFlags bits 1..8 as a DSEC_REASONS_ALL subset. */
static unsigned int reason_bits(const ASN1_BIT_STRING *bs)
{
    unsigned int bits = 0;
    int i;

    for (i = 1; i <= 8; i++) {
        if (ASN1_BIT_STRING_get_bit(bs, i)) {
            bits |= 1u << i;
        }
    }
    return bits;
}

/* The first directoryName of names, or NULL. */
static const X509_NAME *first_dirname(const GENERAL_NAMES *names)
{
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

        if (gn->type == GEN_DIRNAME) {
            return gn->d.directoryName;
        }
    }
    return NULL;
}

STACK_OF(DIST_POINT) * dsec_decide_dps(X509 *cert)
{
    STACK_OF(DIST_POINT) * dps;
    int i, crit = 0;

    dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, &crit, NULL);
    for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        const X509_NAME *iname = first_dirname(dp->CRLissuer);

        if (dp->distpoint != NULL && dp->distpoint->type == 1) {
            DIST_POINT_set_dpname(dp->distpoint,
                                  iname != NULL ? iname
                                                : X509_get_issuer_name(cert));
        }
    }
    return dps;
}

int dsec_decide_crl_issuers(X509 *cert, STACK_OF(DIST_POINT) * dps,
                            const X509_NAME **names, int max)
{
    int i, j, k, n = 0;

    if (cert == NULL || max <= 0) {
        return 0;
    }
    names[n++] = X509_get_issuer_name(cert);
    for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
        const GENERAL_NAMES *gens = sk_DIST_POINT_value(dps, i)->CRLissuer;

        for (j = 0; j < sk_GENERAL_NAME_num(gens) && n < max; j++) {
            const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, j);

            if (gn->type != GEN_DIRNAME) {
                continue;
            }
            for (k = 0; k < n; k++) {
                if (X509_NAME_cmp(names[k], gn->d.directoryName) == 0) {
                    break;
                }
            }
            if (k == n) {
                names[n++] = gn->d.directoryName;
            }
        }
    }
    return n;
}

STACK_OF(DIST_POINT) * dsec_decide_link_dps(const dsec_link *link, int *owned)
{
    *owned = link->dps == NULL;
    return link->dps != NULL ? link->dps : dsec_decide_dps(link->cert);
}

ISSUING_DIST_POINT *dsec_decide_idp(X509_CRL *crl)
{
    ISSUING_DIST_POINT *idp =
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL, NULL);

    if (idp != NULL && idp->distpoint != NULL) {
        DIST_POINT_set_dpname(idp->distpoint, X509_CRL_get_issuer(crl));
    }
    return idp;
}

/* 1 when a directoryName of names equals nm. */
static int names_hold(const GENERAL_NAMES *names, const X509_NAME *nm)
{
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

        if (gn->type == GEN_DIRNAME
            && X509_NAME_cmp(gn->d.directoryName, nm) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 1 when one name of a equals one of b (GENERAL_NAME_cmp). */
static int names_meet(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
    int i, j;

    for (i = 0; i < sk_GENERAL_NAME_num(a); i++) {
        for (j = 0; j < sk_GENERAL_NAME_num(b); j++) {
            if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i),
                                 sk_GENERAL_NAME_value(b, j))
                == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* RFC 5280 6.3.3 (b)(2)(i): the IDP's name against a DP's name. */
static int dpn_match(const DIST_POINT_NAME *idp, const DIST_POINT_NAME *dp)
{
    if (idp->type == 1 && idp->dpname == NULL) {
        return 0;
    }
    if (dp->type == 1 && dp->dpname == NULL) {
        return 0;
    }
    if (idp->type == 1 && dp->type == 1) {
        return X509_NAME_cmp(idp->dpname, dp->dpname) == 0;
    }
    if (idp->type == 1) {
        return names_hold(dp->name.fullname, idp->dpname);
    }
    if (dp->type == 1) {
        return names_hold(idp->name.fullname, dp->dpname);
    }
    return names_meet(idp->name.fullname, dp->name.fullname);
}

/* The IDP's name against plain names (a cRLIssuer, or the issuer's DN). */
static int dpn_match_names(const DIST_POINT_NAME *idp,
                           const GENERAL_NAMES *names, const X509_NAME *dn)
{
    if (idp->type == 1) {
        if (idp->dpname == NULL) {
            return 0;
        }
        return dn != NULL ? X509_NAME_cmp(idp->dpname, dn) == 0
                          : names_hold(names, idp->dpname);
    }
    if (dn != NULL) {
        return names_hold(idp->name.fullname, dn);
    }
    return names_meet(idp->name.fullname, names);
}

dsec_rv dsec_decide_scope(X509 *cert, X509_CRL *crl,
                          const ISSUING_DIST_POINT *idp, const DIST_POINT *dp,
                          unsigned int *interim, DSEC_ERR *err)
{
    const X509_NAME *cissuer = X509_CRL_get_issuer(crl);
    unsigned int idp_r = DSEC_REASONS_ALL, dp_r = DSEC_REASONS_ALL;

    if (dp != NULL && sk_GENERAL_NAME_num(dp->CRLissuer) > 0) {
        if (!names_hold(dp->CRLissuer, cissuer)) {
            return dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0,
                                "CRL is not issued by the CRL issuer the "
                                "certificate names (cRLIssuer)");
        }
        if (idp == NULL || idp->indirectCRL <= 0) {
            return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                                "CRL of the certificate's cRLIssuer is not an "
                                "indirect CRL");
        }
    } else if (X509_NAME_cmp(cissuer, X509_get_issuer_name(cert)) != 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0,
                            "CRL is issued by another CA than the "
                            "certificate's issuer");
    }
    if (idp != NULL) {
        if (idp->distpoint != NULL) {
            int match;

            if (dp == NULL) {
                match = dpn_match_names(idp->distpoint, NULL,
                                        X509_get_issuer_name(cert));
            } else if (dp->distpoint != NULL) {
                match = dpn_match(idp->distpoint, dp->distpoint);
            } else {
                match = dpn_match_names(idp->distpoint, dp->CRLissuer, NULL);
            }
            if (!match) {
                return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                                    "CRL covers another distribution point "
                                    "(issuingDistributionPoint)");
            }
        }
        if (idp->onlyuser > 0 && is_ca(cert)) {
            return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                                "CRL covers end-entity certificates only, "
                                "the certificate is a CA");
        }
        if (idp->onlyCA > 0 && !is_ca(cert)) {
            return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                                "CRL covers CA certificates only, the "
                                "certificate is not a CA");
        }
        if (idp->onlyattr > 0) {
            return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                                "CRL covers attribute certificates only");
        }
        if (idp->onlysomereasons != NULL) {
            idp_r = reason_bits(idp->onlysomereasons);
        }
    }
    if (dp != NULL && dp->reasons != NULL) {
        dp_r = reason_bits(dp->reasons);
    }
    *interim = idp_r & dp_r;
    if (*interim == 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                            "CRL covers none of the reasons of the "
                            "distribution point");
    }
    return DSEC_OK;
}
