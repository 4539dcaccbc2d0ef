/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/config.c: the defaults of a new configuration, the
 * strict parsing of every directive (good and bad values, the error message
 * naming directive and value, a failed set keeping the old value), URL
 * scheme detection and the masked description of the configuration.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "domainsec/config.h"
#include "testutil.h"

static dsec_config *new_cfg(void)
{
    dsec_config *cfg = dsec_config_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    return cfg;
}

static void test_config_defaults(void)
{
    dsec_config *cfg = new_cfg();

    CU_ASSERT_EQUAL(cfg->revocation, DSEC_REVOCATION_REQUIRE);
    CU_ASSERT_EQUAL(cfg->check_depth, DSEC_DEPTH_CHAIN);
    CU_ASSERT_EQUAL(cfg->delta_crl, DSEC_DELTA_REQUIRE);
    CU_ASSERT_EQUAL(cfg->fetch_timeout, 10);
    CU_ASSERT_EQUAL(cfg->max_crl_size, (size_t)32 * 1024 * 1024);
    CU_ASSERT_EQUAL(cfg->cdp_schemes, DSEC_SCHEME_HTTP | DSEC_SCHEME_LDAP);
    CU_ASSERT_EQUAL(cfg->log, DSEC_LOG_SYSLOG);
    CU_ASSERT_EQUAL(cfg->log_level, DSEC_LOG_INFO);
    CU_ASSERT_EQUAL(cfg->fail_cache, 10);
    CU_ASSERT_EQUAL(cfg->max_path_depth, 10);
    CU_ASSERT_EQUAL(cfg->max_signature_checks, 100);
    CU_ASSERT_EQUAL(cfg->stale_grace, 0);
    CU_ASSERT_EQUAL(cfg->allow_redirects, DSEC_REDIRECTS_SAME_ORIGIN);
    CU_ASSERT_PTR_NULL(cfg->deny_networks);
    CU_ASSERT_EQUAL(cfg->verdict_ttl, 300);
    CU_ASSERT_EQUAL(cfg->max_crl_age, 86400);
    CU_ASSERT_PTR_NULL(cfg->http_proxy);
    CU_ASSERT_PTR_NOT_NULL(cfg->trust_dirs);
    if (cfg->trust_dirs != NULL) {
        CU_ASSERT_STRING_EQUAL(cfg->trust_dirs, DSEC_DEFAULT_TRUST_DIRS);
    }
    CU_ASSERT_PTR_NOT_NULL(cfg->cross_dirs);
    if (cfg->cross_dirs != NULL) {
        CU_ASSERT_STRING_EQUAL(cfg->cross_dirs, DSEC_DEFAULT_CROSS_DIRS);
    }
    CU_ASSERT_PTR_NOT_NULL(cfg->cache_dir);
    if (cfg->cache_dir != NULL) {
        CU_ASSERT_STRING_EQUAL(cfg->cache_dir, DSEC_DEFAULT_CACHE_DIR);
    }
    dsec_config_free(cfg);
    dsec_config_free(NULL);
}

static void test_config_directive_names(void)
{
    static const char *const expected[DSEC_D_COUNT] = {
        "trust_dirs",
        "cross_dirs",
        "cache_dir",
        "revocation",
        "check_depth",
        "http_proxy",
        "no_proxy",
        "fetch_timeout",
        "max_crl_size",
        "stale_grace",
        "fail_cache",
        "cdp_schemes",
        "log",
        "log_level",
        "max_path_depth",
        "max_signature_checks",
        "delta_crl",
        "allow_redirects",
        "deny_networks",
        "verdict_ttl",
        "max_crl_age",
    };
    int i;

    for (i = 0; i < DSEC_D_COUNT; i++) {
        CU_ASSERT_PTR_NOT_NULL(dsec_config_directives[i]);
        if (dsec_config_directives[i] != NULL) {
            CU_ASSERT_STRING_EQUAL(dsec_config_directives[i], expected[i]);
        }
    }
}

