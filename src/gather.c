/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One URL of a certificate's CRL Distribution Points, for the engine's
 * gathering (engine.c says which URL, when): its CRL from the cache, from
 * the network (single flight through dsec_cache_fetch_once, at most
 * DSEC_MAX_FETCHES_PER_CERT fetches per certificate, within the
 * verification's fetch time), or past nextUpdate within stale_grace; every
 * attempt and the outcome for the certificate's depth recorded in the
 * report. A CRL is used or cached only once the decision module accepted
 * it for that very certificate (issuer, scope, signer, time) and the
 * cache's rollback guard found it no older than one accepted before.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/crl.h"
#include "domainsec/decide.h"
#include "domainsec/engine.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/url.h"
#include "internal.h"

#define DSEC_XSTR(x) #x
#define DSEC_STR(x) DSEC_XSTR(x)

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec)
           + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

void dsec_gather_depth(dsec_gather *g, dsec_rv rv, const char *url,
                       const char *detail)
{
    dsec_depth_status *st;

    if (g->rep == NULL || g->depth < 0 || g->depth >= DSEC_REPORT_MAX_DEPTH) {
        return;
    }
    st = &g->rep->depth[g->depth];
    st->rv = rv;
    st->checked = 1;
    /* the URL goes to the log line of the verification: credentials out */
    dsec_url_mask(url != NULL ? url : "", st->url, sizeof(st->url));
    snprintf(st->detail, sizeof(st->detail), "%s", detail);
}

void dsec_gather_skip(dsec_gather *g, const char *url, dsec_rv rv,
                      const char *why)
{
    dsec_attempt *att = dsec_report_add_attempt(g->rep, g->depth, url);

    if (att != NULL) {
        att->rv = rv;
        snprintf(att->detail, sizeof(att->detail), "%s", why);
    }
}

/*
 * Check crl of url for w with link (dsec_decide's rules); key_id (may be
 * NULL): the key that verified it already. The one place a CRL is accepted
 * (cache or network): then also against rollback (dsec_cache_guard).
 */
static dsec_rv check_crl(dsec_gather *g, const dsec_link *link,
                         dsec_gather_want *w, const char *url, X509_CRL *crl,
                         const unsigned char *key_id, DSEC_ERR *err)
{
    dsec_crl_in in;
    dsec_rv rv;

    memset(&in, 0, sizeof(in));
    in.crl = crl;
    in.dp = w->base != NULL ? w->base->dp : w->dp;
    in.key_known = key_id != NULL;
    if (key_id != NULL) {
        memcpy(in.key_id, key_id, sizeof(in.key_id));
    }
    in.src = (char *)url;
    w->reasons = 0;
    w->signer = NULL;
    if (w->base != NULL) {
        rv = dsec_decide_check_delta(link, w->base, w->base_signer, &in, err);
        if (rv == DSEC_OK) {
            w->signer = w->base_signer;
        }
    } else {
        rv = dsec_decide_check(link, &in, &w->reasons, &w->signer, err);
    }
    w->key_known = rv == DSEC_OK && dsec_decide_key_id(w->signer, w->key_id);
    if (rv == DSEC_OK && !w->key_known) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "cannot identify the CRL signer's key");
    }
    if (rv == DSEC_OK) {
        rv = dsec_cache_check_rollback(g->cache, w->key_id, crl, err);
        w->key_known = rv == DSEC_OK;
    }
    return rv;
}

/* Add an accepted CRL of url to what g gathered. */
static dsec_rv take(dsec_gather *g, const char *url, X509_CRL *crl,
                    const dsec_gather_want *w)
{
    if (!dsec_crl_set_add(g->out, crl, w->base != NULL ? w->base->dp : w->dp,
                          w->key_known ? w->key_id : NULL, url)) {
        return DSEC_ERR_NOMEM;
    }
    return DSEC_OK;
}

