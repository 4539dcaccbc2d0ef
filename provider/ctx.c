/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider context: its activation reads the configuration, sets up
 * logging, opens cache_dir and its verdicts/ directory (created when
 * missing), builds the revocation engine, opens the
 * trust_dirs and cross_dirs directory sets and prepares libldap, in this
 * order and in this one place; its teardown frees all of it. The
 * directory snapshots are handed out from here.
 */
#include <stdio.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "ctx.h"
#include "err.h"
#include "params.h"
#include "domainsec/cache.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/verdict.h"

DSPROV_CTX *dsprov_ctx_new(const OSSL_CORE_HANDLE *handle)
{
    static unsigned long instances;
    DSPROV_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL) {
        ctx->serial = __atomic_add_fetch(&instances, 1, __ATOMIC_RELAXED);
        ctx->handle = handle;
        ctx->cache_fd = -1;
        ctx->verdict_fd = -1;
    }
    return ctx;
}

/*
 * cache_dir/verdicts, where each verification's verdict is recorded for
 * the policy service; without it (no cache_dir, or no right to create it)
 * nothing is recorded, said once.
 */
static void open_verdicts(DSPROV_CTX *ctx)
{
    DSEC_ERR err = { 0 };

    if (ctx->cache_fd < 0) {
        return;
    }
    ctx->verdict_fd = dsec_verdict_open_dir(ctx->cache_fd, &err);
    if (ctx->verdict_fd < 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s: %s; verdicts are not recorded",
                 ctx->cfg->cache_dir, err.msg);
    }
}

/* The directory sets and what follows them; the configuration is read. */
static dsprov_ctx_status open_dirs(DSPROV_CTX *ctx, char *why, size_t whylen)
{
    const dsec_config *cfg = ctx->cfg;
    dsec_fetch_policy pol;
    DSEC_ERR err = { 0 };

    /* every directory is opened now: the host may chroot or drop
       privileges later */
    ctx->cache_fd = dsec_cache_open_dir(cfg->cache_dir);
    open_verdicts(ctx);
    ctx->eng = dsec_engine_new(cfg, ctx->cache_fd, &err);
    if (ctx->eng == NULL) {
        DSPROV_raise(ctx->handle, DSPROV_R_ENGINE, "%s", err.msg);
        goto broken;
    }
    /* a host process refreshes CRLs ahead, in the background */
    dsec_engine_set_refresh_ahead(ctx->eng, 1);
    if (dsec_certdir_open(cfg->trust_dirs, &ctx->roots, &err) != DSEC_OK) {
        DSPROV_raise(ctx->handle, DSPROV_R_TRUST_DIRS, "trust_dirs: %s",
                     err.msg);
        goto broken;
    }
    if (dsec_certdir_open(cfg->cross_dirs, &ctx->cross, &err) != DSEC_OK) {
        DSPROV_raise(ctx->handle, DSPROV_R_CROSS_DIRS, "cross_dirs: %s",
                     err.msg);
        goto broken;
    }
    /* libldap's TLS files too (only with ldaps allowed) */
    dsec_fetch_policy_from_config(cfg, &pol);
    dsec_fetch_ldap_preinit(&pol);
    return DSPROV_CTX_ACTIVE;
broken:
    snprintf(why, whylen, "%s", err.msg);
    return DSPROV_CTX_BROKEN;
}

dsprov_ctx_status dsprov_ctx_activate(DSPROV_CTX *ctx, const OSSL_DISPATCH *in,
                                      char *why, size_t whylen)
{
    ctx->libctx = OSSL_LIB_CTX_new_child(ctx->handle, in);
    if (ctx->libctx == NULL) {
        DSPROV_raise(ctx->handle, DSPROV_R_LIBCTX,
                     "cannot create a child library context");
        return DSPROV_CTX_FAILED;
    }
    if (!dsprov_params_load(ctx->handle, &ctx->cfg, why, whylen)) {
        return DSPROV_CTX_BROKEN;
    }
    dsec_log_configure(ctx->cfg->log, ctx->cfg->log_level);
    return open_dirs(ctx, why, whylen);
}

void dsprov_ctx_free(DSPROV_CTX *ctx)
{
    if (ctx == NULL) {
        return;
    }
    dsec_certdir_free(ctx->roots);
    dsec_certdir_free(ctx->cross);
    dsec_engine_free(ctx->eng);
    if (ctx->cache_fd >= 0) {
        close(ctx->cache_fd);
    }
    if (ctx->verdict_fd >= 0) {
        close(ctx->verdict_fd);
    }
    dsec_config_free(ctx->cfg);
    OSSL_LIB_CTX_free(ctx->libctx);
    OPENSSL_free(ctx);
}

dsec_anchors *dsprov_ctx_get1_roots(DSPROV_CTX *ctx)
{
    return ctx == NULL ? NULL : dsec_certdir_get(ctx->roots);
}

dsec_anchors *dsprov_ctx_get1_cross(DSPROV_CTX *ctx)
{
    return ctx == NULL ? NULL : dsec_certdir_get(ctx->cross);
}
