/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit suite of src/certfile.c: certificate files read in both modes from
 * a temporary directory built by the suite (PEM bundle with a foreign
 * block, TRUSTED CERTIFICATE, DER, DER with a trailing byte, a bundle with
 * a malformed certificate block, only a malformed block, only a foreign
 * block, empty, 2 MiB of zeros, a FIFO, a subdirectory, a missing file):
 * what each mode accepts and the fault it reports otherwise, a FIFO refused
 * without blocking, reading relative to a directory descriptor, and the
 * OpenSSL error queue left as found.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "testutil.h"
#include "domainsec/certfile.h"

static char tmpdir[64];
static int dfd = -1;
static EVP_PKEY *key;
static X509 *c1;
static X509 *c2;

static const char foreign[] = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";
/* base64 of "garbage": a certificate block that does not decode */
static const char malformed[] = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n"
                                "-----END CERTIFICATE-----\n";

static char *path_of(const char *name)
{
    static char path[128];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

/* Write the concatenation of the NULL-terminated parts to name. */
static int write_parts(const char *name, ...)
{
    char buf[8192];
    size_t len = 0;
    size_t n;
    const char *part;
    va_list ap;

    va_start(ap, name);
    while ((part = va_arg(ap, const char *)) != NULL) {
        n = strlen(part);
        if (len + n > sizeof(buf)) {
            va_end(ap);
            return -1;
        }
        memcpy(buf + len, part, n);
        len += n;
    }
    va_end(ap);
    return tu_write_file(path_of(name), buf, len);
}

static char *trusted_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *ret = NULL;
    long n;

    if (bio != NULL && PEM_write_bio_X509_AUX(bio, cert)) {
        n = BIO_get_mem_data(bio, &data);
        ret = n > 0 ? strndup(data, (size_t)n) : NULL;
    }
    BIO_free(bio);
    return ret;
}

/* The PEM, TRUSTED CERTIFICATE and DER files; 0 on success. */
static int write_cert_files(void)
{
    char *p1 = NULL, *p2 = NULL, *tr = NULL;
    unsigned char *der = NULL, *trail = NULL;
    size_t len = 0;
    int rc = -1;

    p1 = tu_cert_pem(c1, &len);
    p2 = tu_cert_pem(c2, &len);
    tr = trusted_pem(c1);
    der = tu_cert_der(c1, &len);
    trail = der != NULL ? malloc(len + 1) : NULL;
    if (p1 == NULL || p2 == NULL || tr == NULL || trail == NULL) {
        goto done;
    }
    memcpy(trail, der, len);
    trail[len] = 'x';
    if (write_parts("bundle.pem", p1, foreign, p2, NULL) == 0
        && write_parts("trusted.pem", tr, NULL) == 0
        && write_parts("partial.pem", p1, malformed, NULL) == 0
        && write_parts("bad.pem", malformed, NULL) == 0
        && write_parts("foreign.pem", foreign, NULL) == 0
        && write_parts("empty", NULL) == 0
        && tu_write_file(path_of("cert.der"), der, len) == 0
        && tu_write_file(path_of("trail.der"), trail, len + 1) == 0) {
        rc = 0;
    }
done:
    free(p1);
    free(p2);
    free(tr);
    free(der);
    free(trail);
    return rc;
}