/* Set name = value, asserting success. */
static void set_ok(dsec_config *cfg, const char *name, const char *value)
{
    DSEC_ERR err;
    dsec_rv rv;

    memset(&err, 0, sizeof(err));
    rv = dsec_config_set(cfg, name, value, &err);
    CU_ASSERT_EQUAL(rv, DSEC_OK);
    if (rv != DSEC_OK) {
        fprintf(stderr, "\n  %s = '%s' rejected: %s\n", name, value, err.msg);
    }
}

static void test_config_sizes(void)
{
    dsec_config *cfg = new_cfg();
    size_t sz = 7;

    set_ok(cfg, "max_crl_size", "64M");
    CU_ASSERT_EQUAL(cfg->max_crl_size, (size_t)64 * 1024 * 1024);
    set_ok(cfg, "max_crl_size", "512k");
    CU_ASSERT_EQUAL(cfg->max_crl_size, (size_t)512 * 1024);
    set_ok(cfg, "max_crl_size", "1G");
    CU_ASSERT_EQUAL(cfg->max_crl_size, (size_t)1024 * 1024 * 1024);
    set_ok(cfg, "max_crl_size", "1000");
    CU_ASSERT_EQUAL(cfg->max_crl_size, (size_t)1000);

    CU_ASSERT_EQUAL(dsec_config_parse_size("2M", &sz), DSEC_OK);
    CU_ASSERT_EQUAL(sz, (size_t)2 * 1024 * 1024);
    sz = 7;
    CU_ASSERT_EQUAL(dsec_config_parse_size("64Q", &sz), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_size("", &sz), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_size("-1", &sz), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_size("M", &sz), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_size("99999999999999999999", &sz),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_size("99999999999999G", &sz),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(sz, (size_t)7);
    dsec_config_free(cfg);
}

static void test_config_good_values(void)
{
    dsec_config *cfg = new_cfg();

    set_ok(cfg, "revocation", "soft-fail");
    CU_ASSERT_EQUAL(cfg->revocation, DSEC_REVOCATION_SOFT_FAIL);
    set_ok(cfg, "revocation", "off");
    CU_ASSERT_EQUAL(cfg->revocation, DSEC_REVOCATION_OFF);
    set_ok(cfg, "revocation", "require");
    CU_ASSERT_EQUAL(cfg->revocation, DSEC_REVOCATION_REQUIRE);

    set_ok(cfg, "check_depth", "leaf");
    CU_ASSERT_EQUAL(cfg->check_depth, DSEC_DEPTH_LEAF);
    set_ok(cfg, "check_depth", "chain");
    CU_ASSERT_EQUAL(cfg->check_depth, DSEC_DEPTH_CHAIN);
    set_ok(cfg, "delta_crl", "if-available");
    CU_ASSERT_EQUAL(cfg->delta_crl, DSEC_DELTA_IF_AVAILABLE);
    set_ok(cfg, "delta_crl", "ignore");
    CU_ASSERT_EQUAL(cfg->delta_crl, DSEC_DELTA_IGNORE);
    set_ok(cfg, "delta_crl", "require");
    CU_ASSERT_EQUAL(cfg->delta_crl, DSEC_DELTA_REQUIRE);

    set_ok(cfg, "fetch_timeout", "30");
    CU_ASSERT_EQUAL(cfg->fetch_timeout, 30);
    set_ok(cfg, "stale_grace", "3600");
    CU_ASSERT_EQUAL(cfg->stale_grace, 3600);
    set_ok(cfg, "fail_cache", "60");
    CU_ASSERT_EQUAL(cfg->fail_cache, 60);
    set_ok(cfg, "max_path_depth", "32");
    CU_ASSERT_EQUAL(cfg->max_path_depth, 32);
    set_ok(cfg, "max_signature_checks", "500");
    CU_ASSERT_EQUAL(cfg->max_signature_checks, 500);
    set_ok(cfg, "verdict_ttl", "86400");
    CU_ASSERT_EQUAL(cfg->verdict_ttl, 86400);
    set_ok(cfg, "verdict_ttl", "1");
    CU_ASSERT_EQUAL(cfg->verdict_ttl, 1);
    set_ok(cfg, "max_crl_age", "60");
    CU_ASSERT_EQUAL(cfg->max_crl_age, 60);
    set_ok(cfg, "max_crl_age", "2592000");
    CU_ASSERT_EQUAL(cfg->max_crl_age, 2592000);

    set_ok(cfg, "cdp_schemes", "http,ldap,https");
    CU_ASSERT_EQUAL(cfg->cdp_schemes,
                    DSEC_SCHEME_HTTP | DSEC_SCHEME_LDAP | DSEC_SCHEME_HTTPS);
    set_ok(cfg, "cdp_schemes", "http");
    CU_ASSERT_EQUAL(cfg->cdp_schemes, DSEC_SCHEME_HTTP);
    set_ok(cfg, "cdp_schemes", "ldaps");
    CU_ASSERT_EQUAL(cfg->cdp_schemes, DSEC_SCHEME_LDAPS);

    set_ok(cfg, "log", "stderr");
    CU_ASSERT_EQUAL(cfg->log, DSEC_LOG_STDERR);
    set_ok(cfg, "log", "none");
    CU_ASSERT_EQUAL(cfg->log, DSEC_LOG_NONE);
    set_ok(cfg, "log", "syslog");
    CU_ASSERT_EQUAL(cfg->log, DSEC_LOG_SYSLOG);

    set_ok(cfg, "log_level", "debug");
    CU_ASSERT_EQUAL(cfg->log_level, DSEC_LOG_DEBUG);
    set_ok(cfg, "log_level", "notice");
    CU_ASSERT_EQUAL(cfg->log_level, DSEC_LOG_NOTICE);
    set_ok(cfg, "log_level", "warning");
    CU_ASSERT_EQUAL(cfg->log_level, DSEC_LOG_WARNING);
    set_ok(cfg, "log_level", "info");
    CU_ASSERT_EQUAL(cfg->log_level, DSEC_LOG_INFO);

    set_ok(cfg, "trust_dirs", "/a:/b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->trust_dirs);
    CU_ASSERT_STRING_EQUAL(cfg->trust_dirs, "/a:/b");
    set_ok(cfg, "cross_dirs", "/c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->cross_dirs);
    CU_ASSERT_STRING_EQUAL(cfg->cross_dirs, "/c");
    set_ok(cfg, "cache_dir", "/tmp/x");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->cache_dir);
    CU_ASSERT_STRING_EQUAL(cfg->cache_dir, "/tmp/x");
    set_ok(cfg, "http_proxy", "http://proxy.example:3128");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->http_proxy);
    CU_ASSERT_STRING_EQUAL(cfg->http_proxy, "http://proxy.example:3128");
    /* '/' in the password must be encoded, and the error must not show
       the password */
    {
        DSEC_ERR err;

        memset(&err, 0, sizeof(err));
        CU_ASSERT_EQUAL(
            dsec_config_set(cfg, "http_proxy", "http://u:pa/ss@p:3128", &err),
            DSEC_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "percent-encoded"));
        CU_ASSERT_PTR_NULL(strstr(err.msg, "pa/ss"));
        CU_ASSERT_STRING_EQUAL(cfg->http_proxy, "http://proxy.example:3128");
    }
    set_ok(cfg, "http_proxy", "http://u:pa%2Fss@p:3128");
    set_ok(cfg, "no_proxy", "localhost,.example");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->no_proxy);
    CU_ASSERT_STRING_EQUAL(cfg->no_proxy, "localhost,.example");

    set_ok(cfg, "allow_redirects", "any");
    CU_ASSERT_EQUAL(cfg->allow_redirects, DSEC_REDIRECTS_ANY);
    set_ok(cfg, "allow_redirects", "none");
    CU_ASSERT_EQUAL(cfg->allow_redirects, DSEC_REDIRECTS_NONE);
    set_ok(cfg, "allow_redirects", "Same-Origin");
    CU_ASSERT_EQUAL(cfg->allow_redirects, DSEC_REDIRECTS_SAME_ORIGIN);
    set_ok(cfg, "deny_networks",
           "127.0.0.0/8, ::1, [fc00::]/7,10.0.0.0/8\t169.254.0.0/16");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->deny_networks);
    CU_ASSERT_STRING_EQUAL(cfg->deny_networks, "127.0.0.0/8, ::1, [fc00::]/7,"
                                               "10.0.0.0/8\t169.254.0.0/16");
    set_ok(cfg, "deny_networks", "");
    CU_ASSERT_PTR_NULL(cfg->deny_networks);
    dsec_config_free(cfg);
}

