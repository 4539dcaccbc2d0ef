/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/report.c and src/classify.c: the transient/fatal
 * classification of X509
 * verification errors, the CLI exit codes, the rule that keeps the first
 * error and lets a fatal one replace a transient one, and the attempt list.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/x509_vfy.h>
#include "testutil.h"
#include "domainsec/report.h"

static void test_report_classify_valid(void)
{
    CU_ASSERT_EQUAL(dsec_classify(X509_V_OK, DSEC_OK), DSEC_CLASS_VALID);
}

static void test_report_classify_revoked(void)
{
    CU_ASSERT_EQUAL(dsec_classify(X509_V_ERR_CERT_REVOKED, DSEC_OK),
                    DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(dsec_classify(23, DSEC_ERR_CONNECT), DSEC_CLASS_FATAL);
}

static void test_report_classify_unable_to_get_crl(void)
{
    static const dsec_rv transient[] = {
        DSEC_ERR_CONNECT, DSEC_ERR_TIMEOUT,   DSEC_ERR_HTTP,
        DSEC_ERR_PARSE,   DSEC_ERR_CRL_STALE,
    };
    size_t i;

    CU_ASSERT_EQUAL(X509_V_ERR_UNABLE_TO_GET_CRL, 3);
    for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        CU_ASSERT_EQUAL(dsec_classify(3, transient[i]), DSEC_CLASS_TRANSIENT);
    }
    CU_ASSERT_EQUAL(dsec_classify(3, DSEC_ERR_NO_CDP), DSEC_CLASS_FATAL);
    /* only CDPs of schemes not in cdp_schemes: a set-up problem */
    CU_ASSERT_EQUAL(dsec_classify(3, DSEC_ERR_SCHEME), DSEC_CLASS_FATAL);
}

static void test_report_classify_unusable_crl(void)
{
    CU_ASSERT_EQUAL(X509_V_ERR_CRL_HAS_EXPIRED, 12);
    CU_ASSERT_EQUAL(X509_V_ERR_CRL_SIGNATURE_FAILURE, 8);
    CU_ASSERT_EQUAL(dsec_classify(12, DSEC_OK), DSEC_CLASS_TRANSIENT);
    CU_ASSERT_EQUAL(dsec_classify(8, DSEC_OK), DSEC_CLASS_TRANSIENT);
    /* the other unusable-CRL errors */
    CU_ASSERT_EQUAL(
        dsec_classify(X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE, DSEC_OK),
        DSEC_CLASS_TRANSIENT);
    CU_ASSERT_EQUAL(dsec_classify(X509_V_ERR_CRL_NOT_YET_VALID, DSEC_OK),
                    DSEC_CLASS_TRANSIENT);
}

static void test_report_classify_fatal(void)
{
    static const int fatal[] = { 7, 2, 20, 10, 24 };
    size_t i;

    for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        CU_ASSERT_EQUAL(dsec_classify(fatal[i], DSEC_OK), DSEC_CLASS_FATAL);
        CU_ASSERT_EQUAL(dsec_classify(fatal[i], DSEC_ERR_CONNECT),
                        DSEC_CLASS_FATAL);
    }
}

static void test_report_exit_codes(void)
{
    CU_ASSERT_EQUAL(dsec_classify_exit_code(DSEC_CLASS_VALID), 0);
    CU_ASSERT_EQUAL(dsec_classify_exit_code(DSEC_CLASS_TRANSIENT), 75);
    CU_ASSERT_EQUAL(dsec_classify_exit_code(DSEC_CLASS_FATAL), 1);
    CU_ASSERT_PTR_NOT_NULL(dsec_classify_name(DSEC_CLASS_VALID));
    CU_ASSERT_PTR_NOT_NULL(dsec_classify_name(DSEC_CLASS_TRANSIENT));
    CU_ASSERT_PTR_NOT_NULL(dsec_classify_name(DSEC_CLASS_FATAL));
    if (dsec_classify_name(DSEC_CLASS_TRANSIENT) != NULL
        && dsec_classify_name(DSEC_CLASS_FATAL) != NULL) {
        CU_ASSERT_STRING_NOT_EQUAL(dsec_classify_name(DSEC_CLASS_TRANSIENT),
                                   dsec_classify_name(DSEC_CLASS_FATAL));
    }
}