static int suite_init(void)
{
    int fd;

    if (tu_tmpdir(tmpdir, sizeof(tmpdir)) == NULL) {
        return -1;
    }
    key = tu_key();
    if (key == NULL) {
        return -1;
    }
    c1 = tu_cert("one", NULL, NULL, key, 1, NULL, -60, 3600);
    c2 = tu_cert("two", NULL, NULL, key, 1, NULL, -60, 3600);
    if (c1 == NULL || c2 == NULL || write_cert_files() != 0) {
        return -1;
    }
    /* 2 MiB of zeros: over the directory cap, under the strict one */
    fd = open(path_of("zeros"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return -1;
    }
    if (ftruncate(fd, 2L * 1024 * 1024) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    if (mkfifo(path_of("fifo"), 0600) != 0
        || mkdir(path_of("dir"), 0700) != 0) {
        return -1;
    }
    dfd = open(tmpdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    return dfd >= 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
    if (dfd >= 0) {
        close(dfd);
    }
    X509_free(c1);
    X509_free(c2);
    EVP_PKEY_free(key);
    return tu_rmtree(tmpdir) == 0 ? 0 : -1;
}

/* Load name in mode flags; returns the rv, *st and (on success) *certs. */
static dsec_rv load(const char *name, unsigned int flags,
                    dsec_certfile_status *st, STACK_OF(X509) * *certs)
{
    *certs = NULL;
    return dsec_certfile_load(path_of(name), flags, certs, st);
}

static void test_certfile_strict_accepts(void)
{
    STACK_OF(X509) *certs = NULL;
    dsec_certfile_status st;

    CU_ASSERT_EQUAL_FATAL(load("bundle.pem", DSEC_CERTFILE_STRICT, &st, &certs),
                          DSEC_OK);
    CU_ASSERT_EQUAL(st.fault, DSEC_CERTFILE_OK);
    CU_ASSERT_TRUE(st.pem);
    CU_ASSERT_EQUAL_FATAL(sk_X509_num(certs), 2);
    CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 0), c1), 0);
    CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 1), c2), 0);
    sk_X509_pop_free(certs, X509_free);

    CU_ASSERT_EQUAL_FATAL(load("cert.der", DSEC_CERTFILE_STRICT, &st, &certs),
                          DSEC_OK);
    CU_ASSERT_FALSE(st.pem);
    CU_ASSERT_EQUAL_FATAL(sk_X509_num(certs), 1);
    CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 0), c1), 0);
    sk_X509_pop_free(certs, X509_free);
}

static void expect_fault(const char *name, unsigned int flags, dsec_rv rv,
                         dsec_certfile_fault fault)
{
    STACK_OF(X509) *certs = NULL;
    dsec_certfile_status st;

    CU_ASSERT_EQUAL(load(name, flags, &st, &certs), rv);
    CU_ASSERT_EQUAL(st.fault, fault);
    CU_ASSERT_PTR_NULL(certs);
}

