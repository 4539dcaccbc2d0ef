/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory PKI and file helpers shared by the CUnit suites. Every
 * object is built with public OpenSSL APIs and DER round-tripped before it
 * is returned, so its cached extension data is that of a parsed object.
 */
#include <CUnit/Basic.h>
#include "testutil.h"
#include "domainsec/decide.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

EVP_PKEY *tu_key(void)
{
    return EVP_EC_gen("P-256");
}

static X509 *roundtrip_cert(X509 *x)
{
    unsigned char *der = NULL;
    const unsigned char *p = NULL;
    X509 *out = NULL;
    int len;

    len = i2d_X509(x, &der);
    if (len <= 0) {
        goto done;
    }
    p = der;
    out = d2i_X509(NULL, &p, len);

done:
    OPENSSL_free(der);
    return out;
}

static X509_CRL *roundtrip_crl(X509_CRL *crl)
{
    unsigned char *der = NULL;
    const unsigned char *p = NULL;
    X509_CRL *out = NULL;
    int len;

    len = i2d_X509_CRL(crl, &der);
    if (len <= 0) {
        goto done;
    }
    p = der;
    out = d2i_X509_CRL(NULL, &p, len);

done:
    OPENSSL_free(der);
    return out;
}

static int random_serial(ASN1_INTEGER *serial)
{
    BIGNUM *bn = NULL;
    int ok = 0;

    bn = BN_new();
    if (bn == NULL || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)) {
        goto done;
    }
    ok = BN_to_ASN1_INTEGER(bn, serial) != NULL;

done:
    BN_free(bn);
    return ok;
}

static ASN1_OCTET_STRING *key_id(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ASN1_OCTET_STRING *oct = NULL;

    if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen)) {
        return NULL;
    }
    oct = ASN1_OCTET_STRING_new();
    if (oct == NULL || !ASN1_OCTET_STRING_set(oct, md, (int)mdlen)) {
        ASN1_OCTET_STRING_free(oct);
        return NULL;
    }
    return oct;
}

static AUTHORITY_KEYID *akid_of(const ASN1_OCTET_STRING *kid)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();

    if (akid == NULL || kid == NULL) {
        AUTHORITY_KEYID_free(akid);
        return NULL;
    }
    akid->keyid = ASN1_OCTET_STRING_dup(kid);
    if (akid->keyid == NULL) {
        AUTHORITY_KEYID_free(akid);
        return NULL;
    }
    return akid;
}

X509 *tu_cert_dps(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                  EVP_PKEY *key, int is_ca, const char *const *dps, size_t ndps,
                  long not_before_off, long not_after_off)
{
    tu_dp specs[8];
    tu_cert_spec s;
    time_t now = time(NULL);
    size_t i;

    if (cn == NULL || ndps > sizeof(specs) / sizeof(specs[0])) {
        return NULL;
    }
    memset(specs, 0, sizeof(specs));
    for (i = 0; i < ndps; i++) {
        specs[i].name = dps[i];
    }
    memset(&s, 0, sizeof(s));
    s.subject = cn;
    s.issuer = issuer;
    /* no issuer: self-signed with key */
    s.issuer_key = issuer != NULL ? issuer_key : NULL;
    s.key = key;
    s.is_ca = is_ca;
    s.dps = specs;
    s.ndps = ndps;
    s.not_before = now + not_before_off;
    s.not_after = now + not_after_off;
    return tu_cert_ex(&s);
}

X509 *tu_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key,
              int is_ca, const char *cdp_url, long not_before_off,
              long not_after_off)
{
    const char *dps[1];

    dps[0] = cdp_url;
    return tu_cert_dps(cn, issuer, issuer_key, key, is_ca, dps,
                       cdp_url != NULL ? 1 : 0, not_before_off, not_after_off);
}

X509 *tu_cert_multi_dp(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       EVP_PKEY *key, const char *dp0, const char *dp1)
{
    const char *dps[2];

    dps[0] = dp0;
    dps[1] = dp1;
    return tu_cert_dps(cn, issuer, issuer_key, key, 0, dps, 2, -3600, 86400);
}

X509 *tu_cert_nonuri_dp(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                        EVP_PKEY *key, int relative)
{
    const char *dps[1];

    dps[0] = relative ? "REL:crl-dp" : "DIR:crl-dp";
    return tu_cert_dps(cn, issuer, issuer_key, key, 0, dps, 1, -3600, 86400);
}

