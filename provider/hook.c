/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The X509_STORE hook (DESIGN.md section 1). An ex_data "new" callback puts
 * domainsec on every X509_STORE the process creates: CRL flags, the
 * check_revocation hook, the CRL lookup and the trust-anchor lookup. The
 * hook decides the scope, runs the signature gate, obtains the CRLs through
 * libdomainsec, then lets OpenSSL's built-in check decide on them, while a
 * verify-callback wrapper classifies and logs each error before the host's
 * callback sees it.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "provider.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/report.h"

static CRYPTO_ONCE hook_once = CRYPTO_ONCE_STATIC_INIT;
static int hook_ready;
static int store_index = -1;
static int report_index = -1;
static X509_STORE_CTX_check_revocation_fn builtin_check_revocation;
static X509_STORE_CTX_lookup_crls_fn builtin_lookup_crls;

/* The active provider instance; NULL before activation and after teardown. */
static DSPROV_CTX *volatile active;
static volatile int broken;
static char broken_reason[DSEC_ERR_MSG_LEN];

static int dsprov_check_revocation(X509_STORE_CTX *ctx);
static STACK_OF(X509_CRL)
    * dsprov_lookup_crls(const X509_STORE_CTX *ctx, const X509_NAME *nm);

static void report_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                           long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    dsec_report_free(ptr);
}

/*
 * Runs inside X509_STORE_new(), before the store's lock exists: plain
 * setters only, no locking, no I/O.
 */
static void store_new_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                         long argl, void *argp)
{
    X509_STORE *store = parent;
    DSPROV_CTX *prov = active;
    const dsec_config *cfg;
    X509_LOOKUP *lookup;

    (void)ptr;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (store == NULL) {
        return;
    }
    if (broken) {
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
        X509_STORE_set_check_revocation(store, dsprov_check_revocation);
        return;
    }
    if (prov == NULL || prov->eng == NULL) {
        return;
    }
    cfg = dsec_engine_config(prov->eng);
    if (dsec_anchors_count(prov->anchors) > 0) {
        lookup = X509_STORE_add_lookup(store, X509_LOOKUP_store());
        if (lookup != NULL) {
            X509_LOOKUP_add_store(lookup, DSPROV_STORE_ROOTS);
        }
    }
    if (cfg->revocation == DSEC_REVOCATION_OFF) {
        return;
    }
    /* libssl adds store flags to its own, so these reach TLS too */
    X509_STORE_set_flags(
        store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                   | X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS);
    X509_STORE_set_check_revocation(store, dsprov_check_revocation);
    X509_STORE_set_lookup_crls(store, dsprov_lookup_crls);
}

static void hook_setup(void)
{
    X509_STORE_CTX *scratch = X509_STORE_CTX_new();

    /* with a NULL store, the context carries OpenSSL's own functions */
    if (scratch != NULL && X509_STORE_CTX_init(scratch, NULL, NULL, NULL)) {
        builtin_check_revocation = X509_STORE_CTX_get_check_revocation(scratch);
        builtin_lookup_crls = X509_STORE_CTX_get_lookup_crls(scratch);
    }
    X509_STORE_CTX_free(scratch);
    if (builtin_check_revocation == NULL || builtin_lookup_crls == NULL) {
        return;
    }
    report_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE_CTX, 0,
                                           NULL, NULL, NULL, report_free_cb);
    if (report_index < 0) {
        return;
    }
    /* never freed: OpenSSL calls store_new_cb for the process's lifetime */
    store_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE, 0, NULL,
                                          store_new_cb, NULL, NULL);
    hook_ready = store_index >= 0;
}

int dsprov_hook_register(DSPROV_CTX *ctx)
{
    if (!CRYPTO_THREAD_run_once(&hook_once, hook_setup) || !hook_ready) {
        return DSPROV_ERR;
    }
    broken = 0;
    active = ctx;
    DSPROV_debug(1, "X509_STORE hook registered (report index %d)",
                 report_index);
    return DSPROV_OK;
}

