/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/decide.c, the revocation decision for one link of a
 * chain (RFC 5280 section 6.3.3 and the rules of decide.h).
 *
 * First targeted cases, one or a few per rule, each asserting the status,
 * the return code, the verify error and the reason. Then a differential
 * test: a reference decision written from the RFC text over an abstract
 * model of a small PKI (which name issued a CRL with which key, what it
 * lists, its scope, numbers and times, where it came from), thousands of
 * seeded random models built as real DER and decided by both. On the subset
 * where plain OpenSSL is a trustworthy oracle (one direct complete CRL, no
 * delta, no partition) X509_verify_cert checks the reference too.
 *
 * Reproduce a differential case with DSEC_DECIDE_SEED (default 0xdec1de),
 * DSEC_DECIDE_CASES (default 3000) and DSEC_DECIDE_ONLY=<case index>;
 * DSEC_DECIDE_SHOW=<n> describes the first n mismatches of each kind.
 * Everything runs at a fixed verification time with keys made once.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "domainsec/decide.h"
#include "testutil.h"

#define NOW ((time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define DAY 86400L
#define ALL DSEC_REASONS_ALL
#define SUBJECT_SERIAL 0x5ec0L

#define CN_CA "Decide CA"
#define CN_IND "Decide CRL Issuer"
#define CN_OTHER "Decide Other CA"
#define CN_ROOT "Decide Root"
#define CN_SUBJECT "Decide Subject"
#define DELTA_URL "http://crl.example/delta.crl"

/* RFC 5280 5.3.1 CRLReason */
#define R_UNSPECIFIED 0
#define R_KEY_COMPROMISE 1
#define R_SUPERSEDED 4
#define R_HOLD 6
#define R_REMOVE 8

/* ReasonFlags bits (RFC 5280 4.2.1.13), bit i for reason i */
#define RF(i) (1u << (i))

/*
 * The keys, and one CRL-signing certificate per key (all issued by the
 * root): the link's issuer (K_CA), a rolled-over key of the same CA name
 * (K_OLD), a separate CRL-signing key of that name (K_CRLS), one whose
 * keyUsage lacks cRLSign (K_NOKU), one without keyUsage (K_NOEXT), the
 * indirect CRL issuer (K_IND), an unrelated CA (K_OTHER) and a key of the
 * CA's name that nobody validates (K_BAD).
 */
enum {
    K_CA,
    K_OLD,
    K_CRLS,
    K_NOKU,
    K_NOEXT,
    K_IND,
    K_OTHER,
    K_BAD,
    K_SIGNERS, /* keys above have a certificate */
    K_LEAF = K_SIGNERS,
    K_ROOT,
    K_COUNT
};

/* the names of the model */
enum { N_CA, N_IND, N_OTHER, N_COUNT };

static const char *const model_cn[N_COUNT] = { CN_CA, CN_IND, CN_OTHER };
static const int key_name[K_SIGNERS] = { N_CA, N_CA,  N_CA,    N_CA,
                                         N_CA, N_IND, N_OTHER, N_CA };
static const char *const key_label[K_SIGNERS] = {
    "ca",  "ca-old", "ca-crlsign", "ca-no-crlsign", "ca-no-keyusage",
    "ind", "other",  "bad"
};

static EVP_PKEY *keys[K_COUNT];
static X509 *root;
static X509 *signer_cert[K_SIGNERS];
static X509 *ca; /* signer_cert[K_CA], the link's issuer */

static int suite_init(void)
{
    tu_cert_spec s;
    int k;

    for (k = 0; k < K_COUNT; k++) {
        if ((keys[k] = tu_key()) == NULL) {
            return -1;
        }
    }
    memset(&s, 0, sizeof(s));
    s.subject = CN_ROOT;
    s.key = keys[K_ROOT];
    s.serial = 1;
    s.is_ca = 1;
    s.not_before = NOW - 3650 * DAY;
    s.not_after = NOW + 3650 * DAY;
    if ((root = tu_cert_ex(&s)) == NULL) {
        return -1;
    }
    for (k = 0; k < K_SIGNERS; k++) {
        memset(&s, 0, sizeof(s));
        s.subject = model_cn[key_name[k]];
        s.issuer = root;
        s.issuer_key = keys[K_ROOT];
        s.key = keys[k];
        s.serial = 100 + k;
        s.is_ca = k == K_CA || k == K_OLD || k == K_OTHER || k == K_BAD;
        s.key_usage = k == K_CRLS || k == K_IND ? KU_CRL_SIGN
                      : k == K_NOKU             ? KU_DIGITAL_SIGNATURE
                      : k == K_NOEXT            ? -1
                                                : 0;
        s.not_before = NOW - 3000 * DAY;
        s.not_after = NOW + 3000 * DAY;
        if ((signer_cert[k] = tu_cert_ex(&s)) == NULL) {
            return -1;
        }
    }
    ca = signer_cert[K_CA];
    return 0;
}

static void cert_cache_clear(void);

static int suite_cleanup(void)
{
    int k;

    cert_cache_clear(); /* after a fatal assertion in a differential test */
    for (k = 0; k < K_SIGNERS; k++) {
        X509_free(signer_cert[k]);
    }
    X509_free(root);
    for (k = 0; k < K_COUNT; k++) {
        EVP_PKEY_free(keys[k]);
    }
    return 0;
}

/* ---- helpers of the targeted cases ---- */

/* The validated CRL signers of a link: a dsec_signer_fn over a list. */
typedef struct {
    X509 *v[K_SIGNERS];
    int n;
} signer_list;

static dsec_rv list_signer(void *arg, const dsec_crl_in *c, X509 **signer,
                           DSEC_ERR *err)
{
    const signer_list *l = arg;
    DSEC_ERR best = { 0 };
    int i;

    for (i = 0; i < l->n; i++) {
        DSEC_ERR e = { 0 };

        if (dsec_decide_signed_by(l->v[i], c, &e)) {
            *signer = l->v[i];
            return DSEC_OK;
        }
        if (best.rv == DSEC_OK || e.rv == DSEC_ERR_CRL_SIG) {
            best = e;
        }
    }
    return dsec_err_set(
        err, best.rv != DSEC_OK ? best.rv : DSEC_ERR_CRL_SIGNER, 0, "%s",
        best.rv != DSEC_OK ? best.msg : "no validated CRL signer");
}

/* A subject certificate issued by the CA (serial SUBJECT_SERIAL). */
static X509 *subject_cert(const tu_dp *dps, size_t ndps, int is_ca,
                          int freshest)
{
    static const tu_dp delta_dp = { DELTA_URL, 0, NULL };
    tu_cert_spec s;
    X509 *x;

    memset(&s, 0, sizeof(s));
    s.subject = CN_SUBJECT;
    s.issuer = ca;
    s.issuer_key = keys[K_CA];
    s.key = keys[K_LEAF];
    s.serial = SUBJECT_SERIAL;
    s.is_ca = is_ca;
    s.dps = dps;
    s.ndps = ndps;
    s.freshest = freshest ? &delta_dp : NULL;
    s.nfreshest = freshest ? 1 : 0;
    s.not_before = NOW - 30 * DAY;
    s.not_after = NOW + 365 * DAY;
    x = tu_cert_ex(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    return x;
}

static const tu_dp plain_dp = { "http://crl.example/ca.crl", 0, NULL };

/* One DP, a URI: the plain subject of most cases. */
static X509 *plain_subject(void)
{
    return subject_cert(&plain_dp, 1, 0, 0);
}

/* A complete CRL of the CA, signed by it, valid [NOW - 1 h, NOW + 1 d]. */
static tu_crl_spec ca_crl(long number)
{
    tu_crl_spec s;

    memset(&s, 0, sizeof(s));
    s.issuer = CN_CA;
    s.key = keys[K_CA];
    s.akid = ca;
    s.this_update = NOW - 3600;
    s.next_update = NOW + DAY;
    s.number = number;
    s.delta_base = -1;
    return s;
}

/* A delta of base number `base`, numbered `number`, otherwise as ca_crl. */
static tu_crl_spec ca_delta(long base, long number)
{
    tu_crl_spec s = ca_crl(number);

    s.delta_base = base;
    s.this_update = NOW - 600;
    return s;
}

/* The one entry listing the subject with reason (-1: no reasonCode). */
static const tu_crl_entry *listing(int reason)
{
    static const tu_crl_entry e[] = {
        { SUBJECT_SERIAL, -1, NULL, 0 }, { SUBJECT_SERIAL, 0, NULL, 0 },
        { SUBJECT_SERIAL, 1, NULL, 0 },  { SUBJECT_SERIAL, 2, NULL, 0 },
        { SUBJECT_SERIAL, 3, NULL, 0 },  { SUBJECT_SERIAL, 4, NULL, 0 },
        { SUBJECT_SERIAL, 5, NULL, 0 },  { SUBJECT_SERIAL, 6, NULL, 0 },
        { SUBJECT_SERIAL, 7, NULL, 0 },  { SUBJECT_SERIAL, 8, NULL, 0 },
    };

    CU_ASSERT_FATAL(reason >= -1 && reason <= 8);
    return &e[reason + 1];
}

/* Append the CRL of spec to set (fetched from dp, -1: host); its index. */
static size_t add_crl(dsec_crl_set *set, const tu_crl_spec *spec, int dp)
{
    X509_CRL *crl = tu_crl_ex(spec);
    char src[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    snprintf(src, sizeof(src), "http://crl.example/%zu.crl", set->n);
    CU_ASSERT_FATAL(dsec_crl_set_add(set, crl, dp, NULL, dp < 0 ? NULL : src)
                    == 1);
    X509_CRL_free(crl);
    return set->n - 1;
}

static void init_link(dsec_link *link, X509 *cert, dsec_delta_mode mode,
                      long grace)
{
    memset(link, 0, sizeof(*link));
    link->cert = cert;
    link->issuer = ca;
    link->now = NOW;
    link->grace = grace;
    link->delta = mode;
    link->signer = dsec_decide_direct_signer;
    link->arg = link;
}

/* dsec_decide with the direct signer (the CA itself). */
static void decide(X509 *cert, const dsec_crl_set *set, dsec_delta_mode mode,
                   long grace, dsec_decision *out)
{
    dsec_link link;

    init_link(&link, cert, mode, grace);
    dsec_decide(&link, set, out);
}

/* dsec_decide with the certificates of keys kmask validated as signers. */
static void decide_signers(X509 *cert, const dsec_crl_set *set,
                           unsigned int kmask, dsec_decision *out)
{
    dsec_link link;
    signer_list l;
    int k;

    memset(&l, 0, sizeof(l));
    for (k = 0; k < K_SIGNERS; k++) {
        if ((kmask & (1u << k)) != 0) {
            l.v[l.n++] = signer_cert[k];
        }
    }
    init_link(&link, cert, DSEC_DELTA_IF_AVAILABLE, 0);
    link.signer = list_signer;
    link.arg = &l;
    dsec_decide(&link, set, out);
}

/* Assert a decision's status, rv, verify error and reason, saying all. */
static void expect_at(const dsec_decision *d, dsec_status st, dsec_rv rv,
                      int x509_err, int reason, unsigned int line)
{
    char msg[600];
    int ok = d->status == st && d->rv == rv && d->x509_err == x509_err
             && d->reason == reason;

    snprintf(msg, sizeof(msg),
             "got %s/%s/verify error %d/reason %d (%s), expected "
             "%s/%s/verify error %d/reason %d",
             dsec_decide_status_name(d->status), dsec_rv_name(d->rv),
             d->x509_err, d->reason, d->why, dsec_decide_status_name(st),
             dsec_rv_name(rv), x509_err, reason);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, __FILE__, "",
                            CU_FALSE);
}

/*
 * decide.h (DESIGN.md section 5): an unknown's verify error is
 * CRL_HAS_EXPIRED for a stale CRL, CRL_SIGNATURE_FAILURE for a signature
 * that fails with its issuer's key, UNABLE_TO_GET_CRL for everything else
 * (scope, critical extensions, thisUpdate in the future, no signer).
 */
#define EXPECT(d, st, rv, x509_err, reason) \
    expect_at(&(d), st, rv, x509_err, reason, __LINE__)
#define EXPECT_GOOD(d) EXPECT(d, DSEC_STATUS_GOOD, DSEC_OK, X509_V_OK, -1)
#define EXPECT_REVOKED(d, reason) \
    EXPECT(d, DSEC_STATUS_REVOKED, DSEC_OK, X509_V_ERR_CERT_REVOKED, reason)
#define EXPECT_UNKNOWN(d, rv, x509_err) \
    EXPECT(d, DSEC_STATUS_UNKNOWN, rv, x509_err, -1)

/* ---- targeted cases ---- */

static void test_decide_good(void)
{
    static const tu_crl_entry others[] = { { 7, R_KEY_COMPROMISE, NULL, 0 },
                                           { 9, -1, NULL, 0 } };
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;
    size_t i;

    s.entries = others;
    s.nentries = 2;
    i = add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_EQUAL(d.reasons, ALL);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[i]);
    CU_ASSERT_PTR_NULL(d.delta);
    CU_ASSERT_PTR_EQUAL(d.signer, ca);
    CU_ASSERT_EQUAL(d.stale, 0);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_revoked(void)
{
    static const int reasons[] = { R_KEY_COMPROMISE, R_HOLD, R_SUPERSEDED,
                                   R_UNSPECIFIED, -1 };
    X509 *cert = plain_subject();
    size_t r;

    for (r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
        dsec_crl_set set = { 0 };
        tu_crl_spec s = ca_crl(10);
        dsec_decision d;
        size_t i;

        s.entries = listing(reasons[r]);
        s.nentries = 1;
        i = add_crl(&set, &s, 0);
        decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
        /* no reasonCode: unspecified (RFC 5280 6.3.3 (i)(2)) */
        EXPECT_REVOKED(d, reasons[r] < 0 ? R_UNSPECIFIED : reasons[r]);
        CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[i]);
        CU_ASSERT_PTR_EQUAL(d.signer, ca);
        dsec_crl_set_clear(&set);
    }
    X509_free(cert);
}

static void test_decide_no_crl(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    dsec_decision d;

    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_NO_CRL, X509_V_ERR_UNABLE_TO_GET_CRL);
    CU_ASSERT_PTR_NULL(d.decided_by);
    CU_ASSERT_PTR_NULL(d.signer);
    CU_ASSERT_EQUAL(d.reasons, 0);
    decide(cert, NULL, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_NO_CRL, X509_V_ERR_UNABLE_TO_GET_CRL);
    X509_free(cert);
}

