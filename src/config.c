/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domainsec directives: defaults, strict parsing of each value, and a
 * masked description of the effective configuration. One table describes
 * every directive (its kind of value, its field, its range or keywords);
 * a setter per kind parses and stores, a printer per kind describes. A bad
 * value is an error naming the directive and the value; it never falls
 * back silently.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stddef.h>
#include "domainsec/config.h"
#include "domainsec/log.h"
#include "domainsec/url.h"
#include "internal.h"

const char *const dsec_config_directives[DSEC_D_COUNT] = {
    "trust_dirs",   "cross_dirs",      "cache_dir",      "revocation",
    "check_depth",  "http_proxy",      "no_proxy",       "fetch_timeout",
    "max_crl_size", "stale_grace",     "fail_cache",     "cdp_schemes",
    "log",          "log_level",       "max_path_depth", "max_signature_checks",
    "delta_crl",    "allow_redirects", "deny_networks",  "verdict_ttl",
    "max_crl_age",
};

#define MAX_FETCH_TIMEOUT 300
#define MAX_STALE_GRACE (30L * 24 * 3600)
#define MAX_FAIL_CACHE 3600
#define MAX_PATH_DEPTH 32
#define MAX_SIGNATURE_CHECKS 10000
#define MAX_VERDICT_TTL 86400L
#define MAX_CRL_AGE (30L * 24 * 3600)

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
    cfg->allow_redirects = DSEC_REDIRECTS_SAME_ORIGIN;
    cfg->verdict_ttl = DSEC_DEFAULT_VERDICT_TTL;
    cfg->max_crl_age = DSEC_DEFAULT_MAX_CRL_AGE;
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
    free(cfg->deny_networks);
    free(cfg);
}

dsec_rv dsec_config_parse_seconds(const char *text, long min, long max,
                                  long *out)
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

dsec_rv dsec_config_parse_size(const char *text, size_t *out)
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

/* ------------------------------------------------------------- the table */

typedef enum {
    KIND_STRING, /* char *, "" means not set (NULL) */
    KIND_PROXY, /* char *: none, env or an http:// URL */
    KIND_HOSTS, /* char *: a list without blanks or control characters */
    KIND_NETWORKS, /* char *: a list of CIDR blocks, dsec_netdeny_check */
    KIND_KEYWORD, /* an enum: base + the index of the word */
    KIND_SECONDS, /* long, from min to max */
    KIND_COUNT, /* int, from min to max, parsed like seconds */
    KIND_SIZE, /* size_t, dsec_config_parse_size */
    KIND_SCHEMES /* unsigned int, dsec_url_parse_schemes */
} value_kind;

typedef struct {
    value_kind kind;
    size_t off; /* offsetof the field in dsec_config */
    long min, max; /* KIND_SECONDS, KIND_COUNT */
    const char *const *words; /* KIND_KEYWORD, NULL-terminated */
    int base; /* KIND_KEYWORD: the value of the first word */
    /* what a valid value looks like, for errors; KIND_SECONDS and
       KIND_COUNT say it from min and max */
    const char *expect;
} directive_row;

static const char *const revocation_words[] = { "require", "soft-fail", "off",
                                                NULL };
static const char *const depth_words[] = { "chain", "leaf", NULL };
static const char *const delta_words[] = { "require", "if-available", "ignore",
                                           NULL };
static const char *const log_words[] = { "syslog", "stderr", "none", NULL };
static const char *const level_words[] = { "error", "warning", "notice",
                                           "info",  "debug",   NULL };
static const char *const redirect_words[] = { "same-origin", "any", "none",
                                              NULL };

/* What a valid value looks like, where a row has no room for it. */
static const char expect_proxy[] =
    "none, env or http://[user:password@]host:port";
static const char expect_hosts[] =
    "a comma-separated list of hosts, domains or addresses";
static const char expect_size[] =
    "a size in bytes with an optional k, M or G suffix";
