/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/revoke.c: the signature gate over a chain, and the
 * engine obtaining a CRL for one certificate (no CDP, a forbidden scheme,
 * a cache hit, an unreachable loopback server and the backoff after it,
 * stale_grace, the per-certificate fetch limit). The only network use is
 * 127.0.0.1 port 9, where nothing listens.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include "domainsec/revoke.h"
#include "testutil.h"

#define DEAD_URL "http://127.0.0.1:9/inter.crl"

static EVP_PKEY *root_key;
static EVP_PKEY *inter_key;
static EVP_PKEY *leaf_key;
static EVP_PKEY *wrong_key;
static X509 *root;
static X509 *inter;
static X509 *inter_bad; /* claims root as issuer, signed by wrong_key */
static X509 *leaf;
static X509 *leaf_bad; /* claims inter as issuer, signed by wrong_key */
static char cache_dir[256];

static int suite_init(void)
{
    root_key = tu_key();
    inter_key = tu_key();
    leaf_key = tu_key();
    wrong_key = tu_key();
    if (root_key == NULL || inter_key == NULL || leaf_key == NULL
        || wrong_key == NULL) {
        return -1;
    }
    root = tu_cert("Revoke Root", NULL, NULL, root_key, 1, NULL, -86400, 86400);
    if (root == NULL) {
        return -1;
    }
    inter = tu_cert("Revoke Inter", root, root_key, inter_key, 1, NULL, -86400,
                    86400);
    inter_bad = tu_cert("Revoke Inter", root, wrong_key, inter_key, 1, NULL,
                        -86400, 86400);
    if (inter == NULL || inter_bad == NULL) {
        return -1;
    }
    leaf =
        tu_cert("leaf", inter, inter_key, leaf_key, 0, DEAD_URL, -3600, 3600);
    leaf_bad =
        tu_cert("leaf", inter, wrong_key, leaf_key, 0, DEAD_URL, -3600, 3600);
    if (leaf == NULL || leaf_bad == NULL) {
        return -1;
    }
    return tu_tmpdir(cache_dir, sizeof(cache_dir)) != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(root);
    X509_free(inter);
    X509_free(inter_bad);
    X509_free(leaf);
    X509_free(leaf_bad);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(inter_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(wrong_key);
    if (cache_dir[0] != '\0') {
        (void)tu_rmtree(cache_dir);
    }
    return 0;
}

static void check_gate(STACK_OF(X509) * chain, int top_trusted, int expect,
                       int expect_bad)
{
    int bad = 99;

    CU_ASSERT_PTR_NOT_NULL_FATAL(chain);
    CU_ASSERT_EQUAL(dsec_gate(chain, top_trusted, &bad), expect);
    CU_ASSERT_EQUAL(bad, expect_bad);
    sk_X509_pop_free(chain, X509_free);
}

static void test_revoke_gate_good_chain(void)
{
    check_gate(tu_chain(leaf, inter, root, NULL), 1, 0, -1);
}

static void test_revoke_gate_untrusted_top(void)
{
    check_gate(tu_chain(leaf, inter, root, NULL), 0, 3, -1);
    check_gate(tu_chain(leaf, inter, NULL), 0, 2, -1);
}

static void test_revoke_gate_bad_leaf(void)
{
    check_gate(tu_chain(leaf_bad, inter, root, NULL), 1, 1, 0);
}

static void test_revoke_gate_bad_inter(void)
{
    check_gate(tu_chain(leaf, inter_bad, root, NULL), 1, 2, 1);
    /* the highest broken link decides, even if a lower one is bad too */
    check_gate(tu_chain(leaf_bad, inter_bad, root, NULL), 1, 2, 1);
}

static void test_revoke_gate_one_element(void)
{
    check_gate(tu_chain(root, NULL), 1, 0, -1);
    check_gate(tu_chain(root, NULL), 0, 1, -1);
}

/* An engine on the suite's cache directory, log none, plus one setting. */
static dsec_engine *new_engine(const char *name, const char *value)
{
    dsec_config *cfg = dsec_config_new();
    dsec_engine *eng = NULL;
    DSEC_ERR err;

    memset(&err, 0, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL_FATAL(dsec_config_set(cfg, "cache_dir", cache_dir, &err),
                          DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(dsec_config_set(cfg, "log", "none", &err), DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(dsec_config_set(cfg, "fetch_timeout", "2", &err),
                          DSEC_OK);
    if (name != NULL) {
        CU_ASSERT_EQUAL_FATAL(dsec_config_set(cfg, name, value, &err), DSEC_OK);
    }
    eng = dsec_engine_new(cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eng);
    return eng;
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_revoke_engine_new(void)
{
    dsec_config *cfg = dsec_config_new();
    dsec_engine *eng = NULL;
    DSEC_ERR err;

    memset(&err, 0, sizeof(err));
    CU_ASSERT_PTR_NULL(dsec_engine_new(NULL, &err));

    /* an unusable cache_dir only costs the disk layer */
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(
        dsec_config_set(cfg, "cache_dir", "/nonexistent/domainsec-test", &err),
        DSEC_OK);
    CU_ASSERT_EQUAL(dsec_config_set(cfg, "log", "none", &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_config_set(cfg, "fail_cache", "33", &err), DSEC_OK);
    eng = dsec_engine_new(cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eng);
    CU_ASSERT_PTR_NOT_NULL(dsec_engine_cache(eng));
    CU_ASSERT_PTR_EQUAL(dsec_engine_config(eng), cfg);
    CU_ASSERT_EQUAL(dsec_engine_config(eng)->fail_cache, 33);
    dsec_engine_free(eng);
    dsec_engine_free(NULL);
}

static void test_revoke_no_cdp(void)
{
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509 *nocdp =
        tu_cert("no-cdp", inter, inter_key, leaf_key, 0, NULL, -60, 3600);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nocdp);
    CU_ASSERT_EQUAL(
        dsec_engine_obtain_crl(eng, nocdp, inter, 0, time(NULL), rep),
        DSEC_ERR_NO_CDP);
    CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_ERR_NO_CDP);
    CU_ASSERT_EQUAL(rep->nattempts, 0);
    CU_ASSERT_EQUAL(sk_X509_CRL_num(rep->crls), 0);
    X509_free(nocdp);
    dsec_report_free(rep);
    dsec_engine_free(eng);
}

static void test_revoke_file_scheme(void)
{
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509 *filecdp = tu_cert("file-cdp", inter, inter_key, leaf_key, 0,
                            "file:///etc/passwd", -60, 3600);
    dsec_rv rv;
    size_t i;
    int seen = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(filecdp);
    rv = dsec_engine_obtain_crl(eng, filecdp, inter, 1, time(NULL), rep);
    CU_ASSERT_NOT_EQUAL(rv, DSEC_OK);
    CU_ASSERT_NOT_EQUAL(rep->depth[1].rv, DSEC_OK);
    for (i = 0; i < rep->nattempts; i++) {
        if (rep->attempts[i].url != NULL
            && strcmp(rep->attempts[i].url, "file:///etc/passwd") == 0) {
            CU_ASSERT_EQUAL(rep->attempts[i].rv, DSEC_ERR_SCHEME);
            CU_ASSERT_EQUAL(rep->attempts[i].depth, 1);
            CU_ASSERT_EQUAL(rep->attempts[i].bytes, 0);
            seen = 1;
        }
    }
    CU_ASSERT_TRUE(seen);
    CU_ASSERT_EQUAL(sk_X509_CRL_num(rep->crls), 0);
    X509_free(filecdp);
    dsec_report_free(rep);
    dsec_engine_free(eng);
}

static void test_revoke_cache_hit(void)
{
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509_CRL *crl = tu_crl(inter, inter_key, -60, 3600, NULL, 0, 0);
    X509 *hit = tu_cert("hit", inter, inter_key, leaf_key, 0,
                        "http://127.0.0.1:9/cached.crl", -60, 3600);
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hit);
    CU_ASSERT_EQUAL_FATAL(dsec_cache_put(dsec_engine_cache(eng),
                                         "http://127.0.0.1:9/cached.crl", crl,
                                         inter),
                          DSEC_OK);
    CU_ASSERT_EQUAL(dsec_engine_obtain_crl(eng, hit, inter, 0, time(NULL), rep),
                    DSEC_OK);
    CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(sk_X509_CRL_num(rep->crls), 1);
    CU_ASSERT_PTR_EQUAL(sk_X509_CRL_value(rep->crls, 0), crl);
    for (i = 0; i < rep->nattempts; i++) {
        CU_ASSERT_NOT_EQUAL(rep->attempts[i].from_cache, 0);
    }
    X509_free(hit);
    X509_CRL_free(crl);
    dsec_report_free(rep);
    dsec_engine_free(eng);
}

static void test_revoke_connect_then_backoff(void)
{
    dsec_engine *eng = new_engine("fail_cache", "60");
    dsec_report *rep = dsec_report_new();
    dsec_report *rep2 = dsec_report_new();
    X509 *dead = tu_cert("dead", inter, inter_key, leaf_key, 0,
                         "http://127.0.0.1:9/dead.crl", -60, 3600);
    double t0;
    dsec_rv rv;
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dead);
    t0 = mono_now();
    rv = dsec_engine_obtain_crl(eng, dead, inter, 0, time(NULL), rep);
    CU_ASSERT_EQUAL(rv, DSEC_ERR_CONNECT);
    CU_ASSERT_TRUE(mono_now() - t0 < 3.0);
    CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_ERR_CONNECT);
    CU_ASSERT_EQUAL_FATAL(rep->nattempts, 1);
    CU_ASSERT_EQUAL(rep->attempts[0].rv, DSEC_ERR_CONNECT);
    CU_ASSERT_EQUAL(rep->attempts[0].from_cache, 0);
    CU_ASSERT_STRING_EQUAL(rep->attempts[0].url, "http://127.0.0.1:9/dead.crl");
    CU_ASSERT_EQUAL(sk_X509_CRL_num(rep->crls), 0);

    /* within fail_cache: answered from the negative entry, no new fetch */
    rv = dsec_engine_obtain_crl(eng, dead, inter, 0, time(NULL), rep2);
    CU_ASSERT_NOT_EQUAL(rv, DSEC_OK);
    CU_ASSERT_NOT_EQUAL(rep2->depth[0].rv, DSEC_OK);
    CU_ASSERT_TRUE(rep2->nattempts >= 1);
    for (i = 0; i < rep2->nattempts; i++) {
        CU_ASSERT_TRUE(rep2->attempts[i].from_cache != 0
                       || rep2->attempts[i].rv == DSEC_ERR_BACKOFF);
    }
    X509_free(dead);
    dsec_report_free(rep);
    dsec_report_free(rep2);
    dsec_engine_free(eng);
}

static void test_revoke_stale_grace(void)
{
    dsec_engine *eng = new_engine("stale_grace", "7200");
    dsec_report *rep = dsec_report_new();
    X509_CRL *stale = tu_crl(inter, inter_key, -7200, -3600, NULL, 0, 0);
    X509 *cert = tu_cert("stale", inter, inter_key, leaf_key, 0,
                         "http://127.0.0.1:9/stale.crl", -60, 3600);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stale);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_EQUAL_FATAL(dsec_cache_put(dsec_engine_cache(eng),
                                         "http://127.0.0.1:9/stale.crl", stale,
                                         inter),
                          DSEC_OK);
    /* refetching fails (nothing on port 9): the stale CRL serves */
    CU_ASSERT_EQUAL(
        dsec_engine_obtain_crl(eng, cert, inter, 0, time(NULL), rep), DSEC_OK);
    CU_ASSERT_EQUAL(sk_X509_CRL_num(rep->crls), 1);
    X509_free(cert);
    X509_CRL_free(stale);
    dsec_report_free(rep);
    dsec_engine_free(eng);
}

