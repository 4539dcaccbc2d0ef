/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP(S) CDP fetcher: one libcurl easy handle per fetch, configured so
 * that an attacker-influenced URL or server cannot widen what we do. Only
 * the http-family schemes allowed by cdp_schemes are spoken. Redirects are
 * followed here, not by libcurl: each one is judged by redirect.c
 * (allow_redirects: at most 3, the scheme kept, by default the host and
 * port too) before any request goes to its target, and each hop gets its
 * own route and what remains of the one deadline (fetch_timeout) that
 * covers DNS, connect and transfer of every hop. Every address libcurl
 * opens a socket to is checked against deny_networks first (the proxy's
 * own address excepted: the administrator named it; through the proxy, a
 * URL whose host is an address literal is checked before it is sent). The
 * body is capped at max_crl_size while it arrives (Content-Length may be
 * absent or lie), no cookies, netrc or credentials are used, and the proxy
 * is exactly what the configuration says (the environment is ignored
 * unless http_proxy = env; the choice is proxy.c's). The route taken
 * (direct or through which proxy, password masked) is reported, and a
 * proxy found unreachable is remembered for fail_cache seconds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "domainsec/url.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "internal.h"

#define DSEC_FETCH_USER_AGENT "domainsec/0.1"
/* Body of a redirect read (and dropped) at most, so the transfer completes
   and libcurl gives the redirect's target. */
#define DSEC_FETCH_MAX_REDIRECT_BODY (64u * 1024u)

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
    size_t dropped; /* bytes of a redirect's body */
    int too_big;
    int nomem;
    int bad_status;
};

/* One HTTP fetch in progress: what its steps share. */
struct fetch_http {
    const dsec_fetch_policy *pol;
    const char *url; /* of this hop: the CDP, then each redirect's target */
    char *owned; /* the url of a redirect followed, malloc'ed */
    char *redirect; /* the target this hop redirects to, malloc'ed */
    dsec_fetch_result *res;
    CURL *curl;
    struct curl_slist *headers; /* caching headers (fetch_cond.c) */
    struct fetch_sink sink;
    const char *proxy; /* NULL: direct */
    unsigned int scheme;
    double deadline; /* dsec_clock_now() time */
    int denied; /* a socket was refused by deny_networks */
    char denied_addr[INET6_ADDRSTRLEN];
    char denied_rule[128];
    char errbuf[CURL_ERROR_SIZE];
    char masked[256];
};

static size_t fetch_write_cb(char *ptr, size_t size, size_t nmemb,
                             void *userdata)
{
    struct fetch_sink *sink = userdata;
    size_t n = size * nmemb;
    long code = 0;

    if (curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &code)
        != CURLE_OK) {
        code = 0;
    }
    /* a redirect's body is dropped, within a bound: the transfer must end
       for libcurl to give the redirect's target */
    if (code >= 300 && code < 400 && n <= DSEC_FETCH_MAX_REDIRECT_BODY
        && sink->dropped <= DSEC_FETCH_MAX_REDIRECT_BODY - n) {
        sink->dropped += n;
        return n;
    }
    /* the body of an error page is of no use: stop at its first byte */
    if (code != 200) {
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
        proxy_down_until = dsec_clock_now() + (double)seconds;
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

/*
 * Everything decided once per fetch: the scheme (checked again: this back
 * end speaks http and https only) and a libcurl handle with its body sink.
 */
static dsec_rv fetch_http_prepare(struct fetch_http *f, DSEC_ERR *err)
{
    f->scheme = dsec_url_scheme(f->url);
    if ((f->scheme != DSEC_SCHEME_HTTP && f->scheme != DSEC_SCHEME_HTTPS)
        || (f->scheme & f->pol->cdp_schemes) == 0) {
        return dsec_err_set(err, DSEC_ERR_SCHEME, 0,
                            "scheme of %s is not allowed for HTTP fetching",
                            f->masked);
    }
    f->curl = curl_easy_init();
    if (f->curl == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0,
                            "cannot create a libcurl handle");
    }
    f->sink.curl = f->curl;
    f->sink.max = f->pol->max_crl_size;
    return DSEC_OK;
}