static void test_decide_only_delta(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_delta(9, 10);
    dsec_decision d;

    add_crl(&set, &s, 0);
    add_crl(&set, &s, -1);
    decide(cert, &set, DSEC_DELTA_IF_AVAILABLE, 0, &d);
    /* a delta is never a substitute for a complete CRL (RFC 5280 5.2.4) */
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_DELTA, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_other_issuer(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.issuer = CN_OTHER;
    s.key = keys[K_OTHER];
    s.akid = signer_cert[K_OTHER];
    s.entries = listing(R_KEY_COMPROMISE);
    s.nentries = 1;
    add_crl(&set, &s, 0);
    add_crl(&set, &s, -1);
    decide_signers(cert, &set, 1u << K_CA | 1u << K_OTHER, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_ISSUER, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_other_key(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    /* the CA's name and AKID, another key's signature */
    s.key = keys[K_BAD];
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SIG, X509_V_ERR_CRL_SIGNATURE_FAILURE);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[0]);
    CU_ASSERT_PTR_NULL(d.signer);
    dsec_crl_set_clear(&set);

    /* an AKID naming another key: no signer fits */
    s.key = keys[K_OLD];
    s.akid = signer_cert[K_OLD];
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SIGNER, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_signers(void)
{
    X509 *cert = plain_subject();
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    /* key rollover: the CA's old key signs, its old certificate is
       validated */
    s.key = keys[K_OLD];
    s.akid = signer_cert[K_OLD];
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, 1u << K_CA, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SIGNER, X509_V_ERR_UNABLE_TO_GET_CRL);
    decide_signers(cert, &set, 1u << K_CA | 1u << K_OLD, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.signer, signer_cert[K_OLD]);
    dsec_crl_set_clear(&set);

    /* a separate CRL-signing key of the CA's name */
    s.key = keys[K_CRLS];
    s.akid = signer_cert[K_CRLS];
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, 1u << K_CA | 1u << K_CRLS, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    /* a keyUsage without cRLSign (6.3.3 (f)); none at all is fine */
    s.key = keys[K_NOKU];
    s.akid = signer_cert[K_NOKU];
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, 1u << K_CA | 1u << K_NOKU, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SIGNER, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    s.key = keys[K_NOEXT];
    s.akid = signer_cert[K_NOEXT];
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, 1u << K_NOEXT, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    /* no AKID: the signer is whichever validated key verifies it */
    s.key = keys[K_OLD];
    s.akid = NULL;
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, 1u << K_CA | 1u << K_OLD, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.signer, signer_cert[K_OLD]);
    decide_signers(cert, &set, 1u << K_CA, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SIG, X509_V_ERR_CRL_SIGNATURE_FAILURE);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_stale(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.next_update = NOW - 1;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_STALE, X509_V_ERR_CRL_HAS_EXPIRED);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[0]);
    dsec_crl_set_clear(&set);

    /* nextUpdate == now is past it already: now < nextUpdate */
    s.next_update = NOW;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_STALE, X509_V_ERR_CRL_HAS_EXPIRED);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_stale_grace(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.next_update = NOW - 60;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 3600, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_EQUAL(d.stale, 1);
    dsec_crl_set_clear(&set);

    /* still served while now < nextUpdate + grace, no longer at it */
    s.next_update = NOW - 3599;
    s.entries = listing(R_HOLD);
    s.nentries = 1;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 3600, &d);
    EXPECT_REVOKED(d, R_HOLD);
    CU_ASSERT_EQUAL(d.stale, 1);
    dsec_crl_set_clear(&set);
    s.next_update = NOW - 3600;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 3600, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_STALE, X509_V_ERR_CRL_HAS_EXPIRED);
    dsec_crl_set_clear(&set);

    /* a fresh CRL is not stale */
    s = ca_crl(11);
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 3600, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_EQUAL(d.stale, 0);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_future(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.this_update = NOW + 301;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_FUTURE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);

    /* 300 s of clock skew are allowed */
    s.this_update = NOW + 300;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_no_next_update(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.next_update = 0;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 3600, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_STALE, X509_V_ERR_CRL_HAS_EXPIRED);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_critical_extension(void)
{
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.unknown_critical = 1;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_CRITICAL, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_critical_entry_extension(void)
{
    /* the critical extension is on another certificate's entry: it may
       change the meaning of the whole list (RFC 5280 5.3) */
    static const tu_crl_entry entries[] = { { 7, R_KEY_COMPROMISE, NULL, 1 } };
    X509 *cert = plain_subject();
    dsec_crl_set set = { 0 };
    tu_crl_spec s = ca_crl(10);
    dsec_decision d;

    s.entries = entries;
    s.nentries = 1;
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_CRITICAL, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_idp_name(void)
{
    static const tu_dp dps[] = { { "http://crl.example/a.crl", 0, NULL },
                                 { "http://crl.example/b.crl", 0, NULL } };
    X509 *cert = subject_cert(dps, 2, 0, 0);
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;
    size_t i;

    s.idp = 1;
    s.idp_name = "http://crl.example/a.crl";
    s.entries = listing(R_KEY_COMPROMISE);
    s.nentries = 1;

    /* fetched from DP 0, whose name it carries */
    i = add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[i]);
    dsec_crl_set_clear(&set);

    /* fetched from DP 1: the IDP names DP 0 (6.3.3 (b)(2)(i)) */
    add_crl(&set, &s, 1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);

    /* from a DP the certificate does not have */
    add_crl(&set, &s, 2);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    CU_ASSERT_EQUAL(d.status, DSEC_STATUS_UNKNOWN);
    dsec_crl_set_clear(&set);

    /* supplied by the host: tried against every DP */
    s.idp_name = "http://crl.example/b.crl";
    add_crl(&set, &s, -1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    dsec_crl_set_clear(&set);

    /* of neither DP, nor of the implicit DP (the issuer's name) */
    s.idp_name = "http://crl.example/c.crl|DIR:" CN_OTHER;
    add_crl(&set, &s, -1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);

    /* one of several names in common is enough */
    s.idp_name = "http://crl.example/c.crl|http://crl.example/a.crl";
    add_crl(&set, &s, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_idp_name_forms(void)
{
    /* a nameRelativeToCRLIssuer is the issuer's DN plus the RDN */
    static const tu_dp rel = { "REL:part7", 0, NULL };
    static const tu_dp dir = { "DIR:" CN_CA "/part7", 0, NULL };
    X509 *by_rel = subject_cert(&rel, 1, 0, 0);
    X509 *by_dir = subject_cert(&dir, 1, 0, 0);
    X509 *no_dp = subject_cert(NULL, 0, 0, 0);
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    s.idp = 1;
    s.idp_name = "DIR:" CN_CA "/part7";
    add_crl(&set, &s, 0);
    decide(by_rel, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    s.idp_name = "REL:part7";
    add_crl(&set, &s, 0);
    decide(by_dir, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    decide(by_rel, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    s.idp_name = "REL:part8";
    add_crl(&set, &s, 0);
    decide(by_rel, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);

    /* no DP: the implicit DP is named by the issuer (6.3.3, last
       paragraph) */
    s.idp_name = "DIR:" CN_CA;
    add_crl(&set, &s, -1);
    decide(no_dp, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);
    s.idp_name = "http://crl.example/ca.crl";
    add_crl(&set, &s, -1);
    decide(no_dp, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(by_rel);
    X509_free(by_dir);
    X509_free(no_dp);
}

static void test_decide_only_contains(void)
{
    static const tu_dp dp = { "http://crl.example/ca.crl", 0, NULL };
    X509 *leaf = subject_cert(&dp, 1, 0, 0);
    X509 *sub_ca = subject_cert(&dp, 1, 1, 0);
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    s.idp = 1;
    s.only_user = 1;
    add_crl(&set, &s, 0);
    decide(sub_ca, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    decide(leaf, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    s.only_user = 0;
    s.only_ca = 1;
    add_crl(&set, &s, 0);
    decide(leaf, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    decide(sub_ca, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    s.only_ca = 0;
    s.only_attr = 1;
    add_crl(&set, &s, 0);
    decide(leaf, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    decide(sub_ca, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    X509_free(leaf);
    X509_free(sub_ca);
}

/* Two DPs splitting the reasons, each with its CRL (6.3.3 (d), (l)). */
static void test_decide_partition_dps(void)
{
    const unsigned int r0 = RF(1) | RF(2), r1 = ALL & ~r0;
    const tu_dp dps[] = { { "http://crl.example/p0.crl", r0, NULL },
                          { "http://crl.example/p1.crl", r1, NULL } };
    X509 *cert = subject_cert(dps, 2, 0, 0);
    tu_crl_spec s0 = ca_crl(10), s1 = ca_crl(20);
    dsec_crl_set set = { 0 };
    dsec_decision d;
    size_t i;

    s0.idp = 1;
    s0.idp_name = "http://crl.example/p0.crl";
    s1.idp = 1;
    s1.idp_name = "http://crl.example/p1.crl";

    add_crl(&set, &s0, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_REASONS, X509_V_ERR_UNABLE_TO_GET_CRL);
    CU_ASSERT_EQUAL(d.reasons, r0);
    add_crl(&set, &s1, 1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_EQUAL(d.reasons, ALL);
    dsec_crl_set_clear(&set);

    /* the second partition lists it */
    s1.entries = listing(R_SUPERSEDED);
    s1.nentries = 1;
    add_crl(&set, &s0, 0);
    i = add_crl(&set, &s1, 1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_SUPERSEDED);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[i]);
    dsec_crl_set_clear(&set);

    /* one host CRL without IDP serves both DPs */
    s0 = ca_crl(30);
    add_crl(&set, &s0, -1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    /* onlySomeReasons and the DP's reasons in common: none (6.3.3 (d),
       (e)); in common: one */
    s0 = ca_crl(31);
    s0.idp = 1;
    s0.idp_reasons = RF(3);
    s0.entries = listing(R_KEY_COMPROMISE);
    s0.nentries = 1;
    add_crl(&set, &s0, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);
    s0.idp_reasons = RF(2) | RF(3);
    add_crl(&set, &s0, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    CU_ASSERT_EQUAL(d.reasons, RF(2));
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/* One DP, CRLs with onlySomeReasons (6.3.3 (d)(2)). */
static void test_decide_partition_only_some_reasons(void)
{
    const unsigned int ra = RF(R_KEY_COMPROMISE) | RF(2);
    X509 *cert = plain_subject();
    tu_crl_spec a = ca_crl(10), b = ca_crl(11);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    a.idp = 1;
    a.idp_reasons = ra;
    b.idp = 1;
    b.idp_reasons = ALL & ~ra;

    add_crl(&set, &a, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_REASONS, X509_V_ERR_UNABLE_TO_GET_CRL);
    CU_ASSERT_EQUAL(d.reasons, ra);
    add_crl(&set, &b, -1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    /* listed in the keyCompromise partition */
    a.entries = listing(R_KEY_COMPROMISE);
    a.nentries = 1;
    add_crl(&set, &a, 0);
    add_crl(&set, &b, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    dsec_crl_set_clear(&set);

    /* a CRL adding no reason is not used (6.3.3 (e)): the older full
       CRL listing it comes after a newer full one */
    a = ca_crl(12);
    a.this_update = NOW - 7200;
    a.entries = listing(R_HOLD);
    a.nentries = 1;
    b = ca_crl(13);
    add_crl(&set, &a, 0);
    add_crl(&set, &b, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[1]);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/* An indirect CRL (6.3.3 (b)(1), 5.3.3): DP with cRLIssuer. */
static void test_decide_indirect(void)
{
    static const tu_dp dp = { "http://ind.example/ind.crl", 0, "DIR:" CN_IND };
    /* the first entry is the CRL issuer's own certificate */
    static const tu_crl_entry own[] = { { SUBJECT_SERIAL, R_KEY_COMPROMISE,
                                          NULL, 0 } };
    /* the CA's entry carries the certificateIssuer */
    static const tu_crl_entry named[] = { { 3, R_KEY_COMPROMISE, NULL, 0 },
                                          { SUBJECT_SERIAL, R_HOLD,
                                            "DIR:" CN_CA, 0 } };
    /* ... or inherits it from the preceding entry */
    static const tu_crl_entry inherited[] = {
        { SUBJECT_SERIAL, R_KEY_COMPROMISE, "DIR:" CN_OTHER, 0 },
        { 3, R_KEY_COMPROMISE, "DIR:" CN_CA, 0 },
        { SUBJECT_SERIAL, R_SUPERSEDED, NULL, 0 }
    };
    /* ... and the next certificateIssuer ends it */
    static const tu_crl_entry ended[] = {
        { 3, R_KEY_COMPROMISE, "DIR:" CN_CA, 0 },
        { 4, R_KEY_COMPROMISE, "DIR:" CN_OTHER, 0 },
        { SUBJECT_SERIAL, R_KEY_COMPROMISE, NULL, 0 }
    };
    const unsigned int signers = 1u << K_CA | 1u << K_IND;
    X509 *cert = subject_cert(&dp, 1, 0, 0);
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    s.issuer = CN_IND;
    s.key = keys[K_IND];
    s.akid = signer_cert[K_IND];
    s.idp = 1;
    s.idp_name = "http://ind.example/ind.crl";
    s.indirect = 1;

    s.entries = own;
    s.nentries = 1;
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, signers, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.signer, signer_cert[K_IND]);
    dsec_crl_set_clear(&set);

    s.entries = named;
    s.nentries = 2;
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, signers, &d);
    EXPECT_REVOKED(d, R_HOLD);
    dsec_crl_set_clear(&set);

    s.entries = inherited;
    s.nentries = 3;
    add_crl(&set, &s, -1);
    decide_signers(cert, &set, signers, &d);
    EXPECT_REVOKED(d, R_SUPERSEDED);
    dsec_crl_set_clear(&set);

    s.entries = ended;
    s.nentries = 3;
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, signers, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    /* the CRL issuer's CRL must be indirect */
    s.entries = named;
    s.nentries = 2;
    s.indirect = 0;
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, signers, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
    dsec_crl_set_clear(&set);

    /* a DP without a name: the IDP's name is matched against cRLIssuer */
    {
        static const tu_dp bare = { NULL, 0, "DIR:" CN_IND };
        X509 *cert2 = subject_cert(&bare, 1, 0, 0);

        s.indirect = 1;
        s.idp_name = "DIR:" CN_IND;
        add_crl(&set, &s, 0);
        decide_signers(cert2, &set, signers, &d);
        EXPECT_REVOKED(d, R_HOLD);
        dsec_crl_set_clear(&set);
        s.idp_name = "http://ind.example/ind.crl";
        add_crl(&set, &s, 0);
        decide_signers(cert2, &set, signers, &d);
        EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SCOPE, X509_V_ERR_UNABLE_TO_GET_CRL);
        dsec_crl_set_clear(&set);
        X509_free(cert2);
    }

    /* the CA's own CRL is not the one the DP names */
    s = ca_crl(11);
    s.entries = listing(R_KEY_COMPROMISE);
    s.nentries = 1;
    add_crl(&set, &s, 0);
    decide_signers(cert, &set, signers, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_ISSUER, X509_V_ERR_UNABLE_TO_GET_CRL);
    /* but as a host CRL it serves the implicit DP */
    dsec_crl_set_clear(&set);
    add_crl(&set, &s, -1);
    decide_signers(cert, &set, signers, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/* ---- delta CRLs (RFC 5280 5.2.4, 6.3.3 (c), (h)-(k)) ---- */

/* base, then deltas, decided under mode with grace. */
static void decide_with_delta(X509 *cert, const tu_crl_spec *base,
                              const tu_crl_spec *delta, size_t ndelta,
                              dsec_delta_mode mode, long grace,
                              dsec_crl_set *set, dsec_decision *d)
{
    size_t i;

    add_crl(set, base, 0);
    for (i = 0; i < ndelta; i++) {
        add_crl(set, &delta[i], -1);
    }
    decide(cert, set, mode, grace, d);
}

static void test_decide_delta_revokes(void)
{
    X509 *cert = subject_cert(&plain_dp, 1, 0, 1);
    tu_crl_spec base = ca_crl(10), delta = ca_delta(10, 11);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    decide_with_delta(cert, &base, &delta, 1, DSEC_DELTA_REQUIRE, 0, &set, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[1]);
    CU_ASSERT_PTR_EQUAL(d.delta, &set.v[1]);
    dsec_crl_set_clear(&set);

    /* an older base: deltaCRLIndicator <= base number */
    delta = ca_delta(8, 11);
    delta.entries = listing(R_HOLD);
    delta.nentries = 1;
    decide_with_delta(cert, &base, &delta, 1, DSEC_DELTA_IF_AVAILABLE, 0, &set,
                      &d);
    EXPECT_REVOKED(d, R_HOLD);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_delta_remove_from_crl(void)
{
    X509 *cert = subject_cert(&plain_dp, 1, 0, 1);
    tu_crl_spec base = ca_crl(10), delta = ca_delta(10, 11);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    /* released from hold */
    base.entries = listing(R_HOLD);
    base.nentries = 1;
    delta.entries = listing(R_REMOVE);
    delta.nentries = 1;
    decide_with_delta(cert, &base, &delta, 1, DSEC_DELTA_REQUIRE, 0, &set, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[0]);
    CU_ASSERT_PTR_EQUAL(d.delta, &set.v[1]);
    dsec_crl_set_clear(&set);

    /* removeFromCRL for a certificate the base does not list */
    base.entries = NULL;
    base.nentries = 0;
    decide_with_delta(cert, &base, &delta, 1, DSEC_DELTA_REQUIRE, 0, &set, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);

    /* the base alone (no delta applied) keeps it on hold */
    base.entries = listing(R_HOLD);
    base.nentries = 1;
    decide_with_delta(cert, &base, &delta, 1, DSEC_DELTA_IGNORE, 0, &set, &d);
    EXPECT_REVOKED(d, R_HOLD);
    CU_ASSERT_PTR_NULL(d.delta);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/* A delta listing the subject that must not be applied to base 10. */
static void expect_not_applied(const tu_crl_spec *delta, unsigned int line)
{
    X509 *cert = subject_cert(&plain_dp, 1, 0, 0);
    tu_crl_spec base = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    decide_with_delta(cert, &base, delta, 1, DSEC_DELTA_IF_AVAILABLE, 0, &set,
                      &d);
    expect_at(&d, DSEC_STATUS_GOOD, DSEC_OK, X509_V_OK, -1, line);
    CU_ASSERT_PTR_NULL(d.delta);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_delta_not_applied(void)
{
    tu_crl_spec delta;

    /* deltaCRLIndicator > base number: the base is too old for it */
    delta = ca_delta(11, 12);
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    expect_not_applied(&delta, __LINE__);

    /* delta number <= base number: older than the base */
    delta = ca_delta(9, 10);
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    expect_not_applied(&delta, __LINE__);
    delta = ca_delta(8, 9);
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    expect_not_applied(&delta, __LINE__);

    /* signed by another key (6.3.3 (h)), with or without its AKID */
    delta = ca_delta(10, 11);
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    delta.key = keys[K_BAD];
    expect_not_applied(&delta, __LINE__);
    delta.key = keys[K_OLD];
    delta.akid = signer_cert[K_OLD];
    expect_not_applied(&delta, __LINE__);

    /* another issuer, another scope (6.3.3 (c)) */
    delta = ca_delta(10, 11);
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    delta.issuer = CN_OTHER;
    expect_not_applied(&delta, __LINE__);
    delta.issuer = CN_CA;
    delta.idp = 1;
    delta.only_user = 1;
    expect_not_applied(&delta, __LINE__);

    /* stale, future, critical */
    delta = ca_delta(10, 11);
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    delta.next_update = NOW - 1;
    expect_not_applied(&delta, __LINE__);
    delta.next_update = 0;
    expect_not_applied(&delta, __LINE__);
    delta.next_update = NOW + DAY;
    delta.this_update = NOW + 301;
    expect_not_applied(&delta, __LINE__);
    delta.this_update = NOW - 60;
    delta.unknown_critical = 1;
    expect_not_applied(&delta, __LINE__);
}

static void test_decide_delta_newest(void)
{
    X509 *cert = subject_cert(&plain_dp, 1, 0, 0);
    tu_crl_spec base = ca_crl(10), deltas[2];
    dsec_crl_set set = { 0 };
    dsec_decision d;

    /* the newest delta (by number, not input order) is applied */
    deltas[0] = ca_delta(10, 12);
    deltas[0].entries = listing(R_REMOVE);
    deltas[0].nentries = 1;
    deltas[1] = ca_delta(10, 11);
    deltas[1].entries = listing(R_HOLD);
    deltas[1].nentries = 1;
    decide_with_delta(cert, &base, deltas, 2, DSEC_DELTA_IF_AVAILABLE, 0, &set,
                      &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.delta, &set.v[1]);
    dsec_crl_set_clear(&set);

    deltas[0].entries = listing(R_HOLD);
    deltas[1].entries = listing(R_REMOVE);
    decide_with_delta(cert, &base, deltas, 2, DSEC_DELTA_IF_AVAILABLE, 0, &set,
                      &d);
    EXPECT_REVOKED(d, R_HOLD);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[1]);
    dsec_crl_set_clear(&set);

    /* ... among those that apply: the newest is stale */
    deltas[0].next_update = NOW - 1;
    decide_with_delta(cert, &base, deltas, 2, DSEC_DELTA_IF_AVAILABLE, 0, &set,
                      &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.delta, &set.v[2]);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_delta_required(void)
{
    static const tu_dp delta_dp = { DELTA_URL, 0, NULL };
    X509 *fresh_cert = subject_cert(&plain_dp, 1, 0, 1);
    X509 *plain = subject_cert(&plain_dp, 1, 0, 0);
    tu_crl_spec base = ca_crl(10), delta = ca_delta(10, 11);
    dsec_crl_set set = { 0 };
    dsec_link link;
    dsec_decision d;

    /* freshestCRL in the certificate, no delta */
    add_crl(&set, &base, 0);
    decide(fresh_cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_NO_DELTA, X509_V_ERR_UNABLE_TO_GET_CRL);
    decide(fresh_cert, &set, DSEC_DELTA_IF_AVAILABLE, 0, &d);
    EXPECT_GOOD(d);
    decide(fresh_cert, &set, DSEC_DELTA_IGNORE, 0, &d);
    EXPECT_GOOD(d);
    /* without freshestCRL anywhere none is required */
    decide(plain, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    init_link(&link, fresh_cert, DSEC_DELTA_REQUIRE, 0);
    CU_ASSERT_EQUAL(dsec_decide_needs_delta(&link, set.v[0].crl), 1);
    link.delta = DSEC_DELTA_IF_AVAILABLE;
    CU_ASSERT_EQUAL(dsec_decide_needs_delta(&link, set.v[0].crl), 0);
    init_link(&link, plain, DSEC_DELTA_REQUIRE, 0);
    CU_ASSERT_EQUAL(dsec_decide_needs_delta(&link, set.v[0].crl), 0);
    CU_ASSERT_EQUAL(dsec_decide_needs_delta(NULL, set.v[0].crl), 0);
    dsec_crl_set_clear(&set);

    /* freshestCRL in the CRL */
    base.freshest = &delta_dp;
    base.nfreshest = 1;
    add_crl(&set, &base, 0);
    decide(plain, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_NO_DELTA, X509_V_ERR_UNABLE_TO_GET_CRL);
    init_link(&link, plain, DSEC_DELTA_REQUIRE, 0);
    CU_ASSERT_EQUAL(dsec_decide_needs_delta(&link, set.v[0].crl), 1);
    /* a delta that does not apply is no delta */
    delta = ca_delta(11, 12);
    add_crl(&set, &delta, -1);
    decide(plain, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_NO_DELTA, X509_V_ERR_UNABLE_TO_GET_CRL);
    delta = ca_delta(10, 11);
    add_crl(&set, &delta, -1);
    decide(plain, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.delta, &set.v[2]);
    dsec_crl_set_clear(&set);

    /* ignore: a delta listing it is not used */
    delta.entries = listing(R_KEY_COMPROMISE);
    delta.nentries = 1;
    decide_with_delta(fresh_cert, &base, &delta, 1, DSEC_DELTA_IGNORE, 0, &set,
                      &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_NULL(d.delta);
    decide(fresh_cert, &set, DSEC_DELTA_IF_AVAILABLE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    dsec_crl_set_clear(&set);
    X509_free(fresh_cert);
    X509_free(plain);
}

/*
 * decide.h: stale is "a CRL past nextUpdate (within grace) was used"; a
 * delta applied within grace is such a CRL.
 */
static void test_decide_delta_stale_flag(void)
{
    X509 *cert = subject_cert(&plain_dp, 1, 0, 1);
    tu_crl_spec base = ca_crl(10), delta = ca_delta(10, 11);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    delta.next_update = NOW - 60;
    delta.entries = listing(R_REMOVE);
    delta.nentries = 1;
    decide_with_delta(cert, &base, &delta, 1, DSEC_DELTA_REQUIRE, 3600, &set,
                      &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.delta, &set.v[1]);
    CU_ASSERT_EQUAL(d.stale, 1);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/* Complete CRLs newest first: thisUpdate, CRL number, input order. */
static void test_decide_newest_first(void)
{
    X509 *cert = plain_subject();
    tu_crl_spec old = ca_crl(10), cur = ca_crl(11);
    dsec_crl_set set = { 0 };
    dsec_decision d;

    old.this_update = NOW - 2 * DAY;
    old.entries = listing(R_HOLD);
    old.nentries = 1;
    add_crl(&set, &old, 0);
    add_crl(&set, &cur, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[1]);
    dsec_crl_set_clear(&set);

    /* the older one counts when the newer one cannot be used */
    cur.next_update = NOW - 1;
    add_crl(&set, &old, 0);
    add_crl(&set, &cur, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_HOLD);
    dsec_crl_set_clear(&set);

    /* the same thisUpdate: the higher CRL number first */
    old = ca_crl(21);
    cur = ca_crl(20);
    cur.entries = listing(R_KEY_COMPROMISE);
    cur.nentries = 1;
    add_crl(&set, &cur, 0);
    add_crl(&set, &old, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[1]);
    dsec_crl_set_clear(&set);

    /* the same thisUpdate and number: input order */
    old = ca_crl(22);
    cur = ca_crl(22);
    cur.entries = listing(R_KEY_COMPROMISE);
    cur.nentries = 1;
    add_crl(&set, &cur, 0);
    add_crl(&set, &old, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_REVOKED(d, R_KEY_COMPROMISE);
    dsec_crl_set_clear(&set);
    add_crl(&set, &old, 0);
    add_crl(&set, &cur, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/* The failure of the CRL that got furthest is the one reported. */
static void test_decide_reported_failure(void)
{
    X509 *cert = plain_subject();
    tu_crl_spec scope = ca_crl(10), stale = ca_crl(11), forged = ca_crl(12);
    dsec_crl_set set = { 0 };
    dsec_decision d;
    size_t i;

    scope.issuer = CN_OTHER;
    stale.next_update = NOW - 1;
    forged.key = keys[K_BAD];
    add_crl(&set, &scope, 0);
    add_crl(&set, &stale, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_STALE, X509_V_ERR_CRL_HAS_EXPIRED);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[1]);
    i = add_crl(&set, &forged, 0);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_UNKNOWN(d, DSEC_ERR_CRL_SIG, X509_V_ERR_CRL_SIGNATURE_FAILURE);
    CU_ASSERT_PTR_EQUAL(d.decided_by, &set.v[i]);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_check(void)
{
    const tu_dp dps[] = { { "http://crl.example/a.crl", RF(1), NULL },
                          { "http://crl.example/b.crl", ALL & ~RF(1), NULL } };
    X509 *cert = subject_cert(dps, 2, 0, 0);
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    unsigned int reasons = 0;
    X509 *signer = NULL;
    dsec_link link;
    DSEC_ERR err;

    init_link(&link, cert, DSEC_DELTA_REQUIRE, 0);
    s.idp = 1;
    s.idp_name = "http://crl.example/b.crl";
    add_crl(&set, &s, 1); /* 0: DP 1's */
    add_crl(&set, &s, -1); /* 1: host, matches DP 1 */
    add_crl(&set, &s, 0); /* 2: from DP 0, names DP 1 */
    add_crl(&set, &s, 5); /* 3: from no DP */
    s = ca_delta(9, 11);
    add_crl(&set, &s, 0); /* 4: a delta */
    s = ca_crl(12);
    s.next_update = NOW - 1;
    add_crl(&set, &s, 0); /* 5: stale */
    s = ca_crl(13);
    s.this_update = NOW + 3600;
    add_crl(&set, &s, 0); /* 6: future */
    s = ca_crl(14);
    s.unknown_critical = 1;
    add_crl(&set, &s, 0); /* 7: critical */
    s = ca_crl(15);
    s.key = keys[K_BAD];
    add_crl(&set, &s, 0); /* 8: forged */
    s = ca_crl(16);
    s.issuer = CN_OTHER;
    add_crl(&set, &s, -1); /* 9: another issuer */
    s = ca_crl(17);
    add_crl(&set, &s, -1); /* 10: host, no IDP: DP 0 first */

    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(
        dsec_decide_check(&link, &set.v[0], &reasons, &signer, &err), DSEC_OK);
    CU_ASSERT_EQUAL(reasons, ALL & ~RF(1));
    CU_ASSERT_PTR_EQUAL(signer, ca);
    reasons = 0;
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[1], &reasons, NULL, &err),
                    DSEC_OK);
    CU_ASSERT_EQUAL(reasons, ALL & ~RF(1));
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[2], NULL, NULL, &err),
                    DSEC_ERR_CRL_SCOPE);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CRL_SCOPE);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[3], NULL, NULL, &err),
                    DSEC_ERR_CRL_SCOPE);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[4], NULL, NULL, &err),
                    DSEC_ERR_CRL_DELTA);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[5], NULL, NULL, &err),
                    DSEC_ERR_CRL_STALE);
    link.grace = 60;
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[5], NULL, NULL, &err),
                    DSEC_OK);
    link.grace = 0;
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[6], NULL, NULL, &err),
                    DSEC_ERR_CRL_FUTURE);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[7], NULL, NULL, &err),
                    DSEC_ERR_CRL_CRITICAL);
    signer = NULL;
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[8], NULL, &signer, &err),
                    DSEC_ERR_CRL_SIG);
    CU_ASSERT_PTR_NULL(signer);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[9], NULL, NULL, &err),
                    DSEC_ERR_CRL_ISSUER);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[10], &reasons, NULL, &err),
                    DSEC_OK);
    CU_ASSERT_EQUAL(reasons, RF(1));
    link.signer = NULL;
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[0], NULL, NULL, &err),
                    DSEC_ERR_CRL_SIGNER);
    CU_ASSERT_EQUAL(dsec_decide_check(NULL, &set.v[0], NULL, NULL, &err),
                    DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, NULL, NULL, NULL, NULL),
                    DSEC_ERR_INVALID);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

/*
 * A host CRL for a certificate without cRLDistributionPoints: the implicit
 * DP (RFC 5280 6.3.3, last paragraph; decide.h: host CRLs are matched
 * against every DP, then the implicit one). dsec_decide uses it;
 * dsec_decide_check must accept it too.
 */
static void test_decide_check_no_dp(void)
{
    X509 *cert = subject_cert(NULL, 0, 0, 0);
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    unsigned int reasons = 0;
    X509 *signer = NULL;
    dsec_decision d;
    dsec_link link;
    DSEC_ERR err;
    dsec_rv rv;

    add_crl(&set, &s, -1);
    decide(cert, &set, DSEC_DELTA_REQUIRE, 0, &d);
    EXPECT_GOOD(d);
    init_link(&link, cert, DSEC_DELTA_REQUIRE, 0);
    memset(&err, 0, sizeof(err));
    rv = dsec_decide_check(&link, &set.v[0], &reasons, &signer, &err);
    if (rv != DSEC_OK) {
        fprintf(stderr, "\n  dsec_decide_check: %s \"%s\"\n", dsec_rv_name(rv),
                err.msg);
    }
    CU_ASSERT_EQUAL(rv, DSEC_OK);
    CU_ASSERT_EQUAL(reasons, ALL);
    CU_ASSERT_PTR_EQUAL(signer, ca);
    /* a CRL fetched from a DP it does not have is out of scope */
    set.v[0].dp = 0;
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[0], NULL, NULL, &err),
                    DSEC_ERR_CRL_SCOPE);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_check_delta(void)
{
    X509 *cert = plain_subject();
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_link link;
    DSEC_ERR err;
    size_t i;
    struct {
        tu_crl_spec spec;
        dsec_rv rv;
    } cases[12];
    size_t n = 0;

    init_link(&link, cert, DSEC_DELTA_REQUIRE, 0);
    add_crl(&set, &s, 0); /* the base */
    cases[n].spec = ca_delta(10, 11);
    cases[n++].rv = DSEC_OK;
    cases[n].spec = ca_delta(3, 100);
    cases[n++].rv = DSEC_OK;
    cases[n].spec = ca_crl(11);
    cases[n++].rv = DSEC_ERR_CRL_DELTA;
    cases[n].spec = ca_delta(11, 12);
    cases[n++].rv = DSEC_ERR_CRL_DELTA;
    cases[n].spec = ca_delta(9, 10);
    cases[n++].rv = DSEC_ERR_CRL_DELTA;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.idp = 1;
    cases[n].spec.only_ca = 1;
    cases[n++].rv = DSEC_ERR_CRL_DELTA;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.akid = NULL;
    cases[n++].rv = DSEC_ERR_CRL_DELTA;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.key = keys[K_BAD];
    cases[n++].rv = DSEC_ERR_CRL_SIG;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.next_update = NOW - 1;
    cases[n++].rv = DSEC_ERR_CRL_STALE;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.this_update = NOW + 301;
    cases[n++].rv = DSEC_ERR_CRL_FUTURE;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.unknown_critical = 1;
    cases[n++].rv = DSEC_ERR_CRL_CRITICAL;
    cases[n].spec = ca_delta(10, 11);
    cases[n].spec.number = -1;
    cases[n++].rv = DSEC_ERR_CRL_DELTA;
    for (i = 0; i < n; i++) {
        size_t k = add_crl(&set, &cases[i].spec, -1);
        dsec_rv rv;

        memset(&err, 0, sizeof(err));
        rv = dsec_decide_check_delta(&link, &set.v[0], ca, &set.v[k], &err);
        if (rv != cases[i].rv) {
            fprintf(stderr, "check_delta case %zu: %s, expected %s (%s)\n", i,
                    dsec_rv_name(rv), dsec_rv_name(cases[i].rv), err.msg);
        }
        CU_ASSERT_EQUAL(rv, cases[i].rv);
        CU_ASSERT_EQUAL(err.rv, cases[i].rv);
    }
    CU_ASSERT_EQUAL(
        dsec_decide_check_delta(&link, &set.v[0], NULL, &set.v[1], &err),
        DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(
        dsec_decide_check_delta(NULL, &set.v[0], ca, &set.v[1], NULL),
        DSEC_ERR_INVALID);
    dsec_crl_set_clear(&set);
    X509_free(cert);
}

static void test_decide_signed_by(void)
{
    tu_crl_spec s = ca_crl(10);
    unsigned char id[32], other[32];
    dsec_crl_set set = { 0 };
    X509 *signer = NULL;
    dsec_link link;
    DSEC_ERR err;

    add_crl(&set, &s, 0); /* 0 */
    s.key = keys[K_BAD];
    add_crl(&set, &s, 0); /* 1: forged */
    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(dsec_decide_signed_by(ca, &set.v[0], &err), 1);
    CU_ASSERT_EQUAL(dsec_decide_signed_by(ca, &set.v[1], &err), 0);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CRL_SIG);
    CU_ASSERT_EQUAL(
        dsec_decide_signed_by(signer_cert[K_OTHER], &set.v[0], &err), 0);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CRL_SIGNER);
    CU_ASSERT_EQUAL(dsec_decide_signed_by(signer_cert[K_OLD], &set.v[0], &err),
                    0);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CRL_SIGNER);
    CU_ASSERT_EQUAL(dsec_decide_signed_by(NULL, &set.v[0], &err), 0);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CRL_SIGNER);
    CU_ASSERT_EQUAL(dsec_decide_signed_by(ca, NULL, &err), 0);

    /* a key the cache already verified the CRL with: no new check */
    CU_ASSERT_EQUAL(dsec_decide_key_id(ca, id), 1);
    CU_ASSERT_EQUAL(dsec_decide_key_id(signer_cert[K_OLD], other), 1);
    CU_ASSERT_NOT_EQUAL(memcmp(id, other, sizeof(id)), 0);
    CU_ASSERT_EQUAL(dsec_decide_key_id(NULL, other), 0);
    memcpy(set.v[1].key_id, id, sizeof(id));
    set.v[1].key_known = 1;
    CU_ASSERT_EQUAL(dsec_decide_signed_by(ca, &set.v[1], &err), 1);
    memcpy(set.v[1].key_id, other, sizeof(other));
    CU_ASSERT_EQUAL(dsec_decide_signed_by(ca, &set.v[1], &err), 0);
    CU_ASSERT_EQUAL(err.rv, DSEC_ERR_CRL_SIG);

    /* the direct signer: the link's issuer */
    init_link(&link, ca, DSEC_DELTA_REQUIRE, 0);
    CU_ASSERT_EQUAL(dsec_decide_direct_signer(&link, &set.v[0], &signer, &err),
                    DSEC_OK);
    CU_ASSERT_PTR_EQUAL(signer, ca);
    signer = NULL;
    CU_ASSERT_EQUAL(dsec_decide_direct_signer(&link, &set.v[1], &signer, &err),
                    DSEC_ERR_CRL_SIG);
    CU_ASSERT_PTR_NULL(signer);
    link.issuer = signer_cert[K_OTHER];
    CU_ASSERT_EQUAL(dsec_decide_direct_signer(&link, &set.v[0], &signer, &err),
                    DSEC_ERR_CRL_SIGNER);
    CU_ASSERT_EQUAL(dsec_decide_direct_signer(NULL, &set.v[0], &signer, &err),
                    DSEC_ERR_CRL_SIGNER);
    dsec_crl_set_clear(&set);

    CU_ASSERT_STRING_EQUAL(dsec_decide_status_name(DSEC_STATUS_GOOD), "good");
    CU_ASSERT_STRING_EQUAL(dsec_decide_status_name(DSEC_STATUS_REVOKED),
                           "revoked");
    CU_ASSERT_STRING_EQUAL(dsec_decide_status_name(DSEC_STATUS_UNKNOWN),
                           "unknown");
}

