/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's entry point: OSSL_provider_init reads the configuration,
 * builds the revocation engine, opens the trust_dirs and cross_dirs
 * directory sets, and registers the X509_STORE hook; plus the dispatch
 * table, parameters (including the effective directory lists, for the CLI),
 * the store operation and teardown. No network I/O happens here.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include "provider.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"

#define DSPROV_NAME "domainsec provider"
#define DSPROV_VERSION "0.1.0"
#define DSPROV_REPORT_INDEX "report-index"

static OSSL_FUNC_provider_gettable_params_fn dsprov_gettable_params;
static OSSL_FUNC_provider_get_params_fn dsprov_get_params;
static OSSL_FUNC_provider_query_operation_fn dsprov_query_operation;
static OSSL_FUNC_provider_get_reason_strings_fn dsprov_get_reason_strings;
static OSSL_FUNC_provider_teardown_fn dsprov_teardown;

static const OSSL_PARAM dsprov_param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN(DSPROV_REPORT_INDEX, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN(DSPROV_PARAM_TRUST_DIRS, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(DSPROV_PARAM_CROSS_DIRS, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_ALGORITHM dsprov_stores[] = {
    { DSPROV_STORE_SCHEME, "provider=domainsec", dsprov_store_functions,
      "domainsec trust anchors, cross-certificates and cached CRLs" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_PARAM *dsprov_gettable_params(void *provctx)
{
    (void)provctx;
    return dsprov_param_types;
}

static int dsprov_get_params(void *provctx, OSSL_PARAM params[])
{
    DSPROV_CTX *ctx = provctx;
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, DSPROV_NAME)) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, DSPROV_VERSION)) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, DSPROV_VERSION)) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1)) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, DSPROV_REPORT_INDEX);
    if (p != NULL && !OSSL_PARAM_set_int(p, dsprov_hook_report_index())) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, DSPROV_PARAM_TRUST_DIRS);
    if (p != NULL && ctx != NULL
        && !OSSL_PARAM_set_utf8_ptr(p, dsec_certdir_dirs(ctx->roots))) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, DSPROV_PARAM_CROSS_DIRS);
    if (p != NULL && ctx != NULL
        && !OSSL_PARAM_set_utf8_ptr(p, dsec_certdir_dirs(ctx->cross))) {
        return DSPROV_ERR;
    }
    return DSPROV_OK;
}

static const OSSL_ALGORITHM *
dsprov_query_operation(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    if (operation_id == OSSL_OP_STORE) {
        return dsprov_stores;
    }
    return NULL;
}

static const OSSL_ITEM *dsprov_get_reason_strings(void *provctx)
{
    (void)provctx;
    return dsprov_reason_strings();
}

static void dsprov_ctx_free(DSPROV_CTX *ctx)
{
    if (ctx == NULL) {
        return;
    }
    dsprov_hook_unregister(ctx);
    dsec_certdir_free(ctx->roots);
    dsec_certdir_free(ctx->cross);
    dsec_engine_free(ctx->eng);
    if (ctx->cache_fd >= 0) {
        close(ctx->cache_fd);
    }
    dsec_config_free(ctx->cfg);
    OSSL_LIB_CTX_free(ctx->libctx);
    OPENSSL_free(ctx);
}

dsec_anchors *dsprov_get1_roots(DSPROV_CTX *ctx)
{
    return ctx == NULL ? NULL : dsec_certdir_get(ctx->roots);
}

dsec_anchors *dsprov_get1_cross(DSPROV_CTX *ctx)
{
    return ctx == NULL ? NULL : dsec_certdir_get(ctx->cross);
}

static void dsprov_teardown(void *provctx)
{
    dsprov_ctx_free(provctx);
}

static const OSSL_DISPATCH dsprov_dispatch[] = {
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS,
      (void (*)(void))dsprov_gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))dsprov_get_params },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION,
      (void (*)(void))dsprov_query_operation },
    { OSSL_FUNC_PROVIDER_GET_REASON_STRINGS,
      (void (*)(void))dsprov_get_reason_strings },
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))dsprov_teardown },
    { 0, NULL },
};

OSSL_provider_init_fn OSSL_provider_init __attribute__((visibility("default")));

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    DSPROV_CTX *ctx = NULL;
    dsec_config *cfg = NULL;
    dsec_fetch_policy pol;
    char why[DSEC_ERR_MSG_LEN] = "";
    DSEC_ERR err = { 0 };

    dsprov_debug_init();
    if (!dsprov_err_init(handle, in)) {
        return DSPROV_ERR;
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL) {
        return DSPROV_ERR;
    }
    ctx->handle = handle;
    ctx->cache_fd = -1;
    ctx->libctx = OSSL_LIB_CTX_new_child(handle, in);
    if (ctx->libctx == NULL) {
        DSPROV_raise(ctx, DSPROV_R_INIT,
                     "cannot create a child library "
                     "context");
        goto fail;
    }
    if (!dsprov_params_load(ctx, in, &ctx->cfg, why, sizeof(why))) {
        /* fail closed: the host must not verify without revocation */
        dsprov_hook_register_broken(why);
        goto fail;
    }
    cfg = ctx->cfg;
    dsec_log_configure(cfg->log, cfg->log_level);
    /* every directory is opened now: the host may chroot or drop
       privileges later */
    ctx->cache_fd = dsec_cache_open_dir(cfg->cache_dir);
    ctx->eng = dsec_engine_new(cfg, ctx->cache_fd, &err);
    if (ctx->eng == NULL) {
        DSPROV_raise(ctx, DSPROV_R_INIT, "%s", err.msg);
        dsprov_hook_register_broken(err.msg);
        goto fail;
    }
    if (dsec_certdir_open(cfg->trust_dirs, &ctx->roots, &err) != DSEC_OK) {
        DSPROV_raise(ctx, DSPROV_R_INIT, "trust_dirs: %s", err.msg);
        dsprov_hook_register_broken(err.msg);
        goto fail;
    }
    if (dsec_certdir_open(cfg->cross_dirs, &ctx->cross, &err) != DSEC_OK) {
        DSPROV_raise(ctx, DSPROV_R_INIT, "cross_dirs: %s", err.msg);
        dsprov_hook_register_broken(err.msg);
        goto fail;
    }
    /* libldap's TLS files too (only with ldaps allowed) */
    dsec_fetch_policy_from_config(cfg, &pol);
    dsec_fetch_ldap_preinit(&pol);
    if (!dsprov_hook_register(ctx)) {
        DSPROV_raise(ctx, DSPROV_R_INIT,
                     "cannot register the X509_STORE "
                     "hook");
        goto fail;
    }
    *out = dsprov_dispatch;
    *provctx = ctx;
    return DSPROV_OK;
fail:
    dsprov_ctx_free(ctx);
    return DSPROV_ERR;
}
