/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation decision for one link of a chain: RFC 5280 section 6.3.3
 * over the CRLs gathered for one certificate (the rules are listed in
 * decide.h). This file tries the complete CRLs, newest first, against each
 * distribution point until every reason is covered or one lists the
 * certificate; what one CRL must pass is decide_check.c's and
 * decide_scope.c's, what a delta must pass decide_delta.c's. Nothing here
 * fetches, caches or builds paths: who may sign a CRL comes from the
 * link's signer callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/decide.h"
#include "internal.h"

const char *dsec_decide_status_name(dsec_status st)
{
    static const char *const names[] = {
        [DSEC_STATUS_GOOD] = "good",
        [DSEC_STATUS_REVOKED] = "revoked",
    };

    if ((unsigned int)st >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }
    return names[st];
}

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
    case DSEC_ERR_PARSE: /* a CRL whose index cannot answer */
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
    /* the index of a CRL read from one, else OpenSSL's lookup */
    return dsec_crlindex_lookup(crl, cert, reason);
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

/* One decision in progress. */
struct run {
    const dsec_link *link;
    const dsec_crl_set *set;
    dsec_decision *out;
    unsigned int mask; /* the reasons covered by the CRLs used */
    int best_rank; /* rank_of the failure reported so far */
    int used; /* a CRL was used */
};

