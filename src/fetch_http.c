/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP(S) CDP fetcher: one libcurl easy handle per fetch, configured so
 * that an attacker-influenced URL or server cannot widen what we do. Only
 * the http-family schemes allowed by cdp_schemes are spoken, redirects are
 * capped at 3 and never change scheme, one deadline (fetch_timeout) covers
 * DNS, connect and transfer, the body is capped at max_crl_size while it
 * arrives (Content-Length may be absent or lie), no cookies, netrc or
 * credentials are used, and the proxy is exactly what the configuration
 * says (the environment is ignored unless http_proxy = env). The route
 * taken (direct or through which proxy, password masked) is reported.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/url.h"

#define DSEC_FETCH_MAX_REDIRS 3L
#define DSEC_FETCH_USER_AGENT "domainsec/0.1"

/*
 * A proxy that cannot be reached fails every URL alike: once a connection
 * to it was refused or got no answer within fetch_timeout, later fetches
 * through it in this process fail at once for fail_cache seconds instead of
 * each waiting fetch_timeout (a chain checks one CRL per certificate, so a
 * blackholed proxy would otherwise cost a timeout per certificate). The key
 * is the proxy as configured; it is compared, never logged.
 */
static pthread_mutex_t proxy_down_lock = PTHREAD_MUTEX_INITIALIZER;
static char proxy_down[1024];
static char proxy_down_why[CURL_ERROR_SIZE];
static double proxy_down_until;

/* Body being received; the write callback enforces the size cap. */
struct fetch_sink {
    CURL *curl;
    unsigned char *buf;
    size_t len;
    size_t cap;
    size_t max;
    int too_big;
    int nomem;
    int bad_status;
};

static double fetch_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t fetch_write_cb(char *ptr, size_t size, size_t nmemb,
                             void *userdata)
{
    struct fetch_sink *sink = userdata;
    size_t n = size * nmemb;
    long code = 0;

    /* the body of an error page is of no use: stop at its first byte */
    if (curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK
        || code != 200) {
        sink->bad_status = 1;
        return 0;
    }
    if (n > sink->max || sink->len > sink->max - n) {
        sink->too_big = 1;
        return 0;
    }
    if (sink->len + n > sink->cap) {
        size_t cap = sink->cap == 0 ? 16384 : sink->cap;
        unsigned char *nbuf;

        while (cap < sink->len + n) {
            cap = cap > sink->max / 2 ? sink->max : cap * 2;
        }
        nbuf = realloc(sink->buf, cap);
        if (nbuf == NULL) {
            sink->nomem = 1;
            return 0;
        }
        sink->buf = nbuf;
        sink->cap = cap;
    }
    memcpy(sink->buf + sink->len, ptr, n);
    sink->len += n;
    return n;
}

/*
 * Host of url, lower case, without IPv6 brackets or a trailing dot, into
 * buf. Returns 0 when the URL cannot be parsed.
 */
static int fetch_url_host(const char *url, char *buf, size_t len)
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
static int fetch_cidr_match(const char *host, const char *addr, int bits)
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
static int fetch_noproxy_entry(const char *host, const char *entry, size_t n)
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
        return fetch_cidr_match(host, tok, (int)bits);
    }
    if (strcasecmp(host, tok) == 0) {
        return 1;
    }
    /* domain suffix on a label boundary: "example.com" covers "a.example.com" */
    return hlen > n && host[hlen - n - 1] == '.'
           && strcasecmp(host + hlen - n, tok) == 0;
}

/* Is host covered by the comma/space-separated no_proxy list? */
static int fetch_noproxy_match(const char *host, const char *list)
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
        if (n > 0 && fetch_noproxy_entry(host, p, n)) {
            return 1;
        }
        p += n;
    }
    return 0;
}