/*
 * What the cache holds for url (hit), checked with link (fresh for the
 * first passes, with stale_grace for the last): DSEC_OK when a CRL it holds
 * was accepted and taken; when with_fail, a remembered failure of the URL;
 * DSEC_ERR_NOT_FOUND when a fetch may help (nothing, something past its
 * time, or a CRL that does not fit this certificate: the CA may have
 * published another). A remembered failure only delays a fetch: a CRL
 * that fits always comes first, and the grace pass ignores failures.
 */
static dsec_rv use_cached(dsec_gather *g, const dsec_link *link,
                          const char *url, dsec_gather_want *w,
                          const dsec_cache_hit *hit, int with_fail)
{
    dsec_attempt *att;
    DSEC_ERR err = { 0 };
    dsec_rv rv = DSEC_ERR_NOT_FOUND;

    if (hit->crl != NULL
        && check_crl(g, link, w, url, hit->crl,
                     hit->key_known ? hit->key_id : NULL, &err)
               == DSEC_OK) {
        if ((!hit->key_known || hit->source == 2) && w->key_known) {
            /* a disk copy (a CRL, or an index's skeleton) is checked now:
               keep it in memory with its key */
            dsec_cache_store(g->cache, url, hit->crl, w->key_id, 0);
        }
        rv = take(g, url, hit->crl, w);
    }
    if (rv == DSEC_ERR_NOT_FOUND && with_fail && hit->fail_rv != DSEC_OK) {
        rv = hit->fail_rv;
        err = hit->fail;
    }
    if (rv == DSEC_ERR_NOT_FOUND) {
        return rv;
    }
    att = dsec_report_add_attempt(g->rep, g->depth, url);
    if (att != NULL) {
        att->from_cache = hit->source != 0 ? hit->source : 1;
        att->rv = rv;
        if (rv == DSEC_OK && X509_CRL_up_ref(hit->crl)) {
            att->crl = hit->crl;
        }
        if (rv == DSEC_OK) {
            snprintf(att->detail, sizeof(att->detail), "%s",
                     w->base != NULL ? "cached delta CRL"
                                     : "cached complete CRL of the issuer");
        } else {
            snprintf(att->detail, sizeof(att->detail),
                     "failed recently, not retried yet: %.200s", err.msg);
        }
    }
    dsec_gather_depth(g, rv, url, rv == DSEC_OK ? "cached CRL" : err.msg);
    return rv;
}

/* url from the cache, checked with link (see use_cached). */
static dsec_rv from_cache(dsec_gather *g, const dsec_link *link,
                          const char *url, dsec_gather_want *w, int with_fail)
{
    dsec_cache_hit hit;
    dsec_rv rv;

    /* nothing (DSEC_ERR_NOT_FOUND) leaves an empty hit */
    (void)dsec_cache_lookup(g->cache, url, link->now, &hit);
    rv = use_cached(g, link, url, w, &hit, with_fail);
    dsec_cache_hit_clear(&hit);
    return rv;
}

/* The first pass: nothing past nextUpdate. */
dsec_rv dsec_gather_from_cache(dsec_gather *g, const char *url,
                               dsec_gather_want *w)
{
    return from_cache(g, &g->fresh, url, w, 1);
}

/* Whose signature a CRL w wants from the network may bear. */
typedef struct {
    const dsec_link *link;
    const dsec_gather_want *w;
} want_signers;

/* A dsec_crl_signers_fn: a delta's signer is its base's; else the link's. */
static int signers_of(void *arg, const X509_NAME *issuer, STACK_OF(X509) * out)
{
    const want_signers *ws = arg;
    X509 *only = ws->link->issuer;

    if (ws->w->base != NULL) {
        only = ws->w->base_signer;
    } else if (ws->link->cands != NULL) {
        return ws->link->cands(ws->link->arg, issuer, out);
    }
    return only == NULL || X509_add_cert(out, only, X509_ADD_FLAG_UP_REF);
}

