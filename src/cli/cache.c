/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec cache list | refresh [URL] | purge [URL] | metrics`: the CRL
 * cache directory (cache_dir of the provider's section) as an
 * administrator sees it. list: one line per cached URL; refresh: fetch the
 * URLs whose refresh point passed (run by the systemd timer); purge:
 * remove a URL's files (or all) and make running processes drop their
 * memory copies; metrics: a Prometheus node-exporter textfile.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/cache.h"
#include "domainsec/cache_meta.h"
#include "domainsec/crl.h"
#include "domainsec/log.h"
#include "domainsec/refresh.h"
#include "domainsec/url.h"
#include "cli.h"

enum { CLI_CACHE_OPT_CONFIG = 1000, CLI_CACHE_OPT_FORCE, CLI_CACHE_OPT_FILE };

struct cli_cache_opts {
    const char *action;
    const char *config;
    const char *url; /* NULL: every URL */
    const char *textfile; /* metrics: NULL for stdout */
    int force;
};

/* What one cached URL looks like now. */
struct cli_cache_row {
    char url[256]; /* masked */
    long long next_update; /* 0: none */
    long long age; /* seconds since thisUpdate */
    char number[64]; /* CRL number in decimal, "-" when none */
    long long entries;
    long long bytes;
    int ok; /* last fetch succeeded */
    long long last; /* time of the last fetch, 0: never */
    const char *result; /* name of the last result */
};

static void cli_cache_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s cache list [--config FILE]\n"
            "       %s cache refresh [--config FILE] [--force] [URL]\n"
            "       %s cache purge [--config FILE] [URL]\n"
            "       %s cache metrics [--config FILE] [--textfile FILE]\n"
            "\n"
            "The CRL cache directory (cache_dir) of the domainsec provider.\n"
            "  list     one line per cached URL: nextUpdate, age, CRL number,\n"
            "           entries, bytes, last fetch result and time\n"
            "  refresh  fetch every cached URL (or URL) whose refresh point\n"
            "           passed (--force: all); a CRL is kept only when it\n"
            "           verifies with the key that verified the cached one,\n"
            "           has its issuer and scope, and is newer\n"
            "  purge    remove the files of URL (or of every URL); running\n"
            "           processes drop their memory copies within a second,\n"
            "           so the next verification fetches\n"
            "  metrics  Prometheus textfile (atomically replaced with\n"
            "           --textfile, else standard output)\n"
            "\n"
            "Options:\n"
            "  --config FILE    OpenSSL configuration that activates the\n"
            "                   domainsec provider (default: $OPENSSL_CONF)\n"
            "  --force          refresh: fetch even before the refresh point\n"
            "  --textfile FILE  metrics: write FILE (a .prom file of the\n"
            "                   node exporter's textfile directory)\n"
            "  -h, --help       show this help and exit\n"
            "\n"
            "Exit codes: %d done, %d fatal (refresh: a CRL refused), %d\n"
            "transient (refresh: a CDP unreachable), %d usage, %d "
            "configuration\n",
            DSEC_CLI_PROG, DSEC_CLI_PROG, DSEC_CLI_PROG, DSEC_CLI_PROG,
            DSEC_EXIT_VALID, DSEC_EXIT_FATAL, DSEC_EXIT_TRANSIENT,
            DSEC_EXIT_USAGE, DSEC_EXIT_CONFIG);
}

/*
 * Take the URL operand of refresh and purge out of argv (getopt then sees
 * options only): the one argument, not an option's value, that does not
 * start with '-'. Returns -1 to go on, else the exit code.
 */
static int cli_cache_operand(int *argc, char **argv, struct cli_cache_opts *o)
{
    int i, j = 2;

    for (i = 2; i < *argc; i++) {
        if (argv[i][0] == '-' || strcmp(argv[i - 1], "--config") == 0
            || strcmp(argv[i - 1], "--textfile") == 0) {
            argv[j++] = argv[i];
        } else if (o->url == NULL
                   && (strcmp(o->action, "refresh") == 0
                       || strcmp(o->action, "purge") == 0)) {
            o->url = argv[i];
        } else {
            return dsec_cli_usage_error("cache", "unexpected argument '%s'",
                                        argv[i]);
        }
    }
    *argc = j;
    return -1;
}

/* Returns -1 to go on, else the exit code. */
static int cli_cache_parse(int argc, char **argv, struct cli_cache_opts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, CLI_CACHE_OPT_CONFIG },
        { "force", no_argument, NULL, CLI_CACHE_OPT_FORCE },
        { "textfile", required_argument, NULL, CLI_CACHE_OPT_FILE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const dsec_cli_syntax syntax = { "cache", longopts, cli_cache_usage,
                                            NULL, DSEC_CLI_SYNTAX_AS_WRITTEN };
    static const char *const actions[] = { "list", "refresh", "purge",
                                           "metrics", NULL };
    int c, i, ret = -1;

    if (argc == 2 && strcmp(argv[1], "--list-options") == 0) {
        return dsec_cli_list_options(longopts, actions);
    }
    if (argc >= 2
        && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_cache_usage(stdout);
        return DSEC_EXIT_VALID;
    }
    for (i = 0; argc >= 2 && actions[i] != NULL; i++) {
        if (strcmp(argv[1], actions[i]) == 0) {
            o->action = actions[i];
        }
    }
    if (o->action == NULL) {
        return dsec_cli_usage_error("cache",
                                    "%s action '%s' (list, refresh, "
                                    "purge or metrics)",
                                    argc < 2 ? "missing" : "unknown",
                                    argc < 2 ? "" : argv[1]);
    }
    ret = cli_cache_operand(&argc, argv, o);
    if (ret >= 0) {
        return ret;
    }
    while ((c = dsec_cli_next_option(&syntax, argc - 1, argv + 1, &ret)) > 0) {
        if (c == CLI_CACHE_OPT_CONFIG) {
            o->config = optarg;
        } else if (c == CLI_CACHE_OPT_FORCE) {
            o->force = 1;
        } else if (c == CLI_CACHE_OPT_FILE) {
            o->textfile = optarg;
        }
    }
    return ret;
}

static void cli_cache_row(int dirfd, const dsec_cache_meta *m, time_t now,
                          struct cli_cache_row *r)
{
    X509_CRL *crl = dsec_cache_meta_crl(dirfd, m->url);
    ASN1_INTEGER *num = NULL;
    BIGNUM *bn = NULL;
    char *dec = NULL;
    struct tm tm;
    time_t t;
    char *p;

    memset(r, 0, sizeof(*r));
    dsec_url_mask(m->url, r->url, sizeof(r->url));
    /* a label value of the metrics: no quote or backslash */
    for (p = r->url; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            *p = '_';
        }
    }
    snprintf(r->number, sizeof(r->number), "-");
    r->bytes = m->bytes;
    r->ok = m->result == DSEC_OK;
    r->last = m->result_at;
    r->result = m->result_at == 0 ? "none" : dsec_rv_name(m->result);
    if (crl == NULL) {
        return;
    }
    r->next_update = (long long)dsec_crl_next_update(crl);
    if (ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &tm) == 1) {
        t = timegm(&tm);
        r->age = (long long)(now - t);
    }
    r->entries = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
    if (r->entries < 0) {
        r->entries = 0;
    }
    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    if (num != NULL && (bn = ASN1_INTEGER_to_BN(num, NULL)) != NULL
        && (dec = BN_bn2dec(bn)) != NULL) {
        snprintf(r->number, sizeof(r->number), "%s", dec);
    }
    r->bytes = i2d_X509_CRL(crl, NULL);
    OPENSSL_free(dec);
    BN_free(bn);
    ASN1_INTEGER_free(num);
    X509_CRL_free(crl);
}

/* UTC "YYYY-MM-DDTHH:MM:SSZ", or "-" for 0. */
static void cli_cache_when(long long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
        snprintf(buf, len, "-");
        return;
    }
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cli_cache_list(int dirfd)
{
    dsec_cache_meta *v = NULL;
    struct cli_cache_row r;
    size_t n = dsec_cache_meta_list(dirfd, &v), i;
    char next[32], last[32];
    time_t now = time(NULL);

    printf("%-48s %-20s %8s %8s %8s %8s %-8s %s\n", "URL", "NEXT_UPDATE",
           "AGE_S", "NUMBER", "ENTRIES", "BYTES", "RESULT", "LAST_FETCH");
    for (i = 0; i < n; i++) {
        cli_cache_row(dirfd, &v[i], now, &r);
        cli_cache_when(r.next_update, next, sizeof(next));
        cli_cache_when(r.last, last, sizeof(last));
        printf("%-48s %-20s %8lld %8s %8lld %8lld %-8s %s\n", r.url, next,
               r.age, r.number, r.entries, r.bytes, r.ok ? "ok" : r.result,
               last);
    }
    free(v);
    return DSEC_EXIT_VALID;
}

/* The metrics of every URL into fp. */
static void cli_cache_metrics_to(FILE *fp, int dirfd)
{
    static const char *const names[] = {
        "next_update_timestamp_seconds",
        "age_seconds",
        "number",
        "entries",
        "bytes",
        "last_fetch_success",
        "last_fetch_timestamp_seconds",
    };
    dsec_cache_meta *v = NULL;
    struct cli_cache_row *rows;
    size_t n = dsec_cache_meta_list(dirfd, &v), i, k;
    time_t now = time(NULL);

    rows = calloc(n > 0 ? n : 1, sizeof(*rows));
    for (i = 0; rows != NULL && i < n; i++) {
        cli_cache_row(dirfd, &v[i], now, &rows[i]);
    }
    for (k = 0; rows != NULL && k < sizeof(names) / sizeof(names[0]); k++) {
        fprintf(fp, "# TYPE domainsec_crl_%s gauge\n", names[k]);
        for (i = 0; i < n; i++) {
            const struct cli_cache_row *r = &rows[i];
            long long val[] = { r->next_update, r->age, 0,      r->entries,
                                r->bytes,       r->ok,  r->last };

            fprintf(fp, "domainsec_crl_%s{url=\"%s\"} ", names[k], r->url);
            if (k == 2) {
                fprintf(fp, "%s\n",
                        strcmp(r->number, "-") == 0 ? "NaN" : r->number);
            } else {
                fprintf(fp, "%lld\n", val[k]);
            }
        }
    }
    free(rows);
    free(v);
}

/* metrics to stdout or, atomically, to path. */
static int cli_cache_metrics(int dirfd, const char *path)
{
    char tmp[4096];
    FILE *fp;
    int fd;

    if (path == NULL) {
        cli_cache_metrics_to(stdout, dirfd);
        return DSEC_EXIT_VALID;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fp == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        perror(tmp);
        return DSEC_EXIT_CONFIG;
    }
    cli_cache_metrics_to(fp, dirfd);
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        perror(path);
        unlink(tmp);
        return DSEC_EXIT_CONFIG;
    }
    return DSEC_EXIT_VALID;
}

/* The worse of two exit codes: transient over valid, fatal over both. */
static int cli_cache_worse(int a, int b)
{
    if (a == DSEC_EXIT_FATAL || b == DSEC_EXIT_FATAL) {
        return DSEC_EXIT_FATAL;
    }
    return a != DSEC_EXIT_VALID ? a : b;
}

static int cli_cache_refresh(const dsec_config *cfg, int dirfd,
                             const struct cli_cache_opts *o)
{
    static const char *const said[] = { "not due", "refreshed", "unchanged" };
    dsec_cache_meta *v = NULL;
    size_t n = dsec_cache_meta_list(dirfd, &v), i;
    dsec_refresh_outcome what;
    DSEC_ERR err = { 0 };
    char masked[256];
    int ret = DSEC_EXIT_VALID, newer = 0, seen = 0;
    dsec_rv rv;

    for (i = 0; i < n; i++) {
        if (o->url != NULL && strcmp(o->url, v[i].url) != 0) {
            continue;
        }
        seen = 1;
        dsec_url_mask(v[i].url, masked, sizeof(masked));
        rv = dsec_refresh_url(cfg, dirfd, v[i].url, o->force, time(NULL), &what,
                              &err);
        if (rv != DSEC_OK) {
            printf("%s: failed: %s\n", masked, err.msg);
            ret = cli_cache_worse(
                ret, dsec_classify_exit_code(dsec_classify_rv(rv)));
            continue;
        }
        printf("%s: %s\n", masked, said[what]);
        newer |= what == DSEC_REFRESH_NEWER;
    }
    free(v);
    if (o->url != NULL && !seen) {
        fprintf(stderr, "%s cache: %s is not in the cache\n", DSEC_CLI_PROG,
                o->url);
        return DSEC_EXIT_USAGE;
    }
    if (newer) {
        /* running processes re-read the new CRLs from disk */
        dsec_cache_meta_bump(dirfd);
    }
    return ret;
}

static int cli_cache_purge(int dirfd, const char *url)
{
    int n = dsec_cache_meta_purge(dirfd, url);

    if (n < 0) {
        fprintf(stderr, "%s cache: cannot write the cache directory\n",
                DSEC_CLI_PROG);
        return DSEC_EXIT_CONFIG;
    }
    printf("purged %d cached CRL%s; running processes drop their copies\n", n,
           n == 1 ? "" : "s");
    return DSEC_EXIT_VALID;
}

int dsec_cli_cache(int argc, char **argv)
{
    struct cli_cache_opts o;
    dsec_config *cfg = NULL;
    char why[512];
    int ret, dirfd = -1;

    memset(&o, 0, sizeof(o));
    ret = cli_cache_parse(argc, argv, &o);
    if (ret >= 0) {
        return ret;
    }
    if (!dsec_cli_read_settings(o.config, &cfg, NULL, why, sizeof(why))) {
        fprintf(stderr, "%s cache: %s\n", DSEC_CLI_PROG, why);
        return DSEC_EXIT_CONFIG;
    }
    dsec_log_configure(DSEC_LOG_STDERR, DSEC_LOG_WARNING);
    dirfd = dsec_cache_open_dir(cfg->cache_dir);
    if (dirfd < 0) {
        fprintf(stderr, "%s cache: no usable cache_dir\n", DSEC_CLI_PROG);
        ret = DSEC_EXIT_CONFIG;
    } else if (strcmp(o.action, "list") == 0) {
        ret = cli_cache_list(dirfd);
    } else if (strcmp(o.action, "metrics") == 0) {
        ret = cli_cache_metrics(dirfd, o.textfile);
    } else if (strcmp(o.action, "purge") == 0) {
        ret = cli_cache_purge(dirfd, o.url);
    } else {
        ret = cli_cache_refresh(cfg, dirfd, &o);
    }
    if (dirfd >= 0) {
        close(dirfd);
    }
    dsec_config_free(cfg);
    return ret;
}
