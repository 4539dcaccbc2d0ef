/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compact index of a cached CRL (src/crlindex.c): a CRL read from the
 * cache directory's index is a skeleton, the CRL without its entries, with
 * the sorted entries mapped beside it. Whoever looks a certificate up in a
 * CRL asks here, so a skeleton is never read as "no entries".
 */
#ifndef DOMAINSEC_CRLINDEX_H
#define DOMAINSEC_CRLINDEX_H

#include <openssl/x509.h>

/* 1 when crl is a skeleton with its index attached. */
int dsec_crlindex_attached(const X509_CRL *crl);

/*
 * Where cert stands on crl, through its index when it has one, else as
 * X509_CRL_get0_by_cert says: 1 listed, 2 listed as removeFromCRL, 0 not;
 * -2 when its index cannot answer (the CRL is then unusable);
 * *reason (may be NULL) the reason code of a listed entry, 0 without one.
 */
int dsec_crlindex_lookup(X509_CRL *crl, X509 *cert, int *reason);

#endif /* DOMAINSEC_CRLINDEX_H */
