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
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "provider.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/path.h"
#include "domainsec/report.h"

static CRYPTO_ONCE hook_once = CRYPTO_ONCE_STATIC_INIT;
static int hook_ready;
static int store_index = -1;
static int report_index = -1;
static int path_index = -1;
static X509_STORE_CTX_check_revocation_fn builtin_check_revocation;
static X509_STORE_CTX_lookup_crls_fn builtin_lookup_crls;
static X509_STORE_CTX_check_crl_fn builtin_check_crl;

/* The active provider instance; NULL before activation and after teardown. */
static DSPROV_CTX *volatile active;
static volatile int broken;
static char broken_reason[DSEC_ERR_MSG_LEN];

static int dsprov_check_revocation(X509_STORE_CTX *ctx);
static int dsprov_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x);
static int dsprov_check_crl(X509_STORE_CTX *ctx, X509_CRL *crl);
static dsec_report *report_get(X509_STORE_CTX *ctx);
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

/* What the path builder keeps for one verification. */
typedef struct {
    STACK_OF(X509) * path; /* the path handed to OpenSSL, hop by hop */
    STACK_OF(X509) * dead; /* certificates with no path at all */
    int sigs; /* signature checks spent */
    int bound; /* a bound was hit: no more searching */
} path_state;

static void path_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
                            int idx, long argl, void *argp)
{
    path_state *st = ptr;

    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (st != NULL) {
        sk_X509_pop_free(st->path, X509_free);
        sk_X509_pop_free(st->dead, X509_free);
        OPENSSL_free(st);
    }
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
    /*
     * trust_dirs and cross_dirs reach the chain through the path builder,
     * which reads the in-memory index directly (no X509_LOOKUP: a lookup
     * would copy anchors into the store, where a removed file would stay
     * trusted)
     */
    X509_STORE_set_get_issuer(store, dsprov_get_issuer);
    if (cfg->revocation == DSEC_REVOCATION_OFF) {
        return;
    }
    /* libssl adds store flags to its own, so these reach TLS too */
    X509_STORE_set_flags(
        store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                   | X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS);
    X509_STORE_set_check_revocation(store, dsprov_check_revocation);
    X509_STORE_set_lookup_crls(store, dsprov_lookup_crls);
    X509_STORE_set_check_crl(store, dsprov_check_crl);
}

