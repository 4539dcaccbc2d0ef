/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit suite of src/anchors.c, src/certdir.c and src/certdir_scan.c
 * (with src/certfile.c in directory mode): trust anchors loaded from a
 * temporary directory tree built by the suite (single PEM, PEM bundle with
 * a foreign block, DER, TRUSTED CERTIFICATE, malformed, a bundle with a
 * malformed block, empty, oversized, dot file,
 * subdirectory, symlinked duplicate, a second directory, a missing one):
 * counts, load order, sources, duplicates kept once, the skipped list,
 * every search (subject, including names differing only in string type or
 * case; issuer and serial; SHA-1 and SHA-256 fingerprint; subject key
 * identifier), reference counting and NULL safety. A dsec_certdir on its
 * own directory: adding, removing and rewriting a file in place is seen
 * after the check interval and not before, an unchanged directory keeps
 * its snapshot, a snapshot held by a reader survives rebuilds, and threads
 * reading while files change always get a whole snapshot.
 * Certificates are generated here; nothing outside the temp dir is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "testutil.h"
#include "domainsec/certdir.h"
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

/* A self-signed certificate; with_skid adds a subjectKeyIdentifier. */
static X509 *make_cert_skid(const char *cn, EVP_PKEY *key, int with_skid)
{
    X509 *cert = NULL;
    X509_NAME *name = NULL;
    X509_EXTENSION *ext = NULL;
    X509V3_CTX v3;
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
        || !X509_set_pubkey(cert, key)) {
        goto done;
    }
    if (with_skid) {
        X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
        ext =
            X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
        if (ext == NULL || !X509_add_ext(cert, ext, -1)) {
            goto done;
        }
    }
    if (X509_sign(cert, key, EVP_sha256()) <= 0) {
        goto done;
    }
    ok = 1;
done:
    X509_EXTENSION_free(ext);
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
        /* the TRUSTED CERTIFICATE one has no SKID: not in that index */
        certs[i] = make_cert_skid(cns[i], keys[i], i != C_TRUSTED);
        if (certs[i] == NULL) {
            return -1;
        }
    }
    if (!build_tree()) {
        return -1;
    }
    snprintf(dirs, sizeof(dirs), "%s:%s:%s", dir1, missing, dir2);
    ERR_clear_error();
    if (dsec_certdir_load(dirs, &set, NULL) != DSEC_OK) {
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
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_load(missing, &only, &err), DSEC_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(only);
    CU_ASSERT_EQUAL(dsec_anchors_count(only), 0);
    dsec_anchors_free(only);
    only = NULL;

    /* a missing directory between two good ones changes nothing */
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_load(dir2, &only, &err), DSEC_OK);
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
    CU_ASSERT_EQUAL(dsec_certdir_load(NULL, NULL, NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_load(NULL, &empty, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_anchors_count(empty), 0);
    CU_ASSERT_EQUAL(dsec_anchors_find_subject(empty, name, &pos, &idx), 0);
    dsec_anchors_free(empty);
    empty = NULL;
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_load("", &empty, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_anchors_count(empty), 0);
    dsec_anchors_free(empty);
    empty = NULL;
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_load(":::", &empty, NULL), DSEC_OK);
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

static void test_anchors_duplicates(void)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t pos = 0;
    size_t idx = 0;

    /* 10-single.pem, its symlink abcd1234.0 and two/dup.pem: kept once */
    CU_ASSERT_FATAL(X509_digest(certs[C_SINGLE], EVP_sha256(), md, &mdlen));
    CU_ASSERT_EQUAL(
        dsec_anchors_find_fingerprint(set, NID_sha256, md, mdlen, &pos, &idx),
        1);
    CU_ASSERT_EQUAL(idx, 0);
    check_source(0, dir1, "10-single.pem");
    CU_ASSERT_EQUAL(
        dsec_anchors_find_fingerprint(set, NID_sha256, md, mdlen, &pos, &idx),
        0);
}