/* dsec_decide_dps, and a link deciding with DPs decoded once. */
static void test_decide_dps(void)
{
    static const tu_dp dps[] = { { "http://crl.example/a.crl", RF(1), NULL },
                                 { "REL:part7", 0, NULL },
                                 { "REL:part8", 0, "DIR:" CN_IND } };
    X509 *cert = subject_cert(dps, 3, 0, 0);
    X509 *no_dp = subject_cert(NULL, 0, 0, 0);
    STACK_OF(DIST_POINT) *got = dsec_decide_dps(cert);
    X509_NAME *want7 = tu_name(CN_CA "/part7");
    X509_NAME *want8 = tu_name(CN_IND "/part8");
    tu_crl_spec s = ca_crl(10);
    dsec_crl_set set = { 0 };
    dsec_decision d;
    dsec_link link;

    CU_ASSERT_PTR_NULL(dsec_decide_dps(no_dp));
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want8);
    CU_ASSERT_EQUAL_FATAL(sk_DIST_POINT_num(got), 3);
    CU_ASSERT_EQUAL(sk_DIST_POINT_value(got, 0)->distpoint->type, 0);
    /* relative to the certificate's issuer, or to the cRLIssuer */
    CU_ASSERT_EQUAL(
        X509_NAME_cmp(sk_DIST_POINT_value(got, 1)->distpoint->dpname, want7),
        0);
    CU_ASSERT_EQUAL(
        X509_NAME_cmp(sk_DIST_POINT_value(got, 2)->distpoint->dpname, want8),
        0);

    /* the link's decoded DPs are the ones used */
    s.idp = 1;
    s.idp_name = "DIR:" CN_CA "/part7";
    s.entries = listing(R_HOLD);
    s.nentries = 1;
    add_crl(&set, &s, 1);
    init_link(&link, cert, DSEC_DELTA_REQUIRE, 0);
    link.dps = got;
    dsec_decide(&link, &set, &d);
    EXPECT_REVOKED(d, R_HOLD);
    CU_ASSERT_EQUAL(dsec_decide_check(&link, &set.v[0], NULL, NULL, NULL),
                    DSEC_OK);
    /* and still the caller's afterwards */
    CU_ASSERT_EQUAL(sk_DIST_POINT_num(got), 3);
    link.dps = NULL;
    dsec_decide(&link, &set, &d);
    EXPECT_REVOKED(d, R_HOLD);
    dsec_crl_set_clear(&set);
    sk_DIST_POINT_pop_free(got, DIST_POINT_free);
    X509_NAME_free(want7);
    X509_NAME_free(want8);
    X509_free(cert);
    X509_free(no_dp);
}

