/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/gate.c: the signature gate over a chain (which depth's
 * CDPs may be fetched, and which link is forged).
 */
#include <CUnit/Basic.h>
#include "domainsec/gate.h"
#include "testutil.h"

static EVP_PKEY *root_key;
static EVP_PKEY *inter_key;
static EVP_PKEY *leaf_key;
static EVP_PKEY *wrong_key;
static X509 *root;
static X509 *inter;
static X509 *inter_bad; /* claims root as issuer, signed by wrong_key */
static X509 *leaf;
static X509 *leaf_bad; /* claims inter as issuer, signed by wrong_key */

static int suite_init(void)
{
    root_key = tu_key();
    inter_key = tu_key();
    leaf_key = tu_key();
    wrong_key = tu_key();
    if (root_key == NULL || inter_key == NULL || leaf_key == NULL
        || wrong_key == NULL) {
        return -1;
    }
    root = tu_cert("Gate Root", NULL, NULL, root_key, 1, NULL, -86400, 86400);
    if (root == NULL) {
        return -1;
    }
    inter = tu_cert("Gate Inter", root, root_key, inter_key, 1, NULL, -86400,
                    86400);
    inter_bad = tu_cert("Gate Inter", root, wrong_key, inter_key, 1, NULL,
                        -86400, 86400);
    if (inter == NULL || inter_bad == NULL) {
        return -1;
    }
    leaf = tu_cert("leaf", inter, inter_key, leaf_key, 0, NULL, -3600, 3600);
    leaf_bad =
        tu_cert("leaf", inter, wrong_key, leaf_key, 0, NULL, -3600, 3600);
    return leaf != NULL && leaf_bad != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    X509_free(root);
    X509_free(inter);
    X509_free(inter_bad);
    X509_free(leaf);
    X509_free(leaf_bad);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(inter_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(wrong_key);
    return 0;
}

static void check_gate(STACK_OF(X509) * chain, int top_trusted, int expect,
                       int expect_bad)
{
    int bad = 99;

    CU_ASSERT_PTR_NOT_NULL_FATAL(chain);
    CU_ASSERT_EQUAL(dsec_gate_chain(chain, top_trusted, &bad, NULL, NULL),
                    expect);
    CU_ASSERT_EQUAL(bad, expect_bad);
    sk_X509_pop_free(chain, X509_free);
}

static void test_gate_good_chain(void)
{
    check_gate(tu_chain(leaf, inter, root, NULL), 1, 0, -1);
}

static void test_gate_untrusted_top(void)
{
    check_gate(tu_chain(leaf, inter, root, NULL), 0, 3, -1);
    check_gate(tu_chain(leaf, inter, NULL), 0, 2, -1);
}

static void test_gate_bad_leaf(void)
{
    check_gate(tu_chain(leaf_bad, inter, root, NULL), 1, 1, 0);
}

static void test_gate_bad_inter(void)
{
    check_gate(tu_chain(leaf, inter_bad, root, NULL), 1, 2, 1);
    /* the highest broken link decides, even if a lower one is bad too */
    check_gate(tu_chain(leaf_bad, inter_bad, root, NULL), 1, 2, 1);
}

static void test_gate_one_element(void)
{
    check_gate(tu_chain(root, NULL), 1, 0, -1);
    check_gate(tu_chain(root, NULL), 0, 1, -1);
}

/* A link verified once is remembered; a forged one never is. */
static void test_gate_verify_link(void)
{
    CU_ASSERT_TRUE(dsec_gate_verify_link(leaf, inter));
    CU_ASSERT_TRUE(dsec_gate_verify_link(leaf, inter));
    CU_ASSERT_FALSE(dsec_gate_verify_link(leaf_bad, inter));
    CU_ASSERT_FALSE(dsec_gate_verify_link(leaf_bad, inter));
    CU_ASSERT_FALSE(dsec_gate_verify_link(inter, leaf));
}

/* known() vouches for a link: it is not checked again. */
static int vouch(void *arg, X509 *cert, X509 *issuer)
{
    (void)issuer;
    return cert == arg;
}

static void test_gate_known_links(void)
{
    STACK_OF(X509) *chain = tu_chain(leaf_bad, inter, root, NULL);
    int bad = 99;

    CU_ASSERT_PTR_NOT_NULL_FATAL(chain);
    CU_ASSERT_EQUAL(dsec_gate_chain(chain, 1, &bad, vouch, leaf_bad), 0);
    CU_ASSERT_EQUAL(bad, -1);
    CU_ASSERT_EQUAL(dsec_gate_chain(chain, 1, &bad, vouch, NULL), 1);
    CU_ASSERT_EQUAL(bad, 0);
    sk_X509_pop_free(chain, X509_free);
}

static CU_TestInfo tests[] = {
    { "test_gate_good_chain", test_gate_good_chain },
    { "test_gate_untrusted_top", test_gate_untrusted_top },
    { "test_gate_bad_leaf", test_gate_bad_leaf },
    { "test_gate_bad_inter", test_gate_bad_inter },
    { "test_gate_one_element", test_gate_one_element },
    { "test_gate_verify_link", test_gate_verify_link },
    { "test_gate_known_links", test_gate_known_links },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("gate", suite_init, suite_cleanup, tests);
}
