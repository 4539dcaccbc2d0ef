/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of `domainsec doctor --postfix`: what postconf says
 * of one Postfix instance (doctor_postconf.c: main.cf values, master.cf
 * services and their -o overrides, the OpenSSL configuration its smtpd and
 * smtp load), and the checks made of it (doctor_postfix.c: the settings,
 * the policy restriction and its spawn service, the OpenSSL configuration;
 * doctor_verdicts.c: who may write and read the verdict records).
 */
#ifndef DOMAINSEC_CLI_DOCTOR_POSTFIX_H
#define DOMAINSEC_CLI_DOCTOR_POSTFIX_H

#include <stddef.h>
#include <sys/types.h>
#include "doctor.h"

#define CLI_PF_TEXT 512

/*
 * A main.cf value (postconf -x), or a master.cf -o override (postconf -P,
 * name "service/type/parameter").
 */
struct cli_pf_param {
    char *name;
    char *value;
};

/* A master.cf service (postconf -M): its fields and the command's words. */
struct cli_pf_service {
    char *name, *type, *chroot;
    char **words; /* the command and its arguments */
    size_t nwords, capwords;
};

/* What postconf says of one instance. */
struct cli_doctor_postfix {
    char *dir; /* --postfix-config, NULL: postconf's own default */
    int ok; /* postconf ran and answered */
    char err[CLI_DOCTOR_LINE]; /* why not */
    struct cli_pf_param *params; /* main.cf */
    size_t nparams, capparams;
    struct cli_pf_param *overrides; /* master.cf -o */
    size_t noverrides, capoverrides;
    struct cli_pf_service *services; /* master.cf */
    size_t nservices, capservices;
    /* the OpenSSL configuration its smtpd and smtp load, NULL for none */
    char *openssl_conf;
    char how[CLI_DOCTOR_LINE]; /* how they get it, or why none */
};

/* doctor_postconf.c */

/*
 * Ask postconf (with -c dir unless dir is NULL) about the instance, and
 * find the OpenSSL configuration its daemons load. NULL only when out of
 * memory; ok says whether postconf answered (err: why not).
 */
struct cli_doctor_postfix *cli_doctor_postfix_read(const char *dir);
void cli_doctor_postfix_free(struct cli_doctor_postfix *pf);

/* A main.cf value; NULL when postconf does not know the parameter. */
const char *cli_doctor_postfix_param(const struct cli_doctor_postfix *pf,
                                     const char *name);

/*
 * The value a service runs with: its -o override, else main.cf's. *how
 * (when not NULL) says which ("main.cf" or "-o in master.cf").
 */
const char *cli_doctor_postfix_value(const struct cli_doctor_postfix *pf,
                                     const struct cli_pf_service *svc,
                                     const char *name, const char **how);

/* The master.cf service name/type, or NULL. */
const struct cli_pf_service *
cli_doctor_postfix_service(const struct cli_doctor_postfix *pf,
                           const char *name, const char *type);

/* The service's command ("smtpd", "spawn", ...). */
const char *cli_doctor_postfix_command(const struct cli_pf_service *svc);

/*
 * The OpenSSL configuration file a daemon of the instance loads with
 * these values of tls_config_file and import_environment, into buf (empty
 * for none) and how it gets there into how.
 */
void cli_doctor_postfix_tls_file(const struct cli_doctor_postfix *pf,
                                 const char *tls_config_file,
                                 const char *imports, char *buf, size_t buflen,
                                 char *how, size_t howlen);

/* doctor_postfix.c: every --postfix check, one line each. */
void cli_doctor_check_postfix(struct cli_doctor *doc);

/* doctor_verdicts.c */

/* A user as spawn(8) and pipe(8) run it: uid and primary group only. */
struct cli_pf_user {
    char name[64];
    uid_t uid;
    gid_t gid;
    char group[64];
};

/* Fill *u for name; 0 when there is no such user. */
int cli_doctor_postfix_user(const char *name, struct cli_pf_user *u);

/*
 * Whether u may search every directory above path and, on path itself,
 * have each permission of want (4 read, 2 write, 1 search/execute); on a
 * refusal, what stops it into why.
 */
int cli_doctor_postfix_may(const char *path, const struct cli_pf_user *u,
                           int want, char *why, size_t whylen);

/*
 * The verdict records: the directory policyd reads (policyd_config or
 * verdicts_dir from its command line, NULL when absent) is the one smtpd
 * writes, the mail owner can write it, and reader (NULL when the policy
 * service is not a spawn service here) can read the records.
 */
void cli_doctor_check_verdicts(struct cli_doctor *doc,
                               const struct cli_pf_user *owner,
                               const struct cli_pf_user *reader,
                               const char *policyd_config,
                               const char *verdicts_dir);

#endif /* DOMAINSEC_CLI_DOCTOR_POSTFIX_H */
