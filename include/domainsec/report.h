/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What domainsec did during one verification: the CDP attempts, the
 * outcome per chain depth, and the classification. The provider keeps one in
 * ex_data of the X509_STORE_CTX; the CLI reads it from there (the provider
 * publishes the ex_data index as its "report-index" parameter).
 */
#ifndef DOMAINSEC_REPORT_H
#define DOMAINSEC_REPORT_H

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "domainsec/common.h"
#include "domainsec/classify.h"

#define DSEC_REPORT_MAX_DEPTH 32
#define DSEC_REPORT_MAX_PATHS 200

typedef struct {
    int depth;
    char *url;
    dsec_rv rv;
    char detail[DSEC_ERR_MSG_LEN];
    double seconds;
    size_t bytes;
    int from_cache; /* 1 memory, 2 disk, 0 network */
    long status;
    char route[128];
    X509_CRL *crl; /* the CRL this attempt yielded (owned), or NULL */
} dsec_attempt;

/* Outcome of the revocation step for one chain element. */
typedef struct {
    dsec_rv rv; /* DSEC_OK when decided (good or revoked), else why not */
    int checked; /* 1 when in scope of the revocation check */
    int status; /* a dsec_status (decide.h) once decided */
    char detail[DSEC_ERR_MSG_LEN];
    char url[256]; /* the CRL that decided, else the last URL tried */
} dsec_depth_status;

typedef struct dsec_report {
    dsec_class cls;
    int x509_err; /* first error that decided the class */
    int err_depth;
    char reason[DSEC_ERR_MSG_LEN];
    char subject[256];
    char url[256];
    int nchain;
    dsec_depth_status depth[DSEC_REPORT_MAX_DEPTH];
    double net_seconds; /* time spent on network fetches so far */
    dsec_attempt *attempts;
    size_t nattempts;
    size_t cap;
    /* the path builder's log: every path tried and why it was rejected */
    char **paths;
    size_t npaths;
    size_t paths_dropped; /* lines over DSEC_REPORT_MAX_PATHS */
} dsec_report;

dsec_report *dsec_report_new(void);
void dsec_report_free(dsec_report *rep);
/* Append an attempt (url copied); returns the attempt or NULL on ENOMEM. */
dsec_attempt *dsec_report_add_attempt(dsec_report *rep, int depth,
                                      const char *url);

/* Append one line of the path builder's log (copied). */
int dsec_report_add_path(dsec_report *rep, const char *line);
void dsec_report_clear_paths(dsec_report *rep);

/*
 * Record an error in rep: the first transient or fatal error is kept, and a
 * fatal one replaces a transient one (retrying cannot cure it).
 */
void dsec_report_record(dsec_report *rep, int x509_err, int depth, dsec_rv rv,
                        const char *reason);

/*
 * Note a verification error x509_err at depth, of the certificate subject:
 * the revocation outcome that explains it (the depth's own; for the trust
 * anchor, that of the certificate it issued) classifies it (dsec_classify),
 * reason (rlen bytes) says why with that outcome's detail, and the error is
 * recorded as dsec_report_record does. *url is the CRL involved ("" when
 * none; valid while rep is). rep may be NULL. Returns the class.
 */
dsec_class dsec_report_note(dsec_report *rep, int x509_err, int depth,
                            const char *subject, char *reason, size_t rlen,
                            const char **url);

#endif /* DOMAINSEC_REPORT_H */
