/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/engine.c: the engine gathering the CRLs of one
 * certificate (no CDP, a forbidden scheme, a cache hit, an unreachable
 * loopback server and the backoff after it, stale_grace, the
 * per-certificate fetch limit). The only network use is 127.0.0.1 port 9,
 * where nothing listens.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "domainsec/log.h"
#include "domainsec/engine.h"
#include "internal.h"
#include "testutil.h"

static EVP_PKEY *root_key;
static EVP_PKEY *inter_key;
static EVP_PKEY *leaf_key;
static X509 *root;
static X509 *inter;
static char cache_dir[256];
static int cache_fd = -1;

static int suite_init(void)
{
    root_key = tu_key();
    inter_key = tu_key();
    leaf_key = tu_key();
    if (root_key == NULL || inter_key == NULL || leaf_key == NULL) {
        return -1;
    }
    root = tu_cert("Revoke Root", NULL, NULL, root_key, 1, NULL, -86400, 86400);
    if (root == NULL) {
        return -1;
    }
    inter = tu_cert("Revoke Inter", root, root_key, inter_key, 1, NULL, -86400,
                    86400);
    if (inter == NULL) {
        return -1;
    }
    return tu_tmpdir(cache_dir, sizeof(cache_dir)) != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(root);
    X509_free(inter);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(inter_key);
    EVP_PKEY_free(leaf_key);
    if (cache_fd >= 0) {
        close(cache_fd);
    }
    if (cache_dir[0] != '\0') {
        (void)tu_rmtree(cache_dir);
    }
    return 0;
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
    dsec_log_configure(cfg->log, cfg->log_level);
    if (cache_fd < 0) {
        cache_fd = dsec_cache_open_dir(cfg->cache_dir);
    }
    eng = dsec_engine_new(cfg, cache_fd, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eng);
    return eng;
}

/* The engine borrows its configuration: free both. */
static void engine_free(dsec_engine *eng)
{
    dsec_config *cfg = (dsec_config *)dsec_engine_config(eng);

    dsec_engine_free(eng);
    dsec_config_free(cfg);
}

/* dsec_engine_obtain for cert issued by inter, signer: inter only. */
static dsec_rv obtain(dsec_engine *eng, X509 *cert, int depth, dsec_report *rep,
                      dsec_crl_set *set)
{
    dsec_link link;

    memset(&link, 0, sizeof(link));
    link.cert = cert;
    link.issuer = inter;
    link.now = time(NULL);
    link.grace = dsec_engine_config(eng)->stale_grace;
    link.delta = dsec_engine_config(eng)->delta_crl;
    link.signer = dsec_decide_direct_signer;
    link.arg = &link;
    return dsec_engine_obtain(eng, &link, depth, set, rep);
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_engine_engine_new(void)
{
    dsec_config *cfg = dsec_config_new();
    dsec_engine *eng = NULL;
    DSEC_ERR err;

    memset(&err, 0, sizeof(err));
    CU_ASSERT_PTR_NULL(dsec_engine_new(NULL, -1, &err));

    /* an unusable cache_dir only costs the disk layer */
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(
        dsec_config_set(cfg, "cache_dir", "/nonexistent/domainsec-test", &err),
        DSEC_OK);
    CU_ASSERT_EQUAL(dsec_config_set(cfg, "log", "none", &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_config_set(cfg, "fail_cache", "33", &err), DSEC_OK);
    dsec_log_configure(cfg->log, cfg->log_level);
    eng = dsec_engine_new(cfg, dsec_cache_open_dir(cfg->cache_dir), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eng);
    CU_ASSERT_PTR_NOT_NULL(dsec_engine_cache(eng));
    CU_ASSERT_PTR_EQUAL(dsec_engine_config(eng), cfg);
    CU_ASSERT_EQUAL(dsec_engine_config(eng)->fail_cache, 33);
    engine_free(eng);
    dsec_engine_free(NULL);
}

static void test_engine_no_cdp(void)
{
    dsec_crl_set set = { 0 };
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509 *nocdp =
        tu_cert("no-cdp", inter, inter_key, leaf_key, 0, NULL, -60, 3600);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nocdp);
    CU_ASSERT_EQUAL(obtain(eng, nocdp, 0, rep, &set), DSEC_ERR_NO_CDP);
    CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_ERR_NO_CDP);
    CU_ASSERT_EQUAL(rep->nattempts, 0);
    CU_ASSERT_EQUAL((int)set.n, 0);
    X509_free(nocdp);
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    engine_free(eng);
}

