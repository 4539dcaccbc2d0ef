/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domainsec configuration: the directives of the openssl.cnf section,
 * their defaults and their strict parsing. Used by the provider (values come
 * from core_get_params) and by the CLI.
 */
#ifndef DOMAINSEC_CONFIG_H
#define DOMAINSEC_CONFIG_H

#include <stddef.h>
#include "domainsec/common.h"
#include "domainsec/log.h" /* log, log_level */
#include "domainsec/url.h" /* cdp_schemes: DSEC_SCHEME_* bits */

typedef enum {
    DSEC_REVOCATION_REQUIRE = 0,
    DSEC_REVOCATION_SOFT_FAIL,
    DSEC_REVOCATION_OFF
} dsec_revocation_mode;

typedef enum { DSEC_DEPTH_CHAIN = 0, DSEC_DEPTH_LEAF } dsec_check_depth;

/* delta_crl: when a complete CRL or the certificate carries freshestCRL. */
typedef enum {
    DSEC_DELTA_REQUIRE = 0, /* a delta must be obtained and applied */
    DSEC_DELTA_IF_AVAILABLE, /* applied when obtained, else not needed */
    DSEC_DELTA_IGNORE /* never fetched nor applied */
} dsec_delta_mode;

/* allow_redirects: which HTTP redirects a CDP fetch follows. */
typedef enum {
    DSEC_REDIRECTS_SAME_ORIGIN = 0, /* same scheme, host and port only */
    DSEC_REDIRECTS_ANY, /* any host and port, the scheme kept */
    DSEC_REDIRECTS_NONE /* none */
} dsec_redirect_mode;

/* Directive indices; the order of dsec_config_directives[]. */
typedef enum {
    DSEC_D_TRUST_DIRS = 0,
    DSEC_D_CROSS_DIRS,
    DSEC_D_CACHE_DIR,
    DSEC_D_REVOCATION,
    DSEC_D_CHECK_DEPTH,
    DSEC_D_HTTP_PROXY,
    DSEC_D_NO_PROXY,
    DSEC_D_FETCH_TIMEOUT,
    DSEC_D_MAX_CRL_SIZE,
    DSEC_D_STALE_GRACE,
    DSEC_D_FAIL_CACHE,
    DSEC_D_CDP_SCHEMES,
    DSEC_D_LOG,
    DSEC_D_LOG_LEVEL,
    DSEC_D_MAX_PATH_DEPTH,
    DSEC_D_MAX_SIGNATURE_CHECKS,
    DSEC_D_DELTA_CRL,
    DSEC_D_ALLOW_REDIRECTS,
    DSEC_D_DENY_NETWORKS,
    DSEC_D_VERDICT_TTL,
    DSEC_D_MAX_CRL_AGE,
    DSEC_D_COUNT
} dsec_directive;

/* Directive names, indexed by dsec_directive. */
extern const char *const dsec_config_directives[DSEC_D_COUNT];

typedef struct dsec_config {
    char *trust_dirs; /* ':'-separated, NULL or "" for none */
    char *cross_dirs;
    char *cache_dir; /* NULL or "" for memory cache only */
    dsec_revocation_mode revocation;
    dsec_check_depth check_depth;
    char *http_proxy; /* NULL: direct; "env": from the environment */
    char *no_proxy;
    long fetch_timeout; /* seconds, whole fetch */
    size_t max_crl_size; /* bytes */
    long stale_grace; /* seconds */
    long fail_cache; /* seconds a failed fetch is remembered */
    unsigned int cdp_schemes; /* DSEC_SCHEME_* bits */
    dsec_log_target log;
    dsec_log_level log_level;
    int max_path_depth; /* CA certificates above the leaf in a path */
    int max_signature_checks; /* per verification, in the path builder */
    dsec_delta_mode delta_crl;
    dsec_redirect_mode allow_redirects;
    char *deny_networks; /* CIDR blocks never connected to; NULL: none */
    long verdict_ttl; /* seconds a recorded leaf verdict lives */
    long
        max_crl_age; /* seconds after thisUpdate a CRL is refreshed at the latest */
} dsec_config;

#define DSEC_DEFAULT_TRUST_DIRS "/etc/domainsec/roots"
#define DSEC_DEFAULT_CROSS_DIRS "/etc/domainsec/cross"
#define DSEC_DEFAULT_CACHE_DIR "/var/cache/domainsec"
#define DSEC_DEFAULT_FETCH_TIMEOUT 10
/* the largest public CRLs are 16-20 MB: twice that, and no more memory
   for a junk body */
#define DSEC_DEFAULT_MAX_CRL_SIZE (32u * 1024u * 1024u)
#define DSEC_DEFAULT_FAIL_CACHE 10
#define DSEC_DEFAULT_MAX_PATH_DEPTH 10
#define DSEC_DEFAULT_MAX_SIGNATURE_CHECKS 100
#define DSEC_DEFAULT_VERDICT_TTL 300
#define DSEC_DEFAULT_MAX_CRL_AGE 86400

/* A config holding every default. */
dsec_config *dsec_config_new(void);
void dsec_config_free(dsec_config *cfg);

/*
 * Set one directive from its text. On a bad value returns DSEC_ERR_INVALID
 * and err->msg names the directive and the value, e.g.
 * "revocation: invalid value 'maybe' (expected require, soft-fail or off)".
 * An unknown directive name is DSEC_ERR_INVALID too.
 */
dsec_rv dsec_config_set(dsec_config *cfg, const char *name, const char *value,
                        DSEC_ERR *err);

/*
 * The value parsers of the directives; each writes *out only on success.
 * A size: bytes with an optional k, M or G suffix (any case), from 1 byte
 * to 4 GiB. Seconds (or any count): a decimal integer from min to max.
 */
dsec_rv dsec_config_parse_size(const char *text, size_t *out);
dsec_rv dsec_config_parse_seconds(const char *text, long min, long max,
                                  long *out);

/* One line "name = value" per directive into buf (secrets masked). */
void dsec_config_describe(const dsec_config *cfg, char *buf, size_t len);

#endif /* DOMAINSEC_CONFIG_H */
