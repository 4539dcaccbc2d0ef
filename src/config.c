/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domainsec directives: defaults, strict parsing of each value, and a
 * masked description of the effective configuration. A bad value is an
 * error naming the directive and the value; it never falls back silently.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "domainsec/config.h"
#include "domainsec/log.h"

const char *const dsec_config_directives[DSEC_D_COUNT] = {
    "trust_dirs",   "cross_dirs",  "cache_dir",      "revocation",
    "check_depth",  "http_proxy",  "no_proxy",       "fetch_timeout",
    "max_crl_size", "stale_grace", "fail_cache",     "cdp_schemes",
    "log",          "log_level",   "max_path_depth", "max_signature_checks",
    "delta_crl",
};

#define MAX_FETCH_TIMEOUT 300
#define MAX_STALE_GRACE (30L * 24 * 3600)
#define MAX_FAIL_CACHE 3600
#define MAX_PATH_DEPTH 32
#define MAX_SIGNATURE_CHECKS 10000

dsec_config *dsec_config_new(void)
{
    dsec_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg == NULL) {
        return NULL;
    }
    cfg->trust_dirs = strdup(DSEC_DEFAULT_TRUST_DIRS);
    cfg->cross_dirs = strdup(DSEC_DEFAULT_CROSS_DIRS);
    cfg->cache_dir = strdup(DSEC_DEFAULT_CACHE_DIR);
    if (cfg->trust_dirs == NULL || cfg->cross_dirs == NULL
        || cfg->cache_dir == NULL) {
        dsec_config_free(cfg);
        return NULL;
    }
    cfg->revocation = DSEC_REVOCATION_REQUIRE;
    cfg->check_depth = DSEC_DEPTH_CHAIN;
    cfg->fetch_timeout = DSEC_DEFAULT_FETCH_TIMEOUT;
    cfg->max_crl_size = DSEC_DEFAULT_MAX_CRL_SIZE;
    cfg->stale_grace = 0;
    cfg->fail_cache = DSEC_DEFAULT_FAIL_CACHE;
    cfg->cdp_schemes = DSEC_SCHEME_HTTP | DSEC_SCHEME_LDAP;
    cfg->log = DSEC_LOG_SYSLOG;
    cfg->log_level = DSEC_LOG_INFO;
    cfg->max_path_depth = DSEC_DEFAULT_MAX_PATH_DEPTH;
    cfg->max_signature_checks = DSEC_DEFAULT_MAX_SIGNATURE_CHECKS;
    return cfg;
}

void dsec_config_free(dsec_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    free(cfg->trust_dirs);
    free(cfg->cross_dirs);
    free(cfg->cache_dir);
    free(cfg->http_proxy);
    free(cfg->no_proxy);
    free(cfg);
}

dsec_rv dsec_parse_seconds(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (text == NULL || *text == '\0' || isspace((unsigned char)*text)) {
        return DSEC_ERR_INVALID;
    }
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        return DSEC_ERR_INVALID;
    }
    *out = v;
    return DSEC_OK;
}

dsec_rv dsec_parse_size(const char *text, size_t *out)
{
    char *end = NULL;
    unsigned long long v, mult = 1;

    if (text == NULL || !isdigit((unsigned char)*text)) {
        return DSEC_ERR_INVALID;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || end == text) {
        return DSEC_ERR_INVALID;
    }
    if (*end != '\0') {
        switch (*end) {
        case 'k':
        case 'K':
            mult = 1024ULL;
            break;
        case 'm':
        case 'M':
            mult = 1024ULL * 1024;
            break;
        case 'g':
        case 'G':
            mult = 1024ULL * 1024 * 1024;
            break;
        default:
            return DSEC_ERR_INVALID;
        }
        if (end[1] != '\0') {
            return DSEC_ERR_INVALID;
        }
    }
    /* at least one byte, at most 4 GiB */
    if (v == 0 || v > (4ULL * 1024 * 1024 * 1024) / mult) {
        return DSEC_ERR_INVALID;
    }
    *out = (size_t)(v * mult);
    return DSEC_OK;
}

unsigned int dsec_url_scheme(const char *url)
{
    static const struct {
        const char *prefix;
        unsigned int bit;
    } schemes[] = {
        { "http://", DSEC_SCHEME_HTTP },
        { "https://", DSEC_SCHEME_HTTPS },
        { "ldap://", DSEC_SCHEME_LDAP },
        { "ldaps://", DSEC_SCHEME_LDAPS },
    };
    size_t i;

    if (url == NULL) {
        return 0;
    }
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strncasecmp(url, schemes[i].prefix, strlen(schemes[i].prefix))
            == 0) {
            return schemes[i].bit;
        }
    }
    return 0;
}

