/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit suite of src/anchors.c: trust anchors loaded from a temporary
 * directory tree built by the suite (single PEM, PEM bundle with a foreign
 * block, DER, TRUSTED CERTIFICATE, malformed, a bundle with a malformed
 * block, empty, oversized, dot file,
 * subdirectory, symlinked duplicate, a second directory, a missing one):
 * counts, load order, sources, subject lookup (two anchors sharing a
 * subject, names differing only in string type or case) and NULL safety.
 * Certificates are generated here; nothing outside the temp dir is touched.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include "testutil.h"
#include "domainsec/anchors.h"
#include "domainsec/log.h"

enum {
    C_SINGLE,
    C_B1,
    C_SHARED1,
    C_B3,
    C_DER,
    C_MIXED,
    C_SHARED2,
    C_TRUSTED,
    C_NUM
};

static char tmpdir[64];
static char dir1[128];
static char dir2[128];
static char missing[128];
static EVP_PKEY *keys[C_NUM];
static X509 *certs[C_NUM];
static dsec_anchors *set;

static X509 *make_cert(const char *cn, EVP_PKEY *key)
{
    X509 *cert = NULL;
    X509_NAME *name = NULL;
    unsigned char serial[8];
    BIGNUM *bn = NULL;
    int ok = 0;

    cert = X509_new();
    name = X509_NAME_new();
    if (cert == NULL || name == NULL
        || RAND_bytes(serial, sizeof(serial)) != 1) {
        goto done;
    }
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL
        || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL
        || !X509_set_version(cert, X509_VERSION_3)
        || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       (const unsigned char *)cn, -1, -1, 0)
        || !X509_set_subject_name(cert, name)
        || !X509_set_issuer_name(cert, name)
        || X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(cert), 86400) == NULL
        || !X509_set_pubkey(cert, key)
        || X509_sign(cert, key, EVP_sha256()) <= 0) {
        goto done;
    }
    ok = 1;
done:
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

static int write_bytes(const char *dir, const char *file, const void *data,
                       size_t len)
{
    char path[256];
    FILE *f;
    int ok = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "wb");
    if (f == NULL) {
        goto done;
    }
    if (len == 0 || fwrite(data, 1, len, f) == len) {
        ok = 1;
    }
    if (fclose(f) != 0) {
        ok = 0;
    }
done:
    return ok;
}

/* PEM of the certificates (trusted: TRUSTED CERTIFICATE), plus extra. */
static int write_pem(const char *dir, const char *file, X509 **list, int n,
                     int trusted, const char *extra)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    int i;
    int ok = 0;

    if (bio == NULL) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (trusted ? !PEM_write_bio_X509_AUX(bio, list[i])
                    : !PEM_write_bio_X509(bio, list[i])) {
            goto done;
        }
        if (i == 0 && extra != NULL && BIO_puts(bio, extra) <= 0) {
            goto done;
        }
    }
    len = BIO_get_mem_data(bio, &data);
    ok = write_bytes(dir, file, data, (size_t)len);
done:
    BIO_free(bio);
    return ok;
}

static int write_der(const char *dir, const char *file, X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    int ok = len > 0 && write_bytes(dir, file, der, (size_t)len);

    OPENSSL_free(der);
    return ok;
}

