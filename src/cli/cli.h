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

#ifndef DOMAINSEC_VERSION_STRING
#define DOMAINSEC_VERSION_STRING "0.1.0"
#endif

#define DSEC_CLI_PROG "domainsec"
/* Name of the provider in the config section and of its parameter. */
#define DSEC_CLI_PROVIDER "domainsec"
#define DSEC_CLI_PARAM_REPORT_INDEX "report-index"

/* Subcommands: argv[0] is the subcommand name; return the exit code. */
int dsec_cli_verify(int argc, char **argv);

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

#endif /* DOMAINSEC_CLI_CLI_H */
