/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation engine: configuration plus cache, and gathering the CRLs
 * of one certificate (cache, then network) with every attempt recorded in
 * a dsec_report. The decision on them is dsec_decide's (decide.h).
 */
#ifndef DOMAINSEC_ENGINE_H
#define DOMAINSEC_ENGINE_H

#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/cache.h"
#include "domainsec/decide.h"
#include "domainsec/report.h"

/* At most this many URLs are fetched from the network per certificate. */
#define DSEC_MAX_FETCHES_PER_CERT 4
/*
 * Network time one verification may spend on CRL fetches, in units of
 * fetch_timeout (cumulative over every certificate and URL, like Windows'
 * accumulative URL retrieval timeout): a chain of dead CDPs costs at most
 * this, however many URLs it lists.
 */
#define DSEC_FETCH_BUDGET_FACTOR 2

typedef struct dsec_engine dsec_engine;

/*
 * cfg is borrowed and must outlive the engine; cache_fd is cache_dir opened
 * with dsec_cache_open_dir (borrowed, -1: memory cache only).
 */
dsec_engine *dsec_engine_new(const dsec_config *cfg, int cache_fd,
                             DSEC_ERR *err);
void dsec_engine_free(dsec_engine *eng);
const dsec_config *dsec_engine_config(const dsec_engine *eng);
dsec_cache *dsec_engine_cache(dsec_engine *eng);

/*
 * on: a cached CRL past its refresh point (refresh.h) is still used, and
 * refreshed by a background thread (the provider, in host processes); off
 * (the default: the CLI, which exits): it is used until nextUpdate.
 */
void dsec_engine_set_refresh_ahead(dsec_engine *eng, int on);

/*
 * Gather the CRLs of link->cert for depth into out, from its CRL
 * Distribution Points: DP by DP until the CRLs gathered cover every reason,
 * a complete CRL accepted for that DP by dsec_decide_check (issuer, scope,
 * signer, time), from the cache (every DP before the network for any) or
 * from the network (at most DSEC_MAX_FETCHES_PER_CERT fetches, within the
 * verification's fetch time, single flight), then the delta CRL of each
 * (freshestCRL) unless link->delta is DSEC_DELTA_IGNORE. A CRL is cached
 * only once accepted; a fetched CRL that is not accepted is a failure of
 * its URL, remembered fail_cache seconds. Past nextUpdate, a cached CRL
 * serves within link->grace when nothing fresh is obtained. Every attempt
 * and the outcome are recorded in rep (may be NULL). Returns DSEC_OK when a
 * complete CRL was gathered, else why not (DSEC_ERR_NO_CDP, _SCHEME, or
 * the last attempt's error).
 */
dsec_rv dsec_engine_obtain(dsec_engine *eng, const dsec_link *link, int depth,
                           dsec_crl_set *out, dsec_report *rep);

/*
 * The engine's cache epoch: a number that changes whenever its memory cache
 * stores or drops a CRL, after the same check of `domainsec cache purge`
 * as dsec_engine_obtain makes (a purge drops everything). Equal epochs: the
 * same CRLs in memory. 0 and *epoch untouched when eng is NULL.
 */
int dsec_engine_epoch(dsec_engine *eng, unsigned long *epoch);

#endif /* DOMAINSEC_ENGINE_H */
