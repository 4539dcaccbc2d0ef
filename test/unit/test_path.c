/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The path builder on in-memory PKIs: direct paths, backtracking past
 * expired, non-CA, forged and revoked candidates, the fallback and
 * revocation outcomes, loops, and the depth and signature bounds.
 */
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/x509.h>
#include "domainsec/path.h"
#include "testutil.h"

#define DAY 86400L
#define POOL_MAX 256

/* The candidate pool of one test: certificates, anchors among them. */
typedef struct {
    X509 *cert[POOL_MAX];
    int anchor[POOL_MAX];
    int n;
    X509 *revoked[8]; /* status callback answers REVOKED for these */
    int nrevoked;
    X509 *unknown[8]; /* ... and UNKNOWN for these */
    int nunknown;
    int status_calls;
    int log_lines;
    char last_log[1024];
    int saw_expired, saw_not_ca, saw_badsig, saw_revoked;
} pool;

static void pool_add(pool *p, X509 *cert, int anchor)
{
    CU_ASSERT_FATAL(cert != NULL);
    CU_ASSERT_FATAL(p->n < POOL_MAX);
    p->cert[p->n] = cert;
    p->anchor[p->n] = anchor;
    p->n++;
}

static void pool_free(pool *p)
{
    int i;

    for (i = 0; i < p->n; i++) {
        X509_free(p->cert[i]);
    }
    memset(p, 0, sizeof(*p));
}

static int cands(void *arg, X509 *child, dsec_cands *out)
{
    pool *p = arg;
    int i;

    for (i = 0; i < p->n; i++) {
        if (X509_NAME_cmp(X509_get_subject_name(p->cert[i]),
                          X509_get_issuer_name(child))
                == 0
            && !dsec_cands_add(out, p->cert[i],
                               p->anchor[i] ? DSEC_SRC_ANCHOR : DSEC_SRC_CROSS,
                               p->anchor[i], "test")) {
            return 0;
        }
    }
    return 1;
}

static int listed(X509 *const *v, int n, X509 *cert)
{
    int i;

    for (i = 0; i < n; i++) {
        if (X509_cmp(v[i], cert) == 0) {
            return 1;
        }
    }
    return 0;
}

static dsec_path_status status(void *arg, X509 *const *path, int plen, int i,
                               char *why, size_t len)
{
    pool *p = arg;
    X509 *cert = path[i];

    (void)plen;
    p->status_calls++;
    if (listed(p->revoked, p->nrevoked, cert)) {
        snprintf(why, len, "listed");
        return DSEC_PATH_REVOKED;
    }
    if (listed(p->unknown, p->nunknown, cert)) {
        snprintf(why, len, "unreachable");
        return DSEC_PATH_UNKNOWN;
    }
    return DSEC_PATH_GOOD;
}

static void logline(void *arg, const char *line)
{
    pool *p = arg;

    p->log_lines++;
    snprintf(p->last_log, sizeof(p->last_log), "%s", line);
    p->saw_expired |= strstr(line, "rejected: expired") != NULL;
    p->saw_not_ca |= strstr(line, "not a CA") != NULL;
    p->saw_badsig |= strstr(line, "signature does not verify") != NULL;
    p->saw_revoked |= strstr(line, "is revoked") != NULL;
}

static dsec_path_result build(pool *p, X509 *start, int max_depth, int max_sigs,
                              int *sigs, STACK_OF(X509) * *path)
{
    dsec_path_params prm;

    memset(&prm, 0, sizeof(prm));
    prm.now = time(NULL);
    prm.check_time = 1;
    prm.max_depth = max_depth;
    prm.max_sigs = max_sigs;
    prm.sigs_used = sigs;
    prm.candidates = cands;
    prm.status = status;
    prm.log = logline;
    prm.arg = p;
    return dsec_path_build(&prm, start, path);
}

