/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The X509_STORE hook as provider.c sees it (register.c): put domainsec on
 * every X509_STORE the process creates, or, when the configuration is bad,
 * make every verification fail (fail closed). Process-wide.
 */
#ifndef DOMAINSEC_PROVIDER_HOOK_HOOK_H
#define DOMAINSEC_PROVIDER_HOOK_HOOK_H

#include "ctx.h"

/* Hook every store for the activated ctx; DSPROV_ERR when OpenSSL cannot. */
int dsprov_hook_register(DSPROV_CTX *ctx);
/* A provider whose configuration is bad still hooks every store, failing
 * every verification (fail closed) with reason logged. */
int dsprov_hook_register_broken(const char *reason);
/* ctx is being torn down: stores hooked for it fall back to OpenSSL's own
   revocation check and issuer search. */
void dsprov_hook_unregister(DSPROV_CTX *ctx);
/* The X509_STORE_CTX ex_data index of the verification report (dsec_report),
   published as the provider parameter DSEC_PARAM_REPORT_INDEX; -1 before
   registration. */
int dsprov_hook_report_index(void);

#endif /* DOMAINSEC_PROVIDER_HOOK_HOOK_H */
