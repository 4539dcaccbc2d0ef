/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetching one CDP URL, scheme-independent part: the fetch policy taken
 * from the configuration, the lazy one-time libcurl initialisation, the URL
 * sanity (url.c) and scheme policy checks that run before any network
 * activity, the result handling common to every scheme (initialised first,
 * no data left on failure), the dispatch to the scheme back end
 * (fetch_http.c for http/https, fetch_ldap.c for ldap/ldaps; they call
 * nothing here) and the
 * thread-local re-entry guard that lets the verification hook recognise a
 * verification started by libcurl itself (an https CDP verified through
 * OpenSSL).
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "domainsec/url.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "internal.h"

/* Longest fetch_timeout a back end is given, in seconds (a day). */
#define DSEC_FETCH_MAX_TIMEOUT 86400

static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static int fetch_global_ok = 0;

/* Depth of dsec_fetch_url on this thread (0 outside any fetch). */
static _Thread_local int fetch_depth = 0;

void dsec_fetch_policy_from_config(const dsec_config *cfg,
                                   dsec_fetch_policy *out)
{
    memset(out, 0, sizeof(*out));
    if (cfg == NULL) {
        return;
    }
    out->cdp_schemes = cfg->cdp_schemes;
    out->fetch_timeout = cfg->fetch_timeout;
    out->max_crl_size = cfg->max_crl_size;
    out->http_proxy = cfg->http_proxy;
    out->no_proxy = cfg->no_proxy;
    out->fail_cache = cfg->fail_cache;
    out->allow_redirects = cfg->allow_redirects;
    out->deny_networks = cfg->deny_networks;
}

static void fetch_global_init_once(void)
{
    fetch_global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Returns 1 once libcurl is initialised, 0 if that failed. */
int dsec_fetch_global_init(void)
{
    if (!CRYPTO_THREAD_run_once(&fetch_once, fetch_global_init_once)) {
        return 0;
    }
    return fetch_global_ok;
}

int dsec_fetch_active(void)
{
    return fetch_depth > 0;
}

void dsec_fetch_result_clear(dsec_fetch_result *res)
{
    if (res == NULL) {
        return;
    }
    free(res->data);
    memset(res, 0, sizeof(*res));
}

/*
 * The back end of scheme, given pol with fetch_timeout bounded (0 would
 * mean "no limit" to libcurl: never let that happen) and, for HTTP,
 * libcurl initialised.
 */
static dsec_rv fetch_dispatch(const dsec_fetch_policy *pol, unsigned int scheme,
                              const char *url, const char *masked,
                              dsec_fetch_result *res, DSEC_ERR *err)
{
    dsec_fetch_policy bounded = *pol;

    if (bounded.fetch_timeout <= 0) {
        bounded.fetch_timeout = DSEC_DEFAULT_FETCH_TIMEOUT;
    }
    if (bounded.fetch_timeout > DSEC_FETCH_MAX_TIMEOUT) {
        bounded.fetch_timeout = DSEC_FETCH_MAX_TIMEOUT;
    }
    switch (scheme) {
    case DSEC_SCHEME_HTTP:
    case DSEC_SCHEME_HTTPS:
        if (!dsec_fetch_global_init()) {
            return dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                                "libcurl initialisation failed");
        }
        return dsec_fetch_http(&bounded, url, res, err);
    case DSEC_SCHEME_LDAP:
    case DSEC_SCHEME_LDAPS:
        return dsec_fetch_ldap(&bounded, url, res, err);
    default:
        return dsec_err_set(err, DSEC_ERR_SCHEME, 0,
                            "scheme of %s is not allowed by cdp_schemes",
                            masked);
    }
}

dsec_rv dsec_fetch_url(const dsec_fetch_policy *pol, const char *url,
                       dsec_fetch_result *res, DSEC_ERR *err)
{
    dsec_rv rv = DSEC_ERR_INTERNAL;
    unsigned int scheme;
    char masked[256];

    if (res != NULL) {
        memset(res, 0, sizeof(*res));
    }
    fetch_depth++;
    if (pol == NULL || url == NULL || res == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                          "fetch: missing configuration, URL or result");
        goto done;
    }
    if (fetch_depth > 1) {
        /* libcurl verifying an https peer ran the hook, which fetched */
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "re-entrant fetch refused (this thread is already "
                          "fetching a CRL)");
        goto done;
    }
    rv = dsec_url_check(url, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    dsec_url_mask(url, masked, sizeof(masked));
    scheme = dsec_url_scheme(url);
    if (scheme == 0 || (scheme & pol->cdp_schemes) == 0) {
        rv = dsec_err_set(err, DSEC_ERR_SCHEME, 0,
                          "scheme of %s is not allowed by cdp_schemes", masked);
        goto done;
    }
    rv = fetch_dispatch(pol, scheme, url, masked, res, err);

done:
    if (rv != DSEC_OK && res != NULL) {
        free(res->data);
        res->data = NULL;
        res->len = 0;
    }
    fetch_depth--;
    return rv;
}
