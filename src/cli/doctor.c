/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `domainsec doctor`: the set-up checked end to end, one line per check
 * (OK, FAIL with what to fix, or INFO): the configuration parses and
 * activates the provider the way it does in a host; every directory of
 * trust_dirs and cross_dirs is readable and holds certificates; cache_dir
 * takes a new file; the proxy accepts a TCP connection; and the CDPs of
 * every anchor and cross-certificate yield a current CRL signed by that
 * certificate's issuer. Each FAIL is classed configuration (exit 78) or
 * transient (exit 75: a server that is down now). A provider the
 * configuration lists but OpenSSL did not load is named with the file
 * OpenSSL tried, since OpenSSL 3.0 itself skips it without a word.
 * --offline keeps to the local checks (no proxy, no CDP), for a service's
 * pre-start check that a CRL server being down must not block.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/anchors.h"
#include "domainsec/cdp.h"
#include "domainsec/common.h"
#include "domainsec/config.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/report.h"
#include "domainsec/engine.h"
#include "cli.h"

#define DSEC_DOCTOR_LINE 1024
#define DSEC_DOCTOR_NAME 256

typedef enum {
    DSEC_DOCTOR_OK,
    DSEC_DOCTOR_INFO,
    DSEC_DOCTOR_FAIL_CONFIG,
    DSEC_DOCTOR_FAIL_TRANSIENT
} dsec_doctor_status;

/* A certificate of trust_dirs or cross_dirs. */
struct dsec_doctor_cert {
    X509 *x;
    char *path;
    const char *kind; /* "trust_dirs" or "cross_dirs" */
};

/* One fetched URL, so a CDP shared by several certificates is fetched once. */
struct dsec_doctor_fetch {
    char *url;
    dsec_rv rv;
    char msg[DSEC_ERR_MSG_LEN];
    X509_CRL *crl;
    long status;
    size_t len;
    double seconds;
    char route[128];
};

struct dsec_doctor {
    int nok, ninfo, nconfig, ntransient;
    struct dsec_doctor_cert *certs;
    size_t ncerts, capcerts;
    struct dsec_doctor_fetch *fetches;
    size_t nfetches, capfetches;
};

static void dsec_doctor_line(struct dsec_doctor *doc, dsec_doctor_status st,
                             const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void dsec_doctor_line(struct dsec_doctor *doc, dsec_doctor_status st,
                             const char *fmt, ...)
{
    va_list ap;
    const char *tag = "OK  ";

    switch (st) {
    case DSEC_DOCTOR_OK:
        doc->nok++;
        break;
    case DSEC_DOCTOR_INFO:
        tag = "INFO";
        doc->ninfo++;
        break;
    case DSEC_DOCTOR_FAIL_CONFIG:
        tag = "FAIL";
        doc->nconfig++;
        break;
    case DSEC_DOCTOR_FAIL_TRANSIENT:
        tag = "FAIL";
        doc->ntransient++;
        break;
    }
    printf("%s ", tag);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void dsec_doctor_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s doctor [--offline] [--config FILE]\n"
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

static int dsec_doctor_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "%s doctor: %s%s%s%s\nTry '%s doctor --help'.\n",
            DSEC_CLI_PROG, what, arg != NULL ? " '" : "",
            arg != NULL ? arg : "", arg != NULL ? "'" : "", DSEC_CLI_PROG);
    return DSEC_EXIT_USAGE;
}

/* Returns -1 to go on, else the exit code. */
static int dsec_doctor_parse(int argc, char **argv, const char **config,
                             int *offline)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "offline", no_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'o':
            *offline = 1;
            break;
        case 'h':
            dsec_doctor_usage(stdout);
            return DSEC_EXIT_VALID;
        case ':':
            return dsec_doctor_usage_error("option needs an argument:",
                                           argv[optind - 1]);
        default:
            return dsec_doctor_usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return dsec_doctor_usage_error("unexpected argument", argv[optind]);
    }
    return -1;
}

