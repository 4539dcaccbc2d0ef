/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy policy of the HTTP fetcher, like curl's lib/noproxy.c: which
 * proxy, if any, a CDP URL goes through (http_proxy as configured, or the
 * environment's with http_proxy = env, unless no_proxy covers the host:
 * names, domain suffixes, "*", IPv4 and IPv6 addresses and CIDR blocks),
 * and how that proxy may be shown: its credentials never appear in the
 * route nor in a libcurl error message passed on. The environment is read
 * with secure_getenv: a set-user-ID host ignores its caller's proxy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domainsec/config.h"
#include "domainsec/url.h"
#include "internal.h"

/*
 * One no_proxy entry (already trimmed, length n) against host. An entry
 * longer than any host or address (a bracketed one included) matches
 * nothing: it is never copied past tok.
 */
static int noproxy_entry(const char *host, const char *entry, size_t n)
{
    char tok[256];
    size_t hlen = strlen(host);
    size_t len;

    if (n == 1 && entry[0] == '*') {
        return 1;
    }
    while (n > 0 && entry[0] == '.') {
        entry++;
        n--;
    }
    if (n >= 2 && entry[0] == '[') {
        const char *close = memchr(entry, ']', n);
        size_t inner;
        size_t rest;

        if (close == NULL) {
            return 0;
        }
        /* "[address]" and a "/bits" suffix after the closing bracket */
        inner = (size_t)(close - entry) - 1;
        rest = n - inner - 2;
        if (inner + rest >= sizeof(tok)) {
            return 0;
        }
        memcpy(tok, entry + 1, inner);
        memcpy(tok + inner, close + 1, rest);
        len = inner + rest;
    } else {
        if (n == 0 || n >= sizeof(tok)) {
            return 0;
        }
        memcpy(tok, entry, n);
        len = n;
    }
    tok[len] = '\0';
    if (len > 0 && tok[len - 1] == '.') {
        tok[--len] = '\0';
    }
    if (len == 0) {
        return 0;
    }
    if (strchr(tok, '/') != NULL) {
        return dsec_netdeny_in_block(host, tok);
    }
    if (strcasecmp(host, tok) == 0) {
        return 1;
    }
    /* domain suffix on a label boundary: "example.com" covers "a.example.com" */
    return hlen > len && host[hlen - len - 1] == '.'
           && strcasecmp(host + hlen - len, tok) == 0;
}

/* Is host covered by the comma/space-separated no_proxy list? */
static int noproxy_match(const char *host, const char *list)
{
    const char *p = list;

    if (list == NULL) {
        return 0;
    }
    while (*p != '\0') {
        size_t n;

        while (*p == ',' || *p == ' ' || *p == '\t') {
            p++;
        }
        n = strcspn(p, ", \t");
        if (n > 0 && noproxy_entry(host, p, n)) {
            return 1;
        }
        p += n;
    }
    return 0;
}

static const char *getenv_nonempty(const char *name)
{
    /* never from a set-uid or set-gid host's caller */
    const char *v = secure_getenv(name);

    return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The proxy for url from the environment, with curl's rules: http uses
 * only lower-case http_proxy (HTTP_PROXY may be set by a CGI client), https
 * uses https_proxy or HTTPS_PROXY, then all_proxy / ALL_PROXY for both.
 */
static const char *env_proxy(unsigned int scheme, const char **no_proxy)
{
    const char *p = NULL;

    *no_proxy = getenv_nonempty("no_proxy");
    if (*no_proxy == NULL) {
        *no_proxy = getenv_nonempty("NO_PROXY");
    }
    if (scheme == DSEC_SCHEME_HTTP) {
        p = getenv_nonempty("http_proxy");
    } else {
        p = getenv_nonempty("https_proxy");
        if (p == NULL) {
            p = getenv_nonempty("HTTPS_PROXY");
        }
    }
    if (p == NULL) {
        p = getenv_nonempty("all_proxy");
    }
    if (p == NULL) {
        p = getenv_nonempty("ALL_PROXY");
    }
    return p;
}

/* The proxy to use for url, or NULL for a direct connection. */
static const char *pick_proxy(const dsec_fetch_policy *pol, const char *url,
                              unsigned int scheme)
{
    const char *proxy = pol->http_proxy;
    const char *no_proxy = pol->no_proxy;
    char host[256];

    if (proxy == NULL || *proxy == '\0') {
        return NULL;
    }
    if (strcmp(proxy, "env") == 0) {
        proxy = env_proxy(scheme, &no_proxy);
        if (proxy == NULL) {
            return NULL;
        }
    }
    if (no_proxy != NULL && *no_proxy != '\0'
        && dsec_url_host(url, host, sizeof(host))
        && noproxy_match(host, no_proxy)) {
        return NULL;
    }
    return proxy;
}

/*
 * Decide the route ourselves and tell curl exactly that, so the route
 * reported is the truth.
 */
const char *dsec_proxy_route(const dsec_fetch_policy *pol, const char *url,
                             char *route, size_t rlen)
{
    const char *proxy = pick_proxy(pol, url, dsec_url_scheme(url));
    char masked_proxy[112];

    if (proxy != NULL) {
        /* libcurl reads a proxy without a scheme as http://: say so */
        dsec_url_mask(proxy, masked_proxy, sizeof(masked_proxy));
        snprintf(route, rlen, "proxy %s%s",
                 strstr(proxy, "://") != NULL ? "" : "http://", masked_proxy);
    } else {
        snprintf(route, rlen, "direct");
    }
    return proxy;
}

/*
 * libcurl quotes a proxy it cannot parse in its error message ("Unsupported
 * proxy syntax in '...'"), credentials included: drop such a message.
 */
void dsec_proxy_scrub_error(char *errbuf, size_t len, const char *proxy)
{
    const char *auth;
    const char *at;
    const char *colon;
    char secret[512];
    size_t n;

    if (proxy == NULL || errbuf[0] == '\0'
        || !dsec_url_userinfo(proxy, &auth, &at)) {
        return;
    }
    colon = memchr(auth, ':', (size_t)(at - auth));
    /* the password if there is one, else the user name */
    if (colon != NULL && colon + 1 < at) {
        auth = colon + 1;
    }
    n = (size_t)(at - auth);
    if (n == 0) {
        return;
    }
    if (n >= sizeof(secret)) {
        n = sizeof(secret) - 1;
    }
    memcpy(secret, auth, n);
    secret[n] = '\0';
    if (strstr(errbuf, secret) != NULL || strstr(errbuf, proxy) != NULL) {
        snprintf(errbuf, len,
                 "libcurl rejected the proxy (message withheld: it quotes "
                 "the proxy credentials)");
    }
    explicit_bzero(secret, sizeof(secret));
}
