/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's configuration directives (params.c), read at activation.
 */
#ifndef DOMAINSEC_PROVIDER_PARAMS_H
#define DOMAINSEC_PROVIDER_PARAMS_H

#include <stddef.h>
#include <openssl/core.h>
#include "domainsec/config.h"

/*
 * Read every directive of the provider's configuration section through the
 * core and parse it strictly. On failure the error is raised and, when it
 * is the configuration's fault, why says what is wrong.
 */
int dsprov_params_load(const OSSL_CORE_HANDLE *handle, dsec_config **out,
                       char *why, size_t whylen);

#endif /* DOMAINSEC_PROVIDER_PARAMS_H */
