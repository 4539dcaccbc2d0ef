/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: hostile bytes as a CRL body (dsec_crl_parse, then the
 * issuer and time checks against a fixed issuer) and as a certificate whose
 * CDPs are extracted. Must never crash, leak or accept garbage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "domainsec/cdp.h"
#include "domainsec/crl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *issuer;

static X509 *make_issuer(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();

    if (key == NULL || x == NULL) {
        abort();
    }
    X509_set_version(x, 2);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Fuzz CA", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    EVP_PKEY_free(key);
    return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509_CRL *crl = NULL;
    DSEC_ERR err;
    dsec_cdp_list cdps;
    const unsigned char *p = data;
    X509 *cert;

    if (issuer == NULL) {
        issuer = make_issuer();
    }
    if (dsec_crl_parse(data, size, &crl, &err) == DSEC_OK) {
        /* a fuzzed CRL can never carry the issuer's signature */
        if (dsec_crl_check(crl, issuer, time(NULL), 0, &err) == DSEC_OK) {
            abort();
        }
        (void)dsec_crl_next_update(crl);
        X509_CRL_free(crl);
    }
    cert = d2i_X509(NULL, &p, (long)size);
    if (cert != NULL) {
        if (dsec_cdp_extract(cert, &cdps) == DSEC_OK) {
            dsec_cdp_list_clear(&cdps);
        }
        X509_free(cert);
    }
    return 0;
}
