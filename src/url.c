/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRL distribution point URLs: the schemes domainsec knows, one table for
 * their names and bits (used to read a URL's scheme, to parse and to print
 * the cdp_schemes directive), the sanity check of a URL before it is
 * fetched, its host and origin (libcurl's parser, the one that fetches it)
 * and the masking of credentials in a URL or a scheme-less proxy string.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "domainsec/url.h"
#include "internal.h"

/* Longest URL accepted; a CDP is a short string, anything longer is junk. */
#define DSEC_URL_MAX 2048

static const struct {
    const char *name;
    unsigned int bit;
} schemes[] = {
    { "http", DSEC_SCHEME_HTTP },
    { "https", DSEC_SCHEME_HTTPS },
    { "ldap", DSEC_SCHEME_LDAP },
    { "ldaps", DSEC_SCHEME_LDAPS },
};

#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

unsigned int dsec_url_scheme(const char *url)
{
    size_t i;
    size_t n;

    if (url == NULL) {
        return 0;
    }
    for (i = 0; i < NSCHEMES; i++) {
        n = strlen(schemes[i].name);
        if (strncasecmp(url, schemes[i].name, n) == 0
            && strncmp(url + n, "://", 3) == 0) {
            return schemes[i].bit;
        }
    }
    return 0;
}

/* The bit of the scheme name word (w bytes, any case), 0 if none. */
static unsigned int scheme_bit(const char *word, size_t w)
{
    size_t i;

    for (i = 0; i < NSCHEMES; i++) {
        if (w == strlen(schemes[i].name)
            && strncasecmp(word, schemes[i].name, w) == 0) {
            return schemes[i].bit;
        }
    }
    return 0;
}

dsec_rv dsec_url_parse_schemes(const char *text, unsigned int *out)
{
    unsigned int bits = 0;
    unsigned int bit;
    const char *p = text;

    if (text == NULL || *text == '\0') {
        return DSEC_ERR_INVALID;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        const char *word = p;
        size_t w = n;

        while (w > 0 && isspace((unsigned char)*word)) {
            word++;
            w--;
        }
        while (w > 0 && isspace((unsigned char)word[w - 1])) {
            w--;
        }
        bit = scheme_bit(word, w);
        if (bit == 0) {
            return DSEC_ERR_INVALID;
        }
        bits |= bit;
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    if (bits == 0) {
        return DSEC_ERR_INVALID;
    }
    *out = bits;
    return DSEC_OK;
}

void dsec_url_schemes_text(unsigned int bits, char *buf, size_t len)
{
    size_t off = 0;
    size_t i;
    int n;

    if (buf == NULL || len == 0) {
        return;
    }
    buf[0] = '\0';
    for (i = 0; i < NSCHEMES; i++) {
        if ((bits & schemes[i].bit) == 0 || off >= len) {
            continue;
        }
        n = snprintf(buf + off, len - off, "%s%s", off > 0 ? "," : "",
                     schemes[i].name);
        off = n < 0 ? off : off + (size_t)n;
    }
}

/* A scheme as RFC 3986 spells it (ALPHA *(ALPHA / DIGIT / + / - / .)),
   followed by "://": the length of "scheme://", else 0. */
static size_t scheme_prefix(const char *url)
{
    size_t i = 0;

    if (!isalpha((unsigned char)url[0])) {
        return 0;
    }
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-'
           || url[i] == '.') {
        i++;
    }
    return strncmp(url + i, "://", 3) == 0 ? i + 3 : 0;
}

int dsec_url_userinfo(const char *url, const char **start, const char **at)
{
    const char *auth;
    const char *last;

    if (url == NULL) {
        return 0;
    }
    auth = url + scheme_prefix(url);
    /* the last '@' anywhere: a password holding an unencoded '@', '/', '?'
       or '#' must not show, and masking too much is harmless */
    last = strrchr(auth, '@');
    if (last == NULL) {
        return 0;
    }
    *start = auth;
    *at = last;
    return 1;
}

void dsec_url_mask(const char *url, char *buf, size_t len)
{
    const char *auth, *at;

    if (buf == NULL || len == 0) {
        return;
    }
    if (url == NULL) {
        buf[0] = '\0';
        return;
    }
    if (!dsec_url_userinfo(url, &auth, &at)) {
        snprintf(buf, len, "%s", url);
        return;
    }
    snprintf(buf, len, "%.*s[****]%s", (int)(auth - url), url, at);
}

dsec_rv dsec_url_check(const char *url, DSEC_ERR *err)
{
    size_t i;
    size_t len = strnlen(url, DSEC_URL_MAX + 1);

    if (len == 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "empty URL");
    }
    if (len > DSEC_URL_MAX) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "URL longer than %d characters refused",
                            DSEC_URL_MAX);
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c >= 0x7f) {
            return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                "URL contains a space, control or non-ASCII "
                                "character at offset %zu",
                                i);
        }
    }
    return DSEC_OK;
}

/* url parsed by libcurl, or NULL. */
static CURLU *url_parse(const char *url)
{
    CURLU *u = curl_url();

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        u = NULL;
    }
    return u;
}

/* The host of u, lower case, without IPv6 brackets or a trailing dot, into
   buf; *v6 set for an IPv6 address. 0 when there is none or it is too long. */
static int url_host_of(CURLU *u, char *buf, size_t len, int *v6)
{
    char *host = NULL;
    const char *h;
    size_t n;
    size_t i;
    int ok = 0;

    *v6 = 0;
    if (len == 0 || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        goto done;
    }
    h = host;
    n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
        *v6 = 1;
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
    return ok;
}

int dsec_url_host(const char *url, char *buf, size_t len)
{
    CURLU *u = url_parse(url);
    int v6;
    int ok = u != NULL && url_host_of(u, buf, len, &v6);

    curl_url_cleanup(u);
    return ok;
}

int dsec_url_origin(const char *url, char *buf, size_t len)
{
    CURLU *u = url_parse(url);
    char host[256];
    char *scheme = NULL;
    char *port = NULL;
    char *p;
    int v6 = 0;
    int n;
    int ok = 0;

    if (u == NULL || !url_host_of(u, host, sizeof(host), &v6)
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)
               != CURLUE_OK) {
        goto done;
    }
    for (p = scheme; *p != '\0'; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    n = snprintf(buf, len, "%s://%s%s%s:%s", scheme, v6 ? "[" : "", host,
                 v6 ? "]" : "", port);
    ok = n > 0 && (size_t)n < len;

done:
    curl_free(scheme);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}
