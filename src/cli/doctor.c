/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec doctor`: the set-up checked end to end, one line per check
 * (OK, FAIL with what to fix, or INFO). This file is the runner: the
 * options, and the table of checks run in order, the local ones
 * (doctor_local.c: the configuration and the provider it activates,
 * trust_dirs and cross_dirs, cache_dir) and the online ones
 * (doctor_online.c: the proxy, the CDPs of every anchor and
 * cross-certificate), and with --postfix those of a running Postfix
 * (doctor_postfix.c), whose smtpd's OpenSSL configuration is then the one
 * checked unless --config names another. Each FAIL is classed
 * configuration (exit 78) or transient (exit 75: a server that is down
 * now). --offline keeps to the local checks, for a service's pre-start
 * check that a CRL server being down must not block.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include "domainsec/log.h"
#include "cli.h"
#include "doctor.h"
#include "doctor_postfix.h"

/* When a check runs. */
enum cli_doctor_when {
    CLI_DOCTOR_LOCAL, /* always, --offline too */
    CLI_DOCTOR_POSTFIX, /* with --postfix, --offline too */
    CLI_DOCTOR_ONLINE /* needs the network: not with --offline */
};

struct cli_doctor_check {
    const char *name; /* what it checks */
    void (*run)(struct cli_doctor *doc);
    enum cli_doctor_when when;
    int needs_settings; /* reads doc->cfg: skipped when it is NULL */
};

/* The checks, in the order of the output. */
static const struct cli_doctor_check cli_doctor_checks[] = {
    { "configuration and provider", cli_doctor_check_config, CLI_DOCTOR_LOCAL,
      0 },
    /* what Postfix loads, right after the configuration: no settings needed */
    { "Postfix", cli_doctor_check_postfix, CLI_DOCTOR_POSTFIX, 0 },
    { "trust_dirs", cli_doctor_check_trust_dirs, CLI_DOCTOR_LOCAL, 1 },
    { "cross_dirs", cli_doctor_check_cross_dirs, CLI_DOCTOR_LOCAL, 1 },
    { "cache_dir", cli_doctor_check_cache, CLI_DOCTOR_LOCAL, 1 },
    { "proxy", cli_doctor_check_proxy, CLI_DOCTOR_ONLINE, 1 },
    { "CDPs", cli_doctor_check_cdps, CLI_DOCTOR_ONLINE, 1 },
    { NULL, NULL, CLI_DOCTOR_LOCAL, 0 }
};

static void cli_doctor_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s doctor [--offline] [--config FILE] [--postfix]\n"
            "                 [--postfix-config DIR]\n"
            "\n"
            "Check the domainsec set-up end to end and print one line per\n"
            "check, OK or FAIL (with what to fix) or INFO:\n"
            "  - the configuration parses and activates the domainsec\n"
            "    provider, as it does in a host (a bad directive is shown);\n"
            "  - every directory of trust_dirs and cross_dirs exists, is\n"
            "    readable, and how many certificates it holds (malformed\n"
            "    files are named);\n"
            "  - cache_dir exists and a file can be created in it;\n"
            "  - the proxy (http_proxy) accepts a TCP connection within\n"
            "    fetch_timeout;\n"
            "  - every CDP of every anchor and cross-certificate is fetched\n"
            "    and yields a current CRL signed by that certificate's\n"
            "    issuer.\n"
            "\n"
            "With --postfix, a Postfix instance's settings too (through\n"
            "postconf): smtpd_tls_fingerprint_digest = sha256, client\n"
            "certificates asked for, a check_policy_service restriction\n"
            "whose spawn service runs `domainsec policyd` as a user spawn\n"
            "accepts, that user able to read <cache_dir>/verdicts/ and the\n"
            "mail owner able to write it, and OPENSSL_CONF (or\n"
            "tls_config_file) reaching smtpd and smtp.\n"
            "\n"
            "When OpenSSL does not load the provider, the file it tried\n"
            "(module value or provider name, in OPENSSL_MODULES or OpenSSL's\n"
            "modules directory) is named with the reason.\n"
            "\n"
            "Options:\n"
            "  --config FILE   OpenSSL configuration with the domainsec\n"
            "                  section (default: $OPENSSL_CONF, else\n"
            "                  OpenSSL's default openssl.cnf)\n"
            "  --offline       configuration checks only: no network (the\n"
            "                  proxy and the CDPs are not checked), so the\n"
            "                  exit code is 0 or 78, never 75; for a\n"
            "                  service's ExecStartPre\n"
            "  --postfix       check the Postfix instance too; without\n"
            "                  --config, the OpenSSL configuration its\n"
            "                  smtpd and smtp load is the one checked\n"
            "  --postfix-config DIR\n"
            "                  its configuration directory (postconf -c\n"
            "                  DIR; implies --postfix; default: postconf's\n"
            "                  own, /etc/postfix)\n"
            "  -h, --help      show this help and exit\n"
            "\n"
            "Exit codes:\n"
            "  %-3d every check passed\n"
            "  %-3d transient problems only (proxy or CRL server unreachable,\n"
            "      CRL stale or unusable): retry later\n"
            "  %-3d usage error\n"
            "  %-3d at least one configuration problem\n",
            DSEC_CLI_PROG, DSEC_EXIT_VALID, DSEC_EXIT_TRANSIENT,
            DSEC_EXIT_USAGE, DSEC_EXIT_CONFIG);
}
/* The command line. */
struct cli_doctor_options {
    const char *config; /* --config */
    int offline; /* --offline */
    int postfix; /* --postfix or --postfix-config */
    const char *postfix_dir; /* --postfix-config */
};

/* Returns -1 to go on, else the exit code. */
static int cli_doctor_parse(int argc, char **argv, struct cli_doctor_options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "offline", no_argument, NULL, 'o' },
        { "postfix", no_argument, NULL, 'p' },
        { "postfix-config", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const dsec_cli_syntax syntax = { "doctor", longopts,
                                            cli_doctor_usage, NULL,
                                            DSEC_CLI_SYNTAX_AS_WRITTEN
                                                | DSEC_CLI_SYNTAX_ARG_AFTER };
    int c, ret = -1;

    while ((c = dsec_cli_next_option(&syntax, argc, argv, &ret)) > 0) {
        if (c == 'c') {
            o->config = optarg;
        } else if (c == 'o') {
            o->offline = 1;
        } else if (c == 'p') {
            o->postfix = 1;
        } else if (c == 'P') {
            o->postfix = 1;
            o->postfix_dir = optarg;
        }
    }
    return ret;
}

/* Run the table's checks in order. */
static void cli_doctor_run(struct cli_doctor *doc, int offline)
{
    const struct cli_doctor_check *check;
    int said_offline = 0;

    for (check = cli_doctor_checks; check->name != NULL; check++) {
        if (check->needs_settings && doc->cfg == NULL) {
            cli_doctor_line(doc, CLI_DOCTOR_INFO,
                            "the other checks need the domainsec section: "
                            "skipped");
            break;
        }
        if (check->when == CLI_DOCTOR_POSTFIX && doc->pf == NULL) {
            continue;
        }
        if (check->when == CLI_DOCTOR_ONLINE && offline) {
            if (!said_offline) {
                cli_doctor_line(doc, CLI_DOCTOR_INFO,
                                "proxy and CDPs: not checked (--offline)");
                said_offline = 1;
            }
            continue;
        }
        check->run(doc);
    }
}

int dsec_cli_doctor(int argc, char **argv)
{
    struct cli_doctor doc;
    struct cli_doctor_options opt;
    const char *config;
    char *path = NULL;
    int ret;

    memset(&doc, 0, sizeof(doc));
    memset(&opt, 0, sizeof(opt));
    ret = cli_doctor_parse(argc, argv, &opt);
    if (ret >= 0) {
        goto done;
    }
    /* each problem is printed as a FAIL line, not logged */
    dsec_log_configure(DSEC_LOG_NONE, DSEC_LOG_ERR);
    config = opt.config;
    if (opt.postfix) {
        doc.pf = cli_doctor_postfix_read(opt.postfix_dir);
        if (doc.pf == NULL) {
            fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
            ret = DSEC_EXIT_CONFIG;
            goto done;
        }
        if (config == NULL) {
            config = doc.pf->openssl_conf;
        }
    }
    path = dsec_cli_config_path(config);
    if (path == NULL) {
        fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
        ret = DSEC_EXIT_CONFIG;
        goto done;
    }
    doc.path = path;
    cli_doctor_run(&doc, opt.offline);
    ret = cli_doctor_summary(&doc);

done:
    cli_doctor_postfix_free(doc.pf);
    cli_doctor_free(&doc);
    OPENSSL_free(path);
    ERR_clear_error();
    fflush(stdout);
    return ret;
}
