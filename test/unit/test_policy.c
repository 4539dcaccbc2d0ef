/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/policy_req.c and src/policy.c: reading policy requests
 * in pieces and within their limits (long lines, large requests, many
 * attributes, lines that are not name=value text), the domains file, and
 * the decision for each kind of verdict, listed or unlisted sender, with
 * and without a certificate.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "domainsec/policy.h"
#include "testutil.h"

static EVP_PKEY *ca_key, *k_good, *k_bad, *k_down;
static X509 *ca, *good, *bad, *down;
static char tmp[512];
static int vfd = -1;
static dsec_policy_partners *partners;
static char hex_good[65], hex_bad[65], hex_down[65], key_bad[65];

static int record(X509 *leaf, dsec_class cls, int error, const char *reason)
{
    dsec_verdict v;

    memset(&v, 0, sizeof(v));
    v.cls = cls;
    v.error = error;
    snprintf(v.reason, sizeof(v.reason), "%s", reason);
    dsec_verdict_names_of(leaf, &v);
    v.time = time(NULL);
    v.expires = v.time + 300;
    return dsec_verdict_write(vfd, leaf, &v, NULL) == DSEC_OK;
}

static int suite_init(void)
{
    static const char domains[] = "# partners\n"
                                  "Partner.Example mx.partner.example\n"
                                  "\n"
                                  "other.example   # name: the domain itself\n";
    char path[600], other[65];
    int cfd;

    ca_key = tu_key();
    k_good = tu_key();
    k_bad = tu_key();
    k_down = tu_key();
    if (ca_key == NULL || k_good == NULL || k_bad == NULL || k_down == NULL
        || tu_tmpdir(tmp, sizeof(tmp)) == NULL) {
        return -1;
    }
    /* no DNS names: the CN is the certificate's name */
    ca = tu_cert("Policy CA", NULL, NULL, ca_key, 1, NULL, -60, 86400);
    good = tu_cert("mx.partner.example", ca, ca_key, k_good, 0, NULL, -60, 600);
    bad = tu_cert("mx.partner.example", ca, ca_key, k_bad, 0, NULL, -60, 600);
    down = tu_cert("mx.partner.example", ca, ca_key, k_down, 0, NULL, -60, 600);
    cfd = open(tmp, O_RDONLY | O_DIRECTORY);
    vfd = dsec_verdict_open_dir(cfd, NULL);
    close(cfd);
    if (ca == NULL || good == NULL || bad == NULL || down == NULL || vfd < 0
        || !record(good, DSEC_CLASS_VALID, 0, "verified, not revoked")
        || !record(bad, DSEC_CLASS_FATAL, 23, "certificate revoked")
        || !record(down, DSEC_CLASS_TRANSIENT, 3, "unable to get CRL")
        || !dsec_verdict_fingerprints(good, hex_good, other)
        || !dsec_verdict_fingerprints(bad, hex_bad, key_bad)
        || !dsec_verdict_fingerprints(down, hex_down, other)) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/domains", tmp);
    if (tu_write_file(path, domains, strlen(domains)) != 0) {
        return -1;
    }
    return dsec_policy_partners_load(path, &partners, NULL) == DSEC_OK ? 0 : -1;
}

static int suite_cleanup(void)
{
    dsec_policy_partners_free(partners);
    close(vfd);
    tu_rmtree(tmp);
    X509_free(ca);
    X509_free(good);
    X509_free(bad);
    X509_free(down);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(k_good);
    EVP_PKEY_free(k_bad);
    EVP_PKEY_free(k_down);
    return 0;
}

/* Feed text whole; returns 1 when a request completed, consumed in *used. */
static int feed(dsec_policy_reader *r, const char *text, size_t len,
                size_t *used)
{
    int complete = 0;

    *used = dsec_policy_reader_feed(r, text, len, &complete);
    return complete;
}

