/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/crlindex.c and crlindex_read.c: the differential test
 * (random CRLs and serials, entry extensions, removeFromCRL deltas: the
 * index answers as OpenSSL does on the parsed CRL, 1,000,000 lookups),
 * CRLs that must not be indexed, corrupted index files ignored, a
 * skeleton without its index refused by the decision, and an index
 * truncated in place unable to answer (-2).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "domainsec/crlindex.h"
#include "internal.h"
#include "testutil.h"

#define CRLS 40
#define LOOKUPS_PER_CRL 25000 /* 40 x 25,000 = 1,000,000 lookups */

static EVP_PKEY *ca_key;
static X509 *ca;
static char dir[256];
static int dirfd = -1;
static const unsigned char key_id[32] = { 1, 2, 3 };
static unsigned long seed = 12345;

static unsigned long rnd(void)
{
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned long)(seed >> 33);
}

static int suite_init(void)
{
    ca_key = tu_key();
    ca = ca_key != NULL
             ? tu_cert("Index CA", NULL, NULL, ca_key, 1, NULL, -86400, 86400)
             : NULL;
    if (ca == NULL || tu_tmpdir(dir, sizeof(dir)) == NULL) {
        return -1;
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dirfd >= 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
    close(dirfd);
    tu_rmtree(dir);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return 0;
}

/* A random serial: 1..22 bytes, edge leading bytes, sometimes negative. */
static ASN1_INTEGER *random_serial(int maxlen)
{
    unsigned char b[24];
    int n = 1 + (int)(rnd() % (unsigned long)maxlen), i;
    BIGNUM *bn;
    ASN1_INTEGER *s;

    for (i = 0; i < n; i++) {
        b[i] = (unsigned char)rnd();
    }
    switch (rnd() % 5) {
    case 0:
        b[0] = 0x00; /* a leading zero byte: a shorter integer */
        break;
    case 1:
        b[0] = 0x80; /* needs a padding byte in DER */
        break;
    case 2:
        b[0] = 0xff;
        break;
    default:
        break;
    }
    bn = BN_bin2bn(b, n, NULL);
    BN_set_negative(bn, rnd() % 16 == 0);
    s = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return s;
}

static void add_ext(X509_REVOKED *rev, int nid, void *val, int crit)
{
    X509_REVOKED_add1_ext_i2d(rev, nid, val, crit, X509V3_ADD_DEFAULT);
}

/* One entry with random extensions (reason, invalidityDate, hold). */
static X509_REVOKED *random_entry(ASN1_INTEGER *serial, int delta)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)(1600000000 + rnd() % 1000000));
    ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();
    unsigned long pick = rnd() % 8;
    static const int reasons[] = { 0, 1, 2, 3, 4, 5, 6, 9, 10 };

    X509_REVOKED_set_serialNumber(rev, serial);
    X509_REVOKED_set_revocationDate(rev, t);
    if (pick < 3 || (delta && pick == 3)) {
        ASN1_ENUMERATED_set(code, delta && pick == 3 ? 8 : reasons[rnd() % 9]);
        add_ext(rev, NID_crl_reason, code, 0);
    }
    if (pick == 4 || pick == 5) {
        add_ext(rev, NID_invalidity_date, t, 0);
    }
    if (pick == 5) {
        ASN1_OBJECT *hold = OBJ_nid2obj(NID_hold_instruction_reject);

        add_ext(rev, NID_hold_instruction_code, hold, 0);
    }
    ASN1_ENUMERATED_free(code);
    ASN1_TIME_free(t);
    return rev;
}

static void add_crl_ext(X509_CRL *crl, int nid, void *val, int crit)
{
    X509_CRL_add1_ext_i2d(crl, nid, val, crit, X509V3_ADD_DEFAULT);
}

/* Sign crl, then parse its DER: what a fetch would produce. */
static X509_CRL *signed_parsed(X509_CRL *crl)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    X509_CRL *out = NULL;
    int len;

    if (X509_CRL_sort(crl) && X509_CRL_sign(crl, ca_key, EVP_sha256())) {
        len = i2d_X509_CRL(crl, &der);
        p = der;
        out = len > 0 ? d2i_X509_CRL(NULL, &p, len) : NULL;
    }
    OPENSSL_free(der);
    X509_CRL_free(crl);
    return out;
}

