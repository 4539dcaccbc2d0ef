/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation decision for one link of a chain: RFC 5280 section 6.3.3
 * over the CRLs gathered for one certificate (the rules are listed in
 * decide.h). Nothing here fetches, caches or builds paths: who may sign a
 * CRL comes from the link's signer callback.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/decide.h"

/* thisUpdate may be this far in the future (clocks differ) */
#define CRL_CLOCK_SKEW 300

int dsec_crl_set_add(dsec_crl_set *set, X509_CRL *crl, int dp,
                     const unsigned char *key_id, const char *src)
{
    dsec_crl_in *in;

    if (set == NULL || crl == NULL) {
        return 0;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap == 0 ? 4 : set->cap * 2;
        dsec_crl_in *v = realloc(set->v, cap * sizeof(*v));

        if (v == NULL) {
            return 0;
        }
        set->v = v;
        set->cap = cap;
    }
    in = &set->v[set->n];
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

int dsec_decide_key_id(X509 *cert, unsigned char id[32])
{
    const ASN1_BIT_STRING *key =
        cert != NULL ? X509_get0_pubkey_bitstr(cert) : NULL;
    const EVP_MD *md = dsec_sha256();
    unsigned int len = 0;

    return key != NULL && md != NULL
           && EVP_Digest(key->data, (size_t)key->length, id, &len, md, NULL)
           && len == 32;
}

const char *dsec_status_name(dsec_status st)
{
    switch (st) {
    case DSEC_STATUS_GOOD:
        return "good";
    case DSEC_STATUS_REVOKED:
        return "revoked";
    case DSEC_STATUS_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- reading the CRL and the certificate ---- */

static int is_delta(X509_CRL *crl)
{
    return X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
}

/*
 * Critical extensions this module handles; anything else critical makes
 * the CRL unusable (RFC 5280 5.2, 5.3). The entry scan is O(entries), so
 * its answer is remembered per CRL object, recognised by its address and
 * the SHA-256 of its signature (a reused address holds another signature;
 * another list of entries under the same signature would not verify).
 */
#define CRIT_SLOTS 256

struct crit_memo {
    const X509_CRL *crl;
    unsigned char sig[32];
    int ok;
};

static struct crit_memo crit_memo[CRIT_SLOTS];
static pthread_mutex_t crit_lock = PTHREAD_MUTEX_INITIALIZER;

static void crl_sig_id(X509_CRL *crl, unsigned char id[32])
{
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *alg = NULL;
    const EVP_MD *md = dsec_sha256();
    unsigned int len = 0;

    memset(id, 0, 32);
    X509_CRL_get0_signature(crl, &sig, &alg);
    if (sig != NULL && sig->data != NULL && md != NULL) {
        EVP_Digest(sig->data, (size_t)sig->length, id, &len, md, NULL);
    }
}

static int entries_ok(X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    int i, j;

    for (i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
        const STACK_OF(X509_EXTENSION) *exts =
            X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revoked, i));

        for (j = 0; j < sk_X509_EXTENSION_num(exts); j++) {
            X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, j);

            if (X509_EXTENSION_get_critical(ext)
                && OBJ_obj2nid(X509_EXTENSION_get_object(ext))
                       != NID_certificate_issuer) {
                return 0;
            }
        }
    }
    return 1;
}

static int critical_ok(X509_CRL *crl)
{
    const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
    struct crit_memo *m;
    unsigned char sig[32];
    int i, ok;

    for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

        if (X509_EXTENSION_get_critical(ext)
            && nid != NID_issuing_distribution_point
            && nid != NID_authority_key_identifier && nid != NID_delta_crl) {
            return 0;
        }
    }
    crl_sig_id(crl, sig);
    m = &crit_memo[((uintptr_t)crl >> 4) % CRIT_SLOTS];
    pthread_mutex_lock(&crit_lock);
    if (m->crl == crl && memcmp(m->sig, sig, sizeof(sig)) == 0) {
        ok = m->ok;
        pthread_mutex_unlock(&crit_lock);
        return ok;
    }
    pthread_mutex_unlock(&crit_lock);
    ok = entries_ok(crl);
    pthread_mutex_lock(&crit_lock);
    m->crl = crl;
    memcpy(m->sig, sig, sizeof(sig));
    m->ok = ok;
    pthread_mutex_unlock(&crit_lock);
    return ok;
}

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