static void test_policy_reader_basic(void)
{
    static const char req[] = "request=smtpd_access_policy\n"
                              "sender=a@b.example\n"
                              "unknown=ignored\n"
                              "queue_id=\n"
                              "ccert_fingerprint=AA:BB\r\n"
                              "\n"
                              "request=next\n";
    dsec_policy_reader *r = calloc(1, sizeof(*r));
    size_t used, i, total = 0;
    int complete = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE(feed(r, req, sizeof(req) - 1, &used));
    /* it stops at the end of the first request */
    CU_ASSERT_EQUAL(used, sizeof(req) - 1 - strlen("request=next\n"));
    CU_ASSERT_STRING_EQUAL(r->error, "");
    CU_ASSERT_STRING_EQUAL(r->value[DSEC_POLICY_A_REQUEST],
                           "smtpd_access_policy");
    CU_ASSERT_STRING_EQUAL(r->value[DSEC_POLICY_A_SENDER], "a@b.example");
    CU_ASSERT_STRING_EQUAL(r->value[DSEC_POLICY_A_CCERT_FINGERPRINT], "AA:BB");
    CU_ASSERT_STRING_EQUAL(r->value[DSEC_POLICY_A_CLIENT_ADDRESS], "");
    /* byte by byte, the same request */
    dsec_policy_reader_reset(r);
    for (i = 0; i < used && !complete; i++) {
        total += dsec_policy_reader_feed(r, req + i, 1, &complete);
        CU_ASSERT_TRUE(dsec_policy_reader_pending(r));
    }
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL(total, used);
    CU_ASSERT_STRING_EQUAL(r->value[DSEC_POLICY_A_SENDER], "a@b.example");
    dsec_policy_reader_reset(r);
    CU_ASSERT_FALSE(dsec_policy_reader_pending(r));
    /* a part of a request is pending, not complete */
    CU_ASSERT_FALSE(feed(r, "request=smtpd", 13, &used));
    CU_ASSERT_EQUAL(used, 13);
    CU_ASSERT_TRUE(dsec_policy_reader_pending(r));
    free(r);
}

/* The error of text fed whole as one request ("" when none). */
static const char *error_of(dsec_policy_reader *r, const char *text, size_t len,
                            int *complete)
{
    size_t used;

    dsec_policy_reader_reset(r);
    *complete = feed(r, text, len, &used);
    CU_ASSERT_EQUAL(used, len);
    return r->error;
}

static void test_policy_reader_errors(void)
{
    static const struct {
        const char *text;
        const char *error;
    } cases[] = {
        { "request=smtpd_access_policy\nno equals\n\n", "without name=value" },
        { "=value\n\n", "without name=value" },
        { "a=b\x01\n\n", "control character" },
        { "sender=a\nsender=b\n\n", "given twice" },
        { "\n", "empty request" },
    };
    dsec_policy_reader *r = calloc(1, sizeof(*r));
    size_t n, i;
    char *big;
    int complete;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_PTR_NOT_NULL(
            strstr(error_of(r, cases[i].text, strlen(cases[i].text), &complete),
                   cases[i].error));
        CU_ASSERT_TRUE(complete);
    }
    CU_ASSERT_PTR_NOT_NULL(
        strstr(error_of(r, "a=\0b\n\n", 6, &complete), "control character"));
    CU_ASSERT_TRUE(complete);
    /* a 1 MB line, a value too long, 101 attributes, 70 KiB */
    big = malloc(1 << 21);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    n = (size_t)snprintf(big, 20, "huge=");
    memset(big + n, 'x', 1 << 20);
    n += 1 << 20;
    memcpy(big + n, "\nsender=a\n\n", 11);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(error_of(r, big, n + 11, &complete), "line over 4096"));
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->error, "line over 4096"));
    n = (size_t)snprintf(big, 20, "sender=");
    memset(big + n, 'y', 2000);
    memcpy(big + n + 2000, "\n\n", 2);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(error_of(r, big, n + 2002, &complete), "too long"));
    for (n = 0, i = 0; i < 101; i++) {
        n += (size_t)sprintf(big + n, "a%zu=1\n", i);
    }
    big[n++] = '\n';
    CU_ASSERT_PTR_NOT_NULL(
        strstr(error_of(r, big, n, &complete), "more than 100"));
    for (n = 0, i = 0; i < 70; i++) {
        n += (size_t)sprintf(big + n, "a%zu=", i);
        memset(big + n, 'z', 1000);
        n += 1000;
        big[n++] = '\n';
    }
    big[n++] = '\n';
    CU_ASSERT_PTR_NOT_NULL(
        strstr(error_of(r, big, n, &complete), "over 65536 bytes"));
    CU_ASSERT_TRUE(complete);
    free(big);
    free(r);
}