static void test_anchors_skipped(void)
{
    static const char *const files[] = { "40-bad.pem", "41-garbage.bin",
                                         "45-mixed.pem", "50-empty.pem",
                                         "70-big.bin" };
    char want[256];
    const char *path = NULL;
    const char *why = NULL;
    size_t i;

    CU_ASSERT_EQUAL_FATAL(dsec_anchors_skipped_count(set), 6);
    for (i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "%s/%s", dir1, files[i]);
        CU_ASSERT_FATAL(dsec_anchors_skipped(set, i, &path, &why));
        CU_ASSERT_STRING_EQUAL(path, want);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    CU_ASSERT_FATAL(dsec_anchors_skipped(set, 0, &path, &why));
    CU_ASSERT_STRING_EQUAL(why, "no valid certificate in it");
    CU_ASSERT_FATAL(dsec_anchors_skipped(set, 2, &path, &why));
    CU_ASSERT_STRING_EQUAL(why, "1 malformed certificate block(s) skipped");
    CU_ASSERT_FATAL(dsec_anchors_skipped(set, 4, &path, &why));
    CU_ASSERT_STRING_EQUAL(why, "larger than 1 MiB");
    CU_ASSERT_FATAL(dsec_anchors_skipped(set, 5, &path, &why));
    CU_ASSERT_STRING_EQUAL(path, missing);
    CU_ASSERT_STRING_EQUAL(why, strerror(ENOENT));
    CU_ASSERT_EQUAL(dsec_anchors_skipped(set, 6, &path, &why), 0);
}

static void test_anchors_find_issuer_serial(void)
{
    ASN1_INTEGER *other = NULL;
    size_t pos;
    size_t idx;
    size_t i;
    size_t j;

    for (i = 0; i < dsec_anchors_count(set); i++) {
        X509 *x = dsec_anchors_get0(set, i);

        pos = 0;
        CU_ASSERT_EQUAL(dsec_anchors_find_issuer_serial(
                            set, X509_get_issuer_name(x),
                            X509_get0_serialNumber(x), &pos, &idx),
                        1);
        CU_ASSERT_EQUAL(idx, i);
        CU_ASSERT_EQUAL(dsec_anchors_find_issuer_serial(
                            set, X509_get_issuer_name(x),
                            X509_get0_serialNumber(x), &pos, &idx),
                        0);
    }
    /* right issuer, another serial; right serial, another issuer */
    other = ASN1_INTEGER_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_FATAL(ASN1_INTEGER_set(other, 424242));
    pos = 0;
    CU_ASSERT_EQUAL(
        dsec_anchors_find_issuer_serial(set, X509_get_issuer_name(certs[C_DER]),
                                        other, &pos, &idx),
        0);
    pos = 0;
    CU_ASSERT_EQUAL(dsec_anchors_find_issuer_serial(
                        set, X509_get_issuer_name(certs[C_DER]),
                        X509_get0_serialNumber(certs[C_B1]), &pos, &idx),
                    0);
    /* Shared: same issuer name, two serials, each finds its own */
    for (j = C_SHARED1; j <= C_SHARED2; j += C_SHARED2 - C_SHARED1) {
        pos = 0;
        CU_ASSERT_EQUAL(dsec_anchors_find_issuer_serial(
                            set, X509_get_issuer_name(certs[j]),
                            X509_get0_serialNumber(certs[j]), &pos, &idx),
                        1);
        CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, idx), certs[j]), 0);
    }
    ASN1_INTEGER_free(other);
}

static void test_anchors_find_fingerprint(void)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const unsigned char *got;
    size_t glen = 0;
    size_t pos;
    size_t idx;
    size_t i;

    for (i = 0; i < C_NUM; i++) {
        CU_ASSERT_FATAL(X509_digest(certs[i], EVP_sha1(), md, &mdlen));
        pos = 0;
        CU_ASSERT_EQUAL(
            dsec_anchors_find_fingerprint(set, NID_sha1, md, mdlen, &pos, &idx),
            1);
        CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, idx), certs[i]), 0);
        got = dsec_anchors_get0_fingerprint(set, idx, NID_sha1, &glen);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(glen, 20);
        CU_ASSERT_EQUAL(memcmp(got, md, 20), 0);

        CU_ASSERT_FATAL(X509_digest(certs[i], EVP_sha256(), md, &mdlen));
        pos = 0;
        CU_ASSERT_EQUAL(dsec_anchors_find_fingerprint(set, NID_sha256, md,
                                                      mdlen, &pos, &idx),
                        1);
        CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, idx), certs[i]), 0);
        got = dsec_anchors_get0_fingerprint(set, idx, NID_sha256, &glen);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(glen, 32);
        CU_ASSERT_EQUAL(memcmp(got, md, 32), 0);

        /* one bit off: nothing; the SHA-256 bytes as SHA-1: nothing */
        md[7] ^= 0x01;
        pos = 0;
        CU_ASSERT_EQUAL(dsec_anchors_find_fingerprint(set, NID_sha256, md,
                                                      mdlen, &pos, &idx),
                        0);
        md[7] ^= 0x01;
        pos = 0;
        CU_ASSERT_EQUAL(
            dsec_anchors_find_fingerprint(set, NID_sha1, md, 20, &pos, &idx),
            0);
        CU_ASSERT_EQUAL(
            dsec_anchors_find_fingerprint(set, NID_md5, md, 16, &pos, &idx), 0);
    }
}

