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
#include "domainsec/common.h"
#include "domainsec/config.h"

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

/* 1 when CRL a was issued after b (thisUpdate; b NULL: any a). */
int dsec_refresh_newer(X509_CRL *a, X509_CRL *b);

/* What dsec_refresh_url did. */
typedef enum {
    DSEC_REFRESH_NOT_DUE = 0, /* before its refresh point: not fetched */
    DSEC_REFRESH_NEWER, /* a newer CRL was fetched, checked and stored */
    DSEC_REFRESH_SAME /* the origin still serves the cached CRL (or older) */
} dsec_refresh_outcome;

/*
 * Refresh url of the cache directory dirfd under cfg (`domainsec cache
 * refresh`): when its refresh point passed (force: anyway), fetch it and
 * accept the CRL only when it has the cached CRL's issuer name and scope
 * (issuingDistributionPoint), is complete, carries no unhandled critical
 * extension, is current, verifies with the key that verified the cached
 * one (its SPKI in the URL's record) and is newer (thisUpdate); then store
 * it and update the record. A failure is recorded and returned (err
 * filled); the cached CRL stays.
 */
dsec_rv dsec_refresh_url(const dsec_config *cfg, int dirfd, const char *url,
                         int force, time_t now, dsec_refresh_outcome *what,
                         DSEC_ERR *err);

#endif /* DOMAINSEC_REFRESH_H */