static const char expect_schemes[] =
    "a comma-separated list of http, https, ldap, ldaps";
static const char expect_levels[] = "error, warning, notice, info or debug";
static const char expect_networks[] =
    "a comma-separated list of IPv4 or IPv6 addresses with an optional /bits";

/* Rows of the table, by kind. */
#define FIELD(f) offsetof(dsec_config, f)
/* clang-format off */
#define ROW(f, kind, expect) { kind, FIELD(f), 0, 0, NULL, 0, expect }
#define ROW_KEYWORD(f, words, base, expect) \
    { KIND_KEYWORD, FIELD(f), 0, 0, words, base, expect }
#define ROW_RANGE(f, kind, min, max) { kind, FIELD(f), min, max, NULL, 0, NULL }
/* clang-format on */

/* Indexed by dsec_directive; names in dsec_config_directives[]. */
static const directive_row directive_rows[DSEC_D_COUNT] = {
    [DSEC_D_TRUST_DIRS] = ROW(trust_dirs, KIND_STRING, NULL),
    [DSEC_D_CROSS_DIRS] = ROW(cross_dirs, KIND_STRING, NULL),
    [DSEC_D_CACHE_DIR] = ROW(cache_dir, KIND_STRING, NULL),
    [DSEC_D_REVOCATION] =
        ROW_KEYWORD(revocation, revocation_words, DSEC_REVOCATION_REQUIRE,
                    "require, soft-fail or off"),
    [DSEC_D_CHECK_DEPTH] = ROW_KEYWORD(check_depth, depth_words,
                                       DSEC_DEPTH_CHAIN, "chain or leaf"),
    [DSEC_D_HTTP_PROXY] = ROW(http_proxy, KIND_PROXY, expect_proxy),
    [DSEC_D_NO_PROXY] = ROW(no_proxy, KIND_HOSTS, expect_hosts),
    [DSEC_D_FETCH_TIMEOUT] =
        ROW_RANGE(fetch_timeout, KIND_SECONDS, 1, MAX_FETCH_TIMEOUT),
    [DSEC_D_MAX_CRL_SIZE] = ROW(max_crl_size, KIND_SIZE, expect_size),
    [DSEC_D_STALE_GRACE] =
        ROW_RANGE(stale_grace, KIND_SECONDS, 0, MAX_STALE_GRACE),
    [DSEC_D_FAIL_CACHE] =
        ROW_RANGE(fail_cache, KIND_SECONDS, 0, MAX_FAIL_CACHE),
    [DSEC_D_CDP_SCHEMES] = ROW(cdp_schemes, KIND_SCHEMES, expect_schemes),
    [DSEC_D_LOG] =
        ROW_KEYWORD(log, log_words, DSEC_LOG_SYSLOG, "syslog, stderr or none"),
    [DSEC_D_LOG_LEVEL] =
        ROW_KEYWORD(log_level, level_words, DSEC_LOG_ERR, expect_levels),
    [DSEC_D_MAX_PATH_DEPTH] =
        ROW_RANGE(max_path_depth, KIND_COUNT, 1, MAX_PATH_DEPTH),
    [DSEC_D_MAX_SIGNATURE_CHECKS] =
        ROW_RANGE(max_signature_checks, KIND_COUNT, 1, MAX_SIGNATURE_CHECKS),
    [DSEC_D_DELTA_CRL] = ROW_KEYWORD(delta_crl, delta_words, DSEC_DELTA_REQUIRE,
                                     "require, if-available or ignore"),
    [DSEC_D_ALLOW_REDIRECTS] =
        ROW_KEYWORD(allow_redirects, redirect_words, DSEC_REDIRECTS_SAME_ORIGIN,
                    "same-origin, any or none"),
    [DSEC_D_DENY_NETWORKS] = ROW(deny_networks, KIND_NETWORKS, expect_networks),
    [DSEC_D_VERDICT_TTL] =
        ROW_RANGE(verdict_ttl, KIND_SECONDS, 1, MAX_VERDICT_TTL),
    [DSEC_D_MAX_CRL_AGE] =
        ROW_RANGE(max_crl_age, KIND_SECONDS, 60, MAX_CRL_AGE),
};

