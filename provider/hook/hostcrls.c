/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRLs a host supplies for a certificate (DESIGN.md section 7): those
 * passed with X509_STORE_CTX_set0_crls (as `openssl verify -CRLfile` does)
 * and those of its X509_STORE, found by name only, each still to be
 * verified for the link that uses it.
 */
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "hook/internal.h"
#include "domainsec/log.h"

/*
 * The CRLs a host passed with X509_STORE_CTX_set0_crls, for which OpenSSL
 * 3.0 has no getter. struct x509_store_ctx_st (include/crypto/x509.h,
 * unchanged from 1.1.0 to 3.x) begins with store, cert, untrusted, crls,
 * param: the field is read only when the four around it are what the
 * public getters return, else those CRLs are not seen (logged once; the
 * store's CRLs still are, and a link without a CRL fails closed).
 */
static STACK_OF(X509_CRL) * host_set_crls(const X509_STORE_CTX *ctx)
{
    static int warned;
    struct head {
        X509_STORE *store;
        X509 *cert;
        STACK_OF(X509) * untrusted;
        STACK_OF(X509_CRL) * crls;
        X509_VERIFY_PARAM *param;
    } h;

    memcpy(&h, ctx, sizeof(h));
    if (h.store == X509_STORE_CTX_get0_store(ctx)
        && h.cert == X509_STORE_CTX_get0_cert(ctx)
        && h.untrusted == X509_STORE_CTX_get0_untrusted(ctx) && h.param != NULL
        && h.param == X509_STORE_CTX_get0_param(ctx)) {
        return h.crls;
    }
    if (!warned) {
        warned = 1;
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: this OpenSSL's X509_STORE_CTX layout is not "
                 "the known one: CRLs passed with X509_STORE_CTX_set0_crls "
                 "are not used");
    }
    return NULL;
}

static void add_unique(dsec_crl_set *set, X509_CRL *crl)
{
    size_t i;

    for (i = 0; i < set->n; i++) {
        if (set->v[i].crl == crl) {
            return;
        }
    }
    dsec_crl_set_add(set, crl, -1, NULL, "host");
}

static void add_store_crls(X509_STORE_CTX *ctx, const X509_NAME *nm,
                           dsec_crl_set *set)
{
    STACK_OF(X509_CRL) * sk;
    int i;

    if (dsprov_hostmiss_known(ctx, X509_LU_CRL, nm)) {
        return; /* none a moment ago (hostmiss.c) */
    }
    ERR_set_mark();
    sk = X509_STORE_CTX_get1_crls(ctx, nm);
    ERR_pop_to_mark();
    if (sk_X509_CRL_num(sk) <= 0) {
        dsprov_hostmiss_note(ctx, X509_LU_CRL, nm);
    }
    for (i = 0; i < sk_X509_CRL_num(sk); i++) {
        add_unique(set, sk_X509_CRL_value(sk, i));
    }
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
}

int dsprov_link_host_has_crls(X509_STORE_CTX *ctx, const X509_NAME *nm)
{
    STACK_OF(X509_CRL) *given = host_set_crls(ctx), *sk;
    int i, n;

    for (i = 0; i < sk_X509_CRL_num(given); i++) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(sk_X509_CRL_value(given, i)), nm)
            == 0) {
            return 1;
        }
    }
    if (dsprov_hostmiss_known(ctx, X509_LU_CRL, nm)) {
        return 0;
    }
    ERR_set_mark();
    sk = X509_STORE_CTX_get1_crls(ctx, nm);
    ERR_pop_to_mark();
    n = sk_X509_CRL_num(sk);
    if (n <= 0) {
        dsprov_hostmiss_note(ctx, X509_LU_CRL, nm);
    }
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
    return n > 0;
}

/* The CRLs the host supplied for cert (whose DPs are dps): by its
   issuer's and cRLIssuers' names only, each still to be verified for this
   link. */
void dsprov_host_crls_add(X509_STORE_CTX *ctx, X509 *cert,
                          STACK_OF(DIST_POINT) * dps, dsec_crl_set *set)
{
    STACK_OF(X509_CRL) *given = host_set_crls(ctx);
    const X509_NAME *names[16];
    int i, k, n = dsec_decide_crl_issuers(cert, dps, names, 16);

    for (i = 0; i < sk_X509_CRL_num(given); i++) {
        X509_CRL *crl = sk_X509_CRL_value(given, i);

        for (k = 0; k < n; k++) {
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), names[k]) == 0) {
                add_unique(set, crl);
                break;
            }
        }
    }
    for (k = 0; k < n; k++) {
        add_store_crls(ctx, names[k], set);
    }
}