/* A random CRL of n entries (serials kept in *serials), maybe a delta. */
static X509_CRL *random_crl(int n, int delta, STACK_OF(ASN1_INTEGER) * serials)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL) - 60);
    ASN1_TIME *nx = ASN1_TIME_set(NULL, time(NULL) + 3600);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int i;

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
    X509_CRL_set1_lastUpdate(crl, t);
    X509_CRL_set1_nextUpdate(crl, nx);
    ASN1_INTEGER_set(num, (long)(rnd() % 100000));
    add_crl_ext(crl, NID_crl_number, num, 0);
    if (delta) {
        add_crl_ext(crl, NID_delta_crl, num, 1);
    }
    if (rnd() % 3 == 0) {
        ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

        idp->onlyuser = 1;
        add_crl_ext(crl, NID_issuing_distribution_point, idp, 1);
        ISSUING_DIST_POINT_free(idp);
    }
    for (i = 0; i < n; i++) {
        ASN1_INTEGER *s = random_serial(20);
        int k;

        for (k = 0; k < sk_ASN1_INTEGER_num(serials); k++) {
            if (ASN1_INTEGER_cmp(sk_ASN1_INTEGER_value(serials, k), s) == 0) {
                break;
            }
        }
        if (k < sk_ASN1_INTEGER_num(serials)) {
            ASN1_INTEGER_free(s); /* no duplicates: see the test below */
            continue;
        }
        X509_CRL_add0_revoked(crl, random_entry(s, delta));
        sk_ASN1_INTEGER_push(serials, s);
    }
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    ASN1_TIME_free(nx);
    return signed_parsed(crl);
}

/* crl's index written as name and opened: the skeleton, or NULL. */
static X509_CRL *indexed(X509_CRL *crl, const char *name)
{
    unsigned char *buf = NULL, id[32];
    size_t len = 0;
    char path[512];
    X509_CRL *skel;

    if (!dsec_crlindex_build(crl, key_id, &buf, &len)) {
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CU_ASSERT_FATAL(tu_write_file(path, buf, len) == 0);
    free(buf);
    skel = dsec_crlindex_open(dirfd, name, id);
    if (skel != NULL) {
        CU_ASSERT(memcmp(id, key_id, 32) == 0);
    }
    return skel;
}

/* The index and OpenSSL agree on serial: listed, reason, date. */
static int agree(X509_CRL *full, X509_CRL *skel, const ASN1_INTEGER *serial)
{
    X509_REVOKED *rev = NULL;
    ASN1_ENUMERATED *code;
    int want = X509_CRL_get0_by_serial(full, &rev, serial), reason = -7;
    int want_reason = -1;
    time_t when = 0, want_when = 0;
    int got = dsec_crlindex_lookup_serial(skel, serial, &reason, &when);

    if (got != want) {
        return 0;
    }
    if (want == 0) {
        return 1;
    }
    code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
    if (code != NULL) {
        want_reason = (int)ASN1_ENUMERATED_get(code);
    }
    ASN1_ENUMERATED_free(code);
    dsec_time_of(X509_REVOKED_get0_revocationDate(rev), &want_when);
    return reason == want_reason && when == want_when;
}

static void test_differential(void)
{
    long lookups = 0, listed = 0, removed = 0, bad = 0;
    int c;

    for (c = 0; c < CRLS; c++) {
        STACK_OF(ASN1_INTEGER) *serials = sk_ASN1_INTEGER_new_null();
        int n = c == 0 ? 0 : (int)(rnd() % 4000), delta = c % 4 == 3, i;
        X509_CRL *full = random_crl(n, delta, serials), *skel;
        char name[32];

        CU_ASSERT_FATAL(full != NULL);
        snprintf(name, sizeof(name), "diff%d.idx", c);
        skel = indexed(full, name);
        CU_ASSERT_FATAL(skel != NULL);
        CU_ASSERT(dsec_crlindex_attached(skel));
        CU_ASSERT(dsec_crlindex_count(skel)
                  == (size_t)sk_ASN1_INTEGER_num(serials));
        CU_ASSERT(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(skel)) <= 0);
        CU_ASSERT(
            X509_NAME_cmp(X509_CRL_get_issuer(skel), X509_CRL_get_issuer(full))
            == 0);
        CU_ASSERT(dsec_decide_is_delta(skel) == delta);
        for (i = 0; i < LOOKUPS_PER_CRL; i++) {
            ASN1_INTEGER *s;
            int present = sk_ASN1_INTEGER_num(serials) > 0 && rnd() % 2 == 0;
            int r;

            s = present ? ASN1_INTEGER_dup(sk_ASN1_INTEGER_value(
                    serials,
                    (int)(rnd() % (unsigned long)sk_ASN1_INTEGER_num(serials))))
                        : random_serial(22);
            r = dsec_crlindex_lookup_serial(skel, s, NULL, NULL);
            listed += r == 1;
            removed += r == 2;
            bad += !agree(full, skel, s);
            lookups++;
            ASN1_INTEGER_free(s);
        }
        sk_ASN1_INTEGER_pop_free(serials, ASN1_INTEGER_free);
        X509_CRL_free(skel);
        X509_CRL_free(full);
    }
    printf("\n    %ld lookups: %ld listed, %ld removeFromCRL, %ld differ\n",
           lookups, listed, removed, bad);
    CU_ASSERT(lookups == 1000000);
    CU_ASSERT(bad == 0);
    CU_ASSERT(listed > 100000);
    CU_ASSERT(removed > 1000);
}

