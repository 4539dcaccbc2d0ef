/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/crl.c: parsing fetched bytes (DER, PEM, and the many
 * things a server may send instead), the signature checked before decoding
 * (RSA, PSS, ECDSA, Ed25519; tampered, truncated, overlong, indefinite),
 * and checking that a CRL is a complete CRL of the issuer, correctly
 * signed, inside its time window (the boundary seconds).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include <openssl/rsa.h>
#include "domainsec/crl.h"
#include "internal.h"
#include "testutil.h"

static EVP_PKEY *ca_key;
static EVP_PKEY *other_key;
static EVP_PKEY *leaf_key;
static X509 *ca;
static X509 *other_ca;
static X509 *leaf;

static int suite_init(void)
{
    ca_key = tu_key();
    other_key = tu_key();
    leaf_key = tu_key();
    if (ca_key == NULL || other_key == NULL || leaf_key == NULL) {
        return -1;
    }
    ca = tu_cert("CRL Test CA", NULL, NULL, ca_key, 1, NULL, -86400, 86400);
    other_ca =
        tu_cert("Other CA", NULL, NULL, other_key, 1, NULL, -86400, 86400);
    leaf = tu_cert("leaf", ca, ca_key, leaf_key, 0, "http://crl.example/c",
                   -3600, 3600);
    return ca != NULL && other_ca != NULL && leaf != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(ca);
    X509_free(other_ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(leaf_key);
    return 0;
}

/* DER of two CRLs equal? */
static int same_crl(X509_CRL *a, X509_CRL *b)
{
    unsigned char *da = NULL;
    unsigned char *db = NULL;
    int la = i2d_X509_CRL(a, &da);
    int lb = i2d_X509_CRL(b, &db);
    int same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

    OPENSSL_free(da);
    OPENSSL_free(db);
    return same;
}

static void test_crl_parse_der(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, &leaf, 1, 0);
    X509_CRL *out = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    DSEC_ERR err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    der = tu_crl_der(crl, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    CU_ASSERT_EQUAL(dsec_crl_parse(der, len, &out, &err), DSEC_OK);
    CU_ASSERT_PTR_NOT_NULL(out);
    if (out != NULL) {
        CU_ASSERT_TRUE(same_crl(crl, out));
        CU_ASSERT_EQUAL(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(out)), 1);
    }
    X509_CRL_free(out);
    free(der);
    X509_CRL_free(crl);
}

static void test_crl_parse_pem(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 0);
    X509_CRL *out = NULL;
    char *pem = NULL;
    size_t len = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    pem = tu_crl_pem(crl, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_EQUAL(dsec_crl_parse((const unsigned char *)pem, len, &out, NULL),
                    DSEC_OK);
    CU_ASSERT_PTR_NOT_NULL(out);
    if (out != NULL) {
        CU_ASSERT_TRUE(same_crl(crl, out));
    }
    X509_CRL_free(out);
    free(pem);
    X509_CRL_free(crl);
}

/* data must be rejected with DSEC_ERR_PARSE, *out untouched. */
static void parse_bad(const void *data, size_t len)
{
    X509_CRL *out = NULL;
    DSEC_ERR err;

    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(dsec_crl_parse(data, len, &out, &err), DSEC_ERR_PARSE);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
    X509_CRL_free(out);
}

static void test_crl_parse_rejects(void)
{
    static const char html[] = "<html><head><title>404 Not Found</title>"
                               "</head><body>Not Found</body></html>\n";
    static const char garbage[] = "\x30\x82\xff\xff garbage garbage";
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 0);
    unsigned char *der = NULL;
    unsigned char *trailing = NULL;
    char *cert_pem = NULL;
    size_t len = 0;
    size_t cert_len = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    der = tu_crl_der(crl, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);

    parse_bad("", 0);
    parse_bad(html, strlen(html));
    parse_bad(garbage, sizeof(garbage) - 1);
    parse_bad(der, len - 10);
    parse_bad(der, 1);

    trailing = malloc(len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(trailing);
    memcpy(trailing, der, len);
    memcpy(trailing + len, "GARBAGE!", 8);
    parse_bad(trailing, len + 8);

    /* a certificate is not a CRL */
    cert_pem = tu_cert_pem(ca, &cert_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert_pem);
    parse_bad(cert_pem, cert_len);

    free(cert_pem);
    free(trailing);
    free(der);
    X509_CRL_free(crl);
}

