/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's errors (err.c): its reason codes, the core upcalls that
 * report them, and the core's get_params for the configuration directives.
 */
#ifndef DOMAINSEC_PROVIDER_ERR_H
#define DOMAINSEC_PROVIDER_ERR_H

#include <openssl/core.h>

/* Reason codes; each has its string in err.c's table. 1 and 2, the former
   catch-all configuration and initialisation reasons, are not reused. */
enum {
    DSPROV_R_NOMEM = 3,
    DSPROV_R_STORE_URI,
    DSPROV_R_STORE_PARAM,
    DSPROV_R_CONFIG_SECTION, /* the directives cannot be read at all */
    DSPROV_R_BAD_DIRECTIVE, /* a directive's value */
    DSPROV_R_LIBCTX, /* the child library context */
    DSPROV_R_ENGINE, /* the revocation engine */
    DSPROV_R_TRUST_DIRS,
    DSPROV_R_CROSS_DIRS,
    DSPROV_R_HOOK /* the X509_STORE hook */
};

/* Take the core's upcalls from in; 0 when get_params is missing. */
int dsprov_err_init(const OSSL_DISPATCH *in);
const OSSL_ITEM *dsprov_err_reason_strings(void);

/* The core's get_params: read the provider's configuration section. */
int dsprov_err_core_get_params(const OSSL_CORE_HANDLE *handle,
                               OSSL_PARAM params[]);

/*
 * Put an error on the OpenSSL error queue through the core (when handle is
 * not NULL) and copy it to the debug log.
 */
void dsprov_err_raise_at(const OSSL_CORE_HANDLE *handle, int reason,
                         const char *file, int line, const char *func,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
#define DSPROV_raise(handle, reason, ...) \
    dsprov_err_raise_at((handle), (reason), __FILE__, __LINE__, __func__, \
                        __VA_ARGS__)

#endif /* DOMAINSEC_PROVIDER_ERR_H */