/* A CRL of one entry as set_up makes it: not indexable. */
static void expect_no_index(void (*set_up)(X509_CRL *crl, X509_REVOKED *rev))
{
    STACK_OF(ASN1_INTEGER) *serials = sk_ASN1_INTEGER_new_null();
    X509_CRL *crl = random_crl(5, 0, serials), *mod, *skel;
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    unsigned char *buf = NULL;
    size_t len = 0;

    CU_ASSERT_FATAL(crl != NULL);
    mod = X509_CRL_dup(crl);
    ASN1_INTEGER_set(s, 77);
    X509_REVOKED_set_serialNumber(rev, s);
    {
        ASN1_TIME *t = ASN1_TIME_set(NULL, 1600000000);

        X509_REVOKED_set_revocationDate(rev, t);
        ASN1_TIME_free(t);
    }
    set_up(mod, rev);
    X509_CRL_add0_revoked(mod, rev);
    i2d_re_X509_CRL_tbs(mod, NULL);
    mod = signed_parsed(mod);
    CU_ASSERT_FATAL(mod != NULL);
    CU_ASSERT(dsec_crlindex_build(mod, key_id, &buf, &len) == 0);
    CU_ASSERT(buf == NULL);
    /* the same CRL without that entry is indexable */
    skel = indexed(crl, "plain.idx");
    CU_ASSERT(skel != NULL);
    X509_CRL_free(skel);
    X509_CRL_free(mod);
    X509_CRL_free(crl);
    ASN1_INTEGER_free(s);
    sk_ASN1_INTEGER_pop_free(serials, ASN1_INTEGER_free);
}

static void with_cert_issuer(X509_CRL *crl, X509_REVOKED *rev)
{
    GENERAL_NAMES *gens = tu_general_names("DIR:Other CA");

    (void)crl;
    add_ext(rev, NID_certificate_issuer, gens, 1);
    GENERAL_NAMES_free(gens);
}

static void with_critical_entry_ext(X509_CRL *crl, X509_REVOKED *rev)
{
    ASN1_TIME *t = ASN1_TIME_set(NULL, 1600000000);

    (void)crl;
    add_ext(rev, NID_invalidity_date, t, 1);
    ASN1_TIME_free(t);
}

static void with_long_serial(X509_CRL *crl, X509_REVOKED *rev)
{
    ASN1_INTEGER *s = random_serial(1);
    unsigned char b[22];

    (void)crl;
    memset(b, 0x5a, sizeof(b));
    ASN1_STRING_set(s, b, sizeof(b)); /* 22 bytes: more than a record */
    X509_REVOKED_set_serialNumber(rev, s);
    ASN1_INTEGER_free(s);
}

static void with_duplicate(X509_CRL *crl, X509_REVOKED *rev)
{
    X509_REVOKED *twin = X509_REVOKED_dup(rev);

    X509_CRL_add0_revoked(crl, twin);
}

static void test_not_indexed(void)
{
    expect_no_index(with_cert_issuer);
    expect_no_index(with_critical_entry_ext);
    expect_no_index(with_long_serial);
    expect_no_index(with_duplicate);
}