/*
 * libcurl's socket for a connection to address a: refused when a is in
 * deny_networks, unless a is the proxy's (every connection of a fetch
 * through the proxy goes to the proxy). The first refusal is kept for the
 * message; libcurl then tries the host's other addresses.
 */
static curl_socket_t fetch_open_socket(void *clientp, curlsocktype purpose,
                                       struct curl_sockaddr *a)
{
    struct fetch_http *f = clientp;
    char addr[INET6_ADDRSTRLEN];
    char rule[sizeof(f->denied_rule)];

    if (purpose == CURLSOCKTYPE_IPCXN && f->proxy == NULL
        && dsec_netdeny_match_sockaddr(f->pol->deny_networks, &a->addr, addr,
                                       sizeof(addr), rule, sizeof(rule))) {
        if (!f->denied) {
            f->denied = 1;
            snprintf(f->denied_addr, sizeof(f->denied_addr), "%s", addr);
            snprintf(f->denied_rule, sizeof(f->denied_rule), "%s", rule);
        }
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The options of the whole fetch; 0 when libcurl rejected one. */
static int fetch_http_setopts(struct fetch_http *f)
{
    CURL *curl = f->curl;
    const char *protocols;
    int ok = 1;

    if ((f->pol->cdp_schemes & DSEC_SCHEME_HTTP) == 0) {
        protocols = "https";
    } else if ((f->pol->cdp_schemes & DSEC_SCHEME_HTTPS) == 0) {
        protocols = "http";
    } else {
        protocols = "http,https";
    }
#define FETCH_SETOPT(opt, val) \
    ok = ok && curl_easy_setopt(curl, opt, val) == CURLE_OK
    FETCH_SETOPT(CURLOPT_ERRORBUFFER, f->errbuf);
    FETCH_SETOPT(CURLOPT_NOSIGNAL, 1L);
    FETCH_SETOPT(CURLOPT_NOPROGRESS, 1L);
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
    /* redirects are judged and followed by fetch_http_follow */
    FETCH_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    FETCH_SETOPT(CURLOPT_AUTOREFERER, 0L);
    FETCH_SETOPT(CURLOPT_OPENSOCKETFUNCTION, fetch_open_socket);
    FETCH_SETOPT(CURLOPT_OPENSOCKETDATA, f);
    FETCH_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->sink.max);
    FETCH_SETOPT(CURLOPT_WRITEFUNCTION, fetch_write_cb);
    FETCH_SETOPT(CURLOPT_WRITEDATA, &f->sink);
    FETCH_SETOPT(CURLOPT_USERAGENT, DSEC_FETCH_USER_AGENT);
    FETCH_SETOPT(CURLOPT_HTTPGET, 1L);
    /* no credentials from anywhere: URL userinfo, netrc, redirects */
    FETCH_SETOPT(CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
    FETCH_SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    FETCH_SETOPT(CURLOPT_UNRESTRICTED_AUTH, 0L);
    FETCH_SETOPT(CURLOPT_COOKIEFILE, NULL);
    FETCH_SETOPT(CURLOPT_NOPROXY, "");
    ok = ok && dsec_fetch_cond_headers(f->pol, &f->headers);
    FETCH_SETOPT(CURLOPT_HTTPHEADER, f->headers);
#undef FETCH_SETOPT
    return ok;
}

/* Is status a redirect that names its target (followed when allowed)? */
static int fetch_is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307
           || status == 308;
}

/* The outcome of a transfer that ran: redirect, status, failure or body. */
static dsec_rv fetch_http_outcome(struct fetch_http *f, CURLcode rc,
                                  DSEC_ERR *err)
{
    dsec_fetch_result *res = f->res;
    const char *target = NULL;
    long status = 0;

    if (curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status)
        != CURLE_OK) {
        status = 0;
    }
    res->status = status;
    if (rc == CURLE_OK && fetch_is_redirect(status)
        && curl_easy_getinfo(f->curl, CURLINFO_REDIRECT_URL, &target)
               == CURLE_OK
        && target != NULL) {
        f->redirect = strdup(target);
        return f->redirect != NULL
                   ? DSEC_OK
                   : dsec_err_set(err, DSEC_ERR_NOMEM, 0,
                                  "out of memory fetching %s", f->masked);
    }
    if (rc == CURLE_OK && (status == 200 || status == 304)) {
        dsec_fetch_cond_validators(f->curl, res);
        res->not_modified = status == 304 && dsec_fetch_cond_sent(f->pol);
        if (res->not_modified) {
            return DSEC_OK;
        }
    }
    if ((rc == CURLE_OK && status != 200) || f->sink.bad_status
        || (rc == CURLE_FILESIZE_EXCEEDED && status != 200 && status != 0)) {
        return fetch_http_status(status, f->masked, res, err);
    }
    if (rc != CURLE_OK && f->denied) {
        return dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                            "fetching %s refused: address %s is in "
                            "deny_networks (%s)",
                            f->masked, f->denied_addr, f->denied_rule);
    }
    if (rc != CURLE_OK) {
        return fetch_fail(rc, &f->sink, f->masked, res, f->errbuf,
                          f->pol->fetch_timeout, err);
    }
    if (f->sink.buf == NULL) {
        /* an empty body is still a success here; the parser judges it */
        f->sink.buf = malloc(1);
        if (f->sink.buf == NULL) {
            return dsec_err_set(err, DSEC_ERR_NOMEM, 0,
                                "out of memory fetching %s", f->masked);
        }
    }
    res->data = f->sink.buf;
    res->len = f->sink.len;
    f->sink.buf = NULL;
    return DSEC_OK;
}