/* Whether the signers of a CRL w wants are known before it is decoded. */
static int signers_known(const dsec_link *link, const dsec_gather_want *w)
{
    return w->base != NULL || link->cands != NULL
           || link->signer == dsec_decide_direct_signer;
}

/* v's validators on pol (conditional GET), none when empty. */
static void ask_if_changed(dsec_fetch_policy *pol,
                           const dsec_gather_validators *v)
{
    pol->if_none_match = v->etag[0] != '\0' ? v->etag : NULL;
    pol->if_modified_since =
        v->last_modified[0] != '\0' ? v->last_modified : NULL;
}

/* What the origin said of what it served (res) into v. */
static void keep_validators(dsec_gather_validators *v,
                            const dsec_fetch_result *res)
{
    v->not_modified = res->not_modified;
    if (!res->not_modified) {
        snprintf(v->etag, sizeof(v->etag), "%s", res->etag);
        snprintf(v->last_modified, sizeof(v->last_modified), "%s",
                 res->last_modified);
    }
}

/*
 * One fetch with at most timeout seconds, conditional on v's validators
 * (v->not_modified and no CRL on a 304: nothing downloaded): fetched, its
 * signature checked with ws's candidates before it is decoded (key_id: the
 * SHA-256 of the key that verified it, key_known 1) when they are known,
 * parsed; the rest unchecked. v receives the origin's validators.
 */
static dsec_rv fetch_one_within(const dsec_config *engcfg, const char *url,
                                long timeout, want_signers *ws,
                                dsec_gather_validators *v, X509_CRL **out,
                                unsigned char key_id[32], int *key_known,
                                dsec_attempt *att, DSEC_ERR *err)
{
    dsec_fetch_policy pol;
    dsec_fetch_result res;
    X509_CRL *crl = NULL;
    X509 *by = NULL;
    struct timespec t0;
    dsec_rv rv;

    dsec_fetch_policy_from_config(engcfg, &pol);
    if (timeout > 0 && timeout < pol.fetch_timeout) {
        pol.fetch_timeout = timeout;
    }
    ask_if_changed(&pol, v);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rv = dsec_fetch_url(&pol, url, &res, err);
    att->bytes = res.len;
    att->status = res.status;
    snprintf(att->route, sizeof(att->route), "%s", res.route);
    if (rv == DSEC_OK) {
        keep_validators(v, &res);
    }
    if (rv == DSEC_OK && res.not_modified) {
        rv = dsec_err_set(err, DSEC_ERR_NOT_FOUND, 304,
                          "not modified since the cached CRL");
    } else if (rv == DSEC_OK) {
        rv = dsec_crl_parse_signed(res.data, res.len,
                                   signers_known(ws->link, ws->w) ? signers_of
                                                                  : NULL,
                                   ws, &crl, &by, err);
    }
    dsec_fetch_result_clear(&res);
    att->seconds = elapsed(&t0);
    *key_known = rv == DSEC_OK && by != NULL && dsec_decide_key_id(by, key_id);
    X509_free(by);
    if (rv != DSEC_OK) {
        X509_CRL_free(crl);
        return rv;
    }
    *out = crl;
    return DSEC_OK;
}

dsec_rv dsec_gather_accept(const dsec_config *cfg, dsec_cache *cache,
                           const dsec_link *link, const char *url,
                           dsec_gather_want *w, X509_CRL *crl,
                           const unsigned char *key_id, DSEC_ERR *err)
{
    dsec_gather g;

    memset(&g, 0, sizeof(g));
    g.cfg = cfg;
    g.cache = cache;
    g.link = link;
    g.depth = -1;
    return check_crl(&g, link, w, url, crl, key_id, err);
}