X509_CRL *tu_crl(X509 *issuer, EVP_PKEY *issuer_key, long last_off,
                 long next_off, X509 **revoked, int nrevoked, int delta)
{
    static long crl_number = 1;
    X509_CRL *crl = NULL;
    X509_CRL *ret = NULL;
    ASN1_TIME *t = NULL;
    ASN1_INTEGER *num = NULL;
    AUTHORITY_KEYID *akid = NULL;
    X509_REVOKED *rev = NULL;
    time_t now = time(NULL);
    int i;

    if (issuer == NULL || issuer_key == NULL) {
        goto done;
    }
    crl = X509_CRL_new();
    if (crl == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2)
        || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer))) {
        goto done;
    }
    t = ASN1_TIME_adj(NULL, now, 0, last_off);
    if (t == NULL || !X509_CRL_set1_lastUpdate(crl, t)) {
        goto done;
    }
    ASN1_TIME_free(t);
    t = NULL;
    if (next_off != TU_NO_NEXT_UPDATE) {
        t = ASN1_TIME_adj(NULL, now, 0, next_off);
        if (t == NULL || !X509_CRL_set1_nextUpdate(crl, t)) {
            goto done;
        }
        ASN1_TIME_free(t);
        t = NULL;
    }
    for (i = 0; i < nrevoked; i++) {
        rev = X509_REVOKED_new();
        t = ASN1_TIME_adj(NULL, now, 0, last_off);
        if (rev == NULL || t == NULL
            || !X509_REVOKED_set_serialNumber(rev,
                                              X509_get_serialNumber(revoked[i]))
            || !X509_REVOKED_set_revocationDate(rev, t)
            || !X509_CRL_add0_revoked(crl, rev)) {
            goto done;
        }
        rev = NULL;
        ASN1_TIME_free(t);
        t = NULL;
    }
    num = ASN1_INTEGER_new();
    if (num == NULL || !ASN1_INTEGER_set(num, crl_number++)
        || X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1) {
        goto done;
    }
    if (delta) {
        /* base CRL number: any earlier number will do */
        if (!ASN1_INTEGER_set(num, 1)
            || X509_CRL_add1_ext_i2d(crl, NID_delta_crl, num, 1, 0) != 1) {
            goto done;
        }
    }
    akid = akid_of(X509_get0_subject_key_id(issuer));
    if (akid == NULL
        || X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0)
               != 1) {
        goto done;
    }
    if (!X509_CRL_sort(crl)
        || X509_CRL_sign(crl, issuer_key, EVP_sha256()) <= 0) {
        goto done;
    }
    ret = roundtrip_crl(crl);

done:
    X509_CRL_free(crl);
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID_free(akid);
    X509_REVOKED_free(rev);
    return ret;
}

/* Copy a memory BIO's contents into a NUL-terminated malloc'ed buffer. */
static char *bio_take(BIO *bio, size_t *len)
{
    char *data = NULL;
    char *ret = NULL;
    long n;

    n = BIO_get_mem_data(bio, &data);
    if (n <= 0) {
        goto done;
    }
    ret = malloc((size_t)n + 1);
    if (ret == NULL) {
        goto done;
    }
    memcpy(ret, data, (size_t)n);
    ret[n] = '\0';
    if (len != NULL) {
        *len = (size_t)n;
    }

done:
    return ret;
}

unsigned char *tu_crl_der(X509_CRL *crl, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    unsigned char *ret = NULL;

    if (bio == NULL || crl == NULL || !i2d_X509_CRL_bio(bio, crl)) {
        goto done;
    }
    ret = (unsigned char *)bio_take(bio, len);

done:
    BIO_free(bio);
    return ret;
}

char *tu_crl_pem(X509_CRL *crl, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *ret = NULL;

    if (bio == NULL || crl == NULL || !PEM_write_bio_X509_CRL(bio, crl)) {
        goto done;
    }
    ret = bio_take(bio, len);

done:
    BIO_free(bio);
    return ret;
}

unsigned char *tu_cert_der(X509 *cert, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    unsigned char *ret = NULL;

    if (bio == NULL || cert == NULL || !i2d_X509_bio(bio, cert)) {
        goto done;
    }
    ret = (unsigned char *)bio_take(bio, len);

done:
    BIO_free(bio);
    return ret;
}

char *tu_cert_pem(X509 *cert, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *ret = NULL;

    if (bio == NULL || cert == NULL || !PEM_write_bio_X509(bio, cert)) {
        goto done;
    }
    ret = bio_take(bio, len);

done:
    BIO_free(bio);
    return ret;
}