static void hook_setup(void)
{
    X509_STORE_CTX *scratch = X509_STORE_CTX_new();

    /* with a NULL store, the context carries OpenSSL's own functions */
    if (scratch != NULL && X509_STORE_CTX_init(scratch, NULL, NULL, NULL)) {
        builtin_check_revocation = X509_STORE_CTX_get_check_revocation(scratch);
        builtin_lookup_crls = X509_STORE_CTX_get_lookup_crls(scratch);
        builtin_check_crl = X509_STORE_CTX_get_check_crl(scratch);
    }
    X509_STORE_CTX_free(scratch);
    if (builtin_check_revocation == NULL || builtin_lookup_crls == NULL
        || builtin_check_crl == NULL) {
        return;
    }
    report_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE_CTX, 0,
                                           NULL, NULL, NULL, report_free_cb);
    if (report_index < 0) {
        return;
    }
    path_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE_CTX, 0,
                                         NULL, NULL, NULL, path_state_free);
    if (path_index < 0) {
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

/*
 * 1 when the path builder handed cert -> issuer over in this verification:
 * it verified that signature itself (the same objects, so no digest needed
 * to recognise them).
 */
static int link_built(void *arg, X509 *cert, X509 *issuer)
{
    const path_state *st = arg;
    int i, n;

    if (st == NULL || st->path == NULL) {
        return 0;
    }
    n = sk_X509_num(st->path);
    for (i = 0; i + 1 < n; i++) {
        if (sk_X509_value(st->path, i) == cert) {
            return sk_X509_value(st->path, i + 1) == issuer;
        }
    }
    return 0;
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
    /*
     * The path builder's report, if any, holds only its log and the fetch
     * time spent (a context verifies once): it becomes this report.
     */
    rep = report_get(ctx);
    if (rep == NULL) {
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
    gate_from = dsec_gate_ex(
        chain, top_trusted, &bad, link_built,
        path_index >= 0 ? X509_STORE_CTX_get_ex_data(ctx, path_index) : NULL);
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

            if (dsec_time_cmp(X509_get0_notBefore(cert), now) >= 0) {
                err = X509_V_ERR_CERT_NOT_YET_VALID;
            } else if (dsec_time_cmp(X509_get0_notAfter(cert), now) <= 0) {
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

/* ---- the path builder's side of the hook (DESIGN.md section 4) ---- */

typedef struct {
    X509_STORE_CTX *ctx;
    DSPROV_CTX *prov;
    dsec_report *rep;
    dsec_anchors *roots, *cross;
    int partial; /* X509_V_FLAG_PARTIAL_CHAIN: only trusted candidates */
    time_t now;
} build_arg;

static int is_self_signed(X509 *cert)
{
    return X509_self_signed(cert, 0) == 1;
}

static int add_set(dsec_cands *out, const dsec_anchors *set,
                   const X509_NAME *name, int roots, int partial)
{
    size_t pos = 0, idx;

    while (dsec_anchors_find_subject(set, name, &pos, &idx)) {
        X509 *cert = dsec_anchors_get0(set, idx);
        /* a root of trust_dirs is an anchor; a non-self-signed
           certificate there is only a candidate on the way to one */
        int anchor = roots && (partial || is_self_signed(cert));

        if (!dsec_cands_add(out, cert,
                            anchor ? DSEC_SRC_ANCHOR : DSEC_SRC_CROSS, anchor,
                            dsec_anchors_source(set, idx))) {
            return 0;
        }
    }
    return 1;
}

static int gather_candidates(void *arg, X509 *child, dsec_cands *out)
{
    build_arg *a = arg;
    const X509_NAME *name = X509_get_issuer_name(child);
    STACK_OF(X509) * sk;
    int i, ok = 1;

    if (!add_set(out, a->roots, name, 1, a->partial)) {
        return 0;
    }
    ERR_set_mark();
    sk = X509_STORE_CTX_get1_certs(a->ctx, name);
    ERR_pop_to_mark();
    for (i = 0; ok && i < sk_X509_num(sk); i++) {
        X509 *cert = sk_X509_value(sk, i);
        int anchor = a->partial || is_self_signed(cert);

        ok = dsec_cands_add(out, cert, DSEC_SRC_STORE, anchor, "");
    }
    sk_X509_pop_free(sk, X509_free);
    if (!ok || a->partial) {
        /* with partial chains every candidate handed over is an anchor */
        return ok;
    }
    sk = X509_STORE_CTX_get0_untrusted(a->ctx);
    for (i = 0; ok && i < sk_X509_num(sk); i++) {
        X509 *cert = sk_X509_value(sk, i);

        if (X509_NAME_cmp(X509_get_subject_name(cert), name) == 0) {
            ok = dsec_cands_add(out, cert, DSEC_SRC_PEER, 0, "");
        }
    }
    return ok && add_set(out, a->cross, name, 0, 0);
}

static dsec_path_status candidate_status(void *arg, X509 *cert, X509 *issuer,
                                         char *why, size_t len)
{
    build_arg *a = arg;
    dsec_report *scratch = dsec_report_new();
    dsec_path_status st = DSEC_PATH_UNKNOWN;
    X509_REVOKED *entry = NULL;
    dsec_rv rv;

    if (scratch == NULL) {
        snprintf(why, len, "out of memory");
        return st;
    }
    /* the fetch time budget is the verification's: carry it over */
    scratch->net_seconds = a->rep != NULL ? a->rep->net_seconds : 0.0;
    /* depth 1: only an index into the scratch report */
    rv = dsec_engine_obtain_crl(a->prov->eng, cert, issuer, 1, a->now, scratch);
    if (a->rep != NULL) {
        a->rep->net_seconds = scratch->net_seconds;
    }
    if (rv != DSEC_OK || sk_X509_CRL_num(scratch->crls) == 0) {
        snprintf(why, len, "%s: %.200s", dsec_rv_name(rv),
                 scratch->depth[1].detail);
    } else {
        X509_CRL *crl = sk_X509_CRL_value(scratch->crls,
                                          sk_X509_CRL_num(scratch->crls) - 1);

        if (X509_CRL_get0_by_cert(crl, &entry, cert) == 1) {
            st = DSEC_PATH_REVOKED;
            snprintf(why, len, "%.200s", scratch->depth[1].url);
        } else {
            st = DSEC_PATH_GOOD;
        }
    }
    dsec_report_free(scratch);
    return st;
}

static void path_log(void *arg, const char *line)
{
    build_arg *a = arg;

    dsec_report_add_path(a->rep, line);
    DSPROV_debug(2, "path: %s", line);
}

static path_state *path_state_of(X509_STORE_CTX *ctx)
{
    path_state *st = X509_STORE_CTX_get_ex_data(ctx, path_index);

    if (st == NULL && (st = OPENSSL_zalloc(sizeof(*st))) != NULL) {
        if (!X509_STORE_CTX_set_ex_data(ctx, path_index, st)) {
            OPENSSL_free(st);
            st = NULL;
        }
    }
    return st;
}

static dsec_report *report_get(X509_STORE_CTX *ctx)
{
    dsec_report *rep = report_of(ctx);

    if (rep == NULL && (rep = dsec_report_new()) != NULL) {
        if (!X509_STORE_CTX_set_ex_data(ctx, report_index, rep)) {
            dsec_report_free(rep);
            rep = NULL;
        }
    }
    return rep;
}

/* A self-signed certificate's only issuer is an identical trusted copy. */
static int identical_anchor(X509 **issuer, X509_STORE_CTX *ctx, X509 *x,
                            DSPROV_CTX *prov)
{
    dsec_anchors *roots = dsprov_get1_roots(prov);
    size_t pos = 0, idx;
    int found = 0;

    while (!found
           && dsec_anchors_find_subject(roots, X509_get_subject_name(x), &pos,
                                        &idx)) {
        X509 *cert = dsec_anchors_get0(roots, idx);

        if (X509_cmp(cert, x) == 0 && X509_up_ref(cert)) {
            *issuer = cert;
            found = 1;
        }
    }
    dsec_anchors_free(roots);
    return found ? 1 : X509_STORE_CTX_get1_issuer(issuer, ctx, x);
}

static int hand_over(X509 **issuer, path_state *st, X509 *x)
{
    int i, n = sk_X509_num(st->path);

    for (i = 0; i + 1 < n; i++) {
        X509 *cert = sk_X509_value(st->path, i);

        if (cert == x || X509_cmp(cert, x) == 0) {
            cert = sk_X509_value(st->path, i + 1);
            if (!X509_up_ref(cert)) {
                return -1;
            }
            *issuer = cert;
            return 1;
        }
    }
    return 0;
}

/*
 * OpenSSL asks for the trusted issuer of x (trusted-first), and keeps what
 * it gets in the trusted part of the chain. The builder computes the whole
 * path from x once, then this hands it over one hop per call. Only the top
 * of a path is an anchor: check_trust trusts self-signed certificates
 * only, so a cross-certificate handed over here is never trusted by itself
 * (with X509_V_FLAG_PARTIAL_CHAIN every certificate handed over would be:
 * then only trusted candidates are considered).
 */
static int dsprov_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x)
{
    DSPROV_CTX *prov = active;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    const dsec_config *cfg;
    dsec_path_params p;
    build_arg a;
    path_state *st;
    STACK_OF(X509) *path = NULL;
    dsec_path_result r;
    int rc, depth;

    *issuer = NULL;
    if (prov == NULL || prov->eng == NULL || dsec_fetch_active()
        || path_index < 0) {
        return X509_STORE_CTX_get1_issuer(issuer, ctx, x);
    }
    if ((st = path_state_of(ctx)) == NULL) {
        return -1;
    }
    if ((rc = hand_over(issuer, st, x)) != 0) {
        return rc;
    }
    if (is_self_signed(x)) {
        return identical_anchor(issuer, ctx, x, prov);
    }
    if (st->bound) {
        return 0;
    }
    if (sk_X509_find(st->dead, x) >= 0) {
        return X509_STORE_CTX_get1_issuer(issuer, ctx, x);
    }
    cfg = dsec_engine_config(prov->eng);
    memset(&a, 0, sizeof(a));
    a.ctx = ctx;
    a.prov = prov;
    a.rep = report_get(ctx);
    a.now = verification_time(ctx);
    a.partial =
        (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_PARTIAL_CHAIN) != 0;
    a.roots = dsprov_get1_roots(prov);
    a.cross = dsprov_get1_cross(prov);
    memset(&p, 0, sizeof(p));
    p.now = a.now;
    p.check_time =
        (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_NO_CHECK_TIME) == 0;
    p.max_depth = cfg->max_path_depth;
    depth = X509_VERIFY_PARAM_get_depth(vp);
    if (depth >= 0 && depth < p.max_depth) {
        p.max_depth = depth;
    }
    p.max_sigs = cfg->max_signature_checks;
    p.auth_level = X509_VERIFY_PARAM_get_auth_level(vp);
    p.sigs_used = &st->sigs;
    p.candidates = gather_candidates;
    if (cfg->revocation != DSEC_REVOCATION_OFF
        && cfg->check_depth == DSEC_DEPTH_CHAIN
        && (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_CRL_CHECK) != 0) {
        p.status = candidate_status;
    }
    p.log = path_log;
    p.arg = &a;
    r = dsec_path_build(&p, x, &path);
    dsec_anchors_free(a.roots);
    dsec_anchors_free(a.cross);
    if (a.rep != NULL) {
        char line[160];

        snprintf(line, sizeof(line), "result: %s (%d signature checks)",
                 dsec_path_result_name(r), st->sigs);
        dsec_report_add_path(a.rep, line);
    }
    switch (r) {
    case DSEC_PATH_FOUND:
    case DSEC_PATH_DOUBTFUL:
    case DSEC_PATH_REVOKED_ONLY:
    case DSEC_PATH_FALLBACK:
        sk_X509_pop_free(st->path, X509_free);
        st->path = path;
        return hand_over(issuer, st, x);
    case DSEC_PATH_BOUND_SIGS:
    case DSEC_PATH_BOUND_DEPTH: {
        char subject[256];

        st->bound = 1;
        subject_of(x, subject, sizeof(subject));
        if (r == DSEC_PATH_BOUND_SIGS) {
            dsec_log(DSEC_LOG_ERR,
                     "domainsec: fatal: path building stopped: "
                     "max_signature_checks (%d) reached; no path to a trust "
                     "anchor; subject=%s",
                     p.max_sigs, subject);
        } else {
            dsec_log(DSEC_LOG_ERR,
                     "domainsec: fatal: path building stopped: "
                     "max_path_depth (%d) reached; no path to a trust "
                     "anchor; subject=%s",
                     p.max_depth, subject);
        }
        return 0;
    }
    case DSEC_PATH_NONE:
        if (st->dead == NULL) {
            st->dead = sk_X509_new_null();
        }
        if (st->dead != NULL) {
            X509_add_cert(st->dead, x, X509_ADD_FLAG_UP_REF);
        }
        return X509_STORE_CTX_get1_issuer(issuer, ctx, x);
    case DSEC_PATH_ERROR:
    default:
        return -1;
    }
}

/* ---- check_crl: no second signature check of a CRL the cache verified ---- */

/*
 * 1 when crl came from this verification's report, was verified by the
 * cache with the key of the very issuer OpenSSL's check_crl would use, and
 * every other condition of that check visibly holds (no delta, no
 * issuingDistributionPoint, cRLSign allowed, names and AKID match, within
 * its validity at the verification time, no Suite B). Anything else goes
 * to the built-in check, which also reports the errors.
 */
static int crl_preverified(X509_STORE_CTX *ctx, const dsec_report *rep,
                           X509_CRL *crl)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    unsigned long flags = X509_VERIFY_PARAM_get_flags(vp);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int cnum = X509_STORE_CTX_get_error_depth(ctx);
    int chnum = sk_X509_num(chain) - 1;
    X509 *issuer = X509_STORE_CTX_get0_current_issuer(ctx);
    X509 *verifier;
    AUTHORITY_KEYID *akid;
    int i, ok;

    if ((i = sk_X509_CRL_find(rep->crls, crl)) < 0
        || (verifier = sk_X509_value(rep->crl_issuers, i)) == NULL) {
        return 0;
    }
    if (issuer == NULL) {
        if (cnum < 0 || chnum < 0) {
            return 0;
        }
        if (cnum < chnum) {
            issuer = sk_X509_value(chain, cnum + 1);
        } else {
            issuer = sk_X509_value(chain, chnum);
            if (X509_check_issued(issuer, issuer) != X509_V_OK) {
                return 0;
            }
        }
    }
    if ((flags
         & (X509_V_FLAG_SUITEB_128_LOS_ONLY | X509_V_FLAG_SUITEB_192_LOS
            | X509_V_FLAG_SUITEB_128_LOS))
            != 0
        || X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0
        || X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1)
               >= 0) {
        return 0;
    }
    if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0
        && (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
        return 0;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer))
        != 0) {
        return 0;
    }
    akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    ok = X509_check_akid(issuer, akid) == X509_V_OK;
    AUTHORITY_KEYID_free(akid);
    if (!ok) {
        return 0;
    }
    if ((flags & X509_V_FLAG_NO_CHECK_TIME) == 0
        || (flags & X509_V_FLAG_USE_CHECK_TIME) != 0) {
        time_t now = verification_time(ctx);

        if (dsec_time_cmp(X509_CRL_get0_lastUpdate(crl), now) >= 0
            || X509_CRL_get0_nextUpdate(crl) == NULL
            || dsec_time_cmp(X509_CRL_get0_nextUpdate(crl), now) <= 0) {
            return 0;
        }
    }
    /* the same subjectPublicKey bits: the same key (EVP_PKEY_eq would
       compare decoded keys, far slower) */
    {
        const ASN1_BIT_STRING *a = X509_get0_pubkey_bitstr(issuer);
        const ASN1_BIT_STRING *b = X509_get0_pubkey_bitstr(verifier);

        return a != NULL && b != NULL && a->length == b->length
               && memcmp(a->data, b->data, (size_t)a->length) == 0;
    }
}

static int dsprov_check_crl(X509_STORE_CTX *ctx, X509_CRL *crl)
{
    const dsec_report *rep = report_of(ctx);

    if (rep != NULL && crl != NULL && crl_preverified(ctx, rep, crl)) {
        return 1;
    }
    return builtin_check_crl(ctx, crl);
}
