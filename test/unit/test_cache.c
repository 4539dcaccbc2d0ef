/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/cache.c: the memory layer (entries bound to the key
 * that verified them, validity window, negative entries), single flight
 * between threads, and the disk layer of src/cache_disk.c (round trip
 * through a new cache object, corrupted files ignored).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "domainsec/cache.h"
#include "domainsec/decide.h"
#include "internal.h"
#include "testutil.h"

#define URL_A "http://crl.example/a.crl"
#define URL_B "http://crl.example/b.crl"
#define URL_C "http://crl.example/c.crl"

static EVP_PKEY *ca_key;
static EVP_PKEY *twin_key;
static X509 *ca;
static X509 *twin; /* same name as ca, other key */
static X509_CRL *crl;
static X509_CRL *crl2;

static int suite_init(void)
{
    ca_key = tu_key();
    twin_key = tu_key();
    if (ca_key == NULL || twin_key == NULL) {
        return -1;
    }
    ca = tu_cert("Cache Test CA", NULL, NULL, ca_key, 1, NULL, -86400, 86400);
    twin =
        tu_cert("Cache Test CA", NULL, NULL, twin_key, 1, NULL, -86400, 86400);
    if (ca == NULL || twin == NULL) {
        return -1;
    }
    crl = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 0);
    crl2 = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 0);
    return crl != NULL && crl2 != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_CRL_free(crl);
    X509_CRL_free(crl2);
    X509_free(ca);
    X509_free(twin);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(twin_key);
    return 0;
}

static int same_crl(X509_CRL *a, X509_CRL *b)
{
    unsigned char *da = NULL;
    unsigned char *db = NULL;
    int la = i2d_X509_CRL(a, &da);
    int lb = i2d_X509_CRL(b, &db);
    int same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

    OPENSSL_free(da);
    OPENSSL_free(db);
    return same;
}

/* dsec_cache_get, asserting that *out is only written on DSEC_OK. */
static dsec_rv get(dsec_cache *c, const char *url, X509 *issuer, time_t now,
                   long grace, X509_CRL **out, DSEC_ERR *err)
{
    X509_CRL *got = NULL;
    DSEC_ERR e;
    dsec_rv rv;

    memset(&e, 0, sizeof(e));
    rv = dsec_cache_get(c, url, issuer, now, grace, &got, &e);
    if (rv != DSEC_OK) {
        CU_ASSERT_PTR_NULL(got);
    } else {
        CU_ASSERT_PTR_NOT_NULL(got);
    }
    if (err != NULL) {
        *err = e;
    }
    if (out != NULL) {
        *out = got;
    } else {
        X509_CRL_free(got);
    }
    return rv;
}

static void test_cache_put_get(void)
{
    dsec_cache *c = dsec_cache_new(16);
    X509_CRL *out = NULL;
    time_t now = time(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now, 0, NULL, NULL), DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_A, crl, ca), DSEC_OK);
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now, 0, &out, NULL), DSEC_OK);
    CU_ASSERT_PTR_EQUAL(out, crl);
    X509_CRL_free(out);
    /* the reference given out was a new one: crl is still usable */
    CU_ASSERT_TRUE(same_crl(crl, crl));
    CU_ASSERT_EQUAL(get(c, URL_B, ca, now, 0, NULL, NULL), DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(dsec_cache_count(c), 1);
    dsec_cache_free(c);
    dsec_cache_free(NULL);
}

static void test_cache_bound_to_key(void)
{
    dsec_cache *c = dsec_cache_new(16);
    time_t now = time(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_A, crl, ca), DSEC_OK);
    CU_ASSERT_EQUAL(get(c, URL_A, twin, now, 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now, 0, NULL, NULL), DSEC_OK);
    dsec_cache_free(c);
}

static void test_cache_validity_window(void)
{
    dsec_cache *c = dsec_cache_new(16);
    time_t now = time(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_A, crl, ca), DSEC_OK);
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now + 7200, 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now + 7200, 1800, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now + 7200, 7200, NULL, NULL), DSEC_OK);
    dsec_cache_free(c);
}