STACK_OF(X509) * tu_chain(X509 *first, ...)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    STACK_OF(X509) *ret = NULL;
    X509 *x = first;
    va_list ap;

    va_start(ap, first);
    if (sk == NULL) {
        goto done;
    }
    while (x != NULL) {
        if (!X509_up_ref(x)) {
            goto done;
        }
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            goto done;
        }
        x = va_arg(ap, X509 *);
    }
    ret = sk;
    sk = NULL;

done:
    va_end(ap);
    sk_X509_pop_free(sk, X509_free);
    return ret;
}

char *tu_tmpdir(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    n = snprintf(buf, len, "%s/dsec-test-XXXXXX", base);
    if (n < 0 || (size_t)n >= len) {
        return NULL;
    }
    return mkdtemp(buf);
}

int tu_rmtree(const char *path)
{
    DIR *d = NULL;
    struct dirent *de;
    char sub[4096];
    int rc = -1;

    d = opendir(path);
    if (d == NULL) {
        goto done;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name)
            >= (int)sizeof(sub)) {
            continue;
        }
        if (unlink(sub) != 0 && (errno == EISDIR || errno == EPERM)) {
            (void)tu_rmtree(sub);
        }
    }
    rc = rmdir(path);

done:
    if (d != NULL) {
        closedir(d);
    }
    return rc;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    int fd = -1;
    int rc = -1;
    ssize_t n;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        goto done;
    }
    n = write(fd, data, len);
    if (n < 0 || (size_t)n != len) {
        goto done;
    }
    rc = 0;

done:
    if (fd >= 0 && close(fd) != 0) {
        rc = -1;
    }
    return rc;
}

int tu_run_suite(const char *name, CU_InitializeFunc init,
                 CU_CleanupFunc cleanup, CU_TestInfo *tests)
{
    CU_pSuite suite;
    int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite(name, init, cleanup);
    if (suite == NULL) {
        CU_cleanup_registry();
        return 1;
    }
    for (; tests->pName != NULL; tests++) {
        if (CU_add_test(suite, tests->pName, tests->pTestFunc) == NULL) {
            CU_cleanup_registry();
            return 1;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    /* read before CU_cleanup_registry, which resets the counts */
    failed = CU_get_number_of_failures() != 0
             || CU_get_number_of_suites_failed() != 0;
    CU_cleanup_registry();
    return failed;
}

/* ---- certificates and CRLs with every extension RFC 5280 6.3.3 reads ---- */

X509_NAME *tu_name(const char *path)
{
    X509_NAME *name = X509_NAME_new();
    const char *p = path;

    if (name == NULL || path == NULL || path[0] == '\0') {
        X509_NAME_free(name);
        return NULL;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        int n = slash != NULL ? (int)(slash - p) : (int)strlen(p);

        /* set 0 and loc -1: every component is an RDN of its own */
        if (n == 0
            || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)p, n, -1,
                                           0)) {
            X509_NAME_free(name);
            return NULL;
        }
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    return name;
}

/* One general name of a tu_general_names list. */
static GENERAL_NAME *general_name(const char *spec, size_t len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    GENERAL_NAME *ret = NULL;
    ASN1_IA5STRING *uri = NULL;
    X509_NAME *dir = NULL;
    char *text = strndup(spec, len);

    if (gn == NULL || text == NULL) {
        goto done;
    }
    if (strncmp(text, "DIR:", 4) == 0) {
        if ((dir = tu_name(text + 4)) == NULL) {
            goto done;
        }
        GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dir);
        dir = NULL;
    } else {
        int nul = strncmp(text, "NUL:", 4) == 0;
        const char *u = strncmp(text, "URI:", 4) == 0 || nul ? text + 4 : text;
        char buf[512];
        size_t ulen = strlen(u);

        /* NUL:<uri>: the URI with an embedded NUL byte (<uri> NUL "x") */
        if (ulen + 2 > sizeof(buf)) {
            goto done;
        }
        memcpy(buf, u, ulen);
        if (nul) {
            buf[ulen++] = '\0';
            buf[ulen++] = 'x';
        }
        uri = ASN1_IA5STRING_new();
        if (uri == NULL || !ASN1_STRING_set(uri, buf, (int)ulen)) {
            goto done;
        }
        GENERAL_NAME_set0_value(gn, GEN_URI, uri);
        uri = NULL;
    }
    ret = gn;
    gn = NULL;

done:
    free(text);
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(uri);
    X509_NAME_free(dir);
    return ret;
}

