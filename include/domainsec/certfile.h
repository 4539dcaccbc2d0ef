/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate files: read one file, a PEM file with one or more
 * certificates or a single DER certificate, into a new stack of X509. The
 * file is opened without blocking (a FIFO swapped in does not hang the
 * reader) and must be a regular file under a size cap. Two modes keep the
 * behaviour each caller always had:
 *   - flags 0, for certificate directories (trust_dirs, cross_dirs): files
 *     up to DSEC_CERTFILE_MAX; a file that grows while being read is
 *     refused; PEM blocks CERTIFICATE, X509 CERTIFICATE and TRUSTED
 *     CERTIFICATE are taken, each decoding to exactly its bytes, other
 *     blocks ignored, and a certificate block that does not decode is
 *     skipped and counted (the file fails only when nothing is left);
 *   - DSEC_CERTFILE_STRICT, for files named on the command line: files up
 *     to DSEC_CERTFILE_MAX_STRICT, read up to the size they had when
 *     opened; PEM blocks CERTIFICATE and X509 CERTIFICATE are taken, other
 *     blocks (TRUSTED CERTIFICATE too) ignored, and any PEM or certificate
 *     that does not parse fails the whole file.
 * In both modes a file without a "-----BEGIN " line must be one DER
 * certificate spanning the whole file. Failures are described by a
 * dsec_certfile_status rather than a message: each caller phrases them.
 * The OpenSSL error queue is left as found.
 */
#ifndef DOMAINSEC_CERTFILE_H
#define DOMAINSEC_CERTFILE_H

#include <openssl/x509.h>
#include "domainsec/common.h"

/* The command line's reader: see above. */
#define DSEC_CERTFILE_STRICT 0x1u

/* Largest file read, in bytes: directory mode, strict mode. */
#define DSEC_CERTFILE_MAX (1024L * 1024L)
#define DSEC_CERTFILE_MAX_STRICT (16L * 1024 * 1024)

/* What was wrong with a file. */
typedef enum {
    DSEC_CERTFILE_OK = 0,
    DSEC_CERTFILE_OPEN, /* it could not be opened: errnum */
    DSEC_CERTFILE_STAT, /* fstat failed: errnum */
    DSEC_CERTFILE_NOT_REGULAR, /* a directory, FIFO, device... */
    DSEC_CERTFILE_TOO_LARGE, /* over the mode's cap */
    DSEC_CERTFILE_NOMEM,
    DSEC_CERTFILE_READ, /* read failed: errnum */
    DSEC_CERTFILE_CHANGED, /* it grew while being read (directory mode) */
    DSEC_CERTFILE_EMPTY,
    /* PEM without a certificate block, or not one DER certificate */
    DSEC_CERTFILE_NO_CERT,
    /* directory mode: no certificate block decodes; strict mode: the PEM
       or certificate number at does not parse */
    DSEC_CERTFILE_BAD_CERT
} dsec_certfile_fault;

typedef struct {
    dsec_certfile_fault fault;
    int errnum; /* errno of OPEN, STAT and READ */
    int pem; /* the file has a "-----BEGIN " line: it was read as PEM */
    size_t bad; /* directory mode: malformed certificate blocks skipped */
    size_t at; /* strict mode, BAD_CERT: 1-based number of the failed one */
} dsec_certfile_status;

/*
 * Read the file name, relative to the directory descriptor dfd (or to the
 * working directory with AT_FDCWD), in the mode flags selects. On success
 * returns DSEC_OK and *out gets a new stack of at least one certificate, in
 * file order; st->bad may count blocks skipped in directory mode. Otherwise
 * returns DSEC_ERR_NOMEM, DSEC_ERR_IO (OPEN to EMPTY) or DSEC_ERR_PARSE
 * (NO_CERT, BAD_CERT), and st says why. st may be NULL.
 */
dsec_rv dsec_certfile_load_at(int dfd, const char *name, unsigned int flags,
                              STACK_OF(X509) * *out, dsec_certfile_status *st);
/* dsec_certfile_load_at relative to the working directory. */
dsec_rv dsec_certfile_load(const char *path, unsigned int flags,
                           STACK_OF(X509) * *out, dsec_certfile_status *st);

#endif /* DOMAINSEC_CERTFILE_H */
