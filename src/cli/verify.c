/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec verify`: verify a certificate chain exactly as a host would once
 * openssl.cnf activates the provider. The store is created with
 * X509_STORE_new() after the configuration is loaded, so the provider's
 * hook installs revocation checking on it; this file only builds the
 * verification, stops at the first error (as hosts with verify_return_error
 * do), and prints the chain, the provider's report (print.c) and the class
 * classify.h gives the outcome, whose exit code is 0 valid, 1 fatal, 75
 * transient.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "domainsec/classify.h"
#include "domainsec/common.h"
#include "domainsec/report.h"
#include "cli.h"

#define CLI_VERIFY_MAX_ERRORS 16
#define CLI_VERIFY_NAME_LEN 512

enum {
    CLI_VERIFY_OPT_CONFIG = 256,
    CLI_VERIFY_OPT_UNTRUSTED,
    CLI_VERIFY_OPT_CAFILE,
    CLI_VERIFY_OPT_CAPATH,
    CLI_VERIFY_OPT_PURPOSE,
    CLI_VERIFY_OPT_HOST,
    CLI_VERIFY_OPT_AT
};

struct cli_verify_opts {
    const char *config;
    const char **untrusted; /* argv strings, nuntrusted of them */
    int nuntrusted;
    const char **cafile;
    int ncafile;
    const char **capath;
    int ncapath;
    int purpose; /* 0: any */
    const char *host;
    int have_at;
    time_t at;
    const char *cert;
};

/* Every error the verify callback saw, in order. */
struct cli_verify_error {
    int depth;
    int err;
    char subject[CLI_VERIFY_NAME_LEN];
};

struct cli_verify_errors {
    struct cli_verify_error e[CLI_VERIFY_MAX_ERRORS];
    int n;
    int dropped;
};

/* What the verification holds, freed at its end. */
struct cli_verify_run {
    X509 *leaf;
    STACK_OF(X509) * untrusted;
    X509_STORE *store;
    X509_STORE_CTX *ctx;
    struct cli_verify_errors errs;
};

static void cli_verify_usage(FILE *fp)
{
    fprintf(
        fp,
        "Usage: %s verify [OPTIONS] CERT\n"
        "\n"
        "Verify the certificate in CERT (PEM or DER; in a PEM bundle the\n"
        "first certificate is verified and the others are used as untrusted\n"
        "intermediates) the way an OpenSSL host does with the domainsec\n"
        "provider activated: the chain is built, every CRL distribution\n"
        "point in scope is fetched (or taken from the cache) and the result\n"
        "is classified. Verification stops at the first error.\n"
        "\n"
        "Options:\n"
        "  --config FILE     OpenSSL configuration that activates the\n"
        "                    domainsec provider (default: $OPENSSL_CONF, else\n"
        "                    OpenSSL's default openssl.cnf)\n"
        "  --untrusted FILE  untrusted intermediate certificates (PEM bundle\n"
        "                    or DER); may be repeated\n"
        "  --CAfile FILE     trusted certificates (PEM); may be repeated\n"
        "  --CApath DIR      directory of trusted certificates (c_rehash\n"
        "                    layout); may be repeated. Without --CAfile and\n"
        "                    --CApath, OpenSSL's default trust store is used.\n"
        "                    The provider's trust_dirs apply in every case.\n"
        "  --purpose P       sslserver, sslclient or any (default: any, no\n"
        "                    purpose check)\n"
        "  --host NAME       check that the certificate matches host NAME\n"
        "  --at TIME         verify at TIME instead of now: seconds since the\n"
        "                    epoch or YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
        "  -h, --help        show this help and exit\n"
        "\n"
        "Output (stdout): the chain (depth, subject, issuer, notAfter, the\n"
        "trust anchor marked), every CRL fetch attempt (URL, result, source,\n"
        "HTTP status, bytes, time, route), the result and its class.\n"
        "\n"
        "Exit codes:\n"
        "  %-3d valid\n"
        "  %-3d fatal: do not trust this certificate (revoked, no path to a\n"
        "      trusted anchor, bad signature, expired, wrong purpose or\n"
        "      host, no CRL distribution point, ...)\n"
        "  %-3d transient: revocation could not be checked now (CRL server\n"
        "      unreachable, CRL stale, unparsable or badly signed); retry\n"
        "      later\n"
        "  %-3d usage error: unknown option, missing CERT, bad --purpose or\n"
        "      --at, or an input file (CERT, --untrusted, --CAfile,\n"
        "      --CApath) that cannot be read or parsed\n"
        "  %-3d configuration error: the configuration cannot be loaded (for\n"
        "      example a bad domainsec directive value) or does not activate\n"
        "      the domainsec provider\n",
        DSEC_CLI_PROG, DSEC_EXIT_VALID, DSEC_EXIT_FATAL, DSEC_EXIT_TRANSIENT,
        DSEC_EXIT_USAGE, DSEC_EXIT_CONFIG);
}

/* One option of verify. Returns -1 to go on, else the exit code. */
static int cli_verify_option(struct cli_verify_opts *opts, int c,
                             const char *arg)
{
    switch (c) {
    case CLI_VERIFY_OPT_CONFIG:
        opts->config = arg;
        break;
    case CLI_VERIFY_OPT_UNTRUSTED:
        opts->untrusted[opts->nuntrusted++] = arg;
        break;
    case CLI_VERIFY_OPT_CAFILE:
        opts->cafile[opts->ncafile++] = arg;
        break;
    case CLI_VERIFY_OPT_CAPATH:
        opts->capath[opts->ncapath++] = arg;
        break;
    case CLI_VERIFY_OPT_PURPOSE:
        if (strcmp(arg, "sslserver") == 0) {
            opts->purpose = X509_PURPOSE_SSL_SERVER;
        } else if (strcmp(arg, "sslclient") == 0) {
            opts->purpose = X509_PURPOSE_SSL_CLIENT;
        } else if (strcmp(arg, "any") == 0) {
            opts->purpose = 0;
        } else {
            return dsec_cli_usage_error(
                "verify", "bad --purpose '%s' (sslserver, sslclient or any)",
                arg);
        }
        break;
    case CLI_VERIFY_OPT_HOST:
        if (arg[0] == '\0') {
            return dsec_cli_usage_error("verify", "empty --host");
        }
        opts->host = arg;
        break;
    case CLI_VERIFY_OPT_AT:
        if (dsec_cli_option_at("verify", arg, &opts->at) >= 0) {
            return DSEC_EXIT_USAGE;
        }
        opts->have_at = 1;
        break;
    }
    return -1;
}

/*
 * Parse argv into opts. Returns -1 to go on, else the exit code (help or a
 * usage error).
 */
static int cli_verify_parse(int argc, char **argv, struct cli_verify_opts *opts)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, CLI_VERIFY_OPT_CONFIG },
        { "untrusted", required_argument, NULL, CLI_VERIFY_OPT_UNTRUSTED },
        { "CAfile", required_argument, NULL, CLI_VERIFY_OPT_CAFILE },
        { "CApath", required_argument, NULL, CLI_VERIFY_OPT_CAPATH },
        { "purpose", required_argument, NULL, CLI_VERIFY_OPT_PURPOSE },
        { "host", required_argument, NULL, CLI_VERIFY_OPT_HOST },
        { "at", required_argument, NULL, CLI_VERIFY_OPT_AT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const dsec_cli_syntax syntax = { "verify", longopts,
                                            cli_verify_usage, "CERT", 0 };
    int c, ret = -1;

    opts->untrusted = calloc((size_t)argc + 1, sizeof(*opts->untrusted));
    opts->cafile = calloc((size_t)argc + 1, sizeof(*opts->cafile));
    opts->capath = calloc((size_t)argc + 1, sizeof(*opts->capath));
    if (opts->untrusted == NULL || opts->cafile == NULL
        || opts->capath == NULL) {
        fprintf(stderr, "%s verify: out of memory\n", DSEC_CLI_PROG);
        return DSEC_EXIT_USAGE;
    }
    while ((c = dsec_cli_next_option(&syntax, argc, argv, &ret)) > 0) {
        ret = cli_verify_option(opts, c, optarg);
        if (ret >= 0) {
            return ret;
        }
    }
    if (ret < 0) {
        opts->cert = argv[optind];
    }
    return ret;
}

static int cli_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    struct cli_verify_errors *errs = X509_STORE_CTX_get_app_data(ctx);
    struct cli_verify_error *e;
    X509 *cert;

    if (ok) {
        return ok;
    }
    if (errs != NULL) {
        if (errs->n < CLI_VERIFY_MAX_ERRORS) {
            e = &errs->e[errs->n++];
            e->depth = X509_STORE_CTX_get_error_depth(ctx);
            e->err = X509_STORE_CTX_get_error(ctx);
            cert = X509_STORE_CTX_get_current_cert(ctx);
            if (cert != NULL) {
                dsec_cli_name(X509_get_subject_name(cert), e->subject,
                              sizeof(e->subject));
            } else {
                snprintf(e->subject, sizeof(e->subject), "(no certificate)");
            }
        } else {
            errs->dropped++;
        }
    }
    /* Stop at the first error, as hosts with verify_return_error do. */
    return 0;
}

/* Load the certificates of path and append them to *stack. */
static int cli_verify_add_certs(const char *path, STACK_OF(X509) * stack)
{
    STACK_OF(X509) *certs = NULL;
    X509 *x;
    char why[512];
    int ret = 0;

    if (!dsec_cli_load_certs(path, &certs, why, sizeof(why))) {
        fprintf(stderr, "%s verify: %s\n", DSEC_CLI_PROG, why);
        goto done;
    }
    while ((x = sk_X509_shift(certs)) != NULL) {
        if (!sk_X509_push(stack, x)) {
            X509_free(x);
            fprintf(stderr, "%s verify: out of memory\n", DSEC_CLI_PROG);
            goto done;
        }
    }
    ret = 1;

done:
    sk_X509_pop_free(certs, X509_free);
    return ret;
}

/* Fill the trusted store from --CAfile/--CApath, or the default paths. */
static int cli_verify_load_trust(X509_STORE *store,
                                 const struct cli_verify_opts *opts)
{
    struct stat st;
    int i;
    int ret = 0;

    for (i = 0; i < opts->ncafile; i++) {
        if (!X509_STORE_load_file(store, opts->cafile[i])) {
            fprintf(stderr,
                    "%s verify: cannot load trusted certificates from "
                    "--CAfile %s\n",
                    DSEC_CLI_PROG, opts->cafile[i]);
            ERR_print_errors_fp(stderr);
            goto done;
        }
    }
    for (i = 0; i < opts->ncapath; i++) {
        if (stat(opts->capath[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s verify: --CApath %s is not a directory\n",
                    DSEC_CLI_PROG, opts->capath[i]);
            goto done;
        }
        if (!X509_STORE_load_path(store, opts->capath[i])) {
            fprintf(stderr, "%s verify: cannot use --CApath %s\n",
                    DSEC_CLI_PROG, opts->capath[i]);
            ERR_print_errors_fp(stderr);
            goto done;
        }
    }
    if (opts->ncafile == 0 && opts->ncapath == 0
        && !X509_STORE_set_default_paths(store)) {
        /* A missing system store is not fatal: trust_dirs may suffice. */
        ERR_clear_error();
    }
    ret = 1;

done:
    return ret;
}

static void cli_verify_print_chain(X509_STORE_CTX *ctx, X509 *leaf)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int nuntrusted = X509_STORE_CTX_get_num_untrusted(ctx);
    int n = chain != NULL ? sk_X509_num(chain) : 0;
    char subject[CLI_VERIFY_NAME_LEN];
    char issuer[CLI_VERIFY_NAME_LEN];
    char after[64];
    X509 *x;
    int i;

    printf("chain:\n");
    if (n == 0) {
        /* Nothing built: show the certificate that was asked about. */
        n = 1;
        nuntrusted = 1;
    }
    for (i = 0; i < n; i++) {
        x = chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, i)
                                                    : leaf;
        dsec_cli_name(X509_get_subject_name(x), subject, sizeof(subject));
        dsec_cli_name(X509_get_issuer_name(x), issuer, sizeof(issuer));
        dsec_cli_asn1_time(X509_get0_notAfter(x), after, sizeof(after));
        /* the path builder hands cross-certificates over in the trusted
           part of the chain: only its top is the anchor */
        printf("  depth %d: %s%s\n", i, subject,
               i >= nuntrusted && i == n - 1 ? "  [trust anchor]" : "");
        printf("      issuer:   %s\n", issuer);
        printf("      notAfter: %s\n", after);
    }
}

static void cli_verify_print_errors(const struct cli_verify_errors *errs)
{
    int i;

    if (errs->n == 0) {
        return;
    }
    printf("errors:\n");
    for (i = 0; i < errs->n; i++) {
        printf("  depth %d: error %d (%s): %s\n", errs->e[i].depth,
               errs->e[i].err, X509_verify_cert_error_string(errs->e[i].err),
               errs->e[i].subject);
    }
    if (errs->dropped > 0) {
        printf("  (%d more)\n", errs->dropped);
    }
}

/* Print the result lines and return the class. */
static dsec_class cli_verify_print_result(X509_STORE_CTX *ctx, int rc,
                                          const dsec_report *rep)
{
    int err = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    dsec_rv rev_rv = DSEC_OK;
    const char *reason = "";
    dsec_class cls;

    if (rc == 1) {
        if (rep != NULL && rep->cls != DSEC_CLASS_VALID
            && rep->reason[0] != '\0') {
            /* soft-fail: the host accepts, but say what happened */
            printf("note: %s\n", rep->reason);
        }
        printf("result: %s\n", dsec_classify_name(DSEC_CLASS_VALID));
        printf("class: %s\n", dsec_classify_name(DSEC_CLASS_VALID));
        return DSEC_CLASS_VALID;
    }
    if (err == X509_V_OK) {
        /* X509_verify_cert failed without a verification error */
        err = X509_V_ERR_UNSPECIFIED;
    }
    if (rep != NULL && depth >= 0 && depth < DSEC_REPORT_MAX_DEPTH) {
        rev_rv = rep->depth[depth].rv;
    }
    cls = dsec_classify(err, rev_rv);
    if (rep != NULL && rep->cls != DSEC_CLASS_VALID) {
        cls = rep->cls;
    }
    if (rep != NULL && rep->reason[0] != '\0') {
        reason = rep->reason;
    } else if (rep != NULL && depth >= 0 && depth < DSEC_REPORT_MAX_DEPTH
               && rep->depth[depth].detail[0] != '\0') {
        reason = rep->depth[depth].detail;
    }
    printf("result: %s (error %d at depth %d: %s)%s%s\n",
           dsec_classify_name(cls), err, depth,
           X509_verify_cert_error_string(err), reason[0] != '\0' ? ": " : "",
           reason);
    printf("class: %s\n", dsec_classify_name(cls));
    return cls;
}

/*
 * The certificate to verify (the first of CERT) and the untrusted ones (the
 * rest of CERT, then --untrusted). Returns -1 to go on, else the exit code.
 */
static int cli_verify_inputs(const struct cli_verify_opts *opts,
                             struct cli_verify_run *run)
{
    STACK_OF(X509) *certs = NULL;
    char why[512];
    int i;

    if (!dsec_cli_load_certs(opts->cert, &certs, why, sizeof(why))) {
        fprintf(stderr, "%s verify: %s\n", DSEC_CLI_PROG, why);
        return DSEC_EXIT_USAGE;
    }
    /* A bundle: the first certificate is verified, the rest help build. */
    run->leaf = sk_X509_shift(certs);
    run->untrusted = certs;
    for (i = 0; i < opts->nuntrusted; i++) {
        if (!cli_verify_add_certs(opts->untrusted[i], run->untrusted)) {
            return DSEC_EXIT_USAGE;
        }
    }
    return -1;
}

/*
 * The store (hooked by the provider as it is created), its trust and the
 * verification context with its parameters. Returns -1 to go on, else the
 * exit code.
 */
static int cli_verify_setup(const struct cli_verify_opts *opts,
                            struct cli_verify_run *run)
{
    X509_VERIFY_PARAM *param;

    run->store = X509_STORE_new();
    if (run->store == NULL) {
        fprintf(stderr, "%s verify: cannot create a certificate store\n",
                DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        return DSEC_EXIT_FATAL;
    }
    if (!cli_verify_load_trust(run->store, opts)) {
        return DSEC_EXIT_USAGE;
    }
    run->ctx = X509_STORE_CTX_new();
    if (run->ctx == NULL
        || !X509_STORE_CTX_init(run->ctx, run->store, run->leaf,
                                run->untrusted)) {
        fprintf(stderr, "%s verify: cannot set up the verification\n",
                DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        return DSEC_EXIT_FATAL;
    }
    param = X509_STORE_CTX_get0_param(run->ctx);
    if (opts->have_at) {
        X509_VERIFY_PARAM_set_time(param, opts->at);
    }
    if (opts->host != NULL
        && !X509_VERIFY_PARAM_set1_host(param, opts->host, 0)) {
        fprintf(stderr, "%s verify: bad --host '%s'\n", DSEC_CLI_PROG,
                opts->host);
        return DSEC_EXIT_USAGE;
    }
    if (opts->purpose != 0
        && !X509_STORE_CTX_set_purpose(run->ctx, opts->purpose)) {
        fprintf(stderr, "%s verify: cannot set the purpose\n", DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        return DSEC_EXIT_FATAL;
    }
    X509_STORE_CTX_set_app_data(run->ctx, &run->errs);
    X509_STORE_CTX_set_verify_cb(run->ctx, cli_verify_cb);
    return -1;
}

/* Verify, print what happened, and return the exit code of its class. */
static int cli_verify_run(struct cli_verify_run *run, int idx)
{
    const dsec_report *rep = NULL;
    dsec_class cls;
    int rc;

    rc = X509_verify_cert(run->ctx);

    /* The report belongs to ctx: read it before X509_STORE_CTX_free. */
    if (idx >= 0) {
        rep = X509_STORE_CTX_get_ex_data(run->ctx, idx);
    }
    cli_verify_print_chain(run->ctx, run->leaf);
    dsec_cli_print_report(rep);
    cli_verify_print_errors(&run->errs);
    cls = cli_verify_print_result(run->ctx, rc, rep);
    /* OpenSSL may leave diagnostics of the verification on the queue. */
    ERR_clear_error();
    return dsec_classify_exit_code(cls);
}

int dsec_cli_verify(int argc, char **argv)
{
    struct cli_verify_opts opts;
    struct cli_verify_run run;
    int idx = -1;
    int ret;

    memset(&opts, 0, sizeof(opts));
    memset(&run, 0, sizeof(run));
    ret = cli_verify_parse(argc, argv, &opts);
    if (ret < 0) {
        /* The configuration first: every store created after it is hooked. */
        ret = dsec_cli_load_config(opts.config) == 0 ? -1 : DSEC_EXIT_CONFIG;
    }
    if (ret < 0) {
        idx = dsec_cli_report_index();
        ret = cli_verify_inputs(&opts, &run);
    }
    if (ret < 0) {
        ret = cli_verify_setup(&opts, &run);
    }
    if (ret < 0) {
        ret = cli_verify_run(&run, idx);
    }
    X509_STORE_CTX_free(run.ctx);
    X509_STORE_free(run.store);
    X509_free(run.leaf);
    sk_X509_pop_free(run.untrusted, X509_free);
    free(opts.untrusted);
    free(opts.cafile);
    free(opts.capath);
    fflush(stdout);
    return ret;
}
