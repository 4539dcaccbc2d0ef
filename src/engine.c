/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation engine: configuration and cache, and the order in which
 * the CRLs of one certificate are gathered from its CRL Distribution
 * Points: the cache for every DP before the network for any, then
 * stale_grace; DP by DP until the CRLs gathered cover every reason, each
 * complete CRL followed by its delta. One URL at a time is gather.c's; the
 * decision on the CRLs gathered is dsec_decide's.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include "domainsec/cdp.h"
#include "domainsec/cache_meta.h"
#include "domainsec/engine.h"
#include "internal.h"

#define CACHE_MAX_ENTRIES 4096

/* The passes over the URIs of a DP (see the file's comment). */
enum { PASS_CACHE, PASS_NETWORK, PASS_GRACE, PASSES };

struct dsec_engine {
    const dsec_config *cfg; /* borrowed */
    dsec_cache *cache;
    int refresh_ahead;
    int cache_fd; /* borrowed, or -1 */
    dsec_cache_meta_gen gen; /* what was last seen of purge.gen */
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
    eng->cache_fd = cache_fd;
    pthread_mutex_init(&eng->gen.lock, NULL);
    if (cache_fd >= 0) {
        dsec_cache_set_dir(eng->cache, cache_fd);
    }
    dsec_cache_set_fail_max(eng->cache, cfg->fail_cache);
    return eng;
}

void dsec_engine_free(dsec_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    dsec_refresher_forget(eng->cache);
    dsec_cache_free(eng->cache);
    pthread_mutex_destroy(&eng->gen.lock);
    free(eng);
}

const dsec_config *dsec_engine_config(const dsec_engine *eng)
{
    return eng != NULL ? eng->cfg : NULL;
}

void dsec_engine_set_refresh_ahead(dsec_engine *eng, int on)
{
    if (eng != NULL) {
        eng->refresh_ahead = on;
    }
}

dsec_cache *dsec_engine_cache(dsec_engine *eng)
{
    return eng != NULL ? eng->cache : NULL;
}

/*
 * One pass over the URIs of list for w (those of DP w->dp for a complete
 * CRL, all for a delta). state[i] remembers, from PASS_CACHE, the URIs
 * whose failure is known (not fetched again). DSEC_OK when a CRL was
 * taken. The one decision on stale_grace's use: PASS_GRACE runs only with
 * a grace (whether a CRL is within it is dsec_decide's).
 */