/* Check crl against issuer at now with grace; returns rv, err.msg set. */
static dsec_rv check(X509_CRL *crl, X509 *issuer, time_t now, long grace)
{
    DSEC_ERR err;
    dsec_rv rv;

    memset(&err, 0, sizeof(err));
    rv = dsec_crl_check(crl, issuer, now, grace, &err);
    if (rv != DSEC_OK) {
        CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
    }
    return rv;
}

static void test_crl_check_good(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, &leaf, 1, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_EQUAL(check(crl, ca, time(NULL), 0), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_crl_check(crl, ca, time(NULL), 0, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_crl_check_issuer(crl, ca, NULL), DSEC_OK);
    X509_CRL_free(crl);
}

static void test_crl_check_bad_signature(void)
{
    X509_CRL *crl = tu_crl(ca, other_key, -60, 3600, NULL, 0, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_EQUAL(check(crl, ca, time(NULL), 0), DSEC_ERR_CRL_SIG);
    CU_ASSERT_EQUAL(dsec_crl_check_issuer(crl, ca, NULL), DSEC_ERR_CRL_SIG);
    X509_CRL_free(crl);
}

static void test_crl_check_wrong_issuer(void)
{
    X509_CRL *crl = tu_crl(other_ca, other_key, -60, 3600, NULL, 0, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_EQUAL(check(crl, ca, time(NULL), 0), DSEC_ERR_CRL_ISSUER);
    CU_ASSERT_EQUAL(dsec_crl_check_issuer(crl, ca, NULL), DSEC_ERR_CRL_ISSUER);
    /* the same CRL is fine for its real issuer */
    CU_ASSERT_EQUAL(check(crl, other_ca, time(NULL), 0), DSEC_OK);
    X509_CRL_free(crl);
}

static void test_crl_check_delta(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 1);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_EQUAL(check(crl, ca, time(NULL), 0), DSEC_ERR_CRL_DELTA);
    X509_CRL_free(crl);
}

static void test_crl_check_stale(void)
{
    X509_CRL *old = tu_crl(ca, ca_key, -7200, -3600, NULL, 0, 0);
    X509_CRL *good = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 0);
    time_t now = time(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_EQUAL(check(old, ca, now, 0), DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(check(old, ca, now, 1800), DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(check(old, ca, now, 7200), DSEC_OK);
    /* the same through now: a fresh CRL is stale two hours later */
    CU_ASSERT_EQUAL(check(good, ca, now + 7200, 0), DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(check(good, ca, now + 7200, 7200), DSEC_OK);
    X509_CRL_free(old);
    X509_CRL_free(good);
}

static void test_crl_check_no_next_update(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, TU_NO_NEXT_UPDATE, NULL, 0, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_PTR_NULL(X509_CRL_get0_nextUpdate(crl));
    CU_ASSERT_EQUAL(check(crl, ca, time(NULL), 0), DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(check(crl, ca, time(NULL), 86400), DSEC_ERR_CRL_STALE);
    X509_CRL_free(crl);
}

static void test_crl_check_future(void)
{
    X509_CRL *future = tu_crl(ca, ca_key, 86400, 2 * 86400, NULL, 0, 0);
    X509_CRL *skew = tu_crl(ca, ca_key, 100, 3600, NULL, 0, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(future);
    CU_ASSERT_PTR_NOT_NULL_FATAL(skew);
    CU_ASSERT_EQUAL(check(future, ca, time(NULL), 0), DSEC_ERR_CRL_FUTURE);
    /* within the 300 s of allowed clock skew */
    CU_ASSERT_EQUAL(check(skew, ca, time(NULL), 0), DSEC_OK);
    X509_CRL_free(future);
    X509_CRL_free(skew);
}

static void test_crl_next_update(void)
{
    time_t now = time(NULL);
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, NULL, 0, 0);
    X509_CRL *none = tu_crl(ca, ca_key, -60, TU_NO_NEXT_UPDATE, NULL, 0, 0);
    time_t nu;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(none);
    nu = dsec_crl_next_update(crl);
    CU_ASSERT_TRUE(nu >= now + 3600 - 5 && nu <= now + 3600 + 5);
    CU_ASSERT_EQUAL(dsec_crl_next_update(none), (time_t)0);
    X509_CRL_free(crl);
    X509_CRL_free(none);
}

/* ---- the signature before decoding ---- */

/* The candidate signers of a test: a NULL-terminated list. */
static int list_signers(void *arg, const X509_NAME *issuer,
                        STACK_OF(X509) * out)
{
    X509 **v = arg;

    (void)issuer;
    for (; *v != NULL; v++) {
        if (!X509_add_cert(out, *v, X509_ADD_FLAG_UP_REF)) {
            return 0;
        }
    }
    return 1;
}

/* parse_signed of der with the candidates cands (NULL-terminated). */
static dsec_rv signed_by(const unsigned char *der, size_t len, X509 **cands,
                         X509 **which)
{
    X509_CRL *out = NULL;
    X509 *by = NULL;
    DSEC_ERR err = { 0 };
    dsec_rv rv;

    rv = dsec_crl_parse_signed(der, len, list_signers, cands, &out, &by, &err);
    CU_ASSERT_EQUAL(rv == DSEC_OK, out != NULL);
    CU_ASSERT_EQUAL(rv == DSEC_OK, by != NULL);
    X509_CRL_free(out);
    if (which != NULL) {
        *which = by;
    } else {
        X509_free(by);
    }
    return rv;
}

/* One algorithm: a CA of key (signed by ca), a CRL of it signed by key
   with md (NULL: the key's own) and PSS when pss. */
static void one_alg(EVP_PKEY *key, const EVP_MD *md, int pss)
{
    X509 *alg_ca = tu_cert("Alg CA", ca, ca_key, key, 1, NULL, -86400, 86400);
    X509 *impostor =
        tu_cert("Alg CA", ca, ca_key, other_key, 1, NULL, -86400, 86400);
    X509_CRL *crl = tu_crl(alg_ca, ca_key, -60, 3600, &leaf, 1, 0);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    X509 *good[] = { impostor, alg_ca, NULL }, *bad[] = { impostor, NULL };
    X509 *which = NULL;
    unsigned char *der = NULL;
    size_t len = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(alg_ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    CU_ASSERT_TRUE_FATAL(EVP_DigestSignInit(mctx, &pctx, md, NULL, key) > 0);
    if (pss) {
        CU_ASSERT_TRUE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
                       > 0);
        CU_ASSERT_TRUE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0);
    }
    CU_ASSERT_TRUE(X509_CRL_sign_ctx(crl, mctx) > 0);
    der = tu_crl_der(crl, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    CU_ASSERT_EQUAL(signed_by(der, len, good, &which), DSEC_OK);
    CU_ASSERT_PTR_EQUAL(which, alg_ca);
    CU_ASSERT_EQUAL(signed_by(der, len, bad, NULL), DSEC_ERR_CRL_SIG);
    X509_free(which);
    free(der);
    EVP_MD_CTX_free(mctx);
    X509_CRL_free(crl);
    X509_free(alg_ca);
    X509_free(impostor);
}

static void test_crl_preverify_algorithms(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ed);
    one_alg(ca_key, EVP_sha256(), 0); /* ECDSA */
    one_alg(rsa, EVP_sha256(), 0);
    one_alg(rsa, EVP_sha256(), 1); /* RSASSA-PSS */
    one_alg(ed, NULL, 0);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
}

/* Where the last byte of x's serial number lies in der; 0 if nowhere. */
static size_t serial_at(const unsigned char *der, size_t len, X509 *x)
{
    unsigned char *enc = NULL;
    int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &enc);
    size_t i, at = 0;

    for (i = 0; n > 2 && i + (size_t)n <= len; i++) {
        if (memcmp(der + i, enc, (size_t)n) == 0) {
            at = i + (size_t)n - 1;
            break;
        }
    }
    OPENSSL_free(enc);
    return at;
}

/* Tampered, truncated, overlong, indefinite: never decoded, never OK. */
static void test_crl_preverify_malformed(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 3600, &leaf, 1, 0);
    X509 *cands[] = { ca, NULL }, *others[] = { other_ca, NULL };
    static const unsigned char huge[] = { 0x30, 0x84, 0x7f, 0xff,
                                          0xff, 0xff, 0x30, 0x00 };
    static const unsigned char indef[] = { 0x30, 0x80, 0x30, 0x80, 0x02, 0x01,
                                           0x01, 0x00, 0x00, 0x00, 0x00 };
    unsigned char *der = NULL, *bad = NULL;
    size_t len = 0, n, at;
    char *pem = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    der = tu_crl_der(crl, &len);
    pem = tu_crl_pem(crl, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_EQUAL(signed_by(der, len, cands, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(signed_by((unsigned char *)pem, n, cands, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(signed_by(der, len, others, NULL), DSEC_ERR_CRL_ISSUER);
    bad = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    /* the revoked serial changed in the tbsCertList: the structure holds */
    memcpy(bad, der, len);
    at = serial_at(der, len, leaf);
    CU_ASSERT_TRUE_FATAL(at > 0);
    bad[at] ^= 0x01;
    CU_ASSERT_EQUAL(signed_by(bad, len, cands, NULL), DSEC_ERR_CRL_SIG);
    for (n = 0; n < len; n++) {
        CU_ASSERT_NOT_EQUAL(signed_by(der, n, cands, NULL), DSEC_OK);
    }
    memcpy(bad, der, len);
    bad[len] = 0;
    CU_ASSERT_EQUAL(signed_by(bad, len + 1, cands, NULL), DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(signed_by(huge, sizeof(huge), cands, NULL), DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(signed_by(indef, sizeof(indef), cands, NULL),
                    DSEC_ERR_PARSE);
    CU_ASSERT_EQUAL(signed_by((const unsigned char *)"<html>", 6, cands, NULL),
                    DSEC_ERR_PARSE);
    free(bad);
    free(der);
    free(pem);
    X509_CRL_free(crl);
}

/* The one comparison, at the boundary seconds. */
static void test_crl_fresh_boundary(void)
{
    X509_CRL *crl = tu_crl(ca, ca_key, -60, 600, NULL, 0, 0);
    time_t next;
    int stale = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    next = dsec_crl_next_update(crl);
    CU_ASSERT_TRUE(dsec_crl_fresh_at(next, next - 1));
    CU_ASSERT_FALSE(dsec_crl_fresh_at(next, next));
    CU_ASSERT_FALSE(dsec_crl_fresh_at(0, 0));
    CU_ASSERT_FALSE(dsec_crl_stale_at(next, next - 1, 30));
    CU_ASSERT_TRUE(dsec_crl_stale_at(next, next, 30));
    CU_ASSERT_TRUE(dsec_crl_stale_at(next, next + 29, 30));
    CU_ASSERT_FALSE(dsec_crl_stale_at(next, next + 30, 30));
    CU_ASSERT_FALSE(dsec_crl_stale_at(next, next, 0));
    CU_ASSERT_EQUAL(dsec_crl_check_time(crl, next - 1, 0, &stale, NULL),
                    DSEC_OK);
    CU_ASSERT_EQUAL(stale, 0);
    CU_ASSERT_EQUAL(dsec_crl_check_time(crl, next, 0, &stale, NULL),
                    DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(dsec_crl_check_time(crl, next, 30, &stale, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(stale, 1);
    CU_ASSERT_EQUAL(dsec_crl_check_time(crl, next + 30, 30, &stale, NULL),
                    DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(dsec_decide_check_time(crl, next - 1, 0, &stale, NULL),
                    DSEC_OK);
    CU_ASSERT_EQUAL(dsec_decide_check_time(crl, next, 0, &stale, NULL),
                    DSEC_ERR_CRL_STALE);
    CU_ASSERT_EQUAL(dsec_decide_check_time(crl, next + 29, 30, &stale, NULL),
                    DSEC_OK);
    CU_ASSERT_EQUAL(stale, 1);
    CU_ASSERT_EQUAL(dsec_decide_check_time(crl, next + 30, 30, &stale, NULL),
                    DSEC_ERR_CRL_STALE);
    X509_CRL_free(crl);
}

static CU_TestInfo tests[] = {
    { "test_crl_parse_der", test_crl_parse_der },
    { "test_crl_parse_pem", test_crl_parse_pem },
    { "test_crl_parse_rejects", test_crl_parse_rejects },
    { "test_crl_check_good", test_crl_check_good },
    { "test_crl_check_bad_signature", test_crl_check_bad_signature },
    { "test_crl_check_wrong_issuer", test_crl_check_wrong_issuer },
    { "test_crl_check_delta", test_crl_check_delta },
    { "test_crl_check_stale", test_crl_check_stale },
    { "test_crl_check_no_next_update", test_crl_check_no_next_update },
    { "test_crl_check_future", test_crl_check_future },
    { "test_crl_next_update", test_crl_next_update },
    { "test_crl_preverify_algorithms", test_crl_preverify_algorithms },
    { "test_crl_preverify_malformed", test_crl_preverify_malformed },
    { "test_crl_fresh_boundary", test_crl_fresh_boundary },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("crl", suite_init, suite_cleanup, tests);
}
