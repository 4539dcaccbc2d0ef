/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The online checks of `domainsec doctor` (skipped with --offline): the
 * proxy (http_proxy) accepts a TCP connection within fetch_timeout, and the
 * CDPs of every anchor and cross-certificate yield a current CRL signed by
 * that certificate's issuer, each URL fetched once per run through the
 * library's dsec_fetch_url. Whether a failure is a configuration problem
 * or transient (a server that is down now) is the class classify.h gives
 * the outcome.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/url.h"
#include "domainsec/cdp.h"
#include "domainsec/classify.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/engine.h"
#include "cli.h"
#include "doctor.h"

/* host and port of an http://[user:password@]host[:port][/] proxy URL. */
static int cli_doctor_proxy_addr(const char *url, char *host, size_t hostlen,
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

static double cli_doctor_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec)
           + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Connect to host:port within timeout_ms; 0 or an errno value. */
static int cli_doctor_connect(const char *host, const char *port,
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

void cli_doctor_check_proxy(struct cli_doctor *doc)
{
    const dsec_config *cfg = doc->cfg;
    const char *proxy = cfg->http_proxy;
    char host[256], port[16], masked[256], why[512];
    struct timespec t0;

    if (proxy == NULL || proxy[0] == '\0') {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "proxy: none (http_proxy not set: CRLs are fetched "
                        "directly)");
        return;
    }
    if (strcmp(proxy, "env") == 0) {
        proxy = secure_getenv("http_proxy");
        if (proxy == NULL || proxy[0] == '\0') {
            proxy = secure_getenv("HTTP_PROXY");
        }
        if (proxy == NULL || proxy[0] == '\0') {
            cli_doctor_line(doc, CLI_DOCTOR_INFO,
                            "proxy: http_proxy = env, and no http_proxy in "
                            "this environment (a daemon's own environment "
                            "may differ): CRLs are fetched directly");
            return;
        }
    }
    dsec_url_mask(proxy, masked, sizeof(masked));
    if (!cli_doctor_proxy_addr(proxy, host, sizeof(host), port, sizeof(port))) {
        /* a proxy URL that cannot be used: a bad configuration value */
        cli_doctor_line(
            doc, cli_doctor_status_of(dsec_classify_rv(DSEC_ERR_INVALID)),
            "proxy %s: not an http://[user:password@]host:port "
            "URL; fix: correct http_proxy",
            masked);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (cli_doctor_connect(host, port, cfg->fetch_timeout * 1000, why,
                           sizeof(why))
        != 0) {
        /* the proxy is down now: a failure to connect, as a fetch's */
        cli_doctor_line(
            doc, cli_doctor_status_of(dsec_classify_rv(DSEC_ERR_CONNECT)),
            "proxy %s: no TCP connection within fetch_timeout "
            "(%ld s): %s (after %.3f s); fix: start the proxy, "
            "or correct http_proxy",
            masked, cfg->fetch_timeout, why, cli_doctor_since(&t0));
        return;
    }
    cli_doctor_line(doc, CLI_DOCTOR_OK,
                    "proxy %s: accepts TCP connections (%.3f s)", masked,
                    cli_doctor_since(&t0));
}

/* The fetch of url, done once per run. NULL when out of memory. */
static struct cli_doctor_fetch *cli_doctor_fetch_url(struct cli_doctor *doc,
                                                     const char *url)
{
    struct cli_doctor_fetch *f;
    dsec_fetch_result res;
    dsec_fetch_policy pol;
    DSEC_ERR err = { 0 };
    size_t i;

    for (i = 0; i < doc->nfetches; i++) {
        if (strcmp(doc->fetches[i].url, url) == 0) {
            return &doc->fetches[i];
        }
    }
    f = cli_doctor_grow(doc->fetches, &doc->capfetches, doc->nfetches,
                        sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    doc->fetches = f;
    f = &doc->fetches[doc->nfetches];
    memset(f, 0, sizeof(*f));
    f->url = strdup(url);
    if (f->url == NULL) {
        return NULL;
    }
    doc->nfetches++;
    dsec_fetch_policy_from_config(doc->cfg, &pol);
    f->rv = dsec_fetch_url(&pol, url, &res, &err);
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
static dsec_rv cli_doctor_judge(struct cli_doctor *doc, X509 *cert,
                                X509_CRL *crl, char *why, size_t whylen)
{
    const dsec_config *cfg = doc->cfg;
    const X509_NAME *iname = X509_get_issuer_name(cert);
    char name[CLI_DOCTOR_NAME], when[128];
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

static int cli_doctor_self_signed(X509 *x)
{
    return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

/* How a certificate is named in the lines: "anchor SUBJECT (file)". */
static void cli_doctor_what(const struct cli_doctor_cert *c, char *what,
                            size_t len)
{
    char subject[CLI_DOCTOR_NAME];

    dsec_cli_name(X509_get_subject_name(c->x), subject, sizeof(subject));
    snprintf(what, len, "%s %s (%s)",
             strcmp(c->kind, "trust_dirs") == 0 ? "anchor"
                                                : "cross-certificate",
             subject, c->path);
}

/*
 * The CDPs of c into cdps: 1, or 0 once the finding is printed when there
 * is none to fetch.
 */
static int cli_doctor_cdp_list(struct cli_doctor *doc,
                               const struct cli_doctor_cert *c,
                               const char *what, dsec_cdp_list *cdps)
{
    /* CDPs that cannot be read, or none, are no CDP that may be fetched */
    cli_doctor_status none =
        cli_doctor_status_of(dsec_classify_rv(DSEC_ERR_NO_CDP));

    if (dsec_cdp_extract(c->x, cdps) != DSEC_OK) {
        cli_doctor_line(doc, none,
                        "%s: its CRL distribution points cannot be read; "
                        "fix: replace the certificate",
                        what);
        return 0;
    }
    if (cdps->n > 0) {
        return 1;
    }
    if (strcmp(c->kind, "trust_dirs") == 0) {
        /* an anchor needs no CRL of its own */
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "%s: %sno CDP: its CRL is found through the "
                        "certificates it issues",
                        what,
                        cli_doctor_self_signed(c->x) ? "self-signed, " : "");
    } else {
        cli_doctor_line(doc, none,
                        "%s: no CRL distribution point: a chain through "
                        "it cannot be checked for revocation (fatal); "
                        "fix: obtain a cross-certificate with a CDP",
                        what);
    }
    return 0;
}

/*
 * One CDP of c (url, shown as masked): fetched once per run, its CRL
 * judged for c. Returns 0 when out of memory.
 */
static int cli_doctor_cdp(struct cli_doctor *doc,
                          const struct cli_doctor_cert *c, const char *what,
                          const char *url, const char *masked)
{
    struct cli_doctor_fetch *f;
    char summary[512], why[512];
    dsec_rv rv;

    f = cli_doctor_fetch_url(doc, url);
    if (f == NULL) {
        fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
        return 0;
    }
    if (f->rv != DSEC_OK) {
        cli_doctor_line(doc, cli_doctor_status_of(dsec_classify_rv(f->rv)),
                        "%s: CDP %s: %s: %s (%s, HTTP %ld, %zu bytes, "
                        "%.3f s); fix: make the CRL server reachable "
                        "from here (or through http_proxy) and serving "
                        "the CRL",
                        what, masked, dsec_rv_name(f->rv), f->msg, f->route,
                        f->status, f->len, f->seconds);
        return 1;
    }
    dsec_cli_crl_summary(f->crl, summary, sizeof(summary));
    rv = cli_doctor_judge(doc, c->x, f->crl, why, sizeof(why));
    cli_doctor_line(doc, cli_doctor_status_of(dsec_classify_rv(rv)),
                    "%s: CDP %s: HTTP %ld, %zu bytes, %.3f s, %s; %s; %s%s%s",
                    what, masked, f->status, f->len, f->seconds, f->route,
                    summary, rv == DSEC_OK ? "" : "unusable: ", why,
                    rv == DSEC_OK ? ""
                                  : "; fix: the CRL server must publish "
                                    "a current CRL signed by the "
                                    "issuer");
    return 1;
}

/* The CDPs of one certificate of the directories. */
static void cli_doctor_cert_cdps(struct cli_doctor *doc,
                                 const struct cli_doctor_cert *c)
{
    const dsec_config *cfg = doc->cfg;
    dsec_cdp_list cdps;
    char what[CLI_DOCTOR_LINE], url[512];
    size_t i, allowed = 0;
    int fetched = 0;

    memset(&cdps, 0, sizeof(cdps));
    cli_doctor_what(c, what, sizeof(what));
    if (!cli_doctor_cdp_list(doc, c, what, &cdps)) {
        goto done;
    }
    for (i = 0; i < cdps.n; i++) {
        if ((dsec_url_scheme(cdps.v[i].url) & cfg->cdp_schemes) != 0) {
            allowed++;
        }
    }
    for (i = 0; i < cdps.n; i++) {
        dsec_url_mask(cdps.v[i].url, url, sizeof(url));
        if ((dsec_url_scheme(cdps.v[i].url) & cfg->cdp_schemes) == 0) {
            /* fatal when no CDP of the certificate may be fetched */
            cli_doctor_line(doc,
                            allowed > 0 ? CLI_DOCTOR_INFO
                                        : cli_doctor_status_of(
                                            dsec_classify_rv(DSEC_ERR_SCHEME)),
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
            cli_doctor_line(doc, CLI_DOCTOR_INFO,
                            "%s: CDP %s: not checked (domainsec fetches at "
                            "most %d CDPs of a certificate)",
                            what, url, DSEC_MAX_FETCHES_PER_CERT);
            continue;
        }
        fetched++;
        if (!cli_doctor_cdp(doc, c, what, cdps.v[i].url, url)) {
            goto done;
        }
    }

done:
    dsec_cdp_list_clear(&cdps);
}

/* The CDPs of every anchor and cross-certificate. */
void cli_doctor_check_cdps(struct cli_doctor *doc)
{
    size_t i;

    if (doc->cfg->revocation == DSEC_REVOCATION_OFF) {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "CDPs: revocation = off, nothing is fetched: not "
                        "checked");
    } else if (doc->ncerts == 0) {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "CDPs: no anchor or cross-certificate to check");
    } else {
        for (i = 0; i < doc->ncerts; i++) {
            cli_doctor_cert_cdps(doc, &doc->certs[i]);
        }
    }
}