static void test_anchors_fingerprint_nid(void)
{
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("SHA1", 20), NID_sha1);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("sha-1", 20), NID_sha1);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("SHA2-256", 32), NID_sha256);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("sha256", 32), NID_sha256);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid(NULL, 20), NID_sha1);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("", 32), NID_sha256);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid(NULL, 16), NID_undef);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("SHA256", 20), NID_undef);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("MD5", 16), NID_undef);
    CU_ASSERT_EQUAL(dsec_anchors_fingerprint_nid("SHA512", 64), NID_undef);
}

static void test_anchors_find_skid(void)
{
    const ASN1_OCTET_STRING *skid;
    ASN1_OCTET_STRING *absent = ASN1_OCTET_STRING_new();
    size_t pos;
    size_t idx;
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(absent);
    for (i = 0; i < C_NUM; i++) {
        skid = X509_get0_subject_key_id(certs[i]);
        if (i == C_TRUSTED) {
            CU_ASSERT_PTR_NULL(skid);
            continue;
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(skid);
        pos = 0;
        CU_ASSERT_EQUAL(dsec_anchors_find_skid(set, skid, &pos, &idx), 1);
        CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(set, idx), certs[i]), 0);
        CU_ASSERT_EQUAL(dsec_anchors_find_skid(set, skid, &pos, &idx), 0);
    }
    CU_ASSERT_FATAL(
        ASN1_OCTET_STRING_set(absent, (const unsigned char *)"nope", 4));
    pos = 0;
    CU_ASSERT_EQUAL(dsec_anchors_find_skid(set, absent, &pos, &idx), 0);
    CU_ASSERT_EQUAL(dsec_anchors_find_skid(set, NULL, &pos, &idx), 0);
    ASN1_OCTET_STRING_free(absent);
}

static void test_anchors_refcount(void)
{
    CU_ASSERT_EQUAL(dsec_anchors_up_ref(NULL), 0);
    CU_ASSERT_EQUAL(dsec_anchors_up_ref(set), 1);
    dsec_anchors_free(set);
    /* still the suite's reference: usable */
    CU_ASSERT_EQUAL(dsec_anchors_count(set), 8);
    CU_ASSERT_PTR_NOT_NULL(dsec_anchors_get0(set, 7));
}

/* ------------------------------------------------------------ certdir */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Rewrite dir/file in place (same inode, the directory is not touched). */
static int rewrite_in_place(const char *dir, const char *file, X509 *cert)
{
    char path[256];
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    int fd = -1;
    int ok = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
        goto done;
    }
    len = BIO_get_mem_data(bio, &data);
    fd = open(path, O_WRONLY | O_TRUNC);
    if (fd < 0 || write(fd, data, (size_t)len) != (ssize_t)len) {
        goto done;
    }
    ok = 1;
done:
    if (fd >= 0 && close(fd) != 0) {
        ok = 0;
    }
    BIO_free(bio);
    return ok;
}

/* 1 when snap holds exactly cert (by SHA-256 fingerprint). */
static int holds(const dsec_anchors *snap, X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t pos = 0;
    size_t idx = 0;

    return X509_digest(cert, EVP_sha256(), md, &mdlen)
           && dsec_anchors_find_fingerprint(snap, NID_sha256, md, mdlen, &pos,
                                            &idx);
}

