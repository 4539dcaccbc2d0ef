/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit suite for the fetch front end (src/fetch.c): the scheme policy and
 * URL sanity checks that must refuse a URL before any network activity, the
 * result initialisation on failure, the re-entry flag outside a fetch and
 * the NULL-safety of dsec_fetch_result_clear, and deny_networks refusing
 * an address before libcurl opens a socket to it (directly, or as the
 * host of a URL sent to the proxy). No network, no server: every URL here
 * is refused before a connection is made (the hosts are in the reserved
 * .invalid domain should one ever get through).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "domainsec/fetch.h"

static dsec_fetch_policy test_pol;

static int suite_init(void)
{
    memset(&test_pol, 0, sizeof(test_pol));
    test_pol.fetch_timeout = 1;
    test_pol.max_crl_size = 1024;
    test_pol.cdp_schemes = DSEC_SCHEME_HTTP;
    return 0;
}

static int suite_cleanup(void)
{
    return 0;
}

/* Fetch url under schemes; expect rv and a failed, initialised result. */
static void expect_refused(unsigned int schemes, const char *url,
                           dsec_rv expected)
{
    dsec_fetch_result res;
    DSEC_ERR err;
    dsec_rv rv;

    /* garbage first, to check that the result is initialised */
    memset(&res, 0xa5, sizeof(res));
    memset(&err, 0, sizeof(err));
    test_pol.cdp_schemes = schemes;
    rv = dsec_fetch_url(&test_pol, url, &res, &err);
    CU_ASSERT_EQUAL(rv, expected);
    CU_ASSERT_EQUAL(err.rv, expected);
    CU_ASSERT(err.msg[0] != '\0');
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(res.len, 0);
    CU_ASSERT_EQUAL(res.redirects, 0);
    CU_ASSERT_EQUAL(res.via_proxy, 0);
    CU_ASSERT_EQUAL(dsec_fetch_active(), 0);
    dsec_fetch_result_clear(&res);
}

static void test_fetch_scheme_file(void)
{
    unsigned int all = DSEC_SCHEME_HTTP | DSEC_SCHEME_HTTPS | DSEC_SCHEME_LDAP
                       | DSEC_SCHEME_LDAPS;

    expect_refused(all, "file:///etc/passwd", DSEC_ERR_SCHEME);
    expect_refused(all, "FILE:///etc/passwd", DSEC_ERR_SCHEME);
    expect_refused(all, "file://localhost/etc/shadow", DSEC_ERR_SCHEME);
}

static void test_fetch_scheme_other(void)
{
    unsigned int all = DSEC_SCHEME_HTTP | DSEC_SCHEME_HTTPS | DSEC_SCHEME_LDAP
                       | DSEC_SCHEME_LDAPS;

    expect_refused(all, "ftp://crl.invalid/ca.crl", DSEC_ERR_SCHEME);
    expect_refused(all, "gopher://crl.invalid/ca.crl", DSEC_ERR_SCHEME);
    expect_refused(all, "dict://crl.invalid/", DSEC_ERR_SCHEME);
    expect_refused(all, "crl.invalid/ca.crl", DSEC_ERR_SCHEME);
    expect_refused(all, "http:/crl.invalid/ca.crl", DSEC_ERR_SCHEME);
}

static void test_fetch_scheme_ldap_not_allowed(void)
{
    expect_refused(DSEC_SCHEME_HTTP,
                   "ldap://ldap.invalid/cn=CA?"
                   "certificateRevocationList",
                   DSEC_ERR_SCHEME);
    expect_refused(DSEC_SCHEME_HTTP | DSEC_SCHEME_HTTPS,
                   "ldaps://ldap.invalid/cn=CA", DSEC_ERR_SCHEME);
}

static void test_fetch_scheme_https_not_allowed(void)
{
    expect_refused(DSEC_SCHEME_HTTP, "https://crl.invalid/ca.crl",
                   DSEC_ERR_SCHEME);
    expect_refused(DSEC_SCHEME_HTTP | DSEC_SCHEME_LDAP,
                   "HTTPS://crl.invalid/ca.crl", DSEC_ERR_SCHEME);
}