static void test_engine_file_scheme(void)
{
    dsec_crl_set set = { 0 };
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509 *filecdp = tu_cert("file-cdp", inter, inter_key, leaf_key, 0,
                            "file:///etc/passwd", -60, 3600);
    dsec_rv rv;
    size_t i;
    int seen = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(filecdp);
    rv = obtain(eng, filecdp, 1, rep, &set);
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
    CU_ASSERT_EQUAL((int)set.n, 0);
    X509_free(filecdp);
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    engine_free(eng);
}

static void test_engine_cache_hit(void)
{
    dsec_crl_set set = { 0 };
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509_CRL *crl = tu_crl(inter, inter_key, -60, 3600, NULL, 0, 0);
    X509 *hit = tu_cert("hit", inter, inter_key, leaf_key, 0,
                        "http://127.0.0.1:9/cached.crl", -60, 3600);
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hit);
    CU_ASSERT_EQUAL_FATAL(tu_cache_put(dsec_engine_cache(eng),
                                       "http://127.0.0.1:9/cached.crl", crl,
                                       inter),
                          DSEC_OK);
    CU_ASSERT_EQUAL(obtain(eng, hit, 0, rep, &set), DSEC_OK);
    CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_OK);
    CU_ASSERT_EQUAL_FATAL((int)set.n, 1);
    CU_ASSERT_PTR_EQUAL(set.v[0].crl, crl);
    for (i = 0; i < rep->nattempts; i++) {
        CU_ASSERT_NOT_EQUAL(rep->attempts[i].from_cache, 0);
    }
    X509_free(hit);
    X509_CRL_free(crl);
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    engine_free(eng);
}

static void test_engine_connect_then_backoff(void)
{
    dsec_crl_set set = { 0 };
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
    rv = obtain(eng, dead, 0, rep, &set);
    CU_ASSERT_EQUAL(rv, DSEC_ERR_CONNECT);
    CU_ASSERT_TRUE(mono_now() - t0 < 3.0);
    CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_ERR_CONNECT);
    CU_ASSERT_EQUAL_FATAL(rep->nattempts, 1);
    CU_ASSERT_EQUAL(rep->attempts[0].rv, DSEC_ERR_CONNECT);
    CU_ASSERT_EQUAL(rep->attempts[0].from_cache, 0);
    CU_ASSERT_STRING_EQUAL(rep->attempts[0].url, "http://127.0.0.1:9/dead.crl");
    CU_ASSERT_EQUAL((int)set.n, 0);

    /* within fail_cache: answered from the negative entry, no new fetch */
    rv = obtain(eng, dead, 0, rep2, &set);
    CU_ASSERT_NOT_EQUAL(rv, DSEC_OK);
    CU_ASSERT_NOT_EQUAL(rep2->depth[0].rv, DSEC_OK);
    CU_ASSERT_TRUE(rep2->nattempts >= 1);
    for (i = 0; i < rep2->nattempts; i++) {
        CU_ASSERT_TRUE(rep2->attempts[i].from_cache != 0
                       || rep2->attempts[i].rv == DSEC_ERR_BACKOFF);
    }
    X509_free(dead);
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    dsec_report_free(rep2);
    engine_free(eng);
}

