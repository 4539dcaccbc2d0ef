/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/cache_guard.c (rollback protection: ordering by CRL
 * number then thisUpdate, scopes kept apart, persistence across cache
 * objects sharing a directory, a corrupted .num never lowering what is
 * known) and of the files the disk layer of src/cache_disk.c trusts (a
 * FIFO returns at once, files writable by others and foreign owners are
 * ignored, a world-writable directory is refused, a planted .fail is
 * clamped in time and class).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "domainsec/cache.h"
#include "domainsec/decide.h"
#include "internal.h"
#include "testutil.h"

#define URL_A "http://crl.example/a.crl"

static EVP_PKEY *ca_key;
static X509 *ca;
static unsigned char ca_id[32];

static int suite_init(void)
{
    ca_key = tu_key();
    if (ca_key == NULL) {
        return -1;
    }
    ca = tu_cert("Guard Test CA", NULL, NULL, ca_key, 1, NULL, -86400, 86400);
    return ca != NULL && dsec_decide_key_id(ca, ca_id) ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return 0;
}

/* A CRL of ca numbered number (< 0: none), thisUpdate now + off. */
static X509_CRL *numbered(long number, long off, int delta, int idp)
{
    tu_crl_spec s;

    memset(&s, 0, sizeof(s));
    s.issuer = "CN=Guard Test CA";
    s.key = ca_key;
    s.akid = ca;
    s.this_update = time(NULL) + off;
    s.next_update = time(NULL) + 3600;
    s.number = number;
    s.delta_base = delta ? 1 : -1;
    s.idp = idp;
    s.idp_name = idp ? "URI:http://crl.example/part1.crl" : NULL;
    return tu_crl_ex(&s);
}

/* dsec_cache_check_rollback on a fresh CRL, freed after. */
static dsec_rv check(dsec_cache *c, long number, long off, int delta, int idp)
{
    X509_CRL *x = numbered(number, off, delta, idp);
    DSEC_ERR err = { 0 };
    dsec_rv rv;

    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    rv = dsec_cache_check_rollback(c, ca_id, x, &err);
    if (rv == DSEC_ERR_ROLLBACK) {
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rollback"));
    }
    X509_CRL_free(x);
    return rv;
}

static void test_guard_order(void)
{
    dsec_cache *c = dsec_cache_new(16);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(check(c, 2, -60, 0, 0), DSEC_OK);
    CU_ASSERT_EQUAL(check(c, 1, -30, 0, 0), DSEC_ERR_ROLLBACK);
    CU_ASSERT_EQUAL(check(c, 2, -60, 0, 0), DSEC_OK); /* the same again */
    CU_ASSERT_EQUAL(check(c, 2, -120, 0, 0), DSEC_ERR_ROLLBACK);
    CU_ASSERT_EQUAL(check(c, 2, -10, 0, 0), DSEC_OK);
    CU_ASSERT_EQUAL(check(c, 3, -100, 0, 0), DSEC_OK); /* the number rules */
    CU_ASSERT_EQUAL(check(c, 2, -5, 0, 0), DSEC_ERR_ROLLBACK);
    /* no CRL number: thisUpdate only */
    CU_ASSERT_EQUAL(check(c, -1, -200, 0, 0), DSEC_ERR_ROLLBACK);
    CU_ASSERT_EQUAL(check(c, -1, -1, 0, 0), DSEC_OK);
    /* other scopes are other sequences: a delta, a partition */
    CU_ASSERT_EQUAL(check(c, 1, -300, 1, 0), DSEC_OK);
    CU_ASSERT_EQUAL(check(c, 1, -300, 0, 1), DSEC_OK);
    CU_ASSERT_EQUAL(check(c, 0, -300, 0, 1), DSEC_ERR_ROLLBACK);
    CU_ASSERT_STRING_EQUAL(dsec_rv_name(DSEC_ERR_ROLLBACK), "rollback");
    dsec_cache_free(c);
}

/* Count the files of dir ending in ext, writing text over them if text. */
static int over_files(const char *dir, const char *ext, const char *text)
{
    char cmd[512], path[4096], line[256];
    FILE *p;
    int n = 0;

    snprintf(cmd, sizeof(cmd), "ls %s", dir);
    p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strlen(line) > strlen(ext)
            && strcmp(line + strlen(line) - strlen(ext), ext) == 0) {
            n++;
            snprintf(path, sizeof(path), "%s/%s", dir, line);
            if (text != NULL && tu_write_file(path, text, strlen(text)) != 0) {
                n = -100;
            }
        }
    }
    pclose(p);
    return n;
}

