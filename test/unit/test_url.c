/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/url.c: the masking of credentials in URLs and in
 * scheme-less proxy strings (up to the last '@', whatever the scheme or
 * its absence, truncation never showing a secret), the userinfo bounds the
 * proxy scrubber uses, the host and origin of a URL as libcurl parses it
 * (same-origin redirects are decided on them), and the URL sanity check.
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "domainsec/url.h"
#include "internal.h"
#include "testutil.h"

/* dsec_url_mask(in) must give want exactly. */
static void expect_mask(const char *in, const char *want)
{
    char buf[256];

    memset(buf, 'Z', sizeof(buf));
    dsec_url_mask(in, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, want);
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "\n  mask('%s') = '%s', wanted '%s'\n", in, buf, want);
    }
}

static void test_url_mask_forms(void)
{
    expect_mask("http://u:p@h", "http://[****]@h");
    expect_mask("http://u:p@h:3128/x.crl", "http://[****]@h:3128/x.crl");
    expect_mask("http://user@h/", "http://[****]@h/");
    expect_mask("HTTPS://u:p@h/", "HTTPS://[****]@h/");
    expect_mask("ldap://cn=a:p@h/", "ldap://[****]@h/");
    expect_mask("ldap://cn=admin,o=x:pw@ldap.example/cn=CA?"
                "certificateRevocationList",
                "ldap://[****]@ldap.example/cn=CA?certificateRevocationList");
    /* a password holding '@': up to the last one */
    expect_mask("http://u:pa@ss@proxy:3128", "http://[****]@proxy:3128");
    /* no scheme: from the start */
    expect_mask("user:pa@ss@proxy:3128", "[****]@proxy:3128");
    expect_mask("user:secret@proxy:3128", "[****]@proxy:3128");
    expect_mask("@proxy:3128", "[****]@proxy:3128");
    /* unencoded '/', '?', '#' in the password */
    expect_mask("http://u:pa/ss@proxy:3128", "http://[****]@proxy:3128");
    expect_mask("http://u:p?a#s/s@proxy", "http://[****]@proxy");
    /* "://" inside a scheme-less password is no scheme */
    expect_mask("u:p://x@proxy:3128", "[****]@proxy:3128");
    expect_mask("1http://u:p@h", "[****]@h");
    /* nothing to mask */
    expect_mask("http://crl.example/ca.crl", "http://crl.example/ca.crl");
    expect_mask("proxy.example:3128", "proxy.example:3128");
    expect_mask("env", "env");
    expect_mask("", "");
    expect_mask(NULL, "");
}

static void test_url_mask_truncated(void)
{
    char small[12];
    char *long_url;
    size_t n = 3000;

    /* truncation cuts the masked text: never the secret */
    memset(small, 'Z', sizeof(small));
    dsec_url_mask("http://u:secretpw@h/x", small, 10);
    CU_ASSERT_PTR_NOT_NULL(memchr(small, '\0', 10));
    CU_ASSERT_EQUAL(small[10], 'Z');
    CU_ASSERT_PTR_NULL(strstr(small, "secret"));
    dsec_url_mask("http://u:p@h", NULL, 10);
    dsec_url_mask("http://u:p@h", small, 0);
    CU_ASSERT_EQUAL(small[0], 'h');

    long_url = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(long_url);
    memset(long_url, 's', n);
    memcpy(long_url, "http://u:", 9);
    memcpy(long_url + n - 4, "@h/x", 4);
    long_url[n] = '\0';
    {
        char buf[256];

        dsec_url_mask(long_url, buf, sizeof(buf));
        CU_ASSERT_STRING_EQUAL(buf, "http://[****]@h/x");
    }
    free(long_url);
}