/* The index of a small CRL, damaged by damage, is ignored. */
static void expect_ignored(const char *name,
                           void (*damage)(unsigned char *buf, size_t *len))
{
    STACK_OF(ASN1_INTEGER) *serials = sk_ASN1_INTEGER_new_null();
    X509_CRL *crl = random_crl(50, 0, serials);
    unsigned char *buf = NULL, id[32];
    size_t len = 0;
    char path[512];

    CU_ASSERT_FATAL(dsec_crlindex_build(crl, key_id, &buf, &len) == 1);
    damage(buf, &len);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CU_ASSERT_FATAL(tu_write_file(path, buf, len) == 0);
    CU_ASSERT(dsec_crlindex_open(dirfd, name, id) == NULL);
    free(buf);
    X509_CRL_free(crl);
    sk_ASN1_INTEGER_pop_free(serials, ASN1_INTEGER_free);
}

static void truncated(unsigned char *buf, size_t *len)
{
    (void)buf;
    *len -= 5;
}

static void header_only(unsigned char *buf, size_t *len)
{
    (void)buf;
    *len = 100;
}

static void count_overflow(unsigned char *buf, size_t *len)
{
    (void)len;
    memset(buf + DSEC_CRLINDEX_HDR_COUNT, 0xff, 8);
}

static void skeleton_too_long(unsigned char *buf, size_t *len)
{
    (void)len;
    buf[DSEC_CRLINDEX_HDR_SKEL] = 0x7f;
}

static void skeleton_shorter(unsigned char *buf, size_t *len)
{
    (void)len;
    buf[DSEC_CRLINDEX_HDR_SKEL + 3] ^= 0x08;
}

static void magic_flipped(unsigned char *buf, size_t *len)
{
    (void)len;
    buf[3] ^= 1;
}

static void next_update_differs(unsigned char *buf, size_t *len)
{
    (void)len;
    buf[DSEC_CRLINDEX_HDR_NEXT + 7] ^= 1;
}

static void skeleton_byte_flipped(unsigned char *buf, size_t *len)
{
    (void)len;
    buf[DSEC_CRLINDEX_HDR_SIZE + 1] ^= 0x40;
}

static void test_corrupted(void)
{
    expect_ignored("c1.idx", truncated);
    expect_ignored("c2.idx", header_only);
    expect_ignored("c3.idx", count_overflow);
    expect_ignored("c4.idx", skeleton_too_long);
    expect_ignored("c5.idx", skeleton_shorter);
    expect_ignored("c6.idx", magic_flipped);
    expect_ignored("c7.idx", next_update_differs);
    expect_ignored("c8.idx", skeleton_byte_flipped);
    CU_ASSERT(dsec_crlindex_open(dirfd, "absent.idx", (unsigned char[32]) { 0 })
              == NULL);
}

/*
 * A skeleton that lost its index (decoded again from its DER) is refused:
 * its marker is an unhandled critical extension for the decision and for
 * OpenSSL; one with its index passes and is looked up by certificate.
 */
static void test_skeleton_fails_closed(void)
{
    STACK_OF(ASN1_INTEGER) *serials = sk_ASN1_INTEGER_new_null();
    X509_CRL *crl = random_crl(30, 0, serials), *skel, *copy;
    X509 *leaf, *stranger;
    EVP_PKEY *k = tu_key();
    tu_cert_spec spec;
    int reason = -5;

    skel = indexed(crl, "skel.idx");
    CU_ASSERT_FATAL(skel != NULL);
    CU_ASSERT(dsec_decide_critical_ok(skel) == 1);
    copy = X509_CRL_dup(skel);
    CU_ASSERT_FATAL(copy != NULL);
    CU_ASSERT(!dsec_crlindex_attached(copy));
    CU_ASSERT(dsec_decide_critical_ok(copy) == 0);
    /* OpenSSL's own CRL checks reject an unknown critical extension */
    CU_ASSERT(X509_EXTENSION_get_critical(X509_CRL_get_ext(
        copy, X509_CRL_get_ext_by_OBJ(copy, dsec_crlindex_marker(), -1))));
    CU_ASSERT(dsec_crl_verify(skel, ca) == 0);
    /* a certificate listed (serial 77 is not random: add it) */
    memset(&spec, 0, sizeof(spec));
    spec.subject = "Leaf";
    spec.issuer = ca;
    spec.issuer_key = ca_key;
    spec.key = k;
    spec.serial = 4242;
    spec.not_before = time(NULL) - 60;
    spec.not_after = time(NULL) + 3600;
    leaf = tu_cert_ex(&spec);
    spec.issuer = NULL;
    spec.issuer_key = NULL;
    spec.subject = "Index CA";
    stranger = tu_cert_ex(&spec); /* self-issued: the issuer name differs? */
    CU_ASSERT(dsec_crlindex_lookup(skel, leaf, &reason)
              == dsec_crlindex_lookup(crl, leaf, &reason));
    CU_ASSERT(dsec_crlindex_lookup(skel, stranger, NULL)
              == dsec_crlindex_lookup(crl, stranger, NULL));
    X509_free(leaf);
    X509_free(stranger);
    EVP_PKEY_free(k);
    X509_CRL_free(copy);
    X509_CRL_free(skel);
    X509_CRL_free(crl);
    sk_ASN1_INTEGER_pop_free(serials, ASN1_INTEGER_free);
}