/* The OpenSSL error queue on one line (reasons and their data), emptied. */
static void dsec_doctor_errors(char *buf, size_t len)
{
    const char *data = NULL, *reason;
    unsigned long e;
    size_t used = 0;
    int flags = 0, n;

    buf[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        reason = ERR_reason_error_string(e);
        n = snprintf(buf + used, len - used, "%s%s%s%s", used > 0 ? "; " : "",
                     reason != NULL ? reason : "error",
                     (flags & ERR_TXT_STRING) && data != NULL && *data ? ": "
                                                                       : "",
                     (flags & ERR_TXT_STRING) && data != NULL ? data : "");
        if (n < 0 || (size_t)n >= len - used) {
            ERR_clear_error();
            break;
        }
        used += (size_t)n;
    }
}

/*
 * The configuration parses (NCONF, then the directives strictly), and
 * loading it activates the provider, as in a host. Returns the settings or
 * NULL.
 */
static dsec_config *dsec_doctor_config(struct dsec_doctor *doc,
                                       const char *path)
{
    dsec_config *cfg = NULL;
    dsec_cli_module *mod = NULL;
    char *sect = NULL;
    char why[DSEC_DOCTOR_LINE];
    char errs[DSEC_DOCTOR_LINE];
    char fix[DSEC_DOCTOR_LINE];

    if (!dsec_cli_read_settings(path, &cfg, &sect, why, sizeof(why))) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "configuration: %s; fix: correct the file (the "
                         "directives are listed in README.md)",
                         why);
    } else {
        dsec_doctor_line(doc, DSEC_DOCTOR_OK,
                         "configuration: %s parses; domainsec section [%s]",
                         path, sect);
    }
    ERR_clear_error();
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)
        || !OSSL_LIB_CTX_load_config(NULL, path)) {
        dsec_doctor_errors(errs, sizeof(errs));
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "provider: OpenSSL cannot load %s: %s; fix: correct "
                         "the file",
                         path, errs[0] != '\0' ? errs : "unknown error");
    } else if (!OSSL_PROVIDER_available(NULL, DSEC_CLI_PROVIDER)
               && dsec_cli_module_diagnose(path, why, sizeof(why), fix,
                                           sizeof(fix))) {
        /*
         * OpenSSL 3.0 skips a provider it cannot load, silently (even with
         * config_diagnostics): name the file it tried.
         */
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG, "provider: %s; fix: %s",
                         why, fix);
    } else if (!OSSL_PROVIDER_available(NULL, DSEC_CLI_PROVIDER)) {
        /* OpenSSL 3.0 does not fail the load when activation fails */
        dsec_doctor_errors(errs, sizeof(errs));
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "provider: %s is not activated by %s%s%s; fix: %s",
                         DSEC_CLI_PROG, path, errs[0] != '\0' ? ": " : "", errs,
                         cfg == NULL
                             ? "correct the directive named above"
                             : "list it in the providers section with "
                               "activate = 1 and a module path that exists "
                               "(openssl list -providers must show it)");
    } else {
        mod = malloc(sizeof(*mod));
        if (mod != NULL && dsec_cli_module_resolve(path, mod)) {
            dsec_doctor_line(doc, DSEC_DOCTOR_OK,
                             "provider: %s activated by %s, as in a host "
                             "(module %s)",
                             DSEC_CLI_PROVIDER, path, mod->path);
        } else {
            dsec_doctor_line(doc, DSEC_DOCTOR_OK,
                             "provider: %s activated by %s, as in a host",
                             DSEC_CLI_PROVIDER, path);
        }
    }
    ERR_clear_error();
    free(mod);
    OPENSSL_free(sect);
    return cfg;
}

static int dsec_doctor_add_cert(struct dsec_doctor *doc, X509 *x,
                                const char *path, const char *kind)
{
    struct dsec_doctor_cert *v;
    size_t cap;

    if (doc->ncerts == doc->capcerts) {
        cap = doc->capcerts == 0 ? 16 : doc->capcerts * 2;
        v = realloc(doc->certs, cap * sizeof(*v));
        if (v == NULL) {
            return 0;
        }
        doc->certs = v;
        doc->capcerts = cap;
    }
    v = &doc->certs[doc->ncerts];
    v->path = strdup(path);
    if (v->path == NULL || !X509_up_ref(x)) {
        free(v->path);
        return 0;
    }
    v->x = x;
    v->kind = kind;
    doc->ncerts++;
    return 1;
}