static void test_decide_crl_set(void)
{
    tu_crl_spec s = ca_crl(10);
    X509_CRL *crl = tu_crl_ex(&s);
    unsigned char id[32];
    dsec_crl_set set = { 0 };
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
    memset(id, 0xa5, sizeof(id));
    CU_ASSERT_EQUAL(dsec_crl_set_add(NULL, crl, 0, NULL, NULL), 0);
    CU_ASSERT_EQUAL(dsec_crl_set_add(&set, NULL, 0, NULL, NULL), 0);
    CU_ASSERT_EQUAL(set.n, 0);
    CU_ASSERT_EQUAL(dsec_crl_set_add(&set, crl, -1, NULL, NULL), 1);
    CU_ASSERT_EQUAL(dsec_crl_set_add(&set, crl, 2, id, "http://x/y.crl"), 1);
    for (i = 0; i < 9; i++) {
        CU_ASSERT_EQUAL(dsec_crl_set_add(&set, crl, i, NULL, "ldap://z"), 1);
    }
    CU_ASSERT_EQUAL(set.n, 11);
    CU_ASSERT_TRUE(set.cap >= set.n);
    CU_ASSERT_PTR_EQUAL(set.v[0].crl, crl);
    CU_ASSERT_EQUAL(set.v[0].dp, -1);
    CU_ASSERT_EQUAL(set.v[0].key_known, 0);
    CU_ASSERT_STRING_EQUAL(set.v[0].src, "host");
    CU_ASSERT_EQUAL(set.v[1].dp, 2);
    CU_ASSERT_EQUAL(set.v[1].key_known, 1);
    CU_ASSERT_EQUAL(memcmp(set.v[1].key_id, id, sizeof(id)), 0);
    CU_ASSERT_STRING_EQUAL(set.v[1].src, "http://x/y.crl");
    CU_ASSERT_EQUAL(set.v[10].dp, 8);
    dsec_crl_set_clear(&set);
    CU_ASSERT_EQUAL(set.n, 0);
    CU_ASSERT_EQUAL(set.cap, 0);
    CU_ASSERT_PTR_NULL(set.v);
    dsec_crl_set_clear(&set);
    dsec_crl_set_clear(NULL);
    /* the set held references of its own: ours is still valid */
    CU_ASSERT_PTR_NOT_NULL(X509_CRL_get_issuer(crl));
    X509_CRL_free(crl);
}

/* ------------------------------------------------------------------------
 * The differential test. A case is a model: the subject certificate (CA or
 * not, freshestCRL, up to three DPs with names, reasons and cRLIssuer), up
 * to eight CRLs (issuer name, signing key, AKID, times, number, delta base,
 * IDP, freshestCRL, critical extensions, entries, where it came from), the
 * delta mode, the grace and which signer certificates are validated. The
 * reference below decides the model from RFC 5280's text; the same model is
 * built as DER and decided by dsec_decide.
 * ------------------------------------------------------------------------ */

