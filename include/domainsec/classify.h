/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one home of "which class is this?" (DESIGN.md section 5): every
 * failure is valid, transient (retry later: CRL unreachable, stale,
 * unusable) or fatal (revoked, untrusted, bad signature, set-up). The hook,
 * the report and every CLI command ask here and print what it returns.
 */
#ifndef DOMAINSEC_CLASSIFY_H
#define DOMAINSEC_CLASSIFY_H

#include "domainsec/common.h"
#include "domainsec/config.h"

/* Exit codes of the CLI (sysexits for 64, 75 and 78). */
#define DSEC_EXIT_VALID 0
#define DSEC_EXIT_FATAL 1
#define DSEC_EXIT_USAGE 64
#define DSEC_EXIT_TRANSIENT 75
#define DSEC_EXIT_CONFIG 78

typedef enum {
    DSEC_CLASS_VALID = 0,
    DSEC_CLASS_TRANSIENT,
    DSEC_CLASS_FATAL
} dsec_class;

/* "valid", "transient" or "fatal". */
const char *dsec_classify_name(dsec_class cls);

/* The CLI's exit code for a class: 0, 75 or 1. */
int dsec_classify_exit_code(dsec_class cls);

/*
 * Class of an X509 verification error. rv is the revocation outcome at the
 * error's depth (DSEC_OK when unknown): UNABLE_TO_GET_CRL is fatal when rv is
 * DSEC_ERR_NO_CDP, DSEC_ERR_SCHEME or DSEC_ERR_INVALID (no CDP it may fetch:
 * the set-up must change), transient otherwise; the other CRL errors
 * (unusable CRL) are transient; everything else is fatal.
 */
dsec_class dsec_classify(int x509_err, dsec_rv rv);

/*
 * Class of a revocation-step outcome on its own (a fetch, a CRL check):
 * DSEC_OK is valid; what dsec_classify would call fatal for a CRL that
 * could not be obtained (no CDP that may be fetched) is fatal; every other
 * failure is transient.
 */
dsec_class dsec_classify_rv(dsec_rv rv);

/*
 * 1 when a failure of class cls is waived under the revocation mode (a
 * transient one under soft-fail: the host accepts, the failure is logged).
 */
int dsec_classify_waived(dsec_class cls, dsec_revocation_mode mode);

#endif /* DOMAINSEC_CLASSIFY_H */