static const char *dsec_doctor_user(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);

    if (pw != NULL) {
        snprintf(buf, len, "%s", pw->pw_name);
    } else {
        snprintf(buf, len, "%lu", (unsigned long)uid);
    }
    return buf;
}

static const char *dsec_doctor_group(gid_t gid, char *buf, size_t len)
{
    struct group *gr = getgrgid(gid);

    if (gr != NULL) {
        snprintf(buf, len, "%s", gr->gr_name);
    } else {
        snprintf(buf, len, "%lu", (unsigned long)gid);
    }
    return buf;
}

/* One directory of trust_dirs or cross_dirs. */
static void dsec_doctor_dir(struct dsec_doctor *doc, const char *kind,
                            const char *dir)
{
    DIR *d = NULL;
    struct stat st;
    dsec_certdir *cd = NULL;
    dsec_anchors *snap = NULL;
    DSEC_ERR derr = { 0 };
    char bad[DSEC_DOCTOR_LINE] = "";
    char user[64];
    size_t badlen = 0;
    int nfiles = 0, ncerts = 0, nbad = 0, i, n;

    if (stat(dir, &st) != 0) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "%s %s: %s; fix: create it (install -d -m 0755 %s) "
                         "and put the %s there, or remove it from %s",
                         kind, dir,
                         errno == ENOENT ? "does not exist" : strerror(errno),
                         dir,
                         strcmp(kind, "trust_dirs") == 0
                             ? "trusted root certificates"
                             : "cross-certificates and intermediates",
                         kind);
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "%s %s: not a directory; fix: name a directory in "
                         "%s",
                         kind, dir, kind);
        goto done;
    }
    d = opendir(dir);
    if (d == NULL) {
        dsec_doctor_line(
            doc, DSEC_DOCTOR_FAIL_CONFIG,
            "%s %s: cannot be read by %s: %s; fix: make it readable by every "
            "daemon using domainsec (chmod 0755 %s)",
            kind, dir, dsec_doctor_user(geteuid(), user, sizeof(user)),
            strerror(errno), dir);
        goto done;
    }
    closedir(d);
    d = NULL;
    /* read the directory exactly as the provider does */
    if (dsec_certdir_open(dir, &cd, &derr) != DSEC_OK
        || (snap = dsec_certdir_get(cd)) == NULL) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG, "%s %s: %s", kind, dir,
                         derr.msg[0] != '\0' ? derr.msg : "cannot be loaded");
        goto done;
    }
    for (i = 0; (size_t)i < dsec_anchors_count(snap); i++) {
        const char *src = dsec_anchors_source(snap, (size_t)i);

        if (!dsec_doctor_add_cert(doc, dsec_anchors_get0(snap, (size_t)i), src,
                                  kind)) {
            fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
            break;
        }
        ncerts++;
        if (i == 0
            || strcmp(src, dsec_anchors_source(snap, (size_t)i - 1)) != 0) {
            nfiles++;
        }
    }
    for (i = 0; (size_t)i < dsec_anchors_skipped_count(snap); i++) {
        const char *bad_path = NULL, *bad_why = NULL;
        const char *base;

        if (!dsec_anchors_skipped(snap, (size_t)i, &bad_path, &bad_why)) {
            continue;
        }
        base = strrchr(bad_path, '/') != NULL ? strrchr(bad_path, '/') + 1
                                              : bad_path;
        nbad++;
        nfiles++;
        if (badlen < sizeof(bad) - 1) {
            n = snprintf(bad + badlen, sizeof(bad) - badlen, "%s%s (%s)",
                         badlen > 0 ? ", " : "", base, bad_why);
            badlen = n < 0 ? badlen : badlen + (size_t)n;
        }
    }
    if (nbad > 0) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "%s %s: %d certificate(s) in %d file(s); skipped as "
                         "malformed: %s; fix: remove these files or replace "
                         "them with PEM or DER certificates",
                         kind, dir, ncerts, nfiles - nbad, bad);
    } else if (ncerts == 0 && strcmp(kind, "trust_dirs") == 0) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "%s %s: holds no certificate; fix: put the trusted "
                         "root certificates there (PEM or DER)",
                         kind, dir);
    } else {
        dsec_doctor_line(doc, DSEC_DOCTOR_OK,
                         "%s %s: %d certificate(s) in %d file(s)", kind, dir,
                         ncerts, nfiles);
    }

