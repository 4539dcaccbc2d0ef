/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Postfix policy delegation protocol as `domainsec policyd` speaks it
 * (DESIGN.md section 8): reading requests (name=value lines ended by an
 * empty line) within fixed limits, the list of domain-secured partner
 * domains, and the decision for one request from the verdict records
 * (domainsec/verdict.h). No I/O but the records and the domains file:
 * the CLI owns the connections.
 */
#ifndef DOMAINSEC_POLICY_H
#define DOMAINSEC_POLICY_H

#include <stddef.h>
#include <time.h>
#include "domainsec/common.h"
#include "domainsec/verdict.h"

/* Limits of one request: a longer line, a larger request or more
   attributes make it an error, answered and skipped to its end. */
#define DSEC_POLICY_MAX_LINE 4096
#define DSEC_POLICY_MAX_REQUEST 65536
#define DSEC_POLICY_MAX_ATTRS 100
/* The longest value kept of an attribute the decision reads. */
#define DSEC_POLICY_MAX_VALUE 1024

/* The attributes the decision and the log read. */
typedef enum {
    DSEC_POLICY_A_REQUEST = 0,
    DSEC_POLICY_A_PROTOCOL_STATE,
    DSEC_POLICY_A_SENDER,
    DSEC_POLICY_A_CCERT_FINGERPRINT,
    DSEC_POLICY_A_CCERT_PUBKEY_FINGERPRINT,
    DSEC_POLICY_A_CCERT_SUBJECT,
    DSEC_POLICY_A_ENCRYPTION_PROTOCOL,
    DSEC_POLICY_A_CLIENT_ADDRESS,
    DSEC_POLICY_A_COUNT
} dsec_policy_attr;

/* Attribute names, indexed by dsec_policy_attr. */
extern const char *const dsec_policy_attrs[DSEC_POLICY_A_COUNT];

/* One conversation's reader: the request being read. */
typedef struct {
    char line[DSEC_POLICY_MAX_LINE + 1];
    size_t linelen;
    int discard; /* the current line is over the limit: skipped to its end */
    size_t bytes; /* of the current request so far */
    int nattrs;
    unsigned int present; /* bit i: attribute i was given */
    char value[DSEC_POLICY_A_COUNT][DSEC_POLICY_MAX_VALUE];
    char error[160]; /* the request's first problem, "" when none */
} dsec_policy_reader;

/* r ready for a new request. */
void dsec_policy_reader_reset(dsec_policy_reader *r);

/*
 * Read len bytes of data into r up to the end of a request. Returns the
 * bytes consumed; *complete is 1 when a request ended there (its
 * attributes are in r->value, or its problem in r->error: a line over
 * DSEC_POLICY_MAX_LINE bytes, a request over DSEC_POLICY_MAX_REQUEST bytes
 * or DSEC_POLICY_MAX_ATTRS attributes, a line without '=' or with a
 * control character, an attribute given twice, no attribute at all).
 * Reset r before feeding the rest.
 */
size_t dsec_policy_reader_feed(dsec_policy_reader *r, const char *data,
                               size_t len, int *complete);

/* 1 when r holds part of a request (a connection closed now cuts it). */
int dsec_policy_reader_pending(const dsec_policy_reader *r);

/* The domain-secured partners: domain, and the certificate name to expect. */
typedef struct dsec_policy_partners dsec_policy_partners;

/*
 * Read the domains file path: one partner a line, "domain [name]", '#'
 * starts a comment; name defaults to the domain. Domains and names are
 * host names (letters, digits, '-', '.'), compared case-insensitively; a
 * domain listed twice, a bad name or more than two fields is an error
 * naming the line. DSEC_OK fills *out (free it with
 * dsec_policy_partners_free).
 */
dsec_rv dsec_policy_partners_load(const char *path, dsec_policy_partners **out,
                                  DSEC_ERR *err);
void dsec_policy_partners_free(dsec_policy_partners *p);
size_t dsec_policy_partners_count(const dsec_policy_partners *p);

/* The certificate name expected of domain, or NULL when it is not listed. */
const char *dsec_policy_partners_find(const dsec_policy_partners *p,
                                      const char *domain);

/* --unlisted: whether a verdict applies to senders of unlisted domains. */
typedef enum {
    DSEC_POLICY_UNLISTED_ENFORCE = 0, /* when a certificate was presented */
    DSEC_POLICY_UNLISTED_PASS /* never: always DUNNO */
} dsec_policy_unlisted;

/* What decides: the records, the partners, the unlisted mode. */
typedef struct {
    int verdict_fd; /* the verdicts directory */
    const dsec_policy_partners *partners; /* NULL: none listed */
    dsec_policy_unlisted unlisted;
} dsec_policy;

/* The answer to one request, and what the log line says about it. */
typedef struct {
    char action[320]; /* what follows "action=" */
    char fingerprint[DSEC_VERDICT_HEX_LEN]; /* "-" when none */
    char verdict[16]; /* valid, transient, fatal, none or error */
    char reason[320]; /* why, one line */
    char partner[256]; /* the listed sender domain, "" when unlisted */
} dsec_policy_answer;

/* Answers of the protocol, as the decision gives them. */
#define DSEC_POLICY_ACTION_ERROR "DEFER_IF_PERMIT 4.3.0 policy service error"
#define DSEC_POLICY_ACTION_TRANSIENT \
    "DEFER_IF_PERMIT 4.7.5 revocation status unavailable, try again later"
#define DSEC_POLICY_ACTION_NO_CERT \
    "REJECT 5.7.1 domain-secured partner must present a valid certificate"

/*
 * The answer to the request in r (complete) at now: a request error is
 * DSEC_POLICY_ACTION_ERROR; otherwise the verdict recorded for
 * ccert_fingerprint, else ccert_pubkey_fingerprint, decides as DESIGN.md
 * section 8 and the README say, with the sender's domain listed or not.
 */
void dsec_policy_decide(const dsec_policy *pol, const dsec_policy_reader *r,
                        time_t now, dsec_policy_answer *ans);

#endif /* DOMAINSEC_POLICY_H */
