/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation engine: configuration and cache, and gathering the CRLs
 * of one certificate from its CRL Distribution Points (cache first, then
 * the network, single flight, within the verification's fetch time), with
 * every attempt recorded for the report. A CRL is used or cached only once
 * the decision module accepted it for that very certificate (issuer, scope,
 * signer, time); the decision on its contents is dsec_decide's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/cdp.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/engine.h"

#define CACHE_MAX_ENTRIES 4096

struct dsec_engine {
    const dsec_config *cfg; /* borrowed */
    dsec_cache *cache;
};

dsec_engine *dsec_engine_new(const dsec_config *cfg, int cache_fd,
                             DSEC_ERR *err)
{
    dsec_engine *eng = NULL;

    if (cfg == NULL) {
        dsec_err_set(err, DSEC_ERR_INVALID, 0, "no configuration");
        return NULL;
    }
    eng = calloc(1, sizeof(*eng));
    if (eng == NULL
        || (eng->cache = dsec_cache_new(CACHE_MAX_ENTRIES)) == NULL) {
        free(eng);
        dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    eng->cfg = cfg;
    if (cache_fd >= 0) {
        dsec_cache_set_dir(eng->cache, cache_fd);
    }
    return eng;
}

void dsec_engine_free(dsec_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    dsec_cache_free(eng->cache);
    free(eng);
}

const dsec_config *dsec_engine_config(const dsec_engine *eng)
{
    return eng != NULL ? eng->cfg : NULL;
}

dsec_cache *dsec_engine_cache(dsec_engine *eng)
{
    return eng != NULL ? eng->cache : NULL;
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec)
           + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void set_depth(dsec_report *rep, int depth, dsec_rv rv, const char *url,
                      const char *detail)
{
    dsec_depth_status *st;

    if (rep == NULL || depth < 0 || depth >= DSEC_REPORT_MAX_DEPTH) {
        return;
    }
    st = &rep->depth[depth];
    st->rv = rv;
    st->checked = 1;
    snprintf(st->url, sizeof(st->url), "%s", url != NULL ? url : "");
    snprintf(st->detail, sizeof(st->detail), "%s", detail);
}

#define DSEC_XSTR(x) #x
#define DSEC_STR(x) DSEC_XSTR(x)

/* Record a URL that was not fetched, and why. */
static void not_fetched(dsec_report *rep, int depth, const char *url,
                        dsec_rv rv, const char *why)
{
    dsec_attempt *att = dsec_report_add_attempt(rep, depth, url);

    if (att != NULL) {
        att->rv = rv;
        snprintf(att->detail, sizeof(att->detail), "%s", why);
    }
}

/* What one gathering is after, and what it gathered so far. */
typedef struct {
    dsec_engine *eng;
    const dsec_link *link; /* as the caller gave it (stale_grace included) */
    dsec_link fresh; /* the same, without grace: nothing past nextUpdate */
    int depth;
    dsec_crl_set *out;
    dsec_report *rep;
    int fetches; /* network fetches made for this certificate */
    int stop; /* the verification's fetch time is spent */
    dsec_rv last; /* the error of the last attempt */
    const char *last_url;
} gathering;

/*
 * What is wanted from a URL: a complete CRL for DP dp (base NULL), or a
 * delta CRL of base (signed by base_signer). On success reasons and signer
 * are set.
 */
typedef struct {
    int dp;
    const dsec_crl_in *base;
    X509 *base_signer;
    unsigned int reasons;
    X509 *signer;
} wanted;

static dsec_rv check_crl(const dsec_link *link, wanted *w,
                         const dsec_crl_in *in, DSEC_ERR *err)
{
    w->reasons = 0;
    w->signer = NULL;
    if (w->base != NULL) {
        dsec_rv rv =
            dsec_decide_check_delta(link, w->base, w->base_signer, in, err);

        if (rv == DSEC_OK) {
            w->signer = w->base_signer;
        }
        return rv;
    }
    return dsec_decide_check(link, in, &w->reasons, &w->signer, err);
}

/* Add an accepted CRL of url to the gathering (and the cache if asked). */
static dsec_rv take(gathering *g, const char *url, X509_CRL *crl, wanted *w,
                    int cache, int to_disk)
{
    unsigned char id[32];
    int have_id = dsec_decide_key_id(w->signer, id);

    if (cache && have_id) {
        dsec_cache_store(g->eng->cache, url, crl, id, to_disk);
    }
    if (!dsec_crl_set_add(g->out, crl, w->base != NULL ? w->base->dp : w->dp,
                          have_id ? id : NULL, url)) {
        return DSEC_ERR_NOMEM;
    }
    return DSEC_OK;
}

/*
 * What the cache holds for url, checked with link (fresh for the first
 * passes, with stale_grace for the last): DSEC_OK when a CRL it holds was
 * accepted and taken; a remembered failure of the URL; DSEC_ERR_NOT_FOUND
 * when a fetch may help (nothing, something past its time, or a CRL that
 * does not fit this certificate: the CA may have published another).
 */
static dsec_rv from_cache(gathering *g, const dsec_link *link, const char *url,
                          wanted *w)
{
    dsec_cache_hit hit;
    dsec_attempt *att;
    DSEC_ERR err = { 0 };
    dsec_crl_in in;
    dsec_rv rv;

    if (dsec_cache_lookup(g->eng->cache, url, link->now, &hit) != DSEC_OK) {
        return DSEC_ERR_NOT_FOUND;
    }
    rv = DSEC_ERR_NOT_FOUND;
    if (hit.crl != NULL) {
        memset(&in, 0, sizeof(in));
        in.crl = hit.crl;
        in.dp = w->base != NULL ? w->base->dp : w->dp;
        in.key_known = hit.key_known;
        memcpy(in.key_id, hit.key_id, sizeof(in.key_id));
        in.src = (char *)url;
        if (check_crl(link, w, &in, &err) == DSEC_OK) {
            /* a disk copy is checked now: keep it in memory with its key */
            rv = take(g, url, hit.crl, w, !hit.key_known, 0);
        }
    }
    if (rv == DSEC_ERR_NOT_FOUND && hit.fail_rv != DSEC_OK) {
        rv = hit.fail_rv;
        err = hit.fail;
    }
    if (rv != DSEC_ERR_NOT_FOUND
        && (att = dsec_report_add_attempt(g->rep, g->depth, url)) != NULL) {
        att->from_cache = hit.source != 0 ? hit.source : 1;
        att->rv = rv;
        if (rv == DSEC_OK && X509_CRL_up_ref(hit.crl)) {
            att->crl = hit.crl;
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
    if (rv != DSEC_ERR_NOT_FOUND) {
        set_depth(g->rep, g->depth, rv, url,
                  rv == DSEC_OK ? "cached CRL" : err.msg);
    }
    dsec_cache_hit_clear(&hit);
    return rv;
}

/* One fetch with at most timeout seconds: fetched and parsed, unchecked. */
static dsec_rv fetch_one_within(dsec_engine *eng, const char *url, long timeout,
                                X509_CRL **out, dsec_attempt *att,
                                DSEC_ERR *err)
{
    dsec_config cfg = *eng->cfg; /* shallow: only fetch_timeout differs */
    dsec_fetch_result res;
    X509_CRL *crl = NULL;
    struct timespec t0;
    dsec_rv rv;

    if (timeout > 0 && timeout < cfg.fetch_timeout) {
        cfg.fetch_timeout = timeout;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rv = dsec_fetch_url(&cfg, url, &res, err);
    att->bytes = res.len;
    att->status = res.status;
    snprintf(att->route, sizeof(att->route), "%s", res.route);
    if (rv == DSEC_OK) {
        rv = dsec_crl_parse(res.data, res.len, &crl, err);
    }
    dsec_fetch_result_clear(&res);
    att->seconds = elapsed(&t0);
    if (rv != DSEC_OK) {
        X509_CRL_free(crl);
        return rv;
    }
    *out = crl;
    return DSEC_OK;
}

/* The verification's fetch time is spent: url is not fetched. */
static dsec_rv budget_spent(gathering *g, const char *url)
{
    not_fetched(g->rep, g->depth, url, DSEC_ERR_TIMEOUT,
                "not fetched: this verification spent its fetch time "
                "(" DSEC_STR(DSEC_FETCH_BUDGET_FACTOR) " x fetch_timeout)");
    set_depth(g->rep, g->depth, DSEC_ERR_TIMEOUT, url,
              "fetch time of the verification spent");
    g->stop = 1;
    return DSEC_ERR_TIMEOUT;
}

static double budget_left(const gathering *g)
{
    const dsec_config *cfg = g->eng->cfg;

    return (double)(DSEC_FETCH_BUDGET_FACTOR * cfg->fetch_timeout)
           - (g->rep != NULL ? g->rep->net_seconds : 0.0);
}

/*
 * url from the network, single flight across threads and processes: the
 * CRL is checked for this certificate before it is used or cached; any
 * failure is remembered fail_cache seconds.
 */
static dsec_rv from_network(gathering *g, const char *url, wanted *w)
{
    const dsec_config *cfg = g->eng->cfg;
    dsec_attempt scratch, *att;
    X509_CRL *crl = NULL;
    DSEC_ERR err = { 0 };
    struct timespec t0;
    double budget;
    dsec_crl_in in;
    dsec_rv rv;
    int mine;

    if (g->fetches >= DSEC_MAX_FETCHES_PER_CERT) {
        not_fetched(g->rep, g->depth, url, DSEC_ERR_BACKOFF,
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
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mine = dsec_cache_begin_fetch(
        g->eng->cache, url,
        (long)(budget < (double)cfg->fetch_timeout + 1.0
                   ? budget * 1000.0
                   : (double)cfg->fetch_timeout * 1000.0 + 1000.0));
    if (g->rep != NULL) {
        g->rep->net_seconds += elapsed(&t0);
    }
    budget = budget_left(g);
    /* another thread or process may have fetched it meanwhile */
    rv = from_cache(g, &g->fresh, url, w);
    if (rv != DSEC_ERR_NOT_FOUND || !mine) {
        if (mine) {
            dsec_cache_end_fetch(g->eng->cache, url);
        }
        if (rv == DSEC_ERR_NOT_FOUND) {
            /* a concurrent fetch that left nothing behind counts as failed */
            set_depth(g->rep, g->depth, DSEC_ERR_BACKOFF, url,
                      "a concurrent fetch of the CDP produced no CRL");
            return DSEC_ERR_BACKOFF;
        }
        return rv;
    }
    if (budget < 0.5) {
        /* spent waiting for the other fetcher */
        dsec_cache_end_fetch(g->eng->cache, url);
        return budget_spent(g, url);
    }
    g->fetches++;
    att = dsec_report_add_attempt(g->rep, g->depth, url);
    if (att == NULL) {
        memset(&scratch, 0, sizeof(scratch));
        att = &scratch;
    }
    rv = fetch_one_within(g->eng, url, (long)(budget + 0.999), &crl, att, &err);
    if (g->rep != NULL) {
        g->rep->net_seconds += att->seconds;
    }
    if (rv == DSEC_OK) {
        memset(&in, 0, sizeof(in));
        in.crl = crl;
        in.dp = w->base != NULL ? w->base->dp : w->dp;
        in.src = (char *)url;
        rv = check_crl(&g->fresh, w, &in, &err);
    }
    if (rv == DSEC_OK) {
        rv = take(g, url, crl, w, 1, 1);
        if (rv == DSEC_OK && att != &scratch) {
            att->crl = crl;
            crl = NULL;
        }
    } else if (cfg->fail_cache > 0) {
        /* never cached: a CRL that does not fit is a failure of the URL */
        dsec_cache_put_failure(g->eng->cache, url, &err,
                               time(NULL) + cfg->fail_cache);
    }
    dsec_cache_end_fetch(g->eng->cache, url);
    X509_CRL_free(crl);
    att->rv = rv;
    if (rv == DSEC_OK) {
        snprintf(att->detail, sizeof(att->detail), "%s",
                 w->base != NULL ? "delta CRL" : "complete CRL of the issuer");
    } else {
        snprintf(att->detail, sizeof(att->detail), "%s", err.msg);
    }
    set_depth(g->rep, g->depth, rv, url, att->detail);
    return rv;
}

/* A CRL past nextUpdate, within stale_grace, when nothing fresh came. */
static dsec_rv from_grace(gathering *g, const char *url, wanted *w)
{
    dsec_rv rv = from_cache(g, g->link, url, w);

    if (rv == DSEC_OK) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: using a CRL past its nextUpdate (stale_grace) "
                 "for %s",
                 url);
        set_depth(g->rep, g->depth, DSEC_OK, url,
                  "stale CRL within stale_grace");
    }
    return rv;
}

/*
 * One pass over the URIs of list for w (those of DP w->dp for a complete
 * CRL, all for a delta): 0 the cache (fresh), 1 the network, 2 the cache
 * within stale_grace. state[i] remembers, from pass 0, the URIs whose
 * failure is known (not fetched again). DSEC_OK when a CRL was taken.
 */
static dsec_rv from_uris(gathering *g, const dsec_cdp_list *list, wanted *w,
                         int pass, char *state)
{
    dsec_rv rv;
    size_t i;

    for (i = 0; i < list->n; i++) {
        const char *url = list->v[i].url;

        if ((w->base == NULL && list->v[i].dp != w->dp) || state[i]
            || (dsec_url_scheme(url) & g->eng->cfg->cdp_schemes) == 0) {
            continue;
        }
        if (pass == 0) {
            rv = from_cache(g, &g->fresh, url, w);
            state[i] = rv != DSEC_ERR_NOT_FOUND;
        } else if (pass == 1) {
            if (g->stop) {
                continue;
            }
            rv = from_network(g, url, w);
        } else {
            rv = from_grace(g, url, w);
        }
        if (rv == DSEC_OK) {
            return DSEC_OK;
        }
        if (rv != DSEC_ERR_NOT_FOUND) {
            g->last = rv;
            g->last_url = url;
        }
    }
    return DSEC_ERR_NOT_FOUND;
}

/* URIs whose scheme is not allowed: recorded once, never fetched. */
static size_t note_schemes(gathering *g, const dsec_cdp_list *cdps)
{
    size_t i, usable = 0;

    for (i = 0; i < cdps->n; i++) {
        if ((dsec_url_scheme(cdps->v[i].url) & g->eng->cfg->cdp_schemes) != 0) {
            usable++;
        } else {
            not_fetched(g->rep, g->depth, cdps->v[i].url, DSEC_ERR_SCHEME,
                        "scheme not in cdp_schemes; not fetched");
        }
    }
    return usable;
}

/* The delta CRL of the complete CRL at index base of g->out. */
static void gather_delta(gathering *g, size_t base, X509 *signer)
{
    dsec_cdp_list fresh;
    dsec_crl_in copy;
    char *state = NULL;
    wanted w;
    int pass;

    if (g->link->delta == DSEC_DELTA_IGNORE
        || dsec_cdp_extract_freshest(g->link->cert, g->out->v[base].crl, &fresh)
               != DSEC_OK) {
        return;
    }
    if (fresh.n > 0 && note_schemes(g, &fresh) > 0
        && (state = calloc(fresh.n, 1)) != NULL) {
        /* g->out may grow (and move): work on a copy of the base entry */
        copy = g->out->v[base];
        memset(&w, 0, sizeof(w));
        w.dp = copy.dp;
        w.base = &copy;
        w.base_signer = signer;
        for (pass = 0; pass < 3; pass++) {
            if ((pass < 2 || g->link->grace > 0)
                && from_uris(g, &fresh, &w, pass, state) == DSEC_OK) {
                break;
            }
        }
        if (pass == 3) {
            set_depth(g->rep, g->depth, DSEC_ERR_NO_DELTA, g->last_url,
                      "the delta CRL (freshestCRL) could not be obtained");
        }
    }
    free(state);
    dsec_cdp_list_clear(&fresh);
}

dsec_rv dsec_engine_obtain(dsec_engine *eng, const dsec_link *link, int depth,
                           dsec_crl_set *out, dsec_report *rep)
{
    dsec_cdp_list cdps;
    gathering g;
    unsigned int covered = 0;
    char *state = NULL, *done = NULL;
    size_t usable, before;
    int dp, ndp = 0, pass, got = 0;
    dsec_rv rv;

    if (eng == NULL || link == NULL || link->cert == NULL || out == NULL) {
        return DSEC_ERR_INVALID;
    }
    rv = dsec_cdp_extract(link->cert, &cdps);
    if (rv != DSEC_OK) {
        set_depth(rep, depth, rv, NULL,
                  "cannot read the CRL distribution points");
        return rv;
    }
    memset(&g, 0, sizeof(g));
    g.eng = eng;
    g.link = link;
    g.fresh = *link;
    g.fresh.grace = 0;
    g.depth = depth;
    g.out = out;
    g.rep = rep;
    g.last = DSEC_ERR_NO_CDP;
    usable = note_schemes(&g, &cdps);
    if (usable == 0 && cdps.n > 0) {
        g.last = DSEC_ERR_SCHEME;
        set_depth(rep, depth, DSEC_ERR_SCHEME, cdps.v[0].url,
                  "no CDP with an allowed scheme");
    }
    if (cdps.n > 0) {
        ndp = cdps.v[cdps.n - 1].dp + 1;
    }
    if (usable > 0
        && ((state = calloc(cdps.n, 1)) == NULL
            || (done = calloc((size_t)ndp, 1)) == NULL)) {
        g.last = DSEC_ERR_NOMEM;
        usable = 0;
    }
    /*
     * The cache for every DP before the network for any (a hit costs no
     * network at all), then stale_grace; DP by DP until the CRLs gathered
     * cover every reason.
     */
    for (pass = 0; usable > 0 && pass < 3; pass++) {
        if (pass == 2 && link->grace <= 0) {
            break;
        }
        for (dp = 0; dp < ndp && covered != DSEC_REASONS_ALL; dp++) {
            wanted w;

            if (done[dp]) {
                continue;
            }
            memset(&w, 0, sizeof(w));
            w.dp = dp;
            before = out->n;
            if (from_uris(&g, &cdps, &w, pass, state) != DSEC_OK
                || out->n == before) {
                continue;
            }
            done[dp] = 1;
            got = 1;
            covered |= w.reasons;
            gather_delta(&g, before, w.signer);
        }
    }
    rv = got ? DSEC_OK : g.last;
    if (rv == DSEC_ERR_NO_CDP) {
        set_depth(rep, depth, rv, NULL,
                  cdps.skipped > 0
                      ? "no CRL distribution point with a usable URI"
                      : "certificate has no CRL distribution point");
    }
    free(state);
    free(done);
    dsec_cdp_list_clear(&cdps);
    return rv;
}