GENERAL_NAMES *tu_general_names(const char *spec)
{
    GENERAL_NAMES *names = NULL;
    GENERAL_NAME *gn = NULL;
    const char *p = spec;

    if (spec == NULL || spec[0] == '\0'
        || (names = GENERAL_NAMES_new()) == NULL) {
        return NULL;
    }
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);

        gn = general_name(p, n);
        if (gn == NULL || !sk_GENERAL_NAME_push(names, gn)) {
            GENERAL_NAME_free(gn);
            GENERAL_NAMES_free(names);
            return NULL;
        }
        if (bar == NULL) {
            break;
        }
        p = bar + 1;
    }
    return names;
}

/* A DistributionPointName from a tu_dp.name spec (NULL: none). */
static DIST_POINT_NAME *dp_name_of(const char *spec)
{
    DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();
    X509_NAME_ENTRY *ne = NULL;

    if (dpn == NULL) {
        return NULL;
    }
    if (strncmp(spec, "REL:", 4) == 0) {
        dpn->type = 1;
        dpn->name.relativename = sk_X509_NAME_ENTRY_new_null();
        ne = X509_NAME_ENTRY_create_by_txt(NULL, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)spec + 4, -1);
        if (dpn->name.relativename == NULL || ne == NULL
            || !sk_X509_NAME_ENTRY_push(dpn->name.relativename, ne)) {
            X509_NAME_ENTRY_free(ne);
            DIST_POINT_NAME_free(dpn);
            return NULL;
        }
        return dpn;
    }
    dpn->type = 0;
    if ((dpn->name.fullname = tu_general_names(spec)) == NULL) {
        DIST_POINT_NAME_free(dpn);
        return NULL;
    }
    return dpn;
}

/* ReasonFlags (bit i of bits: reason i) as a BIT STRING. */
static ASN1_BIT_STRING *reason_flags(unsigned int bits)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    int i;

    for (i = 1; bs != NULL && i <= 8; i++) {
        if ((bits & (1u << i)) != 0 && !ASN1_BIT_STRING_set_bit(bs, i, 1)) {
            ASN1_BIT_STRING_free(bs);
            bs = NULL;
        }
    }
    return bs;
}

static CRL_DIST_POINTS *dist_points(const tu_dp *dps, size_t n)
{
    CRL_DIST_POINTS *crld = CRL_DIST_POINTS_new();
    DIST_POINT *dp = NULL;
    size_t i;

    for (i = 0; crld != NULL && i < n; i++) {
        if ((dp = DIST_POINT_new()) == NULL) {
            goto fail;
        }
        if (dps[i].name != NULL
            && (dp->distpoint = dp_name_of(dps[i].name)) == NULL) {
            goto fail;
        }
        if (dps[i].reasons != 0
            && (dp->reasons = reason_flags(dps[i].reasons)) == NULL) {
            goto fail;
        }
        if (dps[i].crl_issuer != NULL
            && (dp->CRLissuer = tu_general_names(dps[i].crl_issuer)) == NULL) {
            goto fail;
        }
        if (!sk_DIST_POINT_push(crld, dp)) {
            goto fail;
        }
        dp = NULL;
    }
    return crld;

fail:
    DIST_POINT_free(dp);
    CRL_DIST_POINTS_free(crld);
    return NULL;
}

/* keyUsage from KU_* flags (bit n of the BIT STRING is KU 0x80 >> n). */
static ASN1_BIT_STRING *key_usage_of(int ku)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    int n;

    for (n = 0; bs != NULL && n <= 8; n++) {
        int flag = n < 8 ? 0x80 >> n : KU_DECIPHER_ONLY;

        if ((ku & flag) != 0 && !ASN1_BIT_STRING_set_bit(bs, n, 1)) {
            ASN1_BIT_STRING_free(bs);
            bs = NULL;
        }
    }
    return bs;
}

/* A critical extension of an OID nobody handles, value DER NULL. */
static X509_EXTENSION *unknown_critical_ext(void)
{
    static const unsigned char der_null[] = { 0x05, 0x00 };
    ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.55555.7.1", 1);
    ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;

    if (obj != NULL && oct != NULL
        && ASN1_OCTET_STRING_set(oct, der_null, sizeof(der_null))) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, oct);
    }
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(oct);
    return ext;
}

