/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-verification report: the CRL attempts, the outcome per chain
 * depth, the paths tried, and the error that decides the verification
 * (its class comes from classify.c, DESIGN.md section 5).
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

dsec_class dsec_report_note(dsec_report *rep, int x509_err, int depth,
                            const char *subject, char *reason, size_t rlen,
                            const char **url)
{
    dsec_rv rv = DSEC_OK;
    const char *detail = "";
    int sdepth = depth;

    *url = "";
    /* the trust anchor is checked against the CRL that decided the
       certificate it issued (the anchor rule) */
    if (rep != NULL && sdepth > 0 && sdepth == rep->nchain - 1
        && sdepth < DSEC_REPORT_MAX_DEPTH && !rep->depth[sdepth].checked) {
        sdepth--;
    }
    if (rep != NULL && sdepth >= 0 && sdepth < DSEC_REPORT_MAX_DEPTH
        && rep->depth[sdepth].checked) {
        rv = rep->depth[sdepth].rv;
        detail = rep->depth[sdepth].detail;
        *url = rep->depth[sdepth].url;
    }
    if (*detail != '\0' && rv != DSEC_OK) {
        snprintf(reason, rlen, "%s (%s: %.160s)",
                 X509_verify_cert_error_string(x509_err), dsec_rv_name(rv),
                 detail);
    } else {
        snprintf(reason, rlen, "%s", X509_verify_cert_error_string(x509_err));
    }
    if (rep != NULL) {
        dsec_report_record(rep, x509_err, depth, rv, reason);
        if (rep->err_depth == depth && rep->x509_err == x509_err) {
            snprintf(rep->subject, sizeof(rep->subject), "%s", subject);
            snprintf(rep->url, sizeof(rep->url), "%s", *url);
        }
    }
    return dsec_classify(x509_err, rv);
}