/*
 * The transfer itself, unless the proxy is known down; what it tells of
 * the proxy is remembered.
 */
static dsec_rv fetch_http_perform(struct fetch_http *f, DSEC_ERR *err)
{
    const dsec_fetch_policy *pol = f->pol;
    CURLcode rc;

    if (f->proxy != NULL && pol->fail_cache > 0
        && fetch_proxy_is_down(f->proxy, dsec_clock_now(), f->errbuf,
                               sizeof(f->errbuf))) {
        return dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                            "fetching %s via %s failed: the proxy was "
                            "unreachable less than %ld s ago (%s)",
                            f->masked, f->res->route, pol->fail_cache,
                            f->errbuf);
    }
    rc = curl_easy_perform(f->curl);
    dsec_proxy_scrub_error(f->errbuf, sizeof(f->errbuf), f->proxy);
    if (f->proxy != NULL && pol->fail_cache > 0) {
        if (rc == CURLE_OK) {
            fetch_proxy_mark(f->proxy, 0, "");
        } else if (fetch_proxy_unreachable(f->curl, rc)) {
            fetch_proxy_mark(f->proxy, pol->fail_cache,
                             f->errbuf[0] != '\0' ? f->errbuf
                                                  : curl_easy_strerror(rc));
        }
    }
    return fetch_http_outcome(f, rc, err);
}

/*
 * One request, to f->url: its route (no_proxy is decided per URL), the
 * deny_networks check of an address literal sent to the proxy, what is
 * left of the deadline, then the transfer. A redirect leaves its target in
 * f->redirect.
 */