static void test_fetch_scheme_http_not_allowed(void)
{
    expect_refused(DSEC_SCHEME_HTTPS, "http://crl.invalid/ca.crl",
                   DSEC_ERR_SCHEME);
    expect_refused(0, "http://crl.invalid/ca.crl", DSEC_ERR_SCHEME);
}

/* LDAP is dispatched to fetch_ldap.c, which refuses a URL without a host */
static void test_fetch_ldap_dispatched(void)
{
    expect_refused(DSEC_SCHEME_HTTP | DSEC_SCHEME_LDAP, "ldap:///cn=CA",
                   DSEC_ERR_INVALID);
}

static void test_fetch_http_backend_scheme(void)
{
    dsec_fetch_result res;
    DSEC_ERR err;

    /* the HTTP back end is private: reached only through dsec_fetch_url */
    test_pol.cdp_schemes = DSEC_SCHEME_HTTP | DSEC_SCHEME_HTTPS;
    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(dsec_fetch_url(&test_pol, "file:///etc/passwd", &res, &err),
                    DSEC_ERR_SCHEME);
    CU_ASSERT_PTR_NULL(res.data);
    test_pol.cdp_schemes = DSEC_SCHEME_HTTP;
    CU_ASSERT_EQUAL(
        dsec_fetch_url(&test_pol, "https://crl.invalid/x.crl", &res, &err),
        DSEC_ERR_SCHEME);
    CU_ASSERT_PTR_NULL(res.data);
}

static void test_fetch_invalid_space(void)
{
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/a b.crl",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, " http://crl.invalid/ca.crl",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/ca.crl ",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, "", DSEC_ERR_INVALID);
}

static void test_fetch_invalid_control(void)
{
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/ca.crl\r\nX-a: b",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/\tca.crl",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/\x7f",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/\x1b[0m",
                   DSEC_ERR_INVALID);
    expect_refused(DSEC_SCHEME_HTTP, "http://crl.invalid/caf\xc3\xa9.crl",
                   DSEC_ERR_INVALID);
}

static void test_fetch_invalid_long(void)
{
    size_t n = 5000;
    char *url = malloc(n + 1);

    CU_ASSERT_PTR_NOT_NULL_FATAL(url);
    memset(url, 'a', n);
    memcpy(url, "http://crl.invalid/", strlen("http://crl.invalid/"));
    url[n] = '\0';
    expect_refused(DSEC_SCHEME_HTTP, url, DSEC_ERR_INVALID);
    url[2049] = '\0';
    expect_refused(DSEC_SCHEME_HTTP, url, DSEC_ERR_INVALID);
    free(url);
}

static void test_fetch_invalid_args(void)
{
    dsec_fetch_result res;
    DSEC_ERR err;

    test_pol.cdp_schemes = DSEC_SCHEME_HTTP;
    memset(&res, 0xa5, sizeof(res));
    CU_ASSERT_EQUAL(dsec_fetch_url(&test_pol, NULL, &res, &err),
                    DSEC_ERR_INVALID);
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(dsec_fetch_url(NULL, "http://crl.invalid/", &res, &err),
                    DSEC_ERR_INVALID);
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(
        dsec_fetch_url(&test_pol, "http://crl.invalid/", NULL, NULL),
        DSEC_ERR_INVALID);
    /* err is optional */
    CU_ASSERT_EQUAL(dsec_fetch_url(&test_pol, "ftp://crl.invalid/", &res, NULL),
                    DSEC_ERR_SCHEME);
    CU_ASSERT_EQUAL(dsec_fetch_active(), 0);
}

