/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/refresh.c: the refresh point of a CRL (Next CRL
 * Publish, 80 % of the validity, max_crl_age) and when a cached CRL is
 * due for a refresh.
 */
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include "domainsec/refresh.h"
#include "testutil.h"

#define T0 ((time_t)1800000000)

static EVP_PKEY *key;

static int suite_init(void)
{
    key = tu_key();
    return key != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    EVP_PKEY_free(key);
    return 0;
}

/* A CRL valid from T0 for `valid` seconds (0: no nextUpdate). */
static X509_CRL *crl_for(long valid)
{
    tu_crl_spec s;

    memset(&s, 0, sizeof(s));
    s.issuer = "CN=Refresh CA";
    s.key = key;
    s.this_update = T0;
    s.next_update = valid > 0 ? T0 + valid : 0;
    s.number = 1;
    s.delta_base = -1;
    return tu_crl_ex(&s);
}

/* Add a Next CRL Publish extension holding the DER bytes der. */
static int add_publish_der(X509_CRL *crl, const unsigned char *der, int len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(DSEC_REFRESH_NEXT_PUBLISH_OID, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    if (oid != NULL && os != NULL && ASN1_OCTET_STRING_set(os, der, len)) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
        ok = ext != NULL && X509_CRL_add_ext(crl, ext, -1);
    }
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    return ok;
}

/* Add a Next CRL Publish extension at time t. */
static int add_publish(X509_CRL *crl, time_t t)
{
    ASN1_TIME *at = ASN1_TIME_set(NULL, t);
    unsigned char *der = NULL;
    int len, ok = 0;

    if (at != NULL && (len = i2d_ASN1_TIME(at, &der)) > 0) {
        ok = add_publish_der(crl, der, len);
    }
    OPENSSL_free(der);
    ASN1_TIME_free(at);
    return ok;
}

static void test_refresh_point_eighty_percent(void)
{
    X509_CRL *crl = crl_for(10000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_EQUAL(dsec_refresh_point(crl, 86400), T0 + 8000);
    /* max_crl_age caps it */
    CU_ASSERT_EQUAL(dsec_refresh_point(crl, 600), T0 + 600);
    X509_CRL_free(crl);
}

static void test_refresh_point_no_next_update(void)
{
    X509_CRL *crl = crl_for(0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_EQUAL(dsec_refresh_point(crl, 3600), T0 + 3600);
    CU_ASSERT_EQUAL(dsec_refresh_point(NULL, 3600), (time_t)0);
    X509_CRL_free(crl);
}

static void test_refresh_point_next_publish(void)
{
    X509_CRL *crl = crl_for(7 * 86400);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_TRUE_FATAL(add_publish(crl, T0 + 3600));
    CU_ASSERT_EQUAL(dsec_refresh_point(crl, 86400), T0 + 3600);
    /* still capped by max_crl_age */
    CU_ASSERT_EQUAL(dsec_refresh_point(crl, 600), T0 + 600);
    X509_CRL_free(crl);
}

static void test_refresh_point_next_publish_insane(void)
{
    static const unsigned char junk[] = { 0x04, 0x02, 0x41, 0x42 };
    X509_CRL *before = crl_for(10000);
    X509_CRL *after = crl_for(10000);
    X509_CRL *bad = crl_for(10000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    /* before thisUpdate, after nextUpdate, not a Time: 80 % instead */
    CU_ASSERT_TRUE(add_publish(before, T0 - 10));
    CU_ASSERT_TRUE(add_publish(after, T0 + 10001));
    CU_ASSERT_TRUE(add_publish_der(bad, junk, sizeof(junk)));
    CU_ASSERT_EQUAL(dsec_refresh_point(before, 86400), T0 + 8000);
    CU_ASSERT_EQUAL(dsec_refresh_point(after, 86400), T0 + 8000);
    CU_ASSERT_EQUAL(dsec_refresh_point(bad, 86400), T0 + 8000);
    X509_CRL_free(before);
    X509_CRL_free(after);
    X509_CRL_free(bad);
}

static void test_refresh_due(void)
{
    X509_CRL *crl = crl_for(10000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_TRUE(dsec_refresh_due(NULL, 86400, 0, T0));
    CU_ASSERT_FALSE(dsec_refresh_due(crl, 86400, 0, T0 + 7999));
    CU_ASSERT_TRUE(dsec_refresh_due(crl, 86400, 0, T0 + 8000));
    /* the origin still served it at T0 + 8500: next look 8000 s later,
       never past nextUpdate */
    CU_ASSERT_FALSE(dsec_refresh_due(crl, 86400, T0 + 8500, T0 + 9000));
    CU_ASSERT_TRUE(dsec_refresh_due(crl, 86400, T0 + 8500, T0 + 10000));
    /* a fetch before the refresh point moves nothing */
    CU_ASSERT_TRUE(dsec_refresh_due(crl, 86400, T0 + 100, T0 + 8000));
    X509_CRL_free(crl);
}

static CU_TestInfo tests[] = {
    { "test_refresh_point_eighty_percent", test_refresh_point_eighty_percent },
    { "test_refresh_point_no_next_update", test_refresh_point_no_next_update },
    { "test_refresh_point_next_publish", test_refresh_point_next_publish },
    { "test_refresh_point_next_publish_insane",
      test_refresh_point_next_publish_insane },
    { "test_refresh_due", test_refresh_due },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("refresh", suite_init, suite_cleanup, tests);
}
