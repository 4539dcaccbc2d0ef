/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/cdp.c: extraction of the CRL Distribution Point URIs of
 * a certificate, in order, with their DistributionPoint index, and the
 * counting of names that are not usable URIs.
 */
#include <string.h>
#include <CUnit/Basic.h>
#include "domainsec/cdp.h"
#include "testutil.h"

static EVP_PKEY *ca_key;
static EVP_PKEY *leaf_key;
static X509 *ca;

static int suite_init(void)
{
    ca_key = tu_key();
    leaf_key = tu_key();
    if (ca_key == NULL || leaf_key == NULL) {
        return -1;
    }
    ca = tu_cert("CDP Test CA", NULL, NULL, ca_key, 1, NULL, -3600, 86400);
    return ca != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    return 0;
}

static void test_cdp_none(void)
{
    X509 *leaf = tu_cert("leaf", ca, ca_key, leaf_key, 0, NULL, -60, 3600);
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    /* extract zeroes the list first */
    memset(&list, 0, sizeof(list));
    list.n = 5;
    list.skipped = 3;
    CU_ASSERT_EQUAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL(list.n, 0);
    CU_ASSERT_EQUAL(list.skipped, 0);
    dsec_cdp_list_clear(&list);
    X509_free(leaf);
}

static void test_cdp_one_dp_two_uris(void)
{
    X509 *leaf = tu_cert("leaf", ca, ca_key, leaf_key, 0,
                         "http://crl.example/ca.crl|ldap://ldap.example/"
                         "cn=CA?certificateRevocationList",
                         -60, 3600);
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    CU_ASSERT_EQUAL_FATAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(list.n, 2);
    CU_ASSERT_STRING_EQUAL(list.v[0].url, "http://crl.example/ca.crl");
    CU_ASSERT_STRING_EQUAL(list.v[1].url, "ldap://ldap.example/"
                                          "cn=CA?certificateRevocationList");
    CU_ASSERT_EQUAL(list.v[0].dp, 0);
    CU_ASSERT_EQUAL(list.v[1].dp, 0);
    CU_ASSERT_EQUAL(list.skipped, 0);
    dsec_cdp_list_clear(&list);
    X509_free(leaf);
}

static void test_cdp_two_dps(void)
{
    X509 *leaf = tu_cert_multi_dp("leaf", ca, ca_key, leaf_key,
                                  "http://one.example/1.crl",
                                  "http://two.example/2.crl|"
                                  "http://two.example/3.crl");
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    CU_ASSERT_EQUAL_FATAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(list.n, 3);
    CU_ASSERT_STRING_EQUAL(list.v[0].url, "http://one.example/1.crl");
    CU_ASSERT_STRING_EQUAL(list.v[1].url, "http://two.example/2.crl");
    CU_ASSERT_STRING_EQUAL(list.v[2].url, "http://two.example/3.crl");
    CU_ASSERT_EQUAL(list.v[0].dp, 0);
    CU_ASSERT_EQUAL(list.v[1].dp, 1);
    CU_ASSERT_EQUAL(list.v[2].dp, 1);
    dsec_cdp_list_clear(&list);
    X509_free(leaf);
}

static void test_cdp_directory_name_skipped(void)
{
    X509 *leaf = tu_cert_nonuri_dp("leaf", ca, ca_key, leaf_key, 0);
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    CU_ASSERT_EQUAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL(list.n, 0);
    CU_ASSERT_EQUAL(list.skipped, 1);
    dsec_cdp_list_clear(&list);
    X509_free(leaf);
}

static void test_cdp_relative_name_skipped(void)
{
    X509 *leaf = tu_cert_nonuri_dp("leaf", ca, ca_key, leaf_key, 1);
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    CU_ASSERT_EQUAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL(list.n, 0);
    CU_ASSERT_EQUAL(list.skipped, 1);
    dsec_cdp_list_clear(&list);
    X509_free(leaf);
}

static void test_cdp_mixed_names(void)
{
    X509 *leaf = tu_cert_multi_dp("leaf", ca, ca_key, leaf_key,
                                  "DIR:somewhere|http://a.example/a.crl",
                                  "NUL:http://evil.example/|"
                                  "http://b.example/b.crl");
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    CU_ASSERT_EQUAL_FATAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL(list.skipped, 2);
    CU_ASSERT_EQUAL_FATAL(list.n, 2);
    CU_ASSERT_STRING_EQUAL(list.v[0].url, "http://a.example/a.crl");
    CU_ASSERT_EQUAL(list.v[0].dp, 0);
    CU_ASSERT_STRING_EQUAL(list.v[1].url, "http://b.example/b.crl");
    CU_ASSERT_EQUAL(list.v[1].dp, 1);
    dsec_cdp_list_clear(&list);
    X509_free(leaf);
}

static void test_cdp_list_clear(void)
{
    X509 *leaf = tu_cert("leaf", ca, ca_key, leaf_key, 0,
                         "http://crl.example/ca.crl", -60, 3600);
    dsec_cdp_list list;

    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    dsec_cdp_list_clear(NULL);
    CU_ASSERT_EQUAL_FATAL(dsec_cdp_extract(leaf, &list), DSEC_OK);
    CU_ASSERT_EQUAL(list.n, 1);
    dsec_cdp_list_clear(&list);
    CU_ASSERT_PTR_NULL(list.v);
    CU_ASSERT_EQUAL(list.n, 0);
    CU_ASSERT_EQUAL(list.skipped, 0);
    dsec_cdp_list_clear(&list);
    CU_ASSERT_PTR_NULL(list.v);
    X509_free(leaf);
}

static void test_cdp_null_cert(void)
{
    dsec_cdp_list list;

    memset(&list, 0, sizeof(list));
    CU_ASSERT_NOT_EQUAL(dsec_cdp_extract(NULL, &list), DSEC_OK);
    CU_ASSERT_EQUAL(list.n, 0);
    dsec_cdp_list_clear(&list);
}

static CU_TestInfo tests[] = {
    { "test_cdp_none", test_cdp_none },
    { "test_cdp_one_dp_two_uris", test_cdp_one_dp_two_uris },
    { "test_cdp_two_dps", test_cdp_two_dps },
    { "test_cdp_directory_name_skipped", test_cdp_directory_name_skipped },
    { "test_cdp_relative_name_skipped", test_cdp_relative_name_skipped },
    { "test_cdp_mixed_names", test_cdp_mixed_names },
    { "test_cdp_list_clear", test_cdp_list_clear },
    { "test_cdp_null_cert", test_cdp_null_cert },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("cdp", suite_init, suite_cleanup, tests);
}
