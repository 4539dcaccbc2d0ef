/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider context (ctx.c): what one activated provider owns, from its
 * configuration to its revocation engine and directory sets, and how it is
 * activated and freed.
 */
#ifndef DOMAINSEC_PROVIDER_CTX_H
#define DOMAINSEC_PROVIDER_CTX_H

#include <stddef.h>
#include <openssl/core.h>
#include "domainsec/anchors.h"
#include "domainsec/certdir.h"
#include "domainsec/config.h"
#include "domainsec/engine.h"

typedef struct dsprov_ctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* child library context */
    dsec_config *cfg; /* owned: the effective configuration */
    int cache_fd; /* owned: cache_dir, opened at activation, or -1 */
    int verdict_fd; /* owned: cache_dir/verdicts, or -1 (no records) */
    dsec_engine *eng; /* owned; also published to the hook */
    dsec_certdir *roots; /* owned: trust_dirs, the trust anchors */
    dsec_certdir *cross; /* owned: cross_dirs, never anchors */
    unsigned long serial; /* this instance among all of the process's */
} DSPROV_CTX;

/* How an activation ended. */
typedef enum {
    DSPROV_CTX_ACTIVE = 0,
    /* the configuration is unusable (why says how): the host must fail
       closed, every verification refused */
    DSPROV_CTX_BROKEN,
    /* no provider at all (no child library context), error raised */
    DSPROV_CTX_FAILED
} dsprov_ctx_status;

/* An empty context for handle; NULL when out of memory. */
DSPROV_CTX *dsprov_ctx_new(const OSSL_CORE_HANDLE *handle);

/*
 * Activate ctx: the child library context, the configuration (params.c),
 * logging, cache_dir and its verdicts/ (created when missing), the
 * revocation engine, trust_dirs, cross_dirs and
 * libldap's TLS files, every directory opened now (the host may chroot or
 * drop privileges later). No network I/O. Each failure is raised with its
 * own reason.
 */
dsprov_ctx_status dsprov_ctx_activate(DSPROV_CTX *ctx, const OSSL_DISPATCH *in,
                                      char *why, size_t whylen);

/* Free ctx and everything it owns; NULL-safe. */
void dsprov_ctx_free(DSPROV_CTX *ctx);

/*
 * The current snapshot of trust_dirs (roots) or cross_dirs (cross), as a new
 * reference to release with dsec_anchors_free; checks the directories for
 * changes at most once a second. Never NULL for an activated provider (may
 * be empty); NULL when ctx is NULL.
 */
dsec_anchors *dsprov_ctx_get1_roots(DSPROV_CTX *ctx);
dsec_anchors *dsprov_ctx_get1_cross(DSPROV_CTX *ctx);

#endif /* DOMAINSEC_PROVIDER_CTX_H */