/* n entries indexed in "name", then the file truncated in place after it
   was opened: what the lookups of an absent and of a listed serial give. */
static void truncate_after_open(int n, const char *name, int *absent_rc,
                                int *listed_rc)
{
    STACK_OF(ASN1_INTEGER) *serials = sk_ASN1_INTEGER_new_null();
    X509_CRL *crl = random_crl(n, 0, serials), *skel;
    ASN1_INTEGER *absent = ASN1_INTEGER_new();
    char path[512];

    long v = 1;
    int k;

    /* a small serial none of the n entries has */
    for (k = 0; k < sk_ASN1_INTEGER_num(serials); k++) {
        ASN1_INTEGER_set(absent, v);
        if (ASN1_INTEGER_cmp(sk_ASN1_INTEGER_value(serials, k), absent) == 0) {
            v++;
            k = -1;
        }
    }
    ASN1_INTEGER_set(absent, v);
    skel = indexed(crl, name);
    CU_ASSERT_FATAL(skel != NULL);
    CU_ASSERT(dsec_crlindex_lookup_serial(skel, absent, NULL, NULL) == 0);
    CU_ASSERT(dsec_crlindex_lookup_serial(
                  skel, sk_ASN1_INTEGER_value(serials, 0), NULL, NULL)
              == 1);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CU_ASSERT_FATAL(truncate(path, DSEC_CRLINDEX_HDR_SIZE) == 0);
    *absent_rc = dsec_crlindex_lookup_serial(skel, absent, NULL, NULL);
    *listed_rc = dsec_crlindex_lookup_serial(
        skel, sk_ASN1_INTEGER_value(serials, 0), NULL, NULL);
    ASN1_INTEGER_free(absent);
    X509_CRL_free(skel);
    X509_CRL_free(crl);
    sk_ASN1_INTEGER_pop_free(serials, ASN1_INTEGER_free);
}

/* An index truncated in place after it was opened. A large one, read with
   pread on every lookup, cannot answer any more (-2: the decision makes the
   CRL unusable, a transient failure, never a "not listed"); a small one
   (under 256 KiB of records: 500 entries) was read into memory when it was
   opened and answers as the file did then, listed still listed. */
static void test_truncated_in_place(void)
{
    int absent_rc = 99, listed_rc = 99;

    truncate_after_open(9000, "shrinks-large.idx", &absent_rc, &listed_rc);
    CU_ASSERT(absent_rc == -2);
    CU_ASSERT(listed_rc == -2);
    truncate_after_open(500, "shrinks-small.idx", &absent_rc, &listed_rc);
    CU_ASSERT(absent_rc == 0);
    CU_ASSERT(listed_rc == 1);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "differential: 1,000,000 lookups", test_differential },
        { "CRLs that must not be indexed", test_not_indexed },
        { "corrupted index files are ignored", test_corrupted },
        { "a skeleton without its index fails closed",
          test_skeleton_fails_closed },
        { "an index truncated in place fails closed", test_truncated_in_place },
        CU_TEST_INFO_NULL,
    };

    return tu_run_suite("crlindex", suite_init, suite_cleanup, tests);
}