static const char *fetch_getenv_nonempty(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The proxy for url from the environment, with curl's rules: http uses
 * only lower-case http_proxy (HTTP_PROXY may be set by a CGI client), https
 * uses https_proxy or HTTPS_PROXY, then all_proxy / ALL_PROXY for both.
 */
static const char *fetch_env_proxy(unsigned int scheme, const char **no_proxy)
{
    const char *p = NULL;

    *no_proxy = fetch_getenv_nonempty("no_proxy");
    if (*no_proxy == NULL) {
        *no_proxy = fetch_getenv_nonempty("NO_PROXY");
    }
    if (scheme == DSEC_SCHEME_HTTP) {
        p = fetch_getenv_nonempty("http_proxy");
    } else {
        p = fetch_getenv_nonempty("https_proxy");
        if (p == NULL) {
            p = fetch_getenv_nonempty("HTTPS_PROXY");
        }
    }
    if (p == NULL) {
        p = fetch_getenv_nonempty("all_proxy");
    }
    if (p == NULL) {
        p = fetch_getenv_nonempty("ALL_PROXY");
    }
    return p;
}

/*
 * Decide the route ourselves and tell curl exactly that, so res->route is
 * the truth: returns the proxy to use or NULL for a direct connection.
 */
static const char *fetch_pick_proxy(const dsec_config *cfg, const char *url,
                                    unsigned int scheme)
{
    const char *proxy = cfg->http_proxy;
    const char *no_proxy = cfg->no_proxy;
    char host[256];

    if (proxy == NULL || *proxy == '\0') {
        return NULL;
    }
    if (strcmp(proxy, "env") == 0) {
        proxy = fetch_env_proxy(scheme, &no_proxy);
        if (proxy == NULL) {
            return NULL;
        }
    }
    if (no_proxy != NULL && *no_proxy != '\0'
        && fetch_url_host(url, host, sizeof(host))
        && fetch_noproxy_match(host, no_proxy)) {
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
static void fetch_mask_proxy(const char *proxy, char *buf, size_t len)
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
 * libcurl quotes a proxy it cannot parse in its error message ("Unsupported
 * proxy syntax in '...'"), credentials included: drop such a message.
 */
static void fetch_scrub_error(char *errbuf, size_t len, const char *proxy)
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

/*
 * A status other than 200. Through a proxy, 407 and the gateway errors
 * (502, 503, 504) are the proxy's own answer: say so, so the administrator
 * looks at the proxy (credentials, its view of DNS) and not at the CA.
 */
static dsec_rv fetch_http_status(long status, const char *masked,
                                 const dsec_fetch_result *res, DSEC_ERR *err)
{
    const char *what = NULL;

    if (res->via_proxy) {
        switch (status) {
        case 407:
            what = "proxy authentication required (http_proxy credentials "
                   "missing or refused)";
            break;
        case 502:
        case 503:
        case 504:
            what = "the proxy could not get the CRL from the CDP host";
            break;
        default:
            break;
        }
    }
    if (what != NULL) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "HTTP %ld from %s via %s: %s", status, masked,
                            res->route, what);
    }
    if (res->via_proxy) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "HTTP %ld from %s via %s", status, masked,
                            res->route);
    }
    return dsec_err_set(err, DSEC_ERR_HTTP, status, "HTTP %ld from %s", status,
                        masked);
}

/* Copy why proxy was found down into why; 0 when it is not known down. */
static int fetch_proxy_is_down(const char *proxy, double now, char *why,
                               size_t len)
{
    int down;

    pthread_mutex_lock(&proxy_down_lock);
    down = proxy_down_until > now && strcmp(proxy_down, proxy) == 0;
    if (down) {
        snprintf(why, len, "%s", proxy_down_why);
    }
    pthread_mutex_unlock(&proxy_down_lock);
    return down;
}

/* Remember (seconds > 0) or forget (seconds == 0) that proxy is down. */
static void fetch_proxy_mark(const char *proxy, long seconds, const char *why)
{
    if (strlen(proxy) >= sizeof(proxy_down)) {
        return;
    }
    pthread_mutex_lock(&proxy_down_lock);
    if (seconds > 0) {
        snprintf(proxy_down, sizeof(proxy_down), "%s", proxy);
        snprintf(proxy_down_why, sizeof(proxy_down_why), "%s", why);
        proxy_down_until = fetch_now() + (double)seconds;
    } else if (strcmp(proxy_down, proxy) == 0) {
        proxy_down_until = 0;
    }
    pthread_mutex_unlock(&proxy_down_lock);
}

/*
 * Did the transfer fail before any connection to the proxy existed? With
 * an http proxy curl connects to nothing else, so refused, unresolvable or
 * a timeout without a connect time is the proxy's fault, not the CDP's.
 */
static int fetch_proxy_unreachable(CURL *curl, CURLcode rc)
{
    curl_off_t connect_us = 0;

    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_PROXY) {
        return 1;
    }
    if (rc != CURLE_OPERATION_TIMEDOUT) {
        return 0;
    }
    return curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us)
               == CURLE_OK
           && connect_us == 0;
}