/* The path's certificates are exactly want[0..n-1]. */
static int path_is(STACK_OF(X509) * path, X509 *const *want, int n)
{
    int i;

    if (sk_X509_num(path) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (X509_cmp(sk_X509_value(path, i), want[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

/* A root (anchor), an intermediate and a leaf. */
typedef struct {
    EVP_PKEY *rk, *ik, *lk;
    X509 *root, *inter, *leaf;
} pki;

static void pki_make(pki *k, const char *prefix)
{
    char name[64];

    k->rk = tu_key();
    k->ik = tu_key();
    k->lk = tu_key();
    snprintf(name, sizeof(name), "%s Root", prefix);
    k->root = tu_cert(name, NULL, NULL, k->rk, 1, NULL, -DAY, 10 * DAY);
    snprintf(name, sizeof(name), "%s Inter", prefix);
    k->inter = tu_cert(name, k->root, k->rk, k->ik, 1, "http://x/r.crl", -DAY,
                       10 * DAY);
    snprintf(name, sizeof(name), "%s Leaf", prefix);
    k->leaf = tu_cert(name, k->inter, k->ik, k->lk, 0, "http://x/i.crl", -DAY,
                      5 * DAY);
    CU_ASSERT_FATAL(k->root && k->inter && k->leaf);
}

static void pki_free(pki *k)
{
    X509_free(k->root);
    X509_free(k->inter);
    X509_free(k->leaf);
    EVP_PKEY_free(k->rk);
    EVP_PKEY_free(k->ik);
    EVP_PKEY_free(k->lk);
}

static void test_direct(void)
{
    pool p = { 0 };
    pki k;
    STACK_OF(X509) *path = NULL;
    int sigs = 0;

    pki_make(&k, "Direct");
    pool_add(&p, X509_dup(k.root), 1);
    pool_add(&p, X509_dup(k.inter), 0);
    CU_ASSERT_EQUAL(build(&p, k.leaf, 10, 100, &sigs, &path), DSEC_PATH_FOUND);
    {
        X509 *want[] = { k.leaf, k.inter, k.root };

        CU_ASSERT_TRUE(path_is(path, want, 3));
    }
    CU_ASSERT_EQUAL(sigs, 2);
    /* one path, no choice anywhere: its revocation is left to OpenSSL */
    CU_ASSERT_EQUAL(p.status_calls, 0);
    sk_X509_pop_free(path, X509_free);

    /* without the anchor there is no path at all */
    p.anchor[0] = 0;
    sigs = 0;
    CU_ASSERT_EQUAL(build(&p, k.leaf, 10, 100, &sigs, &path), DSEC_PATH_NONE);
    CU_ASSERT_PTR_NULL(path);
    pool_free(&p);
    pki_free(&k);
}

/*
 * Partner PKI P (root untrusted) cross-certified by our root R: the
 * partner intermediate's issuer has three candidates in this order: an
 * expired cross-certificate, a non-CA one, one signed by another key, and
 * finally the valid one.
 */
static void test_backtracking(void)
{
    pool p = { 0 };
    pki ours, partner;
    EVP_PKEY *forger = tu_key();
    X509 *expired, *notca, *forged, *good;
    STACK_OF(X509) *path = NULL;
    int sigs = 0;

    pki_make(&ours, "Our");
    pki_make(&partner, "Partner");
    /* subject "Partner Root", partner root's key, issued by our root */
    expired = tu_cert("Partner Root", ours.root, ours.rk, partner.rk, 1,
                      "http://x/r.crl", -10 * DAY, -DAY);
    notca = tu_cert("Partner Root", ours.root, ours.rk, partner.rk, 0,
                    "http://x/r.crl", -DAY, 10 * DAY);
    forged = tu_cert("Partner Root", ours.root, forger, partner.rk, 1,
                     "http://x/r.crl", -DAY, 10 * DAY);
    good = tu_cert("Partner Root", ours.root, ours.rk, partner.rk, 1,
                   "http://x/r.crl", -DAY, 10 * DAY);
    pool_add(&p, X509_dup(ours.root), 1);
    pool_add(&p, X509_dup(partner.root), 0); /* untrusted, self-signed */
    pool_add(&p, X509_dup(partner.inter), 0);
    pool_add(&p, expired, 0);
    pool_add(&p, notca, 0);
    pool_add(&p, forged, 0);
    pool_add(&p, X509_dup(good), 0);
    CU_ASSERT_EQUAL(build(&p, partner.leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_FOUND);
    {
        X509 *want[] = { partner.leaf, partner.inter, good, ours.root };

        CU_ASSERT_TRUE(path_is(path, want, 4));
    }
    CU_ASSERT_TRUE(p.saw_expired);
    CU_ASSERT_TRUE(p.saw_not_ca);
    CU_ASSERT_TRUE(p.saw_badsig);
    sk_X509_pop_free(path, X509_free);

    /* the valid cross-certificate revoked: the only paths have a revoked
       CA, and the builder hands the first of them over (OpenSSL reports
       error 23 on it) */
    p.revoked[p.nrevoked++] = good;
    sigs = 0;
    CU_ASSERT_EQUAL(build(&p, partner.leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_REVOKED_ONLY);
    CU_ASSERT_EQUAL(sk_X509_num(path), 4);
    CU_ASSERT_TRUE(p.saw_revoked);
    sk_X509_pop_free(path, X509_free);

    /* its CRL unreachable instead: the path is handed over as doubtful */
    p.nrevoked = 0;
    p.unknown[p.nunknown++] = good;
    sigs = 0;
    CU_ASSERT_EQUAL(build(&p, partner.leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_DOUBTFUL);
    CU_ASSERT_EQUAL(sk_X509_num(path), 4);
    sk_X509_pop_free(path, X509_free);

    /* trusting the partner root directly: a path of three wins over the
       doubtful cross path */
    p.anchor[1] = 1;
    sigs = 0;
    CU_ASSERT_EQUAL(build(&p, partner.leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_FOUND);
    {
        X509 *want[] = { partner.leaf, partner.inter, partner.root };

        CU_ASSERT_TRUE(path_is(path, want, 3));
    }
    sk_X509_pop_free(path, X509_free);
    X509_free(good);
    EVP_PKEY_free(forger);
    pool_free(&p);
    pki_free(&ours);
    pki_free(&partner);
}

/* Only an expired intermediate: the relaxed pass hands it over. */
static void test_fallback(void)
{
    pool p = { 0 };
    pki k;
    X509 *old;
    STACK_OF(X509) *path = NULL;
    int sigs = 0;

    pki_make(&k, "Fallback");
    old = tu_cert("Fallback Inter", k.root, k.rk, k.ik, 1, "http://x/r.crl",
                  -10 * DAY, -DAY);
    pool_add(&p, X509_dup(k.root), 1);
    pool_add(&p, old, 0);
    CU_ASSERT_EQUAL(build(&p, k.leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_FALLBACK);
    {
        X509 *want[] = { k.leaf, old, k.root };

        CU_ASSERT_TRUE(path_is(path, want, 3));
    }
    CU_ASSERT_TRUE(p.saw_expired);
    sk_X509_pop_free(path, X509_free);
    pool_free(&p);
    pki_free(&k);
}

/* A and B cross-certify each other, no anchor: the search ends. */
static void test_loop(void)
{
    pool p = { 0 };
    EVP_PKEY *ak = tu_key(), *bk = tu_key(), *lk = tu_key();
    X509 *a = tu_cert("Loop A", NULL, NULL, ak, 1, NULL, -DAY, DAY);
    X509 *b = tu_cert("Loop B", NULL, NULL, bk, 1, NULL, -DAY, DAY);
    X509 *leaf;
    STACK_OF(X509) *path = NULL;
    int sigs = 0;

    CU_ASSERT_FATAL(a && b);
    pool_add(&p, tu_cert("Loop A", b, bk, ak, 1, NULL, -DAY, DAY), 0);
    pool_add(&p, tu_cert("Loop B", a, ak, bk, 1, NULL, -DAY, DAY), 0);
    leaf = tu_cert("Loop Leaf", a, ak, lk, 0, NULL, -DAY, DAY);
    CU_ASSERT_EQUAL(build(&p, leaf, 10, 100, &sigs, &path), DSEC_PATH_NONE);
    CU_ASSERT_TRUE(sigs <= 4);
    X509_free(a);
    X509_free(b);
    X509_free(leaf);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(bk);
    EVP_PKEY_free(lk);
    pool_free(&p);
}

/*
 * A leaf signed by a forger in the name of "Bound Inter", and 200
 * re-issued "Bound Inter" certificates (same key, so each matches the
 * leaf's AKID and costs a signature check that fails).
 */
static void test_signature_bound(void)
{
    pool p = { 0 };
    pki k;
    EVP_PKEY *forger = tu_key();
    X509 *leaf;
    STACK_OF(X509) *path = NULL;
    int i, sigs = 0;

    pki_make(&k, "Bound");
    leaf = tu_cert("Bound Leaf", k.inter, forger, k.lk, 0, NULL, -DAY, DAY);
    CU_ASSERT_FATAL(leaf != NULL);
    pool_add(&p, X509_dup(k.root), 1);
    for (i = 0; i < 200; i++) {
        pool_add(&p,
                 tu_cert("Bound Inter", k.root, k.rk, k.ik, 1, NULL, -DAY, DAY),
                 0);
    }
    CU_ASSERT_EQUAL(build(&p, leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_BOUND_SIGS);
    CU_ASSERT_PTR_NULL(path);
    CU_ASSERT_EQUAL(sigs, 100);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.last_log, "max_signature_checks"));
    /* the real leaf still verifies through the first of them */
    sigs = 0;
    CU_ASSERT_EQUAL(build(&p, k.leaf, 10, 100, &sigs, &path), DSEC_PATH_FOUND);
    CU_ASSERT_EQUAL(sk_X509_num(path), 3);
    sk_X509_pop_free(path, X509_free);
    X509_free(leaf);
    EVP_PKEY_free(forger);
    pool_free(&p);
    pki_free(&k);
}

/* A chain of 14 CAs under the anchor: longer than max_path_depth 10. */
static void test_depth_bound(void)
{
    pool p = { 0 };
    EVP_PKEY *keys[16];
    X509 *prev, *leaf;
    STACK_OF(X509) *path = NULL;
    char name[32];
    int i, sigs = 0;

    keys[0] = tu_key();
    prev = tu_cert("Deep 0", NULL, NULL, keys[0], 1, NULL, -DAY, DAY);
    pool_add(&p, prev, 1);
    for (i = 1; i < 15; i++) {
        keys[i] = tu_key();
        snprintf(name, sizeof(name), "Deep %d", i);
        prev = tu_cert(name, prev, keys[i - 1], keys[i], 1, NULL, -DAY, DAY);
        pool_add(&p, prev, 0);
    }
    keys[15] = tu_key();
    leaf = tu_cert("Deep Leaf", prev, keys[14], keys[15], 0, NULL, -DAY, DAY);
    CU_ASSERT_EQUAL(build(&p, leaf, 10, 100, &sigs, &path),
                    DSEC_PATH_BOUND_DEPTH);
    CU_ASSERT_PTR_NULL(path);
    /* a bound of 20 lets the same chain through */
    sigs = 0;
    CU_ASSERT_EQUAL(build(&p, leaf, 20, 100, &sigs, &path), DSEC_PATH_FOUND);
    CU_ASSERT_EQUAL(sk_X509_num(path), 16);
    sk_X509_pop_free(path, X509_free);
    X509_free(leaf);
    for (i = 0; i < 16; i++) {
        EVP_PKEY_free(keys[i]);
    }
    pool_free(&p);
}

static CU_TestInfo tests[] = {
    { "direct path; none without an anchor", test_direct },
    { "backtracking past expired, non-CA, forged, revoked", test_backtracking },
    { "fallback path when only invalid ones exist", test_fallback },
    { "cross-certification loop ends", test_loop },
    { "signature-check bound", test_signature_bound },
    { "depth bound", test_depth_bound },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("path", NULL, NULL, tests);
}
