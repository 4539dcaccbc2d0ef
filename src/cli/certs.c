/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate files and CRL checks the CLI does by itself: reading every
 * certificate of a PEM bundle or DER file (verify's CERT and --untrusted,
 * fetch's --issuer), the time and completeness checks of a CRL, and whether
 * a certificate's key verifies a CRL. Moved here unchanged from the former
 * util.c: the library is gaining equivalents that will replace this file,
 * so its functions (and the names of its helpers) are kept as they were.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/crl.h"
#include "cli.h"

/* Largest certificate file read: far beyond any real bundle. */
#define DSEC_CLI_MAX_FILE (16L * 1024 * 1024)

/* Read the whole file into a new buffer. */
static int dsec_cli_read_file(const char *path, unsigned char **out,
                              size_t *outlen, char *why, size_t whylen)
{
    FILE *fp = NULL;
    unsigned char *buf = NULL;
    struct stat st;
    size_t len = 0;
    int ret = 0;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fileno(fp), &st) != 0) {
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is not a regular file", path);
        goto done;
    }
    if (st.st_size > DSEC_CLI_MAX_FILE) {
        snprintf(why, whylen, "%s is too large (over %ld bytes)", path,
                 DSEC_CLI_MAX_FILE);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(why, whylen, "out of memory reading %s", path);
        goto done;
    }
    len = fread(buf, 1, (size_t)st.st_size, fp);
    if (ferror(fp)) {
        snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    if (len == 0) {
        snprintf(why, whylen, "%s is empty", path);
        goto done;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
    ret = 1;

done:
    free(buf);
    if (fp != NULL) {
        fclose(fp);
    }
    return ret;
}

static int dsec_cli_parse_pem(const char *path, const unsigned char *data,
                              size_t len, STACK_OF(X509) * certs, char *why,
                              size_t whylen)
{
    BIO *bio = NULL;
    X509 *x = NULL;
    unsigned long e;
    int ret = 0;

    bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL) {
        snprintf(why, whylen, "out of memory reading %s", path);
        goto done;
    }
    ERR_set_mark();
    for (;;) {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            break;
        }
        if (!sk_X509_push(certs, x)) {
            ERR_pop_to_mark();
            snprintf(why, whylen, "out of memory reading %s", path);
            goto done;
        }
        x = NULL;
    }
    /* The loop ends with "no start line" at the end of the data. */
    e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) != ERR_LIB_PEM
        || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
        ERR_pop_to_mark();
        snprintf(why, whylen,
                 "%s: certificate %d of the PEM file cannot be parsed", path,
                 sk_X509_num(certs) + 1);
        goto done;
    }
    ERR_pop_to_mark();
    if (sk_X509_num(certs) == 0) {
        snprintf(why, whylen, "%s holds no PEM certificate", path);
        goto done;
    }
    ret = 1;

done:
    X509_free(x);
    BIO_free(bio);
    return ret;
}

int dsec_cli_load_certs(const char *path, STACK_OF(X509) * *out, char *why,
                        size_t whylen)
{
    unsigned char *data = NULL;
    size_t len = 0;
    STACK_OF(X509) *certs = NULL;
    X509 *x = NULL;
    const unsigned char *p;
    int ret = 0;

    if (!dsec_cli_read_file(path, &data, &len, why, whylen)) {
        goto done;
    }
    certs = sk_X509_new_null();
    if (certs == NULL) {
        snprintf(why, whylen, "out of memory reading %s", path);
        goto done;
    }
    if (memmem(data, len, "-----BEGIN ", 11) != NULL) {
        if (!dsec_cli_parse_pem(path, data, len, certs, why, whylen)) {
            goto done;
        }
    } else {
        if (len > INT_MAX) {
            snprintf(why, whylen, "%s is too large", path);
            goto done;
        }
        p = data;
        ERR_set_mark();
        x = d2i_X509(NULL, &p, (long)len);
        ERR_pop_to_mark();
        if (x == NULL || p != data + len) {
            snprintf(why, whylen,
                     "%s is neither a PEM nor a DER certificate file", path);
            goto done;
        }
        if (!sk_X509_push(certs, x)) {
            snprintf(why, whylen, "out of memory reading %s", path);
            goto done;
        }
        x = NULL;
    }
    *out = certs;
    certs = NULL;
    ret = 1;

done:
    X509_free(x);
    sk_X509_pop_free(certs, X509_free);
    free(data);
    return ret;
}

int dsec_cli_crl_signed_by(X509_CRL *crl, X509 *cert)
{
    return dsec_crl_verify(crl, cert);
}

dsec_rv dsec_cli_crl_time(X509_CRL *crl, time_t now, long grace, char *why,
                          size_t whylen)
{
    DSEC_ERR err = { 0 };
    int stale = 0;
    dsec_rv rv = dsec_crl_check_time(crl, now, grace, &stale, &err);

    /* the library decides; the CLI words it for an admin */
    if (rv == DSEC_ERR_CRL_DELTA) {
        snprintf(why, whylen,
                 "delta CRL: a CDP must serve a complete CRL (unusable)");
    } else if (rv == DSEC_ERR_CRL_FUTURE) {
        snprintf(why, whylen, "thisUpdate is in the future (unusable)");
    } else if (rv == DSEC_ERR_CRL_STALE
               && X509_CRL_get0_nextUpdate(crl) == NULL) {
        snprintf(why, whylen, "no nextUpdate (unusable)");
    } else if (rv != DSEC_OK) {
        snprintf(why, whylen, "past its nextUpdate%s (stale)",
                 grace > 0 ? " and stale_grace" : "");
    } else {
        snprintf(why, whylen, "%s",
                 stale ? "past its nextUpdate, within stale_grace" : "current");
    }
    return rv;
}