/* Map a failed transfer to a dsec_rv and a message naming url and route. */
static dsec_rv fetch_fail(CURLcode rc, const struct fetch_sink *sink,
                          const char *masked, const dsec_fetch_result *res,
                          const char *errbuf, long timeout, DSEC_ERR *err)
{
    const char *detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    const char *via = res->via_proxy ? " via " : "";
    const char *route = res->via_proxy ? res->route : "";

    if (sink->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        return dsec_err_set(err, DSEC_ERR_TOO_BIG, rc,
                            "CRL at %s%s%s is larger than max_crl_size "
                            "(%zu bytes)",
                            masked, via, route, sink->max);
    }
    if (sink->nomem || rc == CURLE_OUT_OF_MEMORY) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, rc,
                            "out of memory fetching %s", masked);
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return dsec_err_set(err, DSEC_ERR_TIMEOUT, rc,
                            "timeout (%ld s) fetching %s%s%s: %s", timeout,
                            masked, via, route, detail);
    case CURLE_TOO_MANY_REDIRECTS:
        return dsec_err_set(err, DSEC_ERR_CONNECT, rc,
                            "redirect refused: more than %ld redirects "
                            "fetching %s",
                            DSEC_FETCH_MAX_REDIRS, masked);
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* the original scheme was checked: only a redirect gets here */
        return dsec_err_set(err, DSEC_ERR_CONNECT, rc,
                            "redirect refused: %s redirected to another "
                            "scheme (%s)",
                            masked, detail);
    case CURLE_LOGIN_DENIED:
        return dsec_err_set(err, DSEC_ERR_INVALID, rc,
                            "credentials in a CDP URL are refused: %s", masked);
    case CURLE_URL_MALFORMAT:
        return dsec_err_set(err, DSEC_ERR_INVALID, rc, "malformed URL %s: %s",
                            masked, detail);
    default:
        return dsec_err_set(err, DSEC_ERR_CONNECT, rc,
                            "fetching %s%s%s failed: %s", masked, via, route,
                            detail);
    }
}

dsec_rv dsec_fetch_http(const dsec_config *cfg, const char *url,
                        dsec_fetch_result *res, DSEC_ERR *err)
{
    dsec_rv rv = DSEC_ERR_INTERNAL;
    CURL *curl = NULL;
    CURLcode rc;
    struct fetch_sink sink;
    char errbuf[CURL_ERROR_SIZE];
    char masked[256] = "";
    char masked_proxy[112];
    const char *proxy;
    const char *protocols;
    const char *redir;
    unsigned int scheme;
    long timeout;
    long status = 0;
    long redirects = 0;
    double start = fetch_now();
    int ok = 1;

    memset(&sink, 0, sizeof(sink));
    errbuf[0] = '\0';
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
    }
    if (cfg == NULL || url == NULL || res == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                          "fetch: missing configuration, URL or result");
        goto done;
    }
    dsec_url_mask(url, masked, sizeof(masked));
    scheme = dsec_url_scheme(url);
    if ((scheme != DSEC_SCHEME_HTTP && scheme != DSEC_SCHEME_HTTPS)
        || (scheme & cfg->cdp_schemes) == 0) {
        rv = dsec_err_set(err, DSEC_ERR_SCHEME, 0,
                          "scheme of %s is not allowed for HTTP fetching",
                          masked);
        goto done;
    }
    if (!dsec_fetch_global_init()) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "libcurl initialisation failed");
        goto done;
    }
    /* 0 would mean "no limit" to libcurl: never let that happen */
    timeout = cfg->fetch_timeout > 0 ? cfg->fetch_timeout
                                     : DSEC_DEFAULT_FETCH_TIMEOUT;
    if (timeout > 86400) {
        timeout = 86400;
    }
    if ((cfg->cdp_schemes & DSEC_SCHEME_HTTP) == 0) {
        protocols = "https";
    } else if ((cfg->cdp_schemes & DSEC_SCHEME_HTTPS) == 0) {
        protocols = "http";
    } else {
        protocols = "http,https";
    }
    redir = scheme == DSEC_SCHEME_HTTPS ? "https" : "http";

    proxy = fetch_pick_proxy(cfg, url, scheme);
    if (proxy != NULL) {
        fetch_mask_proxy(proxy, masked_proxy, sizeof(masked_proxy));
        snprintf(res->route, sizeof(res->route), "proxy %s", masked_proxy);
        res->via_proxy = 1;
    } else {
        snprintf(res->route, sizeof(res->route), "direct");
    }

    curl = curl_easy_init();
    if (curl == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_NOMEM, 0,
                          "cannot create a libcurl handle");
        goto done;
    }
    sink.curl = curl;
    sink.max = cfg->max_crl_size;

#define FETCH_SETOPT(opt, val) \
    ok = ok && curl_easy_setopt(curl, opt, val) == CURLE_OK
    FETCH_SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    FETCH_SETOPT(CURLOPT_URL, url);
    FETCH_SETOPT(CURLOPT_NOSIGNAL, 1L);
    FETCH_SETOPT(CURLOPT_NOPROGRESS, 1L);
    FETCH_SETOPT(CURLOPT_TIMEOUT_MS, timeout * 1000L);
    FETCH_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout * 1000L);
