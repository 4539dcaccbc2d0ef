/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation decision for one link of a chain, as the hook gathers it
 * (DESIGN.md section 7): the CRLs the host supplied for that certificate
 * (its X509_STORE, or X509_STORE_CTX_set0_crls as `openssl verify
 * -CRLfile` does) and those of its own CDPs, who may sign them, then
 * dsec_decide. A CRL counts only once verified with the key of a signer
 * validated for this link: a certificate of the chain above it, or (RFC
 * 5280 6.3.3 f: separate CRL keys, key rollover, indirect CRLs) a CRL
 * issuer whose own path the path builder validates to the same trust
 * anchor, its own revocation checked one level deep and no deeper, within
 * the verification's signature budget.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "hook/internal.h"
#include "domainsec/crlindex.h"
#include "domainsec/log.h"

/* ---- who may sign a CRL of this link ---- */

#define MEMO_MAX 8

typedef struct {
    dsprov_chain *c;
    int d;
    /* signers resolved for this link's CRLs (the engine's check and the
       decision ask for the same CRL objects) */
    struct {
        const X509_CRL *crl;
        X509 *signer;
        DSEC_ERR err;
    } memo[MEMO_MAX];
    int nmemo;
} link_ctx;

/*
 * Why no signer was found, the most telling reason kept: a certificate of
 * the CRL's issuer name and key identifier whose key does not verify it
 * (4), a CRL issuer whose own status is not good (3), one without a valid
 * path to the anchor (2), a name, key identifier or keyUsage mismatch (1).
 */
typedef struct {
    DSEC_ERR err;
    int rank;
} failure;

static void keep(failure *best, const DSEC_ERR *e, int rank)
{
    if (rank > best->rank) {
        best->err = *e;
        best->rank = rank;
    }
}

static void keep_mismatch(failure *best, const DSEC_ERR *e)
{
    keep(best, e, e->rv == DSEC_ERR_CRL_SIG ? 4 : 1);
}

