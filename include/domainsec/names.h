/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names the provider publishes and the CLI uses: the provider
 * parameters the CLI reads (OSSL_PROVIDER_get_params) and the URIs of the
 * provider's OSSL_STORE loader.
 */
#ifndef DOMAINSEC_NAMES_H
#define DOMAINSEC_NAMES_H

/* Provider parameters: the ex_data index of the verification report, and
   the effective directory lists (trust_dirs, cross_dirs). */
#define DSEC_PARAM_REPORT_INDEX "report-index"
#define DSEC_PARAM_TRUST_DIRS "trust-dirs"
#define DSEC_PARAM_CROSS_DIRS "cross-dirs"

/* The store loader's scheme and URIs ("domainsec:" alone: the roots). */
#define DSEC_STORE_SCHEME "domainsec"
#define DSEC_STORE_ROOTS "domainsec:roots"
#define DSEC_STORE_CROSS "domainsec:cross"
#define DSEC_STORE_CRLS "domainsec:crls"

#endif /* DOMAINSEC_NAMES_H */
