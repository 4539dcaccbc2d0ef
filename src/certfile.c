/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading and decoding certificate files for the certificate directories
 * and the command line: open without blocking, regular files only, a size
 * cap per mode, then PEM (one or more certificates, TRUSTED CERTIFICATE in
 * directory mode) or a single DER certificate. The two modes and their
 * differences are described in domainsec/certfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "domainsec/certfile.h"

static dsec_certfile_fault fail_errno(dsec_certfile_status *st,
                                      dsec_certfile_fault fault)
{
    st->errnum = errno;
    return fault;
}

/*
 * Read the whole regular file name in dfd, at most max bytes. A file that
 * grows while being read is refused, or with strict read up to the size
 * fstat gave.
 */
static dsec_certfile_fault read_at(int dfd, const char *name, long max,
                                   int strict, unsigned char **out,
                                   size_t *outlen, dsec_certfile_status *st)
{
    int fd = -1;
    struct stat sb;
    unsigned char *buf = NULL;
    size_t len = 0;
    size_t cap;
    ssize_t n;
    dsec_certfile_fault fault;

    /* O_NONBLOCK: a FIFO swapped in after a stat must not block us */
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        fault = fail_errno(st, DSEC_CERTFILE_OPEN);
        goto done;
    }
    if (fstat(fd, &sb) != 0) {
        fault = fail_errno(st, DSEC_CERTFILE_STAT);
        goto done;
    }
    fault = DSEC_CERTFILE_NOT_REGULAR;
    if (!S_ISREG(sb.st_mode)) {
        goto done;
    }
    fault = DSEC_CERTFILE_TOO_LARGE;
    if (sb.st_size < 0 || sb.st_size > max) {
        goto done;
    }
    /* one byte more than fstat said, to notice a file that grew */
    cap = (size_t)sb.st_size + 1;
    fault = DSEC_CERTFILE_NOMEM;
    buf = malloc(cap);
    if (buf == NULL) {
        goto done;
    }
    while (len < cap) {
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fault = fail_errno(st, DSEC_CERTFILE_READ);
            goto done;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    fault = DSEC_CERTFILE_CHANGED;
    if (len == cap && !strict) {
        goto done;
    }
    if (len == cap) {
        len = (size_t)sb.st_size;
    }
    fault = DSEC_CERTFILE_EMPTY;
    if (len == 0) {
        goto done;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    fault = DSEC_CERTFILE_OK;
done:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    return fault;
}

/* Decode one DER certificate that must span exactly len bytes. */
static X509 *decode_der(const unsigned char *der, long len, int trusted)
{
    const unsigned char *p = der;
    X509 *cert = NULL;

    if (trusted) {
        cert = d2i_X509_AUX(NULL, &p, len);
    } else {
        cert = d2i_X509(NULL, &p, len);
    }
    if (cert != NULL && p != der + len) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

static int is_cert_pem_name(const char *name, int *trusted)
{
    *trusted = 0;
    if (strcmp(name, PEM_STRING_X509) == 0
        || strcmp(name, PEM_STRING_X509_OLD) == 0) {
        return 1;
    }
    if (strcmp(name, PEM_STRING_X509_TRUSTED) == 0) {
        *trusted = 1;
        return 1;
    }
    return 0;
}

/*
 * Directory mode: every certificate block of a PEM file, other blocks
 * ignored; reading stops at the first block that is not PEM. A certificate
 * block that does not decode is counted in st->bad and skipped.
 */
static dsec_certfile_fault parse_pem(BIO *bio, STACK_OF(X509) * certs,
                                     dsec_certfile_status *st)
{
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    int trusted = 0;
    X509 *cert = NULL;
    dsec_certfile_fault fault = DSEC_CERTFILE_OK;

    while (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
        if (is_cert_pem_name(name, &trusted)) {
            cert = decode_der(data, dlen, trusted);
            if (cert == NULL) {
                st->bad++;
            } else if (!sk_X509_push(certs, cert)) {
                fault = DSEC_CERTFILE_NOMEM;
                goto done;
            } else {
                cert = NULL;
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = NULL;
        header = NULL;
        data = NULL;
    }
    if (sk_X509_num(certs) == 0) {
        fault = st->bad > 0 ? DSEC_CERTFILE_BAD_CERT : DSEC_CERTFILE_NO_CERT;
    }
done:
    X509_free(cert);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return fault;
}

/*
 * Strict mode: every CERTIFICATE or X509 CERTIFICATE of a PEM file; the
 * whole file or nothing.
 */
static dsec_certfile_fault parse_pem_strict(BIO *bio, STACK_OF(X509) * certs,
                                            dsec_certfile_status *st)
{
    X509 *x = NULL;
    unsigned long e;

    for (;;) {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            break;
        }
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            return DSEC_CERTFILE_NOMEM;
        }
    }
    /* The loop ends with "no start line" at the end of the data. */
    e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) != ERR_LIB_PEM
        || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
        st->at = (size_t)sk_X509_num(certs) + 1;
        return DSEC_CERTFILE_BAD_CERT;
    }
    if (sk_X509_num(certs) == 0) {
        return DSEC_CERTFILE_NO_CERT;
    }
    return DSEC_CERTFILE_OK;
}

