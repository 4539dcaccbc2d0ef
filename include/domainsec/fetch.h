/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetching one CDP URL: scheme policy, size and time caps, proxy. HTTP goes
 * through libcurl (fetch_http.c), LDAP through libldap (fetch_ldap.c); the
 * body is returned as bytes, unparsed.
 */
#ifndef DOMAINSEC_FETCH_H
#define DOMAINSEC_FETCH_H

#include <stddef.h>
#include "domainsec/common.h"
#include "domainsec/config.h" /* dsec_redirect_mode */

typedef struct {
    unsigned char *data; /* body, malloc'ed; NULL on failure */
    size_t len;
    long status; /* HTTP status, 0 when none */
    double seconds; /* wall time of the whole fetch */
    int via_proxy; /* 1 when the request went through http_proxy */
    int redirects; /* redirects followed */
    char route[128]; /* "direct" or "proxy http://host:port" (masked) */
    /* HTTP validators of the response ("" when none), for the next
       conditional GET */
    char etag[256];
    char last_modified[64];
    /* a conditional GET was answered 304: DSEC_OK without data */
    int not_modified;
} dsec_fetch_result;

/*
 * What a fetcher needs of the configuration, and nothing else. The strings
 * are borrowed: they live as long as the configuration they came from.
 */
typedef struct {
    unsigned int cdp_schemes; /* DSEC_SCHEME_* bits allowed */
    long fetch_timeout; /* seconds for the whole fetch, <= 0: default */
    size_t max_crl_size; /* bytes */
    const char *http_proxy; /* NULL: direct; "env": from the environment */
    const char *no_proxy;
    long fail_cache; /* seconds an unreachable proxy is remembered */
    dsec_redirect_mode allow_redirects;
    const char *deny_networks; /* NULL: none; else checked by netdeny.c */
    /* per request, HTTP only; all unset by dsec_fetch_policy_from_config:
       validators of the cached CRL (a conditional GET: 304 is DSEC_OK with
       res->not_modified), and no_cache: Cache-Control: no-cache, so that a
       caching proxy asks the origin (conditionally, with the validators) */
    const char *if_none_match;
    const char *if_modified_since;
    int no_cache;
} dsec_fetch_policy;

/* The fetch policy of cfg (all zero for NULL), borrowing cfg's strings. */
void dsec_fetch_policy_from_config(const dsec_config *cfg,
                                   dsec_fetch_policy *out);

/* One-time global initialisation (curl_global_init); thread-safe, lazy. */
int dsec_fetch_global_init(void);

/*
 * Fetch url under pol: only cdp_schemes, at most 3 redirects that keep the
 * scheme and, unless allow_redirects = any, the host and port (none with
 * allow_redirects = none; a redirect refused is DSEC_ERR_HTTP with the
 * status in err->code, before any request to its target), fetch_timeout
 * for everything (DNS, connect and every redirect included), max_crl_size
 * enforced while receiving, no connection to an address of deny_networks
 * (DSEC_ERR_CONNECT naming the address and the block; the proxy itself is
 * exempt, a URL whose host is an address is checked before it goes to the
 * proxy). On failure res->data is NULL and err says why (DSEC_ERR_SCHEME,
 * _CONNECT, _TIMEOUT, _HTTP, _TOO_BIG, _UNSUPPORTED, ...). res is always
 * initialised.
 *
 * ldap:// and ldaps:// (fetch_ldap.c, OpenLDAP): anonymous bind, base-scope
 * search of the URL's DN for its attribute (certificateRevocationList;binary
 * when none; authorityRevocationList and deltaRevocationList accepted, any
 * other refused). A URL without a host is refused (DSEC_ERR_INVALID): no
 * default server. fetch_timeout covers DNS, connect, TLS, bind and search;
 * max_crl_size caps the value. Never through http_proxy: route "direct".
 * deny_networks applies to every address resolved and connected to.
 * Server down: DSEC_ERR_CONNECT; deadline: DSEC_ERR_TIMEOUT; no such entry
 * or no value of the attribute: DSEC_ERR_NO_CRL (err->msg names what is
 * missing); err->code holds the LDAP result code when there is one.
 */
dsec_rv dsec_fetch_url(const dsec_fetch_policy *pol, const char *url,
                       dsec_fetch_result *res, DSEC_ERR *err);
void dsec_fetch_result_clear(dsec_fetch_result *res);

/*
 * Re-entry guard: non-zero while this thread is inside a fetch (libcurl may
 * verify an https peer through OpenSSL, which runs the domainsec hook).
 */
int dsec_fetch_active(void);

/*
 * With ldaps in cdp_schemes: read libldap's configuration and build its TLS
 * context now (at provider activation), before the host may chroot.
 */
void dsec_fetch_ldap_preinit(const dsec_fetch_policy *pol);

#endif /* DOMAINSEC_FETCH_H */
