/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/redirect.c: which redirect a CDP fetch may follow
 * under allow_redirects = same-origin (the default), any and none: another
 * port or host (a loopback service, a private address, a look-alike name)
 * is refused under same-origin, the scheme never changes, a URL the
 * fetcher would refuse is refused, more than 3 redirects are refused, and
 * every refusal is DSEC_ERR_HTTP carrying the status, with the URLs masked
 * in the message.
 */
#include <string.h>
#include <CUnit/Basic.h>
#include "internal.h"
#include "testutil.h"

#define FROM "http://crl.example/ca.crl"

/* The verdict of mode on from -> to after `followed` redirects. */
static dsec_rv judge(dsec_redirect_mode mode, const char *from, const char *to,
                     int followed, DSEC_ERR *err)
{
    memset(err, 0, sizeof(*err));
    return dsec_redirect_check(mode, 302, from, to, followed, err);
}

/* to is refused under mode, with a message holding what. */
static void expect_refused(dsec_redirect_mode mode, const char *from,
                           const char *to, const char *what)
{
    DSEC_ERR err;

    CU_ASSERT_EQUAL(judge(mode, from, to, 0, &err), DSEC_ERR_HTTP);
    CU_ASSERT_EQUAL(err.code, 302);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "redirect refused"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what));
    if (strstr(err.msg, what) == NULL) {
        fprintf(stderr, "\n  %s -> %s: '%s' lacks '%s'\n", from, to, err.msg,
                what);
    }
}

static void test_redirect_same_origin(void)
{
    DSEC_ERR err;
    dsec_redirect_mode so = DSEC_REDIRECTS_SAME_ORIGIN;

    CU_ASSERT_EQUAL(judge(so, FROM, "http://crl.example/new/ca.crl", 0, &err),
                    DSEC_OK);
    CU_ASSERT_EQUAL(judge(so, FROM, "http://CRL.example:80/x", 2, &err),
                    DSEC_OK);
    CU_ASSERT_EQUAL(judge(so, "http://127.0.0.1:8080/a",
                          "http://127.0.0.1:8080/b", 0, &err),
                    DSEC_OK);
    expect_refused(so, "http://127.0.0.1:8080/a", "http://127.0.0.1:9090/b",
                   "same-origin");
    expect_refused(so, FROM, "http://crl.example:8080/ca.crl", "host or port");
    expect_refused(so, FROM, "http://localhost/ca.crl", "host or port");
    expect_refused(so, FROM, "http://169.254.169.254/latest/meta-data",
                   "host or port");
    expect_refused(so, FROM, "http://crl.example.evil.test/ca.crl",
                   "host or port");
    expect_refused(so, FROM, "http://[::1]:80/ca.crl", "host or port");
}

static void test_redirect_any(void)
{
    DSEC_ERR err;
    dsec_redirect_mode any = DSEC_REDIRECTS_ANY;

    CU_ASSERT_EQUAL(judge(any, FROM, "http://cdn.example:8080/ca.crl", 0, &err),
                    DSEC_OK);
    CU_ASSERT_EQUAL(judge(any, FROM, "http://127.0.0.1:9/x", 2, &err), DSEC_OK);
    expect_refused(any, FROM, "https://crl.example/ca.crl", "another scheme");
    expect_refused(any, "https://crl.example/a", "http://crl.example/a",
                   "another scheme");
    expect_refused(any, FROM, "file:///etc/passwd", "another scheme");
    expect_refused(any, FROM, "ftp://crl.example/ca.crl", "another scheme");
    expect_refused(any, FROM, "http://crl.example/a b", "unusable URL");
}

static void test_redirect_none(void)
{
    expect_refused(DSEC_REDIRECTS_NONE, FROM, "http://crl.example/new.crl",
                   "allow_redirects = none");
}

static void test_redirect_limit(void)
{
    DSEC_ERR err;

    CU_ASSERT_EQUAL(
        judge(DSEC_REDIRECTS_ANY, FROM, FROM, DSEC_REDIRECT_MAX - 1, &err),
        DSEC_OK);
    CU_ASSERT_EQUAL(
        judge(DSEC_REDIRECTS_ANY, FROM, FROM, DSEC_REDIRECT_MAX, &err),
        DSEC_ERR_HTTP);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "more than 3 redirects"));
    CU_ASSERT_EQUAL(
        judge(DSEC_REDIRECTS_SAME_ORIGIN, FROM, FROM, DSEC_REDIRECT_MAX, &err),
        DSEC_ERR_HTTP);
}

static void test_redirect_masked(void)
{
    DSEC_ERR err;

    CU_ASSERT_EQUAL(judge(DSEC_REDIRECTS_SAME_ORIGIN, FROM,
                          "http://u:s3cret@other.example/x", 0, &err),
                    DSEC_ERR_HTTP);
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "[****]@other.example"));
    /* err is optional */
    CU_ASSERT_EQUAL(
        dsec_redirect_check(DSEC_REDIRECTS_NONE, 301, FROM, FROM, 0, NULL),
        DSEC_ERR_HTTP);
}

static CU_TestInfo tests[] = {
    { "test_redirect_same_origin", test_redirect_same_origin },
    { "test_redirect_any", test_redirect_any },
    { "test_redirect_none", test_redirect_none },
    { "test_redirect_limit", test_redirect_limit },
    { "test_redirect_masked", test_redirect_masked },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("redirect", NULL, NULL, tests);
}