/*
 * name = value must be rejected with DSEC_ERR_INVALID and a message naming
 * both; the config must be unchanged (checked by the callers).
 */
static void set_bad(dsec_config *cfg, const char *name, const char *value)
{
    DSEC_ERR err;
    dsec_rv rv;

    memset(&err, 0, sizeof(err));
    rv = dsec_config_set(cfg, name, value, &err);
    CU_ASSERT_EQUAL(rv, DSEC_ERR_INVALID);
    if (rv != DSEC_ERR_INVALID) {
        fprintf(stderr, "\n  %s = '%s' accepted (rv %d)\n", name, value,
                (int)rv);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, name));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, value));
    if (strstr(err.msg, name) == NULL || strstr(err.msg, value) == NULL) {
        fprintf(stderr, "\n  message for %s = '%s' lacks them: '%s'\n", name,
                value, err.msg);
    }
    /* err is optional */
    CU_ASSERT_EQUAL(dsec_config_set(cfg, name, value, NULL), DSEC_ERR_INVALID);
}

static void test_config_bad_values(void)
{
    dsec_config *cfg = new_cfg();

    set_ok(cfg, "revocation", "soft-fail");
    set_bad(cfg, "revocation", "maybe");
    set_bad(cfg, "revocation", "");
    set_bad(cfg, "revocation", "require ");
    CU_ASSERT_EQUAL(cfg->revocation, DSEC_REVOCATION_SOFT_FAIL);

    set_bad(cfg, "check_depth", "all");
    CU_ASSERT_EQUAL(cfg->check_depth, DSEC_DEPTH_CHAIN);
    set_bad(cfg, "delta_crl", "yes");
    set_bad(cfg, "delta_crl", "");
    CU_ASSERT_EQUAL(cfg->delta_crl, DSEC_DELTA_REQUIRE);

    set_ok(cfg, "fetch_timeout", "30");
    set_bad(cfg, "fetch_timeout", "10s");
    set_bad(cfg, "fetch_timeout", "-1");
    set_bad(cfg, "fetch_timeout", "");
    set_bad(cfg, "fetch_timeout", "99999999999999999999");
    set_bad(cfg, "fetch_timeout", "0");
    set_bad(cfg, "fetch_timeout", " 5");
    CU_ASSERT_EQUAL(cfg->fetch_timeout, 30);

    set_bad(cfg, "stale_grace", "-5");
    set_bad(cfg, "stale_grace", "1h");
    CU_ASSERT_EQUAL(cfg->stale_grace, 0);
    set_bad(cfg, "max_path_depth", "0");
    set_bad(cfg, "max_path_depth", "33");
    set_bad(cfg, "max_signature_checks", "0");
    set_bad(cfg, "max_signature_checks", "100000");
    CU_ASSERT_EQUAL(cfg->max_path_depth, DSEC_DEFAULT_MAX_PATH_DEPTH);
    CU_ASSERT_EQUAL(cfg->max_signature_checks,
                    DSEC_DEFAULT_MAX_SIGNATURE_CHECKS);
    set_bad(cfg, "verdict_ttl", "0");
    set_bad(cfg, "max_crl_age", "59");
    set_bad(cfg, "max_crl_age", "2592001");
    set_bad(cfg, "verdict_ttl", "86401");
    set_bad(cfg, "verdict_ttl", "5m");
    CU_ASSERT_EQUAL(cfg->verdict_ttl, DSEC_DEFAULT_VERDICT_TTL);
    set_bad(cfg, "fail_cache", "x");
    CU_ASSERT_EQUAL(cfg->fail_cache, 10);

    set_ok(cfg, "max_crl_size", "512k");
    set_bad(cfg, "max_crl_size", "64Q");
    set_bad(cfg, "max_crl_size", "");
    set_bad(cfg, "max_crl_size", "0");
    CU_ASSERT_EQUAL(cfg->max_crl_size, (size_t)512 * 1024);

    set_ok(cfg, "cdp_schemes", "http,https");
    set_bad(cfg, "cdp_schemes", "file");
    set_bad(cfg, "cdp_schemes", "ftp");
    set_bad(cfg, "cdp_schemes", "http,ftp");
    CU_ASSERT_EQUAL(cfg->cdp_schemes, DSEC_SCHEME_HTTP | DSEC_SCHEME_HTTPS);

    set_bad(cfg, "log", "file");
    CU_ASSERT_EQUAL(cfg->log, DSEC_LOG_SYSLOG);
    set_bad(cfg, "log_level", "loud");
    CU_ASSERT_EQUAL(cfg->log_level, DSEC_LOG_INFO);

    set_bad(cfg, "allow_redirects", "yes");
    set_bad(cfg, "allow_redirects", "same-host");
    CU_ASSERT_EQUAL(cfg->allow_redirects, DSEC_REDIRECTS_SAME_ORIGIN);
    set_ok(cfg, "deny_networks", "10.0.0.0/8");
    set_bad(cfg, "deny_networks", "10.0.0.0/33");
    set_bad(cfg, "deny_networks", "localhost");
    set_bad(cfg, "deny_networks", "10.0.0.0/8,fe80::/129");
    set_bad(cfg, "deny_networks", "10.0.0.0/");
    set_bad(cfg, "deny_networks", "10.0.0.0/8x");
    set_bad(cfg, "deny_networks", "10.0.0.0/-1");
    set_bad(cfg, "deny_networks", "fe80::1%eth0");
    CU_ASSERT_STRING_EQUAL(cfg->deny_networks, "10.0.0.0/8");

    CU_ASSERT_EQUAL(cfg->revocation, DSEC_REVOCATION_SOFT_FAIL);
    dsec_config_free(cfg);
}

