/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec fetch`: the administrator's test of one CRL distribution
 * point, like `certutil -URL`: the URL is fetched under the configuration's
 * policy (cdp_schemes, proxy, fetch_timeout, max_crl_size) through the same
 * dsec_fetch_url the provider uses, whatever the scheme, and the route,
 * HTTP status, time, size and the parsed CRL are printed. The CRL's
 * signature is checked with --issuer, or with the certificates of
 * trust_dirs and cross_dirs whose subject is the CRL's issuer. The exit code
 * follows the classification of DESIGN.md section 5.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/certdir.h"
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/url.h"
#include "domainsec/report.h"
#include "cli.h"

enum { DSEC_FOPT_CONFIG = 256, DSEC_FOPT_ISSUER, DSEC_FOPT_AT };

struct dsec_fetch_opts {
    const char *config;
    const char *issuer;
    int have_at;
    time_t at;
    const char *url;
};

static void dsec_fetch_usage(FILE *fp)
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

static int dsec_fetch_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int dsec_fetch_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s fetch: ", DSEC_CLI_PROG);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s fetch --help'.\n", DSEC_CLI_PROG);
    return DSEC_EXIT_USAGE;
}

/* Returns -1 to go on, else the exit code. */
static int dsec_fetch_parse(int argc, char **argv, struct dsec_fetch_opts *opts)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, DSEC_FOPT_CONFIG },
        { "issuer", required_argument, NULL, DSEC_FOPT_ISSUER },
        { "at", required_argument, NULL, DSEC_FOPT_AT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case DSEC_FOPT_CONFIG:
            opts->config = optarg;
            break;
        case DSEC_FOPT_ISSUER:
            opts->issuer = optarg;
            break;
        case DSEC_FOPT_AT:
            if (!dsec_cli_parse_time(optarg, &opts->at)) {
                return dsec_fetch_usage_error(
                    "bad --at '%s' (seconds since the epoch or "
                    "YYYY-MM-DDTHH:MM:SSZ)",
                    optarg);
            }
            opts->have_at = 1;
            break;
        case 'h':
            dsec_fetch_usage(stdout);
            return DSEC_EXIT_VALID;
        case ':':
            return dsec_fetch_usage_error("option '%s' needs an argument",
                                          argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256) {
                return dsec_fetch_usage_error("unknown option '-%c'", optopt);
            }
            return dsec_fetch_usage_error("unknown option '%s'",
                                          argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return dsec_fetch_usage_error("missing URL");
    }
    if (optind + 1 < argc) {
        return dsec_fetch_usage_error("unexpected argument '%s'",
                                      argv[optind + 1]);
    }
    opts->url = argv[optind];
    return -1;
}

/*
 * Check the signature with the --issuer certificate. Returns DSEC_OK,
 * DSEC_ERR_CRL_SIG or DSEC_ERR_CRL_ISSUER and prints the line.
 */
static dsec_rv dsec_fetch_sig_given(X509_CRL *crl, X509 *issuer,
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
static dsec_rv dsec_fetch_sig_dirs(X509_CRL *crl, const char *dirs,
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

int dsec_cli_fetch(int argc, char **argv)
{
    struct dsec_fetch_opts opts;
    dsec_config *cfg = NULL;
    STACK_OF(X509) *issuers = NULL;
    X509 *issuer = NULL;
    X509_CRL *crl = NULL;
    dsec_fetch_result res;
    DSEC_ERR err = { 0 };
    char url[512];
    char why[512];
    dsec_rv rv, trv, srv;
    time_t now;
    int ret;

    memset(&opts, 0, sizeof(opts));
    memset(&res, 0, sizeof(res));
    ret = dsec_fetch_parse(argc, argv, &opts);
    if (ret >= 0) {
        goto done;
    }
    ret = dsec_cli_load_config(opts.config);
    if (ret != 0) {
        goto done;
    }
    ret = DSEC_EXIT_CONFIG;
    if (!dsec_cli_read_settings(opts.config, &cfg, NULL, why, sizeof(why))) {
        fprintf(stderr, "%s fetch: %s\n", DSEC_CLI_PROG, why);
        goto done;
    }
    /* everything is printed here; the library's own log lines would repeat */
    dsec_log_configure(DSEC_LOG_NONE, DSEC_LOG_ERR);
    ret = DSEC_EXIT_USAGE;
    if (opts.issuer != NULL) {
        if (!dsec_cli_load_certs(opts.issuer, &issuers, why, sizeof(why))) {
            fprintf(stderr, "%s fetch: --issuer: %s\n", DSEC_CLI_PROG, why);
            goto done;
        }
        issuer = sk_X509_value(issuers, 0);
    }
    now = opts.have_at ? opts.at : time(NULL);

    dsec_url_mask(opts.url, url, sizeof(url));
    printf("url:        %s\n", url);
    rv = dsec_fetch_url(cfg, opts.url, &res, &err);
    if (rv == DSEC_ERR_SCHEME || rv == DSEC_ERR_INVALID) {
        /* refused before any network activity */
        printf("result:     refused: %s\n", err.msg);
        printf("class:      %s\n", rv == DSEC_ERR_SCHEME ? "fatal" : "usage");
        ret = rv == DSEC_ERR_SCHEME ? DSEC_EXIT_FATAL : DSEC_EXIT_USAGE;
        goto done;
    }
    printf("route:      %s\n", res.route[0] != '\0' ? res.route : "(none)");
    if (res.status != 0) {
        printf("status:     HTTP %ld\n", res.status);
    }
    printf("time:       %.3f s\n", res.seconds);
    printf("size:       %zu bytes\n", res.len);
    if (res.redirects > 0) {
        printf("redirects:  %d\n", res.redirects);
    }
    if (rv != DSEC_OK) {
        printf("result:     %s: %s\n", dsec_rv_name(rv), err.msg);
        printf("class:      transient\n");
        ret = DSEC_EXIT_TRANSIENT;
        goto done;
    }
    rv = dsec_crl_parse(res.data, res.len, &crl, &err);
    if (rv != DSEC_OK) {
        printf("result:     %s: %s\n", dsec_rv_name(rv), err.msg);
        printf("class:      transient\n");
        ret = DSEC_EXIT_TRANSIENT;
        goto done;
    }
    printf("CRL:\n");
    dsec_cli_print_crl(crl, "  ");
    trv = dsec_cli_crl_time(crl, now, cfg->stale_grace, why, sizeof(why));
    printf("validity:   %s\n", why);

    if (issuer != NULL) {
        srv = dsec_fetch_sig_given(crl, issuer, opts.issuer);
    } else {
        srv = dsec_fetch_sig_dirs(crl, cfg->trust_dirs, "trust_dirs");
        if (srv == DSEC_ERR_NOT_FOUND) {
            srv = dsec_fetch_sig_dirs(crl, cfg->cross_dirs, "cross_dirs");
        }
        if (srv == DSEC_ERR_NOT_FOUND) {
            printf("signature:  not checked: the CRL's issuer is in neither "
                   "trust_dirs nor cross_dirs (give --issuer CERT)\n");
            srv = DSEC_OK;
        } else if (srv == DSEC_ERR_INTERNAL) {
            srv = DSEC_OK;
        }
    }
    if (srv != DSEC_OK) {
        printf("result:     %s: the CRL's signature does not verify\n",
               dsec_rv_name(srv));
        printf("class:      transient\n");
        ret = DSEC_EXIT_TRANSIENT;
    } else if (trv != DSEC_OK) {
        printf("result:     %s: %s\n", dsec_rv_name(trv), why);
        printf("class:      transient\n");
        ret = DSEC_EXIT_TRANSIENT;
    } else {
        printf("result:     ok\n");
        ret = DSEC_EXIT_VALID;
    }

done:
    X509_CRL_free(crl);
    sk_X509_pop_free(issuers, X509_free);
    dsec_fetch_result_clear(&res);
    dsec_config_free(cfg);
    ERR_clear_error();
    fflush(stdout);
    return ret;
}
