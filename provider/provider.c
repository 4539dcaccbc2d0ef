/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's entry point: OSSL_provider_init activates the provider
 * context (ctx.c) and registers the X509_STORE hook (hook/), or puts the
 * hook in fail-closed mode when the configuration is bad; plus the dispatch
 * table, parameters (including the report index and the effective
 * directory lists, for the CLI), the store operation and teardown. No
 * network I/O happens here.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include "ctx.h"
#include "debug.h"
#include "err.h"
#include "hook/hook.h"
#include "provider.h"
#include "domainsec/common.h"
#include "domainsec/names.h"

#define DSPROV_NAME "domainsec provider"
#define DSPROV_VERSION "0.1.0"

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
    OSSL_PARAM_DEFN(DSEC_PARAM_REPORT_INDEX, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN(DSEC_PARAM_TRUST_DIRS, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(DSEC_PARAM_CROSS_DIRS, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_ALGORITHM dsprov_stores[] = {
    { DSEC_STORE_SCHEME, "provider=domainsec", dsprov_store_functions,
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
    p = OSSL_PARAM_locate(params, DSEC_PARAM_REPORT_INDEX);
    if (p != NULL && !OSSL_PARAM_set_int(p, dsprov_hook_report_index())) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, DSEC_PARAM_TRUST_DIRS);
    if (p != NULL && ctx != NULL
        && !OSSL_PARAM_set_utf8_ptr(p, dsec_certdir_dirs(ctx->roots))) {
        return DSPROV_ERR;
    }
    p = OSSL_PARAM_locate(params, DSEC_PARAM_CROSS_DIRS);
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
    return dsprov_err_reason_strings();
}

static void dsprov_teardown(void *provctx)
{
    dsprov_hook_unregister(provctx);
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
    char why[DSEC_ERR_MSG_LEN] = "";

    dsprov_debug_init();
    if (!dsprov_err_init(in)) {
        return DSPROV_ERR;
    }
    ctx = dsprov_ctx_new(handle);
    if (ctx == NULL) {
        return DSPROV_ERR;
    }
    switch (dsprov_ctx_activate(ctx, in, why, sizeof(why))) {
    case DSPROV_CTX_ACTIVE:
        break;
    case DSPROV_CTX_BROKEN:
        /* fail closed: the host must not verify without revocation */
        dsprov_hook_register_broken(why);
        goto fail;
    case DSPROV_CTX_FAILED:
    default:
        goto fail;
    }
    if (!dsprov_hook_register(ctx)) {
        DSPROV_raise(handle, DSPROV_R_HOOK,
                     "cannot register the X509_STORE hook");
        goto fail;
    }
    *out = dsprov_dispatch;
    *provctx = ctx;
    return DSPROV_OK;
fail:
    dsprov_ctx_free(ctx);
    return DSPROV_ERR;
}