static dsec_rv fetch_http_hop(struct fetch_http *f, DSEC_ERR *err)
{
    long left_ms = (long)((f->deadline - dsec_clock_now()) * 1000.0);
    char host[256];
    int ok = 1;

    f->proxy =
        dsec_proxy_route(f->pol, f->url, f->res->route, sizeof(f->res->route));
    f->res->via_proxy = f->proxy != NULL;
    if (f->proxy != NULL && dsec_url_host(f->url, host, sizeof(host))
        && dsec_netdeny_match_text(f->pol->deny_networks, host, f->denied_rule,
                                   sizeof(f->denied_rule))) {
        return dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                            "fetching %s refused: address %s is in "
                            "deny_networks (%s)",
                            f->masked, host, f->denied_rule);
    }
    if (left_ms <= 0) {
        return dsec_err_set(err, DSEC_ERR_TIMEOUT, 0,
                            "timeout (%ld s) fetching %s after %d redirects",
                            f->pol->fetch_timeout, f->masked,
                            f->res->redirects);
    }
    /* only a 200 fills the sink, and it ends the fetch */
    f->sink.dropped = 0;
    f->sink.too_big = 0;
    f->sink.bad_status = 0;
    f->denied = 0;
    f->errbuf[0] = '\0';
    ok = ok && curl_easy_setopt(f->curl, CURLOPT_URL, f->url) == CURLE_OK;
    /* "" disables proxies, the environment's included */
    ok = ok
         && curl_easy_setopt(f->curl, CURLOPT_PROXY,
                             f->proxy != NULL ? f->proxy : "")
                == CURLE_OK;
    ok = ok
         && curl_easy_setopt(f->curl, CURLOPT_TIMEOUT_MS, left_ms) == CURLE_OK;
    ok = ok
         && curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT_MS, left_ms)
                == CURLE_OK;
    if (!ok) {
        return dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                            "libcurl rejected an option fetching %s: %s",
                            f->masked, f->errbuf);
    }
    return fetch_http_perform(f, err);
}

/* The hops of the fetch: each redirect judged before it is followed. */
static dsec_rv fetch_http_follow(struct fetch_http *f, DSEC_ERR *err)
{
    dsec_rv rv;

    for (;;) {
        rv = fetch_http_hop(f, err);
        if (rv != DSEC_OK || f->redirect == NULL) {
            return rv;
        }
        rv = dsec_redirect_check(f->pol->allow_redirects, f->res->status,
                                 f->url, f->redirect, f->res->redirects, err);
        if (rv != DSEC_OK) {
            return rv;
        }
        free(f->owned);
        f->owned = f->redirect;
        f->redirect = NULL;
        f->url = f->owned;
        f->res->redirects++;
        dsec_url_mask(f->url, f->masked, sizeof(f->masked));
    }
}

dsec_rv dsec_fetch_http(const dsec_fetch_policy *pol, const char *url,
                        dsec_fetch_result *res, DSEC_ERR *err)
{
    struct fetch_http f;
    dsec_rv rv;
    double start = dsec_clock_now();

    memset(&f, 0, sizeof(f));
    f.pol = pol;
    f.url = url;
    f.res = res;
    f.deadline = start + (double)pol->fetch_timeout;
    dsec_url_mask(url, f.masked, sizeof(f.masked));
    rv = fetch_http_prepare(&f, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    if (!fetch_http_setopts(&f)) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "libcurl rejected an option fetching %s: %s",
                          f.masked, f.errbuf);
        goto done;
    }
    rv = fetch_http_follow(&f, err);

done:
    res->seconds = dsec_clock_now() - start;
    if (dsec_log_enabled(DSEC_LOG_DEBUG)) {
        dsec_log(DSEC_LOG_DEBUG,
                 "fetch %s (%s): %s, status %ld, %zu bytes, %d redirects, "
                 "%.3f s",
                 f.masked, res->route, dsec_rv_name(rv), res->status, res->len,
                 res->redirects, res->seconds);
    }
    free(f.sink.buf);
    free(f.owned);
    free(f.redirect);
    curl_easy_cleanup(f.curl);
    curl_slist_free_all(f.headers);
    return rv;
}