static void test_guard_persists(void)
{
    char dir[256];
    int dfd;
    dsec_cache *c1, *c2, *c3;

    CU_ASSERT_PTR_NOT_NULL_FATAL(tu_tmpdir(dir, sizeof(dir)));
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(dfd >= 0);
    c1 = dsec_cache_new(16);
    c2 = dsec_cache_new(16);
    c3 = dsec_cache_new(16);
    CU_ASSERT_TRUE_FATAL(c1 != NULL && c2 != NULL && c3 != NULL);
    dsec_cache_set_dir(c1, dfd);
    dsec_cache_set_dir(c2, dfd);
    dsec_cache_set_dir(c3, dfd);
    CU_ASSERT_EQUAL(check(c1, 5, -60, 0, 0), DSEC_OK);
    CU_ASSERT_EQUAL(over_files(dir, ".num", NULL), 1);
    /* another process, never having seen #5 in memory */
    CU_ASSERT_EQUAL(check(c2, 4, -30, 0, 0), DSEC_ERR_ROLLBACK);
    CU_ASSERT_EQUAL(check(c2, 6, -30, 0, 0), DSEC_OK);
    CU_ASSERT_EQUAL(check(c1, 5, -60, 0, 0), DSEC_OK); /* its own, known */
    CU_ASSERT_EQUAL(check(c1, 5, -50, 0, 0), DSEC_ERR_ROLLBACK); /* disk: 6 */

    /* a corrupted record is ignored and never lowers what memory knows */
    CU_ASSERT_EQUAL(over_files(dir, ".num", "v1 zz -3\n"), 1);
    CU_ASSERT_EQUAL(check(c2, 5, -10, 0, 0), DSEC_ERR_ROLLBACK);
    CU_ASSERT_EQUAL(over_files(dir, ".num", "v1 1 1\nand more"), 1);
    CU_ASSERT_EQUAL(check(c3, 1, -10, 0, 0), DSEC_OK); /* nothing known */
    CU_ASSERT_EQUAL(check(c2, 7, -10, 0, 0), DSEC_OK); /* rewrites it */
    CU_ASSERT_EQUAL(check(c3, 6, -5, 0, 0), DSEC_ERR_ROLLBACK);

    dsec_cache_free(c1);
    dsec_cache_free(c2);
    dsec_cache_free(c3);
    close(dfd);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

/* The cache file of URL_A with ext, as cache_disk.c names it. */
static void url_file(const char *dir, const char *ext, char *path, size_t len)
{
    unsigned char md[32];
    char hex[65];
    size_t i;

    dsec_sha256_digest(URL_A, strlen(URL_A), md);
    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(path, len, "%s/%s%s", dir, hex, ext);
}

static double mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_disk_fifo_and_modes(void)
{
    char dir[256], path[4096];
    struct timespec deadline;
    dsec_cache_disk d = { -1, 0, 10 };
    dsec_cache_hit hit;
    dsec_cache *c;
    X509_CRL *x = numbered(1, -60, 0, 0);
    double t0;
    int fd;

    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tu_tmpdir(dir, sizeof(dir)));
    d.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(d.dirfd >= 0);
    c = dsec_cache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    dsec_cache_set_dir(c, d.dirfd);

    /* FIFOs as the CRL and the lock: no open blocks */
    url_file(dir, ".crl", path, sizeof(path));
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0640), 0);
    url_file(dir, ".lock", path, sizeof(path));
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0640), 0);
    t0 = mono();
    CU_ASSERT_EQUAL(dsec_cache_lookup(c, URL_A, time(NULL), &hit),
                    DSEC_ERR_NOT_FOUND);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    CU_ASSERT_EQUAL(dsec_cache_disk_lock(&d, URL_A, &deadline), -1);
    CU_ASSERT_TRUE(mono() - t0 < 1.0);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
    CU_ASSERT_EQUAL(mkdir(dir, 0755), 0);
    close(d.dirfd);
    d.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dsec_cache_set_dir(c, d.dirfd);

    /* the lock file is 0660 whatever the umask */
    fd = dsec_cache_disk_lock(&d, URL_A, &deadline);
    CU_ASSERT_TRUE(fd >= 0);
    dsec_cache_disk_unlock(fd);
    url_file(dir, ".lock", path, sizeof(path));
    {
        struct stat st;

        CU_ASSERT_EQUAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
    }

    /* a CRL file writable by others is ignored */
    dsec_cache_disk_write_crl(&d, URL_A, x);
    url_file(dir, ".crl", path, sizeof(path));
    {
        X509_CRL *back = dsec_cache_disk_read_crl(&d, URL_A);

        CU_ASSERT_PTR_NOT_NULL(back);
        X509_CRL_free(back);
    }
    CU_ASSERT_EQUAL(chmod(path, 0666), 0);
    CU_ASSERT_PTR_NULL(dsec_cache_disk_read_crl(&d, URL_A));
    CU_ASSERT_EQUAL(dsec_cache_lookup(c, URL_A, time(NULL), &hit),
                    DSEC_ERR_NOT_FOUND);

    dsec_cache_free(c);
    close(d.dirfd);
    X509_CRL_free(x);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static void test_disk_untrusted_rules(void)
{
    struct stat f, dir;
    char tmp[256];
    int fd;

    memset(&f, 0, sizeof(f));
    memset(&dir, 0, sizeof(dir));
    dir.st_uid = 100;
    dir.st_gid = 200;
    f.st_mode = S_IFREG | 0664;
    f.st_uid = 300;
    f.st_gid = 200;
    CU_ASSERT_PTR_NULL(dsec_cache_disk_untrusted(&f, &dir, 400));
    f.st_gid = 201;
    CU_ASSERT_PTR_NOT_NULL(dsec_cache_disk_untrusted(&f, &dir, 400));
    CU_ASSERT_PTR_NULL(dsec_cache_disk_untrusted(&f, &dir, 300));
    f.st_uid = 100;
    CU_ASSERT_PTR_NULL(dsec_cache_disk_untrusted(&f, &dir, 400));
    f.st_uid = 0;
    CU_ASSERT_PTR_NULL(dsec_cache_disk_untrusted(&f, &dir, 400));
    f.st_mode = S_IFREG | 0666;
    CU_ASSERT_PTR_NOT_NULL(dsec_cache_disk_untrusted(&f, &dir, 400));
    f.st_mode = S_IFIFO | 0660;
    CU_ASSERT_PTR_NOT_NULL(dsec_cache_disk_untrusted(&f, &dir, 400));

    /* a world-writable directory: no disk layer */
    CU_ASSERT_PTR_NOT_NULL_FATAL(tu_tmpdir(tmp, sizeof(tmp)));
    CU_ASSERT_EQUAL(chmod(tmp, 01777), 0);
    CU_ASSERT_EQUAL(dsec_cache_open_dir(tmp), -1);
    CU_ASSERT_EQUAL(chmod(tmp, 02770), 0);
    fd = dsec_cache_open_dir(tmp);
    CU_ASSERT_TRUE(fd >= 0);
    if (fd >= 0) {
        close(fd);
    }
    CU_ASSERT_EQUAL(tu_rmtree(tmp), 0);
}

