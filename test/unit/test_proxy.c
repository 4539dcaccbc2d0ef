/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/proxy.c: the route of a CDP URL (the configured proxy,
 * or the environment's with http_proxy = env, unless no_proxy covers the
 * host by name, domain suffix, "*", address or CIDR block, bracketed IPv6
 * included), no_proxy entries of any length (a 10,000-character bracketed
 * one once overflowed a stack buffer: ASan must stay quiet), the route
 * shown with the proxy's credentials masked whatever '@' the password
 * holds and with or without a scheme, and libcurl error messages that
 * quote the credentials being withheld. Nothing is fetched.
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "domainsec/fetch.h"
#include "internal.h"
#include "testutil.h"

#define PROXY "http://proxy.invalid:3128"

/* The route of url with http_proxy and no_proxy; 1 when through a proxy. */
static int routed(const char *http_proxy, const char *no_proxy, const char *url,
                  char *route, size_t rlen)
{
    dsec_fetch_policy pol;

    memset(&pol, 0, sizeof(pol));
    pol.http_proxy = http_proxy;
    pol.no_proxy = no_proxy;
    return dsec_proxy_route(&pol, url, route, rlen) != NULL;
}

/* Is url sent direct under no_proxy (with PROXY configured)? */
static int bypassed(const char *no_proxy, const char *url)
{
    char route[128];

    return !routed(PROXY, no_proxy, url, route, sizeof(route));
}

static void test_proxy_route_basic(void)
{
    char route[128];

    CU_ASSERT_EQUAL(
        routed(NULL, NULL, "http://crl.example/a", route, sizeof(route)), 0);
    CU_ASSERT_STRING_EQUAL(route, "direct");
    CU_ASSERT_EQUAL(
        routed("", NULL, "http://crl.example/a", route, sizeof(route)), 0);
    CU_ASSERT_EQUAL(
        routed(PROXY, NULL, "http://crl.example/a", route, sizeof(route)), 1);
    CU_ASSERT_STRING_EQUAL(route, "proxy " PROXY);
}

static void test_proxy_no_proxy_names(void)
{
    CU_ASSERT(bypassed("crl.example", "http://crl.example/a"));
    CU_ASSERT(bypassed("CRL.example.", "http://crl.EXAMPLE/a"));
    CU_ASSERT(bypassed("example", "http://crl.example/a"));
    CU_ASSERT(bypassed(".example", "http://crl.example/a"));
    CU_ASSERT(bypassed("other, ,example", "http://crl.example/a"));
    CU_ASSERT(bypassed("*", "http://crl.example/a"));
    CU_ASSERT(!bypassed("ample", "http://crl.example/a"));
    CU_ASSERT(!bypassed("crl.example.org", "http://crl.example/a"));
    CU_ASSERT(!bypassed("", "http://crl.example/a"));
}

static void test_proxy_no_proxy_addresses(void)
{
    CU_ASSERT(bypassed("127.0.0.1", "http://127.0.0.1:8080/a"));
    CU_ASSERT(bypassed("10.0.0.0/8", "http://10.1.2.3/a"));
    CU_ASSERT(!bypassed("10.0.0.0/8", "http://11.1.2.3/a"));
    CU_ASSERT(bypassed("[::1]", "http://[::1]:8080/a"));
    CU_ASSERT(bypassed("::1", "http://[::1]:8080/a"));
    CU_ASSERT(bypassed("[fd00::]/8", "http://[fd12::1]/a"));
    CU_ASSERT(!bypassed("[fd00::]/8", "http://[fe80::1]/a"));
    CU_ASSERT(!bypassed("10.0.0.0/x", "http://10.1.2.3/a"));
    CU_ASSERT(!bypassed("[::1", "http://[::1]/a"));
    CU_ASSERT(!bypassed("[]", "http://[::1]/a"));
}

/* "[" + n filler characters + "]" + suffix, malloc'ed. */
static char *bracketed(size_t n, char fill, const char *suffix)
{
    size_t s = strlen(suffix);
    char *e = malloc(n + s + 3);

    if (e == NULL) {
        return NULL;
    }
    e[0] = '[';
    memset(e + 1, fill, n);
    e[n + 1] = ']';
    memcpy(e + n + 2, suffix, s + 1);
    return e;
}

