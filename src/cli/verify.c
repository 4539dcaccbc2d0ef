/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec verify`: verify a certificate chain exactly as a host would once
 * openssl.cnf activates the provider. The store is created with
 * X509_STORE_new() after the configuration is loaded, so the provider's
 * hook installs revocation checking on it; this file only builds the
 * verification, stops at the first error (as hosts with verify_return_error
 * do), and prints the chain, the CDP attempts from the provider's report and
 * the classification, whose exit code is 0 valid, 1 fatal, 75 transient.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "domainsec/common.h"
#include "domainsec/url.h"
#include "domainsec/decide.h"
#include "domainsec/report.h"
#include "cli.h"

#define DSEC_VERIFY_MAX_ERRORS 16
#define DSEC_VERIFY_NAME_LEN 512

enum {
    DSEC_OPT_CONFIG = 256,
    DSEC_OPT_UNTRUSTED,
    DSEC_OPT_CAFILE,
    DSEC_OPT_CAPATH,
    DSEC_OPT_PURPOSE,
    DSEC_OPT_HOST,
    DSEC_OPT_AT
};

struct dsec_verify_opts {
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
struct dsec_verify_error {
    int depth;
    int err;
    char subject[DSEC_VERIFY_NAME_LEN];
};

struct dsec_verify_errors {
    struct dsec_verify_error e[DSEC_VERIFY_MAX_ERRORS];
    int n;
    int dropped;
};

static void dsec_verify_usage(FILE *fp)
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

static int dsec_verify_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int dsec_verify_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s verify: ", DSEC_CLI_PROG);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s verify --help'.\n", DSEC_CLI_PROG);
    return DSEC_EXIT_USAGE;
}

/*
 * Parse argv into opts. Returns -1 to go on, else the exit code (help or a
 * usage error).
 */
static int dsec_verify_parse(int argc, char **argv,
                             struct dsec_verify_opts *opts)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, DSEC_OPT_CONFIG },
        { "untrusted", required_argument, NULL, DSEC_OPT_UNTRUSTED },
        { "CAfile", required_argument, NULL, DSEC_OPT_CAFILE },
        { "CApath", required_argument, NULL, DSEC_OPT_CAPATH },
        { "purpose", required_argument, NULL, DSEC_OPT_PURPOSE },
        { "host", required_argument, NULL, DSEC_OPT_HOST },
        { "at", required_argument, NULL, DSEC_OPT_AT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    int ret = DSEC_EXIT_USAGE;

    opts->untrusted = calloc((size_t)argc + 1, sizeof(*opts->untrusted));
    opts->cafile = calloc((size_t)argc + 1, sizeof(*opts->cafile));
    opts->capath = calloc((size_t)argc + 1, sizeof(*opts->capath));
    if (opts->untrusted == NULL || opts->cafile == NULL
        || opts->capath == NULL) {
        fprintf(stderr, "%s verify: out of memory\n", DSEC_CLI_PROG);
        goto done;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case DSEC_OPT_CONFIG:
            opts->config = optarg;
            break;
        case DSEC_OPT_UNTRUSTED:
            opts->untrusted[opts->nuntrusted++] = optarg;
            break;
        case DSEC_OPT_CAFILE:
            opts->cafile[opts->ncafile++] = optarg;
            break;
        case DSEC_OPT_CAPATH:
            opts->capath[opts->ncapath++] = optarg;
            break;
        case DSEC_OPT_PURPOSE:
            if (strcmp(optarg, "sslserver") == 0) {
                opts->purpose = X509_PURPOSE_SSL_SERVER;
            } else if (strcmp(optarg, "sslclient") == 0) {
                opts->purpose = X509_PURPOSE_SSL_CLIENT;
            } else if (strcmp(optarg, "any") == 0) {
                opts->purpose = 0;
            } else {
                ret = dsec_verify_usage_error(
                    "bad --purpose '%s' (sslserver, sslclient or any)", optarg);
                goto done;
            }
            break;
        case DSEC_OPT_HOST:
            if (optarg[0] == '\0') {
                ret = dsec_verify_usage_error("empty --host");
                goto done;
            }
            opts->host = optarg;
            break;
        case DSEC_OPT_AT:
            if (!dsec_cli_parse_time(optarg, &opts->at)) {
                ret = dsec_verify_usage_error(
                    "bad --at '%s' (seconds since the epoch or "
                    "YYYY-MM-DDTHH:MM:SSZ)",
                    optarg);
                goto done;
            }
            opts->have_at = 1;
            break;
        case 'h':
            dsec_verify_usage(stdout);
            ret = DSEC_EXIT_VALID;
            goto done;
        case ':':
            ret = dsec_verify_usage_error("option '%s' needs an argument",
                                          argv[optind - 1]);
            goto done;
        default:
            if (optopt > 0 && optopt < 256) {
                ret = dsec_verify_usage_error("unknown option '-%c'", optopt);
            } else {
                ret = dsec_verify_usage_error("unknown option '%s'",
                                              argv[optind - 1]);
            }
            goto done;
        }
    }
    if (optind >= argc) {
        ret = dsec_verify_usage_error("missing CERT");
        goto done;
    }
    if (optind + 1 < argc) {
        ret = dsec_verify_usage_error("unexpected argument '%s'",
                                      argv[optind + 1]);
        goto done;
    }
    opts->cert = argv[optind];
    ret = -1;

done:
    return ret;
}

static int dsec_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    struct dsec_verify_errors *errs = X509_STORE_CTX_get_app_data(ctx);
    struct dsec_verify_error *e;
    X509 *cert;

    if (ok) {
        return ok;
    }
    if (errs != NULL) {
        if (errs->n < DSEC_VERIFY_MAX_ERRORS) {
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
static int dsec_verify_add_certs(const char *path, STACK_OF(X509) * stack)
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
static int dsec_verify_load_trust(X509_STORE *store,
                                  const struct dsec_verify_opts *opts)
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

static const char *dsec_verify_source(int from_cache)
{
    switch (from_cache) {
    case 0:
        return "network";
    case 1:
        return "memory cache";
    case 2:
        return "disk cache";
    default:
        return "unknown";
    }
}

static void dsec_verify_print_chain(X509_STORE_CTX *ctx, X509 *leaf)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int nuntrusted = X509_STORE_CTX_get_num_untrusted(ctx);
    int n = chain != NULL ? sk_X509_num(chain) : 0;
    char subject[DSEC_VERIFY_NAME_LEN];
    char issuer[DSEC_VERIFY_NAME_LEN];
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

/* The path builder's log: every path tried, and why each was rejected. */
static void dsec_verify_print_paths(const dsec_report *rep)
{
    size_t i;

    if (rep == NULL || rep->npaths == 0) {
        return;
    }
    printf("paths tried:\n");
    for (i = 0; i < rep->npaths; i++) {
        printf("  %s\n", rep->paths[i]);
    }
    if (rep->paths_dropped > 0) {
        printf("  (%zu more lines)\n", rep->paths_dropped);
    }
}

static void dsec_verify_print_attempts(const dsec_report *rep)
{
    const dsec_attempt *a;
    char url[512];
    size_t i;

    printf("CRL fetches:\n");
    if (rep == NULL) {
        printf("  (no revocation report: revocation was not checked)\n");
        return;
    }
    if (rep->nattempts == 0) {
        printf("  (none)\n");
        return;
    }
    for (i = 0; i < rep->nattempts; i++) {
        a = &rep->attempts[i];
        dsec_url_mask(a->url != NULL ? a->url : "(no URL)", url, sizeof(url));
        printf("  depth %d: %s\n", a->depth, url);
        if (a->rv == DSEC_OK) {
            printf("      result: ok\n");
        } else {
            printf("      result: %s%s%s\n", dsec_rv_name(a->rv),
                   a->detail[0] != '\0' ? ": " : "", a->detail);
        }
        if (a->rv != DSEC_OK && strstr(a->detail, "not fetched") != NULL) {
            continue; /* never went anywhere: no source line */
        }
        printf("      source: %s", dsec_verify_source(a->from_cache));
        if (a->status != 0) {
            printf(", HTTP %ld", a->status);
        }
        printf(", %zu bytes, %.3f s", a->bytes, a->seconds);
        if (a->route[0] != '\0') {
            printf(", route: %s", a->route);
        }
        printf("\n");
        if (a->rv == DSEC_OK && a->crl != NULL) {
            printf("      CRL:\n");
            dsec_cli_print_crl(a->crl, "        ");
        }
    }
}

/* The decision per depth: good / revoked / unknown, and on what. */
static void dsec_verify_print_revocation(const dsec_report *rep)
{
    int d;

    if (rep == NULL) {
        return;
    }
    printf("revocation:\n");
    for (d = 0; d < rep->nchain && d < DSEC_REPORT_MAX_DEPTH; d++) {
        const dsec_depth_status *st = &rep->depth[d];

        if (!st->checked) {
            continue;
        }
        printf("  depth %d: %s%s%s\n", d,
               st->rv == DSEC_OK ? dsec_status_name((dsec_status)st->status)
                                 : "unknown",
               st->detail[0] != '\0' ? ": " : "", st->detail);
    }
}

static void dsec_verify_print_errors(const struct dsec_verify_errors *errs)
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
static dsec_class dsec_verify_print_result(X509_STORE_CTX *ctx, int rc,
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
        printf("result: valid\n");
        printf("class: %s\n", dsec_class_name(DSEC_CLASS_VALID));
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
    printf("result: %s (error %d at depth %d: %s)%s%s\n", dsec_class_name(cls),
           err, depth, X509_verify_cert_error_string(err),
           reason[0] != '\0' ? ": " : "", reason);
    printf("class: %s\n", dsec_class_name(cls));
    return cls;
}

int dsec_cli_verify(int argc, char **argv)
{
    struct dsec_verify_opts opts;
    struct dsec_verify_errors errs;
    STACK_OF(X509) *certs = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509 *leaf = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    X509_VERIFY_PARAM *param;
    const dsec_report *rep = NULL;
    dsec_class cls;
    char why[512];
    int idx;
    int i;
    int rc;
    int ret;

    memset(&opts, 0, sizeof(opts));
    memset(&errs, 0, sizeof(errs));
    ret = dsec_verify_parse(argc, argv, &opts);
    if (ret >= 0) {
        goto done;
    }

    /* The configuration first: every store created after it is hooked. */
    ret = dsec_cli_load_config(opts.config);
    if (ret != 0) {
        goto done;
    }
    idx = dsec_cli_report_index();

    ret = DSEC_EXIT_USAGE;
    if (!dsec_cli_load_certs(opts.cert, &certs, why, sizeof(why))) {
        fprintf(stderr, "%s verify: %s\n", DSEC_CLI_PROG, why);
        goto done;
    }
    /* A bundle: the first certificate is verified, the rest help build. */
    leaf = sk_X509_shift(certs);
    untrusted = certs;
    certs = NULL;
    for (i = 0; i < opts.nuntrusted; i++) {
        if (!dsec_verify_add_certs(opts.untrusted[i], untrusted)) {
            goto done;
        }
    }

    ret = DSEC_EXIT_FATAL;
    store = X509_STORE_new();
    if (store == NULL) {
        fprintf(stderr, "%s verify: cannot create a certificate store\n",
                DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    if (!dsec_verify_load_trust(store, &opts)) {
        ret = DSEC_EXIT_USAGE;
        goto done;
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        fprintf(stderr, "%s verify: cannot set up the verification\n",
                DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    if (opts.have_at) {
        X509_VERIFY_PARAM_set_time(param, opts.at);
    }
    if (opts.host != NULL
        && !X509_VERIFY_PARAM_set1_host(param, opts.host, 0)) {
        fprintf(stderr, "%s verify: bad --host '%s'\n", DSEC_CLI_PROG,
                opts.host);
        ret = DSEC_EXIT_USAGE;
        goto done;
    }
    if (opts.purpose != 0 && !X509_STORE_CTX_set_purpose(ctx, opts.purpose)) {
        fprintf(stderr, "%s verify: cannot set the purpose\n", DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    X509_STORE_CTX_set_app_data(ctx, &errs);
    X509_STORE_CTX_set_verify_cb(ctx, dsec_verify_cb);

    rc = X509_verify_cert(ctx);

    /* The report belongs to ctx: read it before X509_STORE_CTX_free. */
    if (idx >= 0) {
        rep = X509_STORE_CTX_get_ex_data(ctx, idx);
    }
    dsec_verify_print_chain(ctx, leaf);
    dsec_verify_print_paths(rep);
    dsec_verify_print_attempts(rep);
    dsec_verify_print_revocation(rep);
    dsec_verify_print_errors(&errs);
    cls = dsec_verify_print_result(ctx, rc, rep);
    ret = dsec_class_exit_code(cls);
    /* OpenSSL may leave diagnostics of the verification on the queue. */
    ERR_clear_error();

done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(untrusted, X509_free);
    free(opts.untrusted);
    free(opts.cafile);
    free(opts.capath);
    fflush(stdout);
    return ret;
}
