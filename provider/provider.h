/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provider-wide types and helpers: the provider context, reason codes, the
 * error and debug entry points, and the operations' dispatch tables.
 */
#ifndef DOMAINSEC_PROVIDER_PROVIDER_H
#define DOMAINSEC_PROVIDER_PROVIDER_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include "domainsec/config.h"
#include "domainsec/engine.h"
#include "domainsec/anchors.h"

#define DSPROV_OK 1
#define DSPROV_ERR 0

/* Names of the store loader's URIs. */
#define DSPROV_STORE_SCHEME "domainsec"
#define DSPROV_STORE_ROOTS "domainsec:roots"
#define DSPROV_STORE_CROSS "domainsec:cross"
#define DSPROV_STORE_CRLS "domainsec:crls"

/* Provider parameters the CLI reads: the effective directory lists. */
#define DSPROV_PARAM_TRUST_DIRS "trust-dirs"
#define DSPROV_PARAM_CROSS_DIRS "cross-dirs"

typedef struct dsprov_ctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* child library context */
    dsec_config *cfg; /* owned: the effective configuration */
    int cache_fd; /* owned: cache_dir, opened at activation, or -1 */
    dsec_engine *eng; /* owned; also published to the hook */
    dsec_certdir *roots; /* owned: trust_dirs, the trust anchors */
    dsec_certdir *cross; /* owned: cross_dirs, never anchors */
} DSPROV_CTX;

/*
 * The current snapshot of trust_dirs (roots) or cross_dirs (cross), as a new
 * reference to release with dsec_anchors_free; checks the directories for
 * changes at most once a second. Never NULL for an activated provider (may
 * be empty); NULL when ctx is NULL.
 */
dsec_anchors *dsprov_get1_roots(DSPROV_CTX *ctx);
dsec_anchors *dsprov_get1_cross(DSPROV_CTX *ctx);

enum {
    DSPROV_R_CONFIG = 1,
    DSPROV_R_INIT,
    DSPROV_R_NOMEM,
    DSPROV_R_STORE_URI,
    DSPROV_R_STORE_PARAM
};

/* err.c */
int dsprov_err_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in);
const OSSL_ITEM *dsprov_reason_strings(void);
void dsprov_raise_at(DSPROV_CTX *ctx, int reason, const char *file, int line,
                     const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
#define DSPROV_raise(ctx, reason, ...) \
    dsprov_raise_at((ctx), (reason), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* err.c: the core's get_params, for params.c */
int dsprov_core_get_params(const OSSL_CORE_HANDLE *handle, OSSL_PARAM params[]);

/* debug.c: DOMAINSEC_DEBUG=file:<path>,level:<n> */
void dsprov_debug_init(void);
void dsprov_debug_at(int level, const char *file, int line, const char *func,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
#define DSPROV_debug(level, ...) \
    dsprov_debug_at((level), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* params.c: read the directives through core_get_params */
int dsprov_params_load(DSPROV_CTX *ctx, const OSSL_DISPATCH *in,
                       dsec_config **out, char *why, size_t whylen);

/* hook.c: the X509_STORE ex_data hook (process-wide) */
int dsprov_hook_register(DSPROV_CTX *ctx);
/* A provider whose configuration is bad still hooks every store, failing
 * every verification (fail closed) with reason logged. */
int dsprov_hook_register_broken(const char *reason);
void dsprov_hook_unregister(DSPROV_CTX *ctx);
int dsprov_hook_report_index(void);

/* store.c: the domainsec: OSSL_STORE loader */
extern const OSSL_DISPATCH dsprov_store_functions[];

#endif /* DOMAINSEC_PROVIDER_PROVIDER_H */