static void test_proxy_no_proxy_long_entries(void)
{
    char *e1 = bracketed(10000, 'a', "");
    char *e2 = bracketed(10000, ':', "/64");
    char *e3 = bracketed(200, '1',
                         "/9999999999999999999999999999999999"
                         "99999999999999999999999999999999999");
    char *plain = malloc(10001);
    char *list = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    memset(plain, 'b', 10000);
    plain[10000] = '\0';
    /* no overflow, no match: the proxy is still used */
    CU_ASSERT(!bypassed(e1, "http://crl.example/a"));
    CU_ASSERT(!bypassed(e1, "http://[::1]/a"));
    CU_ASSERT(!bypassed(e2, "http://[::1]/a"));
    CU_ASSERT(!bypassed(e3, "http://[::1]/a"));
    CU_ASSERT(!bypassed(plain, "http://crl.example/a"));
    /* and the entries after a long one are still read */
    list = malloc(strlen(e1) + 32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    strcpy(list, e1);
    strcat(list, ",crl.example");
    CU_ASSERT(bypassed(list, "http://crl.example/a"));
    free(e1);
    free(e2);
    free(e3);
    free(plain);
    free(list);
}

/* The route of a proxy with credentials shows none of password. */
static void expect_masked_route(const char *proxy, const char *want,
                                const char *password)
{
    char route[128];

    CU_ASSERT_EQUAL(
        routed(proxy, NULL, "http://crl.example/a", route, sizeof(route)), 1);
    CU_ASSERT_STRING_EQUAL(route, want);
    CU_ASSERT_PTR_NULL(strstr(route, password));
}

static void test_proxy_route_masked(void)
{
    expect_masked_route("http://alice:Pr0xy@s3cret@proxy.invalid:3128",
                        "proxy http://[****]@proxy.invalid:3128", "s3cret");
    /* libcurl reads a proxy without a scheme as http:// */
    expect_masked_route("alice:Pr0xy@s3cret@proxy.invalid:3128",
                        "proxy http://[****]@proxy.invalid:3128", "Pr0xy");
    expect_masked_route("alice:s3cret@proxy.invalid:3128",
                        "proxy http://[****]@proxy.invalid:3128", "s3cret");
    expect_masked_route("proxy.invalid:3128", "proxy http://proxy.invalid:3128",
                        "s3cret");
}

static void test_proxy_env(void)
{
    char route[128];

    CU_ASSERT_EQUAL_FATAL(
        setenv("http_proxy", "bob:En@v-s3cret@envproxy.invalid:8080", 1), 0);
    CU_ASSERT_EQUAL_FATAL(setenv("no_proxy", "direct.example", 1), 0);
    CU_ASSERT_EQUAL(
        routed("env", NULL, "http://crl.example/a", route, sizeof(route)), 1);
    CU_ASSERT_STRING_EQUAL(route, "proxy http://[****]@envproxy.invalid:8080");
    CU_ASSERT_EQUAL(
        routed("env", NULL, "http://direct.example/a", route, sizeof(route)),
        0);
    /* https does not use http_proxy */
    CU_ASSERT_EQUAL(
        routed("env", NULL, "https://crl.example/a", route, sizeof(route)), 0);
    unsetenv("http_proxy");
    unsetenv("no_proxy");
    CU_ASSERT_EQUAL(
        routed("env", NULL, "http://crl.example/a", route, sizeof(route)), 0);
}

static void test_proxy_scrub_error(void)
{
    char buf[256];

    strcpy(buf, "Unsupported proxy syntax in "
                "'alice:Pr0xy@s3cret@proxy.invalid:3128'");
    dsec_proxy_scrub_error(buf, sizeof(buf),
                           "alice:Pr0xy@s3cret@proxy.invalid:3128");
    CU_ASSERT_PTR_NULL(strstr(buf, "s3cret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "withheld"));

    strcpy(buf, "Could not resolve proxy: proxy.invalid");
    dsec_proxy_scrub_error(buf, sizeof(buf),
                           "http://alice:s3cret@proxy.invalid:3128");
    CU_ASSERT_STRING_EQUAL(buf, "Could not resolve proxy: proxy.invalid");
    dsec_proxy_scrub_error(buf, sizeof(buf), NULL);
    CU_ASSERT_STRING_EQUAL(buf, "Could not resolve proxy: proxy.invalid");
}

static CU_TestInfo tests[] = {
    { "test_proxy_route_basic", test_proxy_route_basic },
    { "test_proxy_no_proxy_names", test_proxy_no_proxy_names },
    { "test_proxy_no_proxy_addresses", test_proxy_no_proxy_addresses },
    { "test_proxy_no_proxy_long_entries", test_proxy_no_proxy_long_entries },
    { "test_proxy_route_masked", test_proxy_route_masked },
    { "test_proxy_env", test_proxy_env },
    { "test_proxy_scrub_error", test_proxy_scrub_error },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("proxy", NULL, NULL, tests);
}