/* A malformed certificate block followed by a good certificate. */
static int write_mixed(const char *dir, const char *file, const char *bad,
                       X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    int ok = 0;

    if (bio == NULL || BIO_puts(bio, bad) <= 0
        || !PEM_write_bio_X509(bio, cert)) {
        goto done;
    }
    len = BIO_get_mem_data(bio, &data);
    ok = write_bytes(dir, file, data, (size_t)len);
done:
    BIO_free(bio);
    return ok;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int build_tree(void)
{
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\n"
                                  "bm90IGEgY2VydGlmaWNhdGU=\n"
                                  "-----END CERTIFICATE-----\n";
    static const char foreign[] = "-----BEGIN SOMETHING ELSE-----\n"
                                  "aGVsbG8=\n"
                                  "-----END SOMETHING ELSE-----\n";
    X509 *bundle[3];
    char sub[160];
    char target[192];
    char link[192];
    unsigned char *big = NULL;
    int ok = 0;

    snprintf(dir1, sizeof(dir1), "%s/one", tmpdir);
    snprintf(dir2, sizeof(dir2), "%s/two", tmpdir);
    snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
    snprintf(sub, sizeof(sub), "%s/60-sub", dir1);
    if (mkdir(dir1, 0700) != 0 || mkdir(dir2, 0700) != 0
        || mkdir(sub, 0700) != 0) {
        goto done;
    }
    bundle[0] = certs[C_B1];
    bundle[1] = certs[C_SHARED1];
    bundle[2] = certs[C_B3];
    big = calloc(1, 1100 * 1024);
    if (big == NULL) {
        goto done;
    }
    snprintf(target, sizeof(target), "%s/10-single.pem", dir1);
    snprintf(link, sizeof(link), "%s/abcd1234.0", dir1);
    if (!write_pem(dir1, "10-single.pem", &certs[C_SINGLE], 1, 0, NULL)
        || !write_pem(dir1, "20-bundle.pem", bundle, 3, 0, foreign)
        || !write_der(dir1, "30-root.der", certs[C_DER])
        || !write_bytes(dir1, "40-bad.pem", bad_pem, sizeof(bad_pem) - 1)
        || !write_mixed(dir1, "45-mixed.pem", bad_pem, certs[C_MIXED])
        || !write_bytes(dir1, "41-garbage.bin", "\x30\x03\x02\x01", 4)
        || !write_bytes(dir1, "50-empty.pem", "", 0)
        || !write_bytes(dir1, "70-big.bin", big, 1100 * 1024)
        || !write_pem(dir1, ".hidden.pem", &certs[C_B1], 1, 0, NULL)
        || !write_pem(sub, "inner.pem", &certs[C_B1], 1, 0, NULL)
        || symlink(target, link) != 0
        || !write_pem(dir2, "dup.pem", &certs[C_SINGLE], 1, 0, NULL)
        || !write_pem(dir2, "shared2.pem", &certs[C_SHARED2], 1, 0, NULL)
        || !write_pem(dir2, "trusted.pem", &certs[C_TRUSTED], 1, 1, NULL)) {
        goto done;
    }
    ok = 1;
done:
    free(big);
    return ok;
}

static int suite_init(void)
{
    static const char *const cns[C_NUM] = { "Single",  "Bundle1", "Shared",
                                            "Bundle3", "Der",     "Mixed",
                                            "Shared",  "Trusted" };
    char dirs[512];
    int i;

    /* the skipped files are logged: show them in the test output */
    dsec_log_configure(DSEC_LOG_STDERR, DSEC_LOG_DEBUG);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dsec_anchors_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        tmpdir[0] = '\0';
        return -1;
    }
    for (i = 0; i < C_NUM; i++) {
        keys[i] = EVP_EC_gen("P-256");
        if (keys[i] == NULL) {
            return -1;
        }
        certs[i] = make_cert(cns[i], keys[i]);
        if (certs[i] == NULL) {
            return -1;
        }
    }
    if (!build_tree()) {
        return -1;
    }
    snprintf(dirs, sizeof(dirs), "%s:%s:%s", dir1, missing, dir2);
    ERR_clear_error();
    if (dsec_anchors_load(dirs, &set, NULL) != DSEC_OK) {
        return -1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    int i;

    dsec_anchors_free(set);
    set = NULL;
    for (i = 0; i < C_NUM; i++) {
        X509_free(certs[i]);
        EVP_PKEY_free(keys[i]);
    }
    if (tmpdir[0] != '\0') {
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return 0;
}

static void test_anchors_counts(void)
{
    /* load order: file names sorted per directory, directories in order */
    static const int order[] = { C_SINGLE, C_B1,    C_SHARED1, C_B3,
                                 C_DER,    C_MIXED, C_SHARED2, C_TRUSTED };
    size_t i;

    CU_ASSERT_EQUAL_FATAL(dsec_anchors_count(set), 8);
    for (i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, i), certs[order[i]]),
                        0);
    }
    CU_ASSERT_PTR_NULL(dsec_anchors_get0(set, 8));
    CU_ASSERT_PTR_NULL(dsec_anchors_source(set, 8));
    /* parse failures stay off the caller's error queue */
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
}

static void check_source(size_t i, const char *dir, const char *file)
{
    char want[256];
    const char *got = dsec_anchors_source(set, i);

    snprintf(want, sizeof(want), "%s/%s", dir, file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_anchors_sources(void)
{
    check_source(0, dir1, "10-single.pem");
    check_source(1, dir1, "20-bundle.pem");
    check_source(2, dir1, "20-bundle.pem");
    check_source(3, dir1, "20-bundle.pem");
    check_source(4, dir1, "30-root.der");
    check_source(5, dir1, "45-mixed.pem");
    check_source(6, dir2, "shared2.pem");
    check_source(7, dir2, "trusted.pem");
}

/* Indices returned for name, in order, into out; returns how many. */
static size_t find_all(const X509_NAME *name, size_t *out, size_t max)
{
    size_t pos = 0;
    size_t idx = 0;
    size_t n = 0;

    while (n < max && dsec_anchors_find_subject(set, name, &pos, &idx)) {
        out[n++] = idx;
    }
    return n;
}

static void test_anchors_find_subject(void)
{
    size_t got[8];
    size_t n;
    size_t i;
    size_t pos;
    size_t idx;

    n = find_all(X509_get_subject_name(certs[C_SHARED1]), got, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(got[0], 2);
    CU_ASSERT_EQUAL(got[1], 6);
    CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, got[0]), certs[C_SHARED1]),
                    0);
    CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, got[1]), certs[C_SHARED2]),
                    0);

    /* starting past the first match gives the second one only */
    pos = 3;
    CU_ASSERT_EQUAL(
        dsec_anchors_find_subject(set, X509_get_subject_name(certs[C_SHARED1]),
                                  &pos, &idx),
        1);
    CU_ASSERT_EQUAL(idx, 6);
    CU_ASSERT_EQUAL(pos, 7);

    /* every other subject: exactly its one certificate */
    for (i = 0; i < C_NUM; i++) {
        if (i == C_SHARED1 || i == C_SHARED2) {
            continue;
        }
        n = find_all(X509_get_subject_name(certs[i]), got, 8);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, got[0]), certs[i]), 0);
    }
}