dsec_rv dsec_parse_schemes(const char *text, unsigned int *out)
{
    unsigned int bits = 0;
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
        if (w == 4 && strncasecmp(word, "http", 4) == 0) {
            bits |= DSEC_SCHEME_HTTP;
        } else if (w == 5 && strncasecmp(word, "https", 5) == 0) {
            bits |= DSEC_SCHEME_HTTPS;
        } else if (w == 4 && strncasecmp(word, "ldap", 4) == 0) {
            bits |= DSEC_SCHEME_LDAP;
        } else if (w == 5 && strncasecmp(word, "ldaps", 5) == 0) {
            bits |= DSEC_SCHEME_LDAPS;
        } else {
            return DSEC_ERR_INVALID;
        }
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

static int keyword(const char *value, const char *const *words, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(value, words[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static dsec_rv set_string(char **slot, const char *value)
{
    char *copy = NULL;

    if (*value != '\0') {
        copy = strdup(value);
        if (copy == NULL) {
            return DSEC_ERR_NOMEM;
        }
    }
    free(*slot);
    *slot = copy;
    return DSEC_OK;
}

static int has_space_or_ctrl(const char *s)
{
    for (; *s != '\0'; s++) {
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s)) {
            return 1;
        }
    }
    return 0;
}

dsec_rv dsec_config_set(dsec_config *cfg, const char *name, const char *value,
                        DSEC_ERR *err)
{
    static const char *const revocation[] = { "require", "soft-fail", "off" };
    static const char *const depth[] = { "chain", "leaf" };
    static const char *const deltas[] = { "require", "if-available", "ignore" };
    static const char *const logs[] = { "syslog", "stderr", "none" };
    static const char *const levels[] = { "error", "warning", "notice", "info",
                                          "debug" };
    const char *expect = NULL;
    int d, k;
    long secs;
    size_t size;
    unsigned int bits;
    dsec_rv rv;

    if (cfg == NULL || name == NULL || value == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "missing directive");
    }
    for (d = 0; d < DSEC_D_COUNT; d++) {
        if (strcmp(name, dsec_config_directives[d]) == 0) {
            break;
        }
    }
    switch (d) {
    case DSEC_D_TRUST_DIRS:
        return set_string(&cfg->trust_dirs, value);
    case DSEC_D_CROSS_DIRS:
        return set_string(&cfg->cross_dirs, value);
    case DSEC_D_CACHE_DIR:
        return set_string(&cfg->cache_dir, value);
    case DSEC_D_REVOCATION:
        k = keyword(value, revocation, 3);
        if (k < 0) {
            expect = "require, soft-fail or off";
            break;
        }
        cfg->revocation = (dsec_revocation_mode)k;
        return DSEC_OK;
    case DSEC_D_CHECK_DEPTH:
        k = keyword(value, depth, 2);
        if (k < 0) {
            expect = "chain or leaf";
            break;
        }
        cfg->check_depth = (dsec_check_depth)k;
        return DSEC_OK;
    case DSEC_D_DELTA_CRL:
        k = keyword(value, deltas, 3);
        if (k < 0) {
            expect = "require, if-available or ignore";
            break;
        }
        cfg->delta_crl = (dsec_delta_mode)k;
        return DSEC_OK;
    case DSEC_D_HTTP_PROXY:
        if (*value == '\0' || strcasecmp(value, "none") == 0) {
            return set_string(&cfg->http_proxy, "");
        }
        if (strcmp(value, "env") != 0
            && (strncasecmp(value, "http://", 7) != 0 || value[7] == '\0'
                || has_space_or_ctrl(value))) {
            expect = "none, env or http://[user:password@]host:port";
            break;
        }
        if (strcmp(value, "env") != 0 && strrchr(value + 7, '@') != NULL
            && strcspn(value + 7, "/?#")
                   < (size_t)(strrchr(value + 7, '@') - (value + 7))) {
            expect = "http://user:password@host:port with '/', '?' and '#' "
                     "of the user name and password percent-encoded "
                     "(%2F, %3F, %23)";
            break;
        }
        return set_string(&cfg->http_proxy, value);
    case DSEC_D_NO_PROXY:
        if (has_space_or_ctrl(value)) {
            expect = "a comma-separated list of hosts, domains or addresses";
            break;
        }
        return set_string(&cfg->no_proxy, value);
    case DSEC_D_FETCH_TIMEOUT:
        if (dsec_parse_seconds(value, 1, MAX_FETCH_TIMEOUT, &secs) != DSEC_OK) {
            expect = "whole seconds from 1 to 300";
            break;
        }
        cfg->fetch_timeout = secs;
        return DSEC_OK;
    case DSEC_D_STALE_GRACE:
        if (dsec_parse_seconds(value, 0, MAX_STALE_GRACE, &secs) != DSEC_OK) {
            expect = "whole seconds from 0 to 2592000";
            break;
        }
        cfg->stale_grace = secs;
        return DSEC_OK;
    case DSEC_D_FAIL_CACHE:
        if (dsec_parse_seconds(value, 0, MAX_FAIL_CACHE, &secs) != DSEC_OK) {
            expect = "whole seconds from 0 to 3600";
            break;
        }
        cfg->fail_cache = secs;
        return DSEC_OK;
    case DSEC_D_MAX_PATH_DEPTH:
        /* a count, parsed like whole seconds */
        if (dsec_parse_seconds(value, 1, MAX_PATH_DEPTH, &secs) != DSEC_OK) {
            expect = "a whole number from 1 to 32";
            break;
        }
        cfg->max_path_depth = (int)secs;
        return DSEC_OK;
    case DSEC_D_MAX_SIGNATURE_CHECKS:
        if (dsec_parse_seconds(value, 1, MAX_SIGNATURE_CHECKS, &secs)
            != DSEC_OK) {
            expect = "a whole number from 1 to 10000";
            break;
        }
        cfg->max_signature_checks = (int)secs;
        return DSEC_OK;
    case DSEC_D_MAX_CRL_SIZE:
        if (dsec_parse_size(value, &size) != DSEC_OK) {
            expect = "a size in bytes with an optional k, M or G suffix";
            break;
        }
        cfg->max_crl_size = size;
        return DSEC_OK;
    case DSEC_D_CDP_SCHEMES:
        if (dsec_parse_schemes(value, &bits) != DSEC_OK) {
            expect = "a comma-separated list of http, https, ldap, ldaps";
            break;
        }
        cfg->cdp_schemes = bits;
        return DSEC_OK;
    case DSEC_D_LOG:
        k = keyword(value, logs, 3);
        if (k < 0) {
            expect = "syslog, stderr or none";
            break;
        }
        cfg->log = (dsec_log_target)k;
        return DSEC_OK;
    case DSEC_D_LOG_LEVEL:
        k = keyword(value, levels, 5);
        if (k < 0) {
            expect = "error, warning, notice, info or debug";
            break;
        }
        cfg->log_level = (dsec_log_level)(DSEC_LOG_ERR + k);
        return DSEC_OK;
    default:
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "unknown directive '%s'",
                            name);
    }
    rv = DSEC_ERR_INVALID;
    {
        char shown[160];

        /* proxy credentials never reach an error message */
        if (d == DSEC_D_HTTP_PROXY) {
            dsec_log_mask_url(value, shown, sizeof(shown));
        } else {
            snprintf(shown, sizeof(shown), "%s", value);
        }
        dsec_err_set(err, rv, 0, "%s: invalid value '%s' (expected %s)", name,
                     shown, expect);
    }
    return rv;
}