/*
 * A proxy refused for want of a scheme is named in the activation error,
 * which the fail-closed module logs on every verification and doctor
 * prints: its password never shows, whatever '@' it holds.
 */
static void test_config_proxy_error_masked(void)
{
    static const char *const bad[] = {
        "alice:Pr0xy@s3cret@proxy.example:3128",
        "alice:Pr0xy@s3cret@proxy.example",
        "ftp://alice:Pr0xy@s3cret@proxy.example:21",
        "http://alice:Pr0xy@s3cret@proxy/x y",
        "alice:Pr0xy/s3cret@proxy.example:3128",
    };
    dsec_config *cfg = new_cfg();
    DSEC_ERR err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        CU_ASSERT_EQUAL(dsec_config_set(cfg, "http_proxy", bad[i], &err),
                        DSEC_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "http_proxy"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "[****]@"));
        CU_ASSERT_PTR_NULL(strstr(err.msg, "Pr0xy"));
        CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
        CU_ASSERT_PTR_NULL(strstr(err.msg, "alice"));
    }
    CU_ASSERT_PTR_NULL(cfg->http_proxy);
    dsec_config_free(cfg);
}

static void test_config_unknown_directive(void)
{
    dsec_config *cfg = new_cfg();
    DSEC_ERR err;

    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(dsec_config_set(cfg, "no_such_directive", "1", &err),
                    DSEC_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no_such_directive"));
    CU_ASSERT_EQUAL(dsec_config_set(cfg, "", "1", NULL), DSEC_ERR_INVALID);
    dsec_config_free(cfg);
}

static void test_config_parse_seconds(void)
{
    long v = 42;

    CU_ASSERT_EQUAL(dsec_config_parse_seconds("5", 1, 60, &v), DSEC_OK);
    CU_ASSERT_EQUAL(v, 5);
    v = 42;
    CU_ASSERT_EQUAL(dsec_config_parse_seconds("61", 1, 60, &v),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_seconds("0", 1, 60, &v),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_seconds("5x", 1, 60, &v),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_config_parse_seconds("", 1, 60, &v), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(v, 42);
}

static void test_config_parse_schemes(void)
{
    unsigned int s = 0x80;

    CU_ASSERT_EQUAL(dsec_url_parse_schemes("ldap,ldaps", &s), DSEC_OK);
    CU_ASSERT_EQUAL(s, DSEC_SCHEME_LDAP | DSEC_SCHEME_LDAPS);
    s = 0x80;
    CU_ASSERT_EQUAL(dsec_url_parse_schemes("gopher", &s), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_url_parse_schemes("file", &s), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(s, 0x80u);
}

static void test_config_url_scheme(void)
{
    CU_ASSERT_EQUAL(dsec_url_scheme("http://ca.example/x.crl"),
                    DSEC_SCHEME_HTTP);
    CU_ASSERT_EQUAL(dsec_url_scheme("HTTP://CA.EXAMPLE/X.CRL"),
                    DSEC_SCHEME_HTTP);
    CU_ASSERT_EQUAL(dsec_url_scheme("https://ca.example/x.crl"),
                    DSEC_SCHEME_HTTPS);
    CU_ASSERT_EQUAL(dsec_url_scheme("ldap://ldap.example/cn=CA"),
                    DSEC_SCHEME_LDAP);
    CU_ASSERT_EQUAL(dsec_url_scheme("ldaps://ldap.example/cn=CA"),
                    DSEC_SCHEME_LDAPS);
    CU_ASSERT_EQUAL(dsec_url_scheme("file:///etc/passwd"), 0u);
    CU_ASSERT_EQUAL(dsec_url_scheme("ftp://ca.example/x.crl"), 0u);
    CU_ASSERT_EQUAL(dsec_url_scheme("garbage"), 0u);
    CU_ASSERT_EQUAL(dsec_url_scheme("httpx://a"), 0u);
    CU_ASSERT_EQUAL(dsec_url_scheme("http"), 0u);
    CU_ASSERT_EQUAL(dsec_url_scheme(""), 0u);
    CU_ASSERT_EQUAL(dsec_url_scheme(NULL), 0u);
}

static void test_config_describe(void)
{
    dsec_config *cfg = new_cfg();
    char buf[4096];
    char small[16];

    set_ok(cfg, "http_proxy", "http://u:secret@p:3128");
    memset(buf, 'Z', sizeof(buf));
    dsec_config_describe(cfg, buf, sizeof(buf));
    CU_ASSERT_PTR_NOT_NULL(memchr(buf, '\0', sizeof(buf)));
    CU_ASSERT_PTR_NULL(strstr(buf, "secret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "http_proxy"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "fetch_timeout = 10"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "revocation = require"));

    /* a short buffer is truncated, terminated, not overrun */
    memset(small, 'Z', sizeof(small));
    dsec_config_describe(cfg, small, 8);
    CU_ASSERT_PTR_NOT_NULL(memchr(small, '\0', 8));
    CU_ASSERT_EQUAL(small[8], 'Z');
    dsec_config_free(cfg);
}

static CU_TestInfo tests[] = {
    { "test_config_defaults", test_config_defaults },
    { "test_config_directive_names", test_config_directive_names },
    { "test_config_sizes", test_config_sizes },
    { "test_config_good_values", test_config_good_values },
    { "test_config_bad_values", test_config_bad_values },
    { "test_config_proxy_error_masked", test_config_proxy_error_masked },
    { "test_config_unknown_directive", test_config_unknown_directive },
    { "test_config_parse_seconds", test_config_parse_seconds },
    { "test_config_parse_schemes", test_config_parse_schemes },
    { "test_config_url_scheme", test_config_url_scheme },
    { "test_config_describe", test_config_describe },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("config", NULL, NULL, tests);
}