done:
    if (d != NULL) {
        closedir(d);
    }
    dsec_anchors_free(snap);
    dsec_certdir_free(cd);
}

static void dsec_doctor_dirs(struct dsec_doctor *doc, const char *kind,
                             const char *list)
{
    char *copy = NULL, *p, *save = NULL;

    if (list == NULL || list[0] == '\0') {
        dsec_doctor_line(doc, DSEC_DOCTOR_INFO, "%s: none configured", kind);
        return;
    }
    copy = strdup(list);
    if (copy == NULL) {
        fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
        return;
    }
    for (p = strtok_r(copy, ":", &save); p != NULL;
         p = strtok_r(NULL, ":", &save)) {
        dsec_doctor_dir(doc, kind, p);
    }
    free(copy);
}

static void dsec_doctor_cache(struct dsec_doctor *doc, const char *dir)
{
    struct stat st;
    char tmpl[4096];
    char owner[64], group[64], user[64];
    int fd, e;

    if (dir == NULL || dir[0] == '\0') {
        dsec_doctor_line(doc, DSEC_DOCTOR_INFO,
                         "cache_dir: none (memory cache only: every process "
                         "fetches the CRLs itself)");
        return;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "cache_dir %s: %s; fix: install -d -m 2775 -g GROUP "
                         "%s, GROUP being the group of the daemons using "
                         "domainsec",
                         dir,
                         errno == ENOENT       ? "does not exist"
                         : S_ISDIR(st.st_mode) ? strerror(errno)
                                               : "not a directory",
                         dir);
        return;
    }
    dsec_doctor_user(st.st_uid, owner, sizeof(owner));
    dsec_doctor_group(st.st_gid, group, sizeof(group));
    dsec_doctor_user(geteuid(), user, sizeof(user));
    snprintf(tmpl, sizeof(tmpl), "%s/.doctor.XXXXXX", dir);
    fd = mkstemp(tmpl);
    if (fd < 0 || write(fd, "x", 1) != 1) {
        e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmpl);
        }
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "cache_dir %s: %s cannot create a file there: %s "
                         "(owner %s, group %s, mode %04o); fix: the user or "
                         "group of every daemon using domainsec needs write "
                         "access, e.g. chgrp GROUP %s && chmod 2775 %s",
                         dir, user, strerror(e), owner, group,
                         (unsigned)(st.st_mode & 07777), dir, dir);
        return;
    }
    close(fd);
    if (unlink(tmpl) != 0) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "cache_dir %s: a file was created but cannot be "
                         "removed: %s; fix: remove %s and check the "
                         "directory's permissions",
                         dir, strerror(errno), tmpl);
        return;
    }
    dsec_doctor_line(doc, DSEC_DOCTOR_OK,
                     "cache_dir %s: writable by %s (owner %s, group %s, mode "
                     "%04o; every daemon using domainsec needs write access "
                     "as owner or group)",
                     dir, user, owner, group, (unsigned)(st.st_mode & 07777));
}