static void test_revoke_stale_without_grace(void)
{
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509_CRL *stale = tu_crl(inter, inter_key, -7200, -3600, NULL, 0, 0);
    X509 *cert = tu_cert("stale", inter, inter_key, leaf_key, 0,
                         "http://127.0.0.1:9/stale2.crl", -60, 3600);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stale);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_EQUAL_FATAL(dsec_cache_put(dsec_engine_cache(eng),
                                         "http://127.0.0.1:9/stale2.crl", stale,
                                         inter),
                          DSEC_OK);
    CU_ASSERT_NOT_EQUAL(
        dsec_engine_obtain_crl(eng, cert, inter, 0, time(NULL), rep), DSEC_OK);
    CU_ASSERT_EQUAL(sk_X509_CRL_num(rep->crls), 0);
    X509_free(cert);
    X509_CRL_free(stale);
    dsec_report_free(rep);
    dsec_engine_free(eng);
}

static void test_revoke_fetch_limit(void)
{
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509 *many = tu_cert("many", inter, inter_key, leaf_key, 0,
                         "http://127.0.0.1:9/1.crl|http://127.0.0.1:9/2.crl|"
                         "http://127.0.0.1:9/3.crl|http://127.0.0.1:9/4.crl|"
                         "http://127.0.0.1:9/5.crl|http://127.0.0.1:9/6.crl",
                         -60, 3600);
    size_t i;
    int network = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    CU_ASSERT_NOT_EQUAL(
        dsec_engine_obtain_crl(eng, many, inter, 0, time(NULL), rep), DSEC_OK);
    for (i = 0; i < rep->nattempts; i++) {
        if (rep->attempts[i].from_cache == 0
            && rep->attempts[i].rv != DSEC_ERR_BACKOFF
            && rep->attempts[i].rv != DSEC_ERR_SCHEME) {
            network++;
        }
    }
    CU_ASSERT_TRUE(network >= 1);
    CU_ASSERT_TRUE(network <= DSEC_MAX_FETCHES_PER_CERT);
    X509_free(many);
    dsec_report_free(rep);
    dsec_engine_free(eng);
}

static CU_TestInfo tests[] = {
    { "test_revoke_gate_good_chain", test_revoke_gate_good_chain },
    { "test_revoke_gate_untrusted_top", test_revoke_gate_untrusted_top },
    { "test_revoke_gate_bad_leaf", test_revoke_gate_bad_leaf },
    { "test_revoke_gate_bad_inter", test_revoke_gate_bad_inter },
    { "test_revoke_gate_one_element", test_revoke_gate_one_element },
    { "test_revoke_engine_new", test_revoke_engine_new },
    { "test_revoke_no_cdp", test_revoke_no_cdp },
    { "test_revoke_file_scheme", test_revoke_file_scheme },
    { "test_revoke_cache_hit", test_revoke_cache_hit },
    { "test_revoke_connect_then_backoff", test_revoke_connect_then_backoff },
    { "test_revoke_stale_grace", test_revoke_stale_grace },
    { "test_revoke_stale_without_grace", test_revoke_stale_without_grace },
    { "test_revoke_fetch_limit", test_revoke_fetch_limit },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("revoke", suite_init, suite_cleanup, tests);
}