void dsec_config_describe(const dsec_config *cfg, char *buf, size_t len)
{
    static const char *const revocation[] = { "require", "soft-fail", "off" };
    static const char *const deltas[] = { "require", "if-available", "ignore" };
    static const char *const logs[] = { "syslog", "stderr", "none" };
    static const char *const levels[] = { "error", "warning", "notice", "info",
                                          "debug" };
    char proxy[256];
    char schemes[64] = "";

    if (buf == NULL || len == 0) {
        return;
    }
    if (cfg == NULL) {
        buf[0] = '\0';
        return;
    }
    dsec_log_mask_url(cfg->http_proxy != NULL ? cfg->http_proxy : "", proxy,
                      sizeof(proxy));
    if (cfg->cdp_schemes & DSEC_SCHEME_HTTP) {
        strcat(schemes, "http,");
    }
    if (cfg->cdp_schemes & DSEC_SCHEME_HTTPS) {
        strcat(schemes, "https,");
    }
    if (cfg->cdp_schemes & DSEC_SCHEME_LDAP) {
        strcat(schemes, "ldap,");
    }
    if (cfg->cdp_schemes & DSEC_SCHEME_LDAPS) {
        strcat(schemes, "ldaps,");
    }
    if (schemes[0] != '\0') {
        schemes[strlen(schemes) - 1] = '\0';
    }
    snprintf(buf, len,
             "trust_dirs = %s\ncross_dirs = %s\ncache_dir = %s\n"
             "revocation = %s\ncheck_depth = %s\nhttp_proxy = %s\n"
             "no_proxy = %s\nfetch_timeout = %ld\nmax_crl_size = %zu\n"
             "stale_grace = %ld\nfail_cache = %ld\ncdp_schemes = %s\n"
             "log = %s\nlog_level = %s\nmax_path_depth = %d\n"
             "max_signature_checks = %d\ndelta_crl = %s\n",
             cfg->trust_dirs ? cfg->trust_dirs : "",
             cfg->cross_dirs ? cfg->cross_dirs : "",
             cfg->cache_dir ? cfg->cache_dir : "", revocation[cfg->revocation],
             cfg->check_depth == DSEC_DEPTH_CHAIN ? "chain" : "leaf",
             proxy[0] ? proxy : "none", cfg->no_proxy ? cfg->no_proxy : "",
             cfg->fetch_timeout, cfg->max_crl_size, cfg->stale_grace,
             cfg->fail_cache, schemes, logs[cfg->log],
             levels[cfg->log_level - DSEC_LOG_ERR], cfg->max_path_depth,
             cfg->max_signature_checks, deltas[cfg->delta_crl]);
}