#define M_NDP 3
#define M_NCRL 8
#define M_NENT 6

/* A DistributionPointName: none, a fullName of a URI and/or one
   directoryName, or a nameRelativeToCRLIssuer. */
enum { MN_NONE, MN_FULL, MN_REL };

typedef struct {
    int kind;
    int uri; /* MN_FULL: URI "http://crl.example/dp<uri>", -1: none */
    /* MN_FULL: directoryName CN=<name dir_base>,CN=dp<dir_tag> (either
       part may be -1, not both), or none when both are -1 */
    int dir_base, dir_tag;
    int rel; /* MN_REL: CN=dp<rel> under the issuer's name */
} m_name;

typedef struct {
    m_name name;
    unsigned int reasons; /* 0: absent */
    int crl_issuer; /* N_*, -1: absent */
} m_dp;

typedef struct {
    int is_ca, freshest, ndp;
    m_dp dp[M_NDP];
} m_cert;

typedef struct {
    long serial;
    int reason; /* -1: no reasonCode */
    int cert_issuer; /* certificateIssuer N_*, -1: none */
    int crit;
} m_entry;

typedef struct {
    int dp; /* -1: from the host, else the DP it was fetched from */
    int issuer; /* N_* */
    int key; /* K_* that signs */
    int akid; /* K_* the AKID names, -1: no AKID */
    long this_off; /* thisUpdate - now */
    int has_next;
    long next_off;
    long number;
    long delta_base; /* -1: complete, else deltaCRLIndicator */
    int has_idp;
    m_name idp_name;
    int only_user, only_ca, only_attr, indirect;
    unsigned int idp_reasons; /* 0: absent */
    int freshest;
    int crit;
    int nent;
    m_entry ent[M_NENT];
} m_crl;

typedef struct {
    m_cert cert;
    int ncrl;
    m_crl crl[M_NCRL];
    dsec_delta_mode mode;
    long grace;
    unsigned int signers; /* bit k: signer_cert[k] is validated */
} m_case;

typedef struct {
    dsec_status status;
    int reason;
    unsigned int reasons;
    int used; /* a complete CRL was used */
} m_result;

/* What the generated cases exercised (reference side). */
typedef struct {
    long delta_applied, delta_revoked, delta_removed, indirect_used,
        inherited_issuer, partitions_good, older_skipped, rollover,
        crl_signing_key, no_delta_skipped, host_used, implicit_used, stale_used,
        reasons_unknown;
} m_stats;

/* ---- the reference: RFC 5280 6.3.3 over the model ---- */

typedef struct {
    int is_uri;
    int base, tag; /* directoryName: CN=<name base>, CN=dp<tag> */
} m_atom;

/* The names a DistributionPointName stands for; a relative name is
   appended to rel_base's DN (RFC 5280 4.2.1.13, 5.2.5). */
static int ref_atoms(const m_name *n, int rel_base, m_atom out[2])
{
    int k = 0;

    if (n->kind == MN_REL) {
        out[k].is_uri = 0;
        out[k].base = rel_base;
        out[k++].tag = n->rel;
    } else if (n->kind == MN_FULL) {
        if (n->uri >= 0) {
            out[k].is_uri = 1;
            out[k].base = -1;
            out[k++].tag = n->uri;
        }
        if (n->dir_base >= 0 || n->dir_tag >= 0) {
            out[k].is_uri = 0;
            out[k].base = n->dir_base;
            out[k++].tag = n->dir_tag;
        }
    }
    return k;
}

static int ref_meet(const m_atom *a, int na, const m_atom *b, int nb)
{
    int i, j;

    for (i = 0; i < na; i++) {
        for (j = 0; j < nb; j++) {
            if (a[i].is_uri == b[j].is_uri && a[i].base == b[j].base
                && a[i].tag == b[j].tag) {
                return 1;
            }
        }
    }
    return 0;
}

/*
 * 6.3.3 (b) and (d) for CRL c through dp (NULL: the implicit DP: issued by
 * the certificate's issuer, named by it, all reasons): the interim reasons
 * mask, 0 when the CRL is not of this DP's issuer and scope.
 */
static unsigned int ref_scope(const m_case *k, const m_crl *c, const m_dp *dp)
{
    unsigned int idp_r = ALL, dp_r = ALL;
    m_atom a[2], b[2];
    int na, nb = 0;

    if (dp != NULL && dp->crl_issuer >= 0) {
        /* (b)(1): issued by cRLIssuer, and indirect */
        if (c->issuer != dp->crl_issuer || !c->has_idp || !c->indirect) {
            return 0;
        }
    } else if (c->issuer != N_CA) {
        return 0;
    }
    if (c->has_idp) {
        if (c->idp_name.kind != MN_NONE) {
            /* (b)(2)(i): a name in common with the DP's, or with its
               cRLIssuer when it has no name */
            na = ref_atoms(&c->idp_name, c->issuer, a);
            if (dp == NULL) {
                b[0].is_uri = 0;
                b[0].base = N_CA;
                b[0].tag = -1;
                nb = 1;
            } else if (dp->name.kind != MN_NONE) {
                nb = ref_atoms(&dp->name,
                               dp->crl_issuer >= 0 ? dp->crl_issuer : N_CA, b);
            } else if (dp->crl_issuer >= 0) {
                b[0].is_uri = 0;
                b[0].base = dp->crl_issuer;
                b[0].tag = -1;
                nb = 1;
            }
            if (!ref_meet(a, na, b, nb)) {
                return 0;
            }
        }
        /* (b)(2)(ii)-(iv) */
        if ((c->only_user && k->cert.is_ca) || (c->only_ca && !k->cert.is_ca)
            || c->only_attr) {
            return 0;
        }
        if (c->idp_reasons != 0) {
            idp_r = c->idp_reasons;
        }
    }
    if (dp != NULL && dp->reasons != 0) {
        dp_r = dp->reasons;
    }
    return idp_r & dp_r;
}

/* RFC 5280 5.2, 5.3: only the extensions decide.h names may be critical. */
static int ref_critical_ok(const m_crl *c)
{
    int i;

    for (i = 0; i < c->nent; i++) {
        if (c->ent[i].crit) {
            return 0;
        }
    }
    return !c->crit;
}

/* decide.h: thisUpdate <= now + 300 s, now < nextUpdate + grace. */
static int ref_fresh(const m_case *k, const m_crl *c)
{
    return c->this_off <= 300 && c->has_next
           && (c->next_off > 0 || c->next_off + k->grace > 0);
}

/*
 * 6.3.3 (f), (g): a validated certificate named as the CRL's issuer, with
 * the key the AKID names (any, without AKID), cRLSign when it has a
 * keyUsage, whose key made the signature. The signing key, or -1.
 */
static int ref_signer(const m_case *k, const m_crl *c)
{
    int s;

    for (s = 0; s < K_SIGNERS; s++) {
        if ((k->signers & (1u << s)) != 0 && key_name[s] == c->issuer
            && (c->akid < 0 || c->akid == s) && s != K_NOKU && s == c->key) {
            return s;
        }
    }
    return -1;
}

/* 5.3.3: 1 listed (*reason), 2 listed as removeFromCRL, 0 not listed. */
static int ref_lookup(const m_crl *c, int *reason, int *inherited)
{
    int iss = c->issuer, named_at = -1, i;

    for (i = 0; i < c->nent; i++) {
        const m_entry *e = &c->ent[i];

        /* certificateIssuer holds until the next one; before the first,
           the CRL issuer */
        if (e->cert_issuer >= 0) {
            iss = e->cert_issuer;
            named_at = i;
        }
        if (e->serial == SUBJECT_SERIAL && iss == N_CA) {
            if (inherited != NULL) {
                *inherited = named_at >= 0 && named_at < i;
            }
            if (e->reason == R_REMOVE) {
                return 2;
            }
            *reason = e->reason < 0 ? R_UNSPECIFIED : e->reason;
            return 1;
        }
    }
    return 0;
}

static int ref_same_name(const m_name *a, const m_name *b)
{
    return a->kind == b->kind && a->uri == b->uri && a->dir_base == b->dir_base
           && a->dir_tag == b->dir_tag && a->rel == b->rel;
}

static int ref_same_idp(const m_crl *a, const m_crl *b)
{
    if (!a->has_idp || !b->has_idp) {
        return a->has_idp == b->has_idp;
    }
    return ref_same_name(&a->idp_name, &b->idp_name)
           && a->only_user == b->only_user && a->only_ca == b->only_ca
           && a->only_attr == b->only_attr && a->indirect == b->indirect
           && a->idp_reasons == b->idp_reasons;
}

/* 5.2.4, 6.3.3 (c), (h): may delta x update base? */
static int ref_delta_ok(const m_case *k, const m_crl *base, const m_crl *x)
{
    return x->delta_base >= 0 && x->issuer == base->issuer
           && x->akid == base->akid && ref_same_idp(x, base)
           && x->delta_base <= base->number && base->number < x->number
           && ref_critical_ok(x) && ref_fresh(k, x) && x->key == base->key;
}

/* The newest delta updating base (the highest CRL number), or NULL. */
static const m_crl *ref_delta(const m_case *k, const m_crl *base)
{
    const m_crl *best = NULL;
    int i;

    for (i = 0; i < k->ncrl; i++) {
        const m_crl *x = &k->crl[i];

        if (ref_delta_ok(k, base, x)
            && (best == NULL || x->number > best->number)) {
            best = x;
        }
    }
    return best;
}

/* decide.h's order: thisUpdate, then CRL number, newest first; then
   input order. */
static int ref_newer(const m_case *k, int a, int b)
{
    const m_crl *x = &k->crl[a], *y = &k->crl[b];

    if (x->this_off != y->this_off) {
        return x->this_off > y->this_off;
    }
    if (x->number != y->number) {
        return x->number > y->number;
    }
    return a < b;
}

static void ref_decide(const m_case *k, m_result *r, m_stats *st)
{
    int order[M_NCRL], n = 0, i, j, d, revoked = 0, nused = 0, stale = 0;
    int listed_skipped = 0;
    unsigned int mask = 0;

    memset(r, 0, sizeof(*r));
    r->reason = -1;
    for (i = 0; i < k->ncrl; i++) {
        if (k->crl[i].delta_base < 0) {
            for (j = n; j > 0 && ref_newer(k, i, order[j - 1]); j--) {
                order[j] = order[j - 1];
            }
            order[j] = i;
            n++;
        }
    }
    /* every DP in turn, then the implicit one (d == ndp), host CRLs
       only, while reasons are left and nothing lists the certificate */
    for (d = 0; d <= k->cert.ndp && mask != ALL && !revoked; d++) {
        const m_dp *dp = d < k->cert.ndp ? &k->cert.dp[d] : NULL;

        for (j = 0; j < n && mask != ALL && !revoked; j++) {
            const m_crl *c = &k->crl[order[j]], *delta = NULL;
            int status = 0, reason = 0, inherited = 0, signer, dummy;
            unsigned int interim;

            if (dp != NULL ? c->dp != d && c->dp != -1 : c->dp != -1) {
                continue;
            }
            interim = ref_scope(k, c, dp);
            if ((interim & ~mask) == 0) { /* (e) */
                if (interim != 0 && ref_lookup(c, &dummy, NULL) == 1) {
                    listed_skipped = 1;
                }
                continue;
            }
            if (!ref_critical_ok(c) || !ref_fresh(k, c)
                || (signer = ref_signer(k, c)) < 0) {
                continue;
            }
            if (k->mode != DSEC_DELTA_IGNORE) {
                delta = ref_delta(k, c);
            }
            if (delta == NULL && k->mode == DSEC_DELTA_REQUIRE
                && (c->freshest || k->cert.freshest)) {
                st->no_delta_skipped++;
                continue;
            }
            /* (i)-(k) */
            if (delta != NULL) {
                status = ref_lookup(delta, &reason, &inherited);
                st->delta_applied++;
                st->delta_revoked += status == 1;
                st->delta_removed += status == 2;
                stale |= delta->next_off <= 0;
            }
            if (status == 0) {
                status = ref_lookup(c, &reason, &inherited);
            }
            mask |= interim; /* (l) */
            nused++;
            stale |= c->next_off <= 0;
            st->rollover += signer == K_OLD;
            st->crl_signing_key += signer == K_CRLS || signer == K_NOEXT;
            st->host_used += c->dp == -1;
            st->implicit_used += dp == NULL;
            st->indirect_used += c->indirect && c->issuer != N_CA;
            if (status == 1) {
                revoked = 1;
                r->reason = reason;
                st->inherited_issuer += inherited;
            }
        }
    }
    r->used = nused > 0;
    r->reasons = mask;
    r->status = revoked       ? DSEC_STATUS_REVOKED
                : mask == ALL ? DSEC_STATUS_GOOD
                              : DSEC_STATUS_UNKNOWN;
    st->partitions_good += r->status == DSEC_STATUS_GOOD && nused > 1;
    st->older_skipped += listed_skipped && r->status == DSEC_STATUS_GOOD;
    st->stale_used += stale;
    st->reasons_unknown += r->status == DSEC_STATUS_UNKNOWN && r->used;
}

/* What dsec_decide_check must answer for complete CRL c: the reasons of
   the first DP it fits (host CRLs: every DP, then the implicit one). */
static int ref_check(const m_case *k, const m_crl *c, unsigned int *reasons)
{
    int d;

    *reasons = 0;
    if (c->delta_base >= 0) {
        return 0;
    }
    if (c->dp >= 0) {
        *reasons =
            c->dp < k->cert.ndp ? ref_scope(k, c, &k->cert.dp[c->dp]) : 0;
    } else {
        for (d = 0; d <= k->cert.ndp && *reasons == 0; d++) {
            *reasons = ref_scope(k, c, d < k->cert.ndp ? &k->cert.dp[d] : NULL);
        }
    }
    return *reasons != 0 && ref_critical_ok(c) && ref_fresh(k, c)
           && ref_signer(k, c) >= 0;
}

/* ---- the generator ---- */

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int rnd(rng *g, int n)
{
    return (int)(rng_next(g) % (uint64_t)n);
}

static int chance(rng *g, int pct)
{
    return rnd(g, 100) < pct;
}

static m_name mn(int kind, int uri, int dir_base, int dir_tag, int rel)
{
    m_name n;

    n.kind = kind;
    n.uri = uri;
    n.dir_base = dir_base;
    n.dir_tag = dir_tag;
    n.rel = rel;
    return n;
}

#define MN_NONE_NAME mn(MN_NONE, -1, -1, -1, -1)

