/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transient or fatal (DESIGN.md section 5): the classification of X509
 * verification errors and revocation outcomes, the soft-fail waiver and the
 * CLI's exit code of each class.
 */
#include <openssl/x509_vfy.h>
#include "domainsec/classify.h"

/* Each class's name and the CLI's exit code for it. */
static const struct {
    const char *name;
    int exit_code;
} classes[] = {
    [DSEC_CLASS_VALID] = { "valid", DSEC_EXIT_VALID },
    [DSEC_CLASS_TRANSIENT] = { "transient", DSEC_EXIT_TRANSIENT },
    [DSEC_CLASS_FATAL] = { "fatal", DSEC_EXIT_FATAL },
};

/* An unknown class is treated as fatal (fail closed). */
static size_t class_index(dsec_class cls)
{
    return (unsigned int)cls < sizeof(classes) / sizeof(classes[0])
               ? (size_t)cls
               : (size_t)DSEC_CLASS_FATAL;
}

const char *dsec_classify_name(dsec_class cls)
{
    return classes[class_index(cls)].name;
}

int dsec_classify_exit_code(dsec_class cls)
{
    return classes[class_index(cls)].exit_code;
}

dsec_class dsec_classify_rv(dsec_rv rv)
{
    if (rv == DSEC_OK) {
        return DSEC_CLASS_VALID;
    }
    /* no CDP we may fetch (none, schemes not allowed, a URL that can never
       be fetched such as a hostless ldap:///): retrying cannot help, the
       set-up must change */
    if (rv == DSEC_ERR_NO_CDP || rv == DSEC_ERR_SCHEME
        || rv == DSEC_ERR_INVALID) {
        return DSEC_CLASS_FATAL;
    }
    /* a fetch the fetch policy refused (a redirect allow_redirects does not
       follow: DSEC_ERR_HTTP; an address of deny_networks: DSEC_ERR_CONNECT)
       stays transient, as the server's answer and DNS may change: mail is
       deferred, not bounced, while the administrator decides; a CRL older
       than one accepted before (DSEC_ERR_ROLLBACK) is transient too: the
       next fetch may bring the current one */
    return DSEC_CLASS_TRANSIENT;
}

dsec_class dsec_classify(int x509_err, dsec_rv rv)
{
    switch (x509_err) {
    case X509_V_OK:
        return DSEC_CLASS_VALID;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
        return rv == DSEC_OK ? DSEC_CLASS_TRANSIENT : dsec_classify_rv(rv);
    /* a CRL was obtained but cannot be used: the CA may publish a good one */
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
        return DSEC_CLASS_TRANSIENT;
    default:
        return DSEC_CLASS_FATAL;
    }
}

int dsec_classify_waived(dsec_class cls, dsec_revocation_mode mode)
{
    return cls == DSEC_CLASS_TRANSIENT && mode == DSEC_REVOCATION_SOFT_FAIL;
}
