/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy policy of the HTTP fetcher, like curl's lib/noproxy.c: which
 * proxy, if any, a CDP URL goes through (http_proxy as configured, or the
 * environment's with http_proxy = env, unless no_proxy covers the host:
 * names, domain suffixes, "*", IPv4 and IPv6 addresses and CIDR blocks),
 * and how that proxy may be shown: its credentials never appear in the
 * route nor in a libcurl error message passed on.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "domainsec/config.h"
#include "internal.h"

/*
 * Host of url, lower case, without IPv6 brackets or a trailing dot, into
 * buf. Returns 0 when the URL cannot be parsed.
 */
static int url_host(const char *url, char *buf, size_t len)
{
    CURLU *u = curl_url();
    char *host = NULL;
    const char *h;
    size_t n;
    size_t i;
    int ok = 0;

    if (u == NULL || len == 0) {
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        goto done;
    }
    h = host;
    n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n > 0 && h[n - 1] == '.') {
        n--;
    }
    if (n == 0 || n >= len) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        buf[i] = (char)tolower((unsigned char)h[i]);
    }
    buf[n] = '\0';
    ok = 1;

done:
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* Does IP literal host lie in the CIDR block "addr/bits"? */
static int cidr_match(const char *host, const char *addr, int bits)
{
    unsigned char h[16];
    unsigned char a[16];
    int alen;
    int i;

    if (inet_pton(AF_INET, host, h) == 1 && inet_pton(AF_INET, addr, a) == 1) {
        alen = 4;
    } else if (inet_pton(AF_INET6, host, h) == 1
               && inet_pton(AF_INET6, addr, a) == 1) {
        alen = 16;
    } else {
        return 0;
    }
    if (bits < 0 || bits > alen * 8) {
        return 0;
    }
    for (i = 0; i < bits / 8; i++) {
        if (h[i] != a[i]) {
            return 0;
        }
    }
    if (bits % 8 != 0) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));

        if ((h[bits / 8] & mask) != (a[bits / 8] & mask)) {
            return 0;
        }
    }
    return 1;
}

/* One no_proxy entry (already trimmed, length n) against host. */
static int noproxy_entry(const char *host, const char *entry, size_t n)
{
    char tok[256];
    char *slash;
    size_t hlen = strlen(host);

    if (n == 1 && entry[0] == '*') {
        return 1;
    }
    while (n > 0 && entry[0] == '.') {
        entry++;
        n--;
    }
    if (n >= 2 && entry[0] == '[') {
        const char *close = memchr(entry, ']', n);

        if (close == NULL) {
            return 0;
        }
        /* keep a "/bits" suffix after the closing bracket */
        memmove(tok, entry + 1, (size_t)(close - entry - 1));
        tok[close - entry - 1] = '\0';
        if ((size_t)(close - entry) + 1 < n
            && strlen(tok) + (n - (size_t)(close - entry) - 1) < sizeof(tok)) {
            strncat(tok, close + 1, n - (size_t)(close - entry) - 1);
        }
    } else {
        if (n == 0 || n >= sizeof(tok)) {
            return 0;
        }
        memcpy(tok, entry, n);
        tok[n] = '\0';
    }
    n = strlen(tok);
    if (n > 0 && tok[n - 1] == '.') {
        tok[--n] = '\0';
    }
    if (n == 0) {
        return 0;
    }
    slash = strchr(tok, '/');
    if (slash != NULL) {
        char *end = NULL;
        long bits;

        *slash = '\0';
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0') {
            return 0;
        }
        return cidr_match(host, tok, (int)bits);
    }
    if (strcasecmp(host, tok) == 0) {
        return 1;
    }
    /* domain suffix on a label boundary: "example.com" covers "a.example.com" */
    return hlen > n && host[hlen - n - 1] == '.'
           && strcasecmp(host + hlen - n, tok) == 0;
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
    const char *v = getenv(name);

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
        && url_host(url, host, sizeof(host)) && noproxy_match(host, no_proxy)) {
        return NULL;
    }
    return proxy;
}

/*
 * Mask the proxy for route and messages: everything between the scheme and
 * the last "@" goes, whatever it contains. A password holding "/", "?" or
 * "#" unencoded would end the authority early for a URL masker and show.
 * libcurl reads a proxy without a scheme as http://, so name that scheme.
 */
static void mask_proxy(const char *proxy, char *buf, size_t len)
{
    const char *sep = strstr(proxy, "://");
    const char *auth = sep != NULL ? sep + 3 : proxy;
    const char *at = strrchr(auth, '@');
    const char *dflt = sep != NULL ? "" : "http://";

    if (at != NULL) {
        snprintf(buf, len, "%s%.*s[****]%s", dflt, (int)(auth - proxy), proxy,
                 at);
    } else {
        snprintf(buf, len, "%s%s", dflt, proxy);
    }
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
        mask_proxy(proxy, masked_proxy, sizeof(masked_proxy));
        snprintf(route, rlen, "proxy %s", masked_proxy);
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
    const char *sep;
    const char *auth;
    const char *at;
    const char *colon;
    char secret[512];
    size_t n;

    if (proxy == NULL || errbuf[0] == '\0') {
        return;
    }
    sep = strstr(proxy, "://");
    auth = sep != NULL ? sep + 3 : proxy;
    at = strrchr(auth, '@');
    if (at == NULL) {
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
