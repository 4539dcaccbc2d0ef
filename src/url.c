/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRL distribution point URLs: the schemes domainsec knows, one table for
 * their names and bits (used to read a URL's scheme, to parse and to print
 * the cdp_schemes directive), and the masking of credentials in a URL.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "domainsec/url.h"
#include "internal.h"

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

void dsec_url_mask(const char *url, char *buf, size_t len)
{
    const char *auth, *at, *end;

    if (buf == NULL || len == 0) {
        return;
    }
    if (url == NULL) {
        buf[0] = '\0';
        return;
    }
    auth = strstr(url, "://");
    if (auth == NULL) {
        snprintf(buf, len, "%s", url);
        return;
    }
    auth += 3;
    /* up to the last '@' anywhere: a password with an unencoded '/', '?'
       or '#' must not leak, and masking too much is harmless */
    end = auth + strlen(auth);
    at = NULL;
    for (const char *p = auth; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (at == NULL) {
        snprintf(buf, len, "%s", url);
        return;
    }
    snprintf(buf, len, "%.*s[****]%s", (int)(auth - url), url, at);
}
