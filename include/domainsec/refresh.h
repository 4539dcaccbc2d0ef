/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Refresh ahead: when a cached CRL should be fetched again, before its
 * nextUpdate, so that no verification waits on the network for a CRL that
 * is still current, and an out-of-cycle revocation is seen within
 * max_crl_age.
 */
#ifndef DOMAINSEC_REFRESH_H
#define DOMAINSEC_REFRESH_H

#include <time.h>
#include <openssl/x509.h>

/* Microsoft's "Next CRL Publish" CRL extension (a Time). */
#define DSEC_REFRESH_NEXT_PUBLISH_OID "1.3.6.1.4.1.311.21.4"

/*
 * The refresh point of crl: its Next CRL Publish time when present and
 * sane (a valid Time, not before thisUpdate, not after nextUpdate), else
 * thisUpdate + 80 % of (nextUpdate - thisUpdate); never later than
 * thisUpdate + max_age; thisUpdate + max_age when it has no nextUpdate.
 * 0 when crl is NULL or its thisUpdate is unusable (refresh now).
 */
time_t dsec_refresh_point(const X509_CRL *crl, long max_age);

/*
 * 1 when crl (NULL: nothing cached) is due for a refresh at now. fetched
 * (0: unknown) is when the cache last saw the origin still serve this very
 * CRL (an HTTP 304 or the same CRL again): the refresh point then moves
 * on by the CRL's refresh interval from there, never past nextUpdate.
 */
int dsec_refresh_due(const X509_CRL *crl, long max_age, time_t fetched,
                     time_t now);

#endif /* DOMAINSEC_REFRESH_H */