dsec_rv dsec_gather_refetch(const dsec_config *cfg, dsec_cache *cache,
                            const dsec_link *link, const char *url,
                            dsec_gather_want *w, dsec_gather_validators *v,
                            X509_CRL **out, DSEC_ERR *err)
{
    want_signers ws = { link, w };
    unsigned char key_id[32];
    dsec_attempt att;
    dsec_gather g;
    X509_CRL *crl = NULL;
    int key_known = 0;
    dsec_rv rv;

    memset(&att, 0, sizeof(att));
    memset(&g, 0, sizeof(g));
    g.cfg = cfg;
    g.cache = cache;
    g.link = link;
    g.depth = -1;
    rv = fetch_one_within(cfg, url, 0, &ws, v, &crl, key_id, &key_known, &att,
                          err);
    if (rv == DSEC_OK) {
        rv = check_crl(&g, link, w, url, crl, key_known ? key_id : NULL, err);
    }
    if (rv != DSEC_OK) {
        X509_CRL_free(crl);
        return rv;
    }
    *out = crl;
    return DSEC_OK;
}

/* The verification's fetch time is spent: url is not fetched. */
static dsec_rv budget_spent(dsec_gather *g, const char *url)
{
    dsec_gather_skip(
        g, url, DSEC_ERR_TIMEOUT,
        "not fetched: this verification spent its fetch time "
        "(" DSEC_STR(DSEC_FETCH_BUDGET_FACTOR) " x fetch_timeout)");
    dsec_gather_depth(g, DSEC_ERR_TIMEOUT, url,
                      "fetch time of the verification spent");
    g->stop = 1;
    return DSEC_ERR_TIMEOUT;
}

/* Seconds of network time left to this verification. */
static double budget_left(const dsec_gather *g)
{
    return (double)(DSEC_FETCH_BUDGET_FACTOR * g->cfg->fetch_timeout)
           - (g->rep != NULL ? g->rep->net_seconds : 0.0);
}

/* One network step: what dsec_cache_fetch_once hands back to after_wait. */
typedef struct {
    dsec_gather *g;
    const char *url;
    dsec_gather_want *w;
    struct timespec t0; /* when the wait for url's fetch began */
} net_step;

/*
 * Fetch url within the fetch time left and check the CRL for this
 * certificate: accepted, it is taken and handed to the cache (disk copy
 * included); any failure is remembered fail_cache seconds.
 */
static dsec_rv fetch_and_check(net_step *s, dsec_cache_fetched *keep)
{
    dsec_gather *g = s->g;
    dsec_attempt scratch, *att;
    want_signers ws = { &g->fresh, s->w };
    unsigned char key_id[32];
    X509_CRL *crl = NULL;
    DSEC_ERR err = { 0 };
    int key_known = 0;
    dsec_rv rv;

    g->fetches++;
    att = dsec_report_add_attempt(g->rep, g->depth, s->url);
    if (att == NULL) {
        memset(&scratch, 0, sizeof(scratch));
        att = &scratch;
    }
    /* unconditional (nothing usable is cached), validators kept for the
       URL's record (engine.c) and later refreshes */
    memset(&g->got, 0, sizeof(g->got));
    rv = fetch_one_within(g->cfg, s->url, (long)(budget_left(g) + 0.999), &ws,
                          &g->got, &crl, key_id, &key_known, att, &err);
    if (g->rep != NULL) {
        g->rep->net_seconds += att->seconds;
    }
    if (rv == DSEC_OK) {
        /* the decision's checks all run; the key that verified it before
           decoding need not verify it again */
        rv = check_crl(g, &g->fresh, s->w, s->url, crl,
                       key_known ? key_id : NULL, &err);
    }
    if (rv == DSEC_OK) {
        if (s->w->key_known && X509_CRL_up_ref(crl)) {
            keep->crl = crl;
            memcpy(keep->key_id, s->w->key_id, sizeof(keep->key_id));
            keep->to_disk = 1;
        }
        rv = take(g, s->url, crl, s->w);
        if (rv == DSEC_OK && att != &scratch) {
            att->crl = crl;
            crl = NULL;
        }
    } else if (g->cfg->fail_cache > 0) {
        /* never cached: a CRL that does not fit is a failure of the URL */
        keep->fail = err;
        keep->fail_until = time(NULL) + g->cfg->fail_cache;
    }
    X509_CRL_free(crl);
    att->rv = rv;
    if (rv == DSEC_OK) {
        snprintf(att->detail, sizeof(att->detail), "%s",
                 s->w->base != NULL ? "delta CRL"
                                    : "complete CRL of the issuer");
    } else {
        snprintf(att->detail, sizeof(att->detail), "%s", err.msg);
    }
    dsec_gather_depth(g, rv, s->url, att->detail);
    return rv;
}

