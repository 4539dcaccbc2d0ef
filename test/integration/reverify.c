/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Several verifications in one process, one after the other, through one
 * X509_STORE holding ROOT.pem (X509_STORE_CTX_init, X509_verify_cert),
 * with domainsec loaded by OPENSSL_CONF only: what a long-running host
 * (one SSL_CTX) sees when the same peers come back (test_linkmemo.sh).
 * Each step is one verification:
 *   LEAF=CHAIN            LEAF.pem with CHAIN.pem as untrusted certificates
 *   LEAF=CHAIN+ctx:CRL    the same, CRL (DER) passed with
 *                         X509_STORE_CTX_set0_crls, as `openssl verify
 *                         -CRLfile` does
 *   LEAF=CHAIN+store:CRL  the same through a second store, made for this
 *                         step, holding ROOT.pem and CRL
 * and prints "step N: error E" (X509 error, 0 when verified).
 *
 * usage: reverify ROOT.pem DIR STEP... (LEAF, CHAIN, CRL relative to DIR)
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

static X509 *load_cert(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;
    X509 *x = NULL;

    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    if ((f = fopen(path, "r")) != NULL) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    return x;
}

static X509_CRL *load_crl(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;
    X509_CRL *crl = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "rb")) != NULL) {
        crl = d2i_X509_CRL_fp(f, NULL);
        fclose(f);
    }
    return crl;
}

static X509_STORE *new_store(const char *root, X509_CRL *crl)
{
    X509_STORE *store = X509_STORE_new();

    if (store == NULL || X509_STORE_load_file(store, root) != 1
        || (crl != NULL && X509_STORE_add_crl(store, crl) != 1)) {
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}

/* One step through main (or a store of its own, "+store:"): its X509
   error (0: verified), -1 when it could not be made. */
static int step(X509_STORE *main_store, const char *root, const char *dir,
                const char *spec)
{
    char leaf_name[256], chain_name[256], how[16] = "", crl_name[256] = "";
    X509 *leaf, *inter;
    X509_CRL *crl = NULL;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    STACK_OF(X509_CRL) *crls = NULL;
    X509_STORE *store;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int err = -1;

    if (sscanf(spec, "%255[^=]=%255[^+]+%15[^:]:%255s", leaf_name, chain_name,
               how, crl_name)
        < 2) {
        return -1;
    }
    leaf = load_cert(dir, leaf_name);
    inter = load_cert(dir, chain_name);
    if (crl_name[0] != '\0') {
        crl = load_crl(dir, crl_name);
    }
    store = strcmp(how, "store") == 0 ? new_store(root, crl) : main_store;
    if (strcmp(how, "ctx") == 0 && crl != NULL
        && (crls = sk_X509_CRL_new_null()) != NULL) {
        sk_X509_CRL_push(crls, crl);
    }
    if (leaf != NULL && inter != NULL && store != NULL && ctx != NULL
        && untrusted != NULL && sk_X509_push(untrusted, inter) > 0
        && (crl_name[0] == '\0' || crl != NULL)
        && X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
        X509_STORE_CTX_set0_crls(ctx, crls);
        err = X509_verify_cert(ctx) > 0 ? 0 : X509_STORE_CTX_get_error(ctx);
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_CRL_free(crls);
    X509_CRL_free(crl);
    if (store != main_store) {
        X509_STORE_free(store);
    }
    sk_X509_free(untrusted);
    X509_free(inter);
    X509_free(leaf);
    return err;
}

int main(int argc, char **argv)
{
    X509_STORE *main_store;
    int i, err, rc = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: reverify ROOT.pem DIR STEP...\n");
        return 2;
    }
    /* the configuration first, as hosts load it (domainsec hooks the
       stores made once it is active) */
    if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1
        || (main_store = new_store(argv[1], NULL)) == NULL) {
        fprintf(stderr, "reverify: cannot load %s\n", argv[1]);
        return 2;
    }
    for (i = 3; i < argc; i++) {
        err = step(main_store, argv[1], argv[2], argv[i]);
        printf("step %d: error %d\n", i - 2, err);
        rc |= err < 0;
    }
    X509_STORE_free(main_store);
    return rc ? 1 : 0;
}
