/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's configuration directives: one core_get_params call for
 * every directive of DESIGN.md section 3, then strict parsing by
 * libdomainsec. The directive list is libdomainsec's table
 * (dsec_config_directives, indexed by DSEC_D_*), the one the CLI and the
 * tests parse too. A bad value fails activation with an error that names
 * the directive and the value.
 */
#include <stdio.h>
#include <openssl/core.h>
#include <openssl/params.h>
#include "debug.h"
#include "err.h"
#include "params.h"
#include "provider.h"

int dsprov_params_load(const OSSL_CORE_HANDLE *handle, dsec_config **out,
                       char *why, size_t whylen)
{
    const char *values[DSEC_D_COUNT] = { NULL };
    OSSL_PARAM params[DSEC_D_COUNT + 1];
    dsec_config *cfg = NULL;
    char desc[2048];
    DSEC_ERR err = { 0 };
    int i, ret = DSPROV_ERR;

    for (i = 0; i < DSEC_D_COUNT; i++) {
        /* the address of the slot: the core writes the pointer there */
        params[i] = OSSL_PARAM_construct_utf8_ptr(dsec_config_directives[i],
                                                  (char **)&values[i], 0);
    }
    params[DSEC_D_COUNT] = OSSL_PARAM_construct_end();
    if (!dsprov_err_core_get_params(handle, params)) {
        DSPROV_raise(handle, DSPROV_R_CONFIG_SECTION,
                     "cannot read the domainsec configuration section");
        snprintf(why, whylen, "cannot read the configuration section");
        goto done;
    }
    cfg = dsec_config_new();
    if (cfg == NULL) {
        DSPROV_raise(handle, DSPROV_R_NOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < DSEC_D_COUNT; i++) {
        if (values[i] == NULL) {
            continue;
        }
        if (dsec_config_set(cfg, dsec_config_directives[i], values[i], &err)
            != DSEC_OK) {
            DSPROV_raise(handle, DSPROV_R_BAD_DIRECTIVE, "%s", err.msg);
            snprintf(why, whylen, "%s", err.msg);
            goto done;
        }
    }
    dsec_config_describe(cfg, desc, sizeof(desc));
    DSPROV_debug(2, "effective configuration:\n%s", desc);
    *out = cfg;
    cfg = NULL;
    ret = DSPROV_OK;
done:
    dsec_config_free(cfg);
    return ret;
}
