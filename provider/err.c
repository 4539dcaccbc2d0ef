/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error reporting of the provider through the core's upcalls: reason codes
 * and their strings, and the raise helper that also copies each error to the
 * debug log. The core upcall pointers live here only, get_params among
 * them (params.c reads the configuration directives through it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>
#include "debug.h"
#include "err.h"
#include "provider.h"

static OSSL_FUNC_core_new_error_fn *c_new_error;
static OSSL_FUNC_core_set_error_debug_fn *c_set_error_debug;
static OSSL_FUNC_core_vset_error_fn *c_vset_error;
static OSSL_FUNC_core_get_params_fn *c_get_params;

static const OSSL_ITEM reason_strings[] = {
    { DSPROV_R_NOMEM, "out of memory" },
    { DSPROV_R_STORE_URI, "unknown domainsec store URI" },
    { DSPROV_R_STORE_PARAM, "bad domainsec store parameter" },
    { DSPROV_R_CONFIG_SECTION, "cannot read the domainsec configuration" },
    { DSPROV_R_BAD_DIRECTIVE, "bad domainsec configuration directive" },
    { DSPROV_R_LIBCTX, "cannot create a child library context" },
    { DSPROV_R_ENGINE, "cannot create the domainsec revocation engine" },
    { DSPROV_R_TRUST_DIRS, "cannot open the domainsec trust_dirs" },
    { DSPROV_R_CROSS_DIRS, "cannot open the domainsec cross_dirs" },
    { DSPROV_R_HOOK, "cannot register the domainsec X509_STORE hook" },
    { 0, NULL },
};

int dsprov_err_init(const OSSL_DISPATCH *in)
{
    for (; in != NULL && in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            c_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            c_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            c_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_CORE_GET_PARAMS:
            c_get_params = OSSL_FUNC_core_get_params(in);
            break;
        default:
            break;
        }
    }
    return c_get_params != NULL ? DSPROV_OK : DSPROV_ERR;
}

int dsprov_err_core_get_params(const OSSL_CORE_HANDLE *handle,
                               OSSL_PARAM params[])
{
    if (c_get_params == NULL) {
        return DSPROV_ERR;
    }
    return c_get_params(handle, params);
}

const OSSL_ITEM *dsprov_err_reason_strings(void)
{
    return reason_strings;
}

static void set_error(const OSSL_CORE_HANDLE *handle, int reason,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    c_vset_error(handle, (uint32_t)reason, fmt, ap);
    va_end(ap);
}

void dsprov_err_raise_at(const OSSL_CORE_HANDLE *handle, int reason,
                         const char *file, int line, const char *func,
                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (handle != NULL && c_new_error != NULL && c_set_error_debug != NULL
        && c_vset_error != NULL) {
        c_new_error(handle);
        c_set_error_debug(handle, file, line, func);
        /* through "%s" so the message is never taken as a format */
        set_error(handle, reason, "%s", msg);
    }
    dsprov_debug_at(1, file, line, func, "error %d: %s", reason, msg);
}
