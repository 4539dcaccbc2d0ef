/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A new process's first verification (bench/run_bigcrl.sh): like an
 * unmodified host it links libcrypto only (domainsec, if any, comes through
 * OPENSSL_CONF, loaded before the clock starts), reads the CA file, the
 * untrusted intermediate and the leaf, then times, in plain-crl mode, the
 * load of the CRL files into the store plus the first X509_verify_cert with
 * X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL (OpenSSL sorts the
 * entries on the first lookup), in the other modes the first
 * X509_verify_cert alone. One line: the mode, the result, the milliseconds
 * and the peak RSS of the whole process.
 * Usage: bench_first MODE CAFILE UNTRUSTED LEAF [CRL...]
 *        MODE: plain (no revocation check), plain-crl, domainsec
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f != NULL) {
        fclose(f);
    }
    return x;
}

/* The DER (or PEM) CRL file path added to store; 0 on failure. */
static int add_crl(X509_STORE *store, const char *path)
{
    FILE *f = fopen(path, "rb");
    X509_CRL *crl = NULL;
    int ok;

    if (f == NULL) {
        return 0;
    }
    crl = d2i_X509_CRL_fp(f, NULL);
    if (crl == NULL) {
        rewind(f);
        crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    }
    fclose(f);
    ok = crl != NULL && X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    return ok;
}

int main(int argc, char **argv)
{
    X509_STORE *store;
    X509_STORE_CTX *ctx;
    STACK_OF(X509) * untrusted;
    X509 *leaf, *inter;
    struct rusage ru;
    double t0, t1;
    int i, ok, err, plain_crl;

    if (argc < 5) {
        fprintf(stderr, "usage: bench_first plain|plain-crl|domainsec CAFILE "
                        "UNTRUSTED LEAF [CRL...]\n");
        return 2;
    }
    plain_crl = strcmp(argv[1], "plain-crl") == 0;
    /* the configuration (domainsec) is loaded before the clock starts */
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    store = X509_STORE_new();
    leaf = read_cert(argv[4]);
    inter = read_cert(argv[3]);
    untrusted = sk_X509_new_null();
    if (store == NULL || leaf == NULL || inter == NULL || untrusted == NULL
        || !sk_X509_push(untrusted, inter)
        || !X509_STORE_load_file(store, argv[2])) {
        fprintf(stderr, "bench_first: cannot read the certificates\n");
        return 1;
    }
    t0 = now_ms();
    for (i = 5; plain_crl && i < argc; i++) {
        if (!add_crl(store, argv[i])) {
            fprintf(stderr, "bench_first: cannot read %s\n", argv[i]);
            return 1;
        }
    }
    if (plain_crl) {
        X509_STORE_set_flags(store,
                             X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    ctx = X509_STORE_CTX_new();
    ok = ctx != NULL && X509_STORE_CTX_init(ctx, store, leaf, untrusted)
         && X509_verify_cert(ctx) == 1;
    t1 = now_ms();
    err = ctx != NULL ? X509_STORE_CTX_get_error(ctx) : -1;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 1;
    }
    printf("mode=%s ok=%d error=%d first_ms=%.3f maxrss_kb=%ld\n", argv[1], ok,
           err, t1 - t0, ru.ru_maxrss);
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    X509_STORE_free(store);
    return ok ? 0 : 1;
}