static void test_cache_negative_entry(void)
{
    dsec_cache *c = dsec_cache_new(16);
    time_t now = time(NULL);
    DSEC_ERR fail;
    DSEC_ERR err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    memset(&fail, 0, sizeof(fail));
    fail.rv = DSEC_ERR_CONNECT;
    fail.code = 7;
    snprintf(fail.msg, sizeof(fail.msg), "connection refused by server");
    dsec_cache_put_failure(c, URL_B, &fail, now + 10);

    CU_ASSERT_EQUAL(get(c, URL_B, ca, now, 0, NULL, &err), DSEC_ERR_CONNECT);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CONNECT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "connection refused by server"));
    CU_ASSERT_EQUAL(get(c, URL_B, ca, now + 5, 0, NULL, NULL),
                    DSEC_ERR_CONNECT);
    CU_ASSERT_EQUAL(get(c, URL_B, ca, now + 11, 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    /* other URLs are not affected */
    CU_ASSERT_EQUAL(get(c, URL_A, ca, now, 0, NULL, NULL), DSEC_ERR_NOT_FOUND);
    dsec_cache_free(c);
}

static void test_cache_put_clears_failure(void)
{
    dsec_cache *c = dsec_cache_new(16);
    time_t now = time(NULL);
    DSEC_ERR fail;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    memset(&fail, 0, sizeof(fail));
    fail.rv = DSEC_ERR_TIMEOUT;
    snprintf(fail.msg, sizeof(fail.msg), "timed out");
    dsec_cache_put_failure(c, URL_C, &fail, now + 100);
    CU_ASSERT_EQUAL(get(c, URL_C, ca, now, 0, NULL, NULL), DSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_C, crl, ca), DSEC_OK);
    CU_ASSERT_EQUAL(get(c, URL_C, ca, now, 0, NULL, NULL), DSEC_OK);
    dsec_cache_free(c);
}

static void test_cache_count_and_list(void)
{
    dsec_cache *c = dsec_cache_new(16);
    STACK_OF(X509_CRL) *sk = NULL;
    int i;
    int found_a = 0;
    int found_b = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(dsec_cache_count(c), 0);
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_A, crl, ca), DSEC_OK);
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_B, crl2, ca), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_cache_count(c), 2);
    /* replacing an entry does not add one */
    CU_ASSERT_EQUAL(tu_cache_put(c, URL_B, crl2, ca), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_cache_count(c), 2);

    sk = dsec_cache_list(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sk);
    CU_ASSERT_EQUAL(sk_X509_CRL_num(sk), 2);
    for (i = 0; i < sk_X509_CRL_num(sk); i++) {
        X509_CRL *x = sk_X509_CRL_value(sk, i);

        found_a |= x == crl;
        found_b |= x == crl2;
    }
    CU_ASSERT_TRUE(found_a && found_b);
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
    /* the list held new references */
    CU_ASSERT_TRUE(same_crl(crl, crl));
    dsec_cache_free(c);
}