static void test_disk_fail_clamped(void)
{
    char dir[256], path[4096], text[128];
    dsec_cache_disk d = { -1, 0, 10 };
    DSEC_ERR err = { 0 };
    time_t now = time(NULL), until = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(tu_tmpdir(dir, sizeof(dir)));
    d.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(d.dirfd >= 0);
    url_file(dir, ".fail", path, sizeof(path));
    /* a planted record: a fatal class, for a day */
    snprintf(text, sizeof(text), "%lld %d 0\nplanted", (long long)now + 86400,
             (int)DSEC_ERR_NO_CDP);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, text, strlen(text)), 0);
    CU_ASSERT_EQUAL(dsec_cache_disk_read_failure(&d, URL_A, now, &err, &until),
                    DSEC_ERR_BACKOFF);
    CU_ASSERT_TRUE(until > now && until <= now + 10);
    /* fail_cache 0: no record delays anything */
    d.fail_max = 0;
    CU_ASSERT_EQUAL(dsec_cache_disk_read_failure(&d, URL_A, now, &err, &until),
                    DSEC_OK);
    d.fail_max = 10;
    snprintf(text, sizeof(text), "%lld %d 7\nslow server", (long long)now + 5,
             (int)DSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, text, strlen(text)), 0);
    CU_ASSERT_EQUAL(dsec_cache_disk_read_failure(&d, URL_A, now, &err, &until),
                    DSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(until, now + 5);
    CU_ASSERT_EQUAL(chmod(path, 0646), 0);
    CU_ASSERT_EQUAL(dsec_cache_disk_read_failure(&d, URL_A, now, &err, &until),
                    DSEC_OK);
    close(d.dirfd);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static CU_TestInfo tests[] = {
    { "test_guard_order", test_guard_order },
    { "test_guard_persists", test_guard_persists },
    { "test_disk_fifo_and_modes", test_disk_fifo_and_modes },
    { "test_disk_untrusted_rules", test_disk_untrusted_rules },
    { "test_disk_fail_clamped", test_disk_fail_clamped },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("cache_guard", suite_init, suite_cleanup, tests);
}
