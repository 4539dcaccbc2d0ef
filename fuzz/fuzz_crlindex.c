/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: hostile bytes as a CRL index file in cache_dir
 * (dsec_crlindex_open: header, bounds, skeleton), then, when accepted,
 * lookups of a few serials. Must never crash, read out of bounds or leak.
 * With FUZZ_CRLINDEX_SEEDS=DIR it first writes DIR/seed.idx, the index of
 * a small CRL listing those serials, for the seed corpus.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const unsigned char serials[][3] = { { 1 },
                                            { 0x7f, 0xff },
                                            { 0x80, 0, 1 } };

static int dirfd = -1;
static char dir[] = "/tmp/fuzz_crlindex.XXXXXX";

static void set_up(void)
{
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        abort();
    }
}

/* The index of a small signed CRL listing serials into dir/seed.idx. */
static void write_seed(const char *seed_dir)
{
    static const unsigned char key_id[32] = { 0 };
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_CRL *crl = X509_CRL_new(), *parsed;
    ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    unsigned char *der = NULL, *idx = NULL;
    const unsigned char *p;
    size_t idxlen = 0;
    char path[512];
    int i, len;
    FILE *f;

    X509_CRL_set_version(crl, 1);
    X509_NAME_add_entry_by_txt(X509_CRL_get_issuer(crl), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Fuzz CA", -1, -1, 0);
    X509_CRL_set1_lastUpdate(crl, t);
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_INTEGER_set(num, 7);
    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_DEFAULT);
    for (i = 0; i < 3; i++) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();

        ASN1_STRING_set(s, serials[i], i + 1);
        X509_REVOKED_set_serialNumber(rev, s);
        X509_REVOKED_set_revocationDate(rev, t);
        X509_CRL_add0_revoked(crl, rev);
        ASN1_INTEGER_free(s);
    }
    if (key == NULL || !X509_CRL_sign(crl, key, EVP_sha256())
        || (len = i2d_X509_CRL(crl, &der)) <= 0) {
        abort();
    }
    p = der;
    parsed = d2i_X509_CRL(NULL, &p, len);
    snprintf(path, sizeof(path), "%s/seed.idx", seed_dir);
    if (parsed == NULL || !dsec_crlindex_build(parsed, key_id, &idx, &idxlen)
        || (f = fopen(path, "wb")) == NULL) {
        abort();
    }
    fwrite(idx, 1, idxlen, f);
    fclose(f);
    free(idx);
    OPENSSL_free(der);
    X509_CRL_free(parsed);
    X509_CRL_free(crl);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    EVP_PKEY_free(key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed_dir = getenv("FUZZ_CRLINDEX_SEEDS");

    (void)argc;
    (void)argv;
    if (seed_dir != NULL && seed_dir[0] != '\0') {
        write_seed(seed_dir);
        exit(0);
    }
    set_up();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char id[32];
    X509_CRL *skel;
    size_t i;
    int fd;

    fd =
        openat(dirfd, "in.idx", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size)) {
        abort();
    }
    close(fd);
    skel = dsec_crlindex_open(dirfd, "in.idx", id);
    for (i = 0; skel != NULL && i < 3; i++) {
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        int reason;
        time_t when;

        ASN1_STRING_set(s, serials[i], i + 1);
        (void)dsec_crlindex_lookup_serial(skel, s, &reason, &when);
        ASN1_INTEGER_free(s);
    }
    X509_CRL_free(skel);
    unlinkat(dirfd, "in.idx", 0);
    return 0;
}