/* The link's DPs: its own, or decoded now (*owned set: free them). */
static STACK_OF(DIST_POINT) * link_dps(const dsec_link *link, int *owned)
{
    *owned = link->dps == NULL;
    return link->dps != NULL ? link->dps : dsec_decide_dps(link->cert);
}

static ISSUING_DIST_POINT *crl_idp(X509_CRL *crl)
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

/*
 * RFC 5280 6.3.3 (b) and (d): is crl of the right issuer and scope for the
 * certificate through dp (NULL: the implicit DP of a CRL issued by the
 * certificate's issuer)? *interim gets the reasons it covers there.
 */
static dsec_rv scope_for_dp(X509 *cert, X509_CRL *crl,
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

/* thisUpdate <= now + skew, now < nextUpdate (+ grace: *stale). */
static dsec_rv time_check(X509_CRL *crl, time_t now, long grace, int *stale,
                          DSEC_ERR *err)
{
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

    *stale = 0;
    if (dsec_time_cmp(X509_CRL_get0_lastUpdate(crl), now + CRL_CLOCK_SKEW)
        != -1) {
        return dsec_err_set(err, DSEC_ERR_CRL_FUTURE, 0,
                            "CRL thisUpdate is in the future");
    }
    if (next == NULL) {
        return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                            "CRL has no nextUpdate");
    }
    if (dsec_time_cmp(next, now) == 1) {
        return DSEC_OK;
    }
    if (grace > 0 && dsec_time_cmp(next, now - grace) == 1) {
        *stale = 1;
        return DSEC_OK;
    }
    return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                        "CRL is past its nextUpdate");
}

int dsec_decide_signed_by(X509 *cand, const dsec_crl_in *c, DSEC_ERR *err)
{
    AUTHORITY_KEYID *akid;
    unsigned char id[32];
    EVP_PKEY *key;
    int ok;

    if (cand == NULL || c == NULL || c->crl == NULL) {
        dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0, "no CRL issuer");
        return 0;
    }
    if (X509_NAME_cmp(X509_get_subject_name(cand), X509_CRL_get_issuer(c->crl))
        != 0) {
        dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0,
                     "no certificate of the CRL's issuer name");
        return 0;
    }
    akid =
        X509_CRL_get_ext_d2i(c->crl, NID_authority_key_identifier, NULL, NULL);
    ok = X509_check_akid(cand, akid) == X509_V_OK;
    AUTHORITY_KEYID_free(akid);
    if (!ok) {
        dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0,
                     "the CRL's authority key identifier names another key");
        return 0;
    }
    if ((X509_get_extension_flags(cand) & EXFLAG_KUSAGE) != 0
        && (X509_get_key_usage(cand) & KU_CRL_SIGN) == 0) {
        dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0,
                     "the CRL issuer's certificate does not allow cRLSign");
        return 0;
    }
    if (c->key_known && dsec_decide_key_id(cand, id)
        && memcmp(id, c->key_id, sizeof(id)) == 0) {
        return 1;
    }
    key = X509_get0_pubkey(cand);
    ERR_set_mark();
    ok = key != NULL && X509_CRL_verify(c->crl, key) > 0;
    ERR_pop_to_mark();
    if (!ok) {
        dsec_err_set(err, DSEC_ERR_CRL_SIG, 0,
                     "CRL signature does not verify with the issuer's key");
    }
    return ok;
}

dsec_rv dsec_decide_direct_signer(void *arg, const dsec_crl_in *c,
                                  X509 **signer, DSEC_ERR *err)
{
    const dsec_link *link = arg;
    DSEC_ERR e = { 0 };

    if (link != NULL && dsec_decide_signed_by(link->issuer, c, &e)) {
        *signer = link->issuer;
        return DSEC_OK;
    }
    return dsec_err_set(err, e.rv != DSEC_OK ? e.rv : DSEC_ERR_CRL_SIGNER, 0,
                        "%s", e.rv != DSEC_OK ? e.msg : "no issuer");
}

