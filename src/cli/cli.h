/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of the domainsec command: the subcommand entry points
 * dispatched by main.c and the helpers they share, by file: reading a
 * subcommand's command line (options.c), loading the OpenSSL configuration
 * that activates the provider and reading its section (config.c), printing
 * names, times and CRLs (print.c), reading certificate files and checking
 * CRLs (certs.c).
 */
#ifndef DOMAINSEC_CLI_CLI_H
#define DOMAINSEC_CLI_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include "domainsec/classify.h"
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
int dsec_cli_policyd(int argc, char **argv);
int dsec_cli_cache(int argc, char **argv);

/* options.c: how a subcommand's command line is read. */
typedef struct {
    const char *cmd; /* the subcommand, for the messages */
    const struct option *longopts; /* its options, "help" as 'h' */
    void (*usage)(FILE *fp); /* prints its --help text */
    const char *operand; /* its one operand ("URL"), or NULL for none */
    int flags; /* DSEC_CLI_SYNTAX_*: each command's messages, kept */
} dsec_cli_syntax;

/* An unknown option is named as written, a short one too (not as -c). */
#define DSEC_CLI_SYNTAX_AS_WRITTEN 0x1
/* "option needs an argument: 'X'" instead of "option 'X' needs ...". */
#define DSEC_CLI_SYNTAX_ARG_AFTER 0x2

/*
 * The next option of argv (getopt_long), for the subcommand to handle: its
 * value (optarg holds its argument). Returns 0 when the command line is
 * done with here, *ret then being -1 to go on (the operand, if any, is
 * argv[optind]) or the exit code once --help or a usage error is printed.
 */
int dsec_cli_next_option(const dsec_cli_syntax *syn, int argc, char **argv,
                         int *ret);

/*
 * The hidden --list-options of a subcommand (and of the command itself):
 * "option --NAME" for each entry of longopts, then "action NAME" for each
 * of actions (NULL for none), one a line on stdout, so the documentation
 * test compares the man page with the tables getopt reads. Returns
 * DSEC_EXIT_VALID.
 */
int dsec_cli_list_options(const struct option *longopts,
                          const char *const *actions);

/*
 * Print "domainsec CMD: <message>" and the hint to --help to stderr;
 * returns DSEC_EXIT_USAGE.
 */
int dsec_cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * The --at value of CMD: seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ
 * into *out. Returns -1, or the usage error's exit code.
 */
int dsec_cli_option_at(const char *cmd, const char *arg, time_t *out);

/* config.c: the OpenSSL configuration and the provider it loads. */

/*
 * Load the OpenSSL configuration (file, or OPENSSL_CONF / the default when
 * file is NULL) into the default library context and check that it
 * activates the domainsec provider. Returns 0 or DSEC_EXIT_CONFIG after
 * printing why to stderr.
 */
int dsec_cli_load_config(const char *file);

/* The loaded domainsec provider (borrowed), or NULL. */
OSSL_PROVIDER *dsec_cli_provider(void);

/*
 * The ex_data index under which the provider keeps its dsec_report, or -1
 * (with a warning on stderr) when the provider does not publish it.
 */
int dsec_cli_report_index(void);

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

/* print.c: names, times, CRLs and the provider's report in the output. */

/* One-line form of name into buf (always NUL-terminated). */
void dsec_cli_name(const X509_NAME *name, char *buf, size_t len);

/* ISO 8601 form of t into buf (always NUL-terminated). */
void dsec_cli_asn1_time(const ASN1_TIME *t, char *buf, size_t len);

/*
 * Print the details of a CRL, one "label: value" line each, every line
 * prefixed by indent: issuer, thisUpdate, nextUpdate, CRL number, entries
 * and whether it is a delta CRL.
 */
void dsec_cli_print_crl(X509_CRL *crl, const char *indent);

/* One-line summary of a CRL (issuer, number, entries, nextUpdate). */
void dsec_cli_crl_summary(X509_CRL *crl, char *buf, size_t len);

/*
 * The provider's report of a verification: the paths the path builder
 * tried, every CRL fetch attempt (URL, result, source, HTTP status, bytes,
 * time, route, the CRL), and the revocation decision per depth. rep may be
 * NULL (no report: revocation was not checked).
 */
struct dsec_report;
void dsec_cli_print_report(const struct dsec_report *rep);

/* certs.c: certificate files and the CLI's own CRL checks. */

/*
 * Read every certificate of a PEM file (bundles allowed) or a DER file into
 * *out (a new stack, at least one certificate). On failure returns 0 and
 * writes a message into why.
 */
int dsec_cli_load_certs(const char *path, STACK_OF(X509) * *out, char *why,
                        size_t whylen);

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
