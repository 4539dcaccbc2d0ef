/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The path builder's side of the hook (DESIGN.md section 4): OpenSSL asks
 * for the issuer of a certificate (X509_STORE_set_get_issuer); the builder
 * computes the whole path once, over candidates from trust_dirs, the host's
 * store, the peer's certificates and cross_dirs, checking the revocation
 * of each complete path's CA certificates with the same per-link decision
 * as the verification itself, and the path is handed over hop by hop.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "hook_internal.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"

static int is_self_signed(X509 *cert)
{
    return X509_self_signed(cert, 0) == 1;
}

static int partial_chain(X509_STORE_CTX *ctx)
{
    return (X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx))
            & X509_V_FLAG_PARTIAL_CHAIN)
           != 0;
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

int dsprov_candidates_by_name(X509_STORE_CTX *ctx, DSPROV_CTX *prov,
                              const X509_NAME *name, dsec_cands *out)
{
    dsec_anchors *roots = dsprov_get1_roots(prov);
    dsec_anchors *cross = NULL;
    int partial = partial_chain(ctx);
    STACK_OF(X509) * sk;
    int i, ok;

    ok = add_set(out, roots, name, 1, partial);
    ERR_set_mark();
    sk = ok ? X509_STORE_CTX_get1_certs(ctx, (X509_NAME *)name) : NULL;
    ERR_pop_to_mark();
    for (i = 0; ok && i < sk_X509_num(sk); i++) {
        X509 *cert = sk_X509_value(sk, i);

        ok = dsec_cands_add(out, cert, DSEC_SRC_STORE,
                            partial || is_self_signed(cert), "");
    }
    sk_X509_pop_free(sk, X509_free);
    /* with partial chains every candidate handed over is an anchor */
    if (ok && !partial) {
        sk = X509_STORE_CTX_get0_untrusted(ctx);
        for (i = 0; ok && i < sk_X509_num(sk); i++) {
            X509 *cert = sk_X509_value(sk, i);

            if (X509_NAME_cmp(X509_get_subject_name(cert), name) == 0) {
                ok = dsec_cands_add(out, cert, DSEC_SRC_PEER, 0, "");
            }
        }
        cross = dsprov_get1_cross(prov);
        ok = ok && add_set(out, cross, name, 0, 0);
    }
    dsec_anchors_free(roots);
    dsec_anchors_free(cross);
    return ok;
}

/* The builder's candidates(): arg is a dsprov_pools (or begins with one). */
static int pool_candidates(void *arg, X509 *child, dsec_cands *out)
{
    const dsprov_pools *pools = arg;

    return dsprov_candidates_by_name(pools->ctx, pools->prov,
                                     X509_get_issuer_name(child), out);
}

/* What the builder's callbacks need for one verification. */
typedef struct {
    dsprov_pools pools; /* first: pool_candidates reads it */
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
    c.ctx = a->pools.ctx;
    c.prov = a->pools.prov;
    c.rep = scratch;
    c.now = a->now;
    c.chain = path;
    c.n = len;
    c.sigs = &a->st->sigs;
    c.max_sigs = c.prov->cfg->max_signature_checks;
    dsprov_link_decide_one(&c, i, &dec);
    dsprov_chain_clear(&c);
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

int dsprov_link_built(void *arg, X509 *cert, X509 *issuer)
{
    const dsprov_path_state *st = arg;
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

void dsprov_path_params(dsprov_pools *pools, dsec_path_params *p,
                        int *sigs_used)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(pools->ctx);
    const dsec_config *cfg = pools->prov->cfg;
    int depth;

    memset(p, 0, sizeof(*p));
    p->now = dsprov_verification_time(pools->ctx);
    p->check_time =
        (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_NO_CHECK_TIME) == 0;
    p->max_depth = cfg->max_path_depth;
    depth = X509_VERIFY_PARAM_get_depth(vp);
    if (depth >= 0 && depth < p->max_depth) {
        p->max_depth = depth;
    }
    p->max_sigs = cfg->max_signature_checks;
    p->auth_level = X509_VERIFY_PARAM_get_auth_level(vp);
    p->sigs_used = sigs_used;
    p->candidates = pool_candidates;
    p->arg = pools;
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
 * OpenSSL asks for the trusted issuer of x (trusted-first), and keeps what
 * it gets in the trusted part of the chain. The builder computes the whole
 * path from x once, then this hands it over one hop per call. Only the top
 * of a path is an anchor: check_trust trusts self-signed certificates
 * only, so a cross-certificate handed over here is never trusted by itself
 * (with X509_V_FLAG_PARTIAL_CHAIN every certificate handed over would be:
 * then only trusted candidates are considered).
 */
int dsprov_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x)
{
    DSPROV_CTX *prov = dsprov_hook_active();
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    const dsec_config *cfg;
    dsec_path_params p;
    build_arg a;
    dsprov_path_state *st;
    STACK_OF(X509) *path = NULL;
    dsec_path_result r;
    int rc;

    *issuer = NULL;
    if (prov == NULL || prov->eng == NULL || dsec_fetch_active()) {
        return X509_STORE_CTX_get1_issuer(issuer, ctx, x);
    }
    if ((st = dsprov_path_state_of(ctx)) == NULL) {
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
    cfg = prov->cfg;
    memset(&a, 0, sizeof(a));
    a.pools.ctx = ctx;
    a.pools.prov = prov;
    a.rep = dsprov_report_get(ctx);
    a.st = st;
    a.now = dsprov_verification_time(ctx);
    dsprov_path_params(&a.pools, &p, &st->sigs);
    if (cfg->revocation != DSEC_REVOCATION_OFF
        && cfg->check_depth == DSEC_DEPTH_CHAIN
        && (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_CRL_CHECK) != 0) {
        p.status = candidate_status;
    }
    p.log = path_log;
    p.arg = &a;
    r = dsec_path_build(&p, x, &path);
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
    case DSEC_PATH_BOUND_DEPTH:
        st->bound = 1;
        log_bound(r, &p, x);
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