/* host and port of an http://[user:password@]host[:port][/] proxy URL. */
static int dsec_doctor_proxy_addr(const char *url, char *host, size_t hostlen,
                                  char *port, size_t portlen)
{
    const char *p = url, *end, *at, *colon;
    size_t n;

    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://") != NULL) {
        return 0;
    }
    end = p + strcspn(p, "/?#");
    at = memrchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        p = at + 1;
    }
    if (*p == '[') {
        colon = memchr(p, ']', (size_t)(end - p));
        if (colon == NULL) {
            return 0;
        }
        n = (size_t)(colon - p - 1);
        if (n == 0 || n >= hostlen) {
            return 0;
        }
        memcpy(host, p + 1, n);
        host[n] = '\0';
        colon++;
        if (colon < end && *colon != ':') {
            return 0;
        }
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon != NULL ? colon : end) - p);
        if (n == 0 || n >= hostlen) {
            return 0;
        }
        memcpy(host, p, n);
        host[n] = '\0';
    }
    if (colon != NULL && colon < end && colon + 1 < end) {
        n = (size_t)(end - colon - 1);
        if (n >= portlen) {
            return 0;
        }
        memcpy(port, colon + 1, n);
        port[n] = '\0';
    } else {
        /* libcurl's default proxy port */
        snprintf(port, portlen, "1080");
    }
    return 1;
}

static double dsec_doctor_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec)
           + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Connect to host:port within timeout_ms; 0 or an errno value. */
static int dsec_doctor_connect(const char *host, const char *port,
                               long timeout_ms, char *why, size_t whylen)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct pollfd pfd;
    socklen_t elen;
    int fd = -1, rc, e = ETIMEDOUT, soerr;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            e = 0;
        } else if (errno != EINPROGRESS) {
            e = errno;
        } else {
            pfd.fd = fd;
            pfd.events = POLLOUT;
            rc = poll(&pfd, 1, (int)timeout_ms);
            soerr = ETIMEDOUT;
            elen = sizeof(soerr);
            if (rc > 0
                && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) != 0) {
                soerr = errno;
            }
            e = rc > 0 ? soerr : ETIMEDOUT;
        }
        close(fd);
        fd = -1;
        if (e == 0) {
            break;
        }
    }
    freeaddrinfo(res);
    if (e != 0) {
        snprintf(why, whylen, "%s", strerror(e));
    }
    return e;
}

static void dsec_doctor_proxy(struct dsec_doctor *doc, const dsec_config *cfg)
{
    const char *proxy = cfg->http_proxy;
    char host[256], port[16], masked[256], why[512];
    struct timespec t0;

    if (proxy == NULL || proxy[0] == '\0') {
        dsec_doctor_line(doc, DSEC_DOCTOR_INFO,
                         "proxy: none (http_proxy not set: CRLs are fetched "
                         "directly)");
        return;
    }
    if (strcmp(proxy, "env") == 0) {
        proxy = getenv("http_proxy");
        if (proxy == NULL || proxy[0] == '\0') {
            proxy = getenv("HTTP_PROXY");
        }
        if (proxy == NULL || proxy[0] == '\0') {
            dsec_doctor_line(doc, DSEC_DOCTOR_INFO,
                             "proxy: http_proxy = env, and no http_proxy in "
                             "this environment (a daemon's own environment "
                             "may differ): CRLs are fetched directly");
            return;
        }
    }
    dsec_log_mask_url(proxy, masked, sizeof(masked));
    if (!dsec_doctor_proxy_addr(proxy, host, sizeof(host), port,
                                sizeof(port))) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "proxy %s: not an http://[user:password@]host:port "
                         "URL; fix: correct http_proxy",
                         masked);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (dsec_doctor_connect(host, port, cfg->fetch_timeout * 1000, why,
                            sizeof(why))
        != 0) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_TRANSIENT,
                         "proxy %s: no TCP connection within fetch_timeout "
                         "(%ld s): %s (after %.3f s); fix: start the proxy, "
                         "or correct http_proxy",
                         masked, cfg->fetch_timeout, why,
                         dsec_doctor_since(&t0));
        return;
    }
    dsec_doctor_line(doc, DSEC_DOCTOR_OK,
                     "proxy %s: accepts TCP connections (%.3f s)", masked,
                     dsec_doctor_since(&t0));
}

