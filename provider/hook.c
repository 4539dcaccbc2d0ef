/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The X509_STORE hook (DESIGN.md section 1). An ex_data "new" callback puts
 * domainsec on every X509_STORE the process creates: CRL flags, the issuer
 * search (hook_path.c) and the check_revocation hook. The revocation check
 * runs the signature gate, then decides every link of the chain itself
 * (hook_link.c, DESIGN.md section 7) and reports each failure, classified
 * and logged, through the host's own verify callback. OpenSSL's built-in
 * CRL machinery is not used for hooked stores, so no nested verification
 * of OpenSSL's can come back into this hook.
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
#include "hook_internal.h"
#include "domainsec/fetch.h"
#include "domainsec/gate.h"
#include "domainsec/log.h"

static CRYPTO_ONCE hook_once = CRYPTO_ONCE_STATIC_INIT;
static int hook_ready;
static int store_index = -1;
static int report_index = -1;
static int path_index = -1;
static X509_STORE_CTX_check_revocation_fn builtin_check_revocation;

/* The active provider instance; NULL before activation and after teardown. */
static DSPROV_CTX *volatile active;
static volatile int broken;
static char broken_reason[DSEC_ERR_MSG_LEN];

/*
 * Revocation checks running on this thread: a host callback that verifies
 * another certificate from inside ours gets one more level, no deeper.
 */
static _Thread_local int nesting;
#define MAX_NESTING 2

static int dsprov_check_revocation(X509_STORE_CTX *ctx);

DSPROV_CTX *dsprov_hook_active(void)
{
    return active;
}

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

static void path_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
                            int idx, long argl, void *argp)
{
    dsprov_path_state *st = ptr;

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
    cfg = prov->cfg;
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
    X509_STORE_set_flags(store,
                         X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_set_check_revocation(store, dsprov_check_revocation);
}

static void hook_setup(void)
{
    X509_STORE_CTX *scratch = X509_STORE_CTX_new();

    /* with a NULL store, the context carries OpenSSL's own functions */
    if (scratch != NULL && X509_STORE_CTX_init(scratch, NULL, NULL, NULL)) {
        builtin_check_revocation = X509_STORE_CTX_get_check_revocation(scratch);
    }
    X509_STORE_CTX_free(scratch);
    if (builtin_check_revocation == NULL) {
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

static dsec_report *report_of(const X509_STORE_CTX *ctx)
{
    return report_index < 0 ? NULL
                            : X509_STORE_CTX_get_ex_data(ctx, report_index);
}

dsec_report *dsprov_report_get(X509_STORE_CTX *ctx)
{
    dsec_report *rep = report_of(ctx);

    if (rep == NULL && report_index >= 0 && (rep = dsec_report_new()) != NULL) {
        if (!X509_STORE_CTX_set_ex_data(ctx, report_index, rep)) {
            dsec_report_free(rep);
            rep = NULL;
        }
    }
    return rep;
}

dsprov_path_state *dsprov_path_state_of(X509_STORE_CTX *ctx)
{
    dsprov_path_state *st;

    if (path_index < 0) {
        return NULL;
    }
    st = X509_STORE_CTX_get_ex_data(ctx, path_index);
    if (st == NULL && (st = OPENSSL_zalloc(sizeof(*st))) != NULL) {
        if (!X509_STORE_CTX_set_ex_data(ctx, path_index, st)) {
            OPENSSL_free(st);
            st = NULL;
        }
    }
    return st;
}

time_t dsprov_verification_time(X509_STORE_CTX *ctx)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);

    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_USE_CHECK_TIME) != 0) {
        return X509_VERIFY_PARAM_get_time(vp);
    }
    return time(NULL);
}

static void subject_of(X509 *cert, char *buf, size_t len)
{
    dsec_path_describe(cert, buf, len);
}

/* Classify, record and log one verification error. */
static dsec_class note_error(X509_STORE_CTX *ctx, dsec_report *rep, int err,
                             int depth)
{
    const char *url = "";
    char subject[256];
    char reason[DSEC_ERR_MSG_LEN];
    dsec_class cls;

    subject_of(X509_STORE_CTX_get_current_cert(ctx), subject, sizeof(subject));
    cls = dsec_report_note(rep, err, depth, subject, reason, sizeof(reason),
                           &url);
    dsec_log(cls == DSEC_CLASS_TRANSIENT ? DSEC_LOG_WARNING : DSEC_LOG_ERR,
             "domainsec: %s: error %d at depth %d: %s; url=%s; subject=%s",
             dsec_classify_name(cls), err, depth, reason,
             *url != '\0' ? url : "-", subject);
    return cls;
}