static void test_anchors_certdir_refresh(void)
{
    char live[160];
    char path[256];
    dsec_certdir *cd = NULL;
    dsec_anchors *held = NULL;
    dsec_anchors *snap = NULL;
    dsec_anchors *again = NULL;
    X509 *a = certs[C_SINGLE];
    X509 *b = certs[C_DER];
    X509 *c = certs[C_B3];
    size_t pos = 0;
    size_t idx = 0;

    snprintf(live, sizeof(live), "%s/live", tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(live, 0700), 0);
    CU_ASSERT_FATAL(write_pem(live, "a.pem", &a, 1, 0, NULL));
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_open(live, &cd, NULL), DSEC_OK);
    CU_ASSERT_STRING_EQUAL(dsec_certdir_dirs(cd), live);
    CU_ASSERT_EQUAL(dsec_certdir_ndirs_open(cd), 1);
    held = dsec_certdir_get(cd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(held);
    CU_ASSERT_EQUAL(dsec_anchors_count(held), 1);
    CU_ASSERT(holds(held, a));

    /* added: not seen before the interval, seen after it */
    CU_ASSERT_FATAL(write_der(live, "b.der", b));
    snap = dsec_certdir_get(cd);
    CU_ASSERT_PTR_EQUAL(snap, held);
    CU_ASSERT_EQUAL(dsec_anchors_count(snap), 1);
    dsec_anchors_free(snap);
    sleep_ms(DSEC_CERTDIR_CHECK_INTERVAL_MS + 150);
    snap = dsec_certdir_get(cd);
    CU_ASSERT_PTR_NOT_EQUAL(snap, held);
    CU_ASSERT_EQUAL(dsec_anchors_count(snap), 2);
    CU_ASSERT(holds(snap, a));
    CU_ASSERT(holds(snap, b));

    /* nothing changed: the same snapshot after the interval */
    sleep_ms(DSEC_CERTDIR_CHECK_INTERVAL_MS + 150);
    again = dsec_certdir_get(cd);
    CU_ASSERT_PTR_EQUAL(again, snap);
    dsec_anchors_free(again);
    dsec_anchors_free(snap);

    /* rewritten in place (directory untouched): seen after the interval */
    CU_ASSERT_FATAL(rewrite_in_place(live, "a.pem", c));
    snap = dsec_certdir_get(cd);
    CU_ASSERT(holds(snap, a));
    CU_ASSERT(!holds(snap, c));
    dsec_anchors_free(snap);
    sleep_ms(DSEC_CERTDIR_CHECK_INTERVAL_MS + 150);
    snap = dsec_certdir_get(cd);
    CU_ASSERT(!holds(snap, a));
    CU_ASSERT(holds(snap, c));
    CU_ASSERT(holds(snap, b));
    dsec_anchors_free(snap);

    /* removed, and a junk file added: seen after the interval */
    snprintf(path, sizeof(path), "%s/b.der", live);
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
    CU_ASSERT_FATAL(write_bytes(live, "junk.pem", "junk\n", 5));
    snap = dsec_certdir_get(cd);
    CU_ASSERT(holds(snap, b));
    dsec_anchors_free(snap);
    sleep_ms(DSEC_CERTDIR_CHECK_INTERVAL_MS + 150);
    snap = dsec_certdir_get(cd);
    CU_ASSERT_EQUAL(dsec_anchors_count(snap), 1);
    CU_ASSERT(!holds(snap, b));
    CU_ASSERT(holds(snap, c));
    CU_ASSERT_EQUAL(dsec_anchors_skipped_count(snap), 1);
    dsec_anchors_free(snap);

    /* the reader's snapshot is the one it took, whole, after all that */
    dsec_certdir_free(cd);
    CU_ASSERT_EQUAL(dsec_anchors_count(held), 1);
    CU_ASSERT(holds(held, a));
    CU_ASSERT_EQUAL(
        dsec_anchors_find_subject(held, X509_get_subject_name(a), &pos, &idx),
        1);
    CU_ASSERT_EQUAL(X509_cmp(dsec_anchors_get0(held, idx), a), 0);
    dsec_anchors_free(held);
    CU_ASSERT_PTR_NULL(dsec_certdir_get(NULL));
    dsec_certdir_free(NULL);
}

