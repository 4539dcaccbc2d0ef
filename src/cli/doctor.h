/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of `domainsec doctor`, shared by its files: the state
 * of one run (doctor_findings.c: the findings printed and counted, and what
 * one check hands on to the next), and the checks the runner's table in
 * doctor.c calls, local (doctor_local.c: configuration, directories,
 * cache_dir) or online (doctor_online.c: proxy, CDPs).
 */
#ifndef DOMAINSEC_CLI_DOCTOR_H
#define DOMAINSEC_CLI_DOCTOR_H

#include <stddef.h>
#include <sys/types.h>
#include <openssl/x509.h>
#include "domainsec/classify.h"
#include "domainsec/common.h"
#include "domainsec/config.h"

#define CLI_DOCTOR_LINE 1024
#define CLI_DOCTOR_NAME 256

/*
 * The kind of a finding. A local check (configuration, directories,
 * cache_dir) that fails is a configuration problem by nature; the kind of
 * an online outcome (a fetch, a CRL, the proxy) is the class classify.h
 * gives it (cli_doctor_status_of).
 */
typedef enum {
    CLI_DOCTOR_OK,
    CLI_DOCTOR_INFO,
    CLI_DOCTOR_FAIL_CONFIG,
    CLI_DOCTOR_FAIL_TRANSIENT,
    CLI_DOCTOR_NSTATUS /* how many kinds there are */
} cli_doctor_status;

/* A certificate of trust_dirs or cross_dirs. */
struct cli_doctor_cert {
    X509 *x;
    char *path;
    const char *kind; /* "trust_dirs" or "cross_dirs" */
};

/* One fetched URL, so a CDP shared by several certificates is fetched once. */
struct cli_doctor_fetch {
    char *url;
    dsec_rv rv;
    char msg[DSEC_ERR_MSG_LEN];
    X509_CRL *crl;
    long status;
    size_t len;
    double seconds;
    char route[128];
};

/* What postconf says of a Postfix instance (doctor_postfix.h). */
struct cli_doctor_postfix;

/* One run: the findings so far and what the checks hand on. */
struct cli_doctor {
    const char *path; /* the configuration file */
    dsec_config *cfg; /* its domainsec settings, NULL when unreadable */
    int count[CLI_DOCTOR_NSTATUS]; /* the findings of each kind */
    struct cli_doctor_cert *certs; /* of trust_dirs and cross_dirs */
    size_t ncerts, capcerts;
    struct cli_doctor_fetch *fetches; /* the URLs fetched so far */
    size_t nfetches, capfetches;
    struct cli_doctor_postfix *pf; /* with --postfix, else NULL */
};

/* Print one finding, "OK  ", "FAIL" or "INFO" and the text, and count it. */
void cli_doctor_line(struct cli_doctor *doc, cli_doctor_status st,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * The finding of an outcome of class cls: OK when valid, a transient FAIL,
 * or a configuration FAIL when fatal (the set-up must change).
 */
cli_doctor_status cli_doctor_status_of(dsec_class cls);

/*
 * The array v (*cap elements of size bytes) with room for element n: v, or
 * v moved to a larger block (*cap updated), or NULL when out of memory (v
 * is then left as it was).
 */
void *cli_doctor_grow(void *v, size_t *cap, size_t n, size_t size);

/* Keep x (a new reference) and its file for the CDP check; 0: no memory. */
int cli_doctor_add_cert(struct cli_doctor *doc, X509 *x, const char *path,
                        const char *kind);

/* Print the summary line; returns the exit code the findings add up to. */
int cli_doctor_summary(const struct cli_doctor *doc);

/* Free what the run holds (not doc itself). */
void cli_doctor_free(struct cli_doctor *doc);

/* A user or a group (doctor_local.c): its name, else its number, in buf. */
const char *cli_doctor_user(uid_t uid, char *buf, size_t len);
const char *cli_doctor_group(gid_t gid, char *buf, size_t len);

/*
 * Run argv (argv[0] a path; no shell) and return its standard output, a
 * new string, or NULL with why (its first line of standard error, or what
 * stopped it) when it cannot run, fails or takes over 10 s.
 */
char *cli_doctor_command(const char *const *argv, char *why, size_t whylen);

/* The checks (doctor_local.c): each prints its findings. */
void cli_doctor_check_config(struct cli_doctor *doc);
void cli_doctor_check_trust_dirs(struct cli_doctor *doc);
void cli_doctor_check_cross_dirs(struct cli_doctor *doc);
void cli_doctor_check_cache(struct cli_doctor *doc);

/* The checks (doctor_online.c) that need the network. */
void cli_doctor_check_proxy(struct cli_doctor *doc);
void cli_doctor_check_cdps(struct cli_doctor *doc);

#endif /* DOMAINSEC_CLI_DOCTOR_H */
