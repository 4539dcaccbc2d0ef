/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRL Distribution Points of a certificate: the URIs of the fullName of every
 * DistributionPoint, in certificate order, with the DP each came from.
 */
#ifndef DOMAINSEC_CDP_H
#define DOMAINSEC_CDP_H

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/common.h"

typedef struct {
    char *url; /* NUL-terminated copy; URIs holding a NUL byte are dropped */
    int dp; /* index of the DistributionPoint, from 0 */
} dsec_cdp_uri;

typedef struct {
    dsec_cdp_uri *v;
    size_t n;
    size_t skipped; /* URIs dropped: non-URI names, relative names, NULs */
} dsec_cdp_list;

/* Fill out (zeroed first); DSEC_OK also when the certificate has no CDP. */
dsec_rv dsec_cdp_extract(X509 *cert, dsec_cdp_list *out);
/*
 * The same from a certificate's DistributionPoints already decoded (as
 * dsec_decide_dps returns them; not NULL): no second decoding.
 */
dsec_rv dsec_cdp_from_dps(STACK_OF(DIST_POINT) * dps, dsec_cdp_list *out);
/*
 * The delta CRL locations (freshestCRL) of a complete CRL, or when it has
 * none of the certificate (either may be NULL); as dsec_cdp_extract.
 */
dsec_rv dsec_cdp_extract_freshest(X509 *cert, X509_CRL *crl,
                                  dsec_cdp_list *out);
void dsec_cdp_list_clear(dsec_cdp_list *list);

#endif /* DOMAINSEC_CDP_H */
