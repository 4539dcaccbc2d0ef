/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry point of the domainsec command: global options (--help, --version)
 * and dispatch to the subcommands from a table. Each subcommand lives in its
 * own file and parses its own options. The hidden --list-options prints the
 * tables (options, commands, directives and their defaults) for the
 * documentation test.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "domainsec/classify.h"
#include "cli.h"

struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct cli_cmd cli_cmds[] = {
    { "verify", dsec_cli_verify,
      "verify a certificate chain, checking revocation online" },
    { "fetch", dsec_cli_fetch,
      "fetch one CRL distribution point and show the CRL" },
    { "doctor", dsec_cli_doctor,
      "check the configuration, directories, proxy and CDPs end to end" },
    { "trust", dsec_cli_trust,
      "list the trust anchors and cross-certificates (trust list)" },
    { "policyd", dsec_cli_policyd,
      "Postfix policy service answering from the recorded verdicts" },
    { "cache", dsec_cli_cache,
      "list, refresh, purge the CRL cache; Prometheus metrics" },
    { NULL, NULL, NULL }
};

static void cli_usage(FILE *fp)
{
    const struct cli_cmd *cmd;

    fprintf(fp,
            "Usage: %s [--help] [--version] COMMAND [OPTIONS] [ARGS]\n"
            "\n"
            "Check certificate chains the way an OpenSSL host does once the\n"
            "domainsec provider is activated from openssl.cnf: CRLs are\n"
            "fetched from the CRL distribution points, validated and cached,\n"
            "and every failure is classified transient or fatal.\n"
            "\n"
            "Commands:\n",
            DSEC_CLI_PROG);
    for (cmd = cli_cmds; cmd->name != NULL; cmd++) {
        fprintf(fp, "  %-10s %s\n", cmd->name, cmd->summary);
    }
    fprintf(fp,
            "\n"
            "Options:\n"
            "  -h, --help     show this help and exit\n"
            "  -V, --version  show the version and exit\n"
            "\n"
            "Run '%s COMMAND --help' for the options of a command.\n"
            "\n"
            "Exit codes:\n"
            "  %-3d valid\n"
            "  %-3d fatal: the certificate must not be trusted (revoked,\n"
            "      untrusted, bad signature, expired, ...)\n"
            "  %-3d transient: revocation could not be checked now (CRL\n"
            "      unreachable, stale or unusable); retry later\n"
            "  %-3d usage error (bad option or argument, unreadable input "
            "file)\n"
            "  %-3d configuration error (openssl.cnf cannot be loaded or does\n"
            "      not activate the domainsec provider)\n",
            DSEC_CLI_PROG, DSEC_EXIT_VALID, DSEC_EXIT_FATAL,
            DSEC_EXIT_TRANSIENT, DSEC_EXIT_USAGE, DSEC_EXIT_CONFIG);
}

/* Hidden --list-options: what the man pages must document. */
static int cli_list(const struct option *longopts)
{
    const struct cli_cmd *cmd;
    dsec_config *cfg;
    char text[4096];
    const char *line, *end;
    int d;

    dsec_cli_list_options(longopts, NULL);
    for (cmd = cli_cmds; cmd->name != NULL; cmd++) {
        printf("command %s\n", cmd->name);
    }
    for (d = 0; d < DSEC_D_COUNT; d++) {
        printf("directive %s\n", dsec_config_directives[d]);
    }
    /* "default NAME = VALUE" lines: the defaults, as doctor shows them */
    cfg = dsec_config_new();
    if (cfg == NULL) {
        return DSEC_EXIT_CONFIG;
    }
    dsec_config_describe(cfg, text, sizeof(text));
    dsec_config_free(cfg);
    for (line = text; *line != '\0'; line = end + (*end != '\0')) {
        end = line + strcspn(line, "\n");
        printf("default %.*s\n", (int)(end - line), line);
    }
    return DSEC_EXIT_VALID;
}

static void cli_version(void)
{
    printf("%s %s (%s)\n", DSEC_CLI_PROG, DOMAINSEC_VERSION_STRING,
           OpenSSL_version(OPENSSL_VERSION));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const struct cli_cmd *cmd;
    int c;
    int ret = DSEC_EXIT_USAGE;

    if (argc == 2 && strcmp(argv[1], "--list-options") == 0) {
        ret = cli_list(longopts);
        goto done;
    }
    /* '+': stop at the subcommand, whose options are its own. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_usage(stdout);
            ret = DSEC_EXIT_VALID;
            goto done;
        case 'V':
            cli_version();
            ret = DSEC_EXIT_VALID;
            goto done;
        default:
            if (optopt > 0 && optopt < 256) {
                fprintf(stderr, "%s: unknown option '-%c'\n", DSEC_CLI_PROG,
                        optopt);
            } else {
                fprintf(stderr, "%s: unknown option '%s'\n", DSEC_CLI_PROG,
                        argv[optind - 1]);
            }
            fprintf(stderr, "Try '%s --help'.\n", DSEC_CLI_PROG);
            goto done;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s: missing command\n", DSEC_CLI_PROG);
        cli_usage(stderr);
        goto done;
    }
    for (cmd = cli_cmds; cmd->name != NULL; cmd++) {
        if (strcmp(cmd->name, argv[optind]) == 0) {
            break;
        }
    }
    if (cmd->name == NULL) {
        fprintf(stderr, "%s: unknown command '%s'\nTry '%s --help'.\n",
                DSEC_CLI_PROG, argv[optind], DSEC_CLI_PROG);
        goto done;
    }
    /* The subcommand parses its own options: restart getopt. */
    c = optind;
    optind = 0;
    ret = cmd->run(argc - c, argv + c);

done:
    fflush(stdout);
    return ret;
}
