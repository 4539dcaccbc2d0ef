/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by every libdomainsec module: return-code names, the
 * DSEC_ERR detail helper, ASN.1 times, SHA-256 and growable arrays.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include "domainsec/common.h"
#include "internal.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* kept for the process's lifetime */
const EVP_MD *dsec_sha256(void)
{
    pthread_once(&sha256_once, sha256_init);
    return sha256_md;
}

int dsec_sha256_digest(const void *data, size_t len, unsigned char out[32])
{
    const EVP_MD *md = dsec_sha256();
    unsigned int n = 0;

    return md != NULL && EVP_Digest(data, len, out, &n, md, NULL) && n == 32;
}

int dsec_time_of(const ASN1_TIME *t, time_t *when)
{
    struct tm tm;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    *when = timegm(&tm);
    return 1;
}

int dsec_time_cmp(const ASN1_TIME *t, time_t now)
{
    time_t when;

    if (!dsec_time_of(t, &when)) {
        return 0;
    }
    return when <= now ? -1 : 1;
}

void *dsec_grow(void *v, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap == 0 ? 8 : *cap;

    if (need <= *cap) {
        return v;
    }
    while (n < need && n <= SIZE_MAX / 2) {
        n *= 2;
    }
    if (n < need || elem == 0 || n > SIZE_MAX / elem
        || (v = realloc(v, n * elem)) == NULL) {
        return NULL;
    }
    *cap = n;
    return v;
}

const char *dsec_rv_name(dsec_rv rv)
{
    static const char *const names[] = {
        [DSEC_OK] = "ok",
        [-DSEC_ERR_NOMEM] = "out-of-memory",
        [-DSEC_ERR_INVALID] = "invalid",
        [-DSEC_ERR_SCHEME] = "scheme-not-allowed",
        [-DSEC_ERR_CONNECT] = "unreachable",
        [-DSEC_ERR_TIMEOUT] = "timeout",
        [-DSEC_ERR_HTTP] = "http-error",
        [-DSEC_ERR_TOO_BIG] = "too-big",
        [-DSEC_ERR_PARSE] = "unparsable",
        [-DSEC_ERR_CRL_SIG] = "bad-crl-signature",
        [-DSEC_ERR_CRL_ISSUER] = "wrong-crl-issuer",
        [-DSEC_ERR_CRL_DELTA] = "delta-crl",
        [-DSEC_ERR_CRL_STALE] = "stale-crl",
        [-DSEC_ERR_CRL_FUTURE] = "crl-not-yet-valid",
        [-DSEC_ERR_NO_CDP] = "no-cdp",
        [-DSEC_ERR_IO] = "io-error",
        [-DSEC_ERR_BACKOFF] = "recently-failed",
        [-DSEC_ERR_UNSUPPORTED] = "unsupported",
        [-DSEC_ERR_NOT_FOUND] = "not-found",
        [-DSEC_ERR_INTERNAL] = "internal-error",
        [-DSEC_ERR_NO_CRL] = "no-crl-there",
        [-DSEC_ERR_CRL_SCOPE] = "crl-out-of-scope",
        [-DSEC_ERR_CRL_CRITICAL] = "crl-critical-extension",
        [-DSEC_ERR_CRL_SIGNER] = "crl-signer-not-validated",
        [-DSEC_ERR_CRL_REASONS] = "crl-reasons-uncovered",
        [-DSEC_ERR_NO_DELTA] = "delta-crl-missing",
        [-DSEC_ERR_ROLLBACK] = "rollback",
    };

    if (rv > 0 || rv < DSEC_ERR_MIN || names[-rv] == NULL) {
        return "unknown";
    }
    return names[-rv];
}

dsec_rv dsec_err_set(DSEC_ERR *err, dsec_rv rv, long code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return rv;
    }
    err->rv = rv;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return rv;
}