/* KIND_KEYWORD fields are enums stored and read as int. */
_Static_assert(sizeof(dsec_revocation_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(dsec_check_depth) == sizeof(int), "enum size");
_Static_assert(sizeof(dsec_delta_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(dsec_log_target) == sizeof(int), "enum size");
_Static_assert(sizeof(dsec_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(dsec_redirect_mode) == sizeof(int), "enum size");

static void *field(dsec_config *cfg, const directive_row *row)
{
    return (char *)cfg + row->off;
}

static const void *cfield(const dsec_config *cfg, const directive_row *row)
{
    return (const char *)cfg + row->off;
}

/* ------------------------------------------------------------ setting */

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

/*
 * http_proxy: NULL when the value is valid, else what is expected. A user
 * name or password holding '/', '?' or '#' would end the authority early:
 * they must come percent-encoded.
 */
static const char *proxy_problem(const char *value, const char *expect)
{
    const char *at;

    if (strcmp(value, "env") == 0) {
        return NULL;
    }
    if (strncasecmp(value, "http://", 7) != 0 || value[7] == '\0'
        || has_space_or_ctrl(value)) {
        return expect;
    }
    at = strrchr(value + 7, '@');
    if (at != NULL && strcspn(value + 7, "/?#") < (size_t)(at - (value + 7))) {
        return "http://user:password@host:port with '/', '?' and '#' "
               "of the user name and password percent-encoded "
               "(%2F, %3F, %23)";
    }
    return NULL;
}

static int keyword(const char *value, const char *const *words)
{
    int i;

    for (i = 0; words[i] != NULL; i++) {
        if (strcasecmp(value, words[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/*
 * Parse value into the directive's field. DSEC_ERR_INVALID sets *bad to
 * what a valid value looks like (row->expect unless the kind says more).
 */
static dsec_rv set_value(dsec_config *cfg, const directive_row *row,
                         const char *value, const char **bad)
{
    void *slot = field(cfg, row);
    long num;
    int k;

    *bad = row->expect;
    switch (row->kind) {
    case KIND_STRING:
        return set_string(slot, value);
    case KIND_PROXY:
        if (*value == '\0' || strcasecmp(value, "none") == 0) {
            return set_string(slot, "");
        }
        *bad = proxy_problem(value, row->expect);
        return *bad != NULL ? DSEC_ERR_INVALID : set_string(slot, value);
    case KIND_HOSTS:
        return has_space_or_ctrl(value) ? DSEC_ERR_INVALID
                                        : set_string(slot, value);
    case KIND_NETWORKS:
        return dsec_netdeny_check(value, NULL) != DSEC_OK
                   ? DSEC_ERR_INVALID
                   : set_string(slot, value);
    case KIND_KEYWORD:
        k = keyword(value, row->words);
        if (k < 0) {
            return DSEC_ERR_INVALID;
        }
        k += row->base;
        memcpy(slot, &k, sizeof(k));
        return DSEC_OK;
    case KIND_SECONDS:
    case KIND_COUNT:
        if (dsec_config_parse_seconds(value, row->min, row->max, &num)
            != DSEC_OK) {
            return DSEC_ERR_INVALID;
        }
        if (row->kind == KIND_COUNT) {
            *(int *)slot = (int)num;
        } else {
            *(long *)slot = num;
        }
        return DSEC_OK;
    case KIND_SIZE:
        return dsec_config_parse_size(value, slot);
    case KIND_SCHEMES:
        return dsec_url_parse_schemes(value, slot);
    }
    return DSEC_ERR_INTERNAL;
}

dsec_rv dsec_config_set(dsec_config *cfg, const char *name, const char *value,
                        DSEC_ERR *err)
{
    const directive_row *row;
    const char *bad = NULL;
    char expect[96];
    char shown[160];
    int d;
    dsec_rv rv;

    if (cfg == NULL || name == NULL || value == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "missing directive");
    }
    for (d = 0; d < DSEC_D_COUNT; d++) {
        if (strcmp(name, dsec_config_directives[d]) == 0) {
            break;
        }
    }
    if (d == DSEC_D_COUNT) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "unknown directive '%s'",
                            name);
    }
    row = &directive_rows[d];
    rv = set_value(cfg, row, value, &bad);
    if (rv != DSEC_ERR_INVALID) {
        return rv;
    }
    if (row->kind == KIND_SECONDS || row->kind == KIND_COUNT) {
        snprintf(expect, sizeof(expect), "%s from %ld to %ld",
                 row->kind == KIND_SECONDS ? "whole seconds" : "a whole number",
                 row->min, row->max);
        bad = expect;
    }
    /* proxy credentials never reach an error message */
    if (row->kind == KIND_PROXY) {
        dsec_url_mask(value, shown, sizeof(shown));
    } else {
        snprintf(shown, sizeof(shown), "%s", value);
    }
    return dsec_err_set(err, rv, 0, "%s: invalid value '%s' (expected %s)",
                        name, shown, bad);
}

/* --------------------------------------------------------- describing */

typedef struct {
    char *buf;
    size_t len;
    size_t off; /* at most len - 1: what is written, truncated */
} describe_out;

static void put(describe_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(describe_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->off + 1 >= o->len) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    o->off = (size_t)n < o->len - o->off ? o->off + (size_t)n : o->len - 1;
}

/*
 * The keyword of a KIND_KEYWORD field; a value past the words gives the last
 * one (check_depth has always printed "leaf" for anything but chain).
 */
static const char *keyword_of(const dsec_config *cfg, const directive_row *row)
{
    int v;
    int n = 0;

    memcpy(&v, cfield(cfg, row), sizeof(v));
    v -= row->base;
    while (row->words[n] != NULL) {
        n++;
    }
    return row->words[v >= 0 && v < n ? v : n - 1];
}

/* One "name = value" line, secrets masked. */
static void describe_one(describe_out *o, const dsec_config *cfg, int d)
{
    const directive_row *row = &directive_rows[d];
    const char *name = dsec_config_directives[d];
    const void *slot = cfield(cfg, row);
    const char *str;
    char text[256];

    switch (row->kind) {
    case KIND_STRING:
    case KIND_HOSTS:
    case KIND_NETWORKS:
        str = *(char *const *)slot;
        put(o, "%s = %s\n", name, str != NULL ? str : "");
        break;
    case KIND_PROXY:
        str = *(char *const *)slot;
        dsec_url_mask(str != NULL ? str : "", text, sizeof(text));
        put(o, "%s = %s\n", name, text[0] != '\0' ? text : "none");
        break;
    case KIND_KEYWORD:
        put(o, "%s = %s\n", name, keyword_of(cfg, row));
        break;
    case KIND_SECONDS:
        put(o, "%s = %ld\n", name, *(const long *)slot);
        break;
    case KIND_COUNT:
        put(o, "%s = %d\n", name, *(const int *)slot);
        break;
    case KIND_SIZE:
        put(o, "%s = %zu\n", name, *(const size_t *)slot);
        break;
    case KIND_SCHEMES:
        dsec_url_schemes_text(*(const unsigned int *)slot, text, sizeof(text));
        put(o, "%s = %s\n", name, text);
        break;
    }
}

void dsec_config_describe(const dsec_config *cfg, char *buf, size_t len)
{
    describe_out o = { buf, len, 0 };
    int d;

    if (buf == NULL || len == 0) {
        return;
    }
    buf[0] = '\0';
    if (cfg == NULL) {
        return;
    }
    for (d = 0; d < DSEC_D_COUNT; d++) {
        describe_one(&o, cfg, d);
    }
}