static int looks_like_pem(const unsigned char *buf, size_t len)
{
    static const char marker[] = "-----BEGIN ";
    size_t mlen = sizeof(marker) - 1;
    size_t i;

    for (i = 0; i + mlen <= len; i++) {
        if (buf[i] == '-' && memcmp(buf + i, marker, mlen) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The certificates of the file's contents into certs. */
static dsec_certfile_fault parse(const unsigned char *buf, size_t len,
                                 int strict, STACK_OF(X509) * certs,
                                 dsec_certfile_status *st)
{
    BIO *bio = NULL;
    X509 *cert = NULL;
    dsec_certfile_fault fault = DSEC_CERTFILE_NOMEM;

    st->pem = looks_like_pem(buf, len);
    if (st->pem) {
        bio = BIO_new_mem_buf(buf, (int)len);
        if (bio != NULL) {
            fault = strict ? parse_pem_strict(bio, certs, st)
                           : parse_pem(bio, certs, st);
        }
        goto done;
    }
    fault = DSEC_CERTFILE_NO_CERT;
    cert = decode_der(buf, (long)len, 0);
    if (cert == NULL) {
        goto done;
    }
    fault = DSEC_CERTFILE_NOMEM;
    if (!sk_X509_push(certs, cert)) {
        goto done;
    }
    cert = NULL;
    fault = DSEC_CERTFILE_OK;
done:
    X509_free(cert);
    BIO_free(bio);
    return fault;
}

dsec_rv dsec_certfile_load_at(int dfd, const char *name, unsigned int flags,
                              STACK_OF(X509) * *out, dsec_certfile_status *st)
{
    dsec_certfile_status local;
    int strict = (flags & DSEC_CERTFILE_STRICT) != 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    STACK_OF(X509) *certs = NULL;
    dsec_rv rv;

    if (st == NULL) {
        st = &local;
    }
    memset(st, 0, sizeof(*st));
    if (name == NULL || out == NULL) {
        return DSEC_ERR_INVALID;
    }
    /* decoding leaves errors on the queue: the caller must not see them */
    ERR_set_mark();
    st->fault = read_at(dfd, name,
                        strict ? DSEC_CERTFILE_MAX_STRICT : DSEC_CERTFILE_MAX,
                        strict, &buf, &len, st);
    if (st->fault == DSEC_CERTFILE_OK) {
        certs = sk_X509_new_null();
        st->fault = certs == NULL ? DSEC_CERTFILE_NOMEM
                                  : parse(buf, len, strict, certs, st);
    }
    ERR_pop_to_mark();
    switch (st->fault) {
    case DSEC_CERTFILE_OK:
        *out = certs;
        certs = NULL;
        rv = DSEC_OK;
        break;
    case DSEC_CERTFILE_NOMEM:
        rv = DSEC_ERR_NOMEM;
        break;
    case DSEC_CERTFILE_NO_CERT:
    case DSEC_CERTFILE_BAD_CERT:
        rv = DSEC_ERR_PARSE;
        break;
    default:
        rv = DSEC_ERR_IO;
        break;
    }
    sk_X509_pop_free(certs, X509_free);
    free(buf);
    return rv;
}

dsec_rv dsec_certfile_load(const char *path, unsigned int flags,
                           STACK_OF(X509) * *out, dsec_certfile_status *st)
{
    return dsec_certfile_load_at(AT_FDCWD, path, flags, out, st);
}
