/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/cache_meta.c: the per-URL records of the cache
 * directory (round trip; corrupted, planted, linked or special files
 * ignored), the purge of a URL or of all, and the purge generation that
 * running processes look at.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "domainsec/cache_meta.h"
#include "internal.h"
#include "testutil.h"

#define URL_A "http://crl.example/a.crl"
#define URL_B "http://crl.example/b.crl"

static char dir[256];
static int dirfd_;

static int suite_init(void)
{
    if (tu_tmpdir(dir, sizeof(dir)) == NULL) {
        return -1;
    }
    dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
    return dirfd_ >= 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
    close(dirfd_);
    tu_rmtree(dir);
    return 0;
}

/* Write text as the record file of url. */
static void plant(const char *url, const char *text)
{
    char name[80], path[400];

    dsec_cache_disk_name(url, ".meta", name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    CU_ASSERT_EQUAL(tu_write_file(path, text, strlen(text)), 0);
}

static void test_cache_meta_round_trip(void)
{
    dsec_cache_meta m, r;

    memset(&m, 0, sizeof(m));
    snprintf(m.url, sizeof(m.url), "%s", URL_A);
    snprintf(m.etag, sizeof(m.etag), "\"abc 1\"");
    snprintf(m.last_modified, sizeof(m.last_modified),
             "Thu, 03 Dec 2026 09:00:00 GMT");
    m.fetched_at = 1800000000;
    m.result = DSEC_ERR_TIMEOUT;
    m.result_at = 1800000100;
    m.bytes = 1234;
    m.spki[0] = 0x30;
    m.spki[1] = 0xff;
    m.spki_len = 2;
    CU_ASSERT_EQUAL_FATAL(dsec_cache_meta_write(dirfd_, &m), 1);
    CU_ASSERT_EQUAL_FATAL(dsec_cache_meta_read(dirfd_, URL_A, &r), DSEC_OK);
    CU_ASSERT_STRING_EQUAL(r.url, URL_A);
    CU_ASSERT_STRING_EQUAL(r.etag, m.etag);
    CU_ASSERT_STRING_EQUAL(r.last_modified, m.last_modified);
    CU_ASSERT_EQUAL(r.fetched_at, m.fetched_at);
    CU_ASSERT_EQUAL(r.result, DSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(r.result_at, m.result_at);
    CU_ASSERT_EQUAL(r.bytes, 1234);
    CU_ASSERT_EQUAL(r.spki_len, 2);
    CU_ASSERT_EQUAL(r.spki[1], 0xff);
    CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_B, &r),
                    DSEC_ERR_NOT_FOUND);
}

static void test_cache_meta_corrupted(void)
{
    static const char *const bad[] = {
        "",
        "domainsec-meta 2\nurl " URL_A "\n",
        "domainsec-meta 1\nurl " URL_A "\nfetched_at x\n",
        "domainsec-meta 1\nurl " URL_A "\nfetched_at -5\n",
        "domainsec-meta 1\nurl " URL_A "\nresult 7\n",
        "domainsec-meta 1\nurl " URL_A "\nwhat 1\n",
        "domainsec-meta 1\nurl " URL_A "\nspki 3g\n",
        "domainsec-meta 1\nurl " URL_A "\nspki 301\n",
        "domainsec-meta 1\nurl " URL_A "\nbytes 1", /* no newline */
        "domainsec-meta 1\nurl " URL_A "\netag a\tb\n",
        "domainsec-meta 1\nfetched_at 1\n", /* no URL */
    };
    dsec_cache_meta r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        plant(URL_A, bad[i]);
        CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_A, &r),
                        DSEC_ERR_NOT_FOUND);
        CU_ASSERT_EQUAL(r.url[0], '\0');
    }
    plant(URL_A, "domainsec-meta 1\nurl " URL_A "\nbytes 7\n");
    CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_A, &r), DSEC_OK);
    CU_ASSERT_EQUAL(r.bytes, 7);
}

static void test_cache_meta_planted(void)
{
    char name[80], path[400], target[400];
    dsec_cache_meta r, *v = NULL;
    size_t n;

    /* B's record under A's name: not A's, and not listed */
    plant(URL_A, "domainsec-meta 1\nurl " URL_B "\nbytes 1\n");
    CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_A, &r),
                    DSEC_ERR_NOT_FOUND);
    n = dsec_cache_meta_list(dirfd_, &v);
    CU_ASSERT_EQUAL(n, 0);
    free(v);
    /* a link to a good record, and a FIFO: ignored, no hang */
    plant(URL_B, "domainsec-meta 1\nurl " URL_B "\nbytes 1\n");
    dsec_cache_disk_name(URL_B, ".meta", name);
    snprintf(target, sizeof(target), "%s/%s", dir, name);
    dsec_cache_disk_name(URL_A, ".meta", name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    CU_ASSERT_EQUAL(symlink(target, path), 0);
    CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_A, &r),
                    DSEC_ERR_NOT_FOUND);
    unlink(path);
    CU_ASSERT_EQUAL(mkfifo(path, 0600), 0);
    CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_A, &r),
                    DSEC_ERR_NOT_FOUND);
    unlink(path);
    n = dsec_cache_meta_list(dirfd_, &v);
    CU_ASSERT_EQUAL(n, 1);
    if (n == 1) {
        CU_ASSERT_STRING_EQUAL(v[0].url, URL_B);
    }
    free(v);
}

static void test_cache_meta_purge_generation(void)
{
    dsec_cache_meta_gen g;
    dsec_cache_meta m, *v = NULL;
    time_t now = time(NULL);

    memset(&g, 0, sizeof(g));
    pthread_mutex_init(&g.lock, NULL);
    memset(&m, 0, sizeof(m));
    snprintf(m.url, sizeof(m.url), "%s", URL_A);
    CU_ASSERT_EQUAL(dsec_cache_meta_write(dirfd_, &m), 1);
    /* the first look only learns */
    CU_ASSERT_EQUAL(dsec_cache_meta_purged(dirfd_, &g, now), 0);
    CU_ASSERT_EQUAL(dsec_cache_meta_purge(dirfd_, URL_A), 1);
    /* once per second: the same second does not look again */
    CU_ASSERT_EQUAL(dsec_cache_meta_purged(dirfd_, &g, now), 0);
    CU_ASSERT_EQUAL(dsec_cache_meta_purged(dirfd_, &g, now + 1), 1);
    CU_ASSERT_EQUAL(dsec_cache_meta_purged(dirfd_, &g, now + 2), 0);
    CU_ASSERT_EQUAL(dsec_cache_meta_read(dirfd_, URL_A, &m),
                    DSEC_ERR_NOT_FOUND);
    /* purge all: every record goes, the generation moves */
    CU_ASSERT_EQUAL(dsec_cache_meta_purge(dirfd_, NULL), 0);
    CU_ASSERT_EQUAL(dsec_cache_meta_list(dirfd_, &v), 0);
    free(v);
    CU_ASSERT_EQUAL(dsec_cache_meta_purged(dirfd_, &g, now + 3), 1);
    CU_ASSERT_EQUAL(dsec_cache_meta_purged(-1, &g, now + 4), 0);
    pthread_mutex_destroy(&g.lock);
}

static CU_TestInfo tests[] = {
    { "test_cache_meta_round_trip", test_cache_meta_round_trip },
    { "test_cache_meta_corrupted", test_cache_meta_corrupted },
    { "test_cache_meta_planted", test_cache_meta_planted },
    { "test_cache_meta_purge_generation", test_cache_meta_purge_generation },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("cache_meta", suite_init, suite_cleanup, tests);
}