/* A name for DP tag t (rel_base: what a relative name would hang under). */
static m_name gen_name(rng *g, int t, int rel_base)
{
    int r = rnd(g, 100);

    if (r < 45) {
        return mn(MN_FULL, t, -1, -1, -1);
    }
    if (r < 60) {
        return mn(MN_FULL, -1, chance(g, 50) ? rel_base : -1, t, -1);
    }
    if (r < 72) {
        return mn(MN_FULL, t, rnd(g, N_COUNT), t, -1);
    }
    return mn(MN_REL, -1, -1, -1, t);
}

/* Another form of the same name (a relative one as its full DN). */
static m_name other_form(const m_name *n, int rel_base)
{
    if (n->kind == MN_REL) {
        return mn(MN_FULL, -1, rel_base, n->rel, -1);
    }
    if (n->kind == MN_FULL && n->dir_base == rel_base && n->dir_tag >= 0
        && n->uri < 0) {
        return mn(MN_REL, -1, -1, -1, n->dir_tag);
    }
    return *n;
}

static unsigned int gen_reasons(rng *g)
{
    unsigned int r = 0;

    while (r == 0) {
        r = ((unsigned int)rng_next(g)) & ALL;
    }
    return r;
}

static long gen_this(rng *g)
{
    int r = rnd(g, 100);

    if (r < 82) {
        return -(60 + rnd(g, 2 * DAY));
    }
    if (r < 86) {
        return 0;
    }
    if (r < 92) {
        return 299 + rnd(g, 3); /* around the 300 s of skew */
    }
    if (r < 96) {
        return 3600;
    }
    return -rnd(g, 60);
}

static void gen_next(rng *g, const m_case *k, m_crl *c)
{
    static const long near[] = { -1, 0, 1, -60 };
    int r = rnd(g, 100);

    c->has_next = 1;
    if (r < 82) {
        c->next_off = 60 + rnd(g, 7 * DAY);
    } else if (r < 86) {
        c->has_next = 0;
        c->next_off = 0;
    } else if (r < 91) {
        c->next_off = near[rnd(g, 4)];
    } else if (r < 96) {
        /* around the end of the grace */
        c->next_off = -k->grace + rnd(g, 3) - 1;
    } else {
        c->next_off = -(7200 + rnd(g, DAY));
    }
}

/* Entries of c; the subject is listed with pct percent, reasons from
   the table; certificateIssuer only in indirect CRLs. */
static void gen_entries(rng *g, m_crl *c, int pct, const int *reasons,
                        int nreasons)
{
    int subject = chance(g, pct), n = rnd(g, 3) + subject, i, at, iss;
    int decoy = c->has_idp && c->indirect && chance(g, 35);

    c->nent = 0;
    at = subject ? rnd(g, n) : -1;
    for (i = 0; i < n + decoy && c->nent < M_NENT; i++) {
        m_entry *e = &c->ent[c->nent++];

        e->serial = i == at ? SUBJECT_SERIAL : 100 + rnd(g, 40);
        e->reason = i == at ? reasons[rnd(g, nreasons)]
                            : (chance(g, 50) ? R_KEY_COMPROMISE : -1);
        e->cert_issuer = -1;
        e->crit = 0;
        if (i == n) { /* the decoy: the subject's serial of another CA */
            e->serial = SUBJECT_SERIAL;
            e->reason = R_KEY_COMPROMISE;
        }
        if (c->has_idp && c->indirect && chance(g, 40)) {
            e->cert_issuer = chance(g, 50) ? N_CA : rnd(g, N_COUNT);
        }
    }
    if (c->nent > 0 && chance(g, 4)) {
        c->ent[rnd(g, c->nent)].crit = 1;
    }
    /* one entry at most for the subject under its issuer: which of two
       would count is not defined */
    for (i = 0, iss = c->issuer, at = 0; i < c->nent; i++) {
        if (c->ent[i].cert_issuer >= 0) {
            iss = c->ent[i].cert_issuer;
        }
        if (c->ent[i].serial == SUBJECT_SERIAL && iss == N_CA && at++ > 0) {
            c->ent[i].serial = 99;
        }
    }
}

static const int base_reasons[] = {
    R_KEY_COMPROMISE, R_KEY_COMPROMISE, R_HOLD,  R_HOLD, -1,
    R_UNSPECIFIED,    R_SUPERSEDED,     R_REMOVE
};
static const int delta_reasons[] = { R_HOLD,   R_HOLD,
                                     R_REMOVE, R_REMOVE,
                                     R_REMOVE, R_KEY_COMPROMISE,
                                     -1,       R_KEY_COMPROMISE };

static int gen_key_for(rng *g, int issuer)
{
    int r = rnd(g, 100);

    if (issuer == N_IND) {
        return r < 90 ? K_IND : K_BAD;
    }
    if (issuer == N_OTHER) {
        return r < 90 ? K_OTHER : K_BAD;
    }
    return r < 55   ? K_CA
           : r < 67 ? K_OLD
           : r < 77 ? K_CRLS
           : r < 83 ? K_NOKU
           : r < 89 ? K_NOEXT
                    : K_BAD;
}

/* A complete CRL meant for DP target (-1: the implicit DP). */
static void gen_complete(rng *g, const m_case *k, int target, m_crl *c)
{
    const m_dp *dp = target >= 0 ? &k->cert.dp[target] : NULL;
    int want = dp != NULL && dp->crl_issuer >= 0 ? dp->crl_issuer : N_CA;
    int ndp = k->cert.ndp, r;

    memset(c, 0, sizeof(*c));
    c->issuer = chance(g, 6) ? rnd(g, N_COUNT) : want;
    c->key = gen_key_for(g, c->issuer);
    c->akid = chance(g, 88) ? c->key : (chance(g, 50) ? -1 : rnd(g, K_SIGNERS));
    if (target >= 0) {
        r = rnd(g, 100);
        c->dp = r < 68 ? target : r < 93 ? -1 : rnd(g, ndp + 1);
    } else {
        c->dp = chance(g, 90) || ndp == 0 ? -1 : rnd(g, ndp + 1);
    }
    c->this_off = gen_this(g);
    gen_next(g, k, c);
    c->number = 10 + rnd(g, 30);
    c->delta_base = -1;
    c->has_idp =
        dp != NULL && dp->crl_issuer >= 0 ? chance(g, 95) : chance(g, 45);
    c->idp_name = MN_NONE_NAME;
    if (c->has_idp) {
        c->indirect =
            dp != NULL && dp->crl_issuer >= 0 ? chance(g, 92) : chance(g, 6);
        r = rnd(g, 100);
        if (dp != NULL && dp->name.kind != MN_NONE) {
            if (r < 50) {
                c->idp_name = dp->name;
            } else if (r < 65) {
                c->idp_name = other_form(&dp->name, want);
            } else if (r < 90) {
                c->idp_name = gen_name(g, rnd(g, M_NDP), c->issuer);
            }
        } else if (dp != NULL) { /* only a cRLIssuer */
            if (r < 45) {
                c->idp_name = mn(MN_FULL, -1, dp->crl_issuer, -1, -1);
            } else if (r < 55) {
                c->idp_name = gen_name(g, rnd(g, M_NDP), c->issuer);
            }
        } else if (r < 35) {
            c->idp_name = mn(MN_FULL, chance(g, 30) ? 0 : -1, N_CA, -1, -1);
        } else if (r < 45) {
            c->idp_name = gen_name(g, rnd(g, M_NDP), c->issuer);
        }
        c->only_user = chance(g, 7);
        c->only_ca = chance(g, 7);
        c->only_attr = chance(g, 3);
        c->idp_reasons = chance(g, 15) ? gen_reasons(g) : 0;
    }
    c->freshest = chance(g, 15);
    c->crit = chance(g, 4);
    gen_entries(g, c, 35, base_reasons,
                (int)(sizeof(base_reasons) / sizeof(base_reasons[0])));
}

/* A delta CRL meant for complete CRL base. */
static void gen_delta(rng *g, const m_case *k, const m_crl *base, m_crl *x,
                      const long *taken, int ntaken)
{
    int i, again = 1;

    *x = *base;
    x->dp = chance(g, 70) ? -1 : base->dp;
    x->delta_base =
        chance(g, 85) ? base->number - rnd(g, 3) : base->number + 1 + rnd(g, 2);
    x->number =
        chance(g, 85) ? base->number + 1 + rnd(g, 4) : base->number - rnd(g, 2);
    /* distinct numbers: which of two equal deltas is newest is not
       defined */
    while (again) {
        again = 0;
        for (i = 0; i < ntaken; i++) {
            if (taken[i] == x->number) {
                x->number++;
                again = 1;
            }
        }
    }
    if (chance(g, 8)) {
        x->key = gen_key_for(g, x->issuer);
    }
    if (chance(g, 5)) {
        x->akid = chance(g, 50) ? -1 : rnd(g, K_SIGNERS);
    }
    if (chance(g, 5)) {
        x->issuer = rnd(g, N_COUNT);
    }
    if (chance(g, 6)) {
        if (!x->has_idp) {
            x->has_idp = 1;
            x->idp_name = MN_NONE_NAME;
        } else if (chance(g, 50)) {
            x->has_idp = 0;
        } else {
            x->only_user = !x->only_user;
        }
    }
    x->this_off = chance(g, 85) ? -rnd(g, 3600) : gen_this(g);
    gen_next(g, k, x);
    x->freshest = 0;
    x->crit = chance(g, 3);
    gen_entries(g, x, 50, delta_reasons,
                (int)(sizeof(delta_reasons) / sizeof(delta_reasons[0])));
}

static void gen_dps(rng *g, m_case *k)
{
    int r = rnd(g, 100), i;

    k->cert.ndp = r < 15 ? 0 : r < 60 ? 1 : r < 85 ? 2 : 3;
    for (i = 0; i < k->cert.ndp; i++) {
        m_dp *dp = &k->cert.dp[i];
        int tag = chance(g, 8) ? rnd(g, M_NDP) : i;

        r = rnd(g, 100);
        dp->crl_issuer = r < 18 ? N_IND : r < 21 ? N_CA : -1;
        dp->name =
            dp->crl_issuer >= 0 && chance(g, 30)
                ? MN_NONE_NAME
                : gen_name(g, tag, dp->crl_issuer >= 0 ? dp->crl_issuer : N_CA);
        dp->reasons = 0;
    }
    if (k->cert.ndp >= 2 && chance(g, 45)) {
        /* a partition of the reasons over the DPs, now and then with a
           reason nobody covers */
        for (i = 1; i <= 8; i++) {
            int to = i <= k->cert.ndp ? i - 1 : rnd(g, k->cert.ndp);

            k->cert.dp[to].reasons |= RF(i);
        }
        if (chance(g, 15)) {
            for (i = 0; i < k->cert.ndp; i++) {
                unsigned int low =
                    k->cert.dp[i].reasons & (0u - k->cert.dp[i].reasons);

                if (k->cert.dp[i].reasons != low) {
                    k->cert.dp[i].reasons &= ~low;
                    break;
                }
            }
        }
    } else {
        for (i = 0; i < k->cert.ndp; i++) {
            if (chance(g, 10)) {
                k->cert.dp[i].reasons = gen_reasons(g);
            }
        }
    }
}

static void gen_case(rng *g, m_case *k)
{
    static const int signer_pct[K_SIGNERS] = { 95, 70, 70, 50, 70, 85, 50, 0 };
    long numbers[M_NCRL];
    int i, t, nnum = 0, ncomplete;

    memset(k, 0, sizeof(*k));
    k->mode = (dsec_delta_mode)rnd(g, 3);
    k->grace = chance(g, 40) ? 3600 : 0;
    for (i = 0; i < K_SIGNERS; i++) {
        if (chance(g, signer_pct[i])) {
            k->signers |= 1u << i;
        }
    }
    k->cert.is_ca = chance(g, 20);
    k->cert.freshest = chance(g, 15);
    gen_dps(g, k);

    /* complete CRLs for each DP, and for the implicit DP */
    for (t = -1; t < k->cert.ndp; t++) {
        int n = t >= 0 ? chance(g, 85) + chance(g, 40)
                       : (k->cert.ndp == 0 ? chance(g, 90) + chance(g, 25)
                                           : chance(g, 15));

        for (i = 0; i < n && k->ncrl < 5; i++) {
            m_crl *c = &k->crl[k->ncrl];

            if (i > 0 && chance(g, 60)) {
                /* a reissue or a partition of the previous one */
                *c = c[-1];
                if (c->has_idp && c->idp_reasons != 0 && chance(g, 60)) {
                    c->idp_reasons = ALL & ~c->idp_reasons;
                    if (c->idp_reasons == 0) {
                        c->idp_reasons = RF(1);
                    }
                } else {
                    int r = rnd(g, 100);

                    c->this_off = r < 15 ? c[-1].this_off : gen_this(g);
                    c->number = r < 5 ? c[-1].number : 10 + rnd(g, 30);
                    gen_next(g, k, c);
                }
                gen_entries(
                    g, c, 35, base_reasons,
                    (int)(sizeof(base_reasons) / sizeof(base_reasons[0])));
            } else {
                gen_complete(g, k, t, c);
            }
            k->ncrl++;
        }
    }
    /* noise: another CA's CRL listing the subject's serial */
    if (k->ncrl < 6 && chance(g, 10)) {
        m_crl *c = &k->crl[k->ncrl++];

        gen_complete(g, k, -1, c);
        c->issuer = N_OTHER;
        c->key = K_OTHER;
        c->akid = K_OTHER;
        c->dp = rnd(g, k->cert.ndp + 1) - 1;
        c->nent = 1;
        memset(&c->ent[0], 0, sizeof(c->ent[0]));
        c->ent[0].serial = SUBJECT_SERIAL;
        c->ent[0].reason = R_KEY_COMPROMISE;
        c->ent[0].cert_issuer = -1;
    }
    ncomplete = k->ncrl;
    for (i = 0; i < ncomplete && k->ncrl < M_NCRL; i++) {
        int n = chance(g, 40) + chance(g, 12);

        for (t = 0; t < n && k->ncrl < M_NCRL; t++) {
            gen_delta(g, k, &k->crl[i], &k->crl[k->ncrl], numbers, nnum);
            numbers[nnum++] = k->crl[k->ncrl].number;
            k->ncrl++;
        }
    }
    /* the input order matters only for ties: shuffle it */
    for (i = k->ncrl - 1; i > 0; i--) {
        int j = rnd(g, i + 1);
        m_crl tmp = k->crl[i];

        k->crl[i] = k->crl[j];
        k->crl[j] = tmp;
    }
}

