/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The check_revocation hook (DESIGN.md section 1): the signature gate and
 * the validity dates first, then every link of the chain decided (link.c,
 * DESIGN.md section 7), each gathered before the first failure is
 * reported, and each failure classified, logged and reported through the
 * host's own verify callback (a transient one waived under soft-fail). In
 * fail-closed mode every verification is refused; verifications domainsec
 * leaves alone get OpenSSL's own check.
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
#include "debug.h"
#include "domainsec/engine.h"
#include "hook/internal.h"
#include "domainsec/fetch.h"
#include "domainsec/gate.h"
#include "domainsec/log.h"

/*
 * Revocation checks running on this thread: a host callback that verifies
 * another certificate from inside ours gets one more level, no deeper.
 */
static _Thread_local int nesting;
#define MAX_NESTING 2

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
    const char *why = dsprov_state_broken_reason();

    syslog(LOG_ERR,
           "domainsec: fatal: refusing verification: configuration error: %s",
           why);
    fprintf(stderr,
            "domainsec: fatal: refusing verification: configuration error: "
            "%s\n",
            why);
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

    gate_from =
        dsec_gate_chain(chain, top_trusted, &bad, dsprov_state_link_built,
                        dsprov_state_path_get0(r->ctx));
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
    dsprov_path_state *st = dsprov_state_path(r->ctx);
    int fallback_sigs = 0, n = sk_X509_num(chain), d, ok = 1;
    X509 **v = OPENSSL_malloc(sizeof(*v) * (size_t)n);
    dsprov_link_state **links = NULL;
    int *known = NULL;
    dsec_decision memo_dec;
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
    c.memo = dsec_engine_epoch(prov->eng, &c.epoch);
    /* every link is gathered before the first failure is reported: the
       host's callback may stop the verification there */
    if ((links = OPENSSL_zalloc(sizeof(*links) * (size_t)n)) == NULL
        || (known = OPENSSL_zalloc(sizeof(*known) * (size_t)n)) == NULL) {
        ok = 0;
        X509_STORE_CTX_set_error(r->ctx, X509_V_ERR_OUT_OF_MEM);
    }
    for (d = gate_from; ok && d <= last && d < n - 1; d++) {
        /* a link found good a moment ago from the same CRLs (linkmemo.c) */
        known[d] = dsprov_linkmemo_get(&c, d, &memo_dec);
        if (!known[d]) {
            links[d] = dsprov_link_gather(&c, d);
        }
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
        if (known[d]) {
            continue; /* good, reported as such by dsprov_linkmemo_get */
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
    OPENSSL_free(known);
    dsprov_link_chain_clear(&c);
    OPENSSL_free(v);
    return ok;
}

int dsprov_revocation_check(X509_STORE_CTX *ctx)
{
    DSPROV_CTX *prov = dsprov_state_active();
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    const dsec_config *cfg;
    run_state r;
    int n = sk_X509_num(chain);
    int top_trusted, gate_from, last, ret;
    time_t now;

    if (prov == NULL || prov->eng == NULL) {
        if (dsprov_state_is_broken()) {
            return check_broken(ctx);
        }
        return dsprov_state_builtin_check(ctx);
    }
    /* libcurl verifying an https CDP's server from inside a fetch */
    if (dsec_fetch_active()) {
        DSPROV_debug(2, "nested verification inside a CRL fetch: no CRL "
                        "check");
        return 1;
    }
    dsprov_verdict_watch(ctx);
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_CRL_CHECK) == 0
        || n <= 0) {
        return dsprov_state_builtin_check(ctx);
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
    r.rep = dsprov_state_report(ctx);
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
    now = dsprov_state_time(ctx);
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