int dsprov_hook_register_broken(const char *reason)
{
    snprintf(broken_reason, sizeof(broken_reason), "%s",
             reason != NULL && *reason != '\0' ? reason : "unknown error");
    if (!CRYPTO_THREAD_run_once(&hook_once, hook_setup) || !hook_ready) {
        return DSPROV_ERR;
    }
    if (active == NULL) {
        broken = 1;
    }
    /* the log directives may be the bad ones: say it on both channels */
    syslog(LOG_ERR,
           "domainsec: configuration error: %s; every certificate "
           "verification will fail (fatal) until it is fixed",
           broken_reason);
    fprintf(stderr,
            "domainsec: configuration error: %s; every certificate "
            "verification will fail (fatal) until it is fixed\n",
            broken_reason);
    return DSPROV_OK;
}

void dsprov_hook_unregister(DSPROV_CTX *ctx)
{
    if (ctx != NULL && active == ctx) {
        active = NULL;
    }
}

int dsprov_hook_report_index(void)
{
    return report_index;
}

static void subject_of(X509 *cert, char *buf, size_t len)
{
    if (cert == NULL
        || X509_NAME_oneline(X509_get_subject_name(cert), buf, (int)len)
               == NULL) {
        snprintf(buf, len, "(unknown)");
    }
}

static dsec_report *report_of(const X509_STORE_CTX *ctx)
{
    return report_index < 0 ? NULL
                            : X509_STORE_CTX_get_ex_data(ctx, report_index);
}

/* Classify, record and log one verification error. */
static dsec_class note_error(X509_STORE_CTX *ctx, dsec_report *rep, int err,
                             int depth)
{
    dsec_rv rv = DSEC_OK;
    const char *detail = "", *url = "";
    char subject[256];
    char reason[DSEC_ERR_MSG_LEN];
    dsec_class cls;
    int sdepth = depth;

    /* the trust anchor is checked against the CRL fetched for the
       certificate it issued (the anchor rule) */
    if (rep != NULL && sdepth > 0 && sdepth == rep->nchain - 1
        && sdepth < DSEC_REPORT_MAX_DEPTH && !rep->depth[sdepth].checked) {
        sdepth--;
    }
    if (rep != NULL && sdepth >= 0 && sdepth < DSEC_REPORT_MAX_DEPTH
        && rep->depth[sdepth].checked) {
        rv = rep->depth[sdepth].rv;
        detail = rep->depth[sdepth].detail;
        url = rep->depth[sdepth].url;
    }
    cls = dsec_classify(err, rv);
    subject_of(X509_STORE_CTX_get_current_cert(ctx), subject, sizeof(subject));
    if (*detail != '\0' && rv != DSEC_OK) {
        snprintf(reason, sizeof(reason), "%s (%s: %.160s)",
                 X509_verify_cert_error_string(err), dsec_rv_name(rv), detail);
    } else {
        snprintf(reason, sizeof(reason), "%s",
                 X509_verify_cert_error_string(err));
    }
    if (rep != NULL) {
        dsec_report_record(rep, err, depth, rv, reason);
        if (rep->err_depth == depth && rep->x509_err == err) {
            snprintf(rep->subject, sizeof(rep->subject), "%s", subject);
            snprintf(rep->url, sizeof(rep->url), "%s", url);
        }
    }
    dsec_log(cls == DSEC_CLASS_TRANSIENT ? DSEC_LOG_WARNING : DSEC_LOG_ERR,
             "domainsec: %s: error %d at depth %d: %s; url=%s; subject=%s",
             dsec_class_name(cls), err, depth, reason, *url != '\0' ? url : "-",
             subject);
    return cls;
}

/*
 * Sits in front of the host's verify callback while the built-in
 * revocation check runs: every error is classified and logged first, and a
 * transient one is waived under revocation = soft-fail.
 */
