/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A large CRL, fast (bench/run_bigcrl.sh, test_crlindex.sh): N entries with
 * random 16-byte serials plus the serials given, keyCompromise on every
 * tenth, thisUpdate now - 60 s, nextUpdate now + 1 day, cRLNumber 1, AKID
 * from the issuer, signed once with SHA-256 (openssl ca -gencrl takes
 * minutes for a million entries).
 * Usage: gen_bigcrl ISSUER.pem ISSUER.key N OUT.der [SERIAL_HEX...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static X509_REVOKED *entry(BIGNUM *serial, const ASN1_TIME *when, int reason)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *s = BN_to_ASN1_INTEGER(serial, NULL);
    ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();
    int ok = rev != NULL && s != NULL && code != NULL
             && X509_REVOKED_set_serialNumber(rev, s)
             && X509_REVOKED_set_revocationDate(rev, (ASN1_TIME *)when);

    if (ok && reason >= 0) {
        ok = ASN1_ENUMERATED_set(code, reason)
             && X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0,
                                          X509V3_ADD_DEFAULT);
    }
    ASN1_INTEGER_free(s);
    ASN1_ENUMERATED_free(code);
    if (!ok) {
        X509_REVOKED_free(rev);
        return NULL;
    }
    return rev;
}

static int add_extensions(X509_CRL *crl, X509 *issuer)
{
    X509V3_CTX ctx;
    X509_EXTENSION *akid;
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int ok;

    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    akid = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                               "keyid:always");
    ok = akid != NULL && num != NULL && X509_CRL_add_ext(crl, akid, -1)
         && ASN1_INTEGER_set(num, 1)
         && X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
                                  X509V3_ADD_DEFAULT);
    X509_EXTENSION_free(akid);
    ASN1_INTEGER_free(num);
    return ok;
}

int main(int argc, char **argv)
{
    FILE *f;
    X509 *issuer = NULL;
    EVP_PKEY *key = NULL;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL) - 60);
    ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 86400);
    BIGNUM *bn = BN_new();
    unsigned char *der = NULL, rnd[16];
    long n, i;
    int len, rc = 1;

    if (argc < 5 || (n = strtol(argv[3], NULL, 10)) < 0) {
        fprintf(stderr,
                "usage: %s ISSUER.pem ISSUER.key N OUT.der "
                "[SERIAL_HEX...]\n",
                argv[0]);
        return 2;
    }
    if ((f = fopen(argv[1], "r")) != NULL) {
        issuer = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if ((f = fopen(argv[2], "r")) != NULL) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (issuer == NULL || key == NULL || crl == NULL || bn == NULL
        || !X509_CRL_set_version(crl, 1)
        || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer))
        || !X509_CRL_set1_lastUpdate(crl, now)
        || !X509_CRL_set1_nextUpdate(crl, next)
        || !add_extensions(crl, issuer)) {
        fprintf(stderr, "gen_bigcrl: cannot read the issuer or start\n");
        goto done;
    }
    for (i = 0; i < n; i++) {
        X509_REVOKED *rev;

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            goto done;
        }
        rnd[0] &= 0x7f; /* positive, as CAs issue them */
        rnd[0] |= 0x40;
        rev = BN_bin2bn(rnd, sizeof(rnd), bn) != NULL
                  ? entry(bn, now, i % 10 == 0 ? 1 : -1)
                  : NULL;
        if (rev == NULL || !X509_CRL_add0_revoked(crl, rev)) {
            goto done;
        }
    }
    for (i = 5; i < argc; i++) {
        X509_REVOKED *rev =
            BN_hex2bn(&bn, argv[i]) > 0 ? entry(bn, now, 1) : NULL;

        if (rev == NULL || !X509_CRL_add0_revoked(crl, rev)) {
            goto done;
        }
    }
    if (!X509_CRL_sort(crl) || X509_CRL_sign(crl, key, EVP_sha256()) <= 0
        || (len = i2d_X509_CRL(crl, &der)) <= 0
        || (f = fopen(argv[4], "wb")) == NULL) {
        goto done;
    }
    rc = fwrite(der, 1, (size_t)len, f) == (size_t)len ? 0 : 1;
    rc |= fclose(f) != 0;
done:
    if (rc != 0) {
        fprintf(stderr, "gen_bigcrl: failed\n");
    }
    OPENSSL_free(der);
    BN_free(bn);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(issuer);
    return rc;
}