static X509_NAME *name_of(const char *cn, int type)
{
    X509_NAME *name = X509_NAME_new();

    if (name != NULL
        && !X509_NAME_add_entry_by_txt(name, "CN", type,
                                       (const unsigned char *)cn, -1, -1, 0)) {
        X509_NAME_free(name);
        name = NULL;
    }
    return name;
}

static void test_anchors_find_canonical(void)
{
    X509_NAME *printable = name_of("Der", V_ASN1_PRINTABLESTRING);
    X509_NAME *lower = name_of("  der ", MBSTRING_UTF8);
    X509_NAME *absent = name_of("Nobody", MBSTRING_UTF8);
    size_t got[8];

    CU_ASSERT_PTR_NOT_NULL_FATAL(printable);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lower);
    CU_ASSERT_PTR_NOT_NULL_FATAL(absent);
    /* the same name in another string type or case still matches */
    CU_ASSERT_EQUAL(find_all(printable, got, 8), 1);
    CU_ASSERT_EQUAL(got[0], 4);
    CU_ASSERT_EQUAL(find_all(lower, got, 8), 1);
    CU_ASSERT_EQUAL(got[0], 4);
    CU_ASSERT_EQUAL(find_all(absent, got, 8), 0);
    X509_NAME_free(printable);
    X509_NAME_free(lower);
    X509_NAME_free(absent);
}

static void test_anchors_missing_dir(void)
{
    dsec_anchors *only = NULL;
    DSEC_ERR err;

    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL_FATAL(dsec_anchors_load(missing, &only, &err), DSEC_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(only);
    CU_ASSERT_EQUAL(dsec_anchors_count(only), 0);
    dsec_anchors_free(only);
    only = NULL;

    /* a missing directory between two good ones changes nothing */
    CU_ASSERT_EQUAL_FATAL(dsec_anchors_load(dir2, &only, &err), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_anchors_count(only), 3);
    dsec_anchors_free(only);
}

static void test_anchors_null_and_empty(void)
{
    dsec_anchors *empty = NULL;
    X509_NAME *name = name_of("Single", MBSTRING_UTF8);
    size_t pos = 0;
    size_t idx = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(name);
    CU_ASSERT_EQUAL(dsec_anchors_load(NULL, NULL, NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL_FATAL(dsec_anchors_load(NULL, &empty, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_anchors_count(empty), 0);
    CU_ASSERT_EQUAL(dsec_anchors_find_subject(empty, name, &pos, &idx), 0);
    dsec_anchors_free(empty);
    empty = NULL;
    CU_ASSERT_EQUAL_FATAL(dsec_anchors_load("", &empty, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_anchors_count(empty), 0);
    dsec_anchors_free(empty);
    empty = NULL;
    CU_ASSERT_EQUAL_FATAL(dsec_anchors_load(":::", &empty, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_anchors_count(empty), 0);
    dsec_anchors_free(empty);

    CU_ASSERT_EQUAL(dsec_anchors_count(NULL), 0);
    CU_ASSERT_PTR_NULL(dsec_anchors_get0(NULL, 0));
    CU_ASSERT_PTR_NULL(dsec_anchors_source(NULL, 0));
    CU_ASSERT_EQUAL(dsec_anchors_find_subject(NULL, name, &pos, &idx), 0);
    CU_ASSERT_EQUAL(dsec_anchors_find_subject(set, NULL, &pos, &idx), 0);
    CU_ASSERT_EQUAL(dsec_anchors_find_subject(set, name, NULL, &idx), 0);
    CU_ASSERT_EQUAL(dsec_anchors_find_subject(set, name, &pos, NULL), 0);
    dsec_anchors_free(NULL);
    X509_NAME_free(name);
}

static CU_TestInfo tests[] = {
    { "test_anchors_counts", test_anchors_counts },
    { "test_anchors_sources", test_anchors_sources },
    { "test_anchors_find_subject", test_anchors_find_subject },
    { "test_anchors_find_canonical", test_anchors_find_canonical },
    { "test_anchors_missing_dir", test_anchors_missing_dir },
    { "test_anchors_null_and_empty", test_anchors_null_and_empty },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("anchors", suite_init, suite_cleanup, tests);
}
