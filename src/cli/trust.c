/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec trust list`: what the provider trusts and can chain through.
 * The OpenSSL configuration is loaded the way a host loads it (so a bad
 * directive is the same configuration error), the provider is asked for
 * the directory lists it actually uses (trust_dirs, cross_dirs), and both
 * are read with the same loader the provider uses: every anchor and
 * cross-certificate with its subject, issuer, validity (EXPIRED / NOT YET
 * VALID), SHA-256 fingerprint and source file, then every file or
 * directory that was skipped and why.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include "domainsec/anchors.h"
#include "domainsec/certdir.h"
#include "domainsec/log.h"
#include "cli.h"

#define CLI_TRUST_NAME_LEN 512
/* The provider parameters holding its effective directory lists. */

static void cli_trust_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s trust list [--config FILE]\n"
            "\n"
            "List the trust anchors (trust_dirs) and cross-certificates\n"
            "(cross_dirs) the domainsec provider uses: kind, subject,\n"
            "issuer, validity (EXPIRED / NOT YET VALID), SHA-256\n"
            "fingerprint and the file each came from, then the files and\n"
            "directories that were skipped and why.\n"
            "\n"
            "Options:\n"
            "  --config FILE  OpenSSL configuration that activates the\n"
            "                 domainsec provider (default: $OPENSSL_CONF,\n"
            "                 else OpenSSL's default openssl.cnf)\n"
            "  -h, --help     show this help and exit\n"
            "\n"
            "Exit codes: %d listed, %d usage error, %d configuration error\n",
            DSEC_CLI_PROG, DSEC_EXIT_VALID, DSEC_EXIT_USAGE, DSEC_EXIT_CONFIG);
}

/*
 * The provider's trust_dirs and cross_dirs (borrowed from the provider).
 * Returns 0 after printing why when it does not publish them.
 */
static int cli_trust_dirs(const char **trust, const char **cross)
{
    OSSL_PROVIDER *prov = dsec_cli_provider();
    OSSL_PARAM params[3];
    int ok = 0;

    *trust = NULL;
    *cross = NULL;
    if (prov == NULL) {
        fprintf(stderr, "%s trust: the domainsec provider is not loaded\n",
                DSEC_CLI_PROG);
        goto done;
    }
    params[0] =
        OSSL_PARAM_construct_utf8_ptr(DSEC_PARAM_TRUST_DIRS, (char **)trust, 0);
    params[1] =
        OSSL_PARAM_construct_utf8_ptr(DSEC_PARAM_CROSS_DIRS, (char **)cross, 0);
    params[2] = OSSL_PARAM_construct_end();
    if (!OSSL_PROVIDER_get_params(prov, params) || *trust == NULL
        || *cross == NULL) {
        fprintf(stderr,
                "%s trust: the domainsec provider does not publish its "
                "trust_dirs and cross_dirs\n",
                DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    ok = 1;
done:
    return ok;
}

/* Colon-separated upper-case hex, as `openssl x509 -fingerprint` prints. */
static void cli_trust_hex(const unsigned char *md, size_t len, char *buf,
                          size_t buflen)
{
    size_t i;
    size_t at = 0;

    buf[0] = '\0';
    for (i = 0; i < len && at + 4 <= buflen; i++) {
        snprintf(buf + at, buflen - at, "%s%02X", i == 0 ? "" : ":", md[i]);
        at += i == 0 ? 2 : 3;
    }
}

static void cli_trust_print_cert(const char *kind, const dsec_anchors *set,
                                 size_t i)
{
    X509 *x = dsec_anchors_get0(set, i);
    char subject[CLI_TRUST_NAME_LEN];
    char issuer[CLI_TRUST_NAME_LEN];
    char before[64];
    char after[64];
    char hex[3 * EVP_MAX_MD_SIZE + 1];
    const unsigned char *md;
    size_t mdlen = 0;
    const char *mark_before = "";
    const char *mark_after = "";

    dsec_cli_name(X509_get_subject_name(x), subject, sizeof(subject));
    dsec_cli_name(X509_get_issuer_name(x), issuer, sizeof(issuer));
    dsec_cli_asn1_time(X509_get0_notBefore(x), before, sizeof(before));
    dsec_cli_asn1_time(X509_get0_notAfter(x), after, sizeof(after));
    if (X509_cmp_time(X509_get0_notBefore(x), NULL) > 0) {
        mark_before = "  NOT YET VALID";
    }
    if (X509_cmp_time(X509_get0_notAfter(x), NULL) < 0) {
        mark_after = "  EXPIRED";
    }
    md = dsec_anchors_get0_fingerprint(set, i, NID_sha256, &mdlen);
    if (md != NULL) {
        cli_trust_hex(md, mdlen, hex, sizeof(hex));
    } else {
        snprintf(hex, sizeof(hex), "(unknown)");
    }
    printf("%s: %s\n", kind, subject);
    printf("    issuer:    %s\n", issuer);
    printf("    notBefore: %s%s\n", before, mark_before);
    printf("    notAfter:  %s%s\n", after, mark_after);
    printf("    sha256:    %s\n", hex);
    printf("    file:      %s\n", dsec_anchors_source(set, i));
}

static void cli_trust_print_skipped(const char *what, const dsec_anchors *set)
{
    const char *path;
    const char *why;
    size_t i;

    for (i = 0; dsec_anchors_skipped(set, i, &path, &why); i++) {
        printf("skipped (%s): %s: %s\n", what, path, why);
    }
}

/*
 * The action (list) and its options. Returns -1 to go on, else the exit
 * code.
 */
static int cli_trust_parse(int argc, char **argv, const char **config)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const dsec_cli_syntax syntax = { "trust", longopts, cli_trust_usage,
                                            NULL, DSEC_CLI_SYNTAX_AS_WRITTEN };
    static const char *const actions[] = { "list", NULL };
    int c, ret = -1;

    /* argv[0] is "trust": the action comes first, then its options */
    if (argc == 2 && strcmp(argv[1], "--list-options") == 0) {
        return dsec_cli_list_options(longopts, actions);
    }
    if (argc >= 2
        && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_trust_usage(stdout);
        return DSEC_EXIT_VALID;
    }
    if (argc < 2) {
        return dsec_cli_usage_error("trust", "missing action (list)");
    }
    if (strcmp(argv[1], actions[0]) != 0) {
        return dsec_cli_usage_error("trust", "unknown action '%s' (list)",
                                    argv[1]);
    }
    while ((c = dsec_cli_next_option(&syntax, argc - 1, argv + 1, &ret)) > 0) {
        if (c == 'c') {
            *config = optarg;
        }
    }
    return ret;
}

/* The anchors, cross-certificates and skipped files; returns the exit code. */
static int cli_trust_list(const char *trust_dirs, const char *cross_dirs)
{
    dsec_anchors *roots = NULL;
    dsec_anchors *cross = NULL;
    DSEC_ERR err = { 0 };
    size_t i;
    int ret = DSEC_EXIT_CONFIG;

    if (dsec_certdir_load(trust_dirs, &roots, &err) != DSEC_OK
        || dsec_certdir_load(cross_dirs, &cross, &err) != DSEC_OK) {
        fprintf(stderr, "%s trust: %s\n", DSEC_CLI_PROG, err.msg);
        goto done;
    }
    printf("trust_dirs: %s\n", trust_dirs);
    printf("cross_dirs: %s\n", cross_dirs);
    for (i = 0; i < dsec_anchors_count(roots); i++) {
        cli_trust_print_cert("anchor", roots, i);
    }
    for (i = 0; i < dsec_anchors_count(cross); i++) {
        cli_trust_print_cert("cross", cross, i);
    }
    cli_trust_print_skipped("trust_dirs", roots);
    cli_trust_print_skipped("cross_dirs", cross);
    printf("%zu anchors, %zu cross-certificates, %zu skipped\n",
           dsec_anchors_count(roots), dsec_anchors_count(cross),
           dsec_anchors_skipped_count(roots)
               + dsec_anchors_skipped_count(cross));
    ret = DSEC_EXIT_VALID;

done:
    dsec_anchors_free(roots);
    dsec_anchors_free(cross);
    return ret;
}

int dsec_cli_trust(int argc, char **argv)
{
    const char *config = NULL;
    const char *trust_dirs = NULL;
    const char *cross_dirs = NULL;
    int ret;

    ret = cli_trust_parse(argc, argv, &config);
    if (ret >= 0) {
        return ret;
    }
    ret = dsec_cli_load_config(config);
    if (ret != 0) {
        return ret;
    }
    if (!cli_trust_dirs(&trust_dirs, &cross_dirs)) {
        return DSEC_EXIT_CONFIG;
    }
    /* skipped files are listed below with their reason: no log lines */
    dsec_log_configure(DSEC_LOG_NONE, DSEC_LOG_ERR);
    return cli_trust_list(trust_dirs, cross_dirs);
}