static void test_engine_stale_grace(void)
{
    dsec_crl_set set = { 0 };
    dsec_engine *eng = new_engine("stale_grace", "7200");
    dsec_report *rep = dsec_report_new();
    X509_CRL *stale = tu_crl(inter, inter_key, -7200, -3600, NULL, 0, 0);
    X509 *cert = tu_cert("stale", inter, inter_key, leaf_key, 0,
                         "http://127.0.0.1:9/stale.crl", -60, 3600);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stale);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_EQUAL_FATAL(tu_cache_put(dsec_engine_cache(eng),
                                       "http://127.0.0.1:9/stale.crl", stale,
                                       inter),
                          DSEC_OK);
    /* refetching fails (nothing on port 9): the stale CRL serves */
    CU_ASSERT_EQUAL(obtain(eng, cert, 0, rep, &set), DSEC_OK);
    CU_ASSERT_EQUAL((int)set.n, 1);
    X509_free(cert);
    X509_CRL_free(stale);
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    engine_free(eng);
}

static void test_engine_stale_without_grace(void)
{
    dsec_crl_set set = { 0 };
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    X509_CRL *stale = tu_crl(inter, inter_key, -7200, -3600, NULL, 0, 0);
    X509 *cert = tu_cert("stale", inter, inter_key, leaf_key, 0,
                         "http://127.0.0.1:9/stale2.crl", -60, 3600);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stale);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_EQUAL_FATAL(tu_cache_put(dsec_engine_cache(eng),
                                       "http://127.0.0.1:9/stale2.crl", stale,
                                       inter),
                          DSEC_OK);
    CU_ASSERT_NOT_EQUAL(obtain(eng, cert, 0, rep, &set), DSEC_OK);
    CU_ASSERT_EQUAL((int)set.n, 0);
    X509_free(cert);
    X509_CRL_free(stale);
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    engine_free(eng);
}

static void test_engine_fetch_limit(void)
{
    dsec_crl_set set = { 0 };
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
    CU_ASSERT_NOT_EQUAL(obtain(eng, many, 0, rep, &set), DSEC_OK);
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
    dsec_crl_set_clear(&set);
    dsec_report_free(rep);
    engine_free(eng);
}

/* ---- gathering with scope, partitions and deltas (cache only) ---- */

#define URL_A "http://127.0.0.1:9/part-a.crl"
#define URL_B "http://127.0.0.1:9/part-b.crl"
#define URL_D "http://127.0.0.1:9/delta.crl"
#define KC_CAC ((1u << 1) | (1u << 2)) /* keyCompromise, cACompromise */

/* A leaf of inter with the DPs and freshestCRL given. */
static X509 *leaf_with(const tu_dp *dps, size_t ndps, const tu_dp *fresh,
                       size_t nfresh)
{
    tu_cert_spec s;

    memset(&s, 0, sizeof(s));
    s.subject = "gather leaf";
    s.issuer = inter;
    s.issuer_key = inter_key;
    s.key = leaf_key;
    s.dps = dps;
    s.ndps = ndps;
    s.freshest = fresh;
    s.nfreshest = nfresh;
    s.not_before = time(NULL) - 60;
    s.not_after = time(NULL) + 3600;
    return tu_cert_ex(&s);
}

/* A CRL of inter (signed with key) with an optional IDP. */
static X509_CRL *crl_with(EVP_PKEY *key, const char *idp_name,
                          unsigned int reasons, long number, long delta_base,
                          const tu_dp *fresh, size_t nfresh)
{
    tu_crl_spec s;

    memset(&s, 0, sizeof(s));
    s.issuer = "Revoke Inter";
    s.key = key;
    s.akid = key == inter_key ? inter : NULL;
    s.this_update = time(NULL) - 60;
    s.next_update = time(NULL) + 3600;
    s.number = number;
    s.delta_base = delta_base;
    s.idp = idp_name != NULL || reasons != 0;
    s.idp_name = idp_name;
    s.idp_reasons = reasons;
    s.freshest = fresh;
    s.nfreshest = nfresh;
    return tu_crl_ex(&s);
}