/* Everything but scope: complete, critical extensions, time, signer. */
static dsec_rv check_common(const dsec_link *link, const dsec_crl_in *c,
                            int *stale, X509 **signer, DSEC_ERR *err)
{
    X509 *s = NULL;
    dsec_rv rv;

    if (is_delta(c->crl)) {
        return dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                            "delta CRL where a complete CRL is required");
    }
    if (!critical_ok(c->crl)) {
        return dsec_err_set(err, DSEC_ERR_CRL_CRITICAL, 0,
                            "CRL has an unhandled critical extension");
    }
    rv = time_check(c->crl, link->now, link->grace, stale, err);
    if (rv != DSEC_OK) {
        return rv;
    }
    if (link->signer == NULL) {
        return dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0, "no CRL issuer");
    }
    rv = link->signer(link->arg, c, &s, err);
    if (rv != DSEC_OK || s == NULL) {
        return rv != DSEC_OK
                   ? rv
                   : dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0, "no CRL issuer");
    }
    *signer = s;
    return DSEC_OK;
}

/*
 * c against one DP (dp_index < ndp) or the implicit DP (dp_index == ndp,
 * dp NULL): scope first, then the rest.
 */
static dsec_rv check_for_dp(const dsec_link *link, const dsec_crl_in *c,
                            const DIST_POINT *dp, unsigned int *interim,
                            int *stale, X509 **signer, DSEC_ERR *err)
{
    ISSUING_DIST_POINT *idp = crl_idp(c->crl);
    dsec_rv rv;

    rv = scope_for_dp(link->cert, c->crl, idp, dp, interim, err);
    ISSUING_DIST_POINT_free(idp);
    if (rv != DSEC_OK) {
        return rv;
    }
    return check_common(link, c, stale, signer, err);
}

/* Which DPs c may be matched against: its own, or all then the implicit. */
static dsec_rv check_any_dp(const dsec_link *link, STACK_OF(DIST_POINT) * dps,
                            const dsec_crl_in *c, unsigned int *interim,
                            int *stale, X509 **signer, DSEC_ERR *err)
{
    int i, ndp = dps != NULL ? sk_DIST_POINT_num(dps) : 0;
    ISSUING_DIST_POINT *idp;
    dsec_rv rv = DSEC_ERR_CRL_SCOPE;
    DSEC_ERR e = { 0 };

    if (c->dp >= 0) {
        if (c->dp >= ndp) {
            return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                                "the certificate has no distribution point "
                                "%d",
                                c->dp);
        }
        return check_for_dp(link, c, sk_DIST_POINT_value(dps, c->dp), interim,
                            stale, signer, err);
    }
    idp = crl_idp(c->crl);
    for (i = 0; i <= ndp; i++) {
        rv = scope_for_dp(link->cert, c->crl, idp,
                          i < ndp ? sk_DIST_POINT_value(dps, i) : NULL, interim,
                          &e);
        if (rv == DSEC_OK) {
            break;
        }
    }
    ISSUING_DIST_POINT_free(idp);
    if (rv != DSEC_OK) {
        return dsec_err_set(err, rv, 0, "%s", e.msg);
    }
    return check_common(link, c, stale, signer, err);
}

dsec_rv dsec_decide_check(const dsec_link *link, const dsec_crl_in *c,
                          unsigned int *reasons, X509 **signer, DSEC_ERR *err)
{
    STACK_OF(DIST_POINT) * dps;
    unsigned int interim = 0;
    X509 *s = NULL;
    int stale = 0, owned;
    dsec_rv rv;

    if (link == NULL || link->cert == NULL || c == NULL || c->crl == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no certificate or CRL");
    }
    dps = link_dps(link, &owned);
    rv = check_any_dp(link, dps, c, &interim, &stale, &s, err);
    if (owned) {
        sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    }
    if (rv == DSEC_OK) {
        if (reasons != NULL) {
            *reasons = interim;
        }
        if (signer != NULL) {
            *signer = s;
        }
    }
    return rv;
}

