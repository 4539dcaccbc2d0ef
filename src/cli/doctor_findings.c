/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One run of `domainsec doctor`: each finding printed as one line (OK,
 * FAIL with what to fix, or INFO) and counted by kind, the summary and the
 * exit code they add up to, and what a check hands on to the next (the
 * certificates of trust_dirs and cross_dirs, for the CDP check), freed at
 * the end of the run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include "cli.h"
#include "doctor.h"

void cli_doctor_line(struct cli_doctor *doc, cli_doctor_status st,
                     const char *fmt, ...)
{
    /* by cli_doctor_status */
    static const char *const tags[CLI_DOCTOR_NSTATUS] = { "OK  ", "INFO",
                                                          "FAIL", "FAIL" };
    va_list ap;

    doc->count[st]++;
    printf("%s ", tags[st]);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

cli_doctor_status cli_doctor_status_of(dsec_class cls)
{
    switch (cls) {
    case DSEC_CLASS_VALID:
        return CLI_DOCTOR_OK;
    case DSEC_CLASS_TRANSIENT:
        return CLI_DOCTOR_FAIL_TRANSIENT;
    case DSEC_CLASS_FATAL:
        break;
    }
    return CLI_DOCTOR_FAIL_CONFIG;
}

void *cli_doctor_grow(void *v, size_t *cap, size_t n, size_t size)
{
    size_t newcap;

    if (n < *cap) {
        return v;
    }
    newcap = *cap == 0 ? 8 : *cap * 2;
    v = realloc(v, newcap * size);
    if (v != NULL) {
        *cap = newcap;
    }
    return v;
}

int cli_doctor_add_cert(struct cli_doctor *doc, X509 *x, const char *path,
                        const char *kind)
{
    struct cli_doctor_cert *v;

    v = cli_doctor_grow(doc->certs, &doc->capcerts, doc->ncerts, sizeof(*v));
    if (v == NULL) {
        return 0;
    }
    doc->certs = v;
    v = &doc->certs[doc->ncerts];
    v->path = strdup(path);
    if (v->path == NULL || !X509_up_ref(x)) {
        free(v->path);
        return 0;
    }
    v->x = x;
    v->kind = kind;
    doc->ncerts++;
    return 1;
}

int cli_doctor_summary(const struct cli_doctor *doc)
{
    int nconfig = doc->count[CLI_DOCTOR_FAIL_CONFIG];
    int ntransient = doc->count[CLI_DOCTOR_FAIL_TRANSIENT];
    int ret;

    /*
     * A configuration problem is what the set-up must change: 78, before
     * the class of the rest (a fatal finding of doctor is a configuration
     * FAIL, so what is left is transient or valid).
     */
    if (nconfig > 0) {
        ret = DSEC_EXIT_CONFIG;
    } else {
        ret = dsec_classify_exit_code(ntransient > 0 ? DSEC_CLASS_TRANSIENT
                                                     : DSEC_CLASS_VALID);
    }
    printf("summary: %d OK, %d FAIL (%d configuration, %d transient), %d "
           "INFO: %s\n",
           doc->count[CLI_DOCTOR_OK], nconfig + ntransient, nconfig, ntransient,
           doc->count[CLI_DOCTOR_INFO],
           ret == DSEC_EXIT_VALID       ? "all OK"
           : ret == DSEC_EXIT_TRANSIENT ? "transient problems (retry later)"
                                        : "configuration problems");
    return ret;
}

void cli_doctor_free(struct cli_doctor *doc)
{
    size_t i;

    for (i = 0; i < doc->ncerts; i++) {
        X509_free(doc->certs[i].x);
        free(doc->certs[i].path);
    }
    free(doc->certs);
    for (i = 0; i < doc->nfetches; i++) {
        free(doc->fetches[i].url);
        X509_CRL_free(doc->fetches[i].crl);
    }
    free(doc->fetches);
    dsec_config_free(doc->cfg);
}
