/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The get_issuer hook, the path builder's side (DESIGN.md section 4):
 * OpenSSL asks for the issuer of a certificate (X509_STORE_set_get_issuer);
 * the builder computes the whole path once, over the verification's
 * candidate sources (sources.c), checking the revocation of each complete
 * path's CA certificates with the same per-link decision as the
 * verification itself (link.c), and the path is handed over hop by hop.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "debug.h"
#include "hook/internal.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"

static int is_self_signed(X509 *cert)
{
    return X509_self_signed(cert, 0) == 1;
}

/* What the builder's callbacks need for one verification. */
typedef struct {
    X509_STORE_CTX *ctx;
    DSPROV_CTX *prov;
    dsec_report *rep;
    dsprov_path_state *st;
    time_t now;
} build_arg;

/* The revocation of path[i] issued by path[i + 1], decided as the
   verification decides it, on the path being built. */
static dsec_path_status candidate_status(void *arg, X509 *const *path, int len,
                                         int i, char *why, size_t wlen)
{
    build_arg *a = arg;
    dsec_report *scratch = dsec_report_new();
    dsprov_chain c;
    dsec_decision dec;

    if (scratch == NULL) {
        snprintf(why, wlen, "out of memory");
        return DSEC_PATH_UNKNOWN;
    }
    /* the fetch time budget is the verification's: carry it over */
    scratch->net_seconds = a->rep != NULL ? a->rep->net_seconds : 0.0;
    memset(&c, 0, sizeof(c));
    c.ctx = a->ctx;
    c.prov = a->prov;
    c.rep = scratch;
    c.now = a->now;
    c.chain = path;
    c.n = len;
    c.sigs = &a->st->sigs;
    c.max_sigs = c.prov->cfg->max_signature_checks;
    dsprov_link_decide_one(&c, i, &dec);
    dsprov_link_chain_clear(&c);
    if (a->rep != NULL) {
        a->rep->net_seconds = scratch->net_seconds;
    }
    dsec_report_free(scratch);
    snprintf(why, wlen, "%.200s", dec.why);
    switch (dec.status) {
    case DSEC_STATUS_GOOD:
        return DSEC_PATH_GOOD;
    case DSEC_STATUS_REVOKED:
        return DSEC_PATH_REVOKED;
    case DSEC_STATUS_UNKNOWN:
        break;
    }
    return DSEC_PATH_UNKNOWN;
}

static void path_log(void *arg, const char *line)
{
    build_arg *a = arg;

    dsec_report_add_path(a->rep, line);
    DSPROV_debug(2, "path: %s", line);
}

/* A self-signed certificate's only issuer is an identical trusted copy. */
static int identical_anchor(X509 **issuer, X509_STORE_CTX *ctx, X509 *x,
                            DSPROV_CTX *prov)
{
    dsec_anchors *roots = dsprov_ctx_get1_roots(prov);
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

static int hand_over(X509 **issuer, dsprov_path_state *st, X509 *x)
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

static void log_bound(dsec_path_result r, const dsec_path_params *p, X509 *x)
{
    char subject[256];

    dsec_path_describe(x, subject, sizeof(subject));
    dsec_log(DSEC_LOG_ERR,
             "domainsec: fatal: path building stopped: %s (%d) reached; no "
             "path to a trust anchor; subject=%s",
             r == DSEC_PATH_BOUND_SIGS ? "max_signature_checks"
                                       : "max_path_depth",
             r == DSEC_PATH_BOUND_SIGS ? p->max_sigs : p->max_depth, subject);
}

/*
 * The whole path from x, over the verification's sources, each complete
 * path's CA certificates checked for revocation when the chain is; the
 * builder's log and result go to the verification's report, a bound that
 * stopped it to the log.
 */
static dsec_path_result build(X509_STORE_CTX *ctx, DSPROV_CTX *prov,
                              dsprov_path_state *st, X509 *x,
                              STACK_OF(X509) * *path)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    const dsec_config *cfg = prov->cfg;
    dsprov_sources sources;
    dsec_path_params p;
    build_arg a;
    dsec_path_result r;

    memset(&a, 0, sizeof(a));
    a.ctx = ctx;
    a.prov = prov;
    a.rep = dsprov_state_report(ctx);
    a.st = st;
    a.now = dsprov_state_time(ctx);
    dsprov_sources_init(&sources, ctx, prov);
    dsprov_sources_params(&sources, ctx, prov, &p, &st->sigs);
    if (cfg->revocation != DSEC_REVOCATION_OFF
        && cfg->check_depth == DSEC_DEPTH_CHAIN
        && (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_CRL_CHECK) != 0) {
        p.status = candidate_status;
    }
    p.log = path_log;
    p.arg = &a;
    r = dsec_path_build(&p, x, path);
    dsprov_sources_clear(&sources);
    if (a.rep != NULL) {
        char line[160];

        snprintf(line, sizeof(line), "result: %s (%d signature checks)",
                 dsec_path_result_name(r), st->sigs);
        dsec_report_add_path(a.rep, line);
    }
    if (r == DSEC_PATH_BOUND_SIGS || r == DSEC_PATH_BOUND_DEPTH) {
        log_bound(r, &p, x);
    }
    return r;
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
int dsprov_issuer_get(X509 **issuer, X509_STORE_CTX *ctx, X509 *x)
{
    DSPROV_CTX *prov = dsprov_state_active();
    dsprov_path_state *st;
    STACK_OF(X509) *path = NULL;
    int rc;

    *issuer = NULL;
    if (prov == NULL || prov->eng == NULL || dsec_fetch_active()) {
        return X509_STORE_CTX_get1_issuer(issuer, ctx, x);
    }
    dsprov_verdict_watch(ctx);
    if ((st = dsprov_state_path(ctx)) == NULL) {
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
    switch (build(ctx, prov, st, x, &path)) {
    case DSEC_PATH_FOUND:
    case DSEC_PATH_DOUBTFUL:
    case DSEC_PATH_REVOKED_ONLY:
    case DSEC_PATH_FALLBACK:
        sk_X509_pop_free(st->path, X509_free);
        st->path = path;
        return hand_over(issuer, st, x);
    case DSEC_PATH_BOUND_SIGS:
    case DSEC_PATH_BOUND_DEPTH:
        st->bound = 1;
        return 0;
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