static void test_policy_partners(void)
{
    static const char *const bad_files[] = {
        "a.example b.example c.example\n",
        "bad_domain!\n",
        "a.example\nA.EXAMPLE\n",
        "a..example\n",
        "-\n",
    };
    dsec_policy_partners *p = NULL;
    char path[600];
    DSEC_ERR err;
    size_t i;

    CU_ASSERT_EQUAL(dsec_policy_partners_count(partners), 2);
    CU_ASSERT_STRING_EQUAL(
        dsec_policy_partners_find(partners, "partner.example"),
        "mx.partner.example");
    CU_ASSERT_STRING_EQUAL(
        dsec_policy_partners_find(partners, "PARTNER.example"),
        "mx.partner.example");
    CU_ASSERT_STRING_EQUAL(dsec_policy_partners_find(partners, "other.example"),
                           "other.example");
    CU_ASSERT_PTR_NULL(
        dsec_policy_partners_find(partners, "sub.other.example"));
    CU_ASSERT_PTR_NULL(dsec_policy_partners_find(partners, ""));
    CU_ASSERT_PTR_NULL(dsec_policy_partners_find(NULL, "other.example"));
    snprintf(path, sizeof(path), "%s/bad-domains", tmp);
    for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(
            tu_write_file(path, bad_files[i], strlen(bad_files[i])), 0);
        memset(&err, 0, sizeof(err));
        CU_ASSERT_EQUAL(dsec_policy_partners_load(path, &p, &err),
                        DSEC_ERR_INVALID);
        CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
    }
    CU_ASSERT_EQUAL(tu_write_file(path, "a\0b\n", 4), 0);
    CU_ASSERT_EQUAL(dsec_policy_partners_load(path, &p, NULL),
                    DSEC_ERR_INVALID);
    snprintf(path, sizeof(path), "%s/missing", tmp);
    CU_ASSERT_EQUAL(dsec_policy_partners_load(path, &p, &err), DSEC_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing"));
    /* an empty file lists nobody */
    snprintf(path, sizeof(path), "%s/empty", tmp);
    CU_ASSERT_EQUAL(tu_write_file(path, "# none\n", 7), 0);
    CU_ASSERT_EQUAL_FATAL(dsec_policy_partners_load(path, &p, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_policy_partners_count(p), 0);
    dsec_policy_partners_free(p);
}

/* Colon upper-case form of a hex fingerprint, as Postfix sends it. */
static void colon(const char *hex, char out[96])
{
    int i;

    for (i = 0; i < 32; i++) {
        snprintf(out + 3 * i, 4, "%c%c%s", hex[2 * i], hex[2 * i + 1],
                 i < 31 ? ":" : "");
    }
    for (i = 0; out[i] != '\0'; i++) {
        if (out[i] >= 'a' && out[i] <= 'f') {
            out[i] = (char)(out[i] - 32);
        }
    }
}

/* The action for sender with cert's fingerprint (hex or NULL). */
static const char *decide(dsec_policy_unlisted mode, const char *sender,
                          const char *cert_hex, const char *key_hex)
{
    static dsec_policy_answer ans;
    dsec_policy_reader *r = calloc(1, sizeof(*r));
    dsec_policy pol = { vfd, partners, mode };
    char fp[96];

    if (r == NULL) {
        return "";
    }
    snprintf(r->value[DSEC_POLICY_A_REQUEST], DSEC_POLICY_MAX_VALUE,
             "smtpd_access_policy");
    snprintf(r->value[DSEC_POLICY_A_SENDER], DSEC_POLICY_MAX_VALUE, "%s",
             sender);
    if (cert_hex != NULL) {
        colon(cert_hex, fp);
        snprintf(r->value[DSEC_POLICY_A_CCERT_FINGERPRINT],
                 DSEC_POLICY_MAX_VALUE, "%s", fp);
    }
    if (key_hex != NULL) {
        snprintf(r->value[DSEC_POLICY_A_CCERT_PUBKEY_FINGERPRINT],
                 DSEC_POLICY_MAX_VALUE, "%s", key_hex);
    }
    dsec_policy_decide(&pol, r, time(NULL), &ans);
    free(r);
    return ans.action;
}

static void test_policy_decide(void)
{
    const dsec_policy_unlisted E = DSEC_POLICY_UNLISTED_ENFORCE;
    const dsec_policy_unlisted P = DSEC_POLICY_UNLISTED_PASS;
    const char *none =
        "0000000000000000000000000000000000000000000000000000000000000000";

    /* unlisted */
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", hex_good, NULL), "DUNNO");
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", hex_bad, NULL),
                           "REJECT 5.7.1 certificate revoked");
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", hex_down, NULL),
                           DSEC_POLICY_ACTION_TRANSIENT);
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", NULL, NULL), "DUNNO");
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", none, NULL), "DUNNO");
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", NULL, key_bad),
                           "REJECT 5.7.1 certificate revoked");
    CU_ASSERT_STRING_EQUAL(decide(E, "a@x.example", none, key_bad),
                           "REJECT 5.7.1 certificate revoked");
    CU_ASSERT_STRING_EQUAL(decide(P, "a@x.example", hex_bad, NULL), "DUNNO");
    CU_ASSERT_STRING_EQUAL(decide(P, "a@x.example", hex_down, NULL), "DUNNO");
    /* listed: partner.example expects mx.partner.example (the CN) */
    CU_ASSERT_STRING_EQUAL(decide(P, "a@partner.example", NULL, NULL),
                           DSEC_POLICY_ACTION_NO_CERT);
    CU_ASSERT_STRING_EQUAL(decide(E, "a@Partner.EXAMPLE", none, NULL),
                           DSEC_POLICY_ACTION_NO_CERT);
    CU_ASSERT_STRING_EQUAL(decide(E, "a@partner.example", hex_good, NULL),
                           "DUNNO");
    CU_ASSERT_STRING_EQUAL(decide(E, "a@partner.example", hex_bad, NULL),
                           "REJECT 5.7.1 certificate revoked");
    CU_ASSERT_STRING_EQUAL(decide(P, "a@partner.example", hex_down, NULL),
                           DSEC_POLICY_ACTION_TRANSIENT);
    CU_ASSERT_STRING_EQUAL(
        decide(E, "a@other.example", hex_good, NULL),
        "REJECT 5.7.1 certificate does not match domain-secured partner "
        "other.example");
    CU_ASSERT_STRING_EQUAL(
        decide(E, "a@other.example", hex_down, NULL),
        "REJECT 5.7.1 certificate does not match domain-secured partner "
        "other.example");
    /* a fingerprint that is not SHA-256 finds nothing */
    CU_ASSERT_STRING_EQUAL(decide(E, "a@partner.example", NULL, "AB:CD"),
                           DSEC_POLICY_ACTION_NO_CERT);
    /* no sender domain: unlisted */
    CU_ASSERT_STRING_EQUAL(decide(E, "", hex_bad, NULL),
                           "REJECT 5.7.1 certificate revoked");
}