static int dsprov_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    dsec_report *rep = report_of(ctx);
    DSPROV_CTX *prov = active;
    X509_STORE_CTX_verify_cb host = rep != NULL ? rep->host_cb : NULL;

    if (!ok) {
        int err = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        dsec_class cls;

        if (err == X509_V_ERR_CRL_HAS_EXPIRED && rep != NULL
            && sk_X509_CRL_find(rep->stale,
                                X509_STORE_CTX_get0_current_crl(ctx))
                   >= 0) {
            /* stale_grace admitted this CRL knowingly (and logged it) */
            X509_STORE_CTX_set_error(ctx, rep->saved_err);
            return 1;
        }
        cls = note_error(ctx, rep, err, depth);

        if (cls == DSEC_CLASS_TRANSIENT && prov != NULL
            && dsec_engine_config(prov->eng)->revocation
                   == DSEC_REVOCATION_SOFT_FAIL) {
            dsec_log(DSEC_LOG_WARNING,
                     "domainsec: soft-fail: accepting depth %d although its "
                     "revocation status is unknown",
                     depth);
            X509_STORE_CTX_set_error(ctx,
                                     rep != NULL ? rep->saved_err : X509_V_OK);
            return 1;
        }
    }
    return host != NULL ? host(ok, ctx) : ok;
}

/* Report an error the hook itself found, through the host's callback. */
static int raise_error(X509_STORE_CTX *ctx, X509 *cert, int depth, int err)
{
    X509_STORE_CTX_set_error_depth(ctx, depth);
    X509_STORE_CTX_set_current_cert(ctx, cert);
    X509_STORE_CTX_set_error(ctx, err);
    return dsprov_verify_cb(0, ctx);
}

static time_t verification_time(X509_STORE_CTX *ctx)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);

    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_USE_CHECK_TIME) != 0) {
        return X509_VERIFY_PARAM_get_time(vp);
    }
    return time(NULL);
}

static int check_broken(X509_STORE_CTX *ctx)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);

    syslog(LOG_ERR,
           "domainsec: fatal: refusing verification: configuration error: %s",
           broken_reason);
    fprintf(stderr,
            "domainsec: fatal: refusing verification: configuration error: "
            "%s\n",
            broken_reason);
    X509_STORE_CTX_set_error_depth(ctx, 0);
    X509_STORE_CTX_set_current_cert(ctx, sk_X509_value(chain, 0));
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
    return X509_STORE_CTX_get_verify_cb(ctx)(0, ctx);
}