X509 *tu_cert_ex(const tu_cert_spec *s)
{
    X509 *x = NULL, *ret = NULL;
    X509_NAME *subj = NULL;
    ASN1_OCTET_STRING *skid = NULL;
    AUTHORITY_KEYID *akid = NULL;
    BASIC_CONSTRAINTS *bc = NULL;
    ASN1_BIT_STRING *ku = NULL;
    CRL_DIST_POINTS *crld = NULL;
    EVP_PKEY *signer;
    int kubits;

    if (s == NULL || s->key == NULL || s->subject == NULL) {
        return NULL;
    }
    signer = s->issuer_key != NULL ? s->issuer_key : s->key;
    x = X509_new();
    subj = tu_name(s->subject);
    if (x == NULL || subj == NULL || !X509_set_version(x, X509_VERSION_3)
        || !X509_set_subject_name(x, subj)
        || !X509_set_issuer_name(
            x, s->issuer != NULL ? X509_get_subject_name(s->issuer) : subj)
        || ASN1_TIME_set(X509_getm_notBefore(x), s->not_before) == NULL
        || ASN1_TIME_set(X509_getm_notAfter(x), s->not_after) == NULL
        || !X509_set_pubkey(x, s->key)) {
        goto done;
    }
    if (s->serial > 0 ? !ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial)
                      : !random_serial(X509_get_serialNumber(x))) {
        goto done;
    }
    skid = key_id(x);
    if (skid == NULL
        || X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, 0) != 1) {
        goto done;
    }
    akid =
        akid_of(s->issuer != NULL ? X509_get0_subject_key_id(s->issuer) : skid);
    if (akid == NULL
        || X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0)
               != 1) {
        goto done;
    }
    if ((bc = BASIC_CONSTRAINTS_new()) == NULL) {
        goto done;
    }
    bc->ca = s->is_ca ? 0xFF : 0;
    if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0) != 1) {
        goto done;
    }
    kubits = s->key_usage != 0 ? s->key_usage
                               : (s->is_ca ? KU_KEY_CERT_SIGN | KU_CRL_SIGN
                                           : KU_DIGITAL_SIGNATURE);
    if (kubits != -1
        && ((ku = key_usage_of(kubits)) == NULL
            || X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0) != 1)) {
        goto done;
    }
    if (s->ndps > 0
        && ((crld = dist_points(s->dps, s->ndps)) == NULL
            || X509_add1_ext_i2d(x, NID_crl_distribution_points, crld, 0, 0)
                   != 1)) {
        goto done;
    }
    CRL_DIST_POINTS_free(crld);
    crld = NULL;
    if (s->nfreshest > 0
        && ((crld = dist_points(s->freshest, s->nfreshest)) == NULL
            || X509_add1_ext_i2d(x, NID_freshest_crl, crld, 0, 0) != 1)) {
        goto done;
    }
    if (X509_sign(x, signer, EVP_sha256()) <= 0) {
        goto done;
    }
    ret = roundtrip_cert(x);

done:
    X509_free(x);
    X509_NAME_free(subj);
    ASN1_OCTET_STRING_free(skid);
    AUTHORITY_KEYID_free(akid);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING_free(ku);
    CRL_DIST_POINTS_free(crld);
    return ret;
}

static X509_REVOKED *crl_entry(const tu_crl_entry *e, time_t when)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, when);
    ASN1_ENUMERATED *code = NULL;
    GENERAL_NAMES *gens = NULL;
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    if (rev == NULL || serial == NULL || t == NULL
        || !ASN1_INTEGER_set(serial, e->serial)
        || !X509_REVOKED_set_serialNumber(rev, serial)
        || !X509_REVOKED_set_revocationDate(rev, t)) {
        goto done;
    }
    if (e->reason >= 0
        && ((code = ASN1_ENUMERATED_new()) == NULL
            || !ASN1_ENUMERATED_set(code, e->reason)
            || X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0, 0)
                   != 1)) {
        goto done;
    }
    if (e->cert_issuer != NULL
        && ((gens = tu_general_names(e->cert_issuer)) == NULL
            || X509_REVOKED_add1_ext_i2d(rev, NID_certificate_issuer, gens, 1,
                                         0)
                   != 1)) {
        goto done;
    }
    if (e->unknown_critical
        && ((ext = unknown_critical_ext()) == NULL
            || !X509_REVOKED_add_ext(rev, ext, -1))) {
        goto done;
    }
    ok = 1;