#if LIBCURL_VERSION_NUM >= 0x075700
    /*
     * Without this, a transfer that timed out while the threaded resolver
     * is still blocked in getaddrinfo() waits for it (resolv.conf timeout x
     * attempts x servers, 30 s and more) instead of returning at
     * fetch_timeout. The detached resolver thread frees itself when the
     * lookup ends: nothing leaks in a long-running host.
     */
    FETCH_SETOPT(CURLOPT_QUICK_EXIT, 1L);
#endif
    FETCH_SETOPT(CURLOPT_PROTOCOLS_STR, protocols);
    FETCH_SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, redir);
    FETCH_SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
    FETCH_SETOPT(CURLOPT_MAXREDIRS, DSEC_FETCH_MAX_REDIRS);
    FETCH_SETOPT(CURLOPT_AUTOREFERER, 0L);
    FETCH_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink.max);
    FETCH_SETOPT(CURLOPT_WRITEFUNCTION, fetch_write_cb);
    FETCH_SETOPT(CURLOPT_WRITEDATA, &sink);
    FETCH_SETOPT(CURLOPT_USERAGENT, DSEC_FETCH_USER_AGENT);
    FETCH_SETOPT(CURLOPT_HTTPGET, 1L);
    /* no credentials from anywhere: URL userinfo, netrc, redirects */
    FETCH_SETOPT(CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
    FETCH_SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    FETCH_SETOPT(CURLOPT_UNRESTRICTED_AUTH, 0L);
    FETCH_SETOPT(CURLOPT_COOKIEFILE, NULL);
    /* "" disables proxies, the environment's included */
    FETCH_SETOPT(CURLOPT_PROXY, proxy != NULL ? proxy : "");
    FETCH_SETOPT(CURLOPT_NOPROXY, "");
#undef FETCH_SETOPT
    if (!ok) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "libcurl rejected an option fetching %s: %s", masked,
                          errbuf);
        goto done;
    }

    if (proxy != NULL && cfg->fail_cache > 0
        && fetch_proxy_is_down(proxy, fetch_now(), errbuf, sizeof(errbuf))) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                          "fetching %s via %s failed: the proxy was "
                          "unreachable less than %ld s ago (%s)",
                          masked, res->route, cfg->fail_cache, errbuf);
        goto done;
    }
    rc = curl_easy_perform(curl);
    fetch_scrub_error(errbuf, sizeof(errbuf), proxy);
    if (proxy != NULL && cfg->fail_cache > 0) {
        if (rc == CURLE_OK) {
            fetch_proxy_mark(proxy, 0, "");
        } else if (fetch_proxy_unreachable(curl, rc)) {
            fetch_proxy_mark(proxy, cfg->fail_cache,
                             errbuf[0] != '\0' ? errbuf
                                               : curl_easy_strerror(rc));
        }
    }
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        status = 0;
    }
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_COUNT, &redirects)
        != CURLE_OK) {
        redirects = 0;
    }
    res->status = status;
    res->redirects = (int)redirects;
    if ((rc == CURLE_OK && status != 200) || sink.bad_status
        || (rc == CURLE_FILESIZE_EXCEEDED && status != 200 && status != 0)) {
        rv = fetch_http_status(status, masked, res, err);
        goto done;
    }
    if (rc != CURLE_OK) {
        rv = fetch_fail(rc, &sink, masked, res, errbuf, timeout, err);
        goto done;
    }
    if (sink.buf == NULL) {
        /* an empty body is still a success here; the parser judges it */
        sink.buf = malloc(1);
        if (sink.buf == NULL) {
            rv = dsec_err_set(err, DSEC_ERR_NOMEM, 0,
                              "out of memory fetching %s", masked);
            goto done;
        }
    }
    res->data = sink.buf;
    res->len = sink.len;
    sink.buf = NULL;
    rv = DSEC_OK;

done:
    if (res != NULL) {
        res->seconds = fetch_now() - start;
    }
    if (dsec_log_enabled(DSEC_LOG_DEBUG) && cfg != NULL && url != NULL
        && res != NULL) {
        dsec_log(DSEC_LOG_DEBUG,
                 "fetch %s (%s): %s, status %ld, %zu bytes, %d redirects, "
                 "%.3f s",
                 masked, res->route, dsec_rv_name(rv), res->status, res->len,
                 res->redirects, res->seconds);
    }
    free(sink.buf);
    curl_easy_cleanup(curl);
    return rv;
}
