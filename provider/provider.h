/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provider-wide return values and the operations' dispatch tables, one per
 * operation file, for the query_operation of provider.c.
 */
#ifndef DOMAINSEC_PROVIDER_PROVIDER_H
#define DOMAINSEC_PROVIDER_PROVIDER_H

#include <openssl/core.h>

#define DSPROV_OK 1
#define DSPROV_ERR 0

/* store.c: the domainsec: OSSL_STORE loader */
extern const OSSL_DISPATCH dsprov_store_functions[];

#endif /* DOMAINSEC_PROVIDER_PROVIDER_H */
