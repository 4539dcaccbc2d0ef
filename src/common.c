/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Return-code names and the DSEC_ERR detail helper shared by every
 * libdomainsec module.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include "domainsec/common.h"

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

int dsec_time_cmp(const ASN1_TIME *t, time_t now)
{
    struct tm tm;
    time_t when;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    when = timegm(&tm);
    return when <= now ? -1 : 1;
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