static void test_cache_bounded(void)
{
    dsec_cache *c = dsec_cache_new(2);
    char url[64];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (i = 0; i < 5; i++) {
        snprintf(url, sizeof(url), "http://crl.example/%d.crl", i);
        CU_ASSERT_EQUAL(tu_cache_put(c, url, crl, ca), DSEC_OK);
    }
    CU_ASSERT_TRUE(dsec_cache_count(c) <= 2);
    CU_ASSERT_TRUE(dsec_cache_count(c) >= 1);
    /* the newest entry survives */
    CU_ASSERT_EQUAL(get(c, url, ca, time(NULL), 0, NULL, NULL), DSEC_OK);
    dsec_cache_free(c);
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct flight {
    dsec_cache *cache;
    pthread_mutex_t lock;
    int ended; /* set by the first fetcher before end_fetch */
    int rv; /* the waiter's begin_fetch result */
    int saw_ended; /* ended was set when the waiter returned */
    int started; /* the waiter is about to call begin_fetch */
    pthread_cond_t cond; /* signals started */
    double waited; /* seconds the waiter spent in begin_fetch */
};

static void *waiter(void *arg)
{
    struct flight *f = arg;
    double t0 = mono_now();
    int rv;

    pthread_mutex_lock(&f->lock);
    f->started = 1;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    rv = dsec_cache_begin_fetch(f->cache, URL_A, 10000);

    pthread_mutex_lock(&f->lock);
    f->rv = rv;
    f->saw_ended = f->ended;
    f->waited = mono_now() - t0;
    pthread_mutex_unlock(&f->lock);
    if (rv == 1) {
        dsec_cache_end_fetch(f->cache, URL_A);
    }
    return NULL;
}

static void test_cache_single_flight(void)
{
    struct flight f;
    pthread_t th;
    struct timespec pause = { 0, 300 * 1000 * 1000 };
    double t0;

    memset(&f, 0, sizeof(f));
    f.cache = dsec_cache_new(16);
    f.rv = -1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.cache);
    CU_ASSERT_EQUAL_FATAL(pthread_mutex_init(&f.lock, NULL), 0);

    CU_ASSERT_EQUAL_FATAL(dsec_cache_begin_fetch(f.cache, URL_A, 1000), 1);
    /* another URL is not blocked by the flight of URL_A */
    t0 = mono_now();
    CU_ASSERT_EQUAL(dsec_cache_begin_fetch(f.cache, URL_B, 1000), 1);
    CU_ASSERT_TRUE(mono_now() - t0 < 0.5);
    dsec_cache_end_fetch(f.cache, URL_B);

    CU_ASSERT_EQUAL_FATAL(pthread_cond_init(&f.cond, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, waiter, &f), 0);
    /* however late the thread starts (valgrind, a loaded machine), the
       flight ends only 300 ms after it is on its way into begin_fetch */
    pthread_mutex_lock(&f.lock);
    while (!f.started) {
        pthread_cond_wait(&f.cond, &f.lock);
    }
    pthread_mutex_unlock(&f.lock);
    nanosleep(&pause, NULL);
    /* the CRL lands in the cache, then the flight ends */
    CU_ASSERT_EQUAL(tu_cache_put(f.cache, URL_A, crl, ca), DSEC_OK);
    pthread_mutex_lock(&f.lock);
    f.ended = 1;
    pthread_mutex_unlock(&f.lock);
    dsec_cache_end_fetch(f.cache, URL_A);
    pthread_join(th, NULL);

    CU_ASSERT_EQUAL(f.rv, 0);
    CU_ASSERT_TRUE(f.saw_ended);
    CU_ASSERT_TRUE(f.waited >= 0.25);
    CU_ASSERT_EQUAL(get(f.cache, URL_A, ca, time(NULL), 0, NULL, NULL),
                    DSEC_OK);

    /* no flight in progress: the next caller fetches */
    CU_ASSERT_EQUAL(dsec_cache_begin_fetch(f.cache, URL_A, 1000), 1);
    dsec_cache_end_fetch(f.cache, URL_A);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.lock);
    dsec_cache_free(f.cache);
}