/* The fetch of url, done once per run. NULL when out of memory. */
static struct dsec_doctor_fetch *dsec_doctor_fetch_url(struct dsec_doctor *doc,
                                                       const dsec_config *cfg,
                                                       const char *url)
{
    struct dsec_doctor_fetch *f;
    dsec_fetch_result res;
    DSEC_ERR err = { 0 };
    size_t i, cap;

    for (i = 0; i < doc->nfetches; i++) {
        if (strcmp(doc->fetches[i].url, url) == 0) {
            return &doc->fetches[i];
        }
    }
    if (doc->nfetches == doc->capfetches) {
        cap = doc->capfetches == 0 ? 8 : doc->capfetches * 2;
        f = realloc(doc->fetches, cap * sizeof(*f));
        if (f == NULL) {
            return NULL;
        }
        doc->fetches = f;
        doc->capfetches = cap;
    }
    f = &doc->fetches[doc->nfetches];
    memset(f, 0, sizeof(*f));
    f->url = strdup(url);
    if (f->url == NULL) {
        return NULL;
    }
    doc->nfetches++;
    f->rv = dsec_fetch_url(cfg, url, &res, &err);
    if (f->rv == DSEC_OK) {
        f->rv = dsec_crl_parse(res.data, res.len, &f->crl, &err);
    }
    if (f->rv != DSEC_OK) {
        snprintf(f->msg, sizeof(f->msg), "%s", err.msg);
    }
    f->status = res.status;
    f->len = res.len;
    f->seconds = res.seconds;
    snprintf(f->route, sizeof(f->route), "%s",
             res.route[0] != '\0' ? res.route : "no route");
    dsec_fetch_result_clear(&res);
    return f;
}

/*
 * The CRL of f checked for cert: issued by cert's issuer, whose key (one of
 * the directories' certificates) verifies it, complete and current. Writes
 * the verdict into why; returns DSEC_OK or the failure.
 */
static dsec_rv dsec_doctor_judge(struct dsec_doctor *doc,
                                 const dsec_config *cfg, X509 *cert,
                                 X509_CRL *crl, char *why, size_t whylen)
{
    const X509_NAME *iname = X509_get_issuer_name(cert);
    char name[DSEC_DOCTOR_NAME], when[128];
    DSEC_ERR err = { 0 };
    dsec_rv rv, first = DSEC_OK;
    size_t i, tried = 0;
    time_t now = time(NULL);

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), iname) != 0) {
        dsec_cli_name(X509_CRL_get_issuer(crl), name, sizeof(name));
        snprintf(why, whylen,
                 "the CRL is issued by %s, not by the certificate's issuer",
                 name);
        return DSEC_ERR_CRL_ISSUER;
    }
    for (i = 0; i < doc->ncerts; i++) {
        if (X509_NAME_cmp(X509_get_subject_name(doc->certs[i].x), iname) != 0) {
            continue;
        }
        tried++;
        rv = dsec_crl_check(crl, doc->certs[i].x, now, cfg->stale_grace, &err);
        if (rv == DSEC_OK) {
            snprintf(why, whylen, "signed by the issuer (%s %s)",
                     doc->certs[i].kind, doc->certs[i].path);
            return DSEC_OK;
        }
        if (first == DSEC_OK || first == DSEC_ERR_CRL_SIG) {
            first = rv;
            snprintf(why, whylen, "%s", err.msg);
        }
    }
    if (tried > 0) {
        return first;
    }
    dsec_cli_name(iname, name, sizeof(name));
    rv = dsec_cli_crl_time(crl, now, cfg->stale_grace, when, sizeof(when));
    if (rv != DSEC_OK) {
        snprintf(why, whylen, "%s", when);
        return rv;
    }
    snprintf(why, whylen,
             "signature not checked: the issuer %s is in neither trust_dirs "
             "nor cross_dirs",
             name);
    return DSEC_OK;
}

