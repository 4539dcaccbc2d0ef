/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit suite for the LDAP CDP fetcher (src/fetch_ldap.c): the URLs it must
 * refuse before any network activity (no host, an attribute that is not a
 * revocation list, a scheme outside cdp_schemes, a critical extension, a
 * host that is not a host name), and the two connection failures that need
 * no server: a closed port of 127.0.0.1 (unreachable, at once) and a
 * listening socket that never accepts (timeout, within fetch_timeout). The
 * real server (slapd) is exercised by test/integration/test_ldap.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "domainsec/fetch.h"

static dsec_fetch_policy test_pol;

static int suite_init(void)
{
    memset(&test_pol, 0, sizeof(test_pol));
    test_pol.fetch_timeout = 1;
    test_pol.max_crl_size = 1024;
    test_pol.cdp_schemes = DSEC_SCHEME_HTTP | DSEC_SCHEME_LDAP;
    return 0;
}

static int suite_cleanup(void)
{
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A TCP socket bound to 127.0.0.1 on an ephemeral port; listening when
 * listen_it, else closed again (the port then refuses connections).
 */
static int local_port(int listen_it, int *fd_out)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    *fd_out = -1;
    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0
        || getsockname(fd, (struct sockaddr *)&sa, &len) != 0
        || (listen_it && listen(fd, 8) != 0)) {
        close(fd);
        return -1;
    }
    port = ntohs(sa.sin_port);
    if (listen_it) {
        *fd_out = fd;
    } else {
        close(fd);
    }
    return port;
}

/* Fetch url through the front end; expect rv and a clean failed result. */
static void expect_fetch(unsigned int schemes, const char *url,
                         dsec_rv expected, const char *msg_part)
{
    dsec_fetch_result res;
    DSEC_ERR err;
    dsec_rv rv;

    memset(&res, 0xa5, sizeof(res));
    memset(&err, 0, sizeof(err));
    test_pol.cdp_schemes = schemes;
    rv = dsec_fetch_url(&test_pol, url, &res, &err);
    CU_ASSERT_EQUAL(rv, expected);
    CU_ASSERT_EQUAL(err.rv, expected);
    CU_ASSERT(err.msg[0] != '\0');
    if (msg_part != NULL && strstr(err.msg, msg_part) == NULL) {
        fprintf(stderr, "\n  %s: message '%s' lacks '%s'\n", url, err.msg,
                msg_part);
        CU_FAIL("message does not say why");
    }
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(res.len, 0);
    CU_ASSERT_EQUAL(res.via_proxy, 0);
    dsec_fetch_result_clear(&res);
}

static void test_fetch_ldap_no_host(void)
{
    unsigned int s = DSEC_SCHEME_LDAP | DSEC_SCHEME_LDAPS;

    expect_fetch(s, "ldap:///cn=CA,o=Test?certificateRevocationList;binary",
                 DSEC_ERR_INVALID, "names no server");
    expect_fetch(s, "ldap:///cn=CA,o=Test", DSEC_ERR_INVALID,
                 "names no server");
    expect_fetch(s, "ldaps:///cn=CA,o=Test", DSEC_ERR_INVALID,
                 "names no server");
}

static void test_fetch_ldap_bad_attribute(void)
{
    unsigned int s = DSEC_SCHEME_LDAP;

    /* 127.0.0.1:9 (discard) is never reached: refused before */
    expect_fetch(s, "ldap://127.0.0.1:9/cn=CA,o=Test?userPassword",
                 DSEC_ERR_INVALID, "userPassword");
    expect_fetch(s, "ldap://127.0.0.1:9/cn=CA,o=Test?cn", DSEC_ERR_INVALID,
                 "refused");
    expect_fetch(s, "ldap://127.0.0.1:9/cn=CA,o=Test?*", DSEC_ERR_INVALID,
                 "refused");
    expect_fetch(s,
                 "ldap://127.0.0.1:9/cn=CA,o=Test?"
                 "certificateRevocationList;lang-en",
                 DSEC_ERR_INVALID, "refused");
    expect_fetch(s,
                 "ldap://127.0.0.1:9/cn=CA,o=Test?"
                 "certificateRevocationListX",
                 DSEC_ERR_INVALID, "refused");
    expect_fetch(s,
                 "ldap://127.0.0.1:9/cn=CA,o=Test?"
                 "certificateRevocationList,userPassword",
                 DSEC_ERR_INVALID, "attributes");
}

static void test_fetch_ldap_bad_url(void)
{
    unsigned int s = DSEC_SCHEME_LDAP;

    /* a decoded space would make libldap read a list of servers */
    expect_fetch(s, "ldap://127.0.0.1%20ldap%3A%2F%2F10.0.0.1/cn=CA",
                 DSEC_ERR_INVALID, NULL);
    expect_fetch(s, "ldap://127.0.0.1:9/", DSEC_ERR_INVALID, "DN");
    /* split: the three characters would form a trigraph */
    expect_fetch(s,
                 "ldap://127.0.0.1:9/cn=CA???"
                 "?!bindname=cn=x",
                 DSEC_ERR_INVALID, "critical extension");
    expect_fetch(s, "ldap://127.0.0.1:99999/cn=CA", DSEC_ERR_INVALID, NULL);
}

