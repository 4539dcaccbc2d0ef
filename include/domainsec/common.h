/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Return codes and error details shared by every libdomainsec module.
 * libdomainsec never touches the OpenSSL error queue: a function returns a
 * dsec_rv and, where the caller passes one, fills a DSEC_ERR with a message.
 */
#ifndef DOMAINSEC_COMMON_H
#define DOMAINSEC_COMMON_H

#include <stddef.h>
#include <time.h>

typedef enum {
    DSEC_OK = 0,
    DSEC_ERR_NOMEM = -1,
    DSEC_ERR_INVALID = -2, /* bad argument or configuration value */
    DSEC_ERR_SCHEME = -3, /* URL scheme not in cdp_schemes */
    DSEC_ERR_CONNECT = -4, /* DNS, connect, proxy, transfer failure */
    DSEC_ERR_TIMEOUT = -5, /* fetch_timeout reached */
    DSEC_ERR_HTTP = -6, /* HTTP status other than 200 */
    DSEC_ERR_TOO_BIG = -7, /* body over max_crl_size */
    DSEC_ERR_PARSE = -8, /* body is not a CRL (DER or PEM) */
    DSEC_ERR_CRL_SIG = -9, /* CRL signature does not verify */
    DSEC_ERR_CRL_ISSUER = -10, /* CRL issued by another CA */
    DSEC_ERR_CRL_DELTA = -11, /* delta CRL where a complete one is needed */
    DSEC_ERR_CRL_STALE = -12, /* past nextUpdate (beyond stale_grace) */
    DSEC_ERR_CRL_FUTURE = -13, /* thisUpdate in the future */
    DSEC_ERR_NO_CDP = -14, /* certificate has no usable CDP */
    DSEC_ERR_IO = -15, /* local file or directory error */
    DSEC_ERR_BACKOFF = -16, /* a recent fetch of this URL failed */
    DSEC_ERR_UNSUPPORTED = -17, /* scheme allowed but no fetcher built in */
    DSEC_ERR_NOT_FOUND = -18, /* server answered, but no CRL there */
    DSEC_ERR_INTERNAL = -19,
    DSEC_ERR_NO_CRL = -20, /* no CRL: LDAP entry without one, none gathered */
    DSEC_ERR_CRL_SCOPE = -21, /* CRL of another scope (IDP, partition) */
    DSEC_ERR_CRL_CRITICAL = -22, /* CRL with an unhandled critical extension */
    DSEC_ERR_CRL_SIGNER = -23, /* no signer validated to the trust anchor */
    DSEC_ERR_CRL_REASONS = -24, /* the CRLs obtained leave reasons uncovered */
    DSEC_ERR_NO_DELTA = -25, /* a required delta CRL was not obtained */
    DSEC_ERR_ROLLBACK = -26 /* CRL older than one accepted before */
} dsec_rv;

/* The lowest dsec_rv (for readers of recorded codes). */
#define DSEC_ERR_MIN DSEC_ERR_ROLLBACK

#define DSEC_ERR_MSG_LEN 256

/* Optional detail for a failed call; msg never holds secrets. */
typedef struct {
    dsec_rv rv;
    long code; /* CURLcode, HTTP status or LDAP rc, 0 when none */
    char msg[DSEC_ERR_MSG_LEN];
} DSEC_ERR;

/*
 * X509_cmp_time(t, &now) without its cost (OpenSSL 3.0 formats now as an
 * ASN1_TIME string on every call): -1 when t is earlier than or equal to
 * now, 1 when later, 0 when t is unusable.
 */
struct asn1_string_st;
int dsec_time_cmp(const struct asn1_string_st *t, time_t now);

/*
 * Room for need elements of elem bytes in the array v of *cap elements:
 * v itself when it has it, else v grown by doubling (from 8), *cap
 * updated. Returns the array to use, or NULL (v and *cap untouched) when
 * out of memory.
 */
void *dsec_grow(void *v, size_t *cap, size_t need, size_t elem);

/* Short stable name of a return code ("connect", "timeout", ...). */
const char *dsec_rv_name(dsec_rv rv);

/* Set err (if not NULL) to rv with a formatted message; returns rv. */
dsec_rv dsec_err_set(DSEC_ERR *err, dsec_rv rv, long code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif /* DOMAINSEC_COMMON_H */