/* One run of the revocation check: what reporting an error needs. */
typedef struct {
    X509_STORE_CTX *ctx;
    dsec_report *rep;
    X509_STORE_CTX_verify_cb host_cb; /* the host's own callback */
    int saved_err; /* the error before this check (restored on a waiver) */
    dsec_revocation_mode mode;
} run_state;

/*
 * Report an error found by the check through the host's callback, after
 * classifying and logging it; a transient one is waived under revocation
 * = soft-fail. Returns the callback's verdict (0: stop).
 */
static int report_error(const run_state *r, X509 *cert, int depth, int err)
{
    dsec_class cls;

    X509_STORE_CTX_set_error_depth(r->ctx, depth);
    X509_STORE_CTX_set_current_cert(r->ctx, cert);
    X509_STORE_CTX_set_error(r->ctx, err);
    cls = note_error(r->ctx, r->rep, err, depth);
    if (dsec_classify_waived(cls, r->mode)) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: soft-fail: accepting depth %d although its "
                 "revocation status is unknown",
                 depth);
        X509_STORE_CTX_set_error(r->ctx, r->saved_err);
        return 1;
    }
    return r->host_cb != NULL ? r->host_cb(0, r->ctx) : 0;
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

/* Record why depth d was not checked at all (fatal: rv INVALID). */
static void not_checked(dsec_report *rep, int d, const char *why)
{
    if (rep != NULL && d < DSEC_REPORT_MAX_DEPTH && !rep->depth[d].checked) {
        rep->depth[d].checked = 1;
        rep->depth[d].rv = DSEC_ERR_INVALID;
        rep->depth[d].status = DSEC_STATUS_UNKNOWN;
        snprintf(rep->depth[d].detail, sizeof(rep->depth[d].detail), "%s", why);
    }
}

/*
 * The signature gate, then the validity dates: OpenSSL verifies both after
 * revocation, but an expired certificate must fail as expired (fatal),
 * not as a CRL that could not be obtained. Returns the lowest depth whose
 * CDPs may be fetched, or -1 when the callback stopped the verification.
 */
static int gate_and_dates(const run_state *r, STACK_OF(X509) * chain,
                          int top_trusted, time_t now)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(r->ctx);
    int n = sk_X509_num(chain), bad = -1, gate_from, d;

    gate_from = dsec_gate_chain(
        chain, top_trusted, &bad, dsprov_link_built,
        path_index >= 0 ? X509_STORE_CTX_get_ex_data(r->ctx, path_index)
                        : NULL);
    if (bad >= 0) {
        not_checked(r->rep, bad,
                    "signature does not verify with the issuer's key; no CDP "
                    "fetched");
        if (!report_error(r, sk_X509_value(chain, bad), bad,
                          X509_V_ERR_CERT_SIGNATURE_FAILURE)) {
            return -1;
        }
    }
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_NO_CHECK_TIME) != 0) {
        return gate_from;
    }
    for (d = 0; d < n; d++) {
        X509 *cert = sk_X509_value(chain, d);
        int err = X509_V_OK;

        if (dsec_time_cmp(X509_get0_notBefore(cert), now) >= 0) {
            err = X509_V_ERR_CERT_NOT_YET_VALID;
        } else if (dsec_time_cmp(X509_get0_notAfter(cert), now) <= 0) {
            err = X509_V_ERR_CERT_HAS_EXPIRED;
        }
        if (err != X509_V_OK && !report_error(r, cert, d, err)) {
            return -1;
        }
    }
    return gate_from;
}