static void test_certfile_strict_refuses(void)
{
    STACK_OF(X509) *certs = NULL;
    dsec_certfile_status st;

    /* TRUSTED CERTIFICATE is not read on the command line */
    expect_fault("trusted.pem", DSEC_CERTFILE_STRICT, DSEC_ERR_PARSE,
                 DSEC_CERTFILE_NO_CERT);
    expect_fault("foreign.pem", DSEC_CERTFILE_STRICT, DSEC_ERR_PARSE,
                 DSEC_CERTFILE_NO_CERT);
    expect_fault("bad.pem", DSEC_CERTFILE_STRICT, DSEC_ERR_PARSE,
                 DSEC_CERTFILE_BAD_CERT);
    expect_fault("trail.der", DSEC_CERTFILE_STRICT, DSEC_ERR_PARSE,
                 DSEC_CERTFILE_NO_CERT);
    expect_fault("zeros", DSEC_CERTFILE_STRICT, DSEC_ERR_PARSE,
                 DSEC_CERTFILE_NO_CERT);
    expect_fault("empty", DSEC_CERTFILE_STRICT, DSEC_ERR_IO,
                 DSEC_CERTFILE_EMPTY);
    expect_fault("dir", DSEC_CERTFILE_STRICT, DSEC_ERR_IO,
                 DSEC_CERTFILE_NOT_REGULAR);
    /* opened without blocking, then refused */
    expect_fault("fifo", DSEC_CERTFILE_STRICT, DSEC_ERR_IO,
                 DSEC_CERTFILE_NOT_REGULAR);

    /* the whole file or nothing: the second certificate is malformed */
    CU_ASSERT_EQUAL(load("partial.pem", DSEC_CERTFILE_STRICT, &st, &certs),
                    DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(st.fault, DSEC_CERTFILE_BAD_CERT);
    CU_ASSERT_EQUAL(st.at, 2);
    CU_ASSERT_PTR_NULL(certs);

    CU_ASSERT_EQUAL(load("missing", DSEC_CERTFILE_STRICT, &st, &certs),
                    DSEC_ERR_IO);
    CU_ASSERT_EQUAL(st.fault, DSEC_CERTFILE_OPEN);
    CU_ASSERT_EQUAL(st.errnum, ENOENT);
}

static void test_certfile_dir_mode(void)
{
    STACK_OF(X509) *certs = NULL;
    dsec_certfile_status st;

    CU_ASSERT_EQUAL_FATAL(
        dsec_certfile_load_at(dfd, "bundle.pem", 0, &certs, &st), DSEC_OK);
    CU_ASSERT_EQUAL(sk_X509_num(certs), 2);
    CU_ASSERT_EQUAL(st.bad, 0);
    sk_X509_pop_free(certs, X509_free);
    certs = NULL;

    CU_ASSERT_EQUAL_FATAL(
        dsec_certfile_load_at(dfd, "trusted.pem", 0, &certs, &st), DSEC_OK);
    CU_ASSERT_EQUAL_FATAL(sk_X509_num(certs), 1);
    CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 0), c1), 0);
    sk_X509_pop_free(certs, X509_free);
    certs = NULL;

    /* a malformed block is skipped and counted */
    CU_ASSERT_EQUAL_FATAL(
        dsec_certfile_load_at(dfd, "partial.pem", 0, &certs, &st), DSEC_OK);
    CU_ASSERT_EQUAL(sk_X509_num(certs), 1);
    CU_ASSERT_EQUAL(st.bad, 1);
    sk_X509_pop_free(certs, X509_free);
    certs = NULL;

    CU_ASSERT_EQUAL(dsec_certfile_load_at(dfd, "bad.pem", 0, &certs, &st),
                    DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(st.fault, DSEC_CERTFILE_BAD_CERT);
    CU_ASSERT_EQUAL(st.bad, 1);
    expect_fault("foreign.pem", 0, DSEC_ERR_PARSE, DSEC_CERTFILE_NO_CERT);
    expect_fault("trail.der", 0, DSEC_ERR_PARSE, DSEC_CERTFILE_NO_CERT);
    expect_fault("zeros", 0, DSEC_ERR_IO, DSEC_CERTFILE_TOO_LARGE);
    expect_fault("empty", 0, DSEC_ERR_IO, DSEC_CERTFILE_EMPTY);
    expect_fault("fifo", 0, DSEC_ERR_IO, DSEC_CERTFILE_NOT_REGULAR);
    CU_ASSERT_PTR_NULL(certs);
}

static void test_certfile_error_queue(void)
{
    STACK_OF(X509) *certs = NULL;

    ERR_clear_error();
    CU_ASSERT_EQUAL(dsec_certfile_load(path_of("partial.pem"),
                                       DSEC_CERTFILE_STRICT, &certs, NULL),
                    DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(dsec_certfile_load_at(dfd, "bad.pem", 0, &certs, NULL),
                    DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(dsec_certfile_load_at(dfd, "partial.pem", 0, &certs, NULL),
                    DSEC_OK);
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
    sk_X509_pop_free(certs, X509_free);
    CU_ASSERT_EQUAL(dsec_certfile_load("x", 0, NULL, NULL), DSEC_ERR_INVALID);
}

static CU_TestInfo tests[] = {
    { "test_certfile_strict_accepts", test_certfile_strict_accepts },
    { "test_certfile_strict_refuses", test_certfile_strict_refuses },
    { "test_certfile_dir_mode", test_certfile_dir_mode },
    { "test_certfile_error_queue", test_certfile_error_queue },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("certfile", suite_init, suite_cleanup, tests);
}
