/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-verification report and the classification of failures into
 * transient (retry later) and fatal (DESIGN.md section 5).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <openssl/x509_vfy.h>
#include "domainsec/report.h"

dsec_report *dsec_report_new(void)
{
    dsec_report *rep = calloc(1, sizeof(*rep));

    if (rep == NULL) {
        return NULL;
    }
    rep->err_depth = -1;
    return rep;
}

void dsec_report_free(dsec_report *rep)
{
    size_t i;

    if (rep == NULL) {
        return;
    }
    for (i = 0; i < rep->nattempts; i++) {
        free(rep->attempts[i].url);
        X509_CRL_free(rep->attempts[i].crl);
    }
    free(rep->attempts);
    dsec_report_clear_paths(rep);
    free(rep);
}

int dsec_report_add_path(dsec_report *rep, const char *line)
{
    char **v;

    if (rep == NULL || line == NULL) {
        return 0;
    }
    if (rep->npaths >= DSEC_REPORT_MAX_PATHS) {
        rep->paths_dropped++;
        return 1;
    }
    v = realloc(rep->paths, (rep->npaths + 1) * sizeof(*v));
    if (v == NULL) {
        return 0;
    }
    rep->paths = v;
    if ((v[rep->npaths] = strdup(line)) == NULL) {
        return 0;
    }
    rep->npaths++;
    return 1;
}

void dsec_report_clear_paths(dsec_report *rep)
{
    size_t i;

    for (i = 0; i < rep->npaths; i++) {
        free(rep->paths[i]);
    }
    free(rep->paths);
    rep->paths = NULL;
    rep->npaths = 0;
    rep->paths_dropped = 0;
}

dsec_attempt *dsec_report_add_attempt(dsec_report *rep, int depth,
                                      const char *url)
{
    dsec_attempt *v, *att;

    if (rep == NULL) {
        return NULL;
    }
    v = dsec_grow(rep->attempts, &rep->cap, rep->nattempts + 1, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    rep->attempts = v;
    att = &v[rep->nattempts];
    memset(att, 0, sizeof(*att));
    att->depth = depth;
    att->url = strdup(url != NULL ? url : "");
    if (att->url == NULL) {
        return NULL;
    }
    rep->nattempts++;
    return att;
}

const char *dsec_class_name(dsec_class cls)
{
    switch (cls) {
    case DSEC_CLASS_VALID:
        return "valid";
    case DSEC_CLASS_TRANSIENT:
        return "transient";
    case DSEC_CLASS_FATAL:
        return "fatal";
    }
    return "fatal";
}

int dsec_class_exit_code(dsec_class cls)
{
    switch (cls) {
    case DSEC_CLASS_VALID:
        return DSEC_EXIT_VALID;
    case DSEC_CLASS_TRANSIENT:
        return DSEC_EXIT_TRANSIENT;
    case DSEC_CLASS_FATAL:
        return DSEC_EXIT_FATAL;
    }
    return DSEC_EXIT_FATAL;
}

dsec_class dsec_classify(int x509_err, dsec_rv rv)
{
    switch (x509_err) {
    case X509_V_OK:
        return DSEC_CLASS_VALID;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
        /* no CDP we may fetch (none, schemes not allowed, a URL that can
           never be fetched such as a hostless ldap:///): retrying cannot
           help, the set-up must change */
        return rv == DSEC_ERR_NO_CDP || rv == DSEC_ERR_SCHEME
                       || rv == DSEC_ERR_INVALID
                   ? DSEC_CLASS_FATAL
                   : DSEC_CLASS_TRANSIENT;
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

void dsec_report_record(dsec_report *rep, int x509_err, int depth, dsec_rv rv,
                        const char *reason)
{
    dsec_class cls = dsec_classify(x509_err, rv);

    if (rep == NULL || cls == DSEC_CLASS_VALID) {
        return;
    }
    if (rep->cls == DSEC_CLASS_FATAL
        || (rep->cls == DSEC_CLASS_TRANSIENT && cls == DSEC_CLASS_TRANSIENT)) {
        return;
    }
    rep->cls = cls;
    rep->x509_err = x509_err;
    rep->err_depth = depth;
    snprintf(rep->reason, sizeof(rep->reason), "%s",
             reason != NULL ? reason : X509_verify_cert_error_string(x509_err));
}
