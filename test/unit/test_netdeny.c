/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/netdeny.c: the deny_networks syntax (IPv4 and IPv6
 * blocks, brackets, separators; what is refused), matching of addresses
 * as text and as socket addresses (the entry that matched is reported),
 * the spellings that reach a denied network another way (IPv4-mapped IPv6,
 * 0.0.0.0 and :: for the loopback), the filter of resolved addresses that
 * the LDAP fetcher uses, and single blocks for no_proxy.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <CUnit/Basic.h>
#include "internal.h"
#include "testutil.h"

#define PRIVATE_NETS \
    "127.0.0.0/8, ::1/128, 10.0.0.0/8,172.16.0.0/12 192.168.0.0/16," \
    "169.254.0.0/16, [fc00::]/7, fe80::/10"

static void test_netdeny_check(void)
{
    DSEC_ERR err;

    CU_ASSERT_EQUAL(dsec_netdeny_check(PRIVATE_NETS, &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_netdeny_check("", &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_netdeny_check(NULL, &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_netdeny_check(" , ,", &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_netdeny_check("0.0.0.0/0,::/0", &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_netdeny_check("10.0.0.0/8,bad", &err),
                    DSEC_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'bad'"));
    CU_ASSERT_EQUAL(dsec_netdeny_check("10.0.0.0/33", NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_netdeny_check("::/129", NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_netdeny_check("10.0.0.0/", NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_netdeny_check("10.0.0.0/0008", NULL),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_netdeny_check("10.0.0/8", NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_netdeny_check("[10.0.0.0/8]", NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_netdeny_check("crl.example", NULL), DSEC_ERR_INVALID);
}

/* Is addr denied by list, by the entry want (NULL: not denied)? */
static void expect_text(const char *list, const char *addr, const char *want)
{
    char rule[64] = "";
    int denied = dsec_netdeny_match_text(list, addr, rule, sizeof(rule));

    CU_ASSERT_EQUAL(denied, want != NULL);
    if (denied && want != NULL) {
        CU_ASSERT_STRING_EQUAL(rule, want);
    }
    if (denied != (want != NULL)) {
        fprintf(stderr, "\n  %s: denied %d, wanted %s\n", addr, denied,
                want != NULL ? want : "no");
    }
}

static void test_netdeny_match_text(void)
{
    expect_text(PRIVATE_NETS, "127.0.0.1", "127.0.0.0/8");
    expect_text(PRIVATE_NETS, "127.255.1.2", "127.0.0.0/8");
    expect_text(PRIVATE_NETS, "172.31.255.255", "172.16.0.0/12");
    expect_text(PRIVATE_NETS, "172.32.0.1", NULL);
    expect_text(PRIVATE_NETS, "192.168.1.1", "192.168.0.0/16");
    expect_text(PRIVATE_NETS, "8.8.8.8", NULL);
    expect_text(PRIVATE_NETS, "::1", "::1/128");
    expect_text(PRIVATE_NETS, "[fd00::5]", "[fc00::]/7");
    expect_text(PRIVATE_NETS, "FE80::1", "fe80::/10");
    expect_text(PRIVATE_NETS, "2001:db8::1", NULL);
    /* other spellings of a denied address */
    expect_text(PRIVATE_NETS, "::ffff:127.0.0.1", "127.0.0.0/8");
    expect_text(PRIVATE_NETS, "::ffff:10.9.8.7", "10.0.0.0/8");
    expect_text(PRIVATE_NETS, "0.0.0.0", "127.0.0.0/8");
    expect_text(PRIVATE_NETS, "::", "::1/128");
    expect_text(PRIVATE_NETS, "::ffff:0.0.0.0", "127.0.0.0/8");
    expect_text("::ffff:10.0.0.0/104", "10.1.1.1", "::ffff:10.0.0.0/104");
    /* a block with host bits set, a /0, a single address */
    expect_text("10.1.2.3/8", "10.200.0.1", "10.1.2.3/8");
    expect_text("0.0.0.0/0", "203.0.113.9", "0.0.0.0/0");
    expect_text("203.0.113.9", "203.0.113.9", "203.0.113.9");
    expect_text("203.0.113.9", "203.0.113.10", NULL);
    expect_text("10.0.0.0/9", "10.128.0.1", NULL);
    expect_text("10.0.0.0/9", "10.127.0.1", "10.0.0.0/9");
    /* names and junk are never denied here; nothing denies with no list */
    expect_text(PRIVATE_NETS, "localhost", NULL);
    expect_text(PRIVATE_NETS, "", NULL);
    expect_text(NULL, "127.0.0.1", NULL);
    expect_text("", "127.0.0.1", NULL);
}

static void test_netdeny_match_sockaddr(void)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr sa;
    char addr[INET6_ADDRSTRLEN];
    char rule[64];

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    CU_ASSERT_EQUAL(inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr), 1);
    CU_ASSERT_EQUAL(
        dsec_netdeny_match_sockaddr(PRIVATE_NETS, (struct sockaddr *)&sin, addr,
                                    sizeof(addr), rule, sizeof(rule)),
        1);
    CU_ASSERT_STRING_EQUAL(addr, "127.0.0.2");
    CU_ASSERT_STRING_EQUAL(rule, "127.0.0.0/8");
    CU_ASSERT_EQUAL(dsec_netdeny_match_sockaddr(NULL, (struct sockaddr *)&sin,
                                                addr, sizeof(addr), rule,
                                                sizeof(rule)),
                    0);

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    CU_ASSERT_EQUAL(inet_pton(AF_INET6, "::ffff:192.168.7.7", &sin6.sin6_addr),
                    1);
    CU_ASSERT_EQUAL(
        dsec_netdeny_match_sockaddr(PRIVATE_NETS, (struct sockaddr *)&sin6,
                                    addr, sizeof(addr), rule, sizeof(rule)),
        1);
    CU_ASSERT_STRING_EQUAL(rule, "192.168.0.0/16");
    CU_ASSERT_EQUAL(inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr), 1);
    CU_ASSERT_EQUAL(
        dsec_netdeny_match_sockaddr(PRIVATE_NETS, (struct sockaddr *)&sin6,
                                    addr, sizeof(addr), rule, sizeof(rule)),
        0);
    CU_ASSERT_STRING_EQUAL(addr, "2001:db8::7");

    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNIX;
    CU_ASSERT_EQUAL(dsec_netdeny_match_sockaddr("0.0.0.0/0,::/0", &sa, addr,
                                                sizeof(addr), rule,
                                                sizeof(rule)),
                    0);
}

static void test_netdeny_filter(void)
{
    char addrs[4][INET6_ADDRSTRLEN] = { "127.0.0.1", "203.0.113.5", "::1",
                                        "2001:db8::5" };
    char denied[INET6_ADDRSTRLEN] = "";
    char rule[64] = "";
    size_t n;

    n = dsec_netdeny_filter(PRIVATE_NETS, addrs, 4, denied, sizeof(denied),
                            rule, sizeof(rule));
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(addrs[0], "203.0.113.5");
    CU_ASSERT_STRING_EQUAL(addrs[1], "2001:db8::5");
    CU_ASSERT_STRING_EQUAL(denied, "127.0.0.1");
    CU_ASSERT_STRING_EQUAL(rule, "127.0.0.0/8");

    denied[0] = '\0';
    CU_ASSERT_EQUAL(dsec_netdeny_filter(NULL, addrs, 2, denied, sizeof(denied),
                                        rule, sizeof(rule)),
                    2);
    CU_ASSERT_STRING_EQUAL(denied, "");
    CU_ASSERT_EQUAL(dsec_netdeny_filter("0.0.0.0/0,::/0", addrs, 2, denied,
                                        sizeof(denied), rule, sizeof(rule)),
                    0);
    CU_ASSERT_STRING_EQUAL(denied, "203.0.113.5");
    CU_ASSERT_STRING_EQUAL(rule, "0.0.0.0/0");
}

static void test_netdeny_in_block(void)
{
    CU_ASSERT_EQUAL(dsec_netdeny_in_block("10.1.2.3", "10.0.0.0/8"), 1);
    CU_ASSERT_EQUAL(dsec_netdeny_in_block("11.1.2.3", "10.0.0.0/8"), 0);
    CU_ASSERT_EQUAL(dsec_netdeny_in_block("fd00::1", "fc00::/7"), 1);
    CU_ASSERT_EQUAL(dsec_netdeny_in_block("10.1.2.3", "fc00::/7"), 0);
    CU_ASSERT_EQUAL(dsec_netdeny_in_block("crl.example", "10.0.0.0/8"), 0);
    CU_ASSERT_EQUAL(dsec_netdeny_in_block("10.1.2.3", "10.0.0.0/x"), 0);
}

static CU_TestInfo tests[] = {
    { "test_netdeny_check", test_netdeny_check },
    { "test_netdeny_match_text", test_netdeny_match_text },
    { "test_netdeny_match_sockaddr", test_netdeny_match_sockaddr },
    { "test_netdeny_filter", test_netdeny_filter },
    { "test_netdeny_in_block", test_netdeny_in_block },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("netdeny", NULL, NULL, tests);
}