/*
 * A case where plain OpenSSL (X509_verify_cert, CRL check of the leaf,
 * extended CRL support, deltas) is a trustworthy oracle: one complete CRL
 * of the CA, signed with its key (or forged), AKID of the CA, no delta,
 * no reasons, no cRLIssuer, times away from every boundary where decide.h
 * differs from OpenSSL (skew, grace, no nextUpdate). An IDP name only on a
 * host CRL (OpenSSL matches any DP) and never the issuer's DN alone
 * (OpenSSL has no implicit DP when the certificate has DPs).
 */
static void gen_simple(rng *g, m_case *k)
{
    int r, i;
    m_crl *c = &k->crl[0];

    memset(k, 0, sizeof(*k));
    k->mode = (dsec_delta_mode)rnd(g, 3);
    k->grace = 0;
    k->signers = 1u << K_CA;
    for (i = 1; i < K_BAD; i++) {
        if (chance(g, 40)) {
            k->signers |= 1u << i;
        }
    }
    k->cert.is_ca = chance(g, 25);
    k->cert.freshest = k->mode != DSEC_DELTA_REQUIRE && chance(g, 20);
    k->cert.ndp = rnd(g, 3);
    for (i = 0; i < k->cert.ndp; i++) {
        k->cert.dp[i].crl_issuer = -1;
        k->cert.dp[i].name = gen_name(g, i, N_CA);
    }
    k->ncrl = 1;
    c->dp = k->cert.ndp > 0 && chance(g, 60) ? rnd(g, k->cert.ndp) : -1;
    c->issuer = N_CA;
    c->key = chance(g, 85) ? K_CA : K_BAD;
    c->akid = K_CA;
    r = rnd(g, 100);
    c->this_off = r < 90 ? -(60 + rnd(g, DAY)) : 3600 + rnd(g, DAY);
    c->has_next = 1;
    r = rnd(g, 100);
    c->next_off = r < 88 ? 3600 + rnd(g, DAY) : -(3600 + rnd(g, DAY));
    c->number = 1 + rnd(g, 100);
    c->delta_base = -1;
    c->idp_name = MN_NONE_NAME;
    if (chance(g, 45)) {
        c->has_idp = 1;
        c->only_user = chance(g, 25);
        c->only_ca = chance(g, 25);
        c->only_attr = chance(g, 8);
        if (k->cert.ndp > 0 && chance(g, 50)) {
            int t = rnd(g, k->cert.ndp);

            c->dp = -1;
            r = rnd(g, 100);
            c->idp_name = r < 50   ? k->cert.dp[t].name
                          : r < 65 ? other_form(&k->cert.dp[t].name, N_CA)
                                   : gen_name(g, rnd(g, M_NDP + 1), N_CA);
        }
    }
    c->freshest = k->mode != DSEC_DELTA_REQUIRE && chance(g, 20);
    c->crit = chance(g, 5);
    gen_entries(g, c, 50, base_reasons,
                (int)(sizeof(base_reasons) / sizeof(base_reasons[0])));
}

/* ---- the model as DER ---- */

static void name_spec(const m_name *n, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    if (n->kind == MN_REL) {
        snprintf(buf, len, "REL:dp%d", n->rel);
        return;
    }
    if (n->uri >= 0) {
        used = (size_t)snprintf(buf, len, "http://crl.example/dp%d", n->uri);
    }
    if (n->dir_base >= 0 || n->dir_tag >= 0) {
        char tag[16];

        snprintf(tag, sizeof(tag), "dp%d", n->dir_tag);
        snprintf(buf + used, len - used, "%sDIR:%s%s%s", used > 0 ? "|" : "",
                 n->dir_base >= 0 ? model_cn[n->dir_base] : "",
                 n->dir_base >= 0 && n->dir_tag >= 0 ? "/" : "",
                 n->dir_tag >= 0 ? tag : "");
    }
}

static X509 *build_cert(const m_case *k)
{
    char names[M_NDP][128], issuers[M_NDP][64];
    tu_dp dps[M_NDP];
    int i;

    for (i = 0; i < k->cert.ndp; i++) {
        const m_dp *dp = &k->cert.dp[i];

        name_spec(&dp->name, names[i], sizeof(names[i]));
        snprintf(issuers[i], sizeof(issuers[i]), "DIR:%s",
                 dp->crl_issuer >= 0 ? model_cn[dp->crl_issuer] : "");
        dps[i].name = dp->name.kind != MN_NONE ? names[i] : NULL;
        dps[i].reasons = dp->reasons;
        dps[i].crl_issuer = dp->crl_issuer >= 0 ? issuers[i] : NULL;
    }
    return subject_cert(dps, (size_t)k->cert.ndp, k->cert.is_ca,
                        k->cert.freshest);
}

static X509_CRL *build_crl(const m_crl *c)
{
    static const tu_dp delta_dp = { DELTA_URL, 0, NULL };
    char idp_name[128], issuers[M_NENT][64];
    tu_crl_entry ent[M_NENT];
    tu_crl_spec s;
    int i;

    memset(&s, 0, sizeof(s));
    s.issuer = model_cn[c->issuer];
    s.key = keys[c->key];
    s.akid = c->akid >= 0 ? signer_cert[c->akid] : NULL;
    s.this_update = NOW + c->this_off;
    s.next_update = c->has_next ? NOW + c->next_off : 0;
    s.number = c->number;
    s.delta_base = c->delta_base;
    s.idp = c->has_idp;
    name_spec(&c->idp_name, idp_name, sizeof(idp_name));
    s.idp_name = c->idp_name.kind != MN_NONE ? idp_name : NULL;
    s.only_user = c->only_user;
    s.only_ca = c->only_ca;
    s.only_attr = c->only_attr;
    s.indirect = c->indirect;
    s.idp_reasons = c->idp_reasons;
    s.freshest = c->freshest ? &delta_dp : NULL;
    s.nfreshest = c->freshest ? 1 : 0;
    s.unknown_critical = c->crit;
    for (i = 0; i < c->nent; i++) {
        ent[i].serial = c->ent[i].serial;
        ent[i].reason = c->ent[i].reason;
        snprintf(issuers[i], sizeof(issuers[i]), "DIR:%s",
                 c->ent[i].cert_issuer >= 0 ? model_cn[c->ent[i].cert_issuer]
                                            : "");
        ent[i].cert_issuer = c->ent[i].cert_issuer >= 0 ? issuers[i] : NULL;
        ent[i].unknown_critical = c->ent[i].crit;
    }
    s.entries = ent;
    s.nentries = (size_t)c->nent;
    return tu_crl_ex(&s);
}

/* ---- describing a case ---- */

static const char *mode_name(dsec_delta_mode m)
{
    return m == DSEC_DELTA_REQUIRE        ? "require"
           : m == DSEC_DELTA_IF_AVAILABLE ? "if-available"
                                          : "ignore";
}

static void describe_name(FILE *f, const m_name *n)
{
    char buf[160];

    if (n->kind == MN_NONE) {
        fputs("-", f);
        return;
    }
    name_spec(n, buf, sizeof(buf));
    fputs(buf, f);
}

static void describe_reasons(FILE *f, unsigned int r)
{
    if (r == 0) {
        fputs("all", f);
    } else {
        fprintf(f, "0x%03x", r);
    }
}

static void describe_case(FILE *f, const m_case *k)
{
    int i, j;

    fprintf(f, "  mode %s, grace %ld, validated signers:", mode_name(k->mode),
            k->grace);
    for (i = 0; i < K_SIGNERS; i++) {
        if ((k->signers & (1u << i)) != 0) {
            fprintf(f, " %s", key_label[i]);
        }
    }
    fprintf(f, "\n  certificate: %s, serial 0x%lx, issuer \"%s\"%s, %d DP\n",
            k->cert.is_ca ? "CA" : "end entity", SUBJECT_SERIAL, CN_CA,
            k->cert.freshest ? ", freshestCRL" : "", k->cert.ndp);
    for (i = 0; i < k->cert.ndp; i++) {
        const m_dp *dp = &k->cert.dp[i];

        fprintf(f, "    DP %d: name ", i);
        describe_name(f, &dp->name);
        fputs(", reasons ", f);
        describe_reasons(f, dp->reasons);
        fprintf(f, ", cRLIssuer %s\n",
                dp->crl_issuer >= 0 ? model_cn[dp->crl_issuer] : "-");
    }
    for (i = 0; i < k->ncrl; i++) {
        const m_crl *c = &k->crl[i];

        fprintf(f, "  CRL %d (%s", i,
                c->delta_base >= 0 ? "delta" : "complete");
        if (c->dp >= 0) {
            fprintf(f, ", fetched from DP %d", c->dp);
        } else {
            fputs(", from the host", f);
        }
        fprintf(f, "): issuer \"%s\", signed by %s, AKID %s\n",
                model_cn[c->issuer], key_label[c->key],
                c->akid >= 0 ? key_label[c->akid] : "-");
        fprintf(f, "    thisUpdate now%+ld", c->this_off);
        if (c->has_next) {
            fprintf(f, ", nextUpdate now%+ld", c->next_off);
        } else {
            fputs(", no nextUpdate", f);
        }
        fprintf(f, ", number %ld", c->number);
        if (c->delta_base >= 0) {
            fprintf(f, ", deltaCRLIndicator %ld", c->delta_base);
        }
        fprintf(f, "%s%s\n", c->freshest ? ", freshestCRL" : "",
                c->crit ? ", UNKNOWN CRITICAL EXTENSION" : "");
        if (c->has_idp) {
            fputs("    IDP: name ", f);
            describe_name(f, &c->idp_name);
            fprintf(f, "%s%s%s%s, onlySomeReasons ",
                    c->only_user ? ", onlyUser" : "",
                    c->only_ca ? ", onlyCA" : "",
                    c->only_attr ? ", onlyAttr" : "",
                    c->indirect ? ", indirect" : "");
            describe_reasons(f, c->idp_reasons);
            fputs("\n", f);
        }
        for (j = 0; j < c->nent; j++) {
            const m_entry *e = &c->ent[j];

            fprintf(
                f, "    entry: serial 0x%lx%s, reason %d%s%s%s\n", e->serial,
                e->serial == SUBJECT_SERIAL ? " (the subject's)" : "",
                e->reason, e->cert_issuer >= 0 ? ", certificateIssuer " : "",
                e->cert_issuer >= 0 ? model_cn[e->cert_issuer] : "",
                e->crit ? ", UNKNOWN CRITICAL EXTENSION" : "");
        }
    }
}

/*
 * Parsed subject certificates by model: OpenSSL 3.0 decodes the public key
 * through its decoder framework on every d2i_X509, the dearest step of a
 * case (and of valgrind's run). Many cases share a certificate, as links
 * of real chains do.
 */
#define CERT_CACHE 4096

static struct {
    m_cert key;
    X509 *cert;
} cert_cache[CERT_CACHE];
static size_t cert_cached;

