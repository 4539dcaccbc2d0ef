/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec policyd`: the Postfix policy service that turns the verdicts
 * the provider records for peer certificates (cache_dir/verdicts) into
 * answers: REJECT 5.7.1 (fatal), DEFER_IF_PERMIT 4.7.5 (transient) or
 * DUNNO, and enforces a list of domain-secured partner domains. This file
 * reads its command line and configuration, opens the verdicts directory,
 * the domains file and the log, then serves (policyd_serve.c): on
 * stdin/stdout for a spawn(8) service, or on a socket with --listen.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "domainsec/log.h"
#include "domainsec/verdict.h"
#include "cli.h"
#include "policyd.h"

enum {
    CLI_POLICYD_OPT_CONFIG = 256,
    CLI_POLICYD_OPT_DOMAINS,
    CLI_POLICYD_OPT_UNLISTED,
    CLI_POLICYD_OPT_LISTEN,
    CLI_POLICYD_OPT_VERDICTS,
    CLI_POLICYD_OPT_IDLE
};

struct cli_policyd_opts {
    const char *config;
    const char *domains;
    const char *listen;
    const char *verdicts;
    dsec_policy_unlisted unlisted;
    long idle;
};

static void cli_policyd_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s policyd [--config FILE] [--domains FILE]\n"
            "                 [--unlisted pass|enforce]\n"
            "                 [--listen unix:/PATH | tcp:HOST:PORT]\n"
            "                 [--verdicts DIR] [--idle-timeout SECONDS]\n"
            "\n"
            "Postfix policy service (policy delegation protocol): answers\n"
            "each request from the verdict the domainsec provider recorded\n"
            "for the client's certificate (ccert_fingerprint, else\n"
            "ccert_pubkey_fingerprint, SHA-256): REJECT 5.7.1 when fatal\n"
            "(revoked, untrusted, bad signature), DEFER_IF_PERMIT 4.7.5 when\n"
            "transient (revocation status unavailable), DUNNO when valid.\n"
            "Mail from a domain of --domains must come with a valid\n"
            "certificate that names the partner. Without --listen, one\n"
            "conversation on stdin/stdout (a spawn(8) service).\n"
            "\n"
            "Options:\n"
            "  --config FILE      OpenSSL configuration with the domainsec\n"
            "                     section: cache_dir, log, log_level\n"
            "                     (default: $OPENSSL_CONF, else OpenSSL's\n"
            "                     default openssl.cnf)\n"
            "  --domains FILE     domain-secured partners, one a line:\n"
            "                     'domain [certificate-name]', # comments\n"
            "  --unlisted MODE    other sender domains: enforce (default:\n"
            "                     the verdict of a presented certificate\n"
            "                     applies) or pass (always DUNNO)\n"
            "  --listen SPEC      serve many connections on unix:/PATH or\n"
            "                     tcp:HOST:PORT until SIGTERM\n"
            "  --verdicts DIR     the records (default: cache_dir/verdicts)\n"
            "  --idle-timeout S   close a connection idle S seconds\n"
            "                     (default %ld)\n"
            "  -h, --help         show this help and exit\n"
            "\n"
            "Exit codes: %d normal end, %d usage error, %d configuration\n"
            "error (unreadable domains file, no verdicts directory, cannot\n"
            "listen)\n",
            DSEC_CLI_PROG, CLI_POLICYD_IDLE, DSEC_EXIT_VALID, DSEC_EXIT_USAGE,
            DSEC_EXIT_CONFIG);
}

/* Where an option taken as written goes; NULL for the others. */
static const char **cli_policyd_slot(struct cli_policyd_opts *o, int c)
{
    const char **slots[] = {
        [CLI_POLICYD_OPT_CONFIG - 256] = &o->config,
        [CLI_POLICYD_OPT_DOMAINS - 256] = &o->domains,
        [CLI_POLICYD_OPT_LISTEN - 256] = &o->listen,
        [CLI_POLICYD_OPT_VERDICTS - 256] = &o->verdicts,
    };

    if (c < 256 || c - 256 >= (int)(sizeof(slots) / sizeof(slots[0]))) {
        return NULL;
    }
    return slots[c - 256];
}

/* Returns -1 to go on, else the exit code. */
static int cli_policyd_parse(int argc, char **argv, struct cli_policyd_opts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, CLI_POLICYD_OPT_CONFIG },
        { "domains", required_argument, NULL, CLI_POLICYD_OPT_DOMAINS },
        { "unlisted", required_argument, NULL, CLI_POLICYD_OPT_UNLISTED },
        { "listen", required_argument, NULL, CLI_POLICYD_OPT_LISTEN },
        { "verdicts", required_argument, NULL, CLI_POLICYD_OPT_VERDICTS },
        { "idle-timeout", required_argument, NULL, CLI_POLICYD_OPT_IDLE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const dsec_cli_syntax syntax = { "policyd", longopts,
                                            cli_policyd_usage, NULL, 0 };
    const char **slot;
    int c, ret = -1;

    o->idle = CLI_POLICYD_IDLE;
    while ((c = dsec_cli_next_option(&syntax, argc, argv, &ret)) > 0) {
        if ((slot = cli_policyd_slot(o, c)) != NULL) {
            *slot = optarg;
        } else if (c == CLI_POLICYD_OPT_UNLISTED) {
            if (strcmp(optarg, "pass") != 0 && strcmp(optarg, "enforce") != 0) {
                return dsec_cli_usage_error(
                    "policyd", "--unlisted: '%s' is not pass or enforce",
                    optarg);
            }
            o->unlisted = optarg[0] == 'p' ? DSEC_POLICY_UNLISTED_PASS
                                           : DSEC_POLICY_UNLISTED_ENFORCE;
        } else if (c == CLI_POLICYD_OPT_IDLE
                   && dsec_config_parse_seconds(optarg, 1, 86400, &o->idle)
                          != DSEC_OK) {
            return dsec_cli_usage_error(
                "policyd", "--idle-timeout: '%s' is not 1 to 86400 seconds",
                optarg);
        }
    }
    return ret;
}

/* 1 when fd is a socket: spawn(8) connects stderr to the policy socket. */
static int cli_policyd_is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * A configuration problem: to the log, and to stderr unless stderr is the
 * policy client's socket. Returns DSEC_EXIT_CONFIG.
 */
static int cli_policyd_config_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int cli_policyd_config_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    syslog(LOG_ERR, "domainsec policyd: %s", msg);
    if (!cli_policyd_is_socket(STDERR_FILENO)) {
        fprintf(stderr, "%s policyd: %s\n", DSEC_CLI_PROG, msg);
    }
    return DSEC_EXIT_CONFIG;
}

/*
 * The domainsec section: needed for cache_dir unless --verdicts is given,
 * when only an explicit --config must be readable. Logging is set up from
 * it: log = stderr is honoured unless stderr is a socket while serving
 * stdin/stdout (then syslog).
 */
static int cli_policyd_settings(const struct cli_policyd_opts *o,
                                dsec_config **cfg)
{
    char why[512];
    dsec_log_target target;

    if (!dsec_cli_read_settings(o->config, cfg, NULL, why, sizeof(why))) {
        if (o->verdicts == NULL || o->config != NULL) {
            return cli_policyd_config_error("%s", why);
        }
        if ((*cfg = dsec_config_new()) == NULL) {
            return cli_policyd_config_error("out of memory");
        }
    }
    target = (*cfg)->log;
    if (target == DSEC_LOG_STDERR && o->listen == NULL
        && cli_policyd_is_socket(STDERR_FILENO)) {
        target = DSEC_LOG_SYSLOG;
    }
    dsec_log_configure(target, (*cfg)->log_level);
    return -1;
}

/* The verdicts directory: --verdicts, else cache_dir/verdicts. */
static int cli_policyd_verdicts(const struct cli_policyd_opts *o,
                                const dsec_config *cfg, int *fd)
{
    DSEC_ERR err = { 0 };
    int cache_fd;

    if (o->verdicts != NULL) {
        *fd = dsec_verdict_open_path(o->verdicts, &err);
        return *fd >= 0 ? -1
                        : cli_policyd_config_error("--verdicts: %s", err.msg);
    }
    if (cfg->cache_dir == NULL || cfg->cache_dir[0] == '\0') {
        return cli_policyd_config_error(
            "cache_dir is not set, so no verdict is recorded; set it or "
            "give --verdicts DIR");
    }
    cache_fd = open(cfg->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cache_fd < 0) {
        return cli_policyd_config_error("cache_dir %s: %s", cfg->cache_dir,
                                        strerror(errno));
    }
    *fd = dsec_verdict_open_dir(cache_fd, &err);
    close(cache_fd);
    return *fd >= 0 ? -1
                    : cli_policyd_config_error("cache_dir %s: %s",
                                               cfg->cache_dir, err.msg);
}

/* Serve with everything open; returns the exit code. */
static int cli_policyd_run(const struct cli_policyd_opts *o,
                           cli_policyd_server *srv)
{
    int lfd, usage = 0;

    dsec_log(DSEC_LOG_INFO,
             "domainsec policyd: serving %s; %zu partner domain(s); "
             "unlisted domains: %s; idle timeout %ld s",
             o->listen != NULL ? o->listen : "stdin/stdout",
             dsec_policy_partners_count(srv->pol.partners),
             srv->pol.unlisted == DSEC_POLICY_UNLISTED_PASS ? "pass"
                                                            : "enforce",
             srv->idle);
    if (o->listen == NULL) {
        return cli_policyd_serve_stdio(srv);
    }
    lfd = cli_policyd_listen(o->listen, &usage);
    if (lfd < 0) {
        if (usage) {
            return dsec_cli_usage_error(
                "policyd", "--listen: '%s' is not unix:/PATH or tcp:HOST:PORT",
                o->listen);
        }
        return cli_policyd_config_error("cannot listen on %s (see the log)",
                                        o->listen);
    }
    return cli_policyd_serve_listen(srv, lfd, o->listen);
}

int dsec_cli_policyd(int argc, char **argv)
{
    struct cli_policyd_opts o;
    cli_policyd_server srv;
    dsec_policy_partners *partners = NULL;
    dsec_config *cfg = NULL;
    DSEC_ERR err = { 0 };
    int ret, fd = -1;

    memset(&o, 0, sizeof(o));
    memset(&srv, 0, sizeof(srv));
    ret = cli_policyd_parse(argc, argv, &o);
    if (ret >= 0) {
        return ret;
    }
    /* spawn(8) and a closed client must not kill us with SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
    openlog("domainsec-policyd", LOG_PID, LOG_MAIL);
    if ((ret = cli_policyd_settings(&o, &cfg)) >= 0
        || (ret = cli_policyd_verdicts(&o, cfg, &fd)) >= 0) {
        goto done;
    }
    if (o.domains != NULL
        && dsec_policy_partners_load(o.domains, &partners, &err) != DSEC_OK) {
        ret = cli_policyd_config_error("--domains: %s", err.msg);
        goto done;
    }
    srv.pol.verdict_fd = fd;
    srv.pol.partners = partners;
    srv.pol.unlisted = o.unlisted;
    srv.idle = o.idle;
    ret = cli_policyd_run(&o, &srv);
done:
    if (fd >= 0) {
        close(fd);
    }
    dsec_policy_partners_free(partners);
    dsec_config_free(cfg);
    closelog();
    return ret;
}