struct reader_arg {
    dsec_certdir *cd;
    volatile int *stop;
    long gets;
    long bad;
};

static void *reader(void *p)
{
    struct reader_arg *arg = p;
    dsec_anchors *snap;
    size_t n;
    size_t i;

    while (!*arg->stop) {
        snap = dsec_certdir_get(arg->cd);
        n = dsec_anchors_count(snap);
        /* a whole snapshot: one or two certificates, each readable */
        if (snap == NULL || n < 1 || n > 2) {
            arg->bad++;
        }
        for (i = 0; i < n; i++) {
            if (dsec_anchors_get0(snap, i) == NULL
                || dsec_anchors_source(snap, i) == NULL) {
                arg->bad++;
            }
        }
        dsec_anchors_free(snap);
        arg->gets++;
    }
    return NULL;
}

static void test_anchors_certdir_threads(void)
{
    enum { NTHREADS = 4 };
    char dir[160];
    char path[256];
    dsec_certdir *cd = NULL;
    pthread_t th[NTHREADS];
    struct reader_arg args[NTHREADS];
    volatile int stop = 0;
    X509 *a = certs[C_B1];
    X509 *b = certs[C_MIXED];
    int started = 0;
    int i;

    snprintf(dir, sizeof(dir), "%s/threads", tmpdir);
    snprintf(path, sizeof(path), "%s/b.pem", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_FATAL(write_pem(dir, "a.pem", &a, 1, 0, NULL));
    CU_ASSERT_EQUAL_FATAL(dsec_certdir_open(dir, &cd, NULL), DSEC_OK);
    for (i = 0; i < NTHREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].cd = cd;
        args[i].stop = &stop;
        if (pthread_create(&th[i], NULL, reader, &args[i]) != 0) {
            break;
        }
        started++;
    }
    CU_ASSERT_EQUAL(started, NTHREADS);
    /* three rebuilds while the readers run */
    for (i = 0; i < 3; i++) {
        if (i % 2 == 0) {
            CU_ASSERT(write_pem(dir, "b.pem", &b, 1, 0, NULL));
        } else {
            CU_ASSERT_EQUAL(unlink(path), 0);
        }
        sleep_ms(DSEC_CERTDIR_CHECK_INTERVAL_MS + 150);
    }
    stop = 1;
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT(args[i].gets > 0);
        CU_ASSERT_EQUAL(args[i].bad, 0);
    }
    /*
     * the last change (b.pem written) is in the snapshot of the next check:
     * wait one interval so that this get makes it (under valgrind the
     * readers' last check may predate the write)
     */
    sleep_ms(DSEC_CERTDIR_CHECK_INTERVAL_MS + 150);
    {
        dsec_anchors *snap = dsec_certdir_get(cd);

        CU_ASSERT_EQUAL(dsec_anchors_count(snap), 2);
        CU_ASSERT(holds(snap, b));
        dsec_anchors_free(snap);
    }
    dsec_certdir_free(cd);
}

static CU_TestInfo tests[] = {
    { "test_anchors_counts", test_anchors_counts },
    { "test_anchors_sources", test_anchors_sources },
    { "test_anchors_find_subject", test_anchors_find_subject },
    { "test_anchors_find_canonical", test_anchors_find_canonical },
    { "test_anchors_missing_dir", test_anchors_missing_dir },
    { "test_anchors_null_and_empty", test_anchors_null_and_empty },
    { "test_anchors_duplicates", test_anchors_duplicates },
    { "test_anchors_skipped", test_anchors_skipped },
    { "test_anchors_find_issuer_serial", test_anchors_find_issuer_serial },
    { "test_anchors_find_fingerprint", test_anchors_find_fingerprint },
    { "test_anchors_fingerprint_nid", test_anchors_fingerprint_nid },
    { "test_anchors_find_skid", test_anchors_find_skid },
    { "test_anchors_refcount", test_anchors_refcount },
    { "test_anchors_certdir_refresh", test_anchors_certdir_refresh },
    { "test_anchors_certdir_threads", test_anchors_certdir_threads },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("anchors", suite_init, suite_cleanup, tests);
}
