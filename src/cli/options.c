/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line of a subcommand, read the same way by each of them:
 * getopt_long over the subcommand's option table with the replies they
 * share (--help, an option without its value, an unknown option, a missing
 * or extra operand), the usage error message, the --at time value, and the
 * hidden --list-options that prints the table for the documentation test.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

int dsec_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", DSEC_CLI_PROG, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s %s --help'.\n", DSEC_CLI_PROG, cmd);
    return DSEC_EXIT_USAGE;
}

/* After the options: the operands. -1 to go on, else the exit code. */
static int cli_operands(const dsec_cli_syntax *syn, int argc, char **argv)
{
    if (syn->operand == NULL) {
        if (optind < argc) {
            return dsec_cli_usage_error(syn->cmd, "unexpected argument '%s'",
                                        argv[optind]);
        }
        return -1;
    }
    if (optind >= argc) {
        return dsec_cli_usage_error(syn->cmd, "missing %s", syn->operand);
    }
    if (optind + 1 < argc) {
        return dsec_cli_usage_error(syn->cmd, "unexpected argument '%s'",
                                    argv[optind + 1]);
    }
    return -1;
}

/* An option getopt_long does not know, named as the command names it. */
static int cli_unknown(const dsec_cli_syntax *syn, char **argv)
{
    if ((syn->flags & DSEC_CLI_SYNTAX_AS_WRITTEN) == 0 && optopt > 0
        && optopt < 256) {
        return dsec_cli_usage_error(syn->cmd, "unknown option '-%c'", optopt);
    }
    return dsec_cli_usage_error(syn->cmd, "unknown option '%s'",
                                argv[optind - 1]);
}

int dsec_cli_list_options(const struct option *longopts,
                          const char *const *actions)
{
    const struct option *o;

    for (o = longopts; o->name != NULL; o++) {
        printf("option --%s\n", o->name);
    }
    for (; actions != NULL && *actions != NULL; actions++) {
        printf("action %s\n", *actions);
    }
    return DSEC_EXIT_VALID;
}

int dsec_cli_next_option(const dsec_cli_syntax *syn, int argc, char **argv,
                         int *ret)
{
    int c;

    /* hidden: the option table, for test/docs (not in --help) */
    if (optind <= 1 && argc == 2 && strcmp(argv[1], "--list-options") == 0) {
        *ret = dsec_cli_list_options(syn->longopts, NULL);
        return 0;
    }
    opterr = 0;
    c = getopt_long(argc, argv, ":h", syn->longopts, NULL);
    switch (c) {
    case -1:
        *ret = cli_operands(syn, argc, argv);
        return 0;
    case 'h':
        syn->usage(stdout);
        *ret = DSEC_EXIT_VALID;
        return 0;
    case ':':
        if ((syn->flags & DSEC_CLI_SYNTAX_ARG_AFTER) != 0) {
            *ret = dsec_cli_usage_error(
                syn->cmd, "option needs an argument: '%s'", argv[optind - 1]);
        } else {
            *ret = dsec_cli_usage_error(
                syn->cmd, "option '%s' needs an argument", argv[optind - 1]);
        }
        return 0;
    case '?':
        *ret = cli_unknown(syn, argv);
        return 0;
    default:
        return c;
    }
}

static int cli_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int cli_num(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * Seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ: returns 1 and sets *out,
 * or 0 when s is neither.
 */
static int cli_parse_time(const char *s, time_t *out)
{
    struct tm tm, check;
    long long secs;
    char *end = NULL;
    time_t t;
    size_t n = strlen(s);

    if (n > 0 && n <= 19 && cli_digits(s, n)) {
        errno = 0;
        secs = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || (long long)(time_t)secs != secs) {
            return 0;
        }
        *out = (time_t)secs;
        return 1;
    }
    /* YYYY-MM-DDTHH:MM:SSZ, nothing else */
    if (n != 20 || !cli_digits(s, 4) || s[4] != '-' || !cli_digits(s + 5, 2)
        || s[7] != '-' || !cli_digits(s + 8, 2) || s[10] != 'T'
        || !cli_digits(s + 11, 2) || s[13] != ':' || !cli_digits(s + 14, 2)
        || s[16] != ':' || !cli_digits(s + 17, 2) || s[19] != 'Z') {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = cli_num(s, 4) - 1900;
    tm.tm_mon = cli_num(s + 5, 2) - 1;
    tm.tm_mday = cli_num(s + 8, 2);
    tm.tm_hour = cli_num(s + 11, 2);
    tm.tm_min = cli_num(s + 14, 2);
    tm.tm_sec = cli_num(s + 17, 2);
    check = tm;
    t = timegm(&tm);
    /*
     * timegm normalises 2024-02-30 and returns -1 on overflow: reject what
     * does not round-trip.
     */
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year != check.tm_year
        || tm.tm_mon != check.tm_mon || tm.tm_mday != check.tm_mday
        || tm.tm_hour != check.tm_hour || tm.tm_min != check.tm_min
        || tm.tm_sec != check.tm_sec) {
        return 0;
    }
    *out = t;
    return 1;
}

int dsec_cli_option_at(const char *cmd, const char *arg, time_t *out)
{
    if (!cli_parse_time(arg, out)) {
        return dsec_cli_usage_error(cmd,
                                    "bad --at '%s' (seconds since the epoch or "
                                    "YYYY-MM-DDTHH:MM:SSZ)",
                                    arg);
    }
    return -1;
}