/* Overwrite every regular file of dir with garbage; returns how many. */
static int corrupt_dir(const char *dir)
{
    static const char junk[] = "this is not a CRL \x30\x82\x00\x10 junk";
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.'
            && (de->d_name[1] == '\0'
                || (de->d_name[1] == '.' && de->d_name[2] == '\0'))) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (tu_write_file(path, junk, sizeof(junk) - 1) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void test_cache_disk_round_trip(void)
{
    char dir[256];
    int dfd = -1;
    dsec_cache *c1 = NULL;
    dsec_cache *c2 = NULL;
    dsec_cache *c3 = NULL;
    X509_CRL *out = NULL;
    time_t now = time(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(tu_tmpdir(dir, sizeof(dir)));
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(dfd >= 0);

    c1 = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    dsec_cache_set_dir(c1, dfd);
    CU_ASSERT_EQUAL(tu_cache_put(c1, URL_A, crl, ca), DSEC_OK);
    dsec_cache_free(c1);

    /* a new cache object (another process) finds it on disk */
    c2 = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    dsec_cache_set_dir(c2, dfd);
    CU_ASSERT_EQUAL(get(c2, URL_A, ca, now, 0, &out, NULL), DSEC_OK);
    if (out != NULL) {
        /* from the index (crlindex.c): the CRL without its entries */
        CU_ASSERT_TRUE(dsec_crlindex_attached(out));
        CU_ASSERT_TRUE(ASN1_TIME_compare(X509_CRL_get0_lastUpdate(out),
                                         X509_CRL_get0_lastUpdate(crl))
                       == 0);
    }
    X509_CRL_free(out);
    out = NULL;
    CU_ASSERT_EQUAL(get(c2, URL_A, twin, now, 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(get(c2, URL_A, ca, now + 7200, 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(get(c2, URL_B, ca, now, 0, NULL, NULL), DSEC_ERR_NOT_FOUND);
    dsec_cache_free(c2);

    /* from disk too, the entry is bound to the verifying key */
    c2 = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    dsec_cache_set_dir(c2, dfd);
    CU_ASSERT_EQUAL(get(c2, URL_A, twin, now, 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    dsec_cache_free(c2);

    /* corrupted files are ignored, never trusted, never a crash */
    CU_ASSERT_TRUE(corrupt_dir(dir) >= 1);
    c3 = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c3);
    dsec_cache_set_dir(c3, dfd);
    CU_ASSERT_EQUAL(get(c3, URL_A, ca, now, 0, NULL, NULL), DSEC_ERR_NOT_FOUND);
    /* and a put over them repairs the entry */
    CU_ASSERT_EQUAL(tu_cache_put(c3, URL_A, crl, ca), DSEC_OK);
    CU_ASSERT_EQUAL(get(c3, URL_A, ca, now, 0, NULL, NULL), DSEC_OK);
    dsec_cache_free(c3);

    close(dfd);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static void test_cache_disk_truncated_files(void)
{
    char dir[256];
    char path[4096];
    int dfd = -1;
    dsec_cache *c1 = NULL;
    dsec_cache *c2 = NULL;
    DIR *d = NULL;
    struct dirent *de;

    CU_ASSERT_PTR_NOT_NULL_FATAL(tu_tmpdir(dir, sizeof(dir)));
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(dfd >= 0);
    c1 = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    dsec_cache_set_dir(c1, dfd);
    CU_ASSERT_EQUAL(tu_cache_put(c1, URL_A, crl, ca), DSEC_OK);
    dsec_cache_free(c1);

    d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            CU_ASSERT_EQUAL(tu_write_file(path, "", 0), 0);
        }
    }
    closedir(d);

    c2 = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    dsec_cache_set_dir(c2, dfd);
    CU_ASSERT_EQUAL(get(c2, URL_A, ca, time(NULL), 0, NULL, NULL),
                    DSEC_ERR_NOT_FOUND);
    dsec_cache_free(c2);
    close(dfd);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static CU_TestInfo tests[] = {
    { "test_cache_put_get", test_cache_put_get },
    { "test_cache_bound_to_key", test_cache_bound_to_key },
    { "test_cache_validity_window", test_cache_validity_window },
    { "test_cache_negative_entry", test_cache_negative_entry },
    { "test_cache_put_clears_failure", test_cache_put_clears_failure },
    { "test_cache_count_and_list", test_cache_count_and_list },
    { "test_cache_bounded", test_cache_bounded },
    { "test_cache_single_flight", test_cache_single_flight },
    { "test_cache_disk_round_trip", test_cache_disk_round_trip },
    { "test_cache_disk_truncated_files", test_cache_disk_truncated_files },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("cache", suite_init, suite_cleanup, tests);
}