static X509 *cached_cert(const m_case *k)
{
    const unsigned char *p = (const unsigned char *)&k->cert;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i, slot = 0;

    if (cert_cached >= CERT_CACHE / 4 * 3) {
        cert_cache_clear(); /* long runs: start over */
    }
    for (i = 0; i < sizeof(k->cert); i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    for (i = 0; i < CERT_CACHE; i++) {
        slot = (size_t)((h + i) % CERT_CACHE);
        if (cert_cache[slot].cert == NULL) {
            cert_cache[slot].key = k->cert;
            cert_cache[slot].cert = build_cert(k);
            cert_cached++;
            break;
        }
        if (memcmp(&cert_cache[slot].key, &k->cert, sizeof(k->cert)) == 0) {
            break;
        }
    }
    if (i == CERT_CACHE || !X509_up_ref(cert_cache[slot].cert)) {
        return NULL;
    }
    return cert_cache[slot].cert;
}

static void cert_cache_clear(void)
{
    size_t i;

    for (i = 0; i < CERT_CACHE; i++) {
        X509_free(cert_cache[i].cert);
        cert_cache[i].cert = NULL;
    }
    cert_cached = 0;
}

/* ---- running a case ---- */

typedef struct {
    X509 *cert;
    dsec_crl_set set;
    signer_list signers;
} built_case;

static int build_case(const m_case *k, built_case *b)
{
    int i;

    memset(b, 0, sizeof(*b));
    if ((b->cert = cached_cert(k)) == NULL) {
        return 0;
    }
    for (i = 0; i < k->ncrl; i++) {
        X509_CRL *crl = build_crl(&k->crl[i]);
        int ok = crl != NULL
                 && dsec_crl_set_add(&b->set, crl, k->crl[i].dp, NULL,
                                     k->crl[i].dp < 0 ? NULL : "fetched");

        X509_CRL_free(crl);
        if (!ok) {
            return 0;
        }
    }
    for (i = 0; i < K_SIGNERS; i++) {
        if ((k->signers & (1u << i)) != 0) {
            b->signers.v[b->signers.n++] = signer_cert[i];
        }
    }
    return 1;
}

static void free_case(built_case *b)
{
    X509_free(b->cert);
    dsec_crl_set_clear(&b->set);
}

static void link_of(const m_case *k, built_case *b, dsec_link *link)
{
    memset(link, 0, sizeof(*link));
    link->cert = b->cert;
    link->issuer = ca;
    link->now = NOW;
    link->grace = k->grace;
    link->delta = k->mode;
    link->signer = list_signer;
    link->arg = &b->signers;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? strtoull(v, NULL, 0) : dflt;
}

/* Mismatches by kind; the first few of each (DSEC_DECIDE_SHOW, default
   4) are described in full. */
enum { MM_DECIDE, MM_CHECK, MM_CHECK_DELTA, MM_OPENSSL, MM_KINDS };

static long mismatches[MM_KINDS];
static long mm_shown = 4;

/* idx < 0: oracle case -idx - 1 (test_decide_reference_vs_openssl). */
static void report_mismatch(uint64_t seed, long idx, const m_case *k, int kind,
                            const char *what, const m_result *ref,
                            const dsec_decision *d)
{
    if (mismatches[kind]++ >= mm_shown) {
        return;
    }
    if (idx >= 0) {
        fprintf(stderr,
                "\nDIFFERENTIAL MISMATCH (%s): seed 0x%" PRIx64 " case %ld "
                "(DSEC_DECIDE_SEED=0x%" PRIx64 " DSEC_DECIDE_ONLY=%ld)\n",
                what, seed, idx, seed, idx);
    } else {
        fprintf(stderr,
                "\nDIFFERENTIAL MISMATCH (%s): oracle seed 0x%" PRIx64
                " oracle case %ld\n",
                what, seed, -idx - 1);
    }
    describe_case(stderr, k);
    fprintf(stderr,
            "  reference: %s, reason %d, reasons 0x%03x, a CRL used: %d\n",
            dsec_decide_status_name(ref->status), ref->reason, ref->reasons,
            ref->used);
    if (d != NULL) {
        fprintf(stderr,
                "  decide.c:  %s, reason %d, reasons 0x%03x, rv %s: %s\n",
                dsec_decide_status_name(d->status), d->reason, d->reasons,
                dsec_rv_name(d->rv), d->why);
    }
}

/* The case seeded by seed and idx (each case reproducible alone). */
static void case_rng(rng *g, uint64_t seed, long idx)
{
    g->s = seed ^ ((uint64_t)idx * 0xd1342543de82ef95ULL);
    (void)rng_next(g);
}

/* Unknown decisions of dsec_decide by rv (index -rv). */
static long unknown_rv[32];

/*
 * 1 when dsec_decide (and with checks, dsec_decide_check and
 * dsec_decide_check_delta) agree with the reference.
 */
static int run_case(uint64_t seed, long idx, const m_case *k, int checks,
                    m_stats *st, m_result *ref_out)
{
    built_case b;
    dsec_link link;
    dsec_decision d;
    m_result ref;
    int ok = 1, i, j;

    ref_decide(k, &ref, st);
    if (ref_out != NULL) {
        *ref_out = ref;
    }
    if (!build_case(k, &b)) {
        free_case(&b);
        CU_FAIL("building a differential case");
        return 0;
    }
    link_of(k, &b, &link);
    if ((idx & 1) != 0) { /* odd cases: the DPs decoded once, by the caller */
        link.dps = dsec_decide_dps(b.cert);
    }
    dsec_decide(&link, &b.set, &d);
    if (d.status == DSEC_STATUS_UNKNOWN && d.rv < 0 && d.rv > -32) {
        unknown_rv[-d.rv]++;
    }
    if (d.status != ref.status
        || (ref.status == DSEC_STATUS_UNKNOWN
            && d.x509_err != X509_V_ERR_UNABLE_TO_GET_CRL
            && d.x509_err != X509_V_ERR_CRL_HAS_EXPIRED
            && d.x509_err != X509_V_ERR_CRL_SIGNATURE_FAILURE)
        || (ref.status == DSEC_STATUS_REVOKED && d.reason != ref.reason)
        || d.reasons != ref.reasons
        || (ref.status == DSEC_STATUS_UNKNOWN
            && (d.rv == DSEC_ERR_CRL_REASONS) != ref.used)) {
        report_mismatch(seed, idx, k, MM_DECIDE, "dsec_decide", &ref, &d);
        ok = 0;
    }
    /* every complete CRL through dsec_decide_check, and every delta
       through dsec_decide_check_delta against those that pass */
    for (i = 0; checks && i < k->ncrl; i++) {
        unsigned int want_r, got_r = 0;
        int want = ref_check(k, &k->crl[i], &want_r);
        X509 *signer = NULL;
        DSEC_ERR e = { 0 };
        dsec_rv rv;

        if (k->crl[i].delta_base >= 0) {
            continue;
        }
        rv = dsec_decide_check(&link, &b.set.v[i], &got_r, &signer, &e);
        if ((rv == DSEC_OK) != want || (want && got_r != want_r)) {
            char what[480];

            snprintf(what, sizeof(what),
                     "dsec_decide_check of CRL %d: %s (%.200s) reasons 0x%03x, "
                     "reference %s reasons 0x%03x",
                     i, dsec_rv_name(rv), e.msg, got_r, want ? "ok" : "fails",
                     want_r);
            report_mismatch(seed, idx, k, MM_CHECK, what, &ref, NULL);
            ok = 0;
        }
        if (rv != DSEC_OK) {
            continue;
        }
        for (j = 0; j < k->ncrl; j++) {
            int want_d;

            if (k->crl[j].delta_base < 0) {
                continue;
            }
            want_d = ref_delta_ok(k, &k->crl[i], &k->crl[j]);
            rv = dsec_decide_check_delta(&link, &b.set.v[i], signer,
                                         &b.set.v[j], &e);
            if ((rv == DSEC_OK) != want_d) {
                char what[480];

                snprintf(what, sizeof(what),
                         "dsec_decide_check_delta of CRL %d for CRL %d: %s "
                         "(%.200s), reference %s",
                         j, i, dsec_rv_name(rv), e.msg,
                         want_d ? "applies" : "does not apply");
                report_mismatch(seed, idx, k, MM_CHECK_DELTA, what, &ref, NULL);
                ok = 0;
            }
        }
    }
    sk_DIST_POINT_pop_free(link.dps, DIST_POINT_free);
    free_case(&b);
    return ok;
}

static void test_decide_differential(void)
{
    uint64_t seed = env_u64("DSEC_DECIDE_SEED", 0xdec1de);
    long ncases = (long)env_u64("DSEC_DECIDE_CASES", 3000);
    long only = getenv("DSEC_DECIDE_ONLY") != NULL
                    ? (long)env_u64("DSEC_DECIDE_ONLY", 0)
                    : -1;
    long idx, count[3] = { 0, 0, 0 }, bad = 0, run = 0;
    m_stats st;
    int i;

    memset(&st, 0, sizeof(st));
    memset(mismatches, 0, sizeof(mismatches));
    mm_shown = (long)env_u64("DSEC_DECIDE_SHOW", 4);
    memset(unknown_rv, 0, sizeof(unknown_rv));
    for (idx = only >= 0 ? only : 0; idx < (only >= 0 ? only + 1 : ncases);
         idx++) {
        m_case k;
        m_result ref;
        rng g;

        case_rng(&g, seed, idx);
        gen_case(&g, &k);
        if (only >= 0) {
            fprintf(stderr, "\ncase %ld:\n", idx);
            describe_case(stderr, &k);
        }
        if (!run_case(seed, idx, &k, 1, &st, &ref)) {
            bad++;
        }
        count[ref.status]++;
        run++;
    }
    fprintf(stderr,
            "\n  differential: %ld cases (seed 0x%" PRIx64 "): good %ld, "
            "revoked %ld, unknown %ld (%ld for reasons), %ld mismatches\n"
            "  exercised: delta applied %ld (revoked by it %ld, "
            "removeFromCRL %ld), indirect %ld, inherited certificateIssuer "
            "%ld, good from several CRLs %ld, older listing CRL skipped %ld, "
            "rolled-over key %ld, CRL-signing key %ld, required delta "
            "missing %ld, host CRL %ld, implicit DP %ld, stale within grace "
            "%ld\n",
            run, seed, count[DSEC_STATUS_GOOD], count[DSEC_STATUS_REVOKED],
            count[DSEC_STATUS_UNKNOWN], st.reasons_unknown, bad,
            st.delta_applied, st.delta_revoked, st.delta_removed,
            st.indirect_used, st.inherited_issuer, st.partitions_good,
            st.older_skipped, st.rollover, st.crl_signing_key,
            st.no_delta_skipped, st.host_used, st.implicit_used, st.stale_used);
    fputs("  dsec_decide's unknowns by rv:", stderr);
    for (i = 0; i < 32; i++) {
        if (unknown_rv[i] > 0) {
            fprintf(stderr, " %s %ld", dsec_rv_name((dsec_rv)-i),
                    unknown_rv[i]);
        }
    }
    fprintf(stderr,
            "\n  mismatches: dsec_decide %ld, dsec_decide_check %ld, "
            "dsec_decide_check_delta %ld\n",
            mismatches[MM_DECIDE], mismatches[MM_CHECK],
            mismatches[MM_CHECK_DELTA]);
    cert_cache_clear();
    CU_ASSERT_EQUAL(mismatches[MM_DECIDE], 0);
    CU_ASSERT_EQUAL(mismatches[MM_CHECK], 0);
    CU_ASSERT_EQUAL(mismatches[MM_CHECK_DELTA], 0);
    CU_ASSERT_EQUAL(bad, 0);
    if (only < 0 && ncases >= 3000) {
        /* the generator must keep exercising every feature */
        CU_ASSERT_TRUE(count[DSEC_STATUS_GOOD] > ncases / 10);
        CU_ASSERT_TRUE(count[DSEC_STATUS_REVOKED] > ncases / 10);
        CU_ASSERT_TRUE(count[DSEC_STATUS_UNKNOWN] > ncases / 10);
        CU_ASSERT_TRUE(st.reasons_unknown > 30);
        CU_ASSERT_TRUE(st.delta_revoked > 30);
        CU_ASSERT_TRUE(st.delta_removed > 30);
        CU_ASSERT_TRUE(st.indirect_used > 30);
        CU_ASSERT_TRUE(st.inherited_issuer > 5);
        CU_ASSERT_TRUE(st.partitions_good > 30);
        CU_ASSERT_TRUE(st.older_skipped > 5);
        CU_ASSERT_TRUE(st.rollover > 30);
        CU_ASSERT_TRUE(st.crl_signing_key > 30);
        CU_ASSERT_TRUE(st.no_delta_skipped > 30);
        CU_ASSERT_TRUE(st.implicit_used > 30);
        CU_ASSERT_TRUE(st.stale_used > 30);
    }
}

/* ---- the reference against plain OpenSSL ---- */

/* X509_verify_cert's answer for the subject of k: good, revoked or
   unknown (any other verify error). */
static dsec_status openssl_status(built_case *b, int *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = tu_chain(ca, NULL);
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    dsec_status st = DSEC_STATUS_UNKNOWN;
    size_t i;
    int rc;

    *err = -1;
    if (store == NULL || ctx == NULL || untrusted == NULL || crls == NULL
        || !X509_STORE_add_cert(store, root)) {
        goto done;
    }
    for (i = 0; i < b->set.n; i++) {
        if (!sk_X509_CRL_push(crls, b->set.v[i].crl)) {
            goto done;
        }
    }
    if (!X509_STORE_CTX_init(ctx, store, b->cert, untrusted)) {
        goto done;
    }
    X509_STORE_CTX_set0_crls(ctx, crls);
    X509_STORE_CTX_set_time(ctx, 0, NOW);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK
                                      | X509_V_FLAG_EXTENDED_CRL_SUPPORT
                                      | X509_V_FLAG_USE_DELTAS);
    rc = X509_verify_cert(ctx);
    *err = X509_STORE_CTX_get_error(ctx);
    st = rc == 1                           ? DSEC_STATUS_GOOD
         : *err == X509_V_ERR_CERT_REVOKED ? DSEC_STATUS_REVOKED
                                           : DSEC_STATUS_UNKNOWN;

done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    sk_X509_CRL_free(crls); /* the set owns the CRLs */
    return st;
}

static void test_decide_reference_vs_openssl(void)
{
    uint64_t seed = env_u64("DSEC_DECIDE_SEED", 0xdec1de) ^ 0x0551;
    long ncases = (long)env_u64("DSEC_DECIDE_CASES", 3000) / 6, idx;
    long count[3] = { 0, 0, 0 }, bad = 0;
    m_stats st;

    memset(&st, 0, sizeof(st));
    memset(mismatches, 0, sizeof(mismatches));
    mm_shown = (long)env_u64("DSEC_DECIDE_SHOW", 4);
    for (idx = 0; idx < ncases; idx++) {
        built_case b;
        m_result ref;
        m_case k;
        rng g;
        int err;
        dsec_status ossl;

        case_rng(&g, seed, idx);
        gen_simple(&g, &k);
        /* dsec_decide as well, so the three agree */
        (void)run_case(seed, -idx - 1, &k, 0, &st, &ref);
        if (!build_case(&k, &b)) {
            free_case(&b);
            cert_cache_clear();
            CU_FAIL("building an oracle case");
            return;
        }
        ossl = openssl_status(&b, &err);
        if (ossl != ref.status && mismatches[MM_OPENSSL]++ < mm_shown) {
            fprintf(stderr,
                    "\nREFERENCE != OPENSSL: seed 0x%" PRIx64 " oracle case "
                    "%ld: OpenSSL %s (verify error %d: %s), reference %s\n",
                    seed, idx, dsec_decide_status_name(ossl), err,
                    X509_verify_cert_error_string(err),
                    dsec_decide_status_name(ref.status));
            describe_case(stderr, &k);
        }
        bad += ossl != ref.status;
        count[ref.status]++;
        free_case(&b);
    }
    cert_cache_clear();
    fprintf(stderr,
            "\n  oracle: %ld cases: good %ld, revoked %ld, unknown %ld; "
            "reference != OpenSSL %ld, dsec_decide != reference %ld\n",
            ncases, count[0], count[1], count[2], bad, mismatches[MM_DECIDE]);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(mismatches[MM_DECIDE], 0);
    CU_ASSERT_TRUE(ncases < 300
                   || (count[0] > ncases / 10 && count[1] > ncases / 10
                       && count[2] > ncases / 10));
}

static CU_TestInfo tests[] = {
    { "test_decide_good", test_decide_good },
    { "test_decide_revoked", test_decide_revoked },
    { "test_decide_no_crl", test_decide_no_crl },
    { "test_decide_only_delta", test_decide_only_delta },
    { "test_decide_other_issuer", test_decide_other_issuer },
    { "test_decide_other_key", test_decide_other_key },
    { "test_decide_signers", test_decide_signers },
    { "test_decide_stale", test_decide_stale },
    { "test_decide_stale_grace", test_decide_stale_grace },
    { "test_decide_future", test_decide_future },
    { "test_decide_no_next_update", test_decide_no_next_update },
    { "test_decide_critical_extension", test_decide_critical_extension },
    { "test_decide_critical_entry_extension",
      test_decide_critical_entry_extension },
    { "test_decide_idp_name", test_decide_idp_name },
    { "test_decide_idp_name_forms", test_decide_idp_name_forms },
    { "test_decide_only_contains", test_decide_only_contains },
    { "test_decide_partition_dps", test_decide_partition_dps },
    { "test_decide_partition_only_some_reasons",
      test_decide_partition_only_some_reasons },
    { "test_decide_indirect", test_decide_indirect },
    { "test_decide_delta_revokes", test_decide_delta_revokes },
    { "test_decide_delta_remove_from_crl", test_decide_delta_remove_from_crl },
    { "test_decide_delta_not_applied", test_decide_delta_not_applied },
    { "test_decide_delta_newest", test_decide_delta_newest },
    { "test_decide_delta_required", test_decide_delta_required },
    { "test_decide_delta_stale_flag", test_decide_delta_stale_flag },
    { "test_decide_newest_first", test_decide_newest_first },
    { "test_decide_reported_failure", test_decide_reported_failure },
    { "test_decide_check", test_decide_check },
    { "test_decide_check_no_dp", test_decide_check_no_dp },
    { "test_decide_check_delta", test_decide_check_delta },
    { "test_decide_signed_by", test_decide_signed_by },
    { "test_decide_dps", test_decide_dps },
    { "test_decide_crl_set", test_decide_crl_set },
    { "test_decide_differential", test_decide_differential },
    { "test_decide_reference_vs_openssl", test_decide_reference_vs_openssl },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("decide", suite_init, suite_cleanup, tests);
}
