/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the X509_STORE hook keeps. Process-wide: the active provider
 * instance, or when activation failed on a bad configuration the
 * fail-closed mode and its reason, and OpenSSL's own check_revocation for
 * the verifications domainsec leaves alone. Per verification, as ex_data of
 * the X509_STORE_CTX: the report the CLI reads (its index is a provider
 * parameter) and the path builder's state, both freed with the context;
 * and its one time, in the context's verify parameters.
 */
#include <stdio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "hook/internal.h"
#include "domainsec/common.h"

static int report_index = -1;
static int path_index = -1;
static X509_STORE_CTX_check_revocation_fn builtin_check_revocation;

/* The active provider instance; NULL before activation and after teardown. */
static DSPROV_CTX *volatile active;
static volatile int broken;
static char broken_reason[DSEC_ERR_MSG_LEN];

static void report_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                           long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    dsec_report_free(ptr);
}

static void path_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
                            int idx, long argl, void *argp)
{
    dsprov_path_state *st = ptr;

    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (st != NULL) {
        sk_X509_pop_free(st->path, X509_free);
        sk_X509_pop_free(st->dead, X509_free);
        OPENSSL_free(st);
    }
}

int dsprov_state_setup(void)
{
    X509_STORE_CTX *scratch = X509_STORE_CTX_new();

    /* with a NULL store, the context carries OpenSSL's own functions */
    if (scratch != NULL && X509_STORE_CTX_init(scratch, NULL, NULL, NULL)) {
        builtin_check_revocation = X509_STORE_CTX_get_check_revocation(scratch);
    }
    X509_STORE_CTX_free(scratch);
    if (builtin_check_revocation == NULL) {
        return 0;
    }
    report_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE_CTX, 0,
                                           NULL, NULL, NULL, report_free_cb);
    if (report_index < 0) {
        return 0;
    }
    path_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE_CTX, 0,
                                         NULL, NULL, NULL, path_state_free);
    return path_index >= 0;
}

int dsprov_state_report_index(void)
{
    return report_index;
}

int dsprov_state_builtin_check(X509_STORE_CTX *ctx)
{
    return builtin_check_revocation(ctx);
}

DSPROV_CTX *dsprov_state_active(void)
{
    return active;
}

void dsprov_state_set_active(DSPROV_CTX *ctx)
{
    broken = 0;
    active = ctx;
}

void dsprov_state_unset_active(DSPROV_CTX *ctx)
{
    if (ctx != NULL && active == ctx) {
        active = NULL;
    }
}

void dsprov_state_set_broken_reason(const char *reason)
{
    snprintf(broken_reason, sizeof(broken_reason), "%s",
             reason != NULL && *reason != '\0' ? reason : "unknown error");
}

void dsprov_state_enter_broken(void)
{
    if (active == NULL) {
        broken = 1;
    }
}

int dsprov_state_is_broken(void)
{
    return broken;
}

const char *dsprov_state_broken_reason(void)
{
    return broken_reason;
}

dsec_report *dsprov_state_report(X509_STORE_CTX *ctx)
{
    dsec_report *rep;

    if (report_index < 0) {
        return NULL;
    }
    rep = X509_STORE_CTX_get_ex_data(ctx, report_index);
    if (rep == NULL && (rep = dsec_report_new()) != NULL) {
        if (!X509_STORE_CTX_set_ex_data(ctx, report_index, rep)) {
            dsec_report_free(rep);
            rep = NULL;
        }
    }
    return rep;
}

dsprov_path_state *dsprov_state_path_get0(const X509_STORE_CTX *ctx)
{
    return path_index >= 0 ? X509_STORE_CTX_get_ex_data(ctx, path_index) : NULL;
}

dsprov_path_state *dsprov_state_path(X509_STORE_CTX *ctx)
{
    dsprov_path_state *st;

    if (path_index < 0) {
        return NULL;
    }
    st = X509_STORE_CTX_get_ex_data(ctx, path_index);
    if (st == NULL && (st = OPENSSL_zalloc(sizeof(*st))) != NULL) {
        if (!X509_STORE_CTX_set_ex_data(ctx, path_index, st)) {
            OPENSSL_free(st);
            st = NULL;
        }
    }
    return st;
}

int dsprov_state_link_built(void *arg, X509 *cert, X509 *issuer)
{
    const dsprov_path_state *st = arg;
    int i, n;

    if (st == NULL || st->path == NULL) {
        return 0;
    }
    n = sk_X509_num(st->path);
    for (i = 0; i + 1 < n; i++) {
        if (sk_X509_value(st->path, i) == cert) {
            return sk_X509_value(st->path, i + 1) == issuer;
        }
    }
    return 0;
}

/*
 * One time per verification: the first hook of a verification (the issuer
 * search, else check_revocation) reads the clock once and sets it on the
 * context's own parameters (X509_STORE_CTX_init made them; libssl inits a
 * context per handshake), so OpenSSL's certificate and CRL time checks, the
 * path builder and the revocation decision all judge at the same second: a
 * verification that starts just before a CRL's nextUpdate is decided at
 * that second throughout. A time the host set (-attime) is kept.
 */
time_t dsprov_state_time(X509_STORE_CTX *ctx)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    time_t now;

    if (vp == NULL) {
        return time(NULL);
    }
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_USE_CHECK_TIME) != 0) {
        return X509_VERIFY_PARAM_get_time(vp);
    }
    now = time(NULL);
    X509_VERIFY_PARAM_set_time(vp, now);
    return now;
}

long long dsprov_state_mono_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
