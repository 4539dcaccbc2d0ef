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
    switch (rv) {
    case DSEC_OK:
        return "ok";
    case DSEC_ERR_NOMEM:
        return "out-of-memory";
    case DSEC_ERR_INVALID:
        return "invalid";
    case DSEC_ERR_SCHEME:
        return "scheme-not-allowed";
    case DSEC_ERR_CONNECT:
        return "unreachable";
    case DSEC_ERR_TIMEOUT:
        return "timeout";
    case DSEC_ERR_HTTP:
        return "http-error";
    case DSEC_ERR_TOO_BIG:
        return "too-big";
    case DSEC_ERR_PARSE:
        return "unparsable";
    case DSEC_ERR_CRL_SIG:
        return "bad-crl-signature";
    case DSEC_ERR_CRL_ISSUER:
        return "wrong-crl-issuer";
    case DSEC_ERR_CRL_DELTA:
        return "delta-crl";
    case DSEC_ERR_CRL_STALE:
        return "stale-crl";
    case DSEC_ERR_CRL_FUTURE:
        return "crl-not-yet-valid";
    case DSEC_ERR_NO_CDP:
        return "no-cdp";
    case DSEC_ERR_IO:
        return "io-error";
    case DSEC_ERR_BACKOFF:
        return "recently-failed";
    case DSEC_ERR_UNSUPPORTED:
        return "unsupported";
    case DSEC_ERR_NOT_FOUND:
        return "not-found";
    case DSEC_ERR_INTERNAL:
        return "internal-error";
    case DSEC_ERR_NO_CRL:
        return "no-crl-there";
    case DSEC_ERR_CRL_SCOPE:
        return "crl-out-of-scope";
    case DSEC_ERR_CRL_CRITICAL:
        return "crl-critical-extension";
    case DSEC_ERR_CRL_SIGNER:
        return "crl-signer-not-validated";
    case DSEC_ERR_CRL_REASONS:
        return "crl-reasons-uncovered";
    case DSEC_ERR_NO_DELTA:
        return "delta-crl-missing";
    }
    return "unknown";
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