static int dsec_doctor_self_signed(X509 *x)
{
    return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

/* The CDPs of one certificate of the directories. */
static void dsec_doctor_cert_cdps(struct dsec_doctor *doc,
                                  const dsec_config *cfg,
                                  const struct dsec_doctor_cert *c)
{
    dsec_cdp_list cdps;
    struct dsec_doctor_fetch *f;
    char subject[DSEC_DOCTOR_NAME], what[DSEC_DOCTOR_LINE];
    char url[512], summary[512], why[512];
    size_t i, allowed = 0;
    int fetched = 0;
    dsec_rv rv;

    memset(&cdps, 0, sizeof(cdps));
    dsec_cli_name(X509_get_subject_name(c->x), subject, sizeof(subject));
    snprintf(what, sizeof(what), "%s %s (%s)",
             strcmp(c->kind, "trust_dirs") == 0 ? "anchor"
                                                : "cross-certificate",
             subject, c->path);
    if (dsec_cdp_extract(c->x, &cdps) != DSEC_OK) {
        dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                         "%s: its CRL distribution points cannot be read; "
                         "fix: replace the certificate",
                         what);
        goto done;
    }
    if (cdps.n == 0) {
        if (strcmp(c->kind, "trust_dirs") == 0) {
            dsec_doctor_line(
                doc, DSEC_DOCTOR_INFO,
                "%s: %sno CDP: its CRL is found through the "
                "certificates it issues",
                what, dsec_doctor_self_signed(c->x) ? "self-signed, " : "");
        } else {
            dsec_doctor_line(doc, DSEC_DOCTOR_FAIL_CONFIG,
                             "%s: no CRL distribution point: a chain through "
                             "it cannot be checked for revocation (fatal); "
                             "fix: obtain a cross-certificate with a CDP",
                             what);
        }
        goto done;
    }
    for (i = 0; i < cdps.n; i++) {
        if ((dsec_url_scheme(cdps.v[i].url) & cfg->cdp_schemes) != 0) {
            allowed++;
        }
    }
    for (i = 0; i < cdps.n; i++) {
        dsec_log_mask_url(cdps.v[i].url, url, sizeof(url));
        if ((dsec_url_scheme(cdps.v[i].url) & cfg->cdp_schemes) == 0) {
            dsec_doctor_line(
                doc, allowed > 0 ? DSEC_DOCTOR_INFO : DSEC_DOCTOR_FAIL_CONFIG,
                "%s: CDP %s: scheme not in cdp_schemes, never "
                "fetched%s",
                what, url,
                allowed > 0 ? ""
                            : "; fix: add its scheme to "
                              "cdp_schemes (none of the "
                              "certificate's CDPs is allowed)");
            continue;
        }
        if (fetched >= DSEC_MAX_FETCHES_PER_CERT) {
            dsec_doctor_line(doc, DSEC_DOCTOR_INFO,
                             "%s: CDP %s: not checked (domainsec fetches at "
                             "most %d CDPs of a certificate)",
                             what, url, DSEC_MAX_FETCHES_PER_CERT);
            continue;
        }
        fetched++;
        f = dsec_doctor_fetch_url(doc, cfg, cdps.v[i].url);
        if (f == NULL) {
            fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
            goto done;
        }
        if (f->rv != DSEC_OK) {
            dsec_doctor_line(doc,
                             f->rv == DSEC_ERR_SCHEME
                                     || f->rv == DSEC_ERR_INVALID
                                 ? DSEC_DOCTOR_FAIL_CONFIG
                                 : DSEC_DOCTOR_FAIL_TRANSIENT,
                             "%s: CDP %s: %s: %s (%s, HTTP %ld, %zu bytes, "
                             "%.3f s); fix: make the CRL server reachable "
                             "from here (or through http_proxy) and serving "
                             "the CRL",
                             what, url, dsec_rv_name(f->rv), f->msg, f->route,
                             f->status, f->len, f->seconds);
            continue;
        }
        dsec_cli_crl_summary(f->crl, summary, sizeof(summary));
        rv = dsec_doctor_judge(doc, cfg, c->x, f->crl, why, sizeof(why));
        dsec_doctor_line(
            doc, rv == DSEC_OK ? DSEC_DOCTOR_OK : DSEC_DOCTOR_FAIL_TRANSIENT,
            "%s: CDP %s: HTTP %ld, %zu bytes, %.3f s, %s; %s; %s%s%s", what,
            url, f->status, f->len, f->seconds, f->route, summary,
            rv == DSEC_OK ? "" : "unusable: ", why,
            rv == DSEC_OK ? ""
                          : "; fix: the CRL server must publish "
                            "a current CRL signed by the "
                            "issuer");
    }

done:
    dsec_cdp_list_clear(&cdps);
}