static dsec_rv from_uris(dsec_gather *g, const dsec_cdp_list *list,
                         dsec_gather_want *w, int pass, char *state)
{
    dsec_rv rv;
    size_t i;

    if (pass == PASS_GRACE && g->link->grace <= 0) {
        return DSEC_ERR_NOT_FOUND;
    }
    for (i = 0; i < list->n; i++) {
        const char *url = list->v[i].url;

        /* a known failure stops a fetch, never the grace pass's CRL */
        if ((w->base == NULL && list->v[i].dp != w->dp)
            || (state[i] && pass != PASS_GRACE)
            || (dsec_url_scheme(url) & g->cfg->cdp_schemes) == 0) {
            continue;
        }
        if (pass == PASS_CACHE) {
            rv = dsec_gather_from_cache(g, url, w);
            state[i] = rv != DSEC_ERR_NOT_FOUND;
            if (rv == DSEC_OK && g->refresh_ahead && w->base == NULL) {
                /* past its refresh point: fetched in the background */
                dsec_refresher_consider(g->cfg, g->cache, g->meta_fd, &g->fresh,
                                        url, w->dp, w->signer,
                                        g->out->v[g->out->n - 1].crl);
            }
        } else if (pass == PASS_NETWORK) {
            if (g->stop) {
                continue;
            }
            rv = dsec_gather_from_network(g, url, w);
            if (rv != DSEC_ERR_NOT_FOUND) {
                dsec_cache_meta_note(
                    g->meta_fd, url, rv,
                    rv == DSEC_OK ? g->out->v[g->out->n - 1].crl : NULL,
                    rv == DSEC_OK ? w->signer : NULL,
                    rv == DSEC_OK ? g->got.etag : NULL,
                    rv == DSEC_OK ? g->got.last_modified : NULL);
            }
        } else {
            rv = dsec_gather_from_grace(g, url, w);
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
static size_t note_schemes(dsec_gather *g, const dsec_cdp_list *cdps)
{
    size_t i, usable = 0;

    for (i = 0; i < cdps->n; i++) {
        if ((dsec_url_scheme(cdps->v[i].url) & g->cfg->cdp_schemes) != 0) {
            usable++;
        } else {
            dsec_gather_skip(g, cdps->v[i].url, DSEC_ERR_SCHEME,
                             "scheme not in cdp_schemes; not fetched");
        }
    }
    return usable;
}

/* The delta CRL of the complete CRL at index base of g->out. */
static void obtain_delta(dsec_gather *g, size_t base, X509 *signer)
{
    dsec_cdp_list fresh;
    dsec_crl_in copy;
    char *state = NULL;
    dsec_gather_want w;
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
        for (pass = 0; pass < PASSES; pass++) {
            if (from_uris(g, &fresh, &w, pass, state) == DSEC_OK) {
                break;
            }
        }
        if (pass == PASSES) {
            dsec_gather_depth(
                g, DSEC_ERR_NO_DELTA, g->last_url,
                "the delta CRL (freshestCRL) could not be obtained");
        }
    }
    free(state);
    dsec_cdp_list_clear(&fresh);
}

/*
 * The complete CRLs of cdps (some usable), pass by pass, DP by DP until the
 * CRLs gathered cover every reason, each followed by its delta. Returns 1
 * when one was gathered.
 */
static int obtain_complete(dsec_gather *g, const dsec_cdp_list *cdps)
{
    int ndp = cdps->v[cdps->n - 1].dp + 1;
    char *state = calloc(cdps->n, 1);
    char *done = calloc((size_t)ndp, 1);
    unsigned int covered = 0;
    int dp, pass, got = 0;
    size_t before;
    dsec_gather_want w;

    if (state == NULL || done == NULL) {
        g->last = DSEC_ERR_NOMEM;
    }
    for (pass = 0; state != NULL && done != NULL && pass < PASSES; pass++) {
        for (dp = 0; dp < ndp && covered != DSEC_REASONS_ALL; dp++) {
            if (done[dp]) {
                continue;
            }
            memset(&w, 0, sizeof(w));
            w.dp = dp;
            before = g->out->n;
            if (from_uris(g, cdps, &w, pass, state) != DSEC_OK
                || g->out->n == before) {
                continue;
            }
            done[dp] = 1;
            got = 1;
            covered |= w.reasons;
            obtain_delta(g, before, w.signer);
        }
    }
    free(state);
    free(done);
    return got;
}

/* `domainsec cache purge` or `refresh` since the last look: what memory
   holds is old, and dropped. */
static void check_purged(dsec_engine *eng)
{
    if (dsec_cache_meta_purged(eng->cache_fd, &eng->gen, time(NULL))) {
        dsec_cache_forget_all(eng->cache);
    }
}

int dsec_engine_epoch(dsec_engine *eng, unsigned long *epoch)
{
    if (eng == NULL || epoch == NULL) {
        return 0;
    }
    check_purged(eng);
    *epoch = dsec_cache_epoch(eng->cache);
    return 1;
}

dsec_rv dsec_engine_obtain(dsec_engine *eng, const dsec_link *link, int depth,
                           dsec_crl_set *out, dsec_report *rep)
{
    dsec_cdp_list cdps;
    dsec_gather g;
    dsec_rv rv;
    int got = 0;

    if (eng == NULL || link == NULL || link->cert == NULL || out == NULL) {
        return DSEC_ERR_INVALID;
    }
    memset(&g, 0, sizeof(g));
    g.cfg = eng->cfg;
    g.cache = eng->cache;
    g.link = link;
    g.fresh = *link;
    g.fresh.grace = 0;
    g.depth = depth;
    g.out = out;
    g.rep = rep;
    g.refresh_ahead = eng->refresh_ahead;
    g.meta_fd = eng->cache_fd;
    check_purged(eng);
    g.last = DSEC_ERR_NO_CDP;
    /* the link's DistributionPoints when it has them decoded already */
    rv = link->dps != NULL ? dsec_cdp_from_dps(link->dps, &cdps)
                           : dsec_cdp_extract(link->cert, &cdps);
    if (rv != DSEC_OK) {
        dsec_gather_depth(&g, rv, NULL,
                          "cannot read the CRL distribution points");
        return rv;
    }
    if (note_schemes(&g, &cdps) > 0) {
        got = obtain_complete(&g, &cdps);
    } else if (cdps.n > 0) {
        g.last = DSEC_ERR_SCHEME;
        dsec_gather_depth(&g, DSEC_ERR_SCHEME, cdps.v[0].url,
                          "no CDP with an allowed scheme");
    }
    rv = got ? DSEC_OK : g.last;
    if (rv == DSEC_ERR_NO_CDP) {
        dsec_gather_depth(&g, rv, NULL,
                          cdps.skipped > 0
                              ? "no CRL distribution point with a usable URI"
                              : "certificate has no CRL distribution point");
    }
    dsec_cdp_list_clear(&cdps);
    return rv;
}