static void test_url_userinfo(void)
{
    const char *url = "user:pa@ss@proxy:3128";
    const char *start = NULL;
    const char *at = NULL;

    CU_ASSERT_EQUAL(dsec_url_userinfo(url, &start, &at), 1);
    CU_ASSERT_PTR_EQUAL(start, url);
    CU_ASSERT_PTR_EQUAL(at, url + 10);
    url = "http://u:p@h";
    CU_ASSERT_EQUAL(dsec_url_userinfo(url, &start, &at), 1);
    CU_ASSERT_PTR_EQUAL(start, url + 7);
    CU_ASSERT_PTR_EQUAL(at, url + 10);
    CU_ASSERT_EQUAL(dsec_url_userinfo("http://h/", &start, &at), 0);
    CU_ASSERT_EQUAL(dsec_url_userinfo(NULL, &start, &at), 0);
}

/* dsec_url_origin(url) must be want (NULL: refused). */
static void expect_origin(const char *url, const char *want)
{
    char buf[320];
    int ok = dsec_url_origin(url, buf, sizeof(buf));

    CU_ASSERT_EQUAL(ok, want != NULL);
    if (ok && want != NULL) {
        CU_ASSERT_STRING_EQUAL(buf, want);
        if (strcmp(buf, want) != 0) {
            fprintf(stderr, "\n  origin('%s') = '%s', wanted '%s'\n", url, buf,
                    want);
        }
    }
}

static void test_url_origin(void)
{
    expect_origin("http://crl.example/a.crl", "http://crl.example:80");
    expect_origin("http://CRL.Example.:80/b", "http://crl.example:80");
    expect_origin("HTTP://crl.example:8080", "http://crl.example:8080");
    expect_origin("https://crl.example/x", "https://crl.example:443");
    expect_origin("http://127.0.0.1:1234/x", "http://127.0.0.1:1234");
    expect_origin("http://[::1]:8080/x", "http://[::1]:8080");
    expect_origin("http://u:p@crl.example/x", "http://crl.example:80");
    expect_origin("crl.example/x", NULL);
    expect_origin("http://", NULL);
    expect_origin("http://crl.example:99999/", NULL);
}

static void test_url_host(void)
{
    char buf[64];
    char tiny[4];

    CU_ASSERT_EQUAL(dsec_url_host("http://Crl.Example./x", buf, sizeof(buf)),
                    1);
    CU_ASSERT_STRING_EQUAL(buf, "crl.example");
    CU_ASSERT_EQUAL(dsec_url_host("http://[FE80::1]:80/", buf, sizeof(buf)), 1);
    CU_ASSERT_STRING_EQUAL(buf, "fe80::1");
    CU_ASSERT_EQUAL(dsec_url_host("http://crl.example/", tiny, sizeof(tiny)),
                    0);
    CU_ASSERT_EQUAL(dsec_url_host("not a url", buf, sizeof(buf)), 0);
}

static void test_url_check(void)
{
    DSEC_ERR err;
    char *long_url = malloc(2050);

    CU_ASSERT_PTR_NOT_NULL_FATAL(long_url);
    CU_ASSERT_EQUAL(dsec_url_check("http://crl.example/a.crl", &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_url_check("", &err), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_url_check("http://a/b c", &err), DSEC_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "offset 10"));
    CU_ASSERT_EQUAL(dsec_url_check("http://a/\x80", NULL), DSEC_ERR_INVALID);
    memset(long_url, 'a', 2049);
    long_url[2049] = '\0';
    CU_ASSERT_EQUAL(dsec_url_check(long_url, &err), DSEC_ERR_INVALID);
    long_url[2048] = '\0';
    CU_ASSERT_EQUAL(dsec_url_check(long_url, &err), DSEC_OK);
    free(long_url);
}

static CU_TestInfo tests[] = {
    { "test_url_mask_forms", test_url_mask_forms },
    { "test_url_mask_truncated", test_url_mask_truncated },
    { "test_url_userinfo", test_url_userinfo },
    { "test_url_origin", test_url_origin },
    { "test_url_host", test_url_host },
    { "test_url_check", test_url_check },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("url", NULL, NULL, tests);
}