/* The CDPs of every anchor and cross-certificate. */
static void dsec_doctor_cdps(struct dsec_doctor *doc, const dsec_config *cfg)
{
    size_t i;

    if (cfg->revocation == DSEC_REVOCATION_OFF) {
        dsec_doctor_line(doc, DSEC_DOCTOR_INFO,
                         "CDPs: revocation = off, nothing is fetched: not "
                         "checked");
    } else if (doc->ncerts == 0) {
        dsec_doctor_line(doc, DSEC_DOCTOR_INFO,
                         "CDPs: no anchor or cross-certificate to check");
    } else {
        for (i = 0; i < doc->ncerts; i++) {
            dsec_doctor_cert_cdps(doc, cfg, &doc->certs[i]);
        }
    }
}

static void dsec_doctor_free(struct dsec_doctor *doc)
{
    size_t i;

    for (i = 0; i < doc->ncerts; i++) {
        X509_free(doc->certs[i].x);
        free(doc->certs[i].path);
    }
    free(doc->certs);
    for (i = 0; i < doc->nfetches; i++) {
        free(doc->fetches[i].url);
        X509_CRL_free(doc->fetches[i].crl);
    }
    free(doc->fetches);
}

int dsec_cli_doctor(int argc, char **argv)
{
    struct dsec_doctor doc;
    const char *config = NULL;
    dsec_config *cfg = NULL;
    char *path = NULL;
    int ret, offline = 0;

    memset(&doc, 0, sizeof(doc));
    ret = dsec_doctor_parse(argc, argv, &config, &offline);
    if (ret >= 0) {
        goto done;
    }
    /* each problem is printed as a FAIL line, not logged */
    dsec_log_configure(DSEC_LOG_NONE, DSEC_LOG_ERR);
    path = dsec_cli_config_path(config);
    if (path == NULL) {
        fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
        ret = DSEC_EXIT_CONFIG;
        goto done;
    }
    cfg = dsec_doctor_config(&doc, path);
    if (cfg == NULL) {
        dsec_doctor_line(&doc, DSEC_DOCTOR_INFO,
                         "the other checks need the domainsec section: "
                         "skipped");
    } else {
        dsec_doctor_dirs(&doc, "trust_dirs", cfg->trust_dirs);
        dsec_doctor_dirs(&doc, "cross_dirs", cfg->cross_dirs);
        dsec_doctor_cache(&doc, cfg->cache_dir);
        if (offline) {
            dsec_doctor_line(&doc, DSEC_DOCTOR_INFO,
                             "proxy and CDPs: not checked (--offline)");
        } else {
            dsec_doctor_proxy(&doc, cfg);
            dsec_doctor_cdps(&doc, cfg);
        }
    }
    if (doc.nconfig > 0) {
        ret = DSEC_EXIT_CONFIG;
    } else if (doc.ntransient > 0) {
        ret = DSEC_EXIT_TRANSIENT;
    } else {
        ret = DSEC_EXIT_VALID;
    }
    printf("summary: %d OK, %d FAIL (%d configuration, %d transient), %d "
           "INFO: %s\n",
           doc.nok, doc.nconfig + doc.ntransient, doc.nconfig, doc.ntransient,
           doc.ninfo,
           ret == DSEC_EXIT_VALID       ? "all OK"
           : ret == DSEC_EXIT_TRANSIENT ? "transient problems (retry later)"
                                        : "configuration problems");

done:
    dsec_doctor_free(&doc);
    dsec_config_free(cfg);
    OPENSSL_free(path);
    ERR_clear_error();
    fflush(stdout);
    return ret;
}