/* ---- delta CRLs ---- */

static ASN1_INTEGER *crl_number(X509_CRL *crl, int nid)
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
    EVP_PKEY *key;
    int stale = 0, ok;
    dsec_rv rv = DSEC_OK;

    if (link == NULL || base == NULL || delta == NULL || base_signer == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no delta or base");
    }
    if (!is_delta(delta->crl)) {
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
    base_num = crl_number(base->crl, NID_crl_number);
    delta_base = crl_number(delta->crl, NID_delta_crl);
    delta_num = crl_number(delta->crl, NID_crl_number);
    if (base_num == NULL || delta_base == NULL || delta_num == NULL
        || ASN1_INTEGER_cmp(delta_base, base_num) > 0
        || ASN1_INTEGER_cmp(delta_num, base_num) <= 0) {
        rv = dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                          "delta CRL does not update this complete CRL "
                          "(CRL numbers)");
        goto done;
    }
    if (!critical_ok(delta->crl)) {
        rv = dsec_err_set(err, DSEC_ERR_CRL_CRITICAL, 0,
                          "delta CRL has an unhandled critical extension");
        goto done;
    }
    rv = time_check(delta->crl, link->now, link->grace, &stale, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    /* RFC 5280 6.3.3 (h): the key that verified the complete CRL */
    if (delta->key_known && dsec_decide_key_id(base_signer, id)
        && memcmp(id, delta->key_id, sizeof(id)) == 0) {
        goto done;
    }
    key = X509_get0_pubkey(base_signer);
    ERR_set_mark();
    ok = key != NULL && X509_CRL_verify(delta->crl, key) > 0;
    ERR_pop_to_mark();
    if (!ok) {
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

/* The newest delta of set that updates base, or NULL. */
static const dsec_crl_in *best_delta(const dsec_link *link,
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

        if (!is_delta(d->crl)) {
            continue;
        }
        if (dsec_decide_check_delta(link, base, signer, d, &e) != DSEC_OK) {
            if (why != NULL && why->rv == DSEC_OK) {
                *why = e;
            }
            continue;
        }
        num = crl_number(d->crl, NID_crl_number);
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

/* ---- the decision ---- */

/* How far a CRL got before it failed: the furthest is reported. */
static int rank_of(dsec_rv rv)
{
    switch (rv) {
    case DSEC_ERR_CRL_ISSUER:
        return 1;
    case DSEC_ERR_CRL_DELTA:
        return 2;
    case DSEC_ERR_CRL_SCOPE:
        return 3;
    case DSEC_ERR_CRL_CRITICAL:
        return 4;
    case DSEC_ERR_CRL_FUTURE:
    case DSEC_ERR_CRL_STALE:
        return 5;
    case DSEC_ERR_CRL_SIGNER:
    case DSEC_ERR_CRL_SIG:
        return 6;
    case DSEC_ERR_NO_DELTA:
        return 7;
    default:
        return 0;
    }
}

/* The verify error of an unknown status (DESIGN.md section 5). */
static int x509_err_of(dsec_rv rv)
{
    switch (rv) {
    case DSEC_ERR_CRL_STALE:
        return X509_V_ERR_CRL_HAS_EXPIRED;
    case DSEC_ERR_CRL_SIG:
        return X509_V_ERR_CRL_SIGNATURE_FAILURE;
    default:
        return X509_V_ERR_UNABLE_TO_GET_CRL;
    }
}

typedef struct {
    const dsec_crl_in *c;
    const ASN1_TIME *this_update;
    ASN1_INTEGER *number;
    size_t index;
} ordered;

static int newer_first(const void *pa, const void *pb)
{
    const ordered *a = pa, *b = pb;
    int c = ASN1_TIME_compare(b->this_update, a->this_update);

    if (c == 0 && a->number != NULL && b->number != NULL) {
        c = ASN1_INTEGER_cmp(b->number, a->number);
    }
    if (c == 0) {
        c = a->index < b->index ? -1 : a->index > b->index;
    }
    return c;
}

/* Where the certificate stands on crl: 1 listed, 2 removeFromCRL, 0 not. */
static int lookup(X509_CRL *crl, X509 *cert, int *reason)
{
    X509_REVOKED *rev = NULL;
    ASN1_ENUMERATED *code;
    int r = X509_CRL_get0_by_cert(crl, &rev, cert);

    if (r == 1 && rev != NULL) {
        code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        *reason = code != NULL ? (int)ASN1_ENUMERATED_get(code) : 0;
        ASN1_ENUMERATED_free(code);
    }
    return r == 1 || r == 2 ? r : 0;
}

static void describe_reasons(unsigned int bits, char *buf, size_t len)
{
    static const char *const names[] = { "",
                                         "keyCompromise",
                                         "cACompromise",
                                         "affiliationChanged",
                                         "superseded",
                                         "cessationOfOperation",
                                         "certificateHold",
                                         "privilegeWithdrawn",
                                         "aACompromise" };
    size_t used = 0;
    int i;

    buf[0] = '\0';
    for (i = 1; i <= 8 && used + 1 < len; i++) {
        if ((bits & (1u << i)) != 0) {
            int w = snprintf(buf + used, len - used, "%s%s",
                             used > 0 ? "," : "", names[i]);

            if (w < 0) {
                break;
            }
            used += (size_t)w < len - used ? (size_t)w : len - used - 1;
        }
    }
}

/* Note a failed CRL if it got further than the one noted so far. */
static void note_failure(dsec_decision *out, const dsec_crl_in *c,
                         const DSEC_ERR *e, int *best_rank)
{
    int rank = rank_of(e->rv);

    if (rank > *best_rank) {
        *best_rank = rank;
        out->rv = e->rv;
        out->x509_err = x509_err_of(e->rv);
        out->decided_by = c;
        snprintf(out->why, sizeof(out->why), "%.100s: %.150s", c->src, e->msg);
    }
}

/*
 * RFC 5280 6.3.3 (c)-(l) for one complete CRL that passed (b) for a DP:
 * 1 when it was used (reasons added), 0 when it did not count.
 */
static int apply_crl(const dsec_link *link, const dsec_crl_set *set,
                     const dsec_crl_in *c, X509 *signer, unsigned int interim,
                     int stale, unsigned int *mask, dsec_decision *out,
                     int *best_rank)
{
    DSEC_ERR e = { 0 };
    const dsec_crl_in *delta;
    int reason = 0, r = 0;

    delta = best_delta(link, set, c, signer, &e);
    if (delta == NULL && dsec_decide_needs_delta(link, c->crl)) {
        DSEC_ERR need = { 0 };

        dsec_err_set(&need, DSEC_ERR_NO_DELTA, 0,
                     "a delta CRL is required (freshestCRL) and none was "
                     "obtained%s%s",
                     e.rv != DSEC_OK ? ": " : "", e.rv != DSEC_OK ? e.msg : "");
        note_failure(out, c, &need, best_rank);
        return 0;
    }
    if (delta != NULL) {
        r = lookup(delta->crl, link->cert, &reason);
        /* a delta past nextUpdate only got here within grace */
        stale |=
            dsec_time_cmp(X509_CRL_get0_nextUpdate(delta->crl), link->now) != 1;
    }
    if (r == 0) {
        r = lookup(c->crl, link->cert, &reason);
        if (r == 1) {
            delta = NULL; /* the complete CRL lists it */
        }
    }
    *mask |= interim;
    out->stale |= stale;
    out->decided_by = r == 1 && delta != NULL ? delta : c;
    out->delta = delta;
    out->signer = signer;
    if (r == 1) {
        out->status = DSEC_STATUS_REVOKED;
        out->reason = reason;
    }
    return 1;
}

void dsec_decide(const dsec_link *link, const dsec_crl_set *set,
                 dsec_decision *out)
{
    STACK_OF(DIST_POINT) *dps = NULL;
    ordered *order = NULL;
    size_t i, k, ncomplete = 0;
    unsigned int mask = 0;
    int d, ndp, best_rank = 0, used = 0, owned = 0;

    memset(out, 0, sizeof(*out));
    out->status = DSEC_STATUS_UNKNOWN;
    out->rv = DSEC_ERR_NO_CRL;
    out->x509_err = X509_V_ERR_UNABLE_TO_GET_CRL;
    out->reason = -1;
    snprintf(out->why, sizeof(out->why), "no CRL was obtained");
    if (link == NULL || link->cert == NULL || set == NULL || set->n == 0) {
        return;
    }
    if ((order = calloc(set->n, sizeof(*order))) == NULL) {
        out->rv = DSEC_ERR_NOMEM;
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    for (i = 0; i < set->n; i++) {
        const dsec_crl_in *c = &set->v[i];

        if (is_delta(c->crl)) {
            continue;
        }
        order[ncomplete].c = c;
        order[ncomplete].this_update = X509_CRL_get0_lastUpdate(c->crl);
        order[ncomplete].number = crl_number(c->crl, NID_crl_number);
        order[ncomplete].index = i;
        ncomplete++;
    }
    if (ncomplete == 0) {
        DSEC_ERR e = { 0 };

        dsec_err_set(&e, DSEC_ERR_CRL_DELTA, 0,
                     "only a delta CRL was obtained, never a substitute for "
                     "a complete one");
        note_failure(out, &set->v[0], &e, &best_rank);
        goto done;
    }
    qsort(order, ncomplete, sizeof(*order), newer_first);
    dps = link_dps(link, &owned);
    ndp = dps != NULL ? sk_DIST_POINT_num(dps) : 0;
    /* each DP in turn, then the implicit DP (index ndp) for host CRLs */
    for (d = 0; d <= ndp && mask != DSEC_REASONS_ALL
                && out->status != DSEC_STATUS_REVOKED;
         d++) {
        const DIST_POINT *dp = d < ndp ? sk_DIST_POINT_value(dps, d) : NULL;

        for (k = 0; k < ncomplete && mask != DSEC_REASONS_ALL
                    && out->status != DSEC_STATUS_REVOKED;
             k++) {
            const dsec_crl_in *c = order[k].c;
            unsigned int interim = 0;
            X509 *signer = NULL;
            DSEC_ERR e = { 0 };
            int stale = 0;

            if (d < ndp ? c->dp != d && c->dp != -1 : c->dp != -1) {
                continue;
            }
            if (check_for_dp(link, c, dp, &interim, &stale, &signer, &e)
                != DSEC_OK) {
                note_failure(out, c, &e, &best_rank);
                continue;
            }
            if ((interim & ~mask) == 0) {
                continue;
            }
            used |= apply_crl(link, set, c, signer, interim, stale, &mask, out,
                              &best_rank);
        }
    }
    if (out->status == DSEC_STATUS_REVOKED) {
        out->rv = DSEC_OK;
        out->x509_err = X509_V_ERR_CERT_REVOKED;
        snprintf(out->why, sizeof(out->why), "listed on %s (reason %d)",
                 out->decided_by->src, out->reason);
    } else if (mask == DSEC_REASONS_ALL) {
        out->status = DSEC_STATUS_GOOD;
        out->rv = DSEC_OK;
        out->x509_err = X509_V_OK;
        snprintf(out->why, sizeof(out->why), "not listed on %s%s%s",
                 out->decided_by->src, out->delta != NULL ? " nor on " : "",
                 out->delta != NULL ? out->delta->src : "");
    } else if (used) {
        char covered[160];

        describe_reasons(mask, covered, sizeof(covered));
        out->status = DSEC_STATUS_UNKNOWN;
        out->rv = DSEC_ERR_CRL_REASONS;
        out->x509_err = X509_V_ERR_UNABLE_TO_GET_CRL;
        out->signer = NULL;
        snprintf(out->why, sizeof(out->why),
                 "the CRLs obtained cover only some revocation reasons (%s)",
                 covered);
    }
    out->reasons = mask;
done:
    for (i = 0; i < ncomplete; i++) {
        ASN1_INTEGER_free(order[i].number);
    }
    free(order);
    if (owned) {
        sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    }
}