/*
 * Once the wait for url's fetch is over (a dsec_cache_fetch_fn): the CRL
 * another thread or process fetched meanwhile, else, when the fetch is
 * ours and fetch time is left, the network.
 */
static dsec_rv after_wait(void *arg, const dsec_cache_hit *cached, int mine,
                          dsec_cache_fetched *keep)
{
    net_step *s = arg;
    dsec_gather *g = s->g;
    dsec_rv rv;

    if (g->rep != NULL) {
        g->rep->net_seconds += elapsed(&s->t0);
    }
    rv = use_cached(g, &g->fresh, s->url, s->w, cached, 1);
    if (rv != DSEC_ERR_NOT_FOUND) {
        return rv;
    }
    if (!mine) {
        /* a concurrent fetch that left nothing behind counts as failed */
        dsec_gather_depth(g, DSEC_ERR_BACKOFF, s->url,
                          "a concurrent fetch of the CDP produced no CRL");
        return DSEC_ERR_BACKOFF;
    }
    if (budget_left(g) < 0.5) {
        /* spent waiting for the other fetcher */
        return budget_spent(g, s->url);
    }
    return fetch_and_check(s, keep);
}

/* url from the network, single flight across threads and processes. */
dsec_rv dsec_gather_from_network(dsec_gather *g, const char *url,
                                 dsec_gather_want *w)
{
    const dsec_config *cfg = g->cfg;
    net_step s;
    double budget;

    if (g->fetches >= DSEC_MAX_FETCHES_PER_CERT) {
        dsec_gather_skip(
            g, url, DSEC_ERR_BACKOFF,
            "not fetched: " DSEC_STR(
                DSEC_MAX_FETCHES_PER_CERT) " URLs of this certificate "
                                           "already failed");
        g->stop = 1;
        return DSEC_ERR_BACKOFF;
    }
    /* the verification's fetch time, waiting for another fetcher
       included, is bounded: checked before taking the fetch lock */
    budget = budget_left(g);
    if (budget < 0.5) {
        return budget_spent(g, url);
    }
    s.g = g;
    s.url = url;
    s.w = w;
    clock_gettime(CLOCK_MONOTONIC, &s.t0);
    return dsec_cache_fetch_once(
        g->cache, url, g->fresh.now,
        (long)(budget < (double)cfg->fetch_timeout + 1.0
                   ? budget * 1000.0
                   : (double)cfg->fetch_timeout * 1000.0 + 1000.0),
        after_wait, &s);
}

/* A CRL past nextUpdate, within stale_grace, when nothing fresh came. */
dsec_rv dsec_gather_from_grace(dsec_gather *g, const char *url,
                               dsec_gather_want *w)
{
    dsec_rv rv = from_cache(g, g->link, url, w, 0);
    char masked[256];

    if (rv == DSEC_OK) {
        dsec_url_mask(url, masked, sizeof(masked));
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: using a CRL past its nextUpdate (stale_grace) "
                 "for %s",
                 masked);
        dsec_gather_depth(g, DSEC_OK, url, "stale CRL within stale_grace");
    }
    return rv;
}
