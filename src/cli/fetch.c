/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec fetch`: the administrator's test of one CRL distribution
 * point, like `certutil -URL`: the URL is fetched under the configuration's
 * policy (cdp_schemes, proxy, fetch_timeout, max_crl_size) through the same
 * dsec_fetch_url the provider uses, whatever the scheme, and the route,
 * HTTP status, time, size and the parsed CRL are printed. The CRL's
 * signature is checked with --issuer, or with the certificates of
 * trust_dirs and cross_dirs whose subject is the CRL's issuer. The class
 * printed and the exit code are those classify.h gives the outcome
 * (DESIGN.md section 5); a malformed URL is a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/url.h"
#include "domainsec/anchors.h"
#include "domainsec/certdir.h"
#include "domainsec/classify.h"
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "cli.h"

enum { CLI_FETCH_OPT_CONFIG = 256, CLI_FETCH_OPT_ISSUER, CLI_FETCH_OPT_AT };

struct cli_fetch_opts {
    const char *config;
    const char *issuer;
    int have_at;
    time_t at;
    const char *url;
};

/* What the run holds, freed at its end. */
struct cli_fetch_run {
    dsec_config *cfg;
    STACK_OF(X509) * issuers; /* --issuer: the first one is used */
    dsec_fetch_result res;
    X509_CRL *crl;
    time_t now; /* --at, or when the command started */
};

static void cli_fetch_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s fetch [OPTIONS] URL\n"
            "\n"
            "Fetch one CRL distribution point URL the way the domainsec\n"
            "provider does (only the schemes of cdp_schemes, through\n"
            "http_proxy unless no_proxy matches, within fetch_timeout and\n"
            "max_crl_size), and print the route, HTTP status, time, size and\n"
            "the CRL: issuer, thisUpdate, nextUpdate, CRL number, entries,\n"
            "delta or not. The CRL's signature is checked with --issuer, or\n"
            "else with the certificates of trust_dirs and cross_dirs whose\n"
            "subject is the CRL's issuer.\n"
            "\n"
            "Options:\n"
            "  --config FILE   OpenSSL configuration with the domainsec\n"
            "                  section (default: $OPENSSL_CONF, else\n"
            "                  OpenSSL's default openssl.cnf)\n"
            "  --issuer CERT   certificate of the CA expected to sign the CRL\n"
            "                  (PEM or DER)\n"
            "  --at TIME       judge thisUpdate/nextUpdate at TIME: seconds\n"
            "                  since the epoch or YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
            "  -h, --help      show this help and exit\n"
            "\n"
            "Exit codes:\n"
            "  %-3d fetched, parsed, current, and signed by the issuer (when\n"
            "      one is known)\n"
            "  %-3d fatal: the URL's scheme is not allowed by cdp_schemes\n"
            "  %-3d transient: unreachable, timeout, HTTP error, too large,\n"
            "      not a CRL, stale, delta, or signature that does not verify\n"
            "  %-3d usage error (bad option, URL or --issuer file)\n"
            "  %-3d configuration error\n",
            DSEC_CLI_PROG, DSEC_EXIT_VALID, DSEC_EXIT_FATAL,
            DSEC_EXIT_TRANSIENT, DSEC_EXIT_USAGE, DSEC_EXIT_CONFIG);
}

/* Returns -1 to go on, else the exit code. */
static int cli_fetch_parse(int argc, char **argv, struct cli_fetch_opts *opts)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, CLI_FETCH_OPT_CONFIG },
        { "issuer", required_argument, NULL, CLI_FETCH_OPT_ISSUER },
        { "at", required_argument, NULL, CLI_FETCH_OPT_AT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const dsec_cli_syntax syntax = { "fetch", longopts, cli_fetch_usage,
                                            "URL", 0 };
    int c, ret = -1;

    while ((c = dsec_cli_next_option(&syntax, argc, argv, &ret)) > 0) {
        switch (c) {
        case CLI_FETCH_OPT_CONFIG:
            opts->config = optarg;
            break;
        case CLI_FETCH_OPT_ISSUER:
            opts->issuer = optarg;
            break;
        case CLI_FETCH_OPT_AT:
            ret = dsec_cli_option_at("fetch", optarg, &opts->at);
            if (ret >= 0) {
                return ret;
            }
            opts->have_at = 1;
            break;
        }
    }
    if (ret < 0) {
        opts->url = argv[optind];
    }
    return ret;
}

/*
 * The configuration, the domainsec settings and the --issuer certificate.
 * Returns -1 to go on, else the exit code.
 */
static int cli_fetch_setup(const struct cli_fetch_opts *opts,
                           struct cli_fetch_run *run)
{
    char why[512];
    int ret;

    ret = dsec_cli_load_config(opts->config);
    if (ret != 0) {
        return ret;
    }
    if (!dsec_cli_read_settings(opts->config, &run->cfg, NULL, why,
                                sizeof(why))) {
        fprintf(stderr, "%s fetch: %s\n", DSEC_CLI_PROG, why);
        return DSEC_EXIT_CONFIG;
    }
    /* everything is printed here; the library's own log lines would repeat */
    dsec_log_configure(DSEC_LOG_NONE, DSEC_LOG_ERR);
    if (opts->issuer != NULL
        && !dsec_cli_load_certs(opts->issuer, &run->issuers, why,
                                sizeof(why))) {
        fprintf(stderr, "%s fetch: --issuer: %s\n", DSEC_CLI_PROG, why);
        return DSEC_EXIT_USAGE;
    }
    run->now = opts->have_at ? opts->at : time(NULL);
    return -1;
}

/* The class line of a failure, as classify.h says; returns the exit code. */
static int cli_fetch_class(dsec_rv rv)
{
    dsec_class cls = dsec_classify_rv(rv);

    printf("class:      %s\n", dsec_classify_name(cls));
    return dsec_classify_exit_code(cls);
}

/* The result line of a failure and its class; returns the exit code. */
static int cli_fetch_failed(dsec_rv rv, const char *what)
{
    printf("result:     %s: %s\n", dsec_rv_name(rv), what);
    return cli_fetch_class(rv);
}

/*
 * Fetch the URL and parse the CRL into run->crl, printing how the fetch
 * went. Returns -1 to go on, else the exit code.
 */
static int cli_fetch_get(const struct cli_fetch_opts *opts,
                         struct cli_fetch_run *run)
{
    const dsec_fetch_result *res = &run->res;
    dsec_fetch_policy pol;
    DSEC_ERR err = { 0 };
    char url[512];
    dsec_rv rv;

    dsec_url_mask(opts->url, url, sizeof(url));
    printf("url:        %s\n", url);
    dsec_fetch_policy_from_config(run->cfg, &pol);
    rv = dsec_fetch_url(&pol, opts->url, &run->res, &err);
    if (rv == DSEC_ERR_SCHEME || rv == DSEC_ERR_INVALID) {
        /* refused before any network activity */
        printf("result:     refused: %s\n", err.msg);
        if (rv == DSEC_ERR_INVALID) {
            /* a malformed URL: the command line must change, a usage error
               (the CLI's own decision, not a class of classify.h) */
            printf("class:      usage\n");
            return DSEC_EXIT_USAGE;
        }
        return cli_fetch_class(rv);
    }
    printf("route:      %s\n", res->route[0] != '\0' ? res->route : "(none)");
    if (res->status != 0) {
        printf("status:     HTTP %ld\n", res->status);
    }
    printf("time:       %.3f s\n", res->seconds);
    printf("size:       %zu bytes\n", res->len);
    if (res->redirects > 0) {
        printf("redirects:  %d\n", res->redirects);
    }
    if (rv == DSEC_OK) {
        rv = dsec_crl_parse(res->data, res->len, &run->crl, &err);
    }
    if (rv != DSEC_OK) {
        return cli_fetch_failed(rv, err.msg);
    }
    return -1;
}

/*
 * Check the signature with the --issuer certificate. Returns DSEC_OK,
 * DSEC_ERR_CRL_SIG or DSEC_ERR_CRL_ISSUER and prints the line.
 */
static dsec_rv cli_fetch_sig_given(X509_CRL *crl, X509 *issuer,
                                   const char *file)
{
    char name[512];
    int same_name, ok;

    dsec_cli_name(X509_get_subject_name(issuer), name, sizeof(name));
    same_name =
        X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer))
        == 0;
    ok = dsec_cli_crl_signed_by(crl, issuer);
    if (ok && same_name) {
        printf("signature:  ok, verifies with the key of %s (--issuer %s)\n",
               name, file);
        return DSEC_OK;
    }
    if (ok) {
        printf("signature:  FAILS: the key of %s (--issuer %s) verifies it, "
               "but the CRL names another issuer\n",
               name, file);
        return DSEC_ERR_CRL_ISSUER;
    }
    printf("signature:  FAILS: does not verify with the key of %s (--issuer "
           "%s)%s\n",
           name, file, same_name ? "" : "; the CRL is issued by another CA");
    return same_name ? DSEC_ERR_CRL_SIG : DSEC_ERR_CRL_ISSUER;
}

/*
 * Look for the CRL's issuer among the certificates of dirs (trust_dirs or
 * cross_dirs). Returns DSEC_OK when one verifies, DSEC_ERR_CRL_SIG when
 * candidates exist but none verifies, DSEC_ERR_NOT_FOUND when there are
 * none; prints the line in the first two cases.
 */
static dsec_rv cli_fetch_sig_dirs(X509_CRL *crl, const char *dirs,
                                  const char *directive)
{
    dsec_anchors *set = NULL;
    DSEC_ERR err = { 0 };
    size_t pos = 0, idx, tried = 0;
    char name[512];
    dsec_rv rv = DSEC_ERR_NOT_FOUND;

    if (dirs == NULL || dirs[0] == '\0') {
        goto done;
    }
    if (dsec_certdir_load(dirs, &set, &err) != DSEC_OK) {
        printf("signature:  not checked: cannot read %s: %s\n", directive,
               err.msg);
        rv = DSEC_ERR_INTERNAL;
        goto done;
    }
    while (
        dsec_anchors_find_subject(set, X509_CRL_get_issuer(crl), &pos, &idx)) {
        tried++;
        if (dsec_cli_crl_signed_by(crl, dsec_anchors_get0(set, idx))) {
            dsec_cli_name(X509_CRL_get_issuer(crl), name, sizeof(name));
            printf("signature:  ok, verifies with the key of %s (%s %s)\n",
                   name, directive, dsec_anchors_source(set, idx));
            rv = DSEC_OK;
            goto done;
        }
    }
    if (tried > 0) {
        printf("signature:  FAILS: does not verify with the key of any of "
               "the %zu certificate(s) of %s named like the CRL's issuer\n",
               tried, directive);
        rv = DSEC_ERR_CRL_SIG;
    }

done:
    dsec_anchors_free(set);
    return rv;
}

/*
 * The signature check: with the --issuer certificate, else with the
 * certificates of trust_dirs and cross_dirs named like the CRL's issuer.
 * DSEC_OK when it verifies or cannot be checked.
 */
static dsec_rv cli_fetch_signature(const struct cli_fetch_opts *opts,
                                   const struct cli_fetch_run *run)
{
    X509 *issuer = run->issuers != NULL ? sk_X509_value(run->issuers, 0) : NULL;
    dsec_rv srv;

    if (issuer != NULL) {
        return cli_fetch_sig_given(run->crl, issuer, opts->issuer);
    }
    srv = cli_fetch_sig_dirs(run->crl, run->cfg->trust_dirs, "trust_dirs");
    if (srv == DSEC_ERR_NOT_FOUND) {
        srv = cli_fetch_sig_dirs(run->crl, run->cfg->cross_dirs, "cross_dirs");
    }
    if (srv == DSEC_ERR_NOT_FOUND) {
        printf("signature:  not checked: the CRL's issuer is in neither "
               "trust_dirs nor cross_dirs (give --issuer CERT)\n");
        srv = DSEC_OK;
    } else if (srv == DSEC_ERR_INTERNAL) {
        srv = DSEC_OK;
    }
    return srv;
}

/* Print the CRL, its validity and signature, and the result; exit code. */
static int cli_fetch_judge(const struct cli_fetch_opts *opts,
                           const struct cli_fetch_run *run)
{
    char why[512];
    dsec_rv trv, srv;

    printf("CRL:\n");
    dsec_cli_print_crl(run->crl, "  ");
    trv = dsec_cli_crl_time(run->crl, run->now, run->cfg->stale_grace, why,
                            sizeof(why));
    printf("validity:   %s\n", why);
    srv = cli_fetch_signature(opts, run);
    if (srv != DSEC_OK) {
        return cli_fetch_failed(srv, "the CRL's signature does not verify");
    }
    if (trv != DSEC_OK) {
        return cli_fetch_failed(trv, why);
    }
    printf("result:     ok\n");
    return dsec_classify_exit_code(DSEC_CLASS_VALID);
}

int dsec_cli_fetch(int argc, char **argv)
{
    struct cli_fetch_opts opts;
    struct cli_fetch_run run;
    int ret;

    memset(&opts, 0, sizeof(opts));
    memset(&run, 0, sizeof(run));
    ret = cli_fetch_parse(argc, argv, &opts);
    if (ret < 0) {
        ret = cli_fetch_setup(&opts, &run);
    }
    if (ret < 0) {
        ret = cli_fetch_get(&opts, &run);
    }
    if (ret < 0) {
        ret = cli_fetch_judge(&opts, &run);
    }
    X509_CRL_free(run.crl);
    sk_X509_pop_free(run.issuers, X509_free);
    dsec_fetch_result_clear(&run.res);
    dsec_config_free(run.cfg);
    ERR_clear_error();
    fflush(stdout);
    return ret;
}
