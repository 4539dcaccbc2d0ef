/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of the domainsec command: the subcommand entry points
 * dispatched by main.c and the helpers they share (loading the OpenSSL
 * configuration that activates the provider, finding the provider's report
 * index, reading certificate files, parsing times, formatting names).
 */
#ifndef DOMAINSEC_CLI_CLI_H
#define DOMAINSEC_CLI_CLI_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/names.h"

#ifndef DOMAINSEC_VERSION_STRING
#define DOMAINSEC_VERSION_STRING "0.1.0"
#endif

#define DSEC_CLI_PROG "domainsec"
/* Name of the provider in the config section (its parameters: names.h). */
#define DSEC_CLI_PROVIDER "domainsec"

/* Subcommands: argv[0] is the subcommand name; return the exit code. */
int dsec_cli_verify(int argc, char **argv);
int dsec_cli_trust(int argc, char **argv);
int dsec_cli_fetch(int argc, char **argv);
int dsec_cli_doctor(int argc, char **argv);

/*
 * Load the OpenSSL configuration (file, or OPENSSL_CONF / the default when
 * file is NULL) into the default library context and check that it
 * activates the domainsec provider. Returns 0 or DSEC_EXIT_CONFIG after
 * printing why to stderr.
 */
int dsec_cli_load_config(const char *file);

/*
 * The ex_data index under which the provider keeps its dsec_report, or -1
 * (with a warning on stderr) when the provider does not publish it.
 */
int dsec_cli_report_index(void);

/*
 * Read every certificate of a PEM file (bundles allowed) or a DER file into
 * *out (a new stack, at least one certificate). On failure returns 0 and
 * writes a message into why.
 */
int dsec_cli_load_certs(const char *path, STACK_OF(X509) * *out, char *why,
                        size_t whylen);

/*
 * Parse seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ. Returns 1 and sets
 * *out, or 0 when s is not one of these.
 */
int dsec_cli_parse_time(const char *s, time_t *out);

/* One-line form of name into buf (always NUL-terminated). */
void dsec_cli_name(const X509_NAME *name, char *buf, size_t len);

/* ISO 8601 form of t into buf (always NUL-terminated). */
void dsec_cli_asn1_time(const ASN1_TIME *t, char *buf, size_t len);

/*
 * The configuration file the way OpenSSL picks it: file, else
 * $OPENSSL_CONF, else OpenSSL's default openssl.cnf. A new string.
 */
char *dsec_cli_config_path(const char *file);

/*
 * The module file of the domainsec provider, as OpenSSL 3.0 resolves it
 * from the provider's section (crypto/provider_conf.c, provider_core.c):
 * the module value, or without one the provider's name plus ".so"; a
 * relative value is looked up in $OPENSSL_MODULES when set, else in
 * OpenSSL's compiled-in modules directory (OPENSSL_INFO_MODULES_DIR), and
 * is taken as written: OpenSSL adds no ".so" to a module value.
 */
#define DSEC_CLI_MODULE_TEXT 1024
typedef struct {
    char section[DSEC_CLI_MODULE_TEXT]; /* the provider's section */
    char module[DSEC_CLI_MODULE_TEXT]; /* its module value */
    int has_module; /* a module line is present */
    int activate; /* an activate line is present */
    int from_env; /* dir is $OPENSSL_MODULES */
    char dir[DSEC_CLI_MODULE_TEXT]; /* where a relative name is looked up */
    char path[2 * DSEC_CLI_MODULE_TEXT + 8]; /* the file OpenSSL opens */
} dsec_cli_module;

/*
 * Fill *m from the configuration file (file, or OPENSSL_CONF / the default
 * when NULL). Returns 1, or 0 when the file cannot be read or lists no
 * domainsec provider with a section (dsec_cli_read_settings says why).
 */
int dsec_cli_module_resolve(const char *file, dsec_cli_module *m);

/*
 * Why OpenSSL did not load the domainsec provider that the configuration
 * file lists, when the cause is the provider entry or its module file: no
 * activate line; or the file OpenSSL tried is missing, unreadable, does not
 * load (dlopen) or is no provider. Returns 1 and writes what was tried into
 * why ("OpenSSL could not load /usr/lib/.../domainsec: No such file or
 * directory (module = domainsec, ...)") and the remedy into fix. Returns 0
 * when the module loads (the cause is elsewhere: a directive value) or the
 * file lists no domainsec provider. Call it only when the provider is not
 * available: it loads the module file to see whether it loads.
 */
int dsec_cli_module_diagnose(const char *file, char *why, size_t whylen,
                             char *fix, size_t fixlen);

/*
 * Read the domainsec provider's section of the OpenSSL configuration file
 * (file, or OPENSSL_CONF / the default when file is NULL) the way OpenSSL
 * hands it to the provider (openssl_conf -> providers -> the "domainsec"
 * entry), and parse its directives strictly into a new dsec_config. On
 * failure returns 0 and writes why (the parse error with its line, or the
 * directive and value that are refused). *section receives the section
 * name when not NULL (a new string).
 */
int dsec_cli_read_settings(const char *file, dsec_config **out, char **section,
                           char *why, size_t whylen);

/*
 * Print the details of a CRL, one "label: value" line each, every line
 * prefixed by indent: issuer, thisUpdate, nextUpdate, CRL number, entries
 * and whether it is a delta CRL.
 */
void dsec_cli_print_crl(X509_CRL *crl, const char *indent);

/* One-line summary of a CRL (issuer, number, entries, nextUpdate). */
void dsec_cli_crl_summary(X509_CRL *crl, char *buf, size_t len);

/*
 * The time and completeness checks of the library's dsec_crl_check, which
 * also wants the issuer: not a delta CRL, thisUpdate not in the future (300
 * s of skew), nextUpdate present and not older than now - grace. Returns
 * DSEC_OK, DSEC_ERR_CRL_DELTA, _CRL_FUTURE or _CRL_STALE; why gets a short
 * description ("current", "past its nextUpdate (stale)", ...).
 */
dsec_rv dsec_cli_crl_time(X509_CRL *crl, time_t now, long grace, char *why,
                          size_t whylen);

/* Signature of crl with the key of cert: 1 verifies, 0 does not. */
int dsec_cli_crl_signed_by(X509_CRL *crl, X509 *cert);

#endif /* DOMAINSEC_CLI_CLI_H */