/* Decide every checked link of the chain and report what fails. */
static int check_links(const run_state *r, DSPROV_CTX *prov,
                       STACK_OF(X509) * chain, int gate_from, int last,
                       time_t now)
{
    dsprov_path_state *st = dsprov_path_state_of(r->ctx);
    int fallback_sigs = 0, n = sk_X509_num(chain), d, ok = 1;
    X509 **v = OPENSSL_malloc(sizeof(*v) * (size_t)n);
    dsprov_link_state **links = NULL;
    dsprov_chain c;

    if (v == NULL) {
        X509_STORE_CTX_set_error(r->ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    for (d = 0; d < n; d++) {
        v[d] = sk_X509_value(chain, d);
    }
    memset(&c, 0, sizeof(c));
    c.ctx = r->ctx;
    c.prov = prov;
    c.rep = r->rep;
    c.now = now;
    c.chain = v;
    c.n = n;
    c.sigs = st != NULL ? &st->sigs : &fallback_sigs;
    c.max_sigs = prov->cfg->max_signature_checks;
    /* every link is gathered before the first failure is reported: the
       host's callback may stop the verification there */
    if ((links = OPENSSL_zalloc(sizeof(*links) * (size_t)n)) == NULL) {
        ok = 0;
        X509_STORE_CTX_set_error(r->ctx, X509_V_ERR_OUT_OF_MEM);
    }
    for (d = gate_from; ok && d <= last && d < n - 1; d++) {
        links[d] = dsprov_link_gather(&c, d);
    }
    for (d = 0; ok && d <= last && d < n - 1; d++) {
        dsec_decision dec;
        int anchor_revoked = 0;

        if (d < gate_from) {
            not_checked(r->rep, d,
                        "not fetched: no verified path to a trust anchor");
            ok = report_error(r, v[d], d, X509_V_ERR_UNABLE_TO_GET_CRL);
            continue;
        }
        if (links[d] == NULL) {
            X509_STORE_CTX_set_error(r->ctx, X509_V_ERR_OUT_OF_MEM);
            ok = 0;
            break;
        }
        dsprov_link_decide(links[d], &dec, &anchor_revoked);
        if (dec.status != DSEC_STATUS_GOOD) {
            ok = report_error(r, v[d], d, dec.x509_err);
        }
        if (ok && anchor_revoked) {
            ok = report_error(r, v[n - 1], n - 1, X509_V_ERR_CERT_REVOKED);
        }
    }
    for (d = 0; links != NULL && d < n; d++) {
        dsprov_link_free(links[d]);
    }
    OPENSSL_free(links);
    dsprov_chain_clear(&c);
    OPENSSL_free(v);
    return ok;
}

static int dsprov_check_revocation(X509_STORE_CTX *ctx)
{
    DSPROV_CTX *prov = active;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    const dsec_config *cfg;
    run_state r;
    int n = sk_X509_num(chain);
    int top_trusted, gate_from, last, ret;
    time_t now;

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
    cfg = prov->cfg;
    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    /*
     * The path builder's report, if any, holds only its log and the fetch
     * time spent (a context verifies once): it becomes this report.
     */
    r.rep = dsprov_report_get(ctx);
    if (r.rep == NULL) {
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_OUT_OF_MEM);
        return -1;
    }
    r.rep->nchain = n;
    r.host_cb = X509_STORE_CTX_get_verify_cb(ctx);
    r.saved_err = X509_STORE_CTX_get_error(ctx);
    r.mode = cfg->revocation;
    /* an earlier error the host chose to ignore still decides the class */
    if (r.saved_err != X509_V_OK) {
        dsec_report_record(r.rep, r.saved_err,
                           X509_STORE_CTX_get_error_depth(ctx), DSEC_OK, NULL);
    }
    if (nesting >= MAX_NESTING) {
        not_checked(r.rep, 0,
                    "verification nested in another one's callback too "
                    "deeply; revocation not checked");
        return report_error(&r, sk_X509_value(chain, 0), 0,
                            X509_V_ERR_UNABLE_TO_GET_CRL);
    }
    now = dsprov_verification_time(ctx);
    last = cfg->check_depth == DSEC_DEPTH_LEAF ? 0 : n - 2;
    nesting++;
    /*
     * The signature gate: a CDP is the attacker's until its certificate is
     * verified up to a trusted anchor, and OpenSSL checks revocation before
     * it verifies signatures.
     */
    gate_from = gate_and_dates(&r, chain, top_trusted, now);
    ret = gate_from >= 0 && check_links(&r, prov, chain, gate_from, last, now);
    nesting--;
    return ret;
}