/* Note a failed CRL if it got further than the one noted so far. */
static void note_failure(struct run *r, const dsec_crl_in *c, const DSEC_ERR *e)
{
    dsec_decision *out = r->out;
    int rank = rank_of(e->rv);

    if (rank > r->best_rank) {
        r->best_rank = rank;
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
static int apply_crl(struct run *r, const dsec_crl_in *c, X509 *signer,
                     unsigned int interim, int stale)
{
    const dsec_link *link = r->link;
    dsec_decision *out = r->out;
    DSEC_ERR e = { 0 };
    const dsec_crl_in *delta;
    int reason = 0, listed = 0;

    delta = dsec_decide_best_delta(link, r->set, c, signer, &e);
    if (delta == NULL && dsec_decide_needs_delta(link, c->crl)) {
        DSEC_ERR need = { 0 };

        dsec_err_set(&need, DSEC_ERR_NO_DELTA, 0,
                     "a delta CRL is required (freshestCRL) and none was "
                     "obtained%s%s",
                     e.rv != DSEC_OK ? ": " : "", e.rv != DSEC_OK ? e.msg : "");
        note_failure(r, c, &need);
        return 0;
    }
    if (delta != NULL) {
        listed = lookup(delta->crl, link->cert, &reason);
        /* a delta past nextUpdate only got here within grace */
        stale |=
            !dsec_crl_fresh_at(dsec_crl_next_update(delta->crl), link->now);
    }
    if (listed == 0) {
        listed = lookup(c->crl, link->cert, &reason);
        if (listed == 1) {
            delta = NULL; /* the complete CRL lists it */
        }
    }
    if (listed < 0) {
        /* its index could not answer: the CRL does not count */
        dsec_err_set(&e, DSEC_ERR_PARSE, 0,
                     "the CRL's index in cache_dir is closed or damaged");
        note_failure(r, c, &e);
        return 0;
    }
    r->mask |= interim;
    out->stale |= stale;
    out->decided_by = listed == 1 && delta != NULL ? delta : c;
    out->delta = delta;
    out->signer = signer;
    if (listed == 1) {
        out->status = DSEC_STATUS_REVOKED;
        out->reason = reason;
    }
    return 1;
}

/* 1 while more CRLs may change the answer: reasons left, not revoked. */
static int still_open(const struct run *r)
{
    return r->mask != DSEC_REASONS_ALL && r->out->status != DSEC_STATUS_REVOKED;
}

/*
 * The complete CRLs (order, n of them) against DP d of ndp (dp), or
 * against the implicit DP for host CRLs (d == ndp, dp NULL).
 */
static void try_dp(struct run *r, const ordered *order, size_t n,
                   const DIST_POINT *dp, int d, int ndp)
{
    size_t k;

    for (k = 0; k < n && still_open(r); k++) {
        const dsec_crl_in *c = order[k].c;
        unsigned int interim = 0;
        X509 *signer = NULL;
        DSEC_ERR e = { 0 };
        int stale = 0;

        if (d < ndp ? c->dp != d && c->dp != -1 : c->dp != -1) {
            continue;
        }
        if (dsec_decide_check_dp(r->link, c, dp, &interim, &stale, &signer, &e)
            != DSEC_OK) {
            note_failure(r, c, &e);
            continue;
        }
        if ((interim & ~r->mask) == 0) {
            continue;
        }
        r->used |= apply_crl(r, c, signer, interim, stale);
    }
}

/* The unknown a decision starts from: no CRL. */
static void start(dsec_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->status = DSEC_STATUS_UNKNOWN;
    out->rv = DSEC_ERR_NO_CRL;
    out->x509_err = X509_V_ERR_UNABLE_TO_GET_CRL;
    out->reason = -1;
    snprintf(out->why, sizeof(out->why), "no CRL was obtained");
}

/* The complete CRLs of set into order, newest first; how many. */
static size_t order_complete(const dsec_crl_set *set, ordered *order)
{
    size_t i, n = 0;

    for (i = 0; i < set->n; i++) {
        const dsec_crl_in *c = &set->v[i];

        if (dsec_decide_is_delta(c->crl)) {
            continue;
        }
        order[n].c = c;
        order[n].this_update = X509_CRL_get0_lastUpdate(c->crl);
        order[n].number = dsec_decide_crl_number(c->crl, NID_crl_number);
        order[n].index = i;
        n++;
    }
    qsort(order, n, sizeof(*order), newer_first);
    return n;
}

/* The answer once every CRL was tried: revoked, good, or still unknown. */
static void conclude(struct run *r)
{
    dsec_decision *out = r->out;

    if (out->status == DSEC_STATUS_REVOKED) {
        out->rv = DSEC_OK;
        out->x509_err = X509_V_ERR_CERT_REVOKED;
        snprintf(out->why, sizeof(out->why), "listed on %s (reason %d)",
                 out->decided_by->src, out->reason);
    } else if (r->mask == DSEC_REASONS_ALL) {
        out->status = DSEC_STATUS_GOOD;
        out->rv = DSEC_OK;
        out->x509_err = X509_V_OK;
        snprintf(out->why, sizeof(out->why), "not listed on %s%s%s",
                 out->decided_by->src, out->delta != NULL ? " nor on " : "",
                 out->delta != NULL ? out->delta->src : "");
    } else if (r->used) {
        char covered[160];

        describe_reasons(r->mask, covered, sizeof(covered));
        out->status = DSEC_STATUS_UNKNOWN;
        out->rv = DSEC_ERR_CRL_REASONS;
        out->x509_err = X509_V_ERR_UNABLE_TO_GET_CRL;
        out->signer = NULL;
        snprintf(out->why, sizeof(out->why),
                 "the CRLs obtained cover only some revocation reasons (%s)",
                 covered);
    }
    out->reasons = r->mask;
}

void dsec_decide(const dsec_link *link, const dsec_crl_set *set,
                 dsec_decision *out)
{
    struct run r = { link, set, out, 0, 0, 0 };
    STACK_OF(DIST_POINT) *dps = NULL;
    ordered *order = NULL;
    size_t i, ncomplete = 0;
    int d, ndp, owned = 0;

    start(out);
    if (link == NULL || link->cert == NULL || set == NULL || set->n == 0) {
        return;
    }
    if ((order = calloc(set->n, sizeof(*order))) == NULL) {
        out->rv = DSEC_ERR_NOMEM;
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    ncomplete = order_complete(set, order);
    if (ncomplete == 0) {
        DSEC_ERR e = { 0 };

        dsec_err_set(&e, DSEC_ERR_CRL_DELTA, 0,
                     "only a delta CRL was obtained, never a substitute for "
                     "a complete one");
        note_failure(&r, &set->v[0], &e);
        goto done;
    }
    dps = dsec_decide_link_dps(link, &owned);
    ndp = dps != NULL ? sk_DIST_POINT_num(dps) : 0;
    /* each DP in turn, then the implicit DP (index ndp) for host CRLs */
    for (d = 0; d <= ndp && still_open(&r); d++) {
        try_dp(&r, order, ncomplete,
               d < ndp ? sk_DIST_POINT_value(dps, d) : NULL, d, ndp);
    }
    conclude(&r);
done:
    for (i = 0; i < ncomplete; i++) {
        ASN1_INTEGER_free(order[i].number);
    }
    free(order);
    if (owned) {
        sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    }
}