static void test_report_record_fatal_replaces_transient(void)
{
    dsec_report *rep = dsec_report_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_VALID);

    dsec_report_record(rep, 3, 0, DSEC_ERR_CONNECT, "server unreachable");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_TRANSIENT);
    CU_ASSERT_EQUAL(rep->x509_err, 3);
    CU_ASSERT_EQUAL(rep->err_depth, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep->reason, "server unreachable"));

    /* a later transient one does not replace the first */
    dsec_report_record(rep, 12, 1, DSEC_ERR_CRL_STALE, "stale");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_TRANSIENT);
    CU_ASSERT_EQUAL(rep->x509_err, 3);
    CU_ASSERT_EQUAL(rep->err_depth, 0);

    /* a fatal one does */
    dsec_report_record(rep, 23, 1, DSEC_OK, "certificate revoked");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(rep->x509_err, 23);
    CU_ASSERT_EQUAL(rep->err_depth, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep->reason, "certificate revoked"));

    /* and is not replaced by a later transient or fatal one */
    dsec_report_record(rep, 3, 0, DSEC_ERR_TIMEOUT, "timeout");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(rep->x509_err, 23);
    dsec_report_record(rep, 20, 2, DSEC_OK, "untrusted");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(rep->x509_err, 23);
    CU_ASSERT_EQUAL(rep->err_depth, 1);
    dsec_report_free(rep);
}

static void test_report_record_fatal_first(void)
{
    dsec_report *rep = dsec_report_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    dsec_report_record(rep, 3, 0, DSEC_ERR_NO_CDP, "no CDP");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(rep->x509_err, 3);
    dsec_report_record(rep, 3, 1, DSEC_ERR_CONNECT, "unreachable");
    CU_ASSERT_EQUAL(rep->cls, DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(rep->err_depth, 0);
    dsec_report_free(rep);
}

static void test_report_add_attempt(void)
{
    dsec_report *rep = dsec_report_new();
    char url[64] = "http://crl.example/ca.crl";
    dsec_attempt *att;
    char name[64];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    att = dsec_report_add_attempt(rep, 1, url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(att);
    CU_ASSERT_EQUAL(rep->nattempts, 1);
    CU_ASSERT_EQUAL(att->depth, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(att->url);
    CU_ASSERT_PTR_NOT_EQUAL(att->url, url);
    memcpy(url, "XXXX", 4);
    CU_ASSERT_STRING_EQUAL(att->url, "http://crl.example/ca.crl");

    /* growth keeps earlier attempts */
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "http://h%d.example/x.crl", i);
        att = dsec_report_add_attempt(rep, i % 3, name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(att);
    }
    CU_ASSERT_EQUAL(rep->nattempts, 101);
    CU_ASSERT_STRING_EQUAL(rep->attempts[0].url, "http://crl.example/ca.crl");
    CU_ASSERT_STRING_EQUAL(rep->attempts[100].url, "http://h99.example/x.crl");
    CU_ASSERT_EQUAL(rep->attempts[100].depth, 0);
    dsec_report_free(rep);
    dsec_report_free(NULL);
}

static CU_TestInfo tests[] = {
    { "test_report_classify_valid", test_report_classify_valid },
    { "test_report_classify_revoked", test_report_classify_revoked },
    { "test_report_classify_unable_to_get_crl",
      test_report_classify_unable_to_get_crl },
    { "test_report_classify_unusable_crl", test_report_classify_unusable_crl },
    { "test_report_classify_fatal", test_report_classify_fatal },
    { "test_report_exit_codes", test_report_exit_codes },
    { "test_report_record_fatal_replaces_transient",
      test_report_record_fatal_replaces_transient },
    { "test_report_record_fatal_first", test_report_record_fatal_first },
    { "test_report_add_attempt", test_report_add_attempt },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("report", NULL, NULL, tests);
}