/* url is refused by deny_networks list, naming address and rule. */
static void expect_denied(const char *list, const char *proxy, const char *url,
                          const char *address, const char *rule)
{
    dsec_fetch_result res;
    DSEC_ERR err;
    char want[128];

    memset(&err, 0, sizeof(err));
    test_pol.cdp_schemes = DSEC_SCHEME_HTTP;
    test_pol.deny_networks = list;
    test_pol.http_proxy = proxy;
    CU_ASSERT_EQUAL(dsec_fetch_url(&test_pol, url, &res, &err),
                    DSEC_ERR_CONNECT);
    snprintf(want, sizeof(want), "address %s is in deny_networks (%s)", address,
             rule);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    if (strstr(err.msg, want) == NULL) {
        fprintf(stderr, "\n  %s: '%s' lacks '%s'\n", url, err.msg, want);
    }
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(res.status, 0);
    test_pol.deny_networks = NULL;
    test_pol.http_proxy = NULL;
}

static void test_fetch_deny_networks(void)
{
    const char *nets = "10.0.0.0/8, 127.0.0.0/8,::1";

    expect_denied(nets, NULL, "http://127.0.0.1:9/x.crl", "127.0.0.1",
                  "127.0.0.0/8");
    expect_denied(nets, NULL, "http://127.1.2.3:9/x.crl", "127.1.2.3",
                  "127.0.0.0/8");
    expect_denied(nets, NULL, "http://[::1]:9/x.crl", "::1", "::1");
    expect_denied(nets, NULL, "http://0.0.0.0:9/x.crl", "0.0.0.0",
                  "127.0.0.0/8");
    /* through a proxy: the host of the URL if it is an address, checked
       before anything is sent (the proxy itself is not connected to) */
    expect_denied(nets, "http://proxy.invalid:3128", "http://10.1.2.3/x.crl",
                  "10.1.2.3", "10.0.0.0/8");
    expect_denied(nets, "http://proxy.invalid:3128", "http://[::1]:8080/x.crl",
                  "::1", "::1");
}

static void test_fetch_active_outside(void)
{
    CU_ASSERT_EQUAL(dsec_fetch_active(), 0);
}

static void test_fetch_global_init(void)
{
    CU_ASSERT_EQUAL(dsec_fetch_global_init(), 1);
    CU_ASSERT_EQUAL(dsec_fetch_global_init(), 1);
}

static void test_fetch_result_clear(void)
{
    dsec_fetch_result res;

    dsec_fetch_result_clear(NULL);
    memset(&res, 0, sizeof(res));
    dsec_fetch_result_clear(&res);
    CU_ASSERT_PTR_NULL(res.data);
    res.data = malloc(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res.data);
    res.len = 16;
    res.status = 200;
    res.via_proxy = 1;
    strcpy(res.route, "direct");
    dsec_fetch_result_clear(&res);
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(res.len, 0);
    CU_ASSERT_EQUAL(res.status, 0);
    CU_ASSERT_EQUAL(res.via_proxy, 0);
    CU_ASSERT_EQUAL(res.route[0], '\0');
}

static CU_TestInfo tests[] = {
    { "test_fetch_scheme_file", test_fetch_scheme_file },
    { "test_fetch_scheme_other", test_fetch_scheme_other },
    { "test_fetch_scheme_ldap_not_allowed",
      test_fetch_scheme_ldap_not_allowed },
    { "test_fetch_scheme_https_not_allowed",
      test_fetch_scheme_https_not_allowed },
    { "test_fetch_scheme_http_not_allowed",
      test_fetch_scheme_http_not_allowed },
    { "test_fetch_ldap_dispatched", test_fetch_ldap_dispatched },
    { "test_fetch_http_backend_scheme", test_fetch_http_backend_scheme },
    { "test_fetch_invalid_space", test_fetch_invalid_space },
    { "test_fetch_invalid_control", test_fetch_invalid_control },
    { "test_fetch_invalid_long", test_fetch_invalid_long },
    { "test_fetch_invalid_args", test_fetch_invalid_args },
    { "test_fetch_deny_networks", test_fetch_deny_networks },
    { "test_fetch_active_outside", test_fetch_active_outside },
    { "test_fetch_global_init", test_fetch_global_init },
    { "test_fetch_result_clear", test_fetch_result_clear },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("fetch", suite_init, suite_cleanup, tests);
}