static void test_fetch_ldap_scheme_not_allowed(void)
{
    dsec_fetch_result res;
    DSEC_ERR err;

    expect_fetch(DSEC_SCHEME_HTTP, "ldap://127.0.0.1:9/cn=CA,o=Test",
                 DSEC_ERR_SCHEME, "cdp_schemes");
    expect_fetch(DSEC_SCHEME_LDAP, "ldaps://127.0.0.1:9/cn=CA,o=Test",
                 DSEC_ERR_SCHEME, "cdp_schemes");
    /* the LDAP back end is private: reached only through dsec_fetch_url */
    test_pol.cdp_schemes = DSEC_SCHEME_LDAP;
    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(
        dsec_fetch_url(&test_pol, "ldaps://127.0.0.1:9/cn=CA", &res, &err),
        DSEC_ERR_SCHEME);
    CU_ASSERT_PTR_NULL(res.data);
    CU_ASSERT_EQUAL(
        dsec_fetch_url(&test_pol, "http://127.0.0.1:9/ca.crl", &res, &err),
        DSEC_ERR_SCHEME);
    CU_ASSERT_EQUAL(
        dsec_fetch_url(NULL, "ldap://127.0.0.1:9/cn=CA", &res, &err),
        DSEC_ERR_INVALID);
}

/* Every allowed attribute passes the URL checks: the closed port answers. */
static void test_fetch_ldap_refused(void)
{
    static const char *const attrs[] = {
        "",
        "?certificateRevocationList",
        "?certificateRevocationList;binary",
        "?CERTIFICATEREVOCATIONLIST;BINARY",
        "?authorityRevocationList;binary",
        "?authorityRevocationList",
        "?deltaRevocationList;binary",
        "?deltaRevocationList",
    };
    dsec_fetch_result res;
    DSEC_ERR err;
    char url[256];
    size_t i;
    double t0;
    int fd;
    int port = local_port(0, &fd);

    CU_ASSERT_FATAL(port > 0);
    for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        snprintf(url, sizeof(url), "ldap://127.0.0.1:%d/cn=CA,o=Test%s", port,
                 attrs[i]);
        memset(&err, 0, sizeof(err));
        test_pol.cdp_schemes = DSEC_SCHEME_LDAP;
        test_pol.fetch_timeout = 5;
        t0 = now_s();
        CU_ASSERT_EQUAL(dsec_fetch_url(&test_pol, url, &res, &err),
                        DSEC_ERR_CONNECT);
        /* refused at once, not after fetch_timeout (5 s); the margin is
           for valgrind on a loaded machine */
        CU_ASSERT(now_s() - t0 < 2.5);
        CU_ASSERT_PTR_NULL(res.data);
        CU_ASSERT_STRING_EQUAL(res.route, "direct");
        CU_ASSERT(strstr(err.msg, "127.0.0.1") != NULL);
        CU_ASSERT(res.seconds >= 0.0 && res.seconds < 2.5);
        dsec_fetch_result_clear(&res);
    }
    test_pol.fetch_timeout = 1;
}

/* A server that completes TCP but never answers the bind: timeout. */
static void test_fetch_ldap_timeout(void)
{
    dsec_fetch_result res;
    DSEC_ERR err;
    char url[256];
    double t0, spent;
    int fd;
    int port = local_port(1, &fd);

    CU_ASSERT_FATAL(port > 0);
    snprintf(url, sizeof(url),
             "ldap://127.0.0.1:%d/cn=CA,o=Test?certificateRevocationList",
             port);
    memset(&err, 0, sizeof(err));
    test_pol.cdp_schemes = DSEC_SCHEME_LDAP;
    test_pol.fetch_timeout = 1;
    t0 = now_s();
    CU_ASSERT_EQUAL(dsec_fetch_url(&test_pol, url, &res, &err),
                    DSEC_ERR_TIMEOUT);
    spent = now_s() - t0;
    fprintf(stderr, "\n  timeout after %.3f s (fetch_timeout 1 s): %s\n", spent,
            err.msg);
    /* the documented bound: fetch_timeout + 1 s */
    CU_ASSERT(spent >= 0.9 && spent < 2.0);
    CU_ASSERT_PTR_NULL(res.data);
    dsec_fetch_result_clear(&res);
    close(fd);
}

static CU_TestInfo tests[] = {
    { "test_fetch_ldap_no_host", test_fetch_ldap_no_host },
    { "test_fetch_ldap_bad_attribute", test_fetch_ldap_bad_attribute },
    { "test_fetch_ldap_bad_url", test_fetch_ldap_bad_url },
    { "test_fetch_ldap_scheme_not_allowed",
      test_fetch_ldap_scheme_not_allowed },
    { "test_fetch_ldap_refused", test_fetch_ldap_refused },
    { "test_fetch_ldap_timeout", test_fetch_ldap_timeout },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("fetch_ldap", suite_init, suite_cleanup, tests);
}