done:
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(t);
    ASN1_ENUMERATED_free(code);
    GENERAL_NAMES_free(gens);
    X509_EXTENSION_free(ext);
    if (!ok) {
        X509_REVOKED_free(rev);
        rev = NULL;
    }
    return rev;
}

X509_CRL *tu_crl_ex(const tu_crl_spec *s)
{
    X509_CRL *crl = NULL, *ret = NULL;
    X509_NAME *iname = NULL;
    ASN1_TIME *t = NULL;
    ASN1_INTEGER *num = NULL;
    AUTHORITY_KEYID *akid = NULL;
    ISSUING_DIST_POINT *idp = NULL;
    CRL_DIST_POINTS *crld = NULL;
    X509_EXTENSION *ext = NULL;
    X509_REVOKED *rev = NULL;
    size_t i;

    if (s == NULL || s->key == NULL || s->issuer == NULL) {
        return NULL;
    }
    crl = X509_CRL_new();
    iname = tu_name(s->issuer);
    if (crl == NULL || iname == NULL
        || !X509_CRL_set_version(crl, X509_CRL_VERSION_2)
        || !X509_CRL_set_issuer_name(crl, iname)
        || (t = ASN1_TIME_set(NULL, s->this_update)) == NULL
        || !X509_CRL_set1_lastUpdate(crl, t)) {
        goto done;
    }
    ASN1_TIME_free(t);
    t = NULL;
    if (s->next_update != 0
        && ((t = ASN1_TIME_set(NULL, s->next_update)) == NULL
            || !X509_CRL_set1_nextUpdate(crl, t))) {
        goto done;
    }
    /* X509_CRL_add0_revoked appends: the DER keeps this order */
    for (i = 0; i < s->nentries; i++) {
        if ((rev = crl_entry(&s->entries[i], s->this_update - 60)) == NULL
            || !X509_CRL_add0_revoked(crl, rev)) {
            goto done;
        }
        rev = NULL;
    }
    if (s->akid != NULL
        && ((akid = akid_of(X509_get0_subject_key_id(s->akid))) == NULL
            || X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
                                     0)
                   != 1)) {
        goto done;
    }
    if ((num = ASN1_INTEGER_new()) == NULL) {
        goto done;
    }
    if (s->number >= 0
        && (!ASN1_INTEGER_set(num, s->number)
            || X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)) {
        goto done;
    }
    if (s->delta_base >= 0
        && (!ASN1_INTEGER_set(num, s->delta_base)
            || X509_CRL_add1_ext_i2d(crl, NID_delta_crl, num, 1, 0) != 1)) {
        goto done;
    }
    if (s->idp) {
        if ((idp = ISSUING_DIST_POINT_new()) == NULL
            || (s->idp_name != NULL
                && (idp->distpoint = dp_name_of(s->idp_name)) == NULL)
            || (s->idp_reasons != 0
                && (idp->onlysomereasons = reason_flags(s->idp_reasons))
                       == NULL)) {
            goto done;
        }
        idp->onlyuser = s->only_user ? 0xFF : 0;
        idp->onlyCA = s->only_ca ? 0xFF : 0;
        idp->onlyattr = s->only_attr ? 0xFF : 0;
        idp->indirectCRL = s->indirect ? 0xFF : 0;
        if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
                                  0)
            != 1) {
            goto done;
        }
    }
    if (s->nfreshest > 0
        && ((crld = dist_points(s->freshest, s->nfreshest)) == NULL
            || X509_CRL_add1_ext_i2d(crl, NID_freshest_crl, crld, 0, 0) != 1)) {
        goto done;
    }
    if (s->unknown_critical
        && ((ext = unknown_critical_ext()) == NULL
            || !X509_CRL_add_ext(crl, ext, -1))) {
        goto done;
    }
    if (X509_CRL_sign(crl, s->key, EVP_sha256()) <= 0) {
        goto done;
    }
    ret = roundtrip_crl(crl);

done:
    X509_CRL_free(crl);
    X509_NAME_free(iname);
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID_free(akid);
    ISSUING_DIST_POINT_free(idp);
    CRL_DIST_POINTS_free(crld);
    X509_EXTENSION_free(ext);
    X509_REVOKED_free(rev);
    return ret;
}

dsec_rv tu_cache_put(dsec_cache *c, const char *url, X509_CRL *x, X509 *issuer)
{
    unsigned char id[32];

    if (issuer == NULL || !dsec_decide_key_id(issuer, id)) {
        return DSEC_ERR_INVALID;
    }
    return dsec_cache_store(c, url, x, id, 1);
}