static int dsprov_check_revocation(X509_STORE_CTX *ctx)
{
    DSPROV_CTX *prov = active;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    dsec_report *rep = NULL;
    int n = sk_X509_num(chain);
    int top_trusted, gate_from, bad = -1, last, d, ret;
    time_t now = verification_time(ctx);

    if (prov == NULL || prov->eng == NULL) {
        if (broken) {
            return check_broken(ctx);
        }
        return builtin_check_revocation(ctx);
    }
    /* libcurl verifying an https CDP's server from inside a fetch */
    if (dsec_fetch_active()) {
        DSPROV_debug(2, "nested verification inside a CRL fetch: no CRL "
                        "check");
        return 1;
    }
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_CRL_CHECK) == 0
        || n <= 0) {
        return builtin_check_revocation(ctx);
    }
    top_trusted = X509_STORE_CTX_get_num_untrusted(ctx) < n;
    /* a lone trust anchor has no issuer to revoke it */
    if (n == 1 && top_trusted) {
        return 1;
    }
    rep = dsec_report_new();
    if (rep == NULL) {
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_OUT_OF_MEM);
        return -1;
    }
    dsec_report_free(report_of(ctx));
    if (!X509_STORE_CTX_set_ex_data(ctx, report_index, rep)) {
        dsec_report_free(rep);
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_OUT_OF_MEM);
        return -1;
    }
    rep->nchain = n;
    rep->host_cb = X509_STORE_CTX_get_verify_cb(ctx);
    rep->saved_err = X509_STORE_CTX_get_error(ctx);
    /* an earlier error the host chose to ignore still decides the class */
    if (rep->saved_err != X509_V_OK) {
        dsec_report_record(rep, rep->saved_err,
                           X509_STORE_CTX_get_error_depth(ctx), DSEC_OK, NULL);
    }
    if (dsec_engine_config(prov->eng)->check_depth == DSEC_DEPTH_LEAF) {
        X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_CRL_CHECK_ALL);
        last = 0;
    } else {
        last = n - 2;
    }
    /*
     * The signature gate: a CDP is the attacker's until its certificate is
     * verified up to a trusted anchor, and OpenSSL checks revocation before
     * it verifies signatures.
     */
    gate_from = dsec_gate(chain, top_trusted, &bad);
    if (bad >= 0) {
        if (bad < DSEC_REPORT_MAX_DEPTH) {
            rep->depth[bad].checked = 1;
            rep->depth[bad].rv = DSEC_ERR_INVALID;
            snprintf(rep->depth[bad].detail, sizeof(rep->depth[bad].detail),
                     "signature does not verify with the issuer's key; no "
                     "CDP fetched");
        }
        if (!raise_error(ctx, sk_X509_value(chain, bad), bad,
                         X509_V_ERR_CERT_SIGNATURE_FAILURE)) {
            return 0;
        }
    }
    /*
     * OpenSSL checks validity dates after revocation: an expired certificate
     * must fail as expired (fatal), not as a CRL it could not get.
     */
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_NO_CHECK_TIME) == 0) {
        for (d = 0; d < n; d++) {
            X509 *cert = sk_X509_value(chain, d);
            int err = X509_V_OK;

            if (X509_cmp_time(X509_get0_notBefore(cert), &now) >= 0) {
                err = X509_V_ERR_CERT_NOT_YET_VALID;
            } else if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0) {
                err = X509_V_ERR_CERT_HAS_EXPIRED;
            }
            if (err != X509_V_OK && !raise_error(ctx, cert, d, err)) {
                return 0;
            }
        }
    }
    for (d = 0; d <= last && d < n - 1; d++) {
        if (d >= DSEC_REPORT_MAX_DEPTH) {
            break;
        }
        if (d < gate_from) {
            if (!rep->depth[d].checked) {
                rep->depth[d].checked = 1;
                rep->depth[d].rv = DSEC_ERR_INVALID;
                snprintf(rep->depth[d].detail, sizeof(rep->depth[d].detail),
                         "not fetched: no verified path to a trust anchor");
            }
            continue;
        }
        dsec_engine_obtain_crl(prov->eng, sk_X509_value(chain, d),
                               sk_X509_value(chain, d + 1), d, now, rep);
    }
    X509_STORE_CTX_set_verify_cb(ctx, dsprov_verify_cb);
    ret = builtin_check_revocation(ctx);
    X509_STORE_CTX_set_verify_cb(ctx, rep->host_cb);
    return ret;
}

static STACK_OF(X509_CRL)
    * dsprov_lookup_crls(const X509_STORE_CTX *ctx, const X509_NAME *nm)
{
    STACK_OF(X509_CRL) *crls = builtin_lookup_crls(ctx, nm);
    dsec_report *rep = report_of(ctx);
    int i;

    if (rep == NULL || sk_X509_CRL_num(rep->crls) == 0) {
        return crls;
    }
    if (crls == NULL && (crls = sk_X509_CRL_new_null()) == NULL) {
        return NULL;
    }
    for (i = 0; i < sk_X509_CRL_num(rep->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(rep->crls, i);

        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), nm) == 0
            && X509_CRL_up_ref(crl)) {
            if (!sk_X509_CRL_push(crls, crl)) {
                X509_CRL_free(crl);
            }
        }
    }
    return crls;
}