static int attempts_from_network(const dsec_report *rep)
{
    size_t i;
    int n = 0;

    for (i = 0; i < rep->nattempts; i++) {
        if (rep->attempts[i].from_cache == 0
            && rep->attempts[i].rv != DSEC_ERR_SCHEME) {
            n++;
        }
    }
    return n;
}

/* Two partitions from two DPs: both gathered from the cache. */
static void test_engine_partitions(void)
{
    const tu_dp dps[] = { { "URI:" URL_A, KC_CAC, NULL },
                          { "URI:" URL_B, DSEC_REASONS_ALL & ~KC_CAC, NULL } };
    dsec_engine *eng = new_engine(NULL, NULL);
    dsec_report *rep = dsec_report_new();
    dsec_report *rep2 = dsec_report_new();
    dsec_crl_set set = { 0 }, set2 = { 0 };
    X509 *cert = leaf_with(dps, 2, NULL, 0);
    X509_CRL *a = crl_with(inter_key, "URI:" URL_A, KC_CAC, 1, -1, NULL, 0);
    X509_CRL *b = crl_with(inter_key, "URI:" URL_B, DSEC_REASONS_ALL & ~KC_CAC,
                           1, -1, NULL, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(tu_cache_put(dsec_engine_cache(eng), URL_A, a, inter),
                          DSEC_OK);
    /* only partition A known: B is fetched (nothing listens) */
    CU_ASSERT_EQUAL(obtain(eng, cert, 0, rep, &set), DSEC_OK);
    CU_ASSERT_EQUAL(set.n, 1);
    CU_ASSERT_EQUAL(attempts_from_network(rep), 1);
    CU_ASSERT_EQUAL_FATAL(tu_cache_put(dsec_engine_cache(eng), URL_B, b, inter),
                          DSEC_OK);
    CU_ASSERT_EQUAL(obtain(eng, cert, 0, rep2, &set2), DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(set2.n, 2);
    CU_ASSERT_EQUAL(set2.v[0].dp, 0);
    CU_ASSERT_EQUAL(set2.v[1].dp, 1);
    CU_ASSERT_EQUAL(attempts_from_network(rep2), 0);
    dsec_crl_set_clear(&set);
    dsec_crl_set_clear(&set2);
    X509_CRL_free(a);
    X509_CRL_free(b);
    X509_free(cert);
    dsec_report_free(rep);
    dsec_report_free(rep2);
    engine_free(eng);
}

/*
 * A cached CRL that does not fit this certificate (another partition's
 * IDP; another CA of the same name, whose key verified it) is not taken:
 * the URL is fetched.
 */
static void test_engine_cached_misfit(void)
{
    const tu_dp dp[] = { { "URI:" URL_A, 0, NULL } };
    dsec_engine *eng = new_engine(NULL, NULL);
    EVP_PKEY *other_key = tu_key();
    X509 *other = tu_cert("Revoke Inter", root, root_key, other_key, 1, NULL,
                          -86400, 86400);
    X509 *cert = leaf_with(dp, 1, NULL, 0);
    X509_CRL *scope = crl_with(inter_key, "URI:" URL_B, 0, 1, -1, NULL, 0);
    X509_CRL *forged = crl_with(other_key, NULL, 0, 1, -1, NULL, 0);
    X509_CRL *cases[2];
    X509 *verifier[2];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(other_key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_PTR_NOT_NULL_FATAL(scope);
    CU_ASSERT_PTR_NOT_NULL_FATAL(forged);
    cases[0] = scope;
    verifier[0] = inter;
    cases[1] = forged;
    verifier[1] = other;
    for (i = 0; i < 2; i++) {
        dsec_report *rep = dsec_report_new();
        dsec_crl_set set = { 0 };

        CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
        CU_ASSERT_EQUAL_FATAL(
            tu_cache_put(dsec_engine_cache(eng), URL_A, cases[i], verifier[i]),
            DSEC_OK);
        CU_ASSERT_NOT_EQUAL(obtain(eng, cert, 0, rep, &set), DSEC_OK);
        CU_ASSERT_EQUAL(set.n, 0);
        CU_ASSERT_EQUAL(attempts_from_network(rep), 1);
        dsec_crl_set_clear(&set);
        dsec_report_free(rep);
    }
    X509_CRL_free(scope);
    X509_CRL_free(forged);
    X509_free(cert);
    X509_free(other);
    EVP_PKEY_free(other_key);
    engine_free(eng);
}

/* A complete CRL with freshestCRL gets its delta, unless delta_crl says. */
static void test_engine_delta(void)
{
    const tu_dp dp[] = { { "URI:" URL_A, 0, NULL } };
    const tu_dp fresh[] = { { "URI:" URL_D, 0, NULL } };
    static const char *const modes[] = { "require", "ignore" };
    X509 *cert = leaf_with(dp, 1, NULL, 0);
    X509_CRL *base = crl_with(inter_key, NULL, 0, 5, -1, fresh, 1);
    X509_CRL *delta = crl_with(inter_key, NULL, 0, 6, 5, NULL, 0);
    int m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(delta);
    for (m = 0; m < 2; m++) {
        dsec_engine *eng = new_engine("delta_crl", modes[m]);
        dsec_report *rep = dsec_report_new();
        dsec_report *rep2 = dsec_report_new();
        dsec_crl_set set = { 0 }, set2 = { 0 };

        CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rep2);
        CU_ASSERT_EQUAL_FATAL(
            tu_cache_put(dsec_engine_cache(eng), URL_A, base, inter), DSEC_OK);
        /* no delta anywhere: the base alone (the delta URL is tried) */
        CU_ASSERT_EQUAL(obtain(eng, cert, 0, rep, &set), DSEC_OK);
        CU_ASSERT_EQUAL(set.n, 1);
        CU_ASSERT_EQUAL(attempts_from_network(rep), m == 0 ? 1 : 0);
        if (m == 0) {
            CU_ASSERT_EQUAL(rep->depth[0].rv, DSEC_ERR_NO_DELTA);
        }
        CU_ASSERT_EQUAL_FATAL(
            tu_cache_put(dsec_engine_cache(eng), URL_D, delta, inter), DSEC_OK);
        CU_ASSERT_EQUAL(obtain(eng, cert, 0, rep2, &set2), DSEC_OK);
        CU_ASSERT_EQUAL_FATAL(set2.n, m == 0 ? 2 : 1);
        if (m == 0) {
            CU_ASSERT_PTR_EQUAL(set2.v[1].crl, delta);
            CU_ASSERT_EQUAL(set2.v[1].dp, 0);
            CU_ASSERT_STRING_EQUAL(set2.v[1].src, URL_D);
        }
        dsec_crl_set_clear(&set);
        dsec_crl_set_clear(&set2);
        dsec_report_free(rep);
        dsec_report_free(rep2);
        engine_free(eng);
    }
    X509_CRL_free(base);
    X509_CRL_free(delta);
    X509_free(cert);
}

static CU_TestInfo tests[] = {
    { "test_engine_engine_new", test_engine_engine_new },
    { "test_engine_no_cdp", test_engine_no_cdp },
    { "test_engine_file_scheme", test_engine_file_scheme },
    { "test_engine_cache_hit", test_engine_cache_hit },
    { "test_engine_connect_then_backoff", test_engine_connect_then_backoff },
    { "test_engine_stale_grace", test_engine_stale_grace },
    { "test_engine_stale_without_grace", test_engine_stale_without_grace },
    { "test_engine_fetch_limit", test_engine_fetch_limit },
    { "test_engine_partitions", test_engine_partitions },
    { "test_engine_cached_misfit", test_engine_cached_misfit },
    { "test_engine_delta", test_engine_delta },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("engine", suite_init, suite_cleanup, tests);
}
