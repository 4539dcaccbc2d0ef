/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/refresher.c: a cached CRL past its refresh point
 * queues one background refresh per URL (de-duplicated while queued or
 * running, paced after one that gave nothing newer), one before it queues
 * nothing, a cache being freed waits for its running job, and a forked
 * child starts a worker of its own. The URLs
 * use a scheme cdp_schemes does not allow: the fetch fails at once, no
 * network.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>
#include <openssl/x509.h>
#include "domainsec/cache.h"
#include "domainsec/config.h"
#include "domainsec/crl.h"
#include "internal.h"
#include "testutil.h"

static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca, *leaf;

static int suite_init(void)
{
    ca_key = tu_key();
    leaf_key = tu_key();
    if (ca_key == NULL || leaf_key == NULL) {
        return -1;
    }
    ca = tu_cert("Refresher CA", NULL, NULL, ca_key, 1, NULL, -86400, 86400);
    leaf = tu_cert("leaf", ca, ca_key, leaf_key, 0, "ldap://crl.invalid/x",
                   -3600, 3600);
    return ca != NULL && leaf != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    return 0;
}

/* Wait (5 s at most) until no job is queued or running. */
static void settle(void)
{
    int i;

    for (i = 0; i < 500 && dsec_refresher_pending() > 0; i++) {
        usleep(10000);
    }
}

static void test_refresher_dedup(void)
{
    dsec_config *cfg = dsec_config_new();
    dsec_cache *cache = dsec_cache_new(16);
    /* valid 1000 s, issued 900 s ago: past 80 % */
    X509_CRL *due = tu_crl(ca, ca_key, -900, 100, NULL, 0, 0);
    X509_CRL *fresh = tu_crl(ca, ca_key, -10, 1000, NULL, 0, 0);
    dsec_link link;
    unsigned long before;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cache);
    CU_ASSERT_PTR_NOT_NULL_FATAL(due);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fresh);
    cfg->cdp_schemes = DSEC_SCHEME_HTTP;
    cfg->fail_cache = 0;
    memset(&link, 0, sizeof(link));
    link.cert = leaf;
    link.issuer = ca;
    before = dsec_refresher_done();
    /* before its refresh point: nothing */
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/a", 0, ca,
                                            fresh),
                    0);
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/a", 0, ca, due),
                    1);
    /* queued or running, or done with nothing newer: not again */
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/a", 0, ca, due),
                    0);
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/b", 0, ca, due),
                    1);
    settle();
    CU_ASSERT_EQUAL(dsec_refresher_pending(), 0);
    CU_ASSERT_EQUAL(dsec_refresher_done() - before, 2);
    /* paced after a failure: retried later, not at once */
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/a", 0, ca, due),
                    0);
    /* the failed refresh never replaced anything */
    CU_ASSERT_EQUAL(dsec_cache_count(cache) <= 2, 1);
    dsec_refresher_forget(cache);
    /* forgotten: the same URL of a new cache is queued again */
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/a", 0, ca, due),
                    1);
    dsec_refresher_forget(cache);
    CU_ASSERT_EQUAL(dsec_refresher_pending(), 0);
    dsec_cache_free(cache);
    dsec_config_free(cfg);
    X509_CRL_free(due);
    X509_CRL_free(fresh);
}

static void test_refresher_bad_input(void)
{
    dsec_config *cfg = dsec_config_new();
    dsec_cache *cache = dsec_cache_new(16);
    X509_CRL *due = tu_crl(ca, ca_key, -900, 100, NULL, 0, 0);
    dsec_link link;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(due);
    memset(&link, 0, sizeof(link));
    link.cert = leaf;
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link, "ldap://x/c",
                                            0, ca, due),
                    0); /* no issuer */
    link.issuer = ca;
    CU_ASSERT_EQUAL(dsec_refresher_consider(NULL, cache, -1, &link,
                                            "ldap://x/c", 0, ca, due),
                    0);
    CU_ASSERT_EQUAL(
        dsec_refresher_consider(cfg, cache, -1, &link, NULL, 0, ca, due), 0);
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link, "ldap://x/c",
                                            0, NULL, due),
                    0);
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link, "ldap://x/c",
                                            0, ca, NULL),
                    0);
    dsec_refresher_forget(cache);
    dsec_cache_free(cache);
    dsec_config_free(cfg);
    X509_CRL_free(due);
}

/*
 * Hosts fork after the worker started (nginx, Postfix): the child has no
 * worker thread and none of the parent's jobs; its first need starts its
 * own worker, which runs the job.
 */
static void test_refresher_fork(void)
{
    dsec_config *cfg = dsec_config_new();
    dsec_cache *cache = dsec_cache_new(16);
    X509_CRL *due = tu_crl(ca, ca_key, -900, 100, NULL, 0, 0);
    dsec_link link;
    unsigned long before;
    int status = -1, code;
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(due);
    cfg->cdp_schemes = DSEC_SCHEME_HTTP;
    cfg->fail_cache = 0;
    cfg->fetch_timeout = 2;
    memset(&link, 0, sizeof(link));
    link.cert = leaf;
    link.issuer = ca;
    /* the parent's worker exists */
    CU_ASSERT_EQUAL(dsec_refresher_consider(cfg, cache, -1, &link,
                                            "ldap://crl.invalid/p", 0, ca, due),
                    1);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        code = dsec_refresher_pending() == 0 ? 0 : 10;
        before = dsec_refresher_done();
        if (code == 0
            && dsec_refresher_consider(cfg, cache, -1, &link,
                                       "ldap://crl.invalid/c", 0, ca, due)
                   != 1) {
            code = 11;
        }
        /* until the child's worker has finished its job (30 s at most:
           slow under valgrind); pending() drops when the job starts */
        for (int i = 0;
             code == 0 && i < 3000 && dsec_refresher_done() - before < 1; i++) {
            usleep(10000);
        }
        if (code == 0 && dsec_refresher_done() - before != 1) {
            code = 12; /* no worker ran the child's job */
        }
        /* nothing left for valgrind to report in the child (it would
           change the exit code): the job is done */
        X509_CRL_free(due);
        dsec_config_free(cfg);
        _exit(code);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    settle();
    dsec_refresher_forget(cache);
    dsec_cache_free(cache);
    dsec_config_free(cfg);
    X509_CRL_free(due);
}

static CU_TestInfo tests[] = {
    { "test_refresher_dedup", test_refresher_dedup },
    { "test_refresher_bad_input", test_refresher_bad_input },
    { "test_refresher_fork", test_refresher_fork },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("refresher", suite_init, suite_cleanup, tests);
}