static int in_chain(const dsprov_chain *c, X509 *x, int from)
{
    int j;

    for (j = from; j < c->n; j++) {
        if (c->chain[j] == x || X509_cmp(c->chain[j], x) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A signer among chain[from..n-1]; NULL if none (best updated). */
static X509 *signer_in(const dsprov_chain *c, int from, const dsec_crl_in *in,
                       failure *best)
{
    int j;

    for (j = from; j < c->n; j++) {
        DSEC_ERR e = { 0 };

        if (dsec_decide_signed_by(c->chain[j], in, &e)) {
            return c->chain[j];
        }
        keep_mismatch(best, &e);
    }
    return NULL;
}

static void describe(X509 *x, char *buf, size_t len)
{
    dsec_path_describe(x, buf, len);
}

/*
 * The revocation of a CRL issuer's path, one level deep: every link not
 * already in the outer chain above d must be good. 1 when it is.
 */
static int issuer_path_good(dsprov_chain *c, int d, STACK_OF(X509) * path,
                            DSEC_ERR *err)
{
    X509 *v[64];
    dsprov_chain nested;
    int k, n = sk_X509_num(path), ok = 1;

    if (n > (int)(sizeof(v) / sizeof(v[0]))) {
        dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0, "CRL issuer path too long");
        return 0;
    }
    for (k = 0; k < n; k++) {
        v[k] = sk_X509_value(path, k);
    }
    memset(&nested, 0, sizeof(nested));
    nested.ctx = c->ctx;
    nested.prov = c->prov;
    nested.rep = c->rep;
    nested.now = c->now;
    nested.chain = v;
    nested.n = n;
    nested.level = 1;
    nested.outer = c;
    nested.outer_d = d;
    nested.sigs = c->sigs;
    nested.max_sigs = c->max_sigs;
    for (k = 0; ok && k < n - 1; k++) {
        dsec_decision dec;
        char subject[256];

        if (in_chain(c, v[k], d + 1)) {
            continue; /* the outer chain decides it */
        }
        dsprov_link_decide_one(&nested, k, &dec);
        if (dec.status != DSEC_STATUS_GOOD) {
            describe(v[k], subject, sizeof(subject));
            dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0,
                         "CRL issuer %.100s %s: %.100s", subject,
                         dec.status == DSEC_STATUS_REVOKED
                             ? "is revoked"
                             : "has an unknown revocation status",
                         dec.why);
            ok = 0;
        }
    }
    dsprov_link_chain_clear(&nested);
    return ok;
}

/*
 * RFC 5280 6.3.3 (f) beyond the chain: a certificate named as the CRL's
 * issuer, from the verification's candidate sources, that signed it and
 * whose own path the builder validates to the chain's anchor.
 */
static X509 *signer_by_path(dsprov_chain *c, int d, const dsec_crl_in *in,
                            failure *best)
{
    X509 *anchor = c->chain[c->n - 1], *found = NULL;
    dsec_cands cands = { 0 };
    dsprov_sources sources;
    size_t i;

    dsprov_sources_init(&sources, c->ctx, c->prov);
    if (!dsec_cands_gather(&sources.src, X509_CRL_get_issuer(in->crl),
                           &cands)) {
        DSEC_ERR e = { 0 };

        dsec_err_set(&e, DSEC_ERR_NOMEM, 0, "out of memory");
        keep(best, &e, 5);
        dsec_cands_clear(&cands);
        dsprov_sources_clear(&sources);
        return NULL;
    }
    for (i = 0; found == NULL && i < cands.n; i++) {
        X509 *cand = cands.v[i].cert;
        STACK_OF(X509) *path = NULL;
        dsec_path_params p;
        dsec_path_result r;
        DSEC_ERR e = { 0 };

        if (in_chain(c, cand, 0)) {
            continue; /* tried as a certificate of the chain */
        }
        if (*c->sigs >= c->max_sigs) {
            dsec_err_set(&e, DSEC_ERR_CRL_SIGNER, 0,
                         "max_signature_checks reached while validating the "
                         "CRL's issuer");
            keep(best, &e, 2);
            break;
        }
        (*c->sigs)++;
        if (!dsec_decide_signed_by(cand, in, &e)) {
            keep_mismatch(best, &e);
            continue;
        }
        dsprov_sources_params(&sources, c->ctx, c->prov, &p, c->sigs);
        r = dsec_path_build(&p, cand, &path);
        if (r != DSEC_PATH_FOUND || sk_X509_num(path) < 2
            || X509_cmp(sk_X509_value(path, sk_X509_num(path) - 1), anchor)
                   != 0) {
            dsec_err_set(&e, DSEC_ERR_CRL_SIGNER, 0,
                         "the CRL's issuer has no valid path to the chain's "
                         "trust anchor (%s)",
                         dsec_path_result_name(r));
            keep(best, &e, 2);
        } else if (!issuer_path_good(c, d, path, &e)) {
            keep(best, &e, 3);
        } else if (c->keep != NULL
                   && X509_add_cert(c->keep, cand, X509_ADD_FLAG_UP_REF)) {
            found = cand;
        }
        sk_X509_pop_free(path, X509_free);
    }
    dsec_cands_clear(&cands);
    dsprov_sources_clear(&sources);
    return found;
}

/*
 * The certificates resolve_signer may accept for a CRL of issuer (a
 * dsec_crl_signers_fn, for the signature check before decoding): the
 * chain, the outer chain, and at level 0 the sources signer_by_path uses.
 */
static int link_cands(void *arg, const X509_NAME *issuer, STACK_OF(X509) * out)
{
    const link_ctx *l = arg;
    const dsprov_chain *c;
    dsec_cands cands = { 0 };
    dsprov_sources sources;
    size_t i;
    int j, ok = 1;

    for (c = l->c; c != NULL; c = c->level > 0 ? c->outer : NULL) {
        for (j = 0; ok && j < c->n; j++) {
            ok = X509_add_cert(out, c->chain[j], X509_ADD_FLAG_UP_REF);
        }
    }
    if (ok && l->c->level == 0) {
        dsprov_sources_init(&sources, l->c->ctx, l->c->prov);
        ok = dsec_cands_gather(&sources.src, issuer, &cands);
        for (i = 0; ok && i < cands.n; i++) {
            ok = X509_add_cert(out, cands.v[i].cert, X509_ADD_FLAG_UP_REF);
        }
        dsec_cands_clear(&cands);
        dsprov_sources_clear(&sources);
    }
    return ok;
}

static dsec_rv resolve_signer(void *arg, const dsec_crl_in *in, X509 **signer,
                              DSEC_ERR *err)
{
    link_ctx *l = arg;
    dsprov_chain *c = l->c;
    failure best;
    X509 *found;
    int i;

    for (i = 0; i < l->nmemo; i++) {
        if (l->memo[i].crl == in->crl) {
            if (l->memo[i].signer == NULL) {
                *err = l->memo[i].err;
                return err->rv;
            }
            *signer = l->memo[i].signer;
            return DSEC_OK;
        }
    }
    memset(&best, 0, sizeof(best));
    /* the chain above the link (at level 1 the CRL issuer itself may sign
       its own CRL), then the chain the CRL issuer serves */
    found = signer_in(c, c->level == 0 ? l->d + 1 : l->d, in, &best);
    if (found == NULL && c->level > 0) {
        found = signer_in(c->outer, c->outer_d + 1, in, &best);
    }
    if (found == NULL && c->level == 0) {
        found = signer_by_path(c, l->d, in, &best);
    }
    if (found == NULL && best.rank == 0) {
        dsec_err_set(&best.err, DSEC_ERR_CRL_SIGNER, 0,
                     "no certificate of the CRL's issuer is validated to the "
                     "trust anchor");
    }
    if (l->nmemo < MEMO_MAX) {
        l->memo[l->nmemo].crl = in->crl;
        l->memo[l->nmemo].signer = found;
        l->memo[l->nmemo].err = best.err;
        l->nmemo++;
    }
    if (found == NULL) {
        *err = best.err;
        return best.err.rv;
    }
    *signer = found;
    return DSEC_OK;
}

void dsprov_link_chain_clear(dsprov_chain *c)
{
    if (c != NULL) {
        sk_X509_pop_free(c->keep, X509_free);
        c->keep = NULL;
    }
}

/* Move the attempts of a nested link's scratch report into rep at depth. */
static void merge_attempts(dsec_report *rep, dsec_report *scratch, int depth)
{
    size_t i;

    rep->net_seconds = scratch->net_seconds;
    for (i = 0; i < scratch->nattempts; i++) {
        dsec_attempt *from = &scratch->attempts[i];
        dsec_attempt *to = dsec_report_add_attempt(rep, depth, from->url);

        if (to != NULL) {
            char *url = to->url;

            *to = *from;
            to->url = url;
            to->depth = depth;
            from->crl = NULL;
        }
    }
}

static int anchor_listed(X509_CRL *crl, X509 *anchor)
{
    /* through the index of a CRL read from one; an index that cannot
       answer (-2) counts as listed: fail closed */
    int r = crl != NULL ? dsec_crlindex_lookup(crl, anchor, NULL) : 0;

    return r == 1 || r == -2;
}

/* One link between gathering and deciding. */
struct dsprov_link_state {
    link_ctx l; /* the signer resolver and its memo */
    dsec_link link;
    dsec_crl_set set;
    dsec_report *rec; /* c->rep, or a scratch report for a nested chain */
    int rdepth; /* the depth recorded in rec */
    dsec_rv obtained; /* what the engine said */
};

dsprov_link_state *dsprov_link_gather(dsprov_chain *c, int d)
{
    const dsec_config *cfg = c->prov->cfg;
    dsprov_link_state *ls = OPENSSL_zalloc(sizeof(*ls));

    if (ls == NULL) {
        return NULL;
    }
    if (c->keep == NULL) {
        c->keep = sk_X509_new_null();
    }
    ls->l.c = c;
    ls->l.d = d;
    ls->link.cert = c->chain[d];
    ls->link.issuer = c->chain[d + 1];
    ls->link.now = c->now;
    ls->link.grace = cfg->stale_grace;
    ls->link.delta = cfg->delta_crl;
    ls->link.signer = resolve_signer;
    ls->link.cands = link_cands;
    ls->link.arg = &ls->l;
    ls->link.dps = dsec_decide_dps(ls->link.cert);
    ls->rec = c->rep;
    ls->rdepth = d;
    /* a nested chain records into a scratch report, merged when freed */
    if (c->level > 0 || ls->rec == NULL) {
        if ((ls->rec = dsec_report_new()) != NULL) {
            ls->rec->net_seconds = c->rep != NULL ? c->rep->net_seconds : 0.0;
        }
        ls->rdepth = 0;
    }
    dsprov_host_crls_add(c->ctx, ls->link.cert, ls->link.dps, &ls->set);
    ls->obtained = dsec_engine_obtain(c->prov->eng, &ls->link, ls->rdepth,
                                      &ls->set, ls->rec);
    return ls;
}

/* Whether the good decision out of ls may be remembered (linkmemo.c):
   from CRLs of no host, signed by the link's issuer, which the
   certificate's DPs name alone (no cRLIssuer). */
static int memo_worthy(const dsprov_link_state *ls, const dsec_decision *out)
{
    const X509_NAME *names[2];
    size_t i;

    if (out->status != DSEC_STATUS_GOOD || out->rv != DSEC_OK
        || out->decided_by == NULL || out->signer != ls->link.issuer
        || dsec_decide_crl_issuers(ls->link.cert, ls->link.dps, names, 2)
               != 1) {
        return 0;
    }
    for (i = 0; i < ls->set.n; i++) {
        if (ls->set.v[i].dp < 0) {
            return 0; /* the host's */
        }
    }
    return 1;
}

void dsprov_link_decide(dsprov_link_state *ls, dsec_decision *out,
                        int *anchor_revoked)
{
    dsprov_chain *c = ls->l.c;
    X509 *anchor = c->chain[c->n - 1];
    int d = ls->l.d;

    if (anchor_revoked != NULL) {
        *anchor_revoked = 0;
    }
    dsec_decide(&ls->link, &ls->set, out);
    if (out->status == DSEC_STATUS_UNKNOWN && ls->set.n == 0
        && ls->obtained != DSEC_OK) {
        /* nothing gathered: the engine's reason is the one to give */
        out->rv = ls->obtained;
        out->x509_err = X509_V_ERR_UNABLE_TO_GET_CRL;
        if (ls->rec != NULL && ls->rec->depth[ls->rdepth].checked) {
            snprintf(out->why, sizeof(out->why), "%s",
                     ls->rec->depth[ls->rdepth].detail);
        }
    }
    if (anchor_revoked != NULL && d == c->n - 2
        && out->status == DSEC_STATUS_GOOD && out->signer == anchor
        && X509_self_signed(anchor, 0) == 1 && out->decided_by != NULL) {
        *anchor_revoked =
            anchor_listed(out->decided_by->crl, anchor)
            || (out->delta != NULL && anchor_listed(out->delta->crl, anchor));
    }
    if (anchor_revoked != NULL && !*anchor_revoked && memo_worthy(ls, out)) {
        dsprov_linkmemo_put(c, d, out->decided_by->crl,
                            out->delta != NULL ? out->delta->crl : NULL, out,
                            out->decided_by->src);
    }
    if (c->level == 0 && c->rep != NULL && d < DSEC_REPORT_MAX_DEPTH) {
        dsec_depth_status *st = &c->rep->depth[d];

        st->checked = 1;
        st->status = (int)out->status;
        if (ls->set.n > 0 || out->status != DSEC_STATUS_UNKNOWN) {
            st->rv = out->rv;
            snprintf(st->detail, sizeof(st->detail), "%s", out->why);
            if (out->decided_by != NULL) {
                snprintf(st->url, sizeof(st->url), "%s", out->decided_by->src);
            }
        }
    }
    /* they point into the set */
    out->decided_by = NULL;
    out->delta = NULL;
    out->signer = NULL;
}

void dsprov_link_free(dsprov_link_state *ls)
{
    dsprov_chain *c;

    if (ls == NULL) {
        return;
    }
    c = ls->l.c;
    if (ls->rec != NULL && ls->rec != c->rep) {
        if (c->rep != NULL) {
            merge_attempts(c->rep, ls->rec,
                           c->level > 0 ? c->outer_d : ls->rdepth);
        }
        dsec_report_free(ls->rec);
    }
    dsec_crl_set_clear(&ls->set);
    sk_DIST_POINT_pop_free(ls->link.dps, DIST_POINT_free);
    OPENSSL_free(ls);
}

void dsprov_link_decide_one(dsprov_chain *c, int d, dsec_decision *out)
{
    dsprov_link_state *ls = dsprov_link_gather(c, d);

    if (ls == NULL) {
        dsec_decide(NULL, NULL, out); /* unknown, nothing gathered */
        out->rv = DSEC_ERR_NOMEM;
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    dsprov_link_decide(ls, out, NULL);
    dsprov_link_free(ls);
}
