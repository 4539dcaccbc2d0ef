/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate files and CRL checks for the CLI's commands: every
 * certificate of a PEM bundle or DER file (verify's CERT and --untrusted,
 * fetch's --issuer), the time and completeness checks of a CRL, and whether
 * a certificate's key verifies a CRL. The library decides each
 * (dsec_certfile_load, dsec_crl_check_time, dsec_crl_verify); this file
 * words the outcome for an admin.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/x509.h>
#include "domainsec/certfile.h"
#include "domainsec/crl.h"
#include "cli.h"

/* The library reads the file (strict mode); the CLI words its faults. */
int dsec_cli_load_certs(const char *path, STACK_OF(X509) * *out, char *why,
                        size_t whylen)
{
    dsec_certfile_status st;

    if (dsec_certfile_load(path, DSEC_CERTFILE_STRICT, out, &st) == DSEC_OK) {
        return 1;
    }
    switch (st.fault) {
    case DSEC_CERTFILE_OPEN:
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(st.errnum));
        break;
    case DSEC_CERTFILE_STAT:
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(st.errnum));
        break;
    case DSEC_CERTFILE_NOT_REGULAR:
        snprintf(why, whylen, "%s is not a regular file", path);
        break;
    case DSEC_CERTFILE_TOO_LARGE:
        snprintf(why, whylen, "%s is too large (over %ld bytes)", path,
                 DSEC_CERTFILE_MAX_STRICT);
        break;
    case DSEC_CERTFILE_READ:
        snprintf(why, whylen, "cannot read %s: %s", path, strerror(st.errnum));
        break;
    case DSEC_CERTFILE_EMPTY:
        snprintf(why, whylen, "%s is empty", path);
        break;
    case DSEC_CERTFILE_BAD_CERT:
        snprintf(why, whylen,
                 "%s: certificate %zu of the PEM file cannot be parsed", path,
                 st.at);
        break;
    case DSEC_CERTFILE_NO_CERT:
        if (st.pem) {
            snprintf(why, whylen, "%s holds no PEM certificate", path);
        } else {
            snprintf(why, whylen,
                     "%s is neither a PEM nor a DER certificate file", path);
        }
        break;
    default: /* out of memory; CHANGED is not a fault of the strict mode */
        snprintf(why, whylen, "out of memory reading %s", path);
        break;
    }
    return 0;
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