static void test_policy_decide_errors(void)
{
    dsec_policy_reader *r = calloc(1, sizeof(*r));
    dsec_policy pol = { vfd, NULL, DSEC_POLICY_UNLISTED_ENFORCE };
    dsec_policy_answer ans;
    size_t used;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE(
        feed(r, "request=smtpd_access_policy\nbad line\n\n", 39, &used));
    dsec_policy_decide(&pol, r, time(NULL), &ans);
    CU_ASSERT_STRING_EQUAL(ans.action, DSEC_POLICY_ACTION_ERROR);
    CU_ASSERT_STRING_EQUAL(ans.verdict, "error");
    CU_ASSERT_PTR_NOT_NULL(strstr(ans.reason, "name=value"));
    dsec_policy_reader_reset(r);
    CU_ASSERT_TRUE(feed(r, "request=other\n\n", 15, &used));
    dsec_policy_decide(&pol, r, time(NULL), &ans);
    CU_ASSERT_STRING_EQUAL(ans.action, DSEC_POLICY_ACTION_ERROR);
    /* the answer names the fingerprint and verdict for the log */
    dsec_policy_reader_reset(r);
    snprintf(r->value[DSEC_POLICY_A_REQUEST], DSEC_POLICY_MAX_VALUE,
             "smtpd_access_policy");
    snprintf(r->value[DSEC_POLICY_A_CCERT_FINGERPRINT], DSEC_POLICY_MAX_VALUE,
             "%s", hex_bad);
    dsec_policy_decide(&pol, r, time(NULL), &ans);
    CU_ASSERT_STRING_EQUAL(ans.fingerprint, hex_bad);
    CU_ASSERT_STRING_EQUAL(ans.verdict, "fatal");
    CU_ASSERT_STRING_EQUAL(ans.reason, "certificate revoked");
    /* a record past its expiry is no record */
    dsec_policy_decide(&pol, r, time(NULL) + 301, &ans);
    CU_ASSERT_STRING_EQUAL(ans.action, "DUNNO");
    CU_ASSERT_STRING_EQUAL(ans.verdict, "none");
    CU_ASSERT_PTR_NOT_NULL(strstr(ans.reason, "expired"));
    free(r);
}

static CU_TestInfo tests[] = {
    { "test_policy_reader_basic", test_policy_reader_basic },
    { "test_policy_reader_errors", test_policy_reader_errors },
    { "test_policy_partners", test_policy_partners },
    { "test_policy_decide", test_policy_decide },
    { "test_policy_decide_errors", test_policy_decide_errors },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("policy", suite_init, suite_cleanup, tests);
}
