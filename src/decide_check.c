/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one complete CRL must pass before it decides a link (the rules of
 * decide.h but the delta and the lookup): no unhandled critical extension,
 * issuer and scope for a distribution point (decide_scope.c), thisUpdate
 * and nextUpdate, and a signer, asked of the link's callback or checked
 * here (dsec_decide_signed_by). Part of the revocation decision.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/crl.h"
#include "domainsec/decide.h"
#include "internal.h"

int dsec_decide_key_id(X509 *cert, unsigned char id[32])
{
    const ASN1_BIT_STRING *key =
        cert != NULL ? X509_get0_pubkey_bitstr(cert) : NULL;

    return key != NULL
           && dsec_sha256_digest(key->data, (size_t)key->length, id);
}

int dsec_decide_is_delta(X509_CRL *crl)
{
    return X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
}

/* ---- critical extensions ---- */

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

    memset(id, 0, 32);
    X509_CRL_get0_signature(crl, &sig, &alg);
    if (sig != NULL && sig->data != NULL) {
        dsec_sha256_digest(sig->data, (size_t)sig->length, id);
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

int dsec_decide_critical_ok(X509_CRL *crl)
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
            && nid != NID_authority_key_identifier && nid != NID_delta_crl
            && !dsec_crlindex_marker_ok(crl, ext)) {
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

/* ---- time and signer ---- */

dsec_rv dsec_decide_check_time(X509_CRL *crl, time_t now, long grace,
                               int *stale, DSEC_ERR *err)
{
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

    *stale = 0;
    if (dsec_time_cmp(X509_CRL_get0_lastUpdate(crl), now + DSEC_CRL_CLOCK_SKEW)
        != -1) {
        return dsec_err_set(err, DSEC_ERR_CRL_FUTURE, 0,
                            "CRL thisUpdate is in the future");
    }
    if (next == NULL) {
        return dsec_err_set(err, DSEC_ERR_CRL_STALE, 0,
                            "CRL has no nextUpdate");
    }
    if (dsec_crl_fresh_at(dsec_crl_next_update(crl), now)) {
        return DSEC_OK;
    }
    if (dsec_crl_stale_at(dsec_crl_next_update(crl), now, grace)) {
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
    ok = dsec_crl_verify_key(c->crl, X509_get0_pubkey(cand));
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

/* ---- one complete CRL against the link ---- */

/* Everything but scope: complete, critical extensions, time, signer. */
static dsec_rv check_common(const dsec_link *link, const dsec_crl_in *c,
                            int *stale, X509 **signer, DSEC_ERR *err)
{
    X509 *s = NULL;
    dsec_rv rv;

    if (dsec_decide_is_delta(c->crl)) {
        return dsec_err_set(err, DSEC_ERR_CRL_DELTA, 0,
                            "delta CRL where a complete CRL is required");
    }
    if (!dsec_decide_critical_ok(c->crl)) {
        return dsec_err_set(err, DSEC_ERR_CRL_CRITICAL, 0,
                            "CRL has an unhandled critical extension");
    }
    rv = dsec_decide_check_time(c->crl, link->now, link->grace, stale, err);
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

dsec_rv dsec_decide_check_dp(const dsec_link *link, const dsec_crl_in *c,
                             const DIST_POINT *dp, unsigned int *interim,
                             int *stale, X509 **signer, DSEC_ERR *err)
{
    ISSUING_DIST_POINT *idp = dsec_decide_idp(c->crl);
    dsec_rv rv;

    rv = dsec_decide_scope(link->cert, c->crl, idp, dp, interim, err);
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
        return dsec_decide_check_dp(link, c, sk_DIST_POINT_value(dps, c->dp),
                                    interim, stale, signer, err);
    }
    idp = dsec_decide_idp(c->crl);
    for (i = 0; i <= ndp; i++) {
        rv = dsec_decide_scope(link->cert, c->crl, idp,
                               i < ndp ? sk_DIST_POINT_value(dps, i) : NULL,
                               interim, &e);
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
    dps = dsec_decide_link_dps(link, &owned);
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
